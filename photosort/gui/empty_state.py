"""What an empty library shows instead of a blank grid: one clear way to start."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


class EmptyState(QWidget):
    """A title, one sentence and an "Add a photo folder" button (a dropped folder works too)."""

    add_folder = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("empty-state")
        self.title = QLabel("<h2>No photos yet</h2>")
        self.text = QLabel(
            "Add a folder of photos and photosort indexes it in the background, so you can "
            "search it in words and sort it into categories. Your photos stay where they are "
            "and are never changed.<br><br>You can also drop a folder onto this window."
        )
        self.text.setWordWrap(True)
        self.text.setFixedWidth(440)  # a fixed width lets the wrapped text take its height
        self.text.setMinimumHeight(self.text.heightForWidth(440))
        self.button = QPushButton("Add a photo folder…")
        self.button.setDefault(True)
        self.button.setMinimumHeight(36)
        self.button.clicked.connect(self.add_folder)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for widget in (self.title, self.text, self.button):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
            if isinstance(widget, QLabel):
                widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(2)
