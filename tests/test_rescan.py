"""Rescans in a blink: nothing new means no model, and a touched file keeps its vector."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from photosort.core.search import SearchQuery


def _scan_in_fresh_process(library: Path, model: str, photos: Path) -> str:
    """``photosort scan`` as a user runs it; prints which heavy modules it imported."""
    code = (
        "import sys\n"
        "from photosort.cli import main\n"
        f"rc = main(['--library', {str(library)!r}, '--model', {model!r}, '--device', 'cpu',"
        f" 'scan', {str(photos)!r}])\n"
        "heavy = ('torch', 'open_clip', 'faiss', 'onnxruntime', 'numpy', 'PIL.Image',\n"
        "         'photosort.core.tagging', 'photosort.core.export', 'photosort.core.duplicates')\n"
        "print('LOADED', sorted(m for m in heavy if m in sys.modules), rc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return next(line for line in out.stdout.splitlines() if line.startswith("LOADED"))


def test_a_rescan_with_nothing_new_never_loads_the_model(make_library, tiny_model, photo_tree):
    """Nor numpy (0.1-0.2 s of a cold start; issue 13): the walk, the compare, the keyword
    signatures and the text stage's "nothing to read" need none of them. Nor Pillow, the
    tagging package, export (no half-done move) or duplicates (20-50 ms together)."""
    lib = make_library()
    assert lib.scan([photo_tree]).embedded == 12
    lib.close()

    again = _scan_in_fresh_process(lib.folder, tiny_model, photo_tree)
    assert again == "LOADED [] 0"


def test_a_touched_but_identical_file_keeps_its_vector(make_library, photo_tree):
    lib = make_library()
    assert lib.scan([photo_tree]).embedded == 12
    target = photo_tree / "family" / "img_00.jpg"
    row = lib.catalog.photo_by_path(str(target))
    vector = lib.catalog.vector_of(row.id, lib.model_id)
    tags = lib.photo_tags([row.id])
    os.utime(target, ns=(1, row.mtime_ns + 5_000_000_000))  # `touch`: new mtime, same bytes

    lib2 = make_library()  # a fresh process's view: the model is not loaded yet
    rescan = lib2.scan([photo_tree])
    assert (rescan.embedded, rescan.updated, rescan.unchanged) == (0, 0, 12)
    assert not lib2.model_loaded
    after = lib2.catalog.photo_by_path(str(target))
    assert after.mtime_ns == row.mtime_ns + 5_000_000_000  # no hashing again next time
    assert after.status == "ok"
    assert np.array_equal(lib2.catalog.vector_of(row.id, lib2.model_id), vector)
    assert lib2.photo_tags([row.id]) == tags


def test_same_size_new_content_is_embedded_again(make_library, photo_tree):
    lib = make_library()
    lib.scan([photo_tree])
    target = photo_tree / "family" / "img_00.jpg"
    row = lib.catalog.photo_by_path(str(target))
    data = bytearray(target.read_bytes())
    data[-3] ^= 0xFF  # same size, other bytes (inside the JPEG's last scan data)
    target.write_bytes(bytes(data))
    rescan = lib.scan([photo_tree])
    assert (rescan.updated, rescan.embedded) == (1, 1)
    assert lib.catalog.photo_by_path(str(target)).content_hash != row.content_hash


@pytest.mark.slow  # two scans and two re-tags: 10-30 s on the shared build machine
def test_a_scan_that_adds_photos_retags_only_those(make_library, photo_tree):
    """Issue 13: adding 1,000 photos to a 1M library must not re-tag the million. The scan
    reports the photos it changed, re-tags them alone, and leaves the library exactly as
    a full re-tag would."""
    from conftest import draw_photo

    lib = make_library()
    assert lib.scan([photo_tree], read_text=False).embedded == 12
    old_ids = lib.browse()
    old_tags = lib.photo_tags(old_ids)
    for i in range(12, 15):
        draw_photo(photo_tree / "new" / f"img_{i:02d}.jpg", seed=i)
    (photo_tree / "trips" / "img_01.png").unlink()

    rescan = lib.scan([photo_tree], read_text=False)
    assert (rescan.new, rescan.removed, rescan.embedded) == (3, 1, 3)
    new_ids = sorted(set(lib.browse()) - set(old_ids))
    assert sorted(set(rescan.changed_ids)) == new_ids
    kept = [i for i in old_ids if i in set(lib.browse())]
    assert lib.photo_tags(kept) == {i: old_tags[i] for i in kept}
    assert any(old_tags.values())  # the default categories tag these photos
    full = lib.autotag()  # what re-tagging everything would change: nothing
    assert (full.photos, full.added, full.removed, full.changed) == (14, 0, 0, 0)
    assert lib.autotag(photo_ids=new_ids).photos == 3


def test_a_killed_save_leaves_no_temp_file_behind(make_library, photo_tree):
    """A scan appends to the index file every few MB through a temp file as big as the
    index; a kill in between leaves it, and the next writer deletes it (a reader never)."""
    lib = make_library()
    lib.scan([photo_tree])
    leftover = lib.folder / "vectors.faiss.x1y2z3.tmp"
    leftover.write_bytes(b"\0" * 4096)  # what a killed append leaves
    lib.close()
    reader = make_library(lib.folder, read_only=True)
    assert reader.search(SearchQuery(text="a red ball", top=3))
    assert leftover.exists()  # a reader touches nothing
    reader.close()
    lib = make_library(lib.folder)
    lib.scan([photo_tree])  # nothing new: still a writer
    assert not leftover.exists()
    assert (lib.folder / "vectors.faiss").exists()
