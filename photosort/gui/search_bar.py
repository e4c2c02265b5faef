"""The search bar: text as you type (debounced) and on Enter; drop a photo for an image query."""

from __future__ import annotations

import os

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QToolButton, QWidget

from photosort.core.imaging import SUPPORTED_EXTENSIONS


def _dropped_file(event: QDragEnterEvent | QDropEvent) -> str | None:
    urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
    for url in urls:
        if url.isLocalFile() and os.path.isfile(url.toLocalFile()):
            return url.toLocalFile()
    return None


class SearchBar(QWidget):
    """Emits ``changed`` with the current query; ``text`` and ``image`` are mutually exclusive."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None, debounce_ms: int = 300):
        super().__init__(parent)
        self.image: str | None = None
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText(
            'Search photos: type words ("quoted" words are read in photos), or drop a photo…'
        )
        self.edit.setClearButtonEnabled(True)
        self.edit.setAcceptDrops(False)  # the bar handles drops itself
        self.setAcceptDrops(True)
        self.chip = QToolButton(self)
        self.chip.setVisible(False)
        self.chip.setToolTip("Image query — click to clear")
        self.chip.clicked.connect(self.clear)
        # Words in photos: every typed word is also looked for in the photos' text (not
        # only "quoted" ones), ranked together with the meaning results.
        self.words_toggle = QToolButton(self)
        self.words_toggle.setText("Words in photos")
        self.words_toggle.setCheckable(True)
        self.words_toggle.setToolTip(
            "Also find photos whose text (signs, receipts, screenshots) holds the typed words"
        )
        self.words_toggle.toggled.connect(self._words_toggled)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.chip)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.words_toggle)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self.changed)
        self.edit.textEdited.connect(self._typed)
        self.edit.returnPressed.connect(self._submit)
        self.edit.textChanged.connect(self._maybe_cleared)

    @property
    def text(self) -> str:
        return self.edit.text().strip()

    @property
    def words_in_photos(self) -> bool:
        """Search the typed words in the photos' text too (the toggle is on)."""
        return self.words_toggle.isChecked()

    @property
    def active(self) -> bool:
        return bool(self.text or self.image)

    def set_image(self, path: str) -> None:
        """Search by this photo (drop or "Find similar")."""
        self.image = path
        self.edit.blockSignals(True)
        self.edit.clear()
        self.edit.blockSignals(False)
        self.chip.setText(f"Similar to {os.path.basename(path)}  ✕")
        self.chip.setVisible(True)
        self._debounce.stop()
        self.changed.emit()

    def set_text(self, text: str) -> None:
        self.edit.setText(text)
        self._submit()

    def clear(self) -> None:
        """Back to browsing."""
        had = self.active
        self.image = None
        self.chip.setVisible(False)
        self.edit.blockSignals(True)
        self.edit.clear()
        self.edit.blockSignals(False)
        self._debounce.stop()
        if had:
            self.changed.emit()

    def _words_toggled(self, _on: bool) -> None:
        if self.text:  # the same words, searched another way
            self._debounce.stop()
            self.changed.emit()

    def _typed(self, _text: str) -> None:
        if self.image is not None:
            self.image = None
            self.chip.setVisible(False)
        self._debounce.start()

    def _submit(self) -> None:
        self._debounce.stop()
        if self.image is not None and self.text:
            self.image = None
            self.chip.setVisible(False)
        self.changed.emit()

    def _maybe_cleared(self, text: str) -> None:
        if not text and self.image is None and not self.edit.isModified():
            return
        if not text and self.image is None:
            self._debounce.stop()
            self.changed.emit()  # the clear button was used

    # -- drag and drop --------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        path = _dropped_file(event)
        if path and os.path.splitext(path)[1].lower() in SUPPORTED_EXTENSIONS:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        path = _dropped_file(event)
        if path:
            event.acceptProposedAction()
            self.set_image(path)
