"""The details panel says where the sun was when the selected photo was taken."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")


def test_details_panel_shows_the_sun_line(qtbot, make_library, tmp_path):
    from photosort.gui.details import DetailsPanel
    from photosort.gui.library_data import load_photo_info
    from tests.fixtures.sun_scenes import write_sun_set

    photos = write_sun_set(tmp_path / "photos", per_kind=1, seed=5, kinds=("exif offset",))
    lib = make_library()
    lib.scan([tmp_path / "photos"])
    ids, _ = lib.photo_ids_for_paths([p.path for p in photos])
    panel = DetailsPanel()
    qtbot.addWidget(panel)

    panel.show_info(load_photo_info(lib, ids[:1]))
    text = panel.sun_label.text()
    assert text.startswith("Sun ") and "the horizon" in text, text
    assert text.endswith("(EXIF time and GPS)")
    assert ("sunrise" in text or "sunset" in text) or "polar" in text or "midnight" in text

    panel.show_info(load_photo_info(lib, ids[:2]))  # a selection has no single sun
    assert panel.sun_label.text() == "—"
