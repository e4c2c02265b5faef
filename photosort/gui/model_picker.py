"""Preferences' model picker with numbers: the known models (published ImageNet accuracy,
size, cached here, speed measured here) and a button that runs ``photosort bench``.

Reads and the bench run in worker threads (``gui/tasks.py``); picking a row fills the
dialog's model box, and the dialog's OK switches (re-indexing in the background).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from photosort.core.known_models import ModelRow
from photosort.gui import tasks

COLUMNS = ("Model", "Family", "ImageNet", "Params", "Size", "Cached", "Images/s here")


class ModelPicker(QWidget):
    """The table of models and the bench button; ``picked`` carries a model spec."""

    picked = Signal(str)
    measured = Signal(object)  # the BenchReport, once a bench run finishes

    def __init__(self, library: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.rows: list[ModelRow] = []
        self.task: tasks.Task | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._selected)
        layout.addWidget(self.table)
        row = QHBoxLayout()
        self.bench_button = QPushButton("Measure this machine")
        self.bench_button.setToolTip(
            "Images per second of the library's model on each device here, the decode rate "
            "and the time to index the pending photos (under a minute)"
        )
        self.bench_button.clicked.connect(self.run_bench)
        self.status = QLabel("ImageNet: published zero-shot top-1 accuracy.")
        self.status.setWordWrap(True)
        row.addWidget(self.bench_button)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setMaximumHeight(130)
        self.report.setVisible(False)
        layout.addWidget(self.report)
        self.refresh()

    def refresh(self) -> None:
        tasks.run_task(self.library.known_models, self.show_rows, self._failed)

    def show_rows(self, rows: list[ModelRow]) -> None:
        self.rows = list(rows)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            values = (
                row.spec,
                row.family,
                "—" if row.imagenet is None else f"{row.imagenet:.1f} %",
                "—" if row.params_m is None else f"{row.params_m:.0f} M",
                "—" if row.size_mb is None else f"{row.size_mb:,.0f} MB",
                "yes" if row.cached else "no",
                "—" if row.images_per_s is None else f"{row.images_per_s:,.1f}",
            )
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                if c == 0 and row.current:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                if c == 6 and row.measured_on:
                    item.setToolTip(row.measured_on)
                if c == 0 and row.note:
                    item.setToolTip(row.note)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()

    def _selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self.rows):
            self.picked.emit(self.rows[rows[0].row()].spec)

    def run_bench(self, on_done: Callable | None = None) -> None:
        if self.task is not None:
            return
        self.bench_button.setEnabled(False)
        self.status.setText("Measuring… (under a minute)")

        def done(report: Any) -> None:
            self.task = None
            self.bench_button.setEnabled(True)
            self.status.setText("Measured: the table shows the speed here.")
            self.report.setPlainText("\n".join(report.lines()))
            self.report.setVisible(True)
            self.measured.emit(report)
            self.refresh()

        def failed(exc: BaseException) -> None:
            self.task = None
            self.bench_button.setEnabled(True)
            self._failed(exc)

        self.task = tasks.run_task(
            self.library.bench, done, failed, pool_name="model", with_progress=True
        )

    def _failed(self, exc: BaseException) -> None:
        self.status.setText(f"Cannot measure: {str(exc).splitlines()[0] if str(exc) else exc}")
