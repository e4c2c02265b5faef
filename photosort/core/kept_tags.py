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

from photosort.core.catalog import Catalog, Migration, register_migration, run_script
from photosort.core.scanner import hash_file
from photosort.core.store import in_chunks


def _schema(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE kept_manual_tags (
            content_hash TEXT NOT NULL,
            tag TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('on', 'off')),
            updated_at TEXT NOT NULL,
            PRIMARY KEY (content_hash, tag)
        ) WITHOUT ROWID
        """,
    )


register_migration(Migration("0004_b_kept_manual_tags", _schema))


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
    impact.photos = int(
        catalog.scalar("SELECT COUNT(*) FROM photos WHERE root_id = ?", (root_id,)) or 0
    )
    rows = catalog.query(
        "SELECT m.tag, m.state, p.id, p.path, p.content_hash FROM manual_tags m "
        "JOIN photos p ON p.id = m.photo_id WHERE p.root_id = ? ORDER BY m.tag",
        (root_id,),
    )
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
    for marks, chunk in in_chunks(photo_ids):
        rows = catalog.query(
            "SELECT DISTINCT p.id, p.path FROM photos p JOIN manual_tags m ON m.photo_id = p.id "
            f"WHERE p.content_hash IS NULL AND p.id IN ({marks})",
            chunk,
        )
        for pid, path in rows:
            try:
                out[pid] = hash_file(path)
            except OSError:
                continue
    return out


def keep(conn: sqlite3.Connection, photo_ids: Iterable[int], hashes: dict[int, str]) -> int:
    """Inside the caller's transaction, before the rows go: copy their manual decisions.

    ``hashes`` fills in content hashes the catalog does not have yet."""
    conn.executemany(
        "UPDATE photos SET content_hash = ? WHERE id = ? AND content_hash IS NULL",
        [(h, pid) for pid, h in hashes.items()],
    )
    kept = 0
    for marks, chunk in in_chunks(photo_ids):
        kept += conn.execute(
            "INSERT OR REPLACE INTO kept_manual_tags (content_hash, tag, state, updated_at) "
            "SELECT p.content_hash, m.tag, m.state, m.updated_at FROM manual_tags m "
            "JOIN photos p ON p.id = m.photo_id WHERE p.content_hash IS NOT NULL "
            f"AND p.id IN ({marks})",
            chunk,
        ).rowcount
    return kept


def restore(conn: sqlite3.Connection) -> int:
    """Give kept decisions back to photos with the same content; returns how many.

    A decision the photo already has (made since) wins over the kept one."""
    restored = conn.execute(
        "INSERT OR IGNORE INTO manual_tags (photo_id, tag, state, updated_at) "
        "SELECT p.id, k.tag, k.state, k.updated_at FROM kept_manual_tags k "
        "JOIN photos p ON p.content_hash = k.content_hash"
    ).rowcount
    conn.execute(
        "DELETE FROM kept_manual_tags WHERE content_hash IN "
        "(SELECT content_hash FROM photos WHERE content_hash IS NOT NULL)"
    )
    return restored
