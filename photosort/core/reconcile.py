"""Bring the catalog in line with what is on disk, without opening unchanged files.

A file is unchanged when its size and mtime match the catalog. A new path whose
content hash equals that of a vanished photo is a move: the row (and its vector and
tags) follows the file. Vanished photos are forgotten only when their root is
really there: a missing or empty (unmounted) root, or a folder that could not be
read, keeps its rows.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from photosort.core import kept_tags
from photosort.core.catalog import Catalog, PhotoRow, now_iso
from photosort.core.folders import inside
from photosort.core.progress import Progress, ProgressCallback
from photosort.core.scanner import FoundFile, WalkIssue, hash_file, walk_photos
from photosort.core.store import PhotoStore, RootStore


@dataclass
class ReconcileResult:
    new: int = 0
    updated: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    #: of ``unchanged``: files whose mtime changed but whose content hash did not
    touched: int = 0
    removed_ids: list[int] = field(default_factory=list)
    issues: list[WalkIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: root id -> {".mov": 12, ...}: videos seen and not indexed (``status`` shows them)
    skipped_videos: dict[int, dict[str, int]] = field(default_factory=dict)


@dataclass
class _RootWalk:
    root_id: int
    root: str
    #: path -> (path, id, size, mtime_ns) of the root's photos in the catalog
    known: dict[str, tuple[str, int, int, int]]
    found: list[FoundFile]
    skipped: bool = False
    unreadable: list[str] = field(default_factory=list)


def reconcile(
    catalog: Catalog,
    roots: Sequence[tuple[int, str]],
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ReconcileResult:
    """Walk ``roots`` (id, path) and record new, changed, moved and removed files."""
    result = ReconcileResult()
    walks = [
        _walk_root(catalog, rid, path, result, on_progress, should_cancel) for rid, path in roots
    ]
    if should_cancel and should_cancel():
        return result  # a partial walk must not be mistaken for deletions

    _drop_second_paths(catalog, walks, result)
    new_files: list[tuple[_RootWalk, FoundFile]] = []
    differ: list[tuple[int, FoundFile]] = []  # size or mtime differ: changed, or touched
    vanished_ids: list[int] = []
    for walk in walks:
        if walk.skipped:
            continue
        known = 0
        for found in walk.found:
            entry = walk.known.get(found.path)
            if entry is None:
                new_files.append((walk, found))
                continue
            known += 1
            if entry[2] == found.size and entry[3] == found.mtime_ns:
                result.unchanged += 1
            else:
                differ.append((entry[1], found))
        if known < len(walk.known):  # a walk finds each path once: every known one seen
            seen = {found.path for found in walk.found}
            for path, entry in walk.known.items():
                if path not in seen and not _under_any(path, walk.unreadable):
                    vanished_ids.append(entry[1])

    # The whole rows only of the photos that differ or vanished (none, on a no-change rescan).
    rows = PhotoStore(catalog).rows_by_id([i for i, _ in differ] + vanished_ids)
    changed: list[tuple[int, FoundFile]] = []
    touched: list[tuple[int, FoundFile]] = []  # new mtime, same bytes: the vector stands
    for row_id, found in differ:
        if _same_content(rows[row_id], found):
            touched.append((row_id, found))
            result.unchanged += 1
        else:
            changed.append((row_id, found))
    vanished = [rows[i] for i in vanished_ids]

    moves = _match_moves(new_files, vanished)
    stamp = now_iso()
    with catalog.transaction() as conn:
        photos = PhotoStore(conn)
        photos.touch([(found.mtime_ns, row_id) for row_id, found in touched])
        for row_id, found in changed:
            photos.changed(row_id, found.size, found.mtime_ns, stamp)
        for (walk, found), row in moves:
            photos.moved(row.id, found.path, walk.root_id, found.size, found.mtime_ns, stamp)
        moved_ids = {row.id for _, row in moves}
        moved_paths = {found.path for (_, found), _ in moves}
        for walk, found in new_files:
            if found.path in moved_paths:
                continue
            photos.add_pending(walk.root_id, found.path, found.size, found.mtime_ns, stamp)
            result.new += 1
        gone = [row.id for row in vanished if row.id not in moved_ids]
        kept_tags.keep(conn, gone, {})  # a file back on disk gets its decisions back
        photos.forget(gone)
        if gone or changed:
            catalog.bump_vectors_version(conn)
    result.updated = len(changed)
    result.touched = len(touched)
    result.moved = len(moves)
    result.removed = len(gone)
    result.removed_ids = gone
    return result


def _walk_root(
    catalog: Catalog,
    root_id: int,
    root: str,
    result: ReconcileResult,
    on_progress: ProgressCallback | None,
    should_cancel: Callable[[], bool] | None,
) -> _RootWalk:
    walk = _RootWalk(root_id, root, catalog.photo_stamps_in_root(root_id), [])
    if not os.path.isdir(root):
        walk.skipped = True
        result.warnings.append(
            f"root {root} is missing or not mounted: kept its {len(walk.known)} photos"
        )
        return walk

    def note(issue: WalkIssue) -> None:
        result.issues.append(issue)
        if os.path.isdir(issue.path):
            walk.unreadable.append(issue.path)

    videos = result.skipped_videos.setdefault(root_id, {})

    def skipped(ext: str) -> None:
        videos[ext] = videos.get(ext, 0) + 1

    follow = RootStore(catalog).follows_links(root_id)
    for found in walk_photos(
        root, on_issue=note, should_cancel=should_cancel, on_skipped=skipped, follow_links=follow
    ):
        walk.found.append(found)
        if on_progress and len(walk.found) % 500 == 0:
            on_progress(Progress("walking", len(walk.found), 0, found.path))
    if not walk.found and walk.known:
        walk.skipped = True
        result.warnings.append(
            f"root {root} is empty (unmounted drive?): kept its {len(walk.known)} photos"
        )
    return walk


def _drop_second_paths(catalog: Catalog, walks: list[_RootWalk], result: ReconcileResult) -> None:
    """One file reached by two paths (a link inside a root, a bind mount, a root added
    twice under other names) is one photo: keep the path the catalog knows, else the
    first found; a catalog photo of another root that is the same file wins too."""
    ids = [found.file_id for walk in walks for found in walk.found]
    if len(set(ids)) == len(ids) and all(
        found.path in walk.known for walk in walks for found in walk.found
    ):
        return  # every file reached once, by a path the catalog knows (a no-change rescan)
    first: dict[tuple[int, int], str] = {}
    for walk in walks:  # known paths first, then real files before links to them
        for found in walk.found:
            if found.file_id is not None and found.path in walk.known:
                first.setdefault(found.file_id, found.path)
    for walk in walks:
        for found in walk.found:
            if found.file_id is not None and not found.link:
                first.setdefault(found.file_id, found.path)
    by_size: dict[int, list[str]] | None = None
    for walk in walks:
        kept: list[FoundFile] = []
        for found in walk.found:
            key = found.file_id
            if key is None:
                kept.append(found)
                continue
            other = first.setdefault(key, found.path)
            if other == found.path and found.path not in walk.known:
                if by_size is None:  # new files only: is it a known photo of a root not walked?
                    by_size = defaultdict(list)
                    for path, size in PhotoStore(catalog).paths_and_sizes():
                        by_size[size].append(path)
                other = next(
                    (p for p in by_size.get(found.size, []) if p != found.path and _same(p, key)),
                    found.path,
                )
            if other != found.path:
                result.issues.append(
                    WalkIssue(found.path, f"same file as {other} (another path to it): skipped")
                )
                continue
            kept.append(found)
        walk.found = kept


def _same(path: str, key: tuple[int, int]) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == key


def _match_moves(
    new_files: list[tuple[_RootWalk, FoundFile]], vanished: list[PhotoRow]
) -> list[tuple[tuple[_RootWalk, FoundFile], PhotoRow]]:
    """Pair new paths with vanished rows of the same size and content hash."""
    by_size: dict[int, list[PhotoRow]] = defaultdict(list)
    for row in vanished:
        if row.content_hash:
            by_size[row.size].append(row)
    moves = []
    for item in new_files:
        candidates = by_size.get(item[1].size)
        if not candidates:
            continue
        try:
            digest = hash_file(item[1].path)
        except OSError:
            continue
        for row in candidates:
            if row.content_hash == digest:
                candidates.remove(row)
                moves.append((item, row))
                break
    return moves


def _same_content(row: PhotoRow, found: FoundFile) -> bool:
    """A file with a new mtime but the same size and content hash (``touch``, a copy that
    kept the bytes, a sync tool) keeps its vector: hashing costs a read, embedding a model."""
    if row.size != found.size or not row.content_hash or row.status != "ok":
        return False
    try:
        return hash_file(found.path) == row.content_hash
    except OSError:
        return False  # the embedding pass reads it again and reports why


def _under_any(path: str, folders: list[str]) -> bool:
    return any(inside(path, folder) for folder in folders)
