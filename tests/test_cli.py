"""The command line through its real entry point: JSON shapes, errors, progress bar."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import draw_photo


def run(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m photosort`` (the same main() as the console script) in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "photosort", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture
def cli_env(tmp_path: Path, tiny_model: str) -> dict:
    """A user's environment: library and model chosen through the environment variables."""
    return {
        "PHOTOSORT_LIBRARY": str(tmp_path / "lib"),
        "PHOTOSORT_MODEL": tiny_model,
        "PHOTOSORT_DEVICE": "cpu",
    }


@pytest.fixture(scope="module")
def scanned_library(tmp_path_factory: pytest.TempPathFactory, tiny_model: str) -> Path:
    """One scanned library that tests copy (a scan through the CLI costs seconds)."""
    base = tmp_path_factory.mktemp("scanned")
    photos = base / "photos"
    for i in range(6):
        draw_photo(photos / f"img_{i:02d}.jpg", seed=i)
    library = base / "lib"
    env = {"PHOTOSORT_LIBRARY": str(library), "PHOTOSORT_MODEL": tiny_model}
    run("scan", str(photos), env={**env, "PHOTOSORT_DEVICE": "cpu"})
    return library


def test_scan_status_search_roots_json(cli_env, photo_tree: Path):
    (photo_tree / "broken.jpg").write_bytes(b"not a jpeg at all")
    scan = json.loads(run("scan", str(photo_tree), "--json", env=cli_env).stdout)
    assert {k: scan[k] for k in ("new", "updated", "moved", "removed", "failed")} == {
        "new": 13,
        "updated": 0,
        "moved": 0,
        "removed": 0,
        "failed": 1,
    }
    assert scan["failures"][0]["path"].endswith("broken.jpg")

    status = json.loads(run("status", "--json", env=cli_env).stdout)
    assert {k: status[k] for k in ("photos", "embedded", "failed", "pending")} == {
        "photos": 13,
        "embedded": 12,
        "failed": 1,
        "pending": 0,
    }
    assert status["model"].startswith("local-dir:")

    hits = json.loads(run("search", "a", "red", "ball", "--top", "5", "--json", env=cli_env).stdout)
    assert len(hits) == 5
    assert all({"path", "score"} <= set(h) for h in hits)
    assert all(Path(h["path"]).is_file() for h in hits)
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)

    roots = json.loads(run("roots", "--json", env=cli_env).stdout)
    assert roots == [{"path": str(photo_tree), "photos": 13}]


def test_options_may_follow_the_command_and_override_env(tmp_path, tiny_model, photo_tree):
    lib = tmp_path / "explicit"
    out = run(
        "scan",
        str(photo_tree),
        "--library",
        str(lib),
        "--model",
        tiny_model,
        "--device",
        "cpu",
        "--no-progress",
    )
    assert "12 new, 0 updated, 0 moved, 0 removed, 0 failed" in out.stdout
    assert (lib / "catalog.sqlite").is_file()
    again = run("--library", str(lib), "scan")  # no path: rescans the library's roots
    assert "0 new" in again.stdout and "12 unchanged" in again.stdout


def test_image_query_leaves_out_the_query_photo(cli_env, photo_tree):
    run("scan", str(photo_tree), env=cli_env)
    query = photo_tree / "family" / "img_00.jpg"
    hits = json.loads(run("search", "--image", str(query), "--json", env=cli_env).stdout)
    assert len(hits) == 11
    assert str(query) not in [h["path"] for h in hits]


