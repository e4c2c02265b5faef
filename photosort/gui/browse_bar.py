"""The bar above the grid: result count with "Show all", sort order, date range, size.

It holds no data: the window reads ``sort_key``, ``date_range`` and ``show_all`` when it
builds a query, and listens to ``changed`` (re-query), ``resort`` (same results, new
order) and ``size_changed`` (thumbnail size).
"""

from __future__ import annotations

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QWidget,
)

SORTS = (("relevance", "Best match"), ("date", "Date taken"), ("name", "Name"))
SIZES = (96, 240)  # smallest and largest thumbnail width, px


class BrowseBar(QWidget):
    changed = Signal()  # the date range changed: query again
    resort = Signal()  # the sort order changed
    show_all_changed = Signal()
    size_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.show_all = False
        self.count_label = QLabel()
        self.count_label.setObjectName("result-count")
        self.count_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.count_label.setMinimumWidth(40)  # elided rather than widening a narrow window
        self.show_all_button = QPushButton()
        self.show_all_button.setFlat(True)
        self.show_all_button.setVisible(False)
        self.show_all_button.clicked.connect(self._toggle_show_all)
        self.reindex_button = QPushButton("Re-index with this model")
        self.reindex_button.setToolTip("Embed every photo with the model in Preferences")
        self.reindex_button.setVisible(False)
        self.sort_box = QComboBox()
        for key, text in SORTS:
            self.sort_box.addItem(text, key)
        self.sort_box.setToolTip("Sort order")
        self.sort_box.currentIndexChanged.connect(lambda _i: self.resort.emit())
        self.dates_check = QCheckBox("Taken")
        self.dates_check.setToolTip("Only photos taken between these dates")
        self.date_from = _date_edit()
        self.date_to = _date_edit()
        self.date_from.setDate(QDate.currentDate().addYears(-1))
        self.date_to.setDate(QDate.currentDate())
        self.dates_check.toggled.connect(self._dates_toggled)
        self.dash = QLabel("–")
        for edit in (self.date_from, self.date_to, self.dash):
            edit.setVisible(False)  # shown when the date filter is on: the bar stays narrow
        for edit in (self.date_from, self.date_to):
            edit.dateChanged.connect(self._date_edited)
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(*SIZES)
        self.size_slider.setValue(160)
        self.size_slider.setFixedWidth(80)
        self.size_slider.setToolTip("Thumbnail size")
        self.size_slider.valueChanged.connect(self.size_changed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(self.count_label, 1)  # takes the free width; clipped when narrow
        layout.addWidget(self.show_all_button)
        layout.addWidget(self.reindex_button)
        layout.addWidget(self.dates_check)
        layout.addWidget(self.date_from)
        layout.addWidget(self.dash)
        layout.addWidget(self.date_to)
        layout.addSpacing(8)
        layout.addWidget(self.sort_box)
        layout.addSpacing(8)
        layout.addWidget(QLabel("Size"))
        layout.addWidget(self.size_slider)

    # -- what the window reads --------------------------------------------------------------
    @property
    def sort_key(self) -> str:
        return self.sort_box.currentData()

    def set_sort(self, key: str) -> None:
        index = self.sort_box.findData(key)
        if index >= 0:
            self.sort_box.setCurrentIndex(index)

    @property
    def date_range(self) -> tuple[str | None, str | None]:
        """ISO dates (inclusive), or (None, None) when the date filter is off."""
        if not self.dates_check.isChecked():
            return None, None
        start, end = self.date_from.date(), self.date_to.date()
        if start > end:
            start, end = end, start
        return start.toString(Qt.DateFormat.ISODate), end.toString(Qt.DateFormat.ISODate)

    def set_date_span(self, first: str | None, last: str | None) -> None:
        """Start the date pickers at the library's first and last dates (until used)."""
        if self.dates_check.isChecked():
            return
        for edit, value in ((self.date_from, first), (self.date_to, last)):
            date = QDate.fromString((value or "")[:10], Qt.DateFormat.ISODate)
            if date.isValid():
                edit.blockSignals(True)
                edit.setDate(date)
                edit.blockSignals(False)

    # -- what the window tells it -------------------------------------------------------------
    def set_search_mode(self, searching: bool) -> None:
        """ "Best match" exists only for a search; browsing starts at date taken."""
        model = self.sort_box.model()
        assert isinstance(model, QStandardItemModel)  # a plain QComboBox's own model
        item = model.item(0)
        if item is not None:
            item.setEnabled(searching)
        if searching and self.sort_key != "relevance":
            self.sort_box.blockSignals(True)
            self.set_sort("relevance")
            self.sort_box.blockSignals(False)
        elif not searching and self.sort_key == "relevance":
            self.sort_box.blockSignals(True)
            self.set_sort("date")
            self.sort_box.blockSignals(False)

    def show_count(self, shown: int, total: int, what: str) -> None:
        """``shown`` of ``total``; "Show all" appears when a cutoff hid some."""
        self.reindex_button.setVisible(False)
        text = f"{shown} {what}" if shown == total else f"{shown} relevant {what} of {total}"
        self.count_label.setText(text)
        hidden = total != shown or self.show_all
        self.show_all_button.setVisible(hidden and total > 0)
        self.show_all_button.setText(
            "Only the relevant ones" if self.show_all else f"Show all {total}"
        )

    def show_message(self, text: str) -> None:
        self.count_label.setText(text)
        self.show_all_button.setVisible(False)

    def reset_show_all(self) -> None:
        self.show_all = False

    def _toggle_show_all(self) -> None:
        self.show_all = not self.show_all
        self.show_all_changed.emit()

    def _date_edited(self, _date: QDate) -> None:
        if self.dates_check.isChecked():
            self.changed.emit()

    def _dates_toggled(self, on: bool) -> None:
        for widget in (self.date_from, self.date_to, self.dash):
            widget.setVisible(on)
        self.changed.emit()


def _date_edit() -> QDateEdit:
    edit = QDateEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    return edit
