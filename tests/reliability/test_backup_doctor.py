"""Backups on a schedule and before migrations, and ``photosort doctor``'s checks and restore."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from photosort import cli
from photosort.core import backup, catalog
from photosort.core.index import INDEX_FILENAME
from tests.reliability.helpers import check_library, make_photos, run_cli


def doctor(capsys, library: Path, model: str, *args: str) -> tuple[int, str, str]:
    """``photosort doctor`` through the CLI's real main() (in-process: no startup cost)."""
    capsys.readouterr()
    code = cli.main(
        ["doctor", "--library", str(library), "--model", model, "--device", "cpu", *args]
    )
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def scanned(make_library, tmp_path):
    root = tmp_path / "photos"
    make_photos(root, 8)
    lib = make_library()
    lib.scan([root])
    lib.close()
    return lib.folder, root


def test_one_scheduled_backup_a_day_keeping_the_newest_n(make_library, scanned):
    folder, _ = scanned
    backups = folder / "backups"
    assert backup.list_backups(backups) == []  # a new empty catalog is not backed up
    lib = make_library(folder)
    lib.tag_photos([1], add=["a"])  # the session's first write backs up
    lib.tag_photos([2], add=["b"])
    lib.close()
    lib = make_library(folder)
    lib.tag_photos([3], add=["c"])  # the same day: no second one
    (first,) = backup.list_backups(backups)
    assert "scheduled" in first.name
    catalog.verify_backup(first)
    with sqlite3.connect(first) as conn:  # taken before that session's first write
        assert conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0] == 8

    tomorrow = dt.datetime.now() + dt.timedelta(days=1, minutes=1)
    for i in range(4):
        assert backup.scheduled_backup(
            lib.catalog.conn, backups, keep=3, now=tomorrow + dt.timedelta(days=i)
        )
    assert len(backup.list_backups(backups)) == 3


