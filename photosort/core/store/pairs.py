"""The SQL of RAW+JPEG pairs: ``photo_pairs`` maps each RAW (the companion) to the
rendering that represents it (the primary). Which files pair up is decided in
``core/pairs.py``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from photosort.core.catalog import run_script
from photosort.core.store.sql import Store, in_chunks


def _pairs_schema(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE photo_pairs (
            companion_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            primary_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE
        );
        CREATE INDEX photo_pairs_primary ON photo_pairs(primary_id);
        """,
    )


#: SQL condition on ``photos p``: the row is shown on its own (not the RAW of a pair).
SHOWN = "p.id NOT IN (SELECT companion_id FROM photo_pairs)"


class PairStore(Store):
    """Pairs, and the few photo rows a pair changes."""

    def paths_in_roots(self, root_ids: Sequence[int]) -> list[Any]:
        """(id, path) of every photo of these roots."""
        return self.db.rows_in(
            "SELECT id, path FROM photos WHERE root_id IN ({marks})",
            root_ids,
        )

    def paths_of_roots(self, root_ids: Sequence[int]) -> list[str]:
        """The path of every photo of these roots, as plain values (no row objects)."""
        paths: list[str] = []
        for marks, chunk in in_chunks(root_ids):
            paths += self.db.column(f"SELECT path FROM photos WHERE root_id IN ({marks})", chunk)
        return paths

    def pairs_in_roots(self, root_ids: Sequence[int]) -> dict[int, int]:
        """companion id -> primary id, for the companions in these roots."""
        rows = self.db.rows_in(
            "SELECT pp.companion_id, pp.primary_id FROM photo_pairs pp "
            "JOIN photos p ON p.id = pp.companion_id WHERE p.root_id IN ({marks})",
            root_ids,
        )
        return {r[0]: r[1] for r in rows}

    def primaries_with_paths(self) -> list[Any]:
        """(companion id, primary id, the primary's path) of every pair."""
        return self.db.rows(
            "SELECT pp.companion_id, pp.primary_id, p.path FROM photo_pairs pp "
            "JOIN photos p ON p.id = pp.primary_id"
        )

    def copy_manual_tags(self, source: int, target: int) -> None:
        """Give ``target`` every manual decision of ``source`` it lacks."""
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO manual_tags (photo_id, tag, state, updated_at) "
                "SELECT ?, tag, state, updated_at FROM manual_tags WHERE photo_id = ?",
                (target, source),
            )

    def move_manual_tags(self, source: int, target: int) -> None:
        """``copy_manual_tags``, then clear ``source``'s."""
        self.copy_manual_tags(source, target)
        with self.db.write() as conn:
            conn.execute("DELETE FROM manual_tags WHERE photo_id = ?", (source,))

    def unpair(self, companion: int) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM photo_pairs WHERE companion_id = ?", (companion,))

    def pair(self, companion: int, primary: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO photo_pairs (companion_id, primary_id) VALUES (?, ?)",
                (companion, primary),
            )

    def drop_companion_vector(self, companion: int) -> None:
        """The companion's vector goes, and it is not 'ok' any more: listings of indexed
        photos leave it out, like the grid."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM embeddings WHERE photo_id = ?", (companion,))
            conn.execute(
                "UPDATE photos SET status = 'pending' WHERE id = ? AND status = 'ok'",
                (companion,),
            )

    def companions_of(self, photo_ids: Iterable[int]) -> list[Any]:
        """(primary id, companion id, companion path) for these primaries, by path."""
        return self.db.rows_in(
            "SELECT pp.primary_id, p.id, p.path FROM photo_pairs pp JOIN photos p "
            "ON p.id = pp.companion_id WHERE pp.primary_id IN ({marks}) "
            "ORDER BY p.path",
            photo_ids,
        )

    def primaries(self, photo_ids: Sequence[int]) -> dict[int, int]:
        """companion id -> primary id, for those of ``photo_ids`` that are companions."""
        rows = self.db.rows_in(
            "SELECT companion_id, primary_id FROM photo_pairs WHERE companion_id IN ({marks})",
            photo_ids,
        )
        return {r[0]: r[1] for r in rows}

    def companion_ids(self) -> set[int]:
        return {r[0] for r in self.db.rows("SELECT companion_id FROM photo_pairs")}
