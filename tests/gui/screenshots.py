"""Screenshots of the main window, a search and the category editor, for the README.

``save_screenshots`` is called by ``test_screenshots.py`` (into a temporary folder, or into
``docs/screenshots`` when ``PHOTOSORT_SCREENSHOTS=1``).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def grab(widget: QWidget, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(path))
    return path


def save_screenshots(qtbot, window, folder: Path) -> list[Path]:
    from photosort.gui.category_editor import CategoryEditor
    from tests.gui.conftest import wait_idle

    shots = []
    window.resize(1360, 840)
    # main window: a photo selected so the details panel shows its tags
    window.grid.select_ids(window.grid.photo_model.ids[1:2])
    qtbot.waitUntil(lambda: window.details.info is not None, timeout=5000)
    qtbot.waitUntil(lambda: window.thumbnails.pending_count() == 0, timeout=10000)
    wait_idle(qtbot, window)
    qtbot.wait(300)  # preview image
    shots.append(grab(window, folder / "main_window.png"))
    # a search
    window.search_bar.set_text("a red ball")
    qtbot.waitUntil(lambda: window.grid.photo_model.has_scores, timeout=10000)
    wait_idle(qtbot, window)
    window.grid.select_ids(window.grid.photo_model.ids[:1])
    qtbot.waitUntil(lambda: window.thumbnails.pending_count() == 0, timeout=10000)
    wait_idle(qtbot, window)
    qtbot.wait(300)
    shots.append(grab(window, folder / "search.png"))
    # the category editor on its first category, first label
    editor = CategoryEditor(window.library, window)
    editor.confirm_close = False
    qtbot.addWidget(editor)
    editor.resize(1100, 660)
    editor.show()
    qtbot.waitUntil(lambda: bool(editor.previews), timeout=10000)
    row = max(
        range(editor.label_table.rowCount()),
        key=lambda r: int(editor.label_table.item(r, 2).text() or 0),
    )
    editor.label_table.setCurrentCell(row, 0)
    qtbot.wait(100)
    shots.append(grab(editor, folder / "category_editor.png"))
    editor.dirty.clear()
    editor.close()
    return shots
