"""A library indexed with one model and searched with another says so in one line, and
``photosort reindex --model`` switches it over."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from photosort.cli import main
from tests.test_cli_tags import cli  # noqa: F401 - the scanned-library fixture

REPO = Path(__file__).resolve().parents[1]


def test_search_with_another_model_says_what_to_do_and_reindex_fixes_it(
    cli,  # noqa: F811
    tmp_path,
    tiny_model,
    capsys,
):
    other_dir = tmp_path / "other_clip"  # another model (same weights, another id)
    shutil.copytree(REPO / "tests" / "fixtures" / "tiny_clip", other_dir)
    other = f"local-dir:{other_dir}"
    code, out, err = cli("search", "a red ball", "--model", other)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "indexed with the model local-dir:" in err and "tiny_clip" in err
    assert f"photosort reindex --model {other}" in err
    # the failed search did not make the other model the library's: a plain search works
    library = ["--library", str(tmp_path / "lib"), "--device", "cpu"]

    def plain(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main([*library, *args])
        return code, capsys.readouterr().out

    code, out = plain("search", "a red ball", "--top", "3")
    assert code == 0 and len(out.strip().splitlines()) == 3
    code, out, err = cli("reindex", "--model", other, "--no-progress")
    assert code == 0, err
    assert out.startswith(f"re-indexed with {other}: 12 embedded, 0 failed")
    code, out = plain("search", "a red ball", "--top", "3")  # the library's model now
    assert code == 0 and len(out.strip().splitlines()) == 3
    code, _, err = cli("search", "a red ball")  # the fixture names the tiny model
    assert code == 2 and f"photosort reindex --model {tiny_model}" in err
    capsys.readouterr()
    code = main([*library, "reindex"])
    assert code == 2 and "reindex needs the model" in capsys.readouterr().err


def test_status_shows_an_interrupted_reindex_and_reindex_resumes_it(
    cli,  # noqa: F811
    tmp_path,
    make_library,
    capsys,
):
    other_dir = tmp_path / "other_clip"
    shutil.copytree(REPO / "tests" / "fixtures" / "tiny_clip", other_dir)
    other = f"local-dir:{other_dir}"
    lib = make_library(tmp_path / "lib")
    lib.reindex(other, None, lambda: True)  # stopped at once: nothing swapped
    lib.close()
    code, out, _ = cli("status", "--json")
    progress = json.loads(out)["reindex"]
    # a batch already decoding when the stop came may be kept (it resumes from there)
    done = progress["done"]
    assert progress == {"model": other, "done": done, "total": 12} and done < 12
    code, out, _ = cli("status")
    assert code == 0 and f"re-index: {done} of 12 photos with {other}, stopped" in out
    capsys.readouterr()
    library = ["--library", str(tmp_path / "lib"), "--device", "cpu"]
    code = main([*library, "reindex", "--no-progress"])  # no --model: the interrupted one
    out = capsys.readouterr().out
    # what the stopped run kept is not embedded again (under load a batch may be kept)
    assert code == 0 and out.startswith(f"re-indexed with {other}: {12 - done} embedded"), out
    assert (f"{done} kept from the interrupted run" in out) == bool(done), out
    code, out, _ = cli("status", "--model", other)
    assert "re-index:" not in out and f"model:    {other}" in out
