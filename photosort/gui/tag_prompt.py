"""Guards against tagging by accident: an empty tag prompt, and typing that goes to search.

Issue 11 #4: with the grid focused, a user typing a path pressed "t" (then a bare-letter
shortcut), got an Add tag dialog with a tag already chosen, and Enter tagged 328 photos.
Here the prompt starts empty, and printable keys typed into the grid go to the search bar.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QInputDialog, QLineEdit, QWidget


def tag_dialog(
    parent: QWidget | None, title: str, label: str, names: list[str], editable: bool = False
) -> QInputDialog:
    """A tag chooser with nothing chosen: Enter on it alone can never tag anything."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setLabelText(label)
    dialog.setComboBoxItems(names)
    dialog.setComboBoxEditable(True)  # an empty entry is only possible in an editable box
    dialog.setTextValue("")
    if not editable:
        dialog.setProperty("choices_only", True)
    return dialog


def ask_tag(
    parent: QWidget | None, title: str, label: str, names: list[str], editable: bool = False
) -> str | None:
    """The tag the user typed or picked (one of ``names`` unless ``editable``), or None."""
    dialog = tag_dialog(parent, title, label, names, editable)
    try:
        if not dialog.exec():
            return None
        name = dialog.textValue().strip()
    finally:
        dialog.deleteLater()
    if not name or (not editable and name not in names):
        return None
    return name


class TypeToSearch(QObject):
    """Printable keys typed into ``view`` go to the search box instead (plain or shifted)."""

    def __init__(self, view: QAbstractItemView, edit: QLineEdit):
        super().__init__(view)
        self.edit = edit
        view.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() not in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            return False
        assert isinstance(event, QKeyEvent)
        text = event.text()
        mods = event.modifiers() & ~Qt.KeyboardModifier.ShiftModifier
        mods &= ~Qt.KeyboardModifier.KeypadModifier
        if not text or not text.isprintable() or text.isspace() or mods:
            return False
        if event.type() == QEvent.Type.ShortcutOverride:
            event.accept()  # the key is text here: no shortcut may take it
            return True
        self.edit.setFocus()
        self.edit.insert(text)
        self.edit.textEdited.emit(self.edit.text())  # as if typed there: search as you type
        return True
