"""Text in photos, in the app: the search bar's word part, highlights, the text panel.

The search bar searches words in photos for what the user puts in double quotes
(``receipt "ikea"``: the photos that say "ikea", ranked together with those that look
like a receipt), and for every typed word when its "Words in photos" toggle is on; the
preview and the details panel mark the matched words; the details panel shows the
recognised text with a Copy button.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from photosort.core import ocr_store
from photosort.core.library import OFF, Library
from photosort.core.ocr import OcrResult
from photosort.core.search import SearchQuery, SearchResult

if TYPE_CHECKING:
    from photosort.core.library import ScanSummary
    from photosort.gui.main_window import MainWindow


def read_text_after_scan(window: MainWindow, summary: ScanSummary) -> None:
    """The background text stage after a scan, as the window's next job (cancellable, with
    progress in the activity bar); off with $PHOTOSORT_OCR=off, like the CLI's scan."""
    if summary.cancelled or os.environ.get("PHOTOSORT_OCR", "on").lower() in OFF:
        return

    def done(result: ocr_store.OcrSummary) -> None:
        window.statusBar().showMessage(result.line(), 20000)
        window.refresh_all()  # photos now found by their words

    window._start_bulk("Reading text", window.library.read_text, done)


def words_of(bar_text: str, words_in_photos: bool = False) -> str:
    """The words to find in the photos' text: the quoted part of what was typed in the
    search bar, or all of it with the "Words in photos" toggle on ("" when none)."""
    quoted, rest = ocr_store.split_query(bar_text or "")
    words = " ".join(part for part in (quoted, rest) if part) if words_in_photos else quoted
    return words if ocr_store.query_terms(words) else ""


def search(
    library: Library, query: SearchQuery, words_in_photos: bool = False
) -> list[SearchResult]:
    """The window's search: quoted words (every word, with the toggle on) go to the
    photos' text, the unquoted ones to meaning, ranked together. Runs on a worker thread."""
    words = words_of(query.text or "", words_in_photos)
    meaning = ocr_store.split_query(query.text or "")[1]
    if not words:
        return library.search(query, check_tags=False)  # clicked, not typed
    results, _ = library.search_words(words, dataclasses.replace(query, text=meaning or None))
    return results


def highlighted(library: Library, photo_id: int, image: QImage, words: str) -> QImage:
    """``image`` with the recognised words that match ``words`` marked (worker thread:
    painting on a QImage, never on a widget)."""
    if not words or image is None or image.isNull():
        return image
    result = library.photo_text(photo_id)
    if result is None:
        return image
    boxes = [w.box for w in ocr_store.matching_words(result, words)]
    if not boxes:
        return image
    out = image.convertToFormat(QImage.Format.Format_ARGB32)
    painter = QPainter(out)
    painter.setPen(QPen(QColor(255, 140, 0), max(2, out.width() // 300)))
    painter.setBrush(QColor(255, 230, 0, 90))
    w, h = out.width(), out.height()
    pad = 2
    for x0, y0, x1, y1 in boxes:
        painter.drawRect(
            QRectF(x0 * w - pad, y0 * h - pad, (x1 - x0) * w + 2 * pad, (y1 - y0) * h + 2 * pad)
        )
    painter.end()
    return out


class TextPanel(QGroupBox):
    """The recognised text of the selected photo, selectable, with a Copy button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Text in photo", parent)
        self.text_view = QPlainTextEdit()
        self.text_view.setReadOnly(True)
        self.text_view.setMaximumHeight(140)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the recognised text")
        self.copy_button.clicked.connect(self.copy)
        row = QHBoxLayout()
        row.addWidget(self.note, 1)
        row.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignRight)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text_view)
        layout.addLayout(row)
        self.show_text(None)

    def show_text(self, result: OcrResult | None) -> None:
        text = result.text if result is not None else ""
        self.text_view.setPlainText(text)
        self.text_view.setVisible(bool(text))
        self.copy_button.setEnabled(bool(text))
        if result is None:
            self.note.setText("Not read (photosort ocr PATH reads it).")
        else:
            self.note.setText("" if text else "No text found.")
        self.setVisible(result is not None and bool(text))

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text_view.toPlainText())
