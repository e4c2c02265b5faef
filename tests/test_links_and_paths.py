"""Issue 11, findings 10 and 13: one folder is one root whatever path reaches it, and a
symlink never leads photosort out of a root unless the user asked for it."""

from __future__ import annotations

import os
from pathlib import Path

from photosort.core.export import ExportRequest
from tests.reliability.helpers import make_photos


def test_the_same_folder_by_other_paths_is_indexed_once(make_library, tmp_path):
    root = tmp_path / "Pictures"
    make_photos(root, 4, folders=2)
    link = tmp_path / "link-to-pictures"
    link.symlink_to(root)
    lib = make_library()
    lib.scan([root])
    doubled = "/" + str(root)  # //tmp/.../Pictures
    lib.scan([link])
    lib.scan([doubled])
    lib.scan([str(root) + "/./d0/.."])
    assert [r["path"] for r in lib.roots()] == [str(root)]
    assert lib.status().photos == 4
    assert lib.remove_root(link) == 4  # a root can be named the way it was added


def test_a_second_path_to_files_inside_a_root_is_skipped(make_library, tmp_path):
    """A link inside a root to another root's folder (or a bind mount: same device and
    inode), and a hard link: the file identity decides, not the path."""
    a, b = tmp_path / "a", tmp_path / "b"
    make_photos(a, 3, folders=1)
    make_photos(b, 2, seed=50, folders=1)
    (b / "also-a").symlink_to(a / "d0")  # stays inside tmp_path, but outside b
    os.link(a / "d0" / "p0000.jpg", b / "hardlinked.jpg")
    lib = make_library()
    lib.scan([a, b], follow_links=True)
    paths = sorted(r[0] for r in lib.catalog.query("SELECT path FROM photos"))
    assert len(paths) == 5, paths
    assert not any("also-a" in p or "hardlinked" in p for p in paths)
    results = lib.browse()
    assert len(results) == len(set(results)) == 5


def test_an_existing_duplicate_is_cleaned_up_by_the_next_scan(make_library, tmp_path):
    root = tmp_path / "photos"
    make_photos(root, 3, folders=1)
    link = tmp_path / "again"
    link.symlink_to(root)
    lib = make_library()
    lib.scan([root])
    lib.catalog.add_root(str(link))  # what older versions did
    lib.scan()
    assert lib.status().photos == 3


def test_symlinks_out_of_a_root_are_not_followed(make_library, tmp_path):
    root = tmp_path / "photos"
    make_photos(root, 2, folders=1)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "shadow").write_text("root:$6$hash:19000:0:99999:7:::\n")
    make_photos(secret / "private", 1, seed=90, folders=1)
    (root / "shadow.jpg").symlink_to(secret / "shadow")
    (root / "elsewhere").symlink_to(secret / "private")
    (root / "inside.jpg").symlink_to(root / "d0" / "p0000.jpg")  # stays inside: fine
    lib = make_library()
    summary = lib.scan([root])
    paths = {r[0] for r in lib.catalog.query("SELECT path FROM photos")}
    assert not any("shadow" in p or "elsewhere" in p for p in paths)
    reasons = {Path(i.path).name: i.reason for i in summary.issues}
    assert "outside the folder" in reasons["shadow.jpg"]
    assert "outside the folder" in reasons["elsewhere"]
    assert sorted(Path(p).name for p in paths) == ["p0000.jpg", "p0001.jpg"]  # not inside.jpg

    # Asked for: the folder remembers it, and a plain rescan keeps those photos.
    lib.scan([root], follow_links=True)
    assert len(lib.browse()) == 3  # shadow.jpg is in too now, as a failed (non-)photo
    lib.scan()
    assert len(lib.browse()) == 3


def test_export_never_copies_what_is_not_a_photo(make_library, tmp_path):
    root = tmp_path / "photos"
    make_photos(root, 2, folders=1)
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$hash:19000:0:99999:7:::\n")
    lib = make_library()
    lib.scan([root])
    # What an older version left in a catalog: a link out of the root, tagged by folder.
    link = root / "d0" / "shadow.jpg"
    link.symlink_to(secret)
    rid = lib.roots()[0]["id"]
    with lib.catalog.transaction() as conn:
        conn.execute(
            "INSERT INTO photos (root_id, path, folder, size, mtime_ns, status, error, "
            "added_at, updated_at) VALUES (?, ?, ?, 1, 1, 'failed', 'not an image', '', '')",
            (rid, str(link), str(link.parent)),
        )
        conn.execute(
            "INSERT INTO photos (root_id, path, folder, size, mtime_ns, status, "
            "added_at, updated_at) VALUES (?, ?, ?, 1, 1, 'ok', '', '')",
            (rid, str(root / "d0" / "ok-link.jpg"), str(root / "d0")),
        )
    (root / "d0" / "ok-link.jpg").symlink_to(secret)
    ids, _ = lib.photo_ids_for_paths([root])
    lib.tag_photos(ids, add=["all"])
    dest = tmp_path / "out"
    summary = lib.export(ExportRequest(["all"], dest))
    exported = sorted(p.name for p in (dest / "all").iterdir())
    assert exported == ["p0000.jpg", "p0001.jpg"]
    failed = {Path(i.source).name: i.error for i in summary.items if i.status == "failed"}
    assert set(failed) == {"shadow.jpg", "ok-link.jpg"}
    assert not any(secret.read_bytes() == p.read_bytes() for p in dest.rglob("*") if p.is_file())
