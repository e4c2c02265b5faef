"""The SQL of keyword imports (``keyword_imports``, migration 0009_b): per photo, the
signature of the sources last read and the keyword paths photosort adopted from its
sidecars (rules in ``core/keywords.py``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from photosort.core.catalog import page_by_path, run_script
from photosort.core.store.sql import Store


def _schema(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE keyword_imports (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            signature TEXT NOT NULL,
            keywords TEXT NOT NULL DEFAULT '[]'
        );
        """,
    )


class KeywordImportStore(Store):
    """``keyword_imports`` rows (the adopted keywords as a JSON list of paths)."""

    def photos_with_signatures(
        self, root_ids: Sequence[int], after: str | None = None, limit: int | None = None
    ) -> list[Any]:
        """(id, path, signature or None, size, mtime_ns) of the photos of these roots, by
        path, from the first past ``after``, at most ``limit`` of them."""
        marks = ",".join("?" * len(root_ids))
        params: list[Any] = list(root_ids)
        sql = (
            "SELECT p.id, p.path, k.signature, p.size, p.mtime_ns FROM photos p "
            "LEFT JOIN keyword_imports k "
            f"ON k.photo_id = p.id WHERE p.root_id IN ({marks})"
        )
        return self.db.rows(page_by_path(sql, params, after, limit), params)

    def count_photos(self, root_ids: Sequence[int]) -> int:
        marks = ",".join("?" * len(root_ids))
        sql = f"SELECT COUNT(*) FROM photos WHERE root_id IN ({marks})"
        return int(self.db.scalar(sql, list(root_ids)))

    def adopted_json(self, photo_id: int) -> str | None:
        value = self.db.scalar(
            "SELECT keywords FROM keyword_imports WHERE photo_id = ?", (photo_id,)
        )
        return None if value is None else str(value)

    def remember(self, photo_id: int, signature: str, adopted_json: str) -> None:
        """The sources' signature and the adopted keywords (for a photo still there)."""
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO keyword_imports (photo_id, signature, keywords) "
                "SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)",
                (photo_id, signature, adopted_json, photo_id),
            )

    def adopted_of(self, photo_ids: Iterable[int]) -> list[Any]:
        """(photo id, adopted JSON) of these photos that have a row."""
        return self.db.rows_in(
            "SELECT photo_id, keywords FROM keyword_imports WHERE photo_id IN ({marks})",
            photo_ids,
        )
