"""File ▸ Import Spark index…: a cluster's index shows in the grid as if scanned (issue 20)."""

from __future__ import annotations

import os

from photosort.core._tests.test_archive_import import _cluster_rows, _write
from tests.gui.conftest import N_PHOTOS, wait_idle


def test_an_imported_spark_index_browses_like_a_scan(
    make_window, library, generated_photos, tmp_path, qtbot, tiny_model
):
    from photosort.core.library import Library
    from photosort.gui.spark_import import import_spark_index

    local = os.path.realpath(generated_photos[0].path.parents[1])
    out = _write(_cluster_rows(library, "s3a://bucket/photos", local), tmp_path / "out")
    fresh = Library(tmp_path / "fresh", model=tiny_model, device="cpu")
    try:
        window = make_window(fresh)
        assert window.grid.photo_model.rowCount() == 0
        assert import_spark_index(window, out, f"s3a://bucket/photos={local}")
        qtbot.waitUntil(lambda: window.bulk_task is None, timeout=60000)
        wait_idle(qtbot, window)
        assert window.grid.photo_model.rowCount() == N_PHOTOS
        assert f"Import: {N_PHOTOS} imported" in window.statusBar().currentMessage()
    finally:
        fresh.close()
