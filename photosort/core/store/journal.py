"""The move journal: what makes ``export --mode move`` resumable after a kill -9.

A row per photo being moved names the temporary file, the destination once claimed, and
the process that owns the move (so recovery can tell a live move from a dead one). The
rules that settle a row from what the catalog says live in ``core/export``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from photosort.core.catalog import now_iso, run_script
from photosort.core.store.sql import Store


def _journal_schema(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE move_journal (
            photo_id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            temp TEXT NOT NULL,
            destination TEXT,
            placeholder INTEGER NOT NULL DEFAULT 0,
            started_at TEXT NOT NULL
        )
        """,
    )


def _journal_owner_schema(conn: sqlite3.Connection) -> None:
    """Each journal row names its process, so recovery can tell a live move from a dead one."""
    run_script(
        conn,
        """
        ALTER TABLE move_journal ADD COLUMN owner_host TEXT;
        ALTER TABLE move_journal ADD COLUMN owner_pid INTEGER;
        ALTER TABLE move_journal ADD COLUMN owner_started TEXT
        """,
    )


class MoveJournal(Store):
    """One row per photo being moved, written before any file is touched."""

    def begin(
        self, photo_id: int, source: str, temp: str, host: str, pid: int, started: str | None
    ) -> None:
        """Start (or restart) the journal of one move, before the temp file exists; the
        owning process is (host, pid, started: see ``core/owner.py``)."""
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO move_journal (photo_id, source, temp, destination, "
                "started_at, owner_host, owner_pid, owner_started) "
                "VALUES (?, ?, ?, NULL, ?, ?, ?, ?)",
                (photo_id, source, temp, now_iso(), host, pid, started),
            )

    def claimed(self, photo_id: int, destination: str) -> None:
        """The move is about to take this name."""
        with self.db.write() as conn:
            conn.execute(
                "UPDATE move_journal SET destination = ? WHERE photo_id = ?",
                (destination, photo_id),
            )

    def placeholder(self, photo_id: int) -> None:
        """The name was reserved by an empty file (no hard links on this disk)."""
        with self.db.write() as conn:
            conn.execute("UPDATE move_journal SET placeholder = 1 WHERE photo_id = ?", (photo_id,))

    def entry(self, photo_id: int) -> Any | None:
        """(source, temp, destination, placeholder, the photo's current path) or None."""
        return self.db.one(
            "SELECT j.source, j.temp, j.destination, j.placeholder, p.path FROM move_journal j "
            "LEFT JOIN photos p ON p.id = j.photo_id WHERE j.photo_id = ?",
            (photo_id,),
        )

    def done(self, photo_id: int) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM move_journal WHERE photo_id = ?", (photo_id,))

    def owners(self) -> list[Any]:
        """(photo id, owner host, pid, started) of every open entry."""
        return self.db.rows(
            "SELECT photo_id, owner_host, owner_pid, owner_started FROM move_journal"
        )
