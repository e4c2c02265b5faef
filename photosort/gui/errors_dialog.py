"""The files that could not be read, with the reason for each (errors are data)."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


class ErrorsDialog(QDialog):
    def __init__(self, failures: list[dict], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Files that could not be read")
        self.resize(820, 420)
        self.failures = failures
        layout = QVBoxLayout(self)
        if failures:
            text = (
                f"{len(failures)} file(s) could not be read. They are skipped until they "
                "change on disk."
            )
        else:
            text = "Every file was read without problems."
        layout.addWidget(QLabel(text))
        self.table = QTableWidget(len(failures), 2)
        self.table.setHorizontalHeaderLabels(["File", "Reason"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        for row, failure in enumerate(failures):
            self.table.setItem(row, 0, QTableWidgetItem(failure["path"]))
            self.table.setItem(row, 1, QTableWidgetItem(failure["reason"] or ""))
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy list", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(self.copy)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def copy(self) -> None:
        lines = [f"{f['path']}\t{f['reason']}" for f in self.failures]
        QGuiApplication.clipboard().setText("\n".join(lines))
