"""The thumbnail grid: a QListView in icon mode over a model that holds only photo ids.

Nothing per photo is created up front: the model keeps ids (and scores for a search), the
delegate paints a cached thumbnail or a placeholder, and asking for a row's decoration is
what schedules its thumbnail, so only painted rows cost anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from photosort.gui.thumbnails import ThumbnailLoader

PHOTO_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SCORE_ROLE = Qt.ItemDataRole.UserRole + 2


def rows_by_id(ids: Sequence[int]) -> dict[int, int]:
    """Each photo's row in ``ids``: plain data, so a worker can make it."""
    return {pid: row for row, pid in enumerate(ids)}


class PhotoGridModel(QAbstractListModel):
    """Photo ids in display order, with optional search scores.

    The ids are a numpy array, not a list: every full pass of Python's garbage collector
    walks a list's items, and a million ints scattered in memory made each pass (one
    every second or so while names load) hold the GIL for 130 ms: the grid stuttered.
    """

    labels_changed = Signal()  # captions arrived: repaint what shows (see ``set_labels``)

    def __init__(self, thumbnails: ThumbnailLoader, parent: QObject | None = None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self._ids: np.ndarray = np.empty(0, np.int64)
        self._scores: list[float] | None = None
        self._row_of: dict[int, int] = {}
        self._labels: dict[int, str] = {}
        thumbnails.ready.connect(self._thumbnail_ready)

    def set_photos(
        self,
        ids: Sequence[int],
        scores: Sequence[float] | None = None,
        row_of: dict[int, int] | None = None,
    ) -> None:
        """Show ``ids``; ``row_of`` (from ``rows_by_id``) may come made by a worker: for a
        million ids it takes 0.6 s, which the GUI thread would otherwise stall for."""
        self.beginResetModel()
        self._ids = np.asarray(ids, dtype=np.int64)
        self._scores = list(scores) if scores is not None else None
        self._row_of = row_of if row_of is not None else rows_by_id(self._ids.tolist())
        self.endResetModel()
        self.thumbnails.forget_pending()

    def extend_photos(self, ids: Sequence[int] | np.ndarray, row_of: dict[int, int]) -> None:
        """Rows appended: ``ids`` starts with the ids shown (a browse's first screens,
        then the whole list); the view keeps its scroll position and selection."""
        start = len(self._ids)
        if len(ids) <= start:
            return
        self.beginInsertRows(QModelIndex(), start, len(ids) - 1)
        self._ids = np.asarray(ids, dtype=np.int64)
        self._row_of = row_of
        self.endInsertRows()

    def set_labels(self, labels: dict[int, str]) -> None:
        """Short captions (file names) for rows; filled lazily by the window (a huge
        library's names arrive in pieces after its grid shows).

        Captions are read when a row is painted, so the view only needs to repaint: a
        ``dataChanged`` over a million rows cost the GUI thread up to 0.5 s per piece once
        the view had laid them out, and the grid stuttered while names loaded."""
        self._labels.update(labels)
        if labels and len(self._ids):
            self.labels_changed.emit()

    @property
    def ids(self) -> list[int]:
        """Every id shown, as a new list (20 ms at 1M: not for every paint)."""
        return self._ids.tolist()

    @property
    def labels(self) -> Mapping[int, str]:
        """Each shown photo's caption, as held (read-only; it grows as captions arrive)."""
        return MappingProxyType(self._labels)

    @property
    def id_array(self) -> np.ndarray:
        """The ids shown, as they are held (do not change it)."""
        return self._ids

    def id_at(self, row: int) -> int:
        return int(self._ids[row])

    @property
    def has_scores(self) -> bool:
        return self._scores is not None

    def score(self, row: int) -> float | None:
        return self._scores[row] if self._scores is not None else None

    def row_of(self, photo_id: int) -> int | None:
        return self._row_of.get(photo_id)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        photo_id = int(self._ids[index.row()])
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbnails.get(photo_id) or self.thumbnails.placeholder
        if role == PHOTO_ID_ROLE:
            return photo_id
        if role == SCORE_ROLE:
            return self.score(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._labels.get(photo_id, "")
        if role == Qt.ItemDataRole.ToolTipRole:
            name = self._labels.get(photo_id, "")
            score = self.score(index.row())
            return name if score is None else f"{name}\nmatch score {score:.3f}"
        return None

    def _thumbnail_ready(self, photo_id: int) -> None:
        row = self._row_of.get(photo_id)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


class ThumbnailDelegate(QStyledItemDelegate):
    """Fixed-size cell: thumbnail centred, the file name underneath (the score on hover)."""

    def __init__(self, thumb_size: int, parent: QObject | None = None):
        super().__init__(parent)
        self.set_thumb_size(thumb_size)

    def set_thumb_size(self, thumb_size: int) -> None:
        self.thumb_size = thumb_size
        self.cell = QSize(thumb_size + 16, thumb_size * 3 // 4 + 34)

    def sizeHint(  # noqa: N802
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        return self.cell

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        painter.save()
        rect: QRect = option.rect
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(rect.adjusted(2, 2, -2, -2), 6, 6)
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(255, 255, 255, 18))
            painter.drawRoundedRect(rect.adjusted(2, 2, -2, -2), 6, 6)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        image_area = QRect(0, rect.y() + 6, self.thumb_size, self.thumb_size * 3 // 4)
        image_area.moveLeft(rect.x() + (rect.width() - self.thumb_size) // 2)
        if pixmap is not None and not pixmap.isNull():
            scaled = pixmap.size().scaled(image_area.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(image_area.center())
            painter.drawPixmap(target, pixmap)
        caption = index.data(Qt.ItemDataRole.DisplayRole)
        if caption:
            font = QFont(option.font)
            painter.setFont(font)
            role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
            painter.setPen(palette.color(role))
            text_rect = QRect(rect.x() + 4, image_area.bottom() + 4, rect.width() - 8, 20)
            text = painter.fontMetrics().elidedText(
                caption, Qt.TextElideMode.ElideMiddle, text_rect.width()
            )
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


class PhotoGrid(QListView):
    """Icon-mode list tuned for very long lists: uniform sizes, batched layout, static items."""

    photo_activated = Signal(int)  # double-click / Enter: open the large preview

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None):
        super().__init__(parent)
        self.photo_model = PhotoGridModel(thumbnails, self)
        self.setModel(self.photo_model)
        self.photo_model.labels_changed.connect(self.viewport().update)
        self.setItemDelegate(ThumbnailDelegate(thumbnails.size, self))
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(2000)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setSpacing(2)
        self.setWrapping(True)
        self.setMouseTracking(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.activated.connect(lambda index: self.photo_activated.emit(index.data(PHOTO_ID_ROLE)))
        self._fit_cells()

    # -- cell size: the columns share the whole width -------------------------------------------
    def set_thumb_size(self, size: int) -> None:
        """Thumbnail width in px (the cached thumbnails are scaled to it)."""
        delegate = self.itemDelegate()
        if isinstance(delegate, ThumbnailDelegate) and delegate.thumb_size != size:
            delegate.set_thumb_size(size)
            self._fit_cells()

    @property
    def thumb_size(self) -> int:
        delegate = self.itemDelegate()
        return delegate.thumb_size if isinstance(delegate, ThumbnailDelegate) else 0

    def _fit_cells(self) -> None:
        """Widen the cells so whole columns fill the row: no empty strip on the right."""
        delegate = self.itemDelegate()
        if not isinstance(delegate, ThumbnailDelegate):
            return
        base = delegate.thumb_size + 16
        # QListView lays a left-to-right flow out as if the vertical scroll bar were there,
        # shown or not: sized from the viewport, a short result list (no scroll bar) wrapped
        # a column early. Its bounds stay the same whether the bar shows or not.
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        available = self.maximumViewportSize().width() - bar
        width = max(available - 2 * self.spacing() - 1, base)
        columns = max(1, width // (base + self.spacing()))
        cell = QSize(width // columns - self.spacing(), delegate.thumb_size * 3 // 4 + 34)
        if cell != delegate.cell:
            delegate.cell = cell
            self.doItemsLayout()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit_cells()

    def selected_ids(self) -> list[int]:
        rows = sorted(i.row() for i in self.selectionModel().selectedIndexes())
        return [self.photo_model.id_at(r) for r in rows]

    def current_id(self) -> int | None:
        index = self.currentIndex()
        return index.data(PHOTO_ID_ROLE) if index.isValid() else None

    def select_ids(self, photo_ids: Sequence[int]) -> None:
        selection = self.selectionModel()
        selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select
        first = None
        for photo_id in photo_ids:
            row = self.photo_model.row_of(photo_id)
            if row is not None:
                index = self.photo_model.index(row)
                selection.select(index, flags)
                first = first or index
        if first is not None:
            selection.setCurrentIndex(first, QItemSelectionModel.SelectionFlag.NoUpdate)
