"""Switching the model re-indexes in the background: the status bar shows its progress,
search keeps answering with the old model, and a stopped re-index resumes at the next start."""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path

import pytest

from photosort.core import model_check
from tests.gui.conftest import N_PHOTOS, wait_idle

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_clip"


@pytest.fixture
def other_model(tmp_path) -> str:
    folder = tmp_path / "other_clip"
    shutil.copytree(TINY, folder)
    return f"local-dir:{folder}"


def staged(lib) -> int:
    return int(lib.catalog.scalar("SELECT COUNT(*) FROM staged_vectors"))


def searched(qtbot, window, text: str) -> int:
    window.search_bar.set_text(text)
    model = window.grid.photo_model
    qtbot.waitUntil(lambda: not window.loading and model.has_scores, timeout=60000)
    return window.grid.photo_model.rowCount()


def test_a_new_model_is_indexed_while_search_keeps_the_old_one(
    make_window, library, qtbot, settings, other_model, tiny_model, make_library
):
    window = make_window(library)
    old_id = library.model_id
    blocker = make_library(library.folder)  # "another process scanning": the swap must wait
    with ExitStack() as held:
        held.enter_context(blocker.writing("scanning"))
        window.change_model(other_model, "cpu")
        activity = window.reindexing.activity
        assert window.reindexing.running and activity.isVisibleTo(window)
        qtbot.waitUntil(lambda: staged(blocker) == N_PHOTOS, timeout=120000)
        qtbot.waitUntil(lambda: "Re-indexing with other_clip" in activity.label.text())
        assert activity.bar.value() == N_PHOTOS
        # meanwhile search answers with the old model and its vectors
        assert searched(qtbot, window, "a red ball") > 0
        assert str(window.library.model_spec) == tiny_model
        assert model_check.vector_models(blocker.catalog) == {old_id: N_PHOTOS}
        assert settings.value("model") is None
    qtbot.waitUntil(lambda: not window.reindexing.running, timeout=120000)
    wait_idle(qtbot, window, timeout=60000)
    assert window.reindexing.last.swapped
    assert str(window.library.model_spec) == other_model == settings.value("model")
    assert not activity.isVisibleTo(window)
    assert "Re-indexed with other_clip" in window.statusBar().currentMessage()
    new_id = window.library.model_id
    assert model_check.vector_models(blocker.catalog) == {new_id: N_PHOTOS} and new_id != old_id
    window.search_bar.clear()
    wait_idle(qtbot, window)
    assert searched(qtbot, window, "a yellow car") > 0  # with the new model now


def test_a_stopped_reindex_resumes_at_the_next_start(
    make_window, library, qtbot, settings, other_model, make_library
):
    window = make_window(library)
    blocker = make_library(library.folder)
    with ExitStack() as held:
        held.enter_context(blocker.writing("scanning"))
        window.change_model(other_model, "cpu")
        qtbot.waitUntil(lambda: staged(blocker) == N_PHOTOS, timeout=120000)
        window.reindexing.activity.cancel.click()  # the status bar's Cancel
        qtbot.waitUntil(lambda: not window.reindexing.running, timeout=30000)
    assert not window.reindexing.last.swapped
    assert "resumes at the next start" in window.status_note.text()
    assert library.unfinished_reindex().spec == other_model
    window.close()

    again = make_library(library.folder)
    second = make_window(again, wait=False)  # resumes on its own once shown
    qtbot.waitUntil(lambda: second.reindexing.last is not None, timeout=120000)
    wait_idle(qtbot, second, timeout=60000)
    summary = second.reindexing.last
    assert summary.swapped and summary.kept == N_PHOTOS and summary.embedded == 0
    assert str(second.library.model_spec) == other_model == settings.value("model")


def test_the_app_opens_a_library_with_the_model_its_vectors_come_from(
    library, settings, other_model, tiny_model, tmp_path
):
    """Re-indexed from the command line, a library opened in the app with the model of its
    Preferences found "another model"; now the library's own model wins."""
    from photosort.gui.app import open_library

    settings.setValue("model", other_model)
    library.close()
    opened = open_library(str(library.folder), None, "cpu", settings)
    assert str(opened.model_spec) == tiny_model
    opened.close()
    new = open_library(str(tmp_path / "new-library"), None, "cpu", settings)
    assert str(new.model_spec) == other_model  # a new library starts with Preferences' model
    new.close()
    chosen = open_library(str(library.folder), other_model, "cpu", settings)
    assert str(chosen.model_spec) == other_model  # --model on the command line still wins
    chosen.close()
