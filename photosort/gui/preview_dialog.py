"""A large preview of one photo (double-click in the grid), with previous/next.

The image loads in the background (the window passes a loader); a photo smaller than the
window is shown at its own size, never blown up. Left/Right (or the buttons) step through
the grid's current order; Space, Enter or Escape close.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import shiboken6
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication, QImage, QKeyEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

#: loader(photo_id, deliver): loads the photo off the GUI thread, then deliver(id, image).
Loader = Callable[[int, Callable[[int, QImage | None], None]], None]


class PreviewDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Preview")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        screen = QGuiApplication.primaryScreen()
        avail = screen.availableGeometry() if screen is not None else None
        if avail is not None:
            self.resize(min(1000, avail.width() - 80), min(760, avail.height() - 80))
        else:
            self.resize(1000, 700)
        self.pixmap: QPixmap | None = None
        self.ids: Sequence[int] | np.ndarray = []
        self.position = -1
        self.shown_id: int | None = None  # the photo on screen (tests wait on it)
        self.names: Mapping[int, str] = {}
        self._loader: Loader | None = None
        self.label = QLabel("Loading…")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setMinimumSize(200, 150)
        self.caption = QLabel()
        self.prev_button = QPushButton("◀ Previous")
        self.next_button = QPushButton("Next ▶")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(1))
        for button in (self.prev_button, self.next_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 8, 6)
        bar.addWidget(self.prev_button)
        bar.addStretch(1)
        bar.addWidget(self.caption)
        bar.addStretch(1)
        bar.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addLayout(bar)
        self._update_buttons()

    def set_sequence(
        self,
        ids: Sequence[int] | np.ndarray,
        current: int,
        loader: Loader,
        names: Mapping[int, str] | None = None,
        position: int | None = None,
    ) -> None:
        """Step through ``ids`` (the grid's order) starting at photo ``current``, at
        ``position`` when the caller knows it.

        ``ids`` and ``names`` are the grid's own, held and never copied or searched: at a
        million photos a copy and a linear ``index`` cost the click tens of milliseconds."""
        self.ids = ids
        self.names = names if names is not None else {}
        self._loader = loader
        if position is None:
            position = list(ids).index(current) if current in ids else -1
        self.position = position
        self._load()

    def current_id(self) -> int | None:
        return int(self.ids[self.position]) if 0 <= self.position < len(self.ids) else None

    def step(self, delta: int) -> None:
        target = self.position + delta
        if self._loader is not None and 0 <= target < len(self.ids):
            self.position = target
            self._load()

    def _load(self) -> None:
        photo_id = self.current_id()
        self._update_buttons()
        if photo_id is None or self._loader is None:
            return
        name = self.names.get(photo_id, "")
        self.caption.setText(f"{name}   {self.position + 1} / {len(self.ids)}".strip())
        self.setWindowTitle(f"Preview — {name}" if name else "Preview")
        self._loader(photo_id, self.show_image)

    def _update_buttons(self) -> None:
        self.prev_button.setEnabled(self.position > 0)
        self.next_button.setEnabled(0 <= self.position < len(self.ids) - 1)
        for button in (self.prev_button, self.next_button):
            button.setVisible(len(self.ids) > 1)

    def show_image(self, photo_id: int, image: QImage | None) -> None:
        if not shiboken6.isValid(self.label):
            return  # the dialog closed before the photo arrived
        if len(self.ids) and photo_id != self.current_id():
            return  # a late answer for a photo the user already stepped past
        self.shown_id = photo_id
        if image is None:
            self.pixmap = None
            self.label.setPixmap(QPixmap())
            self.label.setText("This photo cannot be shown.")
            return
        self.pixmap = QPixmap.fromImage(image)
        self._fit()

    def shown_size(self) -> QSize | None:
        """The size the photo is drawn at (tests check small photos are not enlarged)."""
        pixmap = self.label.pixmap()
        return None if pixmap is None or pixmap.isNull() else pixmap.size()

    def _fit(self) -> None:
        if self.pixmap is None:
            return
        area = self.label.size()
        if self.pixmap.width() <= area.width() and self.pixmap.height() <= area.height():
            self.label.setPixmap(self.pixmap)  # small photo: its own size, never blown up
            return
        self.label.setPixmap(
            self.pixmap.scaled(
                area, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        )

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.close()
        elif key == Qt.Key.Key_Right:
            self.step(1)
        elif key == Qt.Key.Key_Left:
            self.step(-1)
        else:
            super().keyPressEvent(event)
