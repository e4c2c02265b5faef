"""Undoable tag housekeeping in the app: rename, merge or delete a tag, rename a category,
remove a label. Each is a QUndoCommand that snapshots the rows it will touch first
(``Library.tag_snapshot``) and puts them back on undo (``Library.restore_tags``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox

from photosort.core.errors import PhotosortError
from photosort.core.library import Library
from photosort.gui.sidebar import VALUE_ROLE

if TYPE_CHECKING:
    from PySide6.QtGui import QUndoStack
    from PySide6.QtWidgets import QMainWindow

    from photosort.gui.sidebar import Sidebar

    _Window = QMainWindow  # what the mixin is mixed into, for the type checker
else:
    _Window = object


class TagAdminCommand(QUndoCommand):
    """``action(library)`` returns a message; names are the tags/categories it touches.

    Call ``run()`` first: an error there (a name taken) reaches the caller before the
    command is pushed; the push then skips its first ``redo``.
    """

    def __init__(
        self,
        library: Library,
        text: str,
        action: Callable[[Library], object],
        tags: list[str],
        categories: list[str],
        on_change: Callable[[str], None],
        created: list[str] | None = None,
    ):
        super().__init__(text)
        self.library = library
        self.action = action
        self.created = list(created or [])
        self.on_change = on_change
        self.snapshot = library.tag_snapshot(tags + self.created, categories)
        self.message = ""
        self._ran = False

    def run(self) -> str:
        self.message = str(self.action(self.library))
        self._ran = True
        return self.message

    def redo(self) -> None:
        if self._ran:  # the push after run(): already done
            self._ran = False
        else:
            self.run()
            self._ran = False
        self.on_change(self.message)

    def undo(self) -> None:
        self.library.restore_tags(self.snapshot, self.created)
        self.on_change(f"Undone: {self.text()}")


class TagAdminActions(_Window):
    """The main window's menus and prompts for these commands (a mixin of MainWindow: it
    uses the window's library, sidebar, undo stack and refresh methods)."""

    if TYPE_CHECKING:  # provided by MainWindow
        library: Library
        sidebar: Sidebar
        undo_stack: QUndoStack

        def refresh_all(self) -> None: ...
        def _load_selection(self) -> None: ...
        def open_category_editor(self) -> None: ...

    def _label_category(self, name: str) -> str | None:
        """The category a label belongs to, from the sidebar (no catalog read here)."""
        item = self.sidebar.item_for("tag", name)
        parent = item.parent() if item is not None else None
        value = str(parent.data(0, VALUE_ROLE) or "") if parent is not None else ""
        return value.removeprefix("category:") if value.startswith("category:") else None

    def _tag_admin_actions(self, menu: QMenu, name: str) -> None:
        menu.addAction(f"Rename “{name}”…", partial(self.prompt_rename_tag, name))
        category = self._label_category(name)
        if category is None:
            menu.addAction(f"Delete tag “{name}”", partial(self.delete_tag, name))
        else:
            menu.addAction(
                f"Remove “{name}” from {category}", partial(self.remove_label, category, name)
            )

    def _sidebar_category_menu(self, name: str, global_pos: QPoint) -> None:
        menu = QMenu(self)
        menu.addAction(f"Rename category “{name}”…", partial(self.prompt_rename_category, name))
        menu.addAction("Edit categories…", self.open_category_editor)
        menu.exec(global_pos)

    def run_tag_admin(
        self,
        text: str,
        action: Callable[[Library], object],
        tags: list[str],
        categories: Iterable[str] = (),
        created: Iterable[str] = (),
    ) -> bool:
        """Run a rename/merge/delete as one undoable step; a refusal is a message box."""
        command = TagAdminCommand(
            self.library, text, action, tags, list(categories), self._names_changed, list(created)
        )
        try:
            command.run()
        except PhotosortError as exc:
            QMessageBox.warning(self, text, str(exc))
            return False
        self.undo_stack.push(command)
        return True

    def _names_changed(self, message: str) -> None:
        self.statusBar().showMessage(message, 10000)
        if self.sidebar.filters.tags:  # a filter on a renamed or deleted tag would show nothing
            self.sidebar.filters.tags = []
        self.refresh_all()
        self._load_selection()

    def prompt_rename_tag(self, name: str) -> None:
        new, ok = QInputDialog.getText(
            self,
            "Rename tag",
            f"New name for “{name}” (an existing tag's name merges them):",
            text=name,
        )
        if ok and new.strip() and new.strip() != name:
            self.rename_tag(name, new.strip())

    def rename_tag(self, old: str, new: str) -> bool:
        return self.run_tag_admin(
            f"Rename tag {old} to {new}", lambda lib: lib.rename_tag(old, new), [old], (), [new]
        )

    def delete_tag(self, name: str, confirm: bool = True) -> bool:
        if confirm and (
            QMessageBox.question(
                self, "Delete tag", f"Remove the tag “{name}” from every photo? (Edit → Undo)"
            )
            != QMessageBox.StandardButton.Yes
        ):
            return False
        return self.run_tag_admin(f"Delete tag {name}", lambda lib: lib.delete_tag(name), [name])

    def remove_label(self, category: str, label: str) -> bool:
        return self.run_tag_admin(
            f"Remove label {label} from {category}",
            lambda lib: lib.remove_label(category, label),
            [label],
            [category],
        )

    def prompt_rename_category(self, name: str) -> None:
        new, ok = QInputDialog.getText(self, "Rename category", "New name:", text=name)
        if ok and new.strip() and new.strip() != name:
            self.rename_category(name, new.strip())

    def rename_category(self, old: str, new: str) -> bool:
        return self.run_tag_admin(
            f"Rename category {old} to {new}",
            lambda lib: lib.rename_category(old, new),
            [],
            [old],
        )
