"""What an export is asked to do, and what it did: the request, its items, the summary."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from photosort.core.errors import PhotosortError

MODES = ("copy", "hardlink", "symlink", "move")
LAYOUTS = ("by-tag", "flat")


PAIR_CHOICES = ("both", "raw", "jpeg")


class ExportError(PhotosortError):
    """The export as a whole cannot run (bad destination, unknown mode); one line."""


@dataclass
class ExportRequest:
    tags: list[str]
    dest: str | os.PathLike
    mode: str = "copy"
    layout: str = "by-tag"
    dry_run: bool = False
    xmp: bool = False
    photo_ids: list[int] | None = None  # only these photos (e.g. the GUI's selection)
    pair: str = "both"  # RAW+JPEG pairs: "both" files, only the "raw" or only the "jpeg"


@dataclass
class ExportItem:
    photo_id: int
    source: str
    destination: str
    tag: str
    status: str = "planned"  # planned | done | failed | skipped
    error: str | None = None


@dataclass
class ExportSummary:
    dest: str
    mode: str
    dry_run: bool = False
    items: list[ExportItem] = field(default_factory=list)
    manifest: str | None = None
    cancelled: bool = False
    warnings: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the export stopped early (a full disk), one line

    @property
    def done(self) -> int:
        return sum(i.status == "done" for i in self.items)

    @property
    def failed(self) -> int:
        return sum(i.status == "failed" for i in self.items)

    def line(self) -> str:
        verb = {"copy": "copied", "hardlink": "linked", "symlink": "symlinked", "move": "moved"}[
            self.mode
        ]
        if self.dry_run:
            todo = len(self.items) - self.skipped
            text = f"dry run: would have {verb} {todo} photos into {self.dest}"
            return text + (f", {self.skipped} already there" if self.skipped else "")
        text = f"{self.done} photos {verb} into {self.dest}, {self.failed} failed"
        skipped = self.skipped
        if skipped:
            text += f", {skipped} already there"
        if self.stopped:
            return f"stopped: {self.stopped}; " + text
        return ("cancelled: " if self.cancelled else "") + text

    @property
    def skipped(self) -> int:
        return sum(i.status == "skipped" for i in self.items)

    def as_dict(self) -> dict:
        return {
            "dest": self.dest,
            "mode": self.mode,
            "dry_run": self.dry_run,
            "done": self.done,
            "failed": self.failed,
            "skipped": self.skipped,
            "cancelled": self.cancelled,
            "stopped": self.stopped,
            "manifest": self.manifest,
            "warnings": list(self.warnings),
            "items": [dict(i.__dict__) for i in self.items],
        }
