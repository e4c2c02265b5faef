"""Teach a tag from a selection and review its suggestions page by page (issue 16).

"Teach a tag from these…" tags the selected photos, teaches the tag (core/teaching.py)
and opens the review grid: the suggestions the probe is least sure about, each with ✓/✗
(or y/n on the current one). "Next page" records the decisions as manual tags (✓ adds,
✗ rejects), retrains, and shows the next page; the user stops any time. "Find more like
these" searches with the mean of the selected vectors. All library work runs through
``tasks.run_task``; widgets are only touched on the GUI thread.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from photosort.core.library import Library
from photosort.core.search import SearchQuery, SearchResult
from photosort.gui import library_data, tasks
from photosort.gui.details import pil_to_qimage

if TYPE_CHECKING:
    from photosort.core.teaching import TeachSummary
    from photosort.gui.main_window import MainWindow

#: A review page as the worker hands it over: the teach summary, (id, path, probability).
Page = tuple["TeachSummary", list[tuple[int, str, float]]]

PAGE = 12
COLUMNS = 4
THUMB = 150


class ReviewTile(QFrame):
    """One suggestion: its thumbnail, its probability, and ✓/✗ (None = undecided)."""

    decided = Signal()

    def __init__(self, photo_id: int, name: str, probability: float):
        super().__init__()
        self.photo_id = photo_id
        self.decision: bool | None = None
        self.setFrameShape(QFrame.Shape.Box)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.image = QLabel("…")
        self.image.setFixedSize(THUMB, THUMB)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption = QLabel(f"{probability:.0%}  {name}")
        self.caption.setMaximumWidth(THUMB)
        self.yes = QPushButton("✓")
        self.no = QPushButton("✗")
        for button in (self.yes, self.no):
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.yes.clicked.connect(lambda: self.decide(True))
        self.no.clicked.connect(lambda: self.decide(False))
        buttons = QHBoxLayout()
        buttons.addWidget(self.yes)
        buttons.addWidget(self.no)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image)
        layout.addWidget(self.caption)
        layout.addLayout(buttons)

    def decide(self, value: bool | None) -> None:
        self.decision = value
        self.yes.setChecked(value is True)
        self.no.setChecked(value is False)
        colour = {True: "#2e7d32", False: "#c62828", None: "palette(mid)"}[value]
        self.setStyleSheet(f"ReviewTile {{ border: 3px solid {colour}; }}")
        self.decided.emit()

    def set_image(self, image: QImage | None) -> None:
        if image is None:
            return
        with contextlib.suppress(RuntimeError):  # the page moved on before it came
            self.image.setPixmap(
                QPixmap.fromImage(image).scaled(
                    THUMB,
                    THUMB,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )


class ReviewDialog(QDialog):
    """Teach ``tag`` and review its least certain suggestions, a page at a time."""

    def __init__(self, library: Library, tag: str, parent: QWidget | None = None, page: int = PAGE):
        super().__init__(parent)
        self.library = library
        self.tag = tag
        self.page_size = page
        self.tiles: list[ReviewTile] = []
        self.current = 0  # the tile y/n decide
        self.busy = False  # a teach/review is running (tests wait on it)
        self.pages = 0
        self.setWindowTitle(f"Teach “{tag}”")
        self.estimate = QLabel("Learning from your examples…")
        self.estimate.setWordWrap(True)
        self.hint = QLabel(
            "✓/✗ each photo (or y/n on the highlighted one); undecided ones are skipped."
        )
        self.grid_box = QWidget()
        self.grid = QGridLayout(self.grid_box)
        self.next_button = QPushButton("Next page")
        self.next_button.clicked.connect(self.next_page)
        self.done_button = QPushButton("Done")
        self.done_button.clicked.connect(self.finish)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.next_button)
        buttons.addWidget(self.done_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.estimate)
        layout.addWidget(self.hint)
        layout.addWidget(self.grid_box, 1)
        layout.addLayout(buttons)
        self._run(self._teach_and_pick, self._show_page)

    # -- background work --------------------------------------------------------------------
    def _run(self, job: Callable[[], Any], on_done: Callable[[Any], None]) -> None:
        self.busy = True
        self.next_button.setEnabled(False)
        self.done_button.setEnabled(False)
        tasks.run_task(job, on_done, self._failed)

    def _teach_and_pick(self, accepted: Iterable[int] = (), rejected: Iterable[int] = ()) -> Page:
        """Worker side: record decisions, retrain + apply, pick the next page."""
        if accepted:
            self.library.tag_photos(accepted, add=[self.tag])
        if rejected:
            self.library.reject_tags(rejected, [self.tag])
        summary = self.library.teacher.teach(self.tag)
        picks = self.library.teacher.review(self.tag, self.page_size)
        paths = library_data.photo_paths(self.library, [pid for pid, _ in picks])
        return summary, [(pid, paths.get(pid, ""), p) for pid, p in picks]

    def _failed(self, exc: BaseException) -> None:
        self.busy = False
        self.done_button.setEnabled(True)
        self.estimate.setText(f"Cannot teach “{self.tag}”: {exc}")

    def _show_page(self, answer: Page) -> None:
        summary, picks = answer
        self.busy = False
        self.pages += 1
        self.estimate.setText(
            f"{summary.estimate.line()}. Suggested on {summary.suggested} more photos, "
            f"{summary.uncertain} uncertain."
        )
        for tile in self.tiles:
            tile.deleteLater()
        self.tiles = []
        for n, (pid, path, probability) in enumerate(picks):
            tile = ReviewTile(pid, os.path.basename(path), probability)
            tile.decide(None)
            self.grid.addWidget(tile, n // COLUMNS, n % COLUMNS)
            self.tiles.append(tile)
            tasks.run_task(partial(_thumbnail, path), tile.set_image, lambda _exc: None)
        self.next_button.setEnabled(bool(picks))
        self.done_button.setEnabled(True)
        self.current = 0
        if self.tiles:
            self.tiles[0].setFocus()
        else:
            self.hint.setText("Nothing left to review.")

    # -- decisions ------------------------------------------------------------------------------
    def decisions(self) -> tuple[list[int], list[int]]:
        yes = [t.photo_id for t in self.tiles if t.decision is True]
        no = [t.photo_id for t in self.tiles if t.decision is False]
        return yes, no

    def next_page(self) -> None:
        yes, no = self.decisions()
        self._run(partial(self._teach_and_pick, yes, no), self._show_page)

    def finish(self) -> None:
        yes, no = self.decisions()
        if not (yes or no) or self.busy:
            self.accept()
            return
        self._run(partial(self._teach_and_pick, yes, no), lambda _answer: self.accept())

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Y, Qt.Key.Key_N) and self.tiles:
            focused = [i for i, t in enumerate(self.tiles) if t.hasFocus()]
            index = focused[0] if focused else min(self.current, len(self.tiles) - 1)
            self.tiles[index].decide(key == Qt.Key.Key_Y)
            self.current = min(index + 1, len(self.tiles) - 1)
            self.tiles[self.current].setFocus()
            return
        super().keyPressEvent(event)


def _thumbnail(path: str) -> QImage | None:
    from photosort.core.imaging import DecodeError, load_thumbnail

    try:
        return pil_to_qimage(load_thumbnail(path, THUMB))
    except (DecodeError, OSError):
        return None


# -- hooks for the main window -------------------------------------------------------------
def teach_from_selection(window: MainWindow, tag: str | None = None) -> ReviewDialog | None:
    """Tag the selection with a (new or existing) tag and open the review grid."""
    ids = window.grid.selected_ids()
    if len(ids) < 2:
        window.status_note.setText("Select at least two photos to teach a tag from them.")
        return None
    if tag is None:
        names = list(dict.fromkeys(window.sidebar.manual_tags))
        tag, ok = QInputDialog.getItem(
            window, "Teach a tag", f"Tag the {len(ids)} photos and teach it:", names, 0, True
        )
        if not ok or not tag.strip():
            return None
    tag = tag.strip()
    window.apply_tags(ids, [tag], [])
    dialog = ReviewDialog(window.library, tag, window)
    dialog.finished.connect(lambda _result: window.refresh_all())
    dialog.show()
    return dialog


def find_more_like_selection(window: MainWindow) -> None:
    """Fill the grid with the photos nearest the mean of the selection."""
    ids = window.grid.selected_ids()
    if not ids:
        return
    window._query_generation += 1
    generation = window._query_generation
    window.loading = True
    window.browse_bar.set_search_mode(True)  # a search's answer: best match first

    def job() -> tuple[str, SearchQuery, list[SearchResult]]:
        # the window's answer shape: ("search", the query, results best first)
        return ("search", SearchQuery(), window.library.more_like(ids, top=200))

    def failed(exc: BaseException) -> None:
        window._grid_failed(generation, exc)
        if isinstance(exc, Exception) and not window.closed:
            QMessageBox.information(window, "Find more like these", str(exc))

    tasks.run_task(job, partial(window._grid_loaded, generation), failed)


def add_actions(window: MainWindow, menu: QMenu) -> None:
    """The two entries, in the Tags menu and in the grid's context menu."""
    menu.addAction("Teach a tag from these…", lambda: teach_from_selection(window))
    menu.addAction("Find more like these", lambda: find_more_like_selection(window))
