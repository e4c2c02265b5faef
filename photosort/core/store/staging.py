"""The SQL of a re-index's staging tables: ``staged_vectors`` (the columns of
``embeddings``, renamed into its place at the swap) and ``staged_hashes`` (the content
each staged vector was made from). The rules are in ``core/reindex.py``."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from typing import Any

from photosort.core.catalog import run_script
from photosort.core.store.sql import Store


def _like_embeddings(conn: sqlite3.Connection, name: str) -> str:
    """``CREATE TABLE name`` with the columns of ``embeddings``, whatever later migrations
    made of it: at the swap the staging table becomes ``embeddings`` by a rename."""
    sql = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'embeddings'"
    ).fetchone()[0]
    return re.sub(
        r'^\s*CREATE\s+TABLE\s+"?embeddings"?', f"CREATE TABLE {name}", sql, count=1, flags=re.I
    )


def _schema(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        _like_embeddings(conn, "staged_vectors")
        + """;
        CREATE TABLE staged_hashes (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            content_hash TEXT
        );
        """,
    )


class StagingStore(Store):
    """The staged vectors of an unfinished re-index."""

    def keep_only(self, model_id: str) -> int:
        """Drop what a run with another model staged; returns how many vectors stay."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM staged_vectors WHERE model != ?", (model_id,))
            conn.execute(
                "DELETE FROM staged_hashes "
                "WHERE photo_id NOT IN (SELECT photo_id FROM staged_vectors)"
            )
            return int(conn.execute("SELECT COUNT(*) FROM staged_vectors").fetchone()[0])

    def clear(self, meta_key: str) -> None:
        """Drop every staged vector, and the meta entry ``meta_key`` that named the run."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM staged_vectors")
            conn.execute("DELETE FROM staged_hashes")
            conn.execute("DELETE FROM meta WHERE key = ?", (meta_key,))

    def todo(self, model_id: str) -> list[Any]:
        """(id, path) of indexed photos without a staged vector of their current content,
        by path."""
        return self.db.rows(
            "SELECT p.id, p.path FROM photos p "
            "LEFT JOIN staged_vectors s ON s.photo_id = p.id AND s.model = ? "
            "LEFT JOIN staged_hashes h ON h.photo_id = p.id WHERE p.status = 'ok' "
            "AND (s.photo_id IS NULL OR h.content_hash IS NOT p.content_hash) ORDER BY p.path",
            (model_id,),
        )

    def count_indexed(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM photos WHERE status = 'ok'") or 0)

    def count_current(self, model_id: str) -> int:
        """Staged vectors of ``model_id`` made from their photo's current content."""
        return int(
            self.db.scalar(
                "SELECT COUNT(*) FROM staged_vectors s "
                "JOIN staged_hashes h ON h.photo_id = s.photo_id "
                "JOIN photos p ON p.id = s.photo_id "
                "WHERE s.model = ? AND h.content_hash IS p.content_hash",
                (model_id,),
            )
            or 0
        )

    def stage(self, model_id: str, rows: Sequence[tuple[int, bytes, str | None]]) -> None:
        """(photo id, encoded vector, content hash it was made from) rows, for photos
        still there."""
        with self.db.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO staged_vectors (photo_id, model, vector) "
                "SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)",
                [(pid, model_id, blob, pid) for pid, blob, _ in rows],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO staged_hashes (photo_id, content_hash) "
                "SELECT ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)",
                [(pid, chash, pid) for pid, _, chash in rows],
            )

    def swap_in(self, model_id: str, meta_key: str) -> int:
        """The staged vectors of ``model_id`` (of photos whose content is unchanged) become
        ``embeddings``, by renaming the staging table into place; a fresh staging table is
        made and ``meta_key`` dropped. Returns the number swapped in. Run it inside the
        caller's transaction (with the meta that names the new model)."""
        with self.db.write() as conn:
            conn.execute(
                "DELETE FROM staged_vectors WHERE model != ? OR photo_id NOT IN "
                "(SELECT h.photo_id FROM staged_hashes h JOIN photos p ON p.id = h.photo_id "
                "WHERE h.content_hash IS p.content_hash)",
                (model_id,),
            )
            swapped = conn.execute("SELECT COUNT(*) FROM staged_vectors").fetchone()[0]
            indexes = [
                r[0]
                for r in conn.execute(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' "
                    "AND tbl_name = 'embeddings' AND sql IS NOT NULL"
                )
            ]
            fresh = _like_embeddings(conn, "staged_vectors")
            # the old model's pages are freed, not zeroed page by page (seconds per 10k photos)
            secure = conn.execute("PRAGMA secure_delete").fetchone()[0]
            conn.execute("PRAGMA secure_delete = FAST")
            try:
                conn.execute("DROP TABLE embeddings")
            finally:
                conn.execute(f"PRAGMA secure_delete = {int(secure)}")
            conn.execute("ALTER TABLE staged_vectors RENAME TO embeddings")
            for sql in indexes:
                conn.execute(sql)
            conn.execute(fresh)
            conn.execute("DELETE FROM staged_hashes")
            conn.execute("DELETE FROM meta WHERE key = ?", (meta_key,))
        return int(swapped)
