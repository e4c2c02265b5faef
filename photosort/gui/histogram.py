"""A score histogram with the threshold marked, drawn with QPainter (no plotting library).

Users choose thresholds by looking at where the scores of a label bunch up; a click on the
histogram moves the threshold there.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


class ScoreHistogram(QWidget):
    threshold_picked = Signal(float)

    def __init__(self, parent: QWidget | None = None, bins: int = 40):
        super().__init__(parent)
        self.bins = bins
        self.counts = np.zeros(bins, dtype=np.int64)
        self.threshold: float | None = None
        self.message = "No scores yet"
        self.setMinimumSize(320, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Scores of every photo for this label; click to set the threshold")

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(420, 180)

    def set_scores(self, scores: np.ndarray | None, threshold: float | None) -> None:
        if scores is None or len(scores) == 0:
            self.counts = np.zeros(self.bins, dtype=np.int64)
            self.message = "No photos with vectors yet" if scores is not None else "No scores yet"
        else:
            clipped = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
            self.counts, _ = np.histogram(clipped, bins=self.bins, range=(0.0, 1.0))
            self.message = ""
        self.threshold = threshold
        self.update()

    def set_threshold(self, threshold: float | None) -> None:
        self.threshold = threshold
        self.update()

    def _plot_rect(self) -> QRectF:
        return QRectF(36, 8, max(self.width() - 46, 10), max(self.height() - 30, 10))

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        plot = self._plot_rect()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        painter.setPen(QPen(text, 1))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
            x = plot.left() + tick * plot.width()
            painter.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() + 4))
            painter.drawText(
                QRectF(x - 20, plot.bottom() + 5, 40, 16), Qt.AlignmentFlag.AlignCenter, f"{tick:g}"
            )
        peak = int(self.counts.max()) if self.counts.size else 0
        if peak == 0:
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, self.message or "No photos")
        else:
            # a square-root scale keeps a few high scorers visible next to a big low bunch
            scale = plot.height() / np.sqrt(peak)
            width = plot.width() / self.bins
            accent = palette.color(QPalette.ColorRole.Highlight)
            dim = QColor(text)
            dim.setAlpha(90)
            painter.setPen(Qt.PenStyle.NoPen)
            for k, count in enumerate(self.counts):
                if count == 0:
                    continue
                height = max(np.sqrt(count) * scale, 1.5)
                left = (k + 0.5) / self.bins
                above = self.threshold is not None and left >= self.threshold
                painter.setBrush(accent if above else dim)
                painter.drawRect(
                    QRectF(
                        plot.left() + k * width + 1,
                        plot.bottom() - height,
                        max(width - 2, 1),
                        height,
                    )
                )
            painter.setPen(QPen(text, 1))
            painter.drawText(
                QRectF(0, plot.top() - 2, 32, 16), Qt.AlignmentFlag.AlignRight, str(peak)
            )
        if self.threshold is not None:
            x = plot.left() + self.threshold * plot.width()
            painter.setPen(QPen(QColor(230, 80, 70), 2, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
            painter.drawText(
                QRectF(x + 4, plot.top(), 80, 16),
                Qt.AlignmentFlag.AlignLeft,
                f"≥ {self.threshold:.2f}",
            )
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        plot = self._plot_rect()
        fraction = (event.position().x() - plot.left()) / plot.width()
        value = round(min(max(fraction, 0.01), 1.0), 2)
        self.set_threshold(value)
        self.threshold_picked.emit(value)
