"""What a user types, checked (issue 11 finding 15, issue 14's "The command line"): bad
numbers and dates are one-line errors, typos get "did you mean", and the output says what
happened in a line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photosort.cli import ProgressBar, main
from photosort.core.progress import Progress


@pytest.fixture(scope="module")
def scanned_library(tmp_path_factory, tiny_model):
    """One scanned library for the module; tests that change it take a copy."""
    from conftest import draw_photo

    base = tmp_path_factory.mktemp("cli-input")
    root = base / "photos"
    for i in range(12):
        sub = "trips" if i % 2 else "family"
        draw_photo(root / sub / f"img_{i:02d}.jpg", seed=i)
    lib = base / "lib"
    assert main(["--library", str(lib), "--model", tiny_model, "--device", "cpu", "scan",
                 str(root), "--no-progress"]) == 0  # fmt: skip
    return lib, root


@pytest.fixture
def cli(scanned_library, tiny_model, capsys):
    lib, root = scanned_library
    base = ["--library", str(lib), "--model", tiny_model, "--device", "cpu"]

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main([*base, *args])
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    run.root = root
    run.library = lib
    return run


def _one_error(code: int, err: str, needle: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("photosort: error:") and needle in lines[0], lines[0]


# -- finding 15 ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["x", "--and", "dog:nan"], "weight nan"),
        (["x", "--not", "dog:inf"], "weight inf"),
        (["x", "--from", "2022-13-40"], "--from '2022-13-40' is not a date"),
        (["x", "--from", "20.03.2022"], "--from '20.03.2022' is not a date"),
        (["x", "--to", "yesterday"], "--to 'yesterday' is not a date"),
        (["x", "--from", "2023-01-01", "--to", "2022-01-01"], "is after --to"),
    ],
)
def test_bad_search_input_is_one_line(cli, args, needle):
    code, out, err = cli("search", *args)
    _one_error(code, err, needle)
    assert out == ""


def test_a_huge_top_means_all_photos(cli):
    code, out, err = cli("search", "a photo", "--top", "99999999999999999999")
    assert code == 0, err
    assert len(out.splitlines()) == 12
    code, out, err = cli("search", "--folder", str(cli.root), "--top", "99999999999999999999")
    assert code == 0 and "Traceback" not in err  # a filter-only listing: SQLite's LIMIT
    assert len(out.splitlines()) == 12


def test_valid_dates_still_filter(cli):
    code, out, err = cli("search", "--from", "1990-01-01", "--to", "2099-12-31T23:59")
    assert code == 0, err


# -- did you mean ----------------------------------------------------------------------------------
def test_did_you_mean_commands_tags_categories_folders(cli):
    code, _, err = cli("serch", "dog")
    _one_error(code, err, "unknown command 'serch'; did you mean 'search'")
    code, _, err = cli("search", "x", "--tag", "dsuk")
    _one_error(code, err, "unknown tag 'dsuk'; did you mean 'dusk'?")
    code, _, err = cli("search", "x", "--not-tag", "Dwn")
    _one_error(code, err, "did you mean 'dawn'?")
    code, _, err = cli("categories", "remove", "Time of dya")
    _one_error(code, err, "no category named 'Time of dya'; did you mean 'Time of day'?")
    family = cli.root / "family"
    code, _, err = cli("search", "x", "--folder", str(cli.root / "famly"))
    _one_error(code, err, f"--folder {cli.root / 'famly'} does not exist; did you mean '{family}'?")
    code, _, err = cli("search", "x", "--folder", "/nonexistent")
    _one_error(code, err, "--folder /nonexistent does not exist")
    code, _, err = cli("search", "x", "--root", str(cli.library))
    _one_error(code, err, "holds no photo of this library")
    code, _, err = cli("roots", "remove", str(cli.root) + "s")
    _one_error(code, err, f"did you mean '{cli.root}'?")
    code, _, err = cli("tag", str(family), "--remove", "dsuk")
    _one_error(code, err, "did you mean 'dusk'?")


def test_unknown_model_names_whole_names_and_does_not_blame_the_network(cli):
    code, _, err = cli("search", "x", "--model", "ViT-B-99:laion2b_s34b_b79k")
    _one_error(code, err, "unknown model 'ViT-B-99'; did you mean 'ViT-B-32'")
    assert "download" not in err and "internet" not in err
    code, _, err = cli("search", "x", "--model", "ViT-B-32:laion2b_s34b_b7")
    _one_error(code, err, "did you mean 'laion2b_s34b_b79k'")


def test_a_local_model_that_loads_is_not_called_random(cli):
    code, _, err = cli("-v", "search", "a red ball", "--top", "1")
    assert code == 0 and "initialized randomly" not in err


# -- output that says what happened ----------------------------------------------------------------
def test_tag_on_a_folder_prints_a_summary(cli, scanned_library):
    code, out, err = cli("tag", str(cli.root / "trips"), "--add", "summer")
    assert code == 0, err
    (line,) = out.splitlines()
    assert line.startswith("6 photos: added 'summer'; tags now: ") and "summer 6" in line
    code, out, _ = cli("tag", str(cli.root / "trips" / "img_01.jpg"), "--remove", "summer")
    assert code == 0 and out.startswith(str(cli.root / "trips" / "img_01.jpg"))


def test_xmp_on_a_missing_path_exits_2_like_tag(cli):
    code, _, err = cli("xmp", "/nonexistent")
    assert code == 2 and "none of the given paths" in err
    code, _, err = cli("tag", "/nonexistent", "--add", "x")
    assert code == 2


def test_library_pointing_at_a_file(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("hello")
    assert main(["--library", str(target), "scan", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"photosort: error: the library must be a folder, and {target} is a file"]


def test_a_busy_scan_adds_no_root(cli, tmp_path):
    new = tmp_path / "new-folder"
    new.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock; "
            f"lock = FileLock({str(cli.library / 'scan.lock')!r}); lock.acquire(); "
            "print('held', flush=True); "
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        code, _, err = cli("scan", str(new), "--no-progress")
        _one_error(code, err, "library is busy")
    finally:
        holder.kill()
        holder.wait()
    code, out, _ = cli("roots")
    assert str(new) not in out


def test_autotag_line_counts_and_times_honestly(cli):
    started = time.monotonic()
    code, out, err = cli("categories", "add", "Only", "--label", "thing=a photo of a thing")
    took = time.monotonic() - started
    assert code == 0, err
    assert "× 1 label:" in out and "1 labels" not in out
    shown = float(out.rsplit(" in ", 1)[1].rstrip("s\n"))
    assert shown <= took + 0.01  # never more than the whole command
    if took > 0.5:  # a model (or text tower) loaded: that wait counts, no "in 0.00s" for 3 s
        assert shown >= took * 0.3
    cli("categories", "remove", "Only")


def test_doctor_lists_backups_with_dates_and_sizes(cli):
    code, out, err = cli("doctor", "--backup-now")
    assert code in (0, 1), err
    code, out, _ = cli("doctor", "--list-backups")
    line = out.splitlines()[0]
    date, clock, size, unit, path = line.split(maxsplit=4)
    assert len(date) == 10 and date[4] == "-" and clock.count(":") == 2
    assert float(size) > 0 and unit in ("B", "KB", "MB", "GB") and Path(path).is_file()


def test_progress_bar_keeps_its_room_in_80_columns(monkeypatch, capsys):
    from photosort.cli import _jobs

    monkeypatch.setattr(_jobs, "_terminal_size", lambda: (80, 24))
    bar = ProgressBar()
    long_name = "/photos/" + "a_very_long_holiday_file_name_" * 3 + ".jpg"
    for done in (1, 50, 99):
        bar(Progress("embedding", done, 100, unit="photo", current=long_name))
    bar.close()
    lines = capsys.readouterr().err.replace("\r", "\n").splitlines()
    drawn = [line for line in lines if "embedding" in line]
    assert drawn and all(len(line) <= 80 for line in drawn)
    assert "a_very_long" not in drawn[-1]
    assert "99/100" in drawn[-1] and "█" * 9 in drawn[-1]  # the bar keeps its room


def test_no_display_is_one_line_saying_the_cli_works(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    env["PHOTOSORT_LIBRARY"] = str(tmp_path / "lib")
    proc = subprocess.run(
        [sys.executable, "-m", "photosort"], capture_output=True, text=True, env=env, timeout=60
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1
    assert "no display found" in lines[0] and "photosort --help" in lines[0]
