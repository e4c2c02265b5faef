"""Planning: which photos go, with which tags, to which names (also the dry run's answer);
nothing is written."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from photosort.core.catalog import Catalog
from photosort.core.export.names import candidates, inside, safe_filename, safe_name
from photosort.core.export.placing import _identical
from photosort.core.export.request import (
    LAYOUTS,
    MODES,
    PAIR_CHOICES,
    ExportError,
    ExportItem,
    ExportRequest,
)
from photosort.core.store import PhotoStore, TagStore


@dataclass(frozen=True)
class Source:
    photo_id: int
    path: str
    tags: tuple[str, ...]  # the requested tags this photo has, in request order
    problem: str | None = None  # why it must not be exported (not a photo, outside its root)


def plan(request: ExportRequest, sources: list[Source]) -> list[ExportItem]:
    """What goes where, before anything is written (also the dry run's answer)."""
    base = Path(os.path.abspath(os.path.expanduser(os.fspath(request.dest))))
    taken: dict[str, set[str]] = {}
    items: list[ExportItem] = []
    folders = tag_folders([t for src in sources for t in src.tags])
    for src in sources:
        if src.problem:
            tag = src.tags[0] if src.tags else ""
            items.append(ExportItem(src.photo_id, src.path, "", tag, "failed", src.problem))
            continue
        if not src.tags:  # a search result or a picked photo: straight into the destination
            targets: list[tuple[str, str | None]] = [("", None)]
        elif request.layout == "flat" or request.mode == "move":
            targets = [
                (src.tags[0] if request.mode == "move" else "; ".join(src.tags), src.tags[0])
            ]
        else:
            targets = [(tag, tag) for tag in src.tags]
        for label, folder_tag in targets:
            flat = request.layout == "flat" or folder_tag is None
            folder = base if folder_tag is None or flat else base / folders[folder_tag]
            if os.path.dirname(src.path) == str(folder):  # already there (an earlier export)
                items.append(
                    ExportItem(
                        src.photo_id,
                        src.path,
                        src.path,
                        label,
                        "skipped",
                        "already in the destination folder",
                    )
                )
                continue
            used = taken.setdefault(str(folder), set())
            name = safe_filename(os.path.basename(src.path))
            twin = None
            for cand in candidates(name):
                if cand.casefold() in used:
                    continue
                if not os.path.lexists(folder / cand):
                    break
                if twin is None and request.mode != "move" and _identical(src.path, folder / cand):
                    twin = cand
            if twin is not None:  # exported before, same content: nothing to do
                used.add(twin.casefold())
                items.append(
                    ExportItem(
                        src.photo_id,
                        src.path,
                        str(folder / twin),
                        label,
                        "skipped",
                        "already there",
                    )
                )
                continue
            used.add(cand.casefold())
            items.append(ExportItem(src.photo_id, src.path, str(folder / cand), label))
    return items


def tag_folders(tags: Iterable[str]) -> dict[str, str]:
    """A folder name per tag, never the same for two tags ("a/b" and "a_b", "x." and "x",
    "Dog" and "dog" on a case-insensitive disk): a later one gets " (2)"."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for tag in dict.fromkeys(tags):
        for cand in candidates(safe_name(tag)):
            if cand.casefold() not in used:
                break
        used.add(cand.casefold())
        out[tag] = cand
    return out


def check_request(request: ExportRequest) -> None:
    if request.mode not in MODES:
        raise ExportError(f"unknown mode {request.mode!r}: choose one of {', '.join(MODES)}")
    if request.layout not in LAYOUTS:
        raise ExportError(f"unknown layout {request.layout!r}: choose {' or '.join(LAYOUTS)}")
    if not request.tags and request.photo_ids is None:
        raise ExportError("nothing to export: give at least one tag, or the photos")
    if request.photo_ids is not None and not request.photo_ids:
        raise ExportError("nothing to export: no photo was picked")
    if request.pair not in PAIR_CHOICES:
        raise ExportError(f"unknown pair choice {request.pair!r}: {', '.join(PAIR_CHOICES)}")
    if not os.fspath(request.dest):
        raise ExportError("no destination folder given")
    dest = os.path.abspath(os.path.expanduser(os.fspath(request.dest)))
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise ExportError(f"destination is not a folder: {dest}")


def sources_for(catalog: Catalog, tags: Iterable[str], photo_ids: list[int] | None) -> list[Source]:
    """Photos that have any of ``tags`` (effective tags), with which of them, in path order;
    without tags, the photos ``photo_ids`` names (a search's results, the app's selection)."""
    tags = list(dict.fromkeys(t.strip() for t in tags))
    if not tags:
        return _picked_sources(catalog, photo_ids or [])
    rows = TagStore(catalog).tagged_photos(tags)
    allowed = None if photo_ids is None else set(photo_ids)
    found: dict[int, tuple[str, set[str], tuple]] = {}
    for pid, path, tag, *where in rows:
        if allowed is None or pid in allowed:
            found.setdefault(pid, (path, set(), tuple(where)))[1].add(tag)
    return [
        Source(pid, path, tuple(t for t in tags if t in have), not_a_photo(path, *where))
        for pid, (path, have, where) in found.items()
    ]


def _picked_sources(catalog: Catalog, photo_ids: list[int]) -> list[Source]:
    """The photos a search or a selection picked, checked like tagged ones (not_a_photo)."""
    ids = list(dict.fromkeys(photo_ids))
    rows = PhotoStore(catalog).with_roots(ids)
    found: dict[int, tuple[str, tuple]] = {r[0]: (r[1], tuple(r[2:])) for r in rows}
    return [
        Source(pid, path, (), not_a_photo(path, *where))
        for pid, (path, where) in sorted(found.items(), key=lambda item: item[1][0])
    ]


def not_a_photo(path: str, status: str, root: str, follow_links: int) -> str | None:
    """Why ``path`` must not be exported, or None: only photos the catalog could read,
    that are plain files inside their root (unless the user let that root follow links)."""
    if status == "failed":
        return "not exported: it could not be read as a photo"
    try:
        if os.path.islink(path) and not follow_links and not inside(path, root):
            return "not exported: a symlink that leads outside its folder"
        if not stat.S_ISREG(os.stat(path).st_mode):
            return "not exported: not a regular file"
    except OSError:
        return None  # missing now: the export reports the real error when it gets there
    return None