def test_folder_and_date_filters(cli_env, tmp_path):
    import piexif

    root = tmp_path / "dated"
    for i, date in enumerate(["2019:05:01 12:00:00", "2020:07:04 09:00:00", "2021:12:24 20:00:00"]):
        exif = piexif.dump({"Exif": {piexif.ExifIFD.DateTimeOriginal: date.encode()}})
        draw_photo(root / ("a" if i else "b") / f"{i}.jpg", seed=i, exif=exif)
    run("scan", str(root), env=cli_env)
    in_2020 = json.loads(
        run(
            "search", "a photo", "--from", "2020-01-01", "--to", "2020-12-31", "--json", env=cli_env
        ).stdout
    )
    assert [Path(h["path"]).name for h in in_2020] == ["1.jpg"]
    folder_a = json.loads(
        run("search", "a photo", "--folder", str(root / "a"), "--json", env=cli_env).stdout
    )
    assert sorted(Path(h["path"]).name for h in folder_a) == ["1.jpg", "2.jpg"]


def test_negative_terms_change_the_ranking(cli_env, photo_tree):
    run("scan", str(photo_tree), env=cli_env)
    plain = json.loads(run("search", "a red ball", "--json", "--top", "12", env=cli_env).stdout)
    pushed = json.loads(
        run(
            "search",
            "a red ball",
            "--not",
            "a red ball:0.9",
            "--and",
            "a blue house:2",
            "--json",
            "--top",
            "12",
            env=cli_env,
        ).stdout
    )
    assert [h["path"] for h in plain] != [h["path"] for h in pushed]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["scan", "/no/such/folder"], "not a folder"),
        (["search"], "nothing to search for"),
        (["search", "x", "--top", "0"], "--top must be positive"),
        (["roots", "remove", "/not/a/root"], "not a root"),
        (["search", "x", "--model", "nonsense"], "is not NAME:PRETRAINED"),
        (["search", "x", "--model", "local-dir:/no/such/model"], "model folder not found"),
        (["search", "--image", "/no/such.jpg"], "cannot use /no/such.jpg"),
    ],
)
def test_user_errors_are_one_line_without_traceback(cli_env, scanned_library, args, needle):
    shutil.copytree(scanned_library, cli_env["PHOTOSORT_LIBRARY"])
    proc = run(*args, env=cli_env, check=False)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0] and "Traceback" not in proc.stderr


def test_offline_default_model_error_names_model_cache_and_local_dir(tmp_path, photo_tree):
    env = {
        "PHOTOSORT_LIBRARY": str(tmp_path / "lib"),
        "HF_HUB_OFFLINE": "1",
        "PHOTOSORT_MODEL_CACHE": str(tmp_path / "cache"),
    }
    proc = run("scan", str(photo_tree), env=env, check=False)
    assert proc.returncode != 0
    (line,) = proc.stderr.strip().splitlines()
    assert "ViT-B-32:laion2b_s34b_b79k" in line
    assert str(tmp_path / "cache") in line
    assert "local-dir:" in line


def test_scan_shows_a_progress_bar_on_a_terminal(cli_env, photo_tree):
    """On a terminal (a pty here) the scan draws a bar, then prints its summary line."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "photosort", "scan", str(photo_tree)],
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**os.environ, **cli_env},
        text=True,
    )
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:  # read while it runs: a full pty buffer would block the scan
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    out, _ = proc.communicate(timeout=300)
    reader.join(timeout=10)
    os.close(master)
    bar = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert "embedding" in bar and "100%" in bar and "12/12" in bar
    assert out.strip().endswith(
        "12 new, 0 updated, 0 moved, 0 removed, 0 failed (12 embedded, 0 unchanged)"
    )


def test_version_and_help():
    assert run("--version").stdout.startswith("photosort ")
    for cmd in ("scan", "search", "status", "roots"):
        assert "--library" in run(cmd, "--help").stdout


def test_a_file_name_with_a_newline_stays_on_one_line(cli_env, tmp_path):
    root = tmp_path / "odd"
    root.mkdir()
    (root / "bad\nname.jpg").write_bytes(b"not a photo")
    proc = run("scan", str(root), env=cli_env)
    failed = [line for line in proc.stderr.splitlines() if line.startswith("failed:")]
    assert failed == [f"failed: {root}/bad\\nname.jpg: not an image (unrecognised format)"]
