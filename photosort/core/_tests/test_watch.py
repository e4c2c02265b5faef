"""Watched folders: events become settled batches; bursts are batched; polling works too."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from photosort.core.watch import ChangeCollector, FolderWatcher, needs_polling, relevant


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_batch_waits_for_quiet_but_not_for_ever():
    clock = FakeClock()
    collector = ChangeCollector(settle_s=1.0, max_wait_s=5.0, clock=clock)
    assert collector.take() is None
    collector.add(["/p/a.jpg"])
    clock.now += 0.5
    collector.add(["/p/b.jpg", "/p/a.jpg"])
    assert collector.take() is None  # still busy
    clock.now += 1.0
    assert collector.take().paths == ["/p/a.jpg", "/p/b.jpg"]
    assert collector.take() is None
    # A copy that never pauses still yields a batch after max_wait_s.
    for _ in range(12):
        collector.add([f"/p/{clock.now}.jpg"])
        clock.now += 0.5
    batch = collector.take()
    assert batch is not None and 10 <= len(batch.paths) <= 12


def test_only_photos_sidecars_and_folders_matter():
    assert relevant("/p/IMG_1.JPG") and relevant("/p/IMG_1.CR2") and relevant("/p/a.jpg.xmp")
    assert relevant("/p/new folder")
    assert not relevant("/p/.DS_Store") and not relevant("/p/notes.txt")
    assert not relevant("/p/.photosort-abc.xmp.tmp") and not relevant("/p/@eaDir")


def test_network_mounts_are_polled(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/sda1 / ext4 rw 0 0\n"
        "//nas/photos /mnt/nas\\040photos cifs rw 0 0\n"
        "server:/export /mnt/nfs nfs4 rw 0 0\n"
    )
    assert needs_polling("/mnt/nas photos/2021", str(mounts))
    assert needs_polling("/mnt/nfs", str(mounts))
    assert not needs_polling("/home/me/Pictures", str(mounts))
    assert not needs_polling("/mnt/nfs-local", str(mounts))


def _drain(watcher: FolderWatcher, want: int, timeout: float = 20.0) -> list[list[str]]:
    batches: list[list[str]] = []
    deadline = time.monotonic() + timeout
    while sum(len(b) for b in batches) < want and time.monotonic() < deadline:
        batch = watcher.take(timeout=0.5)
        if batch:
            batches.append(batch.paths)
    return batches


@pytest.mark.parametrize("polling", [False, True])
def test_new_moved_and_deleted_files_are_reported(tmp_path, polling):
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    (root / "old.jpg").write_bytes(b"x")
    (root / "gone.png").write_bytes(b"x")
    with FolderWatcher([str(root)], settle_s=0.3, force_polling=polling, poll_interval_s=0.2) as w:
        assert w.modes == {str(root): "polling" if polling else "events"}
        time.sleep(0.5)
        (root / "sub" / "new.jpg").write_bytes(b"x")
        os.rename(root / "old.jpg", root / "sub" / "moved.jpg")
        (root / "gone.png").unlink()
        (root / "notes.txt").write_text("ignored")
        seen = {p for b in _drain(w, 4) for p in b}
    names = {Path(p).name for p in seen}
    assert {"new.jpg", "moved.jpg", "gone.png"} <= names
    assert "notes.txt" not in names
    assert w.roots_of(seen) == [str(root)]


def test_a_burst_of_a_thousand_files_comes_as_a_few_batches(tmp_path):
    root = tmp_path / "card"
    root.mkdir()
    with FolderWatcher([str(root)], settle_s=0.5) as w:
        time.sleep(0.3)
        for i in range(1000):
            (root / f"IMG_{i:04d}.JPG").write_bytes(b"x")
        batches = _drain(w, 1000)
    photos = {p for b in batches for p in b if p.endswith(".JPG")}
    assert len(photos) == 1000
    assert len(batches) <= 3
