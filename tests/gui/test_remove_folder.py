"""Removing a folder in the app says which manual tags go with it and asks (issue 11 #5)."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.gui.conftest import wait_idle


def answer_next_box(button_text: str, seen: dict) -> None:
    def answer(left: int = 400) -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen["text"] = box.text() + "\n" + box.informativeText()
            seen["default"] = box.defaultButton().text()
            next(b for b in box.buttons() if b.text() == button_text).click()
        elif left:
            QTimer.singleShot(5, lambda: answer(left - 1))

    QTimer.singleShot(0, answer)


def test_remove_folder_names_the_manual_tags_and_asks(make_window, library, qtbot):
    window = make_window(library)
    root = library.roots()[0]["path"]
    ids = window.grid.photo_model.ids[:5]
    library.tag_photos(ids, add=["garden"])
    seen: dict = {}
    answer_next_box("Keep it", seen)
    assert not window.remove_folder(root)
    assert "garden" in seen["text"] and "(5)" in seen["text"]
    assert seen["default"] == "Keep it"  # Enter keeps the folder
    assert library.roots() and len(library.browse()) == len(window.grid.photo_model.ids)

    answer_next_box("Remove folder", seen)
    assert window.remove_folder(root)
    qtbot.waitUntil(lambda: window.bulk_task is None, timeout=30000)
    wait_idle(qtbot, window)
    assert library.roots() == [] and library.browse() == []
    assert window.grid.photo_model.rowCount() == 0
