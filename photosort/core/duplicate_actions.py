"""What can be done with duplicate groups: tag the others, export the keepers, trash the
others. Nothing here deletes: trashing moves files to the system trash (``send2trash``),
only when confirmed, one journal row per file written before the move.

Before the others are tagged or trashed, their manual tags are merged into the keeper,
so no manual tag is lost with a copy. A keeper's own explicit rejection of a tag wins
over another copy's "on" (reported as a conflict, not overwritten).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from photosort.core import export as exporter
from photosort.core import tagging
from photosort.core.catalog import Catalog, now_iso
from photosort.core.duplicates import DuplicatesError, Group
from photosort.core.progress import ProgressCallback, RateMeter
from photosort.core.store import PhotoStore, TagStore, TrashJournal


@dataclass
class ActionSummary:
    merged: int = 0  # manual tags copied onto keepers
    tagged: int = 0
    trashed: list[str] = field(default_factory=list)
    removed_ids: list[int] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    conflicts: list[str] = field(default_factory=list)
    export: exporter.ExportSummary | None = None

    def as_dict(self) -> dict:
        return {
            "merged_tags": self.merged,
            "tagged": self.tagged,
            "trashed": list(self.trashed),
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "conflicts": list(self.conflicts),
            "export": self.export.as_dict() if self.export else None,
        }


def _others(groups: Iterable[Group]) -> list[tuple[Group, int]]:
    """(group, other id) pairs, never a photo that keeps a group it is in."""
    groups = list(groups)
    keepers = {g.keeper_id for g in groups}
    return [(g, m.photo_id) for g in groups for m in g.others if m.photo_id not in keepers]


def merge_manual_tags(
    catalog: Catalog, groups: Iterable[Group], skip: Iterable[str] = ()
) -> tuple[int, list[str]]:
    """Copy the others' manual "on" tags to their keeper; returns (added, conflicts)."""
    skip = set(skip)
    added = 0
    conflicts: list[str] = []
    stamp = now_iso()
    with catalog.transaction() as conn:
        for group, other in _others(groups):
            keeper = group.keeper_id
            tags = TagStore(conn)
            mine = tags.manual_of(keeper)
            for tag in [t for t, state in tags.manual_of(other).items() if state == "on"]:
                if tag in skip or mine.get(tag) == "on":
                    continue
                if mine.get(tag) == "off":
                    conflicts.append(f"{group.keeper.path}: keeps its rejection of {tag!r}")
                    continue
                tags.set_manual([keeper], tag, "on", stamp)
                mine[tag] = "on"
                added += 1
    return added, conflicts


def tag_others(catalog: Catalog, groups: list[Group], tag: str) -> ActionSummary:
    """Merge the others' manual tags into the keepers, then tag the others (undo: remove
    the tag with ``photosort tag --remove``)."""
    tag = tag.strip()
    if not tag:
        raise DuplicatesError("give a tag name, e.g. --tag-others duplicate")
    summary = ActionSummary()
    summary.merged, summary.conflicts = merge_manual_tags(catalog, groups, skip=[tag])
    others = sorted({pid for _, pid in _others(groups)})
    tagging.set_manual(catalog, others, add=[tag])
    summary.tagged = len(others)
    return summary


def export_keepers(
    catalog: Catalog,
    groups: list[Group],
    dest: str | os.PathLike,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ActionSummary:
    """Copy each group's keeper into ``dest`` (flat, never overwriting, with a manifest)."""
    seen: dict[int, str] = {}
    for group in groups:
        seen.setdefault(group.keeper_id, group.keeper.path)
    request = exporter.ExportRequest(["keeper"], dest, mode="copy", layout="flat")
    exporter.check_request(request)
    sources = [exporter.Source(pid, path, ("keeper",)) for pid, path in seen.items()]
    summary = ActionSummary()
    summary.export = exporter.run(
        catalog, request, sources, lambda _pid: [], lambda _f: 0, on_progress, should_cancel
    )
    return summary


def trash_others(
    catalog: Catalog,
    groups: list[Group],
    confirmed: bool,
    send_to_trash: Callable[[str], None] | None = None,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ActionSummary:
    """Move the others to the system trash, only when ``confirmed``.

    Each file is checked first (still there, unchanged since the scan; its keeper still on
    disk; for exact copies, still the same bytes), journalled, trashed, and then forgotten
    by the catalog. Manual tags are merged into the keeper before anything moves.
    """
    if not confirmed:
        raise DuplicatesError(
            "moving files to the trash needs confirmation: add --yes (nothing was moved)"
        )
    if send_to_trash is None:
        from send2trash import send2trash

        send_to_trash = send2trash
    summary = ActionSummary()
    summary.merged, summary.conflicts = merge_manual_tags(catalog, groups)
    todo = _others(groups)
    meter = RateMeter("moving to trash", len(todo), on_progress)
    meter.report(0)
    for n, (group, pid) in enumerate(todo, 1):
        if should_cancel and should_cancel():
            break
        member = next(m for m in group.members if m.photo_id == pid)
        why = _unsafe(catalog, group, pid)
        if why:
            summary.skipped.append((member.path, why))
            continue
        row = PhotoStore(catalog).file_facts([pid])[pid]
        path = row["path"]
        journal = TrashJournal(catalog)
        entry = journal.begin(
            pid, path, row["content_hash"], row["size"], group.keeper.path, group.kind
        )
        try:
            send_to_trash(path)
        except Exception as exc:  # noqa: BLE001 - any trash failure leaves the file in place
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            journal.failed(entry, reason)
            summary.skipped.append((path, f"could not move it to the trash: {reason}"))
            continue
        with catalog.transaction() as conn:
            TrashJournal(conn).trashed(entry)
            PhotoStore(conn).forget([pid])
            catalog.bump_vectors_version(conn)
        summary.trashed.append(path)
        summary.removed_ids.append(pid)
        meter.report(n, path)
    return summary


def _unsafe(catalog: Catalog, group: Group, pid: int) -> str | None:
    """Why a photo must not be trashed now, or None."""
    found = PhotoStore(catalog).file_facts([pid, group.keeper_id])
    if pid not in found or group.keeper_id not in found:
        return "no longer in the catalog; scan again"
    keeper, other = found[group.keeper_id], found[pid]
    if not os.path.isfile(keeper[1]):
        return f"its keeper {keeper[1]} is not on disk"
    try:
        st = os.stat(other[1])
    except OSError:
        return "not on disk any more"
    if st.st_size != other[2] or st.st_mtime_ns != other[3]:
        return "changed since the last scan; scan again"
    if group.kind == "exact":
        from photosort.core.scanner import content_hash

        try:
            with open(keeper[1], "rb") as fh:
                if content_hash(fh.read()) != other[4]:
                    return "no longer identical to its keeper; scan again"
        except OSError as exc:
            return f"cannot read its keeper: {exc.strerror or exc}"
    return None
