"""Issue 11, findings 6 and 7: reading can hang or fail for reasons outside the file.

6: a photo that became a FIFO after the walk hung the scan for ever, and Ctrl-C twice did
nothing. Ctrl-C must stop any command within 2 s.
7: a drive unplugged mid-scan left its photos "failed" for good. Failures caused by I/O
are retried by the next scan; ``scan --retry-failed`` retries all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from photosort.core.pipeline import EmbedJob, prepare
from tests.reliability.helpers import REPO, cli_env, make_photos


def _unblock(fifo: Path) -> None:
    """Let a reader stuck in open() of ``fifo`` go (cleanup when a test failed)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    except OSError:
        pass


def test_a_fifo_is_not_read_and_does_not_block(tmp_path):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    out: dict = {}
    worker = threading.Thread(
        target=lambda: out.setdefault("p", prepare(EmbedJob(1, str(fifo)), None, 64)),
        daemon=True,
    )
    worker.start()
    worker.join(2)
    if worker.is_alive():
        _unblock(fifo)
        pytest.fail("opening a FIFO blocked the scan")
    assert out["p"].error == "not a regular file (a named pipe): skipped"
    assert not out["p"].io_error


def test_a_photo_that_becomes_a_fifo_after_the_walk(make_library, tmp_path):
    root = tmp_path / "photos"
    paths = make_photos(root, 4, folders=1)
    victim = paths[1]

    def swap(progress) -> None:  # the walk is over, embedding starts: now it is a FIFO
        if progress.phase == "embedding" and victim.is_file():
            victim.unlink()
            os.mkfifo(victim)

    lib = make_library()
    out: dict = {}
    worker = threading.Thread(
        target=lambda: out.setdefault("s", lib.scan([root], on_progress=swap)), daemon=True
    )
    worker.start()
    worker.join(120)
    if worker.is_alive():
        _unblock(victim)
        pytest.fail("the scan hung on a FIFO")
    summary = out["s"]
    assert (summary.embedded, summary.failed) == (3, 1)
    assert summary.failures == [(str(victim), "not a regular file (a named pipe): skipped")]


_HUNG_SCAN = """
import sys, time
from pathlib import Path
from photosort.core import pipeline
marker = Path(sys.argv[1])

def hung(path):  # a read that never returns: a dead network share
    marker.touch()
    time.sleep(3600)

pipeline.read_regular_file = hung
sys.argv = ["photosort", "scan", sys.argv[2], "--no-progress"]
from photosort.cli import main
sys.exit(main())
"""


def test_one_ctrl_c_stops_a_scan_stuck_in_a_read_within_2_seconds(tiny_model, tmp_path):
    root = tmp_path / "photos"
    make_photos(root, 3, folders=1)
    marker = tmp_path / "reading"
    proc = subprocess.Popen(
        [sys.executable, "-c", _HUNG_SCAN, str(marker), str(root)],
        env=cli_env(tmp_path / "lib", tiny_model),
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the scan never started reading"
            time.sleep(0.05)
        time.sleep(0.3)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    assert took < 2.0, f"Ctrl-C took {took:.1f}s"
    assert proc.returncode in (1, 130), err
    assert "Traceback" not in err


def test_photos_of_an_unplugged_drive_are_retried_when_it_is_back(make_library, tmp_path):
    drive = tmp_path / "drive"
    root = drive / "photos"
    make_photos(root, 6, folders=2)
    (root / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    unplugged = tmp_path / "unplugged"

    def unplug(progress) -> None:
        if progress.phase == "embedding" and drive.exists():
            drive.rename(unplugged)

    lib = make_library()
    first = lib.scan([root], on_progress=unplug)
    assert first.failed == 7
    unplugged.rename(drive)  # plugged in again

    again = lib.scan()
    assert (again.embedded, again.failed) == (6, 1)  # the I/O failures were retried
    assert lib.status().failed == 1
    assert [f["path"] for f in lib.failures()] == [str(root / "broken.jpg")]

    assert lib.scan().failed == 0  # a bad file is not retried while unchanged...
    retried = lib.scan(retry_failed=True)
    assert retried.failed == 1  # ...unless asked
    assert lib.status().failed == 1
