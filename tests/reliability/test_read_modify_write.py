"""Issue 11, finding 11: every read-modify-write of the catalog happens in one transaction.

Concurrent ``photosort categories add`` used to read the category, add its label and write
the whole category back: the last writer won and 8 of 12 labels survived.
"""

from __future__ import annotations

import threading
import time

from photosort.cli import main
from photosort.core import categories as category_store


def test_concurrent_categories_add_keeps_every_label(make_library, tiny_model, monkeypatch):
    lib = make_library()
    folder = lib.folder
    lib.close()
    real_load = category_store.load

    def slow_load(source):  # widen the window between reading and writing
        out = real_load(source)
        time.sleep(0.2)
        return out

    monkeypatch.setattr(category_store, "load", slow_load)
    n = 6
    codes: list[int] = []
    start = threading.Barrier(n)

    def add(i: int) -> None:
        start.wait()
        codes.append(
            main(
                [
                    "categories",
                    "add",
                    "my things",
                    "--label",
                    f"thing{i}",
                    "--library",
                    str(folder),
                    "--model",
                    tiny_model,
                    "--device",
                    "cpu",
                ]
            )
        )

    threads = [threading.Thread(target=add, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert codes == [0] * n
    monkeypatch.setattr(category_store, "load", real_load)
    things = next(c for c in make_library(folder).categories() if c.name == "my things")
    assert sorted(lab.name for lab in things.labels) == sorted(f"thing{i}" for i in range(n))


def test_autotag_beside_a_category_edit_never_writes_a_removed_label(make_library, tmp_path):
    """Re-tagging reads label ids, then a category edit deletes one: the write must notice
    (a foreign-key error, a traceback, before) and tag with what exists now."""
    from photosort.core.categories import Category, Label
    from tests.reliability.helpers import make_photos

    root = tmp_path / "photos"
    make_photos(root, 4, folders=1)
    lib = make_library()
    lib.scan([root])
    lib.save_category(Category("scene", labels=[Label("red"), Label("blue")]))
    other = make_library(lib.folder)
    cats = lib.categories()
    other.save_category(Category("scene", labels=[Label("red")]))  # "blue" is gone
    summary = lib._autotag(cats)  # the caller's view is stale
    assert not summary.cancelled
    labels = {r[0] for r in lib.catalog.query("SELECT label_id FROM auto_tags")}
    alive = {r[0] for r in lib.catalog.query("SELECT id FROM labels")}
    assert labels <= alive
