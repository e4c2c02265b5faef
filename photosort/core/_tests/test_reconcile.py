"""Reconcile: the catalog follows the disk without losing what the user made. A moved file
keeps its tags and vector, a touched one its vector, and an unplugged drive or a cancelled
walk forgets nothing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import draw_photo
from photosort.core import tagging
from photosort.core.catalog import Catalog
from photosort.core.imaging import PhotoMeta
from photosort.core.pipeline import EmbedJob, Prepared, _store_batch
from photosort.core.reconcile import reconcile
from photosort.core.scanner import hash_file

MODEL = "local:test:0"


@pytest.fixture
def walked(tmp_path: Path):
    """A root of three photos, walked and stored as an embedding pass leaves them."""
    root = tmp_path / "photos"
    for i, name in enumerate(("a.jpg", "b.jpg", "c.jpg")):
        draw_photo(root / name, seed=i, size=(32, 24))
    cat = Catalog(tmp_path / "catalog.sqlite")
    root_id = cat.add_root(str(root))
    assert reconcile(cat, [(root_id, str(root))]).new == 3
    rows = cat.photos_in_root(root_id).values()
    prepared = [
        Prepared(
            EmbedJob(r.id, r.path),
            meta=PhotoMeta(32, 24),
            content_hash=hash_file(r.path),
            size=r.size,
            mtime_ns=r.mtime_ns,
        )
        for r in rows
    ]
    vectors = np.eye(3, 4, dtype=np.float32)
    _store_batch(cat, MODEL, prepared, vectors, [])
    yield cat, [(root_id, str(root))], root
    cat.close()


def test_a_moved_file_keeps_its_tags_and_its_vector(walked) -> None:
    cat, roots, root = walked
    before = cat.photo_by_path(str(root / "a.jpg"))
    assert before is not None
    tagging.set_manual(cat, [before.id], add=["Holiday"])
    vector = cat.vector_of(before.id, MODEL)
    (root / "2024").mkdir()
    os.rename(root / "a.jpg", root / "2024" / "a-renamed.jpg")

    result = reconcile(cat, roots)

    assert (result.moved, result.new, result.removed) == (1, 0, 0)
    after = cat.photo_by_path(str(root / "2024" / "a-renamed.jpg"))
    assert after is not None and after.id == before.id and after.status == "ok"
    assert after.folder == str(root / "2024")
    tags = tagging.photo_tags(cat, [after.id])[after.id]
    assert [t.name for t in tags] == ["Holiday"]
    assert np.array_equal(cat.vector_of(after.id, MODEL), vector)


def test_a_touched_file_keeps_its_vector_and_a_changed_one_is_embedded_again(walked) -> None:
    cat, roots, root = walked
    stamp = os.stat(root / "a.jpg").st_mtime_ns + 5_000_000_000
    os.utime(root / "a.jpg", ns=(stamp, stamp))  # a sync tool touched it
    draw_photo(root / "b.jpg", seed=99, size=(32, 24))  # an edit changed it
    os.utime(root / "b.jpg", ns=(stamp, stamp))  # later, even on a coarse-clock disk

    result = reconcile(cat, roots)

    assert (result.unchanged, result.touched, result.updated) == (2, 1, 1)
    touched, edited = cat.photo_by_path(str(root / "a.jpg")), cat.photo_by_path(str(root / "b.jpg"))
    assert touched is not None and edited is not None
    assert (touched.status, touched.mtime_ns) == ("ok", stamp)
    assert edited.status == "pending"
    assert [r["path"] for r in cat.photos_needing_embedding(MODEL)] == [str(root / "b.jpg")]


def test_a_deleted_file_is_forgotten(walked) -> None:
    cat, roots, root = walked
    gone = cat.photo_by_path(str(root / "c.jpg"))
    assert gone is not None
    (root / "c.jpg").unlink()
    result = reconcile(cat, roots)
    assert (result.removed, result.removed_ids) == (1, [gone.id])
    assert cat.photo_by_path(str(root / "c.jpg")) is None
    assert cat.count_vectors(MODEL) == 2


def test_an_unplugged_or_emptied_root_keeps_its_photos(walked) -> None:
    cat, roots, root = walked
    shutil.move(root, root.with_name("elsewhere"))
    missing = reconcile(cat, roots)
    assert missing.removed == 0
    assert "missing or not mounted: kept its 3 photos" in missing.warnings[0]

    root.mkdir()  # the mount point is there, the drive is not
    empty = reconcile(cat, roots)
    assert empty.removed == 0
    assert "empty (unmounted drive?): kept its 3 photos" in empty.warnings[0]
    assert cat.scalar("SELECT COUNT(*) FROM photos") == 3


def test_a_cancelled_walk_changes_nothing(walked) -> None:
    cat, roots, root = walked
    (root / "a.jpg").unlink()
    draw_photo(root / "new.jpg", seed=7, size=(32, 24))
    result = reconcile(cat, roots, should_cancel=lambda: True)
    assert (result.new, result.removed) == (0, 0)
    assert cat.photo_by_path(str(root / "a.jpg")) is not None
    assert cat.photo_by_path(str(root / "new.jpg")) is None


def test_a_file_reached_through_a_link_inside_the_root_is_one_photo(walked) -> None:
    cat, roots, root = walked
    (root / "link.jpg").symlink_to(root / "a.jpg")
    result = reconcile(cat, roots)
    assert result.new == 0
    assert any("same file as" in issue.reason for issue in result.issues)
    assert cat.photo_by_path(str(root / "link.jpg")) is None
