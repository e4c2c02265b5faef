"""doctor through the Library's public API: the index it rebuilds is the one searches use, it
reports what is missing without deleting it, and a restore brings back the newest intact
backup after saving what it replaces. Libraries here are made as a scan leaves them, without
the model (see library_state.py)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from photosort.core import doctor
from photosort.core._tests.library_state import DIM, MODEL_ID, scanned
from photosort.core.catalog import Catalog
from photosort.core.index import INDEX_FILENAME, META_FILENAME
from photosort.core.library import Library, LibraryError


@pytest.fixture
def lib(make_library, tmp_path: Path) -> Library:
    library = make_library()
    scanned(library, tmp_path / "photos", 12)
    return library


def test_check_rebuilds_a_missing_index_and_the_library_searches_with_it(lib: Library) -> None:
    for name in (INDEX_FILENAME, META_FILENAME):
        (lib.folder / name).unlink(missing_ok=True)

    report = doctor.check(lib)

    assert report.index_before == "was missing, rebuilt"
    assert report.index_count == 12
    assert (lib.folder / INDEX_FILENAME).is_file()  # saved, so the next open loads it
    assert lib.index.count == 12  # the library uses the rebuilt index, no second rebuild
    assert report.healthy
    assert doctor.check(lib).index_before == "was up to date, rebuilt anyway"


def test_rebuild_index_refuses_without_the_write_lock(lib: Library) -> None:
    with pytest.raises(LibraryError, match="write lock"):
        lib.rebuild_index()
    with lib.writing("test"):
        assert lib.rebuild_index().count == 12


def test_make_backup_keeps_the_configured_number(lib: Library) -> None:
    doctor.configure_backups(lib, keep=2)
    made = [doctor.make_backup(lib, f"manual{n}") for n in range(3)]
    backups = sorted(p.name for p in (lib.folder / doctor.BACKUPS).glob("*.sqlite*"))
    assert made[-1].name in backups
    assert len([n for n in backups if "manual" in n]) == 2


def test_backup_settings_that_make_no_sense_are_refused(lib: Library) -> None:
    with pytest.raises(doctor.DoctorError, match="at least 1"):
        doctor.configure_backups(lib, keep=0)
    with pytest.raises(doctor.DoctorError, match="positive number of hours"):
        doctor.configure_backups(lib, every_hours=0)


def test_missing_files_and_roots_are_reported_and_kept(lib: Library, tmp_path: Path) -> None:
    gone = tmp_path / "photos" / "family" / "img_00.jpg"
    gone.unlink()
    report = doctor.check(lib, fix=True)
    assert report.missing_files == [str(gone)]
    assert report.photos == 12  # a scan forgets it once the user rescans, not doctor

    shutil.move(tmp_path / "photos", tmp_path / "unplugged")
    report = doctor.check(lib, fix=True)
    assert report.missing_roots == [str(tmp_path / "photos")]
    assert report.missing_files == []  # a missing root's photos are not listed one by one
    assert report.photos == 12


def test_fix_drops_only_rows_nobody_can_reach(lib: Library) -> None:
    lib.catalog.close()  # an older photosort, without foreign keys, left orphans behind
    conn = sqlite3.connect(lib.folder / Catalog.FILENAME)
    conn.execute("INSERT INTO embeddings VALUES (9999, ?, zeroblob(?))", (MODEL_ID, DIM * 4))
    conn.execute(
        "INSERT INTO photos (root_id, path, folder, size, mtime_ns, added_at, updated_at) "
        "VALUES (77, '/gone/root/a.jpg', '/gone/root', 1, 1, 'then', 'then')"
    )
    victim = conn.execute("SELECT id FROM photos WHERE path LIKE '%img_03.jpg'").fetchone()[0]
    conn.execute("UPDATE embeddings SET vector = x'000102' WHERE photo_id = ?", (victim,))
    conn.commit()
    conn.close()
    lib = Library(lib.folder, model=str(lib.model_spec), device="cpu")

    found = doctor.check(lib)
    assert (found.orphan_vectors, found.photos_without_root, found.damaged_vectors) == (1, 1, 1)
    assert found.index_count == found.vectors - 1  # rebuilt, leaving the damaged one out
    fixed = doctor.check(lib, fix=True)
    assert len(fixed.fixed) == 2 and fixed.healthy
    assert (fixed.photos, fixed.vectors, fixed.pending, fixed.index_count) == (12, 11, 1, 11)
    lib.close()


def test_restore_puts_back_the_newest_intact_backup_and_saves_the_damaged_catalog(
    lib: Library,
) -> None:
    folder = lib.folder
    good = doctor.make_backup(lib, "good")
    lib.close()
    catalog = folder / Catalog.FILENAME
    for suffix in ("-wal", "-shm"):
        Path(f"{catalog}{suffix}").unlink(missing_ok=True)
    catalog.write_bytes(b"garbage where the catalog was" * 200)

    restored, saved = doctor.restore(folder)

    assert restored == good
    assert saved is not None and saved.name.startswith("damaged-")
    assert (saved / Catalog.FILENAME).read_bytes().startswith(b"garbage")  # nothing lost
    assert not (folder / INDEX_FILENAME).exists()  # no process trusts an older index
    back = Library(folder, device="cpu")
    assert back.status().photos == 12
    back.close()


def test_restore_without_a_usable_backup_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "lib" / doctor.BACKUPS).mkdir(parents=True)
    (tmp_path / "lib" / doctor.BACKUPS / "catalog-20240101-000000-000000-x.sqlite").write_bytes(
        b"\x00" * 512
    )
    with pytest.raises(doctor.DoctorError, match="no usable backup in") as caught:
        doctor.restore(tmp_path / "lib")
    assert "\n" not in str(caught.value)
    with pytest.raises(doctor.DoctorError, match="no such backup: nope.sqlite"):
        doctor.restore(tmp_path / "lib", "nope.sqlite")
