"""Originals are never written: checksums of the whole photo tree are identical after a full
session, and every open of a file under it is read-only (seen by a Python audit hook)."""

from __future__ import annotations

import os
import sys

from photosort.core.categories import Category, Label
from photosort.core.export import ExportRequest
from photosort.core.search import SearchQuery
from tests.reliability.helpers import make_photos, tree_digest

_WATCH: dict = {"root": None, "writes": []}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _audit(event: str, args: tuple) -> None:
    root = _WATCH["root"]
    if root is None or event != "open" or not isinstance(args[0], str | bytes):
        return
    path = os.fsdecode(args[0])
    if not path.startswith(root):
        return
    mode, flags = args[1], args[2] if len(args) > 2 else 0
    if (mode and any(c in str(mode) for c in "wax+")) or (flags or 0) & _WRITE_FLAGS:
        _WATCH["writes"].append((path, mode, flags))


sys.addaudithook(_audit)  # hooks cannot be removed; it is inert while no root is watched


def test_full_session_leaves_originals_untouched(make_library, tmp_path):
    root = tmp_path / "photos"
    make_photos(root, 12)
    before = tree_digest(root)
    _WATCH.update(root=str(root) + os.sep, writes=[])
    try:
        lib = make_library()
        lib.scan([root])
        lib.save_category(Category("scene", labels=[Label("red"), Label("blue")]))
        ids = [r[0] for r in lib.catalog.query("SELECT id FROM photos")]
        lib.tag_photos(ids[:6], add=["pick"])
        lib.search(SearchQuery(text="a red ball"))
        lib.search(SearchQuery(image=str(sorted(root.rglob("*.jpg"))[0])))
        out = tmp_path / "export"
        summary = lib.export(ExportRequest(["pick"], str(out), "copy", xmp=True))
        assert summary.done == 6
        lib.scan()
        lib.close()
    finally:
        _WATCH["root"] = None
    assert _WATCH["writes"] == []
    assert tree_digest(root) == before
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == sorted(
        os.path.basename(p) for p in before
    )
