"""What an empty library shows instead of a blank grid: one clear way to start."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


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
        for label in (self.title, self.text):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.button = QPushButton("Add a photo folder…")
        self.button.setDefault(True)
        self.button.setMinimumHeight(36)
        self.button.clicked.connect(self.add_folder)
        # a column at most 460 px wide, centred; narrower windows wrap the text further
        column = QWidget()
        column.setMaximumWidth(460)
        column_layout = QVBoxLayout(column)
        column_layout.addWidget(self.title)
        column_layout.addWidget(self.text)
        column_layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(column, 4)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)
