"""Screenshots (cheap): into tmp, or into docs/screenshots with PHOTOSORT_SCREENSHOTS=1."""

from __future__ import annotations

import os

from PySide6.QtGui import QImage

from tests.gui.screenshots import DOCS, save_screenshots


def test_screenshots(make_window, library, qtbot, tmp_path):
    window = make_window(library)
    folder = DOCS if os.environ.get("PHOTOSORT_SCREENSHOTS") == "1" else tmp_path / "shots"
    shots = save_screenshots(qtbot, window, folder)
    assert [p.name for p in shots] == ["main_window.png", "search.png", "category_editor.png"]
    for path in shots:
        image = QImage(str(path))
        assert image.width() > 800 and image.height() > 500
