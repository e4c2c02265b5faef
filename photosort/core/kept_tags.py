"""Manual decisions outlive their photo's catalog row: kept by content, restored when it returns.

``manual_tags`` is keyed by photo id and cascades when a photo is forgotten (a root
removed, a file gone from disk). Before any of that, the decisions are copied here under
the photo's content hash; whenever a photo with that content is in the catalog again (the
folder added back, the file restored), its decisions come back. A decision the user made
is never lost by forgetting a photo.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

from photosort.core.catalog import Catalog
from photosort.core.scanner import hash_file
from photosort.core.store import KeptTagStore


@dataclass
class RootRemoval:
    """What removing a root forgets: shown to the user before they confirm."""

    path: str
    photos: int = 0
    manual_decisions: int = 0  # manual tag rows (added or rejected)
    tagged_photos: int = 0  # photos with at least one manual decision
    tags: dict[str, int] = field(default_factory=dict)  # manual tag -> photos
    unkeepable: int = 0  # decisions on photos whose content cannot be read: lost

    def lines(self) -> list[str]:
        out = [f"removing {self.path} forgets {self.photos} photos (the files stay on disk)"]
        if self.manual_decisions:
            shown = ", ".join(f"{t} ({n})" for t, n in list(self.tags.items())[:8])
            more = "" if len(self.tags) <= 8 else f" and {len(self.tags) - 8} more"
            out.append(
                f"and {self.manual_decisions} manual tag decisions on {self.tagged_photos} "
                f"photos: {shown}{more}"
            )
            kept = self.manual_decisions - self.unkeepable
            if kept:
                out.append(
                    f"{kept} of them are kept by content: adding the folder back restores them"
                )
            if self.unkeepable:
                out.append(f"{self.unkeepable} are LOST: their files cannot be read now")
        return out

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def removal_impact(catalog: Catalog, root_id: int, path: str) -> RootRemoval:
    impact = RootRemoval(path)
    store = KeptTagStore(catalog)
    impact.photos = store.photos_in_root(root_id)
    rows = store.decisions_in_root(root_id)
    impact.manual_decisions = len(rows)
    impact.tagged_photos = len({r["id"] for r in rows})
    for r in rows:
        if r["state"] == "on":
            impact.tags[r["tag"]] = impact.tags.get(r["tag"], 0) + 1
    unreadable = {
        r["id"] for r in rows if r["content_hash"] is None and not os.path.isfile(r["path"])
    }
    impact.unkeepable = sum(r["id"] in unreadable for r in rows)
    return impact


def fill_missing_hashes(catalog: Catalog, photo_ids: Iterable[int]) -> dict[int, str]:
    """Hashes of manually tagged photos not hashed yet (never embedded), read from disk."""
    out: dict[int, str] = {}
    for pid, path in KeptTagStore(catalog).unhashed_tagged(photo_ids):
        try:
            out[pid] = hash_file(path)
        except OSError:
            continue
    return out


def keep(conn: sqlite3.Connection, photo_ids: Iterable[int], hashes: dict[int, str]) -> int:
    """Inside the caller's transaction, before the rows go: copy their manual decisions.

    ``hashes`` fills in content hashes the catalog does not have yet."""
    return KeptTagStore(conn).keep(photo_ids, hashes)


def restore(conn: sqlite3.Connection) -> int:
    """Give kept decisions back to photos with the same content; returns how many.

    A decision the photo already has (made since) wins over the kept one."""
    return KeptTagStore(conn).restore()
