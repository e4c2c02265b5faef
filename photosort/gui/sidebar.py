"""The left sidebar: folders, categories with their labels, manual tags — each a filter.

Clicking a folder picks it (clicking it again lets go); clicking a label or tag toggles
it. All active filters combine (AND) with each other and with the search.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

KIND_ROLE = Qt.ItemDataRole.UserRole + 1
VALUE_ROLE = Qt.ItemDataRole.UserRole + 2


@dataclass
class Filters:
    folder: str | None = None
    tags: list[str] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)  # exclusive categories
    not_tags: list[str] = field(default_factory=list)  # labels of the uncertain categories

    @property
    def active(self) -> bool:
        return bool(self.folder or self.tags or self.uncertain)


@dataclass
class SidebarData:
    """Everything the sidebar shows, read in a worker thread by ``library_data.load_sidebar``."""

    total: int = 0
    failed: int = 0
    roots: list[str] = field(default_factory=list)
    folders: dict[str, int] = field(default_factory=dict)  # folder path -> photo count
    categories: list = field(default_factory=list)  # core Category objects
    tag_counts: list = field(default_factory=list)  # core TagCount objects
    date_span: tuple = (None, None)  # first and last date taken (ISO), for the date filter


class Sidebar(QTreeWidget):
    filters_changed = Signal()
    tag_context = Signal(str, object)  # tag name, global position: the window shows a menu
    category_context = Signal(str, object)  # category name, global position

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setColumnCount(2)
        self.setRootIsDecorated(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setUniformRowHeights(True)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        self.itemClicked.connect(self._clicked)
        self.filters = Filters()
        self._items: dict[tuple[str, str], QTreeWidgetItem] = {}
        self.manual_tags: list[str] = []
        self.label_tags: list[str] = []
        self._uncertain_labels: dict[str, list[str]] = {}

    # -- content --------------------------------------------------------------------------
    def populate(self, data: SidebarData) -> None:
        expanded = {
            self.itemFromIndex(i).data(0, VALUE_ROLE)
            for i in self._all_indexes()
            if self.itemFromIndex(i).isExpanded()
        }
        first_time = not self._items
        self.clear()
        self._items.clear()
        library = self._section("Library")
        self._leaf(library, "All photos", "all", "", data.total)
        if data.failed:
            self._leaf(library, "Could not read", "failed", "", data.failed)
        folders = self._section("Folders")
        for root in data.roots:
            root_item = self._leaf(
                folders, _short_path(root), "folder", root, _count_under(data.folders, root)
            )
            root_item.setToolTip(0, root)
            _add_subfolders(self, root_item, root, data.folders)
        counts = {(t.category, t.name): t.count for t in data.tag_counts}
        self.label_tags = []
        self._uncertain_labels = {}
        cats = None
        if data.categories:
            cats = self._section("Categories")
            for category in data.categories:
                cat_item = QTreeWidgetItem(cats, [category.name, ""])
                cat_item.setData(0, KIND_ROLE, "category")
                cat_item.setData(0, VALUE_ROLE, "category:" + category.name)
                cat_item.setToolTip(0, f"{category.kind} category, threshold {category.threshold}")
                for label in category.labels:
                    self.label_tags.append(label.name)
                    count = counts.get((category.name, label.name), 0)
                    self._leaf(cat_item, label.name, "tag", label.name, count)
                for tc in data.tag_counts:
                    if tc.category == category.name and tc.name not in {
                        lb.name for lb in category.labels
                    }:  # "uncertain": no label of the group reached its threshold
                        item = self._leaf(cat_item, tc.name, "uncertain", category.name, tc.count)
                        item.setForeground(0, QBrush(QColor(200, 160, 60)))
                        item.setToolTip(
                            0,
                            "Photos for which no label of this exclusive "
                            "category reached its threshold",
                        )
                        self._uncertain_labels[category.name] = [lb.name for lb in category.labels]
                if first_time or ("category:" + category.name) in expanded:
                    cat_item.setExpanded(True)
        self.manual_tags = sorted(
            {t.name for t in data.tag_counts if t.category is None}, key=str.lower
        )
        tags = self._section("Tags")
        for tc in sorted(
            (t for t in data.tag_counts if t.category is None), key=lambda t: t.name.lower()
        ):
            self._leaf(tags, tc.name, "tag", tc.name, tc.count)
        if not self.manual_tags:
            hint = QTreeWidgetItem(tags, ["none yet (Ctrl+T)", ""])
            hint.setToolTip(0, "Select photos, then Tags → Add tag… (Ctrl+T)")
            hint.setForeground(0, QBrush(QColor(140, 140, 140)))
            hint.setFlags(Qt.ItemFlag.NoItemFlags)
            hint.setFirstColumnSpanned(True)  # the count column would cut it
        for section in (library, folders, cats, tags):
            if section is not None:
                section.setExpanded(True)
        if self._drop_vanished_filters():
            self._sync_not_tags()
            self._show_active()
            self.filters_changed.emit()  # the grid shows what the remaining filters match
            return
        self._sync_not_tags()
        self._show_active()

    def _drop_vanished_filters(self) -> bool:
        """Forget filters on folders or tags that no longer exist (a tag undone away, a
        folder removed); True when any went, so the grid is asked again."""
        dropped = False
        if self.filters.folder and ("folder", self.filters.folder) not in self._items:
            self.filters.folder = None
            dropped = True
        tags = {value.casefold() for kind, value in self._items if kind == "tag"}
        kept = [t for t in self.filters.tags if t.casefold() in tags]
        if kept != self.filters.tags:
            self.filters.tags = kept
            dropped = True
        return dropped

    def _section(self, title: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self, [title.upper(), ""])
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 0.85)
        item.setFont(0, font)
        item.setForeground(0, QBrush(QColor(150, 150, 150)))
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        item.setData(0, KIND_ROLE, "section")
        item.setData(0, VALUE_ROLE, "section:" + title)
        item.setFirstColumnSpanned(True)
        return item

    def _leaf(
        self,
        parent: QTreeWidget | QTreeWidgetItem,
        text: str,
        kind: str,
        value: str,
        count: int,
    ) -> QTreeWidgetItem:
        item = QTreeWidgetItem(parent, [text, str(count)])
        item.setData(0, KIND_ROLE, kind)
        item.setData(0, VALUE_ROLE, value)
        item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setForeground(1, QBrush(QColor(140, 140, 140)))
        self._items[(kind, value)] = item
        return item

    def _all_indexes(self) -> list[QModelIndex]:
        def walk(item: QTreeWidgetItem) -> Iterator[QModelIndex]:
            for k in range(item.childCount()):
                child = item.child(k)
                if child is None:  # typed Optional; never None below childCount()
                    continue
                yield self.indexFromItem(child)
                yield from walk(child)

        return list(walk(self.invisibleRootItem()))

    def item_for(self, kind: str, value: str) -> QTreeWidgetItem | None:
        """The item of a folder (``"folder"``) or tag/label (``"tag"``), for tests and menus."""
        return self._items.get((kind, value))

    # -- filtering ------------------------------------------------------------------------
    def _clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        kind = item.data(0, KIND_ROLE)
        value = item.data(0, VALUE_ROLE)
        if kind == "all":
            self.filters = Filters()
        elif kind == "folder":
            self.filters.folder = None if self.filters.folder == value else value
        elif kind == "tag":
            if value in self.filters.tags:
                self.filters.tags.remove(value)
            else:
                self.filters.tags.append(value)
        elif kind == "uncertain":
            if value in self.filters.uncertain:
                self.filters.uncertain.remove(value)
            else:
                self.filters.uncertain.append(value)
        else:
            return
        self._sync_not_tags()
        self._show_active()
        self.filters_changed.emit()

    def _sync_not_tags(self) -> None:
        """Uncertain for a group = none of its labels: expressed as excluded tags."""
        self.filters.not_tags = [
            label for cat in self.filters.uncertain for label in self._uncertain_labels.get(cat, [])
        ]

    def clear_filters(self) -> None:
        self.filters = Filters()
        self._show_active()
        self.filters_changed.emit()

    def _show_active(self) -> None:
        active = {("folder", self.filters.folder)} | {("tag", t) for t in self.filters.tags}
        active |= {("uncertain", c) for c in self.filters.uncertain}
        nothing = not self.filters.active
        for key, item in self._items.items():
            on = key in active or (key[0] == "all" and nothing)
            font = item.font(0)
            font.setBold(on)
            item.setFont(0, font)
            item.setBackground(0, QBrush(QColor(70, 110, 170, 110)) if on else QBrush())
            item.setBackground(1, QBrush(QColor(70, 110, 170, 110)) if on else QBrush())

    def _context_menu(self, pos: QPoint) -> None:
        item = self.itemAt(pos)
        if item is not None and item.data(0, KIND_ROLE) == "tag":
            self.tag_context.emit(item.data(0, VALUE_ROLE), self.viewport().mapToGlobal(pos))
        elif item is not None and item.data(0, KIND_ROLE) == "category":
            name = str(item.data(0, VALUE_ROLE)).removeprefix("category:")
            self.category_context.emit(name, self.viewport().mapToGlobal(pos))


def _count_under(folders: dict[str, int], root: str) -> int:
    prefix = root.rstrip(os.sep) + os.sep
    return sum(n for f, n in folders.items() if f == root or f.startswith(prefix))


def _add_subfolders(
    sidebar: Sidebar, parent: QTreeWidgetItem, root: str, folders: dict[str, int]
) -> None:
    """The folder tree under ``root`` (one pass: fine with thousands of folders)."""
    prefix = root.rstrip(os.sep) + os.sep
    tree: dict = {}
    for folder, count in folders.items():
        if not folder.startswith(prefix):
            continue
        node = tree
        for part in folder[len(prefix) :].split(os.sep):
            node = node.setdefault(part, {"": 0})
            node[""] += count  # "" holds the photo count under this folder

    def add(item: QTreeWidgetItem, path: str, node: dict) -> None:
        for name in sorted(k for k in node if k):
            child = node[name]
            full = path.rstrip(os.sep) + os.sep + name
            leaf = sidebar._leaf(item, name, "folder", full, child[""])
            leaf.setToolTip(0, full)
            add(leaf, full, child)

    add(parent, root, tree)


def _short_path(path: str) -> str:
    home = os.path.expanduser("~")
    if path == home or path.startswith(home + os.sep):
        return "~" + path[len(home) :]
    return path
