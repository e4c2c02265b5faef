"""Status-bar activity: what the background job is doing, how far, ETA, and Cancel."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from photosort.core.progress import Progress


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s left"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s left"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min left"


PHASES = {
    "walking": "Looking for photos",
    "embedding": "Indexing",
    "re-indexing": "Re-indexing",
    "exporting": "Exporting",
    "tagging": "Tagging",
    "autotag": "Tagging",
}


class ActivityWidget(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(True)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self._cancel)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel)
        self.setVisible(False)

    def start(self, title: str) -> None:
        self.label.setText(title + "…")
        self.bar.setRange(0, 0)  # busy until the first report
        self.cancel.setEnabled(True)
        self.cancel.setText("Cancel")
        self.setVisible(True)

    def update_progress(self, progress: Progress) -> None:
        phase = PHASES.get(progress.phase, progress.phase.capitalize())
        if progress.total:
            self.bar.setRange(0, progress.total)
            self.bar.setValue(progress.done)
            self.bar.setFormat(f"{progress.done} / {progress.total}")
        else:
            self.bar.setRange(0, 0)
        parts = [phase]
        if progress.rate and progress.phase != "walking":
            parts.append(f"{progress.rate:.1f}/s")
        eta = format_eta(progress.eta_s) if progress.total else ""
        if eta:
            parts.append(eta)
        self.label.setText(" · ".join(parts))

    def finish(self) -> None:
        self.setVisible(False)

    def _cancel(self) -> None:
        self.cancel.setEnabled(False)
        self.cancel.setText("Cancelling…")
        self.cancel_requested.emit()
