"""Category editor: groups, labels, prompts and thresholds, with live counts and histograms.

Every edit re-asks the core what the label *would* tag (``Library.preview_label``, run in
the interactive pool and debounced), so the count and histogram follow the typing. Saving
stores the category and re-tags it (in the bulk pool).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from photosort.core.categories import DEFAULT_THRESHOLD, Category, Label, keep_sun_settings
from photosort.core.library import Library
from photosort.gui import tasks
from photosort.gui.histogram import ScoreHistogram

if TYPE_CHECKING:
    from photosort.core.tag_truth import LabelTruth
    from photosort.core.tagging import LabelPreview

COL_NAME, COL_THRESHOLD, COL_COUNT = range(3)


class CategoryEditor(QDialog):
    def __init__(self, library: Library, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        self.setWindowTitle("Categories")
        self.resize(1040, 640)
        self.changed = False  # something was saved or deleted: the window refreshes
        self.confirm_close = True  # ask before dropping unsaved edits (tests turn it off)
        self.working: list[Category] = [copy.deepcopy(c) for c in library.categories()]
        self.saved_names: list[str | None] = [c.name for c in self.working]
        self.dirty: set[int] = set()
        self.current = -1
        self._loading = False
        self._preview_generation = 0
        self.previews: dict[str, LabelPreview] = {}  # label name -> preview of the current form

        # left: the list of categories
        self.category_list = QListWidget()
        new_button = QPushButton("New category")
        new_button.clicked.connect(self.new_category)
        delete_button = QPushButton("Delete")
        delete_button.clicked.connect(self.delete_category)
        import_button = QPushButton("Import…")
        import_button.clicked.connect(self.import_toml)
        export_button = QPushButton("Export…")
        export_button.clicked.connect(self.export_toml)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(QLabel("<b>Categories</b>"))
        left_layout.addWidget(self.category_list, 1)
        row = QHBoxLayout()
        row.addWidget(new_button)
        row.addWidget(delete_button)
        left_layout.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(import_button)
        row.addWidget(export_button)
        left_layout.addLayout(row)

        # right: the selected category
        self.name_edit = QLineEdit()
        self.kind_box = QComboBox()
        self.kind_box.addItem("exclusive — at most one label per photo", "exclusive")
        self.kind_box.addItem("free — each label is its own yes/no tag", "free")
        self.threshold_spin = _threshold_spin()
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Kind", self.kind_box)
        form.addRow("Threshold", self.threshold_spin)
        self.applies_box = QComboBox()
        self.applies_box.setToolTip(
            "Tag only photos that carry this label of another category "
            "(e.g. the time of day only for outdoor photos)"
        )
        form.addRow("Applies to", self.applies_box)

        self.label_table = QTableWidget(0, 3)
        self.label_table.setHorizontalHeaderLabels(["Label", "Threshold", "Photos"])
        self.label_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.label_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.label_table.verticalHeader().setVisible(False)
        header = self.label_table.horizontalHeader()
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_THRESHOLD, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_COUNT, QHeaderView.ResizeMode.ResizeToContents)
        add_label = QPushButton("Add label")
        add_label.clicked.connect(self.add_label)
        remove_label = QPushButton("Remove label")
        remove_label.clicked.connect(self.remove_label)
        labels_box = QGroupBox("Labels")
        labels_layout = QVBoxLayout(labels_box)
        labels_layout.addWidget(self.label_table, 1)
        row = QHBoxLayout()
        row.addWidget(add_label)
        row.addWidget(remove_label)
        row.addStretch(1)
        labels_layout.addLayout(row)

        self.prompts_edit = QPlainTextEdit()
        self.prompts_edit.setPlaceholderText(
            "One prompt per line, e.g. “a photo taken at night”. {label} stands for the label "
            "name. Empty: “a photo of {label}”."
        )
        self.prompts_edit.setMaximumHeight(90)
        self.label_threshold = _threshold_spin(allow_none=True)
        self.count_label = QLabel("—")
        self.histogram = ScoreHistogram()
        label_box = QGroupBox("Selected label")
        label_form = QFormLayout(label_box)
        label_form.addRow("Prompts", self.prompts_edit)
        label_form.addRow("Threshold", self.label_threshold)
        label_form.addRow("Would tag", self.count_label)
        label_form.addRow(self.histogram)
        self.truth_label = QLabel("—")  # photosort evaluate --tag-truth, for this label
        self.truth_label.setWordWrap(True)
        label_form.addRow("Your tags", self.truth_label)
        self.truth: dict = {}

        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #e07070")
        self.error_label.setWordWrap(True)
        self.save_button = QPushButton("Save and re-tag")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save_current)
        close_button = QPushButton("Close")
        close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.error_label, 1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(close_button)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addLayout(form)
        inner = QSplitter(Qt.Orientation.Horizontal)
        inner.addWidget(labels_box)
        inner.addWidget(label_box)
        inner.setSizes([380, 480])
        right_layout.addWidget(inner, 1)
        right_layout.addLayout(buttons)
        self.form_widget = right

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([220, 820])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(350)
        self._preview_timer.timeout.connect(self.refresh_preview)

        self.category_list.currentRowChanged.connect(self.select_category)
        self.name_edit.textEdited.connect(self._edited)
        self.kind_box.currentIndexChanged.connect(self._edited)
        self.threshold_spin.valueChanged.connect(self._edited)
        self.applies_box.currentIndexChanged.connect(self._edited)
        self.label_table.itemChanged.connect(self._edited)
        self.label_table.currentCellChanged.connect(self._label_selected)
        self.prompts_edit.textChanged.connect(self._prompts_edited)
        self.label_threshold.valueChanged.connect(self._label_threshold_edited)
        self.histogram.threshold_picked.connect(self._threshold_picked)
        self._fill_list()
        if self.working:
            self.category_list.setCurrentRow(0)
        else:
            self.select_category(-1)

    # -- list of categories ---------------------------------------------------------------
    def _fill_list(self) -> None:
        self.category_list.blockSignals(True)
        self.category_list.clear()
        for k, category in enumerate(self.working):
            mark = " •" if k in self.dirty else ""
            self.category_list.addItem(f"{category.name}{mark}  ({category.kind})")
        self.category_list.setCurrentRow(self.current)
        self.category_list.blockSignals(False)

    def select_category(self, row: int) -> None:
        if 0 <= self.current < len(self.working) and self.current != row:
            self.working[self.current] = self.form_category()
        self.current = row
        self.form_widget.setEnabled(row >= 0)
        if row < 0:
            return
        category = self.working[row]
        self._loading = True
        self.name_edit.setText(category.name)
        self.kind_box.setCurrentIndex(0 if category.kind == "exclusive" else 1)
        self.threshold_spin.setValue(category.threshold)
        self._fill_applies(category)
        self.label_table.setRowCount(0)
        for label in category.labels:
            self._append_label_row(label)
        self._loading = False
        if category.labels:
            self.label_table.setCurrentCell(0, COL_NAME)
        self._label_selected(self.label_table.currentRow())
        self.previews.clear()
        self.refresh_preview()

    def new_category(self) -> None:
        if 0 <= self.current < len(self.working):
            self.working[self.current] = self.form_category()
        name = _unique("New category", {c.name for c in self.working})
        self.working.append(Category(name, "free", DEFAULT_THRESHOLD, []))  # labels: user's
        self.saved_names.append(None)
        self.dirty.add(len(self.working) - 1)
        self.current = -1
        self._fill_list()
        self.category_list.setCurrentRow(len(self.working) - 1)
        self.name_edit.setFocus()
        self.name_edit.selectAll()
        self.error_label.setText("Name the category, then add its labels (Add label).")

    def delete_category(self) -> None:
        row = self.current
        if row < 0:
            return
        category = self.working[row]
        if (
            QMessageBox.question(
                self,
                "Delete category",
                f"Delete “{category.name}” and its auto tags? Manual tags stay.",
            )
            != QMessageBox.StandardButton.Yes
        ):
            return
        saved = self.saved_names[row]
        if saved is not None:
            self.library.remove_category(saved)
            self.changed = True
        del self.working[row]
        del self.saved_names[row]
        self.dirty = {k if k < row else k - 1 for k in self.dirty if k != row}
        self.current = -1
        self._fill_list()
        self.category_list.setCurrentRow(min(row, len(self.working) - 1))
        if not self.working:
            self.select_category(-1)

    # -- labels ---------------------------------------------------------------------------
    def _append_label_row(self, label: Label) -> None:
        row = self.label_table.rowCount()
        self.label_table.insertRow(row)
        name = QTableWidgetItem(label.name)
        name.setData(Qt.ItemDataRole.UserRole, list(label.prompts))
        threshold = QTableWidgetItem("" if label.threshold is None else f"{label.threshold:.2f}")
        threshold.setFlags(threshold.flags() & ~Qt.ItemFlag.ItemIsEditable)
        count = QTableWidgetItem("…")
        count.setFlags(count.flags() & ~Qt.ItemFlag.ItemIsEditable)
        count.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.label_table.setItem(row, COL_NAME, name)
        self.label_table.setItem(row, COL_THRESHOLD, threshold)
        self.label_table.setItem(row, COL_COUNT, count)

    def _cell(self, row: int, column: int) -> QTableWidgetItem:
        """A cell of the label table: every row is made with all its cells (_append_label_row)."""
        item = self.label_table.item(row, column)
        assert item is not None, (row, column)
        return item

    def add_label(self) -> None:
        table = self.label_table
        names = {self._cell(r, COL_NAME).text() for r in range(table.rowCount())}
        self._loading = True
        self._append_label_row(Label(_unique("new label", names), [], None))
        self._loading = False
        row = self.label_table.rowCount() - 1
        self.label_table.setCurrentCell(row, COL_NAME)
        self.label_table.editItem(self._cell(row, COL_NAME))
        self._edited()

    def remove_label(self) -> None:
        row = self.label_table.currentRow()
        if row >= 0:
            self.label_table.removeRow(row)
            self._edited()

    def _label_selected(self, row: int, *_rest: object) -> None:
        item = self.label_table.item(row, COL_NAME) if row >= 0 else None
        self._loading = True
        self.prompts_edit.setEnabled(item is not None)
        self.label_threshold.setEnabled(item is not None)
        if item is None:
            self.prompts_edit.setPlainText("")
            self.histogram.set_scores(None, None)
            self.count_label.setText("—")
        else:
            self.prompts_edit.setPlainText("\n".join(item.data(Qt.ItemDataRole.UserRole) or []))
            text = self._cell(row, COL_THRESHOLD).text()
            self.label_threshold.setValue(float(text) if text else 0.0)
        self._loading = False
        self._show_selected_preview()

    def _prompts_edited(self) -> None:
        if self._loading:
            return
        item = self.label_table.item(self.label_table.currentRow(), COL_NAME)
        if item is not None:
            prompts = [p.strip() for p in self.prompts_edit.toPlainText().splitlines() if p.strip()]
            item.setData(Qt.ItemDataRole.UserRole, prompts)
            self._edited()

    def _label_threshold_edited(self, value: float) -> None:
        if self._loading:
            return
        item = self.label_table.item(self.label_table.currentRow(), COL_THRESHOLD)
        if item is not None:
            item.setText("" if value <= 0 else f"{value:.2f}")
            self._edited()

    def _threshold_picked(self, value: float) -> None:
        """A click on the histogram sets the label's own threshold."""
        if self.label_table.currentRow() >= 0:
            self.label_threshold.setValue(value)

    # -- the form as a Category ------------------------------------------------------------
    def form_category(self) -> Category:
        labels = []
        for row in range(self.label_table.rowCount()):
            name = self._cell(row, COL_NAME)
            threshold = self._cell(row, COL_THRESHOLD).text()
            labels.append(
                Label(
                    name.text().strip(),
                    list(name.data(Qt.ItemDataRole.UserRole) or []),
                    float(threshold) if threshold else None,
                )
            )
        category = Category(
            self.name_edit.text().strip(),
            self.kind_box.currentData(),
            round(self.threshold_spin.value(), 2),
            labels,
            applies_if=self.applies_box.currentData() or None,
        )
        # The form edits words and thresholds; the sun keys (TOML only) stay as they were.
        before = self.working[self.current] if 0 <= self.current < len(self.working) else None
        return keep_sun_settings(category, before)

    def _fill_applies(self, category: Category) -> None:
        """ "Every photo", or a label of another category the photos must carry."""
        self.applies_box.clear()
        self.applies_box.addItem("every photo", None)
        for other in self.working:
            if other is category or other.name == category.name:
                continue
            for label in other.labels:
                self.applies_box.addItem(f"photos tagged “{label.name}” ({other.name})", label.name)
        index = self.applies_box.findData(category.applies_if) if category.applies_if else 0
        self.applies_box.setCurrentIndex(max(index, 0))

    def _edited(self, *_args: object) -> None:
        if self._loading or self.current < 0:
            return
        if self.current not in self.dirty:
            self.dirty.add(self.current)
            self.working[self.current] = self.form_category()
            self._fill_list()
        self._preview_timer.start()

    # -- previews -------------------------------------------------------------------------
    def refresh_preview(self) -> None:
        """Ask the core for every label's count and scores, as the form stands now."""
        if self.current < 0:
            return
        category = self.form_category()
        self._preview_generation += 1
        generation = self._preview_generation
        library = self.library

        def job() -> tuple[dict, dict]:
            previews = {
                label.name: library.preview_label(category, label.name) for label in category.labels
            }
            truth = {row.label: row for row in library.evaluate_tags(category)}
            return previews, truth

        tasks.run_task(
            job,
            lambda result: self._previews_ready(generation, *result),
            lambda exc: self._preview_failed(generation, exc),
        )

    def _previews_ready(
        self, generation: int, previews: dict[str, LabelPreview], truth: dict | None = None
    ) -> None:
        # a late answer for an editor already closed (deleted) or edited since is dropped
        if generation != self._preview_generation or not shiboken6.isValid(self.error_label):
            return
        self.previews = previews
        self.truth = truth or {}
        self.error_label.setText("")
        self._loading = True
        for row in range(self.label_table.rowCount()):
            name = self._cell(row, COL_NAME).text().strip()
            preview = previews.get(name)
            self._cell(row, COL_COUNT).setText("" if preview is None else str(preview.count))
        self._loading = False
        self._show_selected_preview()

    def _preview_failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._preview_generation and shiboken6.isValid(self.error_label):
            self.error_label.setText(str(exc))
            self.count_label.setText("—")

    def _show_selected_preview(self) -> None:
        row = self.label_table.currentRow()
        item = self.label_table.item(row, COL_NAME) if row >= 0 else None
        name = item.text().strip() if item is not None else ""
        preview = self.previews.get(name) if item is not None else None
        if preview is None:
            self.histogram.set_scores(None, None)
            self.count_label.setText("—" if item is None else "…")
            return
        total = len(preview.scores)
        self.count_label.setText(
            f"<b>{preview.count}</b> of {total} photos (threshold {preview.threshold:.2f})"
        )
        self.histogram.set_scores(preview.scores, preview.threshold)
        self.truth_label.setText(truth_text(self.truth.get(name)))

    # -- saving ---------------------------------------------------------------------------
    def save_current(self) -> None:
        if self.current < 0:
            return
        row = self.current
        category = self.form_category()
        old_name = self.saved_names[row]
        library = self.library
        for k, other in enumerate(self.working):  # "ball colour" is "Ball colour"
            if k != row and other.name.casefold() == category.name.casefold():
                self.error_label.setText(f"A category named “{other.name}” already exists.")
                return
        self.save_button.setEnabled(False)
        self.save_button.setText("Saving…")

        def done(_summary: object) -> None:
            self.save_button.setEnabled(True)
            self.save_button.setText("Save and re-tag")
            self.changed = True
            self.error_label.setText("")
            saved = next((c for c in library.categories() if c.name == category.name), category)
            self.working[row] = saved
            self.saved_names[row] = saved.name
            self.dirty.discard(row)
            self._fill_list()

        def failed(exc: BaseException) -> None:
            self.save_button.setEnabled(True)
            self.save_button.setText("Save and re-tag")
            self.error_label.setText(str(exc))

        tasks.run_task(
            lambda: library.save_category(category, old_name), done, failed, pool_name="bulk"
        )

    def import_toml(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import categories", "", "TOML (*.toml)")
        if not path:
            return
        try:
            self.library.import_categories(path)
        except Exception as exc:  # noqa: BLE001 - a bad file: say why
            self.error_label.setText(str(exc))
            return
        self.changed = True
        self.working = [copy.deepcopy(c) for c in self.library.categories()]
        self.saved_names = [c.name for c in self.working]
        self.dirty.clear()
        self.current = -1
        self._fill_list()
        self.category_list.setCurrentRow(0)

    def export_toml(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export categories", "categories.toml", "TOML (*.toml)"
        )
        if path:
            try:
                self.library.export_categories(path)
            except Exception as exc:  # noqa: BLE001
                self.error_label.setText(str(exc))

    def done(self, result: int) -> None:  # noqa: D401 - Qt's name
        if (
            self.dirty
            and self.confirm_close
            and QMessageBox.question(
                self, "Unsaved changes", "Some categories have unsaved changes. Close anyway?"
            )
            != QMessageBox.StandardButton.Yes
        ):
            return
        self._preview_generation += 1  # late previews are ignored
        super().done(result)


def truth_text(row: LabelTruth | None) -> str:
    """The label's line from ``evaluate --tag-truth``: how the auto tags fare against the
    photos the user tagged or rejected, and the threshold those photos suggest."""
    if row is None:
        return "no manual decisions yet (accept or reject a few auto tags to measure it)"

    def pct(x: float | None) -> str:
        return "—" if x is None else f"{100 * x:.0f} %"

    text = (
        f"{row.positives} tagged, {row.negatives} rejected by you: precision "
        f"{pct(row.precision)}, recall {pct(row.recall)} at {row.threshold:.2f}"
    )
    if row.best_threshold is not None:
        text += (
            f"; best threshold {row.best_threshold:.2f} (precision {pct(row.best_precision)}, "
            f"recall {pct(row.best_recall)})"
        )
    return text


def _threshold_spin(allow_none: bool = False) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0.0 if allow_none else 0.01, 1.0)
    spin.setSingleStep(0.05)
    spin.setDecimals(2)
    if allow_none:
        spin.setSpecialValueText("category's")
    return spin


def _unique(base: str, taken: set[str]) -> str:
    taken = {t.casefold() for t in taken}
    if base.casefold() not in taken:
        return base
    k = 2
    while f"{base} {k}".casefold() in taken:
        k += 1
    return f"{base} {k}"