def test_backup_before_a_migration(make_library, scanned, monkeypatch):
    folder, _ = scanned

    def add_column(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE photos ADD COLUMN rating INTEGER")

    monkeypatch.setattr(
        catalog, "MIGRATIONS", [*catalog.MIGRATIONS, catalog.Migration("9999_rating", add_column)]
    )
    lib = make_library(folder)
    assert "9999_rating" in lib.catalog.applied_migrations()
    (made,) = backup.list_backups(folder / "backups")
    assert made.name.endswith("before-9999_rating.sqlite")
    catalog.verify_backup(made)
    with sqlite3.connect(made) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(photos)")]
    assert "rating" not in columns


def test_partial_backup_left_by_a_crash_is_never_offered(tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    partial = folder / ".partial-catalog-20250101-000000-000000-scheduled.sqlite"
    partial.write_bytes(b"SQLite format 3\x00")
    assert backup.list_backups(folder) == []
    assert backup.remove_partials(folder) == [partial]


def test_doctor_reports_a_healthy_library(capsys, scanned, tiny_model):
    folder, _ = scanned
    code, out, _ = doctor(capsys, folder, tiny_model)
    assert code == 0, out
    assert "catalog integrity: ok" in out and "healthy" in out
    assert "was up to date" in out and "now 8 vectors" in out


def test_doctor_finds_and_fixes_orphans(capsys, make_library, scanned, tiny_model):
    folder, root = scanned
    lib = make_library(folder)
    model, dim = lib.model_id, lib.vector_dim()
    lib.close()
    with sqlite3.connect(folder / "catalog.sqlite") as conn:  # as an old bug might have left it
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute(
            "INSERT INTO embeddings (photo_id, model, vector) VALUES (9999, ?, zeroblob(?))",
            (model, dim * 4),
        )
        conn.execute("UPDATE embeddings SET vector = zeroblob(12) WHERE photo_id = 8")
        conn.execute(
            "INSERT INTO photos (root_id, path, folder, size, mtime_ns, added_at, updated_at) "
            "VALUES (77, '/nowhere/x.jpg', '/nowhere', 1, 1, 'now', 'now')"
        )
    (folder / INDEX_FILENAME).write_bytes(b"junk")
    gone = sorted(root.rglob("*.jpg"))[0]
    gone.unlink()

    code, out, _ = doctor(capsys, folder, tiny_model, "--json")
    report = json.loads(out)
    assert code == 1 and not report["healthy"]
    assert (report["orphan_vectors"], report["photos_without_root"]) == (1, 1)
    assert report["damaged_vectors"] == 1  # left out of the rebuilt index, not fatal to it
    assert report["index_count"] == report["vectors"] - 1
    assert report["missing_files"] == [str(gone)]
    assert report["index_before"].startswith("was unreadable")
    fixed = doctor(capsys, folder, tiny_model, "--fix")[1]
    assert "dropped 1 damaged vectors" in fixed
    assert "removed 1 orphan vectors and 1 photos without a root" in fixed
    assert report["foreign_key_problems"] >= 2

    code, out, _ = doctor(capsys, folder, tiny_model)
    assert code == 0, out
    assert code == 0, out
    assert "files missing on disk: 1" in out  # reported, never deleted by the doctor
    lib = make_library(folder)
    assert lib.status().pending == 1 and lib.scan().embedded == 1  # the damaged one
    check_library(lib)


def test_doctor_reports_a_missing_root_and_keeps_its_photos(capsys, scanned, tiny_model, tmp_path):
    folder, root = scanned
    root.rename(tmp_path / "unplugged")
    code, out, _ = doctor(capsys, folder, tiny_model)
    assert f"root missing or not mounted (its photos are kept): {root}" in out
    assert "photos: 8" in out and "files missing" not in out


def test_restore_a_damaged_catalog(capsys, make_library, scanned, tiny_model):
    folder, root = scanned
    code, out, _ = doctor(capsys, folder, tiny_model, "--backup-now")
    assert code == 0 and "backed up to" in out
    lib = make_library(folder)
    lib.tag_photos([1, 2], add=["keep"])
    ids = lib.photos_with_tag("keep")
    code, out, _ = doctor(capsys, folder, tiny_model, "--backup-now")
    lib.close()

    # Damage the catalog's pages (past the header), as a failing disk would.
    db = folder / "catalog.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    data = bytearray(db.read_bytes())
    data[4096 : len(data) - 4096] = b"\x5a" * (len(data) - 8192)
    db.write_bytes(bytes(data))
    proc = run_cli(folder, tiny_model, "status")
    assert proc.returncode != 0
    (line,) = proc.stderr.strip().splitlines()
    assert "damaged" in line and "doctor --restore" in line

    code, out, err = doctor(capsys, folder, tiny_model, "--restore")
    assert code == 0, err
    assert "restored the catalog from" in out and "damaged-" in out
    lib = make_library(folder)
    assert lib.photos_with_tag("keep") == ids
    check_library(lib, root, complete=True)

    code, out, _ = doctor(capsys, folder, tiny_model, "--list-backups")
    assert len(out.strip().splitlines()) == 2  # the damaged file is kept apart, not listed


def test_restore_a_chosen_backup_saves_the_current_catalog(
    capsys, make_library, scanned, tiny_model
):
    folder, root = scanned
    doctor(capsys, folder, tiny_model, "--backup-now")
    (chosen,) = backup.list_backups(folder / "backups")
    make_photos(root / "later", 3, seed=300)
    lib = make_library(folder)
    lib.scan()
    lib.close()
    code, out, _ = doctor(capsys, folder, tiny_model, "--restore", chosen.name)
    assert code == 0 and "before-restore" in out
    lib = make_library(folder)
    assert lib.status().photos == 8 and lib.index.count == 8  # the index was not trusted
    assert lib.scan().new == 3


def test_restore_without_any_backup_is_one_line(capsys, scanned, tiny_model):
    folder, _ = scanned
    code, _, err = doctor(capsys, folder, tiny_model, "--restore")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no usable backup" in err


def test_backup_settings_are_remembered(capsys, make_library, scanned, tiny_model):
    folder, _ = scanned
    code, _, _ = doctor(capsys, folder, tiny_model, "--keep", "2", "--backup-every", "0.0001")
    assert code == 0
    for _ in range(3):
        lib = make_library(folder)
        lib.tag_photos([1], add=["x"])
        lib.close()
        import time

        time.sleep(0.5)
    assert len(backup.list_backups(folder / "backups")) == 2
