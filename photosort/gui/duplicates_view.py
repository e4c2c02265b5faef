"""The Duplicates view: each group side by side (size, date, keeper marked), click a photo to
make it the keeper, then act on one group or on all of them.

Finding and every write run off the GUI thread (``tasks.run_task``); moving to the trash
asks first, every time, and only ever uses the system trash.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photosort.core.duplicates import Group, Member
from photosort.core.library import Library
from photosort.core.progress import Progress
from photosort.gui import tasks

KIND_CHOICES = [
    ("All kinds", ["exact", "near", "bursts"]),
    ("Exact copies", ["exact"]),
    ("Near-duplicates", ["near"]),
    ("Bursts", ["bursts"]),
]
KIND_TITLES = {"exact": "Exact copies", "near": "Near-duplicates", "bursts": "Burst"}
THUMB = 150
#: Groups shown at once; acting on "all" still covers every group found.
SHOWN = 150


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


class PhotoCard(QWidget):
    """One photo of a group: thumbnail (a toggle: checked = the keeper), size and date."""

    clicked = Signal()

    def __init__(self, member: Member, keeper: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.photo_id = member.photo_id
        self.button = QToolButton()
        self.button.setCheckable(True)
        self.button.setChecked(keeper)
        self.button.setIconSize(QSize(THUMB, THUMB))
        self.button.setFixedSize(THUMB + 12, THUMB + 12)
        self.button.setToolTip(member.path)
        self.button.setStyleSheet("QToolButton:checked { border: 3px solid #2a8f2a; }")
        self.button.clicked.connect(lambda _checked=False: self.clicked.emit())
        dims = f"{member.width}×{member.height}" if member.width else "?"
        when = (member.taken_at or "no date").replace("T", " ")
        mark = "<b>★ keeper</b>" if keeper else "click to keep"
        self.caption = QLabel(
            f"{os.path.basename(member.path)}<br>{dims} · {_size(member.size)}<br>{when}<br>{mark}"
        )
        self.caption.setFixedWidth(THUMB + 12)
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addWidget(self.caption)

    def text(self) -> str:
        return self.caption.text()

    def isChecked(self) -> bool:  # noqa: N802 - mirrors the Qt button it wraps
        return self.button.isChecked()

    def click(self) -> None:
        self.button.click()

    def icon(self) -> QIcon:
        return self.button.icon()

    def setIcon(self, icon: QIcon) -> None:  # noqa: N802
        self.button.setIcon(icon)


class GroupView(QFrame):
    """A group: a header with the reasons, the photos side by side, and its own actions."""

    keeper_changed = Signal()

    def __init__(self, dialog: DuplicatesDialog, group: Group):
        super().__init__()
        self.dialog = dialog
        self.group = group
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        self.header = QLabel()
        self.header.setWordWrap(True)
        layout.addWidget(self.header)
        self.row = QHBoxLayout()
        self.row.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout.addLayout(self.row)
        buttons = QHBoxLayout()
        self.tag_button = QPushButton("Tag the others")
        self.tag_button.clicked.connect(lambda: dialog.tag_others([self.group]))
        self.trash_button = QPushButton("Move the others to the trash…")
        self.trash_button.clicked.connect(lambda: dialog.trash_others([self.group]))
        buttons.addWidget(self.tag_button)
        buttons.addWidget(self.trash_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.cards: list[PhotoCard] = []
        self.show_group()

    def show_group(self) -> None:
        """(Re)build the header and the cards (not ``render``: that is QWidget's paint call)."""
        g = self.group
        self.header.setText(
            f"<b>{KIND_TITLES[g.kind]}</b> · {len(g.members)} photos · keep "
            f"<b>{os.path.basename(g.keeper.path)}</b>: {'; '.join(g.reasons)}"
        )
        for card in self.cards:
            card.hide()  # at once: a deferred delete waits for the event loop
            card.deleteLater()
        self.cards = []
        for member in g.members:
            card = PhotoCard(member, member.photo_id == g.keeper_id)
            card.clicked.connect(lambda pid=member.photo_id: self.choose(pid))
            pixmap = self.dialog.thumbnail(member.photo_id, member.path)
            if pixmap is not None:
                card.setIcon(QIcon(pixmap))
            self.row.addWidget(card)
            self.cards.append(card)

    def choose(self, photo_id: int) -> None:
        self.group.choose(photo_id)
        self.show_group()
        self.keeper_changed.emit()


class DuplicatesDialog(QDialog):
    """Find duplicate groups of the library and act on them."""

    changed = Signal()  # tags or files changed: the main window refreshes

    def __init__(self, library: Library, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.groups: list[Group] = []
        self.views: list[GroupView] = []
        self.task: tasks.Task | None = None
        self._thumbs: dict[int, QPixmap] = {}
        self._asked: set[int] = set()
        self.closed = False
        self.setWindowTitle("Duplicates")
        self.resize(980, 720)

        top = QHBoxLayout()
        self.kind = QComboBox()
        for label, _ in KIND_CHOICES:
            self.kind.addItem(label)
        self.find_button = QPushButton("Find")
        self.find_button.clicked.connect(self.find_groups)
        self.status = QLabel("")
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.kind)
        top.addWidget(self.find_button)
        top.addWidget(self.status, 1)

        self.list_widget = QWidget()
        self.list_layout = QVBoxLayout(self.list_widget)
        self.list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.list_widget)

        bottom = QHBoxLayout()
        self.tag_name = QLineEdit("duplicate")
        self.tag_name.setMaximumWidth(160)
        self.tag_all_button = QPushButton("Tag the others in all groups")
        self.tag_all_button.clicked.connect(lambda: self.tag_others(self.groups))
        self.export_button = QPushButton("Export the keepers…")
        self.export_button.clicked.connect(self.export_keepers)
        self.trash_all_button = QPushButton("Move the others in all groups to the trash…")
        self.trash_all_button.clicked.connect(lambda: self.trash_others(self.groups))
        bottom.addWidget(QLabel("Tag:"))
        bottom.addWidget(self.tag_name)
        bottom.addWidget(self.tag_all_button)
        bottom.addWidget(self.export_button)
        bottom.addStretch(1)
        bottom.addWidget(self.trash_all_button)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(scroll, 1)
        layout.addLayout(bottom)
        self._set_busy(False)
        self.find_groups()

    # -- finding ---------------------------------------------------------------------------
    def find_groups(self) -> None:
        """Look for duplicate groups in the background (not ``find``: QWidget.find is Qt's)."""
        kinds = KIND_CHOICES[self.kind.currentIndex()][1]
        self._set_busy(True, "Looking for duplicates…")
        self.task = tasks.run_task(
            lambda on_progress, should_cancel: self.library.find_duplicates(
                kinds, None, on_progress, should_cancel
            ),
            self._show_groups,
            self._failed,
            self._progress,
            pool_name="bulk",
            with_progress=True,
        )

    def _progress(self, progress: Progress) -> None:
        self.status.setText(f"{progress.phase}: {progress.done}/{progress.total}")

    def _show_groups(self, groups: list[Group]) -> None:
        self.groups = groups
        for view in self.views:
            view.hide()
            self.list_layout.removeWidget(view)
            view.deleteLater()
        self.views = []
        for group in groups[:SHOWN]:
            view = GroupView(self, group)
            self.list_layout.insertWidget(self.list_layout.count() - 1, view)
            view.show()  # a layout only queues the show: callers see it at once
            self.views.append(view)
        spare = sum(len(g.others) for g in groups)
        text = f"{len(groups)} groups, {spare} photos besides the keepers"
        if len(groups) > SHOWN:
            text += f" (showing the first {SHOWN}; actions on all groups cover every one)"
        self._set_busy(False, text if groups else "No duplicates found")

    def thumbnail(self, photo_id: int, path: str) -> QPixmap | None:
        """The cached thumbnail, or None while it is made (the card gets it when ready)."""
        if photo_id in self._thumbs:
            return self._thumbs[photo_id]
        if photo_id in self._asked:
            return None
        self._asked.add(photo_id)

        def job() -> QImage | None:
            from photosort.core.imaging import DecodeError, load_thumbnail
            from photosort.gui.details import pil_to_qimage

            try:
                return pil_to_qimage(load_thumbnail(path, THUMB))
            except DecodeError:
                return None

        def deliver(image: QImage | None) -> None:
            if image is None or self.closed:
                return
            self._thumbs[photo_id] = QPixmap.fromImage(image)
            for view in self.views:  # only live cards: never one replaced meanwhile
                for live in view.cards:
                    if live.photo_id == photo_id:
                        live.setIcon(QIcon(self._thumbs[photo_id]))

        tasks.run_task(job, deliver, lambda _exc: None)
        return None

    # -- acting ----------------------------------------------------------------------------
    def tag_others(self, groups: list[Group]) -> None:
        tag = self.tag_name.text().strip()
        if not groups or not tag:
            return
        self._run(
            lambda: self.library.tag_duplicates(groups, tag),
            lambda s: (
                f"Tagged {s.tagged} photos “{tag}”; {s.merged} manual tags merged into the keepers"
            ),
        )

    def confirm_trash(self, count: int) -> bool:
        answer = QMessageBox.question(
            self,
            "Move to the trash?",
            f"Move {count} photos (every photo but the keeper) to the system trash?\n"
            "Their manual tags are merged into the keepers first. You can restore them "
            "from the trash.",
        )
        return answer == QMessageBox.StandardButton.Yes

    def trash_others(self, groups: list[Group]) -> None:
        count = sum(len(g.others) for g in groups)
        if not count or not self.confirm_trash(count):
            return
        self._run(
            lambda: self.library.trash_duplicates(groups, confirmed=True),
            lambda s: (
                f"Moved {len(s.trashed)} photos to the trash"
                + (f"; kept {len(s.skipped)} (changed or missing)" if s.skipped else "")
            ),
            refind=True,
        )

    def export_keepers(self) -> None:
        if not self.groups:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export the keepers to")
        if folder:
            self._run(
                lambda: self.library.export_keepers(self.groups, folder),
                lambda s: s.export.line(),
                notify=False,
            )

    def _run(
        self,
        job: Callable[[], Any],
        describe: Callable[[Any], str],
        refind: bool = False,
        notify: bool = True,
    ) -> None:
        self._set_busy(True, "Working…")

        def done(summary: object) -> None:
            self._set_busy(False, describe(summary))
            if notify:
                self.changed.emit()
            if refind:
                self.find_groups()

        self.task = tasks.run_task(job, done, self._failed, pool_name="bulk")

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False, f"Failed: {exc}")

    def _set_busy(self, busy: bool, text: str | None = None) -> None:
        if text is not None:
            self.status.setText(text)
        for button in (
            self.find_button,
            self.tag_all_button,
            self.export_button,
            self.trash_all_button,
        ):
            button.setEnabled(not busy)
        for view in self.views:
            view.tag_button.setEnabled(not busy)
            view.trash_button.setEnabled(not busy)

    def reject(self) -> None:
        if self.task is not None and not self.task.finished:
            self.task.cancel()
        self.closed = True
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.closed = True
        super().closeEvent(event)
