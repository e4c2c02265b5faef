"""The details panel's small bar chart: the photo's probability for every label, per
category (like the zero-shot pipeline tutorial's chart), with each label's threshold.

A bar is the label's probability (``core/scores.py``: the tagger's own numbers); the tick
is its threshold; the chosen label is drawn in the accent colour, the others grey, and a
category's heading names its choice ("uncertain" when no label reached its threshold).
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from photosort.core.scores import CategoryScores

ROW = 16  # pixels per label bar
GAP = 6  # before each category heading


class ScoreChart(QWidget):
    """Horizontal bars, one per label, grouped by category; empty until ``set_scores``."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.scores: list[CategoryScores] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(200)

    def set_scores(self, scores: list[CategoryScores]) -> None:
        self.scores = list(scores)
        self.setToolTip(self._tooltip())
        self.updateGeometry()
        self.setFixedHeight(self.sizeHint().height())
        self.update()

    def headings(self) -> list[str]:
        """Each category's line as drawn, e.g. "Time of day: dusk"."""
        return [f"{c.category}: {_choice(c)}" for c in self.scores]

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        rows = sum(1 + len(c.labels) for c in self.scores)
        return QSize(240, rows * ROW + len(self.scores) * GAP + 2)

    def _tooltip(self) -> str:
        lines = []
        for c in self.scores:
            lines.append(f"<b>{c.category}</b> ({c.kind})")
            for name, p, t in zip(c.labels, c.probabilities, c.thresholds, strict=True):
                lines.append(f"{name}: {p:.3f} (threshold {t:g})")
        return "<br>".join(lines)

    def paintEvent(self, _event: object) -> None:  # noqa: N802 (Qt's name)
        if not self.scores:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        accent = palette.color(QPalette.ColorRole.Highlight)
        muted = QColor(text)
        muted.setAlpha(90)
        metrics = QFontMetrics(self.font())
        names = [n for c in self.scores for n in c.labels]
        name_w = min(max((metrics.horizontalAdvance(n) for n in names), default=40) + 8, 110)
        value_w = metrics.horizontalAdvance("0.00") + 6
        bar_w = max(self.width() - name_w - value_w - 4, 20)
        y = 0
        for cat in self.scores:
            y += GAP
            painter.setPen(text)
            heading = metrics.elidedText(
                f"{cat.category}: {_choice(cat)}", Qt.TextElideMode.ElideRight, self.width()
            )
            painter.drawText(
                QRectF(0, y, self.width(), ROW), Qt.AlignmentFlag.AlignVCenter, heading
            )
            y += ROW
            chosen = set(cat.chosen.split(";"))
            for name, p, t in zip(cat.labels, cat.probabilities, cat.thresholds, strict=True):
                painter.setPen(text)
                label = metrics.elidedText(name, Qt.TextElideMode.ElideRight, name_w - 6)
                painter.drawText(
                    QRectF(0, y, name_w - 6, ROW),
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                    label,
                )
                frame = QRectF(name_w, y + 3, bar_w, ROW - 6)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(QColor(127, 127, 127, 40))
                painter.drawRect(frame)
                painter.setBrush(accent if name in chosen else muted)
                painter.drawRect(
                    QRectF(frame.left(), frame.top(), bar_w * _unit(p), frame.height())
                )
                tick_x = frame.left() + bar_w * _unit(t)
                painter.setPen(QPen(text, 1))
                painter.drawLine(int(tick_x), int(y + 1), int(tick_x), int(y + ROW - 1))
                painter.drawText(
                    QRectF(name_w + bar_w + 4, y, value_w, ROW),
                    Qt.AlignmentFlag.AlignVCenter,
                    f"{p:.2f}",
                )
                y += ROW
        painter.end()


def _unit(x: float) -> float:
    return min(max(float(x), 0.0), 1.0)


def _choice(cat: CategoryScores) -> str:
    if cat.chosen:
        return cat.chosen.replace(";", ", ")
    if cat.kind == "free":
        return "none"
    return "does not apply"
