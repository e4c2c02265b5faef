"""The SQL of duplicates: pixel fingerprints per photo, and the trash journal that records
every file sent to the trash (rules in ``core/fingerprints.py`` and
``core/duplicate_actions.py``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from photosort.core.catalog import now_iso, run_script
from photosort.core.store.sql import Store


def _schema(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE photo_fingerprints (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            content_hash TEXT,
            phash INTEGER NOT NULL,
            sharpness REAL NOT NULL,
            sharp_side INTEGER NOT NULL,
            colour REAL NOT NULL
        );
        CREATE TABLE trash_journal (
            id INTEGER PRIMARY KEY,
            photo_id INTEGER,
            path TEXT NOT NULL,
            content_hash TEXT,
            size INTEGER,
            keeper_path TEXT NOT NULL,
            kind TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'trashed', 'failed')),
            error TEXT,
            at TEXT NOT NULL
        );
        """,
    )


_VALID = (
    "SELECT f.photo_id, f.phash, f.sharpness, f.sharp_side, f.colour FROM photo_fingerprints f "
    "JOIN photos p ON p.id = f.photo_id WHERE p.content_hash IS f.content_hash"
)


class FingerprintStore(Store):
    """Fingerprints, each valid while its photo keeps the content it was made from."""

    def put(self, rows: Iterable[tuple[int, str | None, int, float, int, float]]) -> None:
        """(photo id, content hash, phash, sharpness, sharp side, colour) rows, for photos
        still in the catalog."""
        with self.db.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO photo_fingerprints "
                "(photo_id, content_hash, phash, sharpness, sharp_side, colour) "
                "SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)",
                [(*row, row[0]) for row in rows],
            )

    def valid(self, photo_ids: Iterable[int] | None = None) -> list[Any]:
        """(photo id, phash, sharpness, sharp side, colour) of the fingerprints still valid,
        of every photo or of ``photo_ids``."""
        if photo_ids is None:
            return self.db.rows(_VALID)
        return self.db.rows_in(_VALID + " AND f.photo_id IN ({marks})", photo_ids)


class TrashJournal(Store):
    """One row per file sent to the trash: pending, then trashed or failed."""

    def begin(
        self,
        photo_id: int,
        path: str,
        content_hash: str | None,
        size: int | None,
        keeper_path: str,
        kind: str,
    ) -> int:
        """Record the move before the file goes; returns the entry's id."""
        with self.db.write() as conn:
            entry = conn.execute(
                "INSERT INTO trash_journal (photo_id, path, content_hash, size, keeper_path, "
                "kind, state, at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                (photo_id, path, content_hash, size, keeper_path, kind, now_iso()),
            ).lastrowid
        assert entry is not None  # an INSERT always sets lastrowid
        return entry

    def failed(self, entry: int, reason: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE trash_journal SET state = 'failed', error = ? WHERE id = ?",
                (reason, entry),
            )

    def trashed(self, entry: int) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE trash_journal SET state = 'trashed' WHERE id = ?", (entry,))
