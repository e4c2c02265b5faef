"""Export dialog: pick tags, destination, mode, layout and XMP; preview (dry run); run; summary."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from photosort.core.export import ExportRequest, ExportSummary
from photosort.core.library import Library
from photosort.core.progress import Progress
from photosort.gui import tasks
from photosort.gui.activity import format_eta

MODES = [
    ("copy", "Copy"),
    ("hardlink", "Hard link (no extra space, same disk)"),
    ("symlink", "Symbolic link"),
    ("move", "Move (the library follows the files)"),
]
LAYOUTS = [("by-tag", "A folder per tag"), ("flat", "All in one folder")]


class ExportDialog(QDialog):
    def __init__(
        self,
        library: Library,
        preselected: list[str] | None = None,
        parent: QWidget | None = None,
        photo_ids: list[int] | None = None,
        what: str = "",
    ):
        """``photo_ids``: export these photos (the app's selection or search results), named
        ``what`` ("3 selected photos"), instead of the photos with the ticked tags."""
        super().__init__(parent)
        self.library = library
        self.task: tasks.Task | None = None
        self.summary: ExportSummary | None = None
        self.photo_ids = list(photo_ids) if photo_ids is not None else None
        self.setWindowTitle(
            f"Export {what}" if self.photo_ids is not None else "Export photos by tag"
        )
        self.resize(880, 620)
        preselected = preselected or []

        self.tag_list = QListWidget()
        self.tag_list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        for count in library.tag_counts():
            if count.category is not None and count.name == "uncertain":
                continue
            where = f" · {count.category}" if count.category else ""
            item = QListWidgetItem(f"{count.name}{where}  ({count.count})")
            item.setData(Qt.ItemDataRole.UserRole, count.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = count.name in preselected
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.tag_list.addItem(item)
        self.tag_list.itemChanged.connect(self._invalidate)

        self.dest_edit = QLineEdit()
        self.dest_edit.setPlaceholderText("Destination folder")
        self.dest_edit.textChanged.connect(self._invalidate)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self.choose_destination)
        dest_row = QHBoxLayout()
        dest_row.addWidget(self.dest_edit, 1)
        dest_row.addWidget(browse)
        self.mode_box = QComboBox()
        for value, text in MODES:
            self.mode_box.addItem(text, value)
        self.layout_box = QComboBox()
        for value, text in LAYOUTS:
            self.layout_box.addItem(text, value)
        self.xmp_box = QCheckBox("Write XMP sidecars with the tags (for Lightroom, darktable…)")
        for widget in (self.mode_box, self.layout_box):
            widget.currentIndexChanged.connect(self._invalidate)
        self.xmp_box.toggled.connect(self._invalidate)

        form = QFormLayout()
        form.addRow("Destination", dest_row)
        form.addRow("Mode", self.mode_box)
        form.addRow("Layout", self.layout_box)
        form.addRow("", self.xmp_box)

        self.plan_table = QTableWidget(0, 3)
        self.plan_table.setHorizontalHeaderLabels(["Photo", "Will go to", "Status"])
        self.plan_table.verticalHeader().setVisible(False)
        self.plan_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.plan_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)

        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.preview_button = QPushButton("Preview")
        self.preview_button.setToolTip("Dry run: list what would be exported, touch nothing")
        self.preview_button.clicked.connect(lambda: self.start(dry_run=True))
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(lambda: self.start(dry_run=False))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_or_close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary_label, 1)
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)

        top = QHBoxLayout()
        tags_col = QVBoxLayout()
        if self.photo_ids is None:
            tags_col.addWidget(QLabel("<b>Tags to export</b>"))
            tags_col.addWidget(self.tag_list)
        else:  # the photos are picked already: one folder, no tag list
            self.tag_list.setVisible(False)
            self.layout_box.setCurrentIndex(self.layout_box.findData("flat"))
            self.layout_box.setEnabled(False)
            self.picked_label = QLabel(f"<b>Exporting {what}</b>")
            self.picked_label.setWordWrap(True)
            tags_col.addWidget(self.picked_label)
            tags_col.addStretch(1)
        top.addLayout(tags_col, 1)
        options = QVBoxLayout()
        options.addLayout(form)
        options.addStretch(1)
        top.addLayout(options, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(QLabel("<b>Plan</b>"))
        layout.addWidget(self.plan_table, 1)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)

    # -- the request ----------------------------------------------------------------------
    def selected_tags(self) -> list[str]:
        out = []
        for row in range(self.tag_list.count()):
            item = self.tag_list.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def set_tags(self, names: list[str]) -> None:
        for row in range(self.tag_list.count()):
            item = self.tag_list.item(row)
            on = item.data(Qt.ItemDataRole.UserRole) in names
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def request(self, dry_run: bool) -> ExportRequest:
        return ExportRequest(
            tags=self.selected_tags() if self.photo_ids is None else [],
            photo_ids=self.photo_ids,
            dest=os.path.expanduser(self.dest_edit.text().strip()),
            mode=self.mode_box.currentData(),
            layout=self.layout_box.currentData(),
            dry_run=dry_run,
            xmp=self.xmp_box.isChecked(),
        )

    def choose_destination(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into")
        if folder:
            self.dest_edit.setText(folder)

    def _invalidate(self, *_args: object) -> None:
        if self.task is None:
            self.summary_label.setText("")

    # -- running --------------------------------------------------------------------------
    def start(self, dry_run: bool) -> None:
        if self.task is not None:
            return
        request = self.request(dry_run)
        if not request.tags and self.photo_ids is None:
            self.summary_label.setText("Tick at least one tag.")
            return
        if not request.dest:
            self.summary_label.setText("Choose a destination folder.")
            return
        self._busy(True)
        self.summary_label.setText("Planning…" if dry_run else "Exporting…")
        library = self.library
        self.task = tasks.run_task(
            lambda on_progress, should_cancel: library.export(request, on_progress, should_cancel),
            self._finished,
            self._failed,
            self._progress,
            pool_name="bulk",
            with_progress=True,
        )

    def _busy(self, busy: bool) -> None:
        self.preview_button.setEnabled(not busy)
        self.export_button.setEnabled(not busy)
        self.progress.setVisible(busy)
        self.progress.setRange(0, 0)
        self.cancel_button.setText("Stop" if busy else "Close")

    def _progress(self, progress: Progress) -> None:
        if progress.total:
            self.progress.setRange(0, progress.total)
            self.progress.setValue(progress.done)
            eta = format_eta(progress.eta_s)
            self.progress.setFormat(f"{progress.done} / {progress.total}  {eta}")

    def _finished(self, summary: ExportSummary) -> None:
        self.task = None
        self.summary = summary
        self._busy(False)
        self.show_plan(summary)
        text = summary.line()
        if summary.warnings:
            text += "<br>" + "<br>".join(summary.warnings[:5])
        if summary.manifest and not summary.dry_run:
            text += f"<br><small>Manifest: {summary.manifest}</small>"
        self.summary_label.setText(text)

    def _failed(self, exc: BaseException) -> None:
        self.task = None
        self._busy(False)
        self.summary_label.setText(f"<span style='color:#e07070'>{exc}</span>")

    def show_plan(self, summary: ExportSummary) -> None:
        items = summary.items
        self.plan_table.setRowCount(len(items))
        for row, item in enumerate(items):
            self.plan_table.setItem(row, 0, QTableWidgetItem(item.source))
            self.plan_table.setItem(row, 1, QTableWidgetItem(item.destination))
            status = item.status if not item.error else f"{item.status}: {item.error}"
            self.plan_table.setItem(row, 2, QTableWidgetItem(status))

    def cancel_or_close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        else:
            self.reject()

    def reject(self) -> None:
        if self.task is not None:
            self.task.cancel()
            return  # closes after the job notices the cancel
        super().reject()
