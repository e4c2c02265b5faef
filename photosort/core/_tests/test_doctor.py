"""doctor through the Library's public API: the index it rebuilds is the one searches use."""

from __future__ import annotations

from pathlib import Path

import pytest

from photosort.core import doctor
from photosort.core.index import INDEX_FILENAME, META_FILENAME
from photosort.core.library import LibraryError


def test_check_rebuilds_a_missing_index_and_the_library_searches_with_it(
    make_library, photo_tree: Path
) -> None:
    lib = make_library()
    lib.scan([photo_tree])
    for name in (INDEX_FILENAME, META_FILENAME):
        (lib.folder / name).unlink()

    report = doctor.check(lib)

    assert report.index_before == "was missing, rebuilt"
    assert report.index_count == 12
    assert (lib.folder / INDEX_FILENAME).is_file()  # saved, so the next open loads it
    assert lib.index.count == 12  # the library uses the rebuilt index, no second rebuild
    assert report.healthy


def test_rebuild_index_refuses_without_the_write_lock(make_library, photo_tree: Path) -> None:
    lib = make_library()
    lib.scan([photo_tree])
    with pytest.raises(LibraryError, match="write lock"):
        lib.rebuild_index()
    with lib.writing("test"):
        assert lib.rebuild_index().count == 12


def test_make_backup_keeps_the_configured_number(make_library, photo_tree: Path) -> None:
    lib = make_library()
    lib.scan([photo_tree])
    doctor.configure_backups(lib, keep=2)
    made = [doctor.make_backup(lib, f"manual{n}") for n in range(3)]
    backups = sorted(p.name for p in (lib.folder / doctor.BACKUPS).glob("*.sqlite*"))
    assert made[-1].name in backups
    assert len([n for n in backups if "manual" in n]) == 2
