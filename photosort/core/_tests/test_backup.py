"""Catalog backups: rotated, restorable, never half-written, and a failure is one line that
never stops the user's own work."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from pathlib import Path

import pytest

from conftest import draw_photo
from photosort.core import backup, catalog
from photosort.core.catalog import Catalog, CatalogError
from photosort.core.reconcile import reconcile


def catalog_with_photos(folder: Path, count: int = 2, backup_dir: Path | None = None) -> Catalog:
    """A catalog that knows ``count`` real photos (walked, not embedded: no model)."""
    photos = folder / "photos"
    for i in range(count):
        draw_photo(photos / f"p{i}.jpg", seed=i, size=(32, 24))
    cat = Catalog(folder / "catalog.sqlite", backup_dir=backup_dir)
    root_id = cat.add_root(str(photos))
    assert reconcile(cat, [(root_id, str(photos))]).new == count
    return cat


def photos_in(path: Path) -> int:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
    finally:
        conn.close()


def blocked_folder(tmp_path: Path) -> Path:
    """A backup folder that cannot be made, for root too: its parent is a file."""
    (tmp_path / "a-file").write_text("not a folder")
    return tmp_path / "a-file" / "backups"


def test_backups_are_intact_copies_and_only_the_newest_are_kept(tmp_path: Path) -> None:
    cat = catalog_with_photos(tmp_path, count=3)
    folder = tmp_path / "backups"
    made = [backup.backup_database(cat.conn, folder, f"run {n}", keep=2) for n in range(4)]
    cat.close()

    assert backup.list_backups(folder) == [made[3], made[2]]  # newest first, two kept
    for path in made[2:]:
        catalog.verify_backup(path)
        assert photos_in(path) == 3
    assert "run-3" in made[3].name  # the reason, made safe for a file name
    assert catalog.newest_backup_with_photos(folder) == (made[3].name, 3)


def test_a_scheduled_backup_is_taken_once_per_interval(tmp_path: Path) -> None:
    cat = catalog_with_photos(tmp_path, count=1)
    folder = tmp_path / "backups"
    first = backup.scheduled_backup(cat.conn, folder, interval_s=3600)
    assert first is not None
    assert backup.scheduled_backup(cat.conn, folder, interval_s=3600) is None
    later = dt.datetime.now() + dt.timedelta(hours=2)
    assert backup.scheduled_backup(cat.conn, folder, interval_s=3600, now=later) is not None
    assert len(backup.list_backups(folder)) == 2
    cat.close()


def test_a_half_written_backup_is_never_listed_and_is_cleared(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    partial = folder / ".partial-catalog-20260101-000000-000000-manual.sqlite"
    partial.write_bytes(b"SQLite format 3\x00 cut short by a crash")
    assert backup.list_backups(folder) == []
    assert backup.remove_partials(folder) == [partial]
    assert not partial.exists()


def test_a_damaged_backup_is_refused_and_an_older_intact_one_is_offered(tmp_path: Path) -> None:
    cat = catalog_with_photos(tmp_path, count=2)
    folder = tmp_path / "backups"
    good = backup.backup_database(cat.conn, folder, "good")
    bad = backup.backup_database(cat.conn, folder, "bad")
    cat.close()
    bad.write_bytes(b"\x00" * 4096)

    with pytest.raises(backup.BackupError, match=bad.name):
        catalog.verify_backup(bad)
    assert catalog.newest_backup_with_photos(folder) == (good.name, 2)


def test_an_unwritable_backup_folder_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    cat = catalog_with_photos(tmp_path, count=1)
    folder = blocked_folder(tmp_path)
    with pytest.raises(backup.BackupError) as caught:
        backup.backup_database(cat.conn, folder)
    cat.close()
    message = str(caught.value)
    assert "\n" not in message
    assert str(folder) in message


def test_a_missed_daily_backup_never_stops_the_first_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = blocked_folder(tmp_path)
    catalog_with_photos(tmp_path, count=1, backup_dir=folder).close()

    cat = Catalog(tmp_path / "catalog.sqlite", backup_dir=folder)
    with caplog.at_level(logging.WARNING):
        cat.add_root("/somewhere/else")  # the first write of the session: a backup is due
    assert "/somewhere/else" in [r["path"] for r in cat.roots()]
    assert "backup failed" in caplog.text
    cat.close()


def test_an_upgrade_whose_backup_fails_leaves_the_catalog_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:  # a catalog as an older photosort left it
        patch.setattr(catalog, "MIGRATIONS", catalog.MIGRATIONS[:1])
        old = Catalog(tmp_path / "catalog.sqlite")
        with old.transaction() as conn:
            conn.execute("INSERT INTO roots (id, path, added_at) VALUES (1, '/p', 'then')")
            for n in (1, 2):
                conn.execute(
                    "INSERT INTO photos (root_id, path, folder, size, mtime_ns, added_at, "
                    "updated_at) VALUES (1, ?, '/p', 1, 1, 'then', 'then')",
                    (f"/p/{n}.jpg",),
                )
        old.close()

    with pytest.raises(CatalogError, match="left as it was") as caught:
        Catalog(tmp_path / "catalog.sqlite", backup_dir=blocked_folder(tmp_path))
    assert "\n" not in str(caught.value)
    conn = sqlite3.connect(tmp_path / "catalog.sqlite")
    applied = [r[0] for r in conn.execute("SELECT name FROM migrations")]
    conn.close()
    assert applied == ["0001_initial"]

    upgraded = Catalog(tmp_path / "catalog.sqlite", backup_dir=tmp_path / "backups")
    assert upgraded.scalar("SELECT COUNT(*) FROM photos") == 2
    upgraded.close()


def test_an_emptied_catalog_is_refused_while_a_backup_holds_the_photos(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    cat = catalog_with_photos(tmp_path, count=2, backup_dir=folder)
    saved = cat.backup_now("manual")
    cat.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp_path / 'catalog.sqlite'}{suffix}").unlink(missing_ok=True)
    (tmp_path / "catalog.sqlite").write_bytes(b"")  # a sync tool or a crash emptied it

    with pytest.raises(CatalogError, match=f"{saved.name} holds 2 photos.*doctor --restore"):
        Catalog(tmp_path / "catalog.sqlite", backup_dir=folder)
    assert (tmp_path / "catalog.sqlite").stat().st_size == 0  # nothing written over it
