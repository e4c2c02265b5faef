"""The Library's own rules, without the model: roots resolve to one folder each, one writer at
a time, listings and counts from the catalog alone, and a rescan with nothing new never
loads the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from photosort.core import tagging
from photosort.core._tests.library_state import as_scanned, photos, walk
from photosort.core.library import Library, LibraryError
from photosort.core.search import SearchQuery
from photosort.core.writelock import LibraryBusy


def test_a_folder_inside_a_root_is_that_root_and_a_parent_takes_nested_roots_in(
    make_library, tmp_path: Path
) -> None:
    lib = make_library()
    trips = photos(tmp_path / "photos" / "trips", "a.jpg", "b.jpg")
    photos(tmp_path / "photos" / "home", "c.jpg")
    inner = walk(lib, trips)
    assert lib.add_root(trips / ".." / "trips") == (inner, str(trips))  # another spelling

    outer, folder = lib.add_root(tmp_path / "photos")
    assert folder == str(tmp_path / "photos")
    assert [(r["path"], r["photos"]) for r in lib.roots()] == [(folder, 2)]
    assert lib.add_root(trips)[0] == outer
    with pytest.raises(LibraryError, match="not a folder"):
        lib.add_root(trips / "a.jpg")


def test_a_library_must_be_a_folder_and_reading_never_creates_one(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(LibraryError, match="must be a folder"):
        Library(tmp_path / "file")
    with pytest.raises(LibraryError, match="no library at .* yet"):
        Library(tmp_path / "nothing", read_only=True)
    assert not (tmp_path / "nothing").exists()


def test_one_writer_at_a_time_and_the_other_is_told_what_runs(make_library) -> None:
    first = make_library()
    second = make_library(first.folder)
    busy = pytest.raises(LibraryBusy, match="another photosort process is scanning")
    with first.writing("scanning"), busy:
        second.scan()
    with second.writing("exporting"):  # free again once the first is done
        pass


def test_photos_of_a_folder_leave_out_a_sibling_with_the_same_start(
    make_library, tmp_path: Path
) -> None:
    lib = make_library()
    root = photos(tmp_path / "photos", "trip/a.jpg", "trip/day2/b.jpg", "trip-old/c.jpg")
    walk(lib, root)
    ids, unknown = lib.photo_ids_for_paths([root / "trip", tmp_path / "nowhere"])
    named = lib.photo_details(ids)
    assert sorted(d["path"] for d in named.values()) == [
        str(root / "trip" / "a.jpg"),
        str(root / "trip" / "day2" / "b.jpg"),
    ]
    assert unknown == [str(tmp_path / "nowhere")]
    listed = lib.browse(SearchQuery(folder=str(root / "trip")), order="name")
    assert [lib.photo_details([i])[i]["path"] for i in listed] == [
        str(root / "trip" / "a.jpg"),
        str(root / "trip" / "day2" / "b.jpg"),
    ]
    with pytest.raises(LibraryError, match="unknown order"):
        lib.browse(order="size")


def test_status_and_folder_counts_come_from_the_catalog_alone(make_library, tmp_path: Path) -> None:
    lib = make_library()
    root = photos(tmp_path / "photos", "a.jpg", "b.jpg", "sub/c.jpg")
    walk(lib, root)
    status = lib.status()
    assert (status.roots, status.photos, status.pending, status.embedded) == (1, 3, 3, 0)
    assert lib.folder_counts() == ({str(root): 2, str(root / "sub"): 1}, 0)
    assert not lib.model_loaded


def test_a_rescan_with_nothing_new_never_loads_the_model(make_library, tmp_path: Path) -> None:
    lib = make_library()
    root = photos(tmp_path / "photos", "a.jpg", "b.jpg", "c.jpg")
    walk(lib, root)
    as_scanned(lib)

    summary = lib.scan(read_text=False)

    assert (summary.unchanged, summary.new, summary.embedded) == (3, 0, 0)
    assert not lib.model_loaded
    assert lib.index.count == 3


def test_removing_a_folder_says_what_it_forgets_and_leaves_the_files(
    make_library, tmp_path: Path
) -> None:
    lib = make_library()
    root = photos(tmp_path / "photos", "a.jpg", "b.jpg")
    walk(lib, root)
    as_scanned(lib)
    tagged = lib.photo_ids_for_paths([root / "a.jpg"])[0]
    tagging.set_manual(lib.catalog, tagged, add=["Family"])

    impact = lib.root_removal(root)
    assert (impact.photos, impact.tags) == (2, {"Family": 1})
    assert "adding the folder back restores them" in " ".join(impact.lines())

    assert lib.remove_root(root) == 2
    assert lib.roots() == [] and lib.index.count == 0
    assert (root / "a.jpg").is_file() and (root / "b.jpg").is_file()
    with pytest.raises(LibraryError, match="not a root of this library"):
        lib.remove_root(root)
