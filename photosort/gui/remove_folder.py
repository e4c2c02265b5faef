"""Removing a photo folder from the library: say what manual tags go with it, then ask.

Issue 11 #5: removing a root silently dropped 40 photos' manual "garden" tag. The core
(``Library.root_removal``, from the trust-core work) reports what would be forgotten and
keeps decisions by content hash; where that API is absent, the same count is read here
through the public ``browse``/``photo_tags`` calls. Nothing is removed unless the user
confirms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox, QWidget

from photosort.core.search import SearchQuery

if TYPE_CHECKING:
    from photosort.core.library import Library


@dataclass
class Impact:
    path: str
    photos: int = 0
    manual_decisions: int = 0
    tags: dict[str, int] = field(default_factory=dict)  # manual tag -> photos
    lines: list[str] = field(default_factory=list)  # the core's own wording, when it has one


def removal_impact(library: Library, path: str) -> Impact:
    """What removing ``path`` forgets; read-only (run it off the GUI thread for big roots)."""
    core = getattr(library, "root_removal", None)
    if core is not None:
        found = core(path)
        return Impact(
            path, found.photos, found.manual_decisions, dict(found.tags), list(found.lines())
        )
    ids = library.browse(SearchQuery(folder=path))
    impact = Impact(path, photos=len(ids))
    for tags in library.photo_tags(ids).values():
        for tag in tags:
            if tag.source == "manual":
                impact.manual_decisions += 1
                impact.tags[tag.name] = impact.tags.get(tag.name, 0) + 1
    return impact


def describe(impact: Impact) -> str:
    if impact.lines:
        text = "\n".join(line[:1].upper() + line[1:] for line in impact.lines)
        return text + "."
    text = f"The library forgets {impact.photos} photos in {impact.path} (the files stay on disk)."
    if impact.manual_decisions:
        shown = ", ".join(f"“{t}” ({n})" for t, n in sorted(impact.tags.items())[:8])
        more = "" if len(impact.tags) <= 8 else f" and {len(impact.tags) - 8} more"
        text += (
            f"\n\n{impact.manual_decisions} tags you set or rejected by hand go with them: "
            f"{shown}{more}."
        )
    return text


def confirm_removal(parent: QWidget | None, impact: Impact) -> bool:
    """Ask; the default button keeps the folder."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning if impact.manual_decisions else QMessageBox.Icon.Question)
    box.setWindowTitle("Remove folder?")
    box.setText(f"Remove {impact.path} from the library?")
    box.setInformativeText(describe(impact))
    remove = box.addButton("Remove folder", QMessageBox.ButtonRole.DestructiveRole)
    keep = box.addButton("Keep it", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.exec()
    chosen = box.clickedButton() is remove
    box.deleteLater()
    return chosen
