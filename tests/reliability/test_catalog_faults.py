"""Issue 11, findings 9 and 12: a damaged, emptied or newer catalog is never silently used.

9: one bad byte in the schema text made every command (``doctor --restore`` included) die
with UnicodeDecodeError; a 0-byte catalog became an empty library although backups held
the user's photos. 12: a catalog written by a newer photosort was opened and rewritten.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from photosort.core import doctor
from tests.reliability.helpers import make_photos, run_cli


@pytest.fixture
def backed_up(make_library, tmp_path):
    root = tmp_path / "photos"
    make_photos(root, 3, folders=1)
    lib = make_library()
    lib.scan([root])
    ids = [r[0] for r in lib.catalog.query("SELECT id FROM photos")]
    lib.tag_photos(ids, add=["garden"])
    backup = doctor.make_backup(lib)
    lib.close()
    return lib.folder, backup


def _checkpointed(folder: Path) -> Path:
    path = folder / "catalog.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


def test_a_bad_byte_in_the_schema_is_one_line_and_restore_works(backed_up, tiny_model):
    folder, _ = backed_up
    path = _checkpointed(folder)
    data = bytearray(path.read_bytes())
    data[data.find(b"CREATE TABLE roots") + 7] = 0xFF
    path.write_bytes(bytes(data))
    status = run_cli(folder, tiny_model, "status")
    assert status.returncode == 2
    assert status.stderr.strip().splitlines() == [
        f"photosort: error: catalog {path} is damaged: unreadable schema text; "
        "'photosort doctor --restore' puts back the newest backup"
    ]
    restore = run_cli(folder, tiny_model, "doctor", "--restore")
    assert restore.returncode == 0, restore.stderr
    assert "Traceback" not in restore.stderr
    tags = run_cli(folder, tiny_model, "tags")
    assert tags.returncode == 0 and "garden" in tags.stdout


def test_an_emptied_catalog_is_refused_and_the_backup_named(backed_up, tiny_model):
    folder, backup = backed_up
    path = _checkpointed(folder)
    path.write_bytes(b"")
    Path(f"{path}-wal").unlink(missing_ok=True)
    status = run_cli(folder, tiny_model, "status")
    assert status.returncode == 2
    assert status.stderr.strip().splitlines() == [
        f"photosort: error: catalog {path} is empty (0 bytes) but the backup {backup.name} "
        "holds 3 photos: 'photosort doctor --restore' puts it back"
    ]
    assert path.stat().st_size == 0  # not turned into an empty library
    assert run_cli(folder, tiny_model, "doctor", "--restore").returncode == 0
    assert "garden" in run_cli(folder, tiny_model, "tags").stdout


def test_a_catalog_from_a_newer_photosort_is_not_touched(backed_up, make_library):
    folder, _ = backed_up
    path = _checkpointed(folder)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO migrations VALUES ('9999_from_the_future', '2030-01-01')")
    conn.execute("UPDATE meta SET value = '99.1.0' WHERE key = 'photosort_version'")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    from photosort.core.catalog import CatalogError

    with pytest.raises(CatalogError) as err:
        make_library(folder)
    message = str(err.value)
    assert "written by photosort 99.1.0" in message and "\n" not in message
    assert "upgrade photosort" in message
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_the_version_stamp_is_written_by_migrations(backed_up):
    folder, _ = backed_up
    conn = sqlite3.connect(folder / "catalog.sqlite")
    from photosort import __version__

    stamp = conn.execute("SELECT value FROM meta WHERE key = 'photosort_version'").fetchone()
    conn.close()
    assert stamp == (__version__,)
