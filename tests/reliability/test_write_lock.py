"""Issue 11, finding 1: a move-export racing any other command never deletes an original.

Every command that changes files or the set of photos holds the library's write lock, and
move journals are settled only under that lock and only when their owner is provably gone.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from photosort.core import export as exporter
from photosort.core.export import ExportRequest, moving
from photosort.core.owner import Owner, is_gone, this_process
from tests.reliability.helpers import make_photos, raw_checks, run_cli


def _contents(*folders: Path) -> list[str]:
    return sorted(
        hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in folders
        if folder.exists()
        for p in folder.rglob("*.jpg")
    )


@pytest.fixture
def tagged(make_library, tmp_path):
    root = tmp_path / "photos"
    make_photos(root, 6, folders=2)
    lib = make_library()
    lib.scan([root])
    for category in lib.categories():
        lib.remove_category(category.name)
    ids = [r[0] for r in lib.catalog.query("SELECT id FROM photos ORDER BY id")]
    lib.tag_photos(ids, add=["move-me"])
    return lib, root


def _park_move(monkeypatch):
    """Park the first move between claiming its destination and updating the catalog:
    the moment a journal is live and the original still the catalog's truth."""
    parked, release = threading.Event(), threading.Event()
    real = moving.update_catalog_path

    def slow(*args, **kwargs):
        if not parked.is_set():
            parked.set()
            assert release.wait(120)
        return real(*args, **kwargs)

    monkeypatch.setattr(moving, "update_catalog_path", slow)
    return parked, release


def _start_move(lib, dest):
    result: dict = {}
    worker = threading.Thread(
        target=lambda: result.setdefault(
            "summary", lib.export(ExportRequest(["move-me"], dest, mode="move"))
        )
    )
    worker.start()
    return worker, result


@pytest.mark.parametrize("other", ["scan", "export-copy"])
def test_a_command_beside_a_live_move_export_deletes_nothing(
    tagged, tiny_model, tmp_path, monkeypatch, other
):
    lib, root = tagged
    dest = tmp_path / "moved"
    before = _contents(root)
    parked, release = _park_move(monkeypatch)
    worker, result = _start_move(lib, dest)
    try:
        assert parked.wait(60)
        args = (
            ["scan"]
            if other == "scan"
            else ["export", "--tag", "move-me", "--to", str(tmp_path / "copies")]
        )
        proc = run_cli(lib.folder, tiny_model, *args)
    finally:
        release.set()
        worker.join(120)
    assert proc.returncode == 2, proc.stderr
    assert "library is busy" in proc.stderr and "exporting" in proc.stderr
    assert "undid" not in proc.stderr
    assert result["summary"].done == 6 and result["summary"].failed == 0
    assert _contents(root, dest) == before, "an original was lost"
    raw_checks(lib.folder)


def test_recovery_leaves_the_journal_of_a_live_owner_alone(
    make_library, tagged, tmp_path, monkeypatch
):
    """Even a process that holds the lock (a bug, an older version) may only settle the
    journals of owners that are gone: this one is alive (it is us)."""
    lib, root = tagged
    dest = tmp_path / "moved"
    before = _contents(root)
    parked, release = _park_move(monkeypatch)
    worker, result = _start_move(lib, dest)
    try:
        assert parked.wait(60)
        other = make_library(lib.folder)
        for _ in range(20):  # the loop that destroyed 347 of 400
            assert exporter.recover_moves(other.catalog, lock_held=True) == []
        assert other.catalog.scalar("SELECT COUNT(*) FROM move_journal") == 1
    finally:
        release.set()
        worker.join(120)
    assert result["summary"].done == 6
    assert _contents(root, dest) == before


def test_recovery_needs_the_write_lock(make_library, tagged):
    lib, _ = tagged
    with pytest.raises(exporter.ExportError):
        exporter.recover_moves(lib.catalog, lock_held=False)


def test_owner_liveness():
    me = this_process()
    assert not is_gone(me)
    assert is_gone(Owner(me.host, 2**22 + 12345, "1"))  # above any pid_max: not running
    assert not is_gone(Owner("another-host.example", 2**22 + 12345, "1"))
    assert is_gone(Owner(me.host, me.pid, "not-my-start-time")) == (me.started is not None)


def test_every_changing_command_holds_the_write_lock(tagged, tmp_path):
    """The class: scan, export (every mode), roots remove, xmp and doctor are refused with
    one line while another holder has the lock; reading commands are not."""
    lib, root = tagged
    from photosort.core import doctor
    from photosort.core.writelock import LibraryBusy, WriteLock

    doctor.make_backup(lib)
    other = WriteLock(lib.folder)

    calls = {
        "scan": lambda: lib.scan(),
        "export copy": lambda: lib.export(ExportRequest(["move-me"], tmp_path / "c")),
        "export move": lambda: lib.export(ExportRequest(["move-me"], tmp_path / "m", "move")),
        "export symlink": lambda: lib.export(ExportRequest(["move-me"], tmp_path / "s", "symlink")),
        "roots remove": lambda: lib.remove_root(root),
        "xmp": lambda: lib.write_xmp_sidecars(),
        "doctor --fix": lambda: doctor.check(lib, fix=True),
        "doctor --restore": lambda: doctor.restore(lib.folder),
    }
    done = threading.Event()
    holding = threading.Event()

    def hold():
        with other.hold("testing", wait_s=5):
            holding.set()
            done.wait(60)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert holding.wait(10)
        for name, call in calls.items():
            with pytest.raises(LibraryBusy, match="library is busy"):
                call()
                pytest.fail(f"{name} ran without the write lock")
        assert lib.status().photos == 6  # reading is fine
        assert lib.photos_with_tag("move-me")
    finally:
        done.set()
        t.join()
    assert not (tmp_path / "c").exists() and not (tmp_path / "m").exists()
