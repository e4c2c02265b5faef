"""File ▸ Import Spark index…: a cluster's Parquet output into the open library (issue 20).

The work is ``Library.import_archive`` on the window's bulk task (progress, cancel); the
photos then browse, search and tag as if the folders had been scanned here.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit

if TYPE_CHECKING:
    from photosort.core.archive_import import ImportSummary
    from photosort.gui.main_window import MainWindow


def import_spark_index(
    window: MainWindow, dataset: str | None = None, mapping: str | None = None
) -> bool:
    """Ask for the dataset folder and an optional ``FROM=TO`` path rewrite, then import."""
    if dataset is None:
        dataset = QFileDialog.getExistingDirectory(window, "Import a Spark index (Parquet folder)")
        if not dataset:
            return False
    if mapping is None:
        mapping, ok = QInputDialog.getText(
            window,
            "Import Spark index",
            "Rewrite paths, as FROM=TO (e.g. s3a://bucket/photos=/Volumes/NAS/photos);\n"
            "leave empty when the cluster saw the paths this computer sees:",
            QLineEdit.EchoMode.Normal,
            "",
        )
        if not ok:
            return False
    maps = [m.strip() for m in mapping.split(";") if m.strip()]

    def done(summary: ImportSummary) -> None:
        window.watching.start()  # its folders are watched from now on, as after a scan
        window.thumbnails.invalidate()
        window.statusBar().showMessage(f"Import: {summary.line()}", 20000)
        window.refresh_all()

    job = partial(window.library.import_archive, dataset, maps)
    return window._start_bulk("Importing Spark index", job, done)
