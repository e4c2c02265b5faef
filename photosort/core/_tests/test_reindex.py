"""Re-indexing with another model: search keeps the old vectors until one swap at the end;
a stopped or killed re-index loses nothing and resumes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import TINY_CLIP, draw_photo
from photosort.core import model_check
from photosort.core.index import VectorIndex
from photosort.core.search import SearchQuery

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def other_model(tmp_path: Path) -> str:
    """Another model for the library (the same weights under another id)."""
    folder = tmp_path / "other_clip"
    shutil.copytree(TINY_CLIP, folder)
    return f"local-dir:{folder}"


@pytest.fixture
def scanned(make_library, photo_tree):
    lib = make_library()
    assert lib.scan([photo_tree]).embedded == 12
    return lib


def staged_count(lib) -> int:
    return int(lib.catalog.scalar("SELECT COUNT(*) FROM staged_vectors"))


def test_search_keeps_the_old_model_until_the_swap_and_a_stop_resumes(
    scanned, make_library, other_model, tiny_model
):
    lib = scanned
    old_id = lib.model_id
    seen: list[int] = []

    def midway(progress) -> None:
        if progress.phase == "re-indexing" and progress.done:
            # a search meanwhile (this library, and another process's) answers with the old model
            assert len(lib.search(SearchQuery(text="a red ball", top=3))) == 3
            other = make_library(lib.folder)
            assert len(other.search(SearchQuery(text="a red ball", top=3))) == 3
            other.close()
            seen.append(progress.done)

    summary = lib.reindex(other_model, midway, lambda: len(seen) >= 2, batch_size=4)
    assert summary.cancelled and not summary.swapped
    assert summary.embedded >= 4 and staged_count(lib) == summary.embedded
    assert model_check.vector_models(lib.catalog) == {old_id: 12}  # the live ones untouched
    assert lib.catalog.get_meta("model") == tiny_model
    assert len(lib.search(SearchQuery(text="a red ball", top=3))) == 3

    # a new process resumes the interrupted one without being told the model
    again = make_library(lib.folder)
    assert again.unfinished_reindex().spec == other_model
    done = again.reindex()
    assert done.swapped and not done.cancelled
    assert done.kept == summary.embedded and done.kept + done.embedded == 12
    new_id = again.model_id
    assert new_id != old_id and str(again.model_spec) == other_model
    assert model_check.vector_models(again.catalog) == {new_id: 12}
    assert staged_count(again) == 0 and again.unfinished_reindex() is None
    assert [r[0] for r in again.catalog.query("PRAGMA integrity_check")] == ["ok"]
    assert again.catalog.query("PRAGMA foreign_key_check") == []
    assert again.catalog.scalar(  # the renamed table kept the model index
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'embeddings'"
    )
    _, meta = VectorIndex.load(again.folder)  # the index cache was rebuilt for it
    assert (meta.model, meta.count) == (new_id, 12)
    assert len(again.search(SearchQuery(text="a red ball", top=3))) == 3
    # the next open uses the new model; the old one now gets the one-line mismatch
    reopened = make_library(lib.folder, model=None)
    assert str(reopened.model_spec) == other_model
    with pytest.raises(model_check.ModelMismatchError, match="reindex --model"):
        make_library(lib.folder).search(SearchQuery(text="a red ball"))


def test_a_photo_changed_meanwhile_is_embedded_again(scanned, make_library, other_model):
    lib = scanned
    lib.reindex(other_model, None, lambda: staged_count(lib) >= 12, batch_size=4)
    changed = sorted(Path(r["path"]) for r in lib.catalog.query("SELECT path FROM photos"))[0]
    draw_photo(changed, seed=99, size=(170, 130))
    assert lib.scan().updated == 1  # the old model's vector follows the new content
    done = make_library(lib.folder).reindex()
    assert done.swapped and done.embedded == 1 and done.kept == 12


def test_reindexing_to_the_model_it_already_has_does_nothing(scanned, tiny_model, other_model):
    scanned.reindex(other_model, None, lambda: True)  # a switch, stopped at once
    assert scanned.unfinished_reindex() is not None
    summary = scanned.reindex(tiny_model)  # back to its own model: the switch is dropped
    assert summary.swapped and summary.embedded == 0
    assert staged_count(scanned) == 0 and scanned.unfinished_reindex() is None
    assert model_check.vector_models(scanned.catalog) == {scanned.model_id: 12}


@pytest.mark.slow  # a second Python loading torch and the model
def test_a_killed_reindex_loses_nothing_and_resumes(scanned, make_library, other_model, tmp_path):
    lib = scanned
    folder = lib.folder
    lib.close()
    script = textwrap.dedent(
        f"""
        import os, signal
        from photosort.core.library import Library
        lib = Library({str(folder)!r}, model={other_model!r}, device="cpu")
        def kill(progress):
            if progress.phase == "re-indexing" and progress.done >= 8:
                os.kill(os.getpid(), signal.SIGKILL)
        lib.reindex(None, kill, batch_size=4)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", script], env=env, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    after = make_library(folder)
    assert model_check.vector_models(after.catalog) == {after.model_id: 12}  # nothing lost
    assert len(after.search(SearchQuery(text="a red ball", top=3))) == 3
    assert staged_count(after) >= 8
    done = make_library(folder, model=None).reindex()
    assert done.swapped and done.kept >= 8 and done.kept + done.embedded == 12
