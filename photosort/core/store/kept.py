"""The SQL of kept manual decisions: ``manual_tags`` copied under a photo's content hash
before its row goes, and given back when a photo with that content returns (the rules
are in ``core/kept_tags.py``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from photosort.core.catalog import run_script
from photosort.core.store.sql import Store, in_chunks


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


class KeptTagStore(Store):
    """``kept_manual_tags``, and the photo rows it is filled from and restored to."""

    def photos_in_root(self, root_id: int) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM photos WHERE root_id = ?", (root_id,)) or 0)

    def decisions_in_root(self, root_id: int) -> list[Any]:
        """(tag, state, id, path, content_hash) of every manual decision on the root's
        photos, by tag."""
        return self.db.rows(
            "SELECT m.tag, m.state, p.id, p.path, p.content_hash FROM manual_tags m "
            "JOIN photos p ON p.id = m.photo_id WHERE p.root_id = ? ORDER BY m.tag",
            (root_id,),
        )

    def unhashed_tagged(self, photo_ids: Iterable[int]) -> list[Any]:
        """(id, path) of these photos that carry a manual decision but no content hash."""
        return self.db.rows_in(
            "SELECT DISTINCT p.id, p.path FROM photos p "
            "JOIN manual_tags m ON m.photo_id = p.id "
            "WHERE p.content_hash IS NULL AND p.id IN ({marks})",
            photo_ids,
        )

    def keep(self, photo_ids: Iterable[int], hashes: dict[int, str]) -> int:
        """Record the missing ``hashes``, then copy these photos' decisions by content;
        returns how many rows were kept."""
        kept = 0
        with self.db.write() as conn:
            conn.executemany(
                "UPDATE photos SET content_hash = ? WHERE id = ? AND content_hash IS NULL",
                [(h, pid) for pid, h in hashes.items()],
            )
            for marks, chunk in in_chunks(photo_ids):
                kept += conn.execute(
                    "INSERT OR REPLACE INTO kept_manual_tags "
                    "(content_hash, tag, state, updated_at) "
                    "SELECT p.content_hash, m.tag, m.state, m.updated_at FROM manual_tags m "
                    "JOIN photos p ON p.id = m.photo_id WHERE p.content_hash IS NOT NULL "
                    f"AND p.id IN ({marks})",
                    chunk,
                ).rowcount
        return kept

    def restore(self) -> int:
        """Kept decisions back onto photos with the same content (a decision the photo has
        already wins); the rows given back are dropped. Returns how many."""
        with self.db.write() as conn:
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
