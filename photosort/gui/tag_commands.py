"""Undoable tagging: each click that tags photos is a QUndoCommand on the window's stack.

A command remembers, per photo, whether the tag had a manual decision before (on, off or
none); undo clears the manual decisions it made and restores the old ones, so an auto tag
the user accepted by mistake goes back to being just an auto tag.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from photosort.core.library import Library


def _describe(count: int, add: list[str], remove: list[str]) -> str:
    parts = []
    if add:
        parts.append("tag " + ", ".join(add))
    if remove:
        parts.append("untag " + ", ".join(remove))
    text = " and ".join(parts)  # capitalize() would lower-case the user's tag names
    return f"{text[:1].upper()}{text[1:]} ({count} photo{'s' if count != 1 else ''})"


class TagCommand(QUndoCommand):
    def __init__(
        self,
        library: Library | Callable[[], Library],
        photo_ids: list[int],
        add: list[str],
        remove: list[str],
        on_change: Callable[[list[int]], None],
    ):
        super().__init__(_describe(len(photo_ids), add, remove))
        # a getter keeps undo working after the window reopens the library (model switch)
        self._library = library
        self.ids = list(photo_ids)
        self.add = list(add)
        self.remove = [t for t in remove if t not in add]
        self.on_change = on_change
        names = set(self.add) | set(self.remove)
        before = self.library.photo_tags(self.ids)
        # (photo, tag) -> "on" / "off": the manual decisions that existed before this command
        self.previous: dict[tuple[int, str], str] = {
            (pid, t.name): t.state
            for pid, tags in before.items()
            for t in tags
            if t.source == "manual" and t.name in names
        }

    @property
    def library(self) -> Library:
        return self._library() if callable(self._library) else self._library

    def redo(self) -> None:
        self.library.tag_photos(self.ids, add=self.add, remove=self.remove)
        self.on_change(self.ids)

    def undo(self) -> None:
        self.library.clear_manual(self.ids, self.add + self.remove)
        for state in ("on", "off"):
            for name in self.add + self.remove:
                ids = [pid for pid in self.ids if self.previous.get((pid, name)) == state]
                if ids:
                    if state == "on":
                        self.library.tag_photos(ids, add=[name])
                    else:
                        self.library.tag_photos(ids, remove=[name])
        self.on_change(self.ids)
