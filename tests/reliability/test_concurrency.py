"""Two photosort processes on one library: serialised or told "library is busy", never corrupt.

Two ``Library`` objects on one folder share nothing but the files (their own SQLite
connection, their own lock file handle), so in-process pairs behave like two processes;
the CLI cases run the real command in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from tests.reliability.helpers import (
    REPO,
    check_library,
    make_photos,
    raw_checks,
    run_cli,
    spawn_cli,
)


def test_stale_index_of_another_process_is_not_saved_over_the_fresh_one(make_library, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    make_photos(a, 6, seed=0, folders=1)
    make_photos(b, 4, seed=100, folders=1)
    gui = make_library()
    gui.scan([a, b])
    assert gui.index.count == 10  # the GUI holds its index in memory

    cli = make_library()  # a CLI process beside it: 2 photos replaced by 2 new ones
    for p in sorted(a.rglob("*.jpg"))[:2]:
        p.unlink()
    new = make_photos(a, 2, seed=500, folders=1)
    cli.scan([a])
    cli.close()

    # The GUI sees the CLI's new photos, then changes the vectors itself.
    new_ids = {gui.catalog.photo_by_path(str(p)).id for p in new}
    assert all(gui.index.contains(i) for i in new_ids)
    gui.remove_root(b)
    gui.close()

    fresh = make_library()
    assert check_library(fresh)["vectors"] == 6
    assert all(fresh.index.contains(i) for i in new_ids)


def test_second_scan_is_told_the_library_is_busy(make_library, tiny_model, tmp_path):
    root = tmp_path / "photos"
    make_photos(root, 12)
    lib = make_library()
    started, release = threading.Event(), threading.Event()

    def hold() -> bool:  # the in-process scan parks inside its locked section
        started.set()
        release.wait(120)
        return False

    result: dict = {}
    worker = threading.Thread(
        target=lambda: result.setdefault("summary", lib.scan([root], should_cancel=hold))
    )
    worker.start()
    try:
        assert started.wait(60)
        proc = run_cli(lib.folder, tiny_model, "scan", str(root))
    finally:
        release.set()
        worker.join(120)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "library is busy" in lines[0], proc.stderr
    assert result["summary"].embedded == 12
    raw_checks(lib.folder)
    check_library(lib, root, complete=True)


def test_gui_tags_while_the_cli_scans(make_library, tiny_model, tmp_path):
    """Manual tagging (short write transactions) interleaves with a CLI scan's batches."""
    first, second = tmp_path / "first", tmp_path / "second"
    make_photos(first, 10, seed=0)
    make_photos(second, 16, seed=1000)
    gui = make_library()
    gui.scan([first])
    ids = [r[0] for r in gui.catalog.query("SELECT id FROM photos ORDER BY id")]
    proc = spawn_cli(gui.folder, tiny_model, "scan", str(second), "--batch-size", "4")
    tagged = 0
    while proc.poll() is None or tagged < 20:
        gui.tag_photos([ids[tagged % len(ids)]], add=[f"manual-{tagged}"])
        tagged += 1
        # 200 clicks a second, far above a person's: with none, back-to-back write
        # transactions can starve the scan's writer past SQLite's 10 s busy timeout on a
        # loaded machine (SQLite's busy handler is not fair), which no user can cause.
        time.sleep(0.005)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    tags = gui.photo_tags(ids)
    names = {t.name for photo in tags.values() for t in photo}
    assert {f"manual-{i}" for i in range(tagged)} <= names
    raw_checks(gui.folder)
    gui.close()
    check_library(make_library(), complete=False)
    assert make_library().status().photos == 26


def test_processes_creating_one_library_at_once(tmp_path):
    """Four processes open a new library together: one creates it, none fails."""
    code = (
        "import sys; from photosort.core import tagging; "
        "from photosort.core.catalog import Catalog; "
        "Catalog(__import__('pathlib').Path(sys.argv[1]) / 'catalog.sqlite').close()"
    )
    for trial in range(3):
        folder = tmp_path / f"lib{trial}"
        folder.mkdir()
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, str(folder)], cwd=REPO, stderr=subprocess.PIPE
            )
            for _ in range(4)
        ]
        errors = [p.communicate(timeout=120)[1].decode() for p in procs]
        assert all(p.returncode == 0 for p in procs), errors
        raw_checks(folder)
