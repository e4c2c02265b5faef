"""Exporting tagged photos: folders, manifest, collisions, hostile names, move safety, XMP."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from conftest import draw_photo
from photosort.core import export as exporter
from photosort.core.export import ExportRequest, moving
from photosort.core.xmp import read_tags

TAGS = ["dusk", "night", "beach trip"]
N = 4


@pytest.fixture
def library(make_library, tmp_path):
    """Photos with manual tags: 3 tags × N photos, one photo in two tags, two same names."""
    root = tmp_path / "photos"
    paths = []
    for i in range(3 * N):
        paths.append(draw_photo(root / f"album{i % 2}" / f"IMG_{i // 2:03d}.jpg", seed=300 + i))
    lib = make_library()
    lib.scan([root])
    for category in lib.categories():  # only the manual tags below, whatever the model sees
        lib.remove_category(category.name)
    ids = {p: lib.catalog.photo_by_path(str(p)).id for p in paths}
    for k, tag in enumerate(TAGS):
        lib.tag_photos([ids[p] for p in paths[k * N : (k + 1) * N]], add=[tag])
    lib.tag_photos([ids[paths[0]]], add=["night"])  # in two folders
    return lib, root, paths, ids


def _manifest(path: str) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_copy_by_tag_matches_the_manifest_byte_for_byte(library, tmp_path):
    lib, root, paths, ids = library
    before = _tree(root)
    dest = tmp_path / "out"
    reports = []
    summary = lib.export(ExportRequest(TAGS, dest), on_progress=reports.append)
    assert summary.failed == 0 and summary.done == 3 * N + 1
    rows = _manifest(summary.manifest)
    assert len(rows) == 3 * N + 1
    assert {r["tag"] for r in rows} == set(TAGS) and {r["mode"] for r in rows} == {"copy"}
    for r in rows:
        src, dst = Path(r["source"]), Path(r["destination"])
        assert dst.read_bytes() == src.read_bytes()
        assert dst.parent == dest / r["tag"]
        assert os.stat(dst).st_mtime_ns == os.stat(src).st_mtime_ns  # timestamps kept
    exported = {p for p in _tree(dest) if p != "manifest.csv"}
    assert exported == {str(Path(r["destination"]).relative_to(dest)) for r in rows}
    # two originals called IMG_000.jpg (album0, album1) in one tag folder: a suffix, no loss
    assert (dest / "dusk" / "IMG_000.jpg").exists() and (dest / "dusk" / "IMG_000 (2).jpg").exists()
    assert reports and reports[-1].phase == "exporting" and reports[-1].done == 3 * N + 1
    assert _tree(root) == before  # originals untouched
    assert "copied" in summary.line()


def test_existing_files_are_never_overwritten(library, tmp_path):
    lib, _, paths, _ = library
    dest = tmp_path / "out"
    (dest / "dusk").mkdir(parents=True)
    (dest / "dusk" / "IMG_000.jpg").write_bytes(b"mine")
    (dest / "manifest.csv").write_text("an older manifest")
    summary = lib.export(ExportRequest(["dusk"], dest))
    assert (dest / "dusk" / "IMG_000.jpg").read_bytes() == b"mine"
    assert (dest / "manifest.csv").read_text() == "an older manifest"
    assert Path(summary.manifest).name == "manifest (2).csv"
    dsts = [r["destination"] for r in _manifest(summary.manifest)]
    assert str(dest / "dusk" / "IMG_000 (2).jpg") in dsts
    assert len(dsts) == len(set(dsts)) == N
    # exporting again copies nothing: every photo is already there, identical
    again = lib.export(ExportRequest(["dusk"], dest))
    assert again.done == 0 and again.skipped == N and "4 already there" in again.line()
    assert len(list((dest / "dusk").iterdir())) == 1 + N


@pytest.mark.parametrize("mode", ["hardlink", "symlink"])
def test_link_modes(library, tmp_path, mode):
    lib, _, _, _ = library
    dest = tmp_path / mode
    summary = lib.export(ExportRequest(["night"], dest, mode=mode))
    assert summary.done == N + 1
    for r in _manifest(summary.manifest):
        dst = Path(r["destination"])
        if mode == "symlink":
            assert dst.is_symlink() and os.path.samefile(dst, r["source"])
        else:
            assert not dst.is_symlink() and os.path.samefile(dst, r["source"])


def test_flat_layout_puts_each_photo_once(library, tmp_path):
    lib, _, _, _ = library
    dest = tmp_path / "flat"
    summary = lib.export(ExportRequest(["dusk", "night"], dest, layout="flat"))
    assert summary.done == 2 * N  # the photo with both tags once
    rows = _manifest(summary.manifest)
    assert all(Path(r["destination"]).parent == dest for r in rows)
    assert any(r["tag"] == "dusk; night" for r in rows)


def test_hostile_tag_names_stay_inside(library, tmp_path):
    lib, _, paths, ids = library
    hostile = ["../x", "CON", "a/b", "y" * 300, "🌅 dusk 🌃", "..", "nul.txt", ".", "c:\\d"]
    outside_before = set(os.listdir(tmp_path))
    lib.tag_photos([ids[paths[0]]], add=hostile)
    wanted = hostile
    dest = tmp_path / "out"
    summary = lib.export(ExportRequest(wanted, dest))
    assert summary.failed == 0 and summary.done == len(wanted)
    real = os.path.realpath(dest)
    for item in summary.items:
        assert os.path.commonpath([os.path.realpath(item.destination), real]) == real
        folder = Path(item.destination).parent
        assert folder.parent == dest
        assert len(folder.name.encode()) <= exporter.MAX_NAME_BYTES
    names = {Path(i.destination).parent.name for i in summary.items}
    assert "_CON" in names and "🌅 dusk 🌃" in names and "a_b" in names and "_x" in names
    assert set(os.listdir(tmp_path)) == outside_before | {"out"}


def test_a_symlinked_tag_folder_is_not_followed_out(library, tmp_path):
    lib, _, _, _ = library
    dest = tmp_path / "out"
    dest.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, dest / "dusk")
    summary = lib.export(ExportRequest(["dusk"], dest))
    assert summary.failed == N and summary.done == 0
    assert list(elsewhere.iterdir()) == []


def test_dry_run_writes_nothing(library, tmp_path):
    lib, root, _, _ = library
    before = _tree(root)
    dest = tmp_path / "out"
    summary = lib.export(ExportRequest(TAGS, dest, mode="move", dry_run=True, xmp=True))
    assert len(summary.items) == 3 * N  # move: each photo once
    assert all(i.status == "planned" for i in summary.items)
    assert not dest.exists()
    assert _tree(root) == before
    assert summary.line().startswith("dry run")


def test_move_updates_the_catalog_and_keeps_tags(library, tmp_path):
    lib, root, paths, ids = library
    dest = tmp_path / "moved"
    summary = lib.export(ExportRequest(["beach trip"], dest, mode="move"))
    assert summary.done == N
    for item in summary.items:
        assert not os.path.exists(item.source)
        assert os.path.exists(item.destination)
        assert lib.catalog.photo_by_path(item.destination).id == item.photo_id
        assert "beach trip" in {t.name for t in lib.photo_tags([item.photo_id])[item.photo_id]}
    rescan = lib.scan()
    assert (rescan.removed, rescan.new, rescan.embedded) == (0, 0, 0)
    assert lib.status().photos == 3 * N
    # moving again: photos already in place stay put (no "name (2)" renames)
    again = lib.export(ExportRequest(["beach trip"], dest, mode="move"))
    assert again.done == 0 and all(i.status == "skipped" for i in again.items)
    assert sorted(p.name for p in (dest / "beach trip").iterdir() if p.suffix == ".jpg") == sorted(
        Path(i.destination).name for i in summary.items
    )
    assert not lib.catalog.scalar("SELECT COUNT(*) FROM move_journal")


@pytest.mark.parametrize("step", ["link", "catalog", "unlink"])
def test_a_move_with_an_injected_failure_loses_nothing(library, tmp_path, monkeypatch, step):
    lib, root, paths, ids = library
    before = _tree(root)
    victim = str(paths[2 * N + 1])  # second "beach trip" photo

    if step == "link":  # neither a link nor a copy can be made
        real_link, real_copy = os.link, moving._copy_to_new

        def bad_link(src, dst, *a, **k):
            if os.fspath(src) == victim:
                raise OSError(28, "No space left on device", os.fspath(dst))
            return real_link(src, dst, *a, **k)

        def bad_copy(src, target):
            if os.fspath(src) == victim:
                with open(target, "xb") as fh:  # a partial copy, then the disk is full
                    fh.write(b"partial")
                raise OSError(28, "No space left on device", target)
            return real_copy(src, target)

        monkeypatch.setattr(exporter.os, "link", bad_link)
        monkeypatch.setattr(moving, "_copy_to_new", bad_copy)
    elif step == "catalog":
        real_update = moving.update_catalog_path

        def bad_update(catalog, photo_id, old, new, root_id):
            if old == victim:
                raise exporter.ExportError("catalog is busy")
            return real_update(catalog, photo_id, old, new, root_id)

        monkeypatch.setattr(moving, "update_catalog_path", bad_update)
    else:
        real_remove = moving.remove_original

        def bad_remove(path):
            if path == victim:
                raise PermissionError(13, "Permission denied", path)
            return real_remove(path)

        monkeypatch.setattr(moving, "remove_original", bad_remove)

    dest = tmp_path / "moved"
    summary = lib.export(ExportRequest(["beach trip"], dest, mode="move"))
    assert summary.failed == 1 and summary.done == N - 1
    failed = next(i for i in summary.items if i.status == "failed")
    assert failed.source == victim and failed.error
    # the victim is where it was, unchanged, and the catalog still points at it
    assert Path(victim).read_bytes() == before[str(Path(victim).relative_to(root))]
    assert lib.catalog.photo_by_path(victim).id == ids[Path(victim)]
    # nothing of it was left in the destination, and the manifest lists only real moves
    rows = _manifest(summary.manifest)
    assert victim not in {r["source"] for r in rows} and len(rows) == N - 1
    for r in rows:
        assert Path(r["destination"]).exists() and not Path(r["source"]).exists()
    assert len(list((dest / "beach trip").iterdir())) == N - 1  # no temp, no duplicate
    assert not lib.catalog.scalar("SELECT COUNT(*) FROM move_journal")
    # every photo still exists exactly once on disk where the catalog says
    for pid in ids.values():
        assert os.path.exists(lib.photo_details([pid])[pid]["path"])


def test_cancel_stops_between_files_and_the_manifest_is_true(library, tmp_path):
    lib, _, _, _ = library
    reports = []
    summary = lib.export(
        ExportRequest(TAGS, tmp_path / "out"),
        on_progress=reports.append,
        should_cancel=lambda: any(r.done >= 3 for r in reports),
    )
    assert summary.cancelled and summary.done == 3
    assert len(_manifest(summary.manifest)) == 3
    assert summary.line().startswith("cancelled")


def test_xmp_next_to_exported_copies(library, tmp_path):
    lib, root, paths, ids = library
    dest = tmp_path / "out"
    summary = lib.export(ExportRequest(["night"], dest, xmp=True))
    for item in summary.items:
        sidecar = Path(item.destination + ".xmp")
        expected = {
            t.name for t in lib.photo_tags([item.photo_id])[item.photo_id] if t.state == "on"
        }
        assert set(read_tags(sidecar)) == expected and "night" in expected
    assert not list(root.rglob("*.xmp"))  # nothing beside the originals


def test_xmp_next_to_originals_only_on_request(library):
    lib, root, paths, ids = library
    before = _tree(root)
    summary = lib.write_xmp_sidecars()
    assert summary.written == len(paths) and not summary.failures
    for p in paths:
        pid = ids[p]
        expected = [t.name for t in lib.photo_tags([pid])[pid] if t.state == "on"]
        assert read_tags(str(p) + ".xmp") == expected
        assert p.read_bytes() == before[str(p.relative_to(root))]
    lib.tag_photos([ids[paths[0]]], add=["later"])
    again = lib.write_xmp_sidecars([ids[paths[0]]])
    assert again.updated == 1 and "later" in read_tags(str(paths[0]) + ".xmp")


def test_bad_requests(library, tmp_path):
    lib, _, _, _ = library
    afile = tmp_path / "file"
    afile.write_text("x")
    for request, message in [
        (ExportRequest([], tmp_path), "at least one tag"),
        (ExportRequest(["dusk"], tmp_path, mode="teleport"), "unknown mode"),
        (ExportRequest(["dusk"], tmp_path, layout="nested"), "unknown layout"),
        (ExportRequest(["dusk"], afile), "not a folder"),
    ]:
        with pytest.raises(exporter.ExportError, match=message):
            lib.export(request)
