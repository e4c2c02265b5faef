"""Discover groups: the library clustered (core/discover.py), one row of photos per group.

Each group shows its size, a suggested name from the nearest labels and its most central
photos; "Teach as a tag…" turns the group into a taught tag and opens the review grid.
The clustering and the thumbnails load in worker threads.
"""

from __future__ import annotations

import contextlib
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from photosort.core.discover import Group
from photosort.gui import library_data, tasks
from photosort.gui.teach_dialog import ReviewDialog, _thumbnail

if TYPE_CHECKING:
    from photosort.gui.main_window import MainWindow

#: The worker's answer: the groups, and the paths of the photos shown for them.
Groups = tuple[list[Group], dict[int, str]]

SHOWN = 8
THUMB = 96


class DiscoverDialog(QDialog):
    """The library in groups; a group becomes a taught tag in one click."""

    def __init__(self, window: MainWindow, groups: int = 12):
        super().__init__(window)
        self.window_ = window
        self.library = window.library
        self.groups: list[Group] = []
        self.busy = True
        self.setWindowTitle("Discover groups")
        self.resize(900, 640)
        self.note = QLabel("Grouping the library…")
        self.rows = QWidget()
        self.rows_layout = QVBoxLayout(self.rows)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.rows)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(scroll, 1)
        tasks.run_task(partial(self._load, groups), self._show, self._failed)

    def _load(self, groups: int) -> Groups:
        found = self.library.discover(groups)
        shown = [pid for g in found for pid in g.central[:SHOWN]]
        return found, library_data.photo_paths(self.library, shown)

    def _failed(self, exc: BaseException) -> None:
        self.busy = False
        self.note.setText(str(exc))

    def _show(self, answer: Groups) -> None:
        self.groups, paths = answer
        self.busy = False
        self.note.setText(f"{len(self.groups)} groups. Teach one as a tag to find all its kind.")
        for group in self.groups:
            row = QWidget()
            line = QHBoxLayout(row)
            title = QLabel(f"<b>{group.number}.</b> {group.name}<br>{group.size} photos")
            title.setFixedWidth(180)
            title.setWordWrap(True)
            line.addWidget(title)
            for pid in group.central[:SHOWN]:
                image = QLabel("…")
                image.setFixedSize(THUMB, THUMB)
                image.setAlignment(Qt.AlignmentFlag.AlignCenter)
                line.addWidget(image)
                if pid in paths:
                    tasks.run_task(
                        partial(_thumbnail, paths[pid]),
                        partial(_set_image, image),
                        lambda _exc: None,
                    )
            line.addStretch(1)
            button = QPushButton("Teach as a tag…")
            button.clicked.connect(partial(self.teach_group, group, None))
            line.addWidget(button)
            self.rows_layout.addWidget(row)
        self.rows_layout.addStretch(1)

    def teach_group(self, group: Group, tag: str | None = None) -> ReviewDialog | None:
        if tag is None:
            tag, ok = QInputDialog.getText(self, "Teach a tag", "Name for this group:")
            if not ok or not tag.strip():
                return None
        self.window_.apply_tags(list(group.central), [tag.strip()], [])
        review = ReviewDialog(self.library, tag.strip(), self.window_)
        review.finished.connect(lambda _result: self.window_.refresh_all())
        review.show()
        return review


def _set_image(label: QLabel, image: QImage | None) -> None:
    if image is None:
        return
    with contextlib.suppress(RuntimeError):  # the dialog closed before the thumbnail came
        label.setPixmap(
            QPixmap.fromImage(image).scaled(
                THUMB,
                THUMB,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )


def open_discover(window: MainWindow) -> DiscoverDialog:
    dialog = DiscoverDialog(window)
    dialog.show()
    return dialog
