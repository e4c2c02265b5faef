"""The app indexes photos that appear, move or vanish in its folders while it is open."""

from __future__ import annotations

import os
import time

from conftest import draw_photo
from tests.gui.conftest import wait_idle


def test_new_and_deleted_photos_show_up_while_the_app_runs(
    qtbot, make_window, make_library, photo_tree
):
    lib = make_library()
    lib.scan([photo_tree])
    window = make_window(lib)
    assert window.watching.watcher is not None
    assert window.grid.model().rowCount() == 12
    time.sleep(0.5)  # the watcher's threads are up

    started = time.monotonic()
    for i in range(30):  # a burst: one background scan, the window stays responsive
        draw_photo(photo_tree / "new" / f"burst_{i:02d}.jpg", seed=300 + i)
    (photo_tree / "family" / "img_00.jpg").unlink()
    os.rename(photo_tree / "trips" / "img_01.png", photo_tree / "new" / "img_01.png")

    def indexed() -> None:
        assert window.grid.model().rowCount() == 12 + 30 - 1
        assert not window.loading and window.bulk_task is None

    qtbot.waitUntil(indexed, timeout=60000)
    assert time.monotonic() - started < 60
    summary = window.last_summary
    assert summary is not None
    wait_idle(qtbot, window)
    paths = set(lib.catalog.query("SELECT path FROM photos").__iter__())
    assert any(str(p[0]).endswith(os.path.join("new", "img_01.png")) for p in paths)
