"""The SQL of taught tags: ``taught_tags`` (which tags are learned from examples, and how
their last training went), their examples in ``manual_tags`` and the rejections the
teaching records (the rules are in ``core/teaching.py``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from photosort.core.catalog import run_script
from photosort.core.store.sql import Store


def _taught_schema(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE taught_tags (
            tag TEXT PRIMARY KEY,
            model TEXT,
            positives INTEGER NOT NULL DEFAULT 0,
            negatives INTEGER NOT NULL DEFAULT 0,
            suggested INTEGER NOT NULL DEFAULT 0,
            precision REAL,
            recall REAL,
            trained_at TEXT,
            created_at TEXT NOT NULL
        )
        """,
    )


class TaughtTagStore(Store):
    """``taught_tags``, and the label rows, examples and auto tags of a taught tag."""

    def names(self) -> list[str]:
        """Every taught tag, by name."""
        return [r[0] for r in self.db.rows("SELECT tag FROM taught_tags ORDER BY tag")]

    def name_set(self) -> set[str]:
        """Every taught tag (sqlite3.OperationalError before migration 0007)."""
        return {r[0] for r in self.db.rows("SELECT tag FROM taught_tags")}

    def is_taught(self, tag: str) -> bool:
        return bool(self.db.scalar("SELECT 1 FROM taught_tags WHERE tag = ?", (tag,)))

    def add(self, tag: str, created_at: str) -> None:
        """Mark ``tag`` taught (nothing when it already is)."""
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO taught_tags (tag, created_at) VALUES (?, ?)",
                (tag, created_at),
            )

    def label_id(self, tag: str) -> Any:
        """The id of the label named ``tag``, or None."""
        return self.db.scalar("SELECT id FROM labels WHERE name = ?", (tag,))

    def examples(self, tag: str) -> list[Any]:
        """(photo_id, state) of every manual decision on ``tag``."""
        return self.db.rows("SELECT photo_id, state FROM manual_tags WHERE tag = ?", (tag,))

    def record_training(
        self,
        tag: str,
        model: str,
        positives: int,
        negatives: int,
        suggested: int,
        precision: float | None,
        recall: float | None,
        trained_at: str,
    ) -> None:
        """How the last training of ``tag`` went, and with which model."""
        with self.db.write() as conn:
            conn.execute(
                "UPDATE taught_tags SET model = ?, positives = ?, negatives = ?, suggested = ?, "
                "precision = ?, recall = ?, trained_at = ? WHERE tag = ?",
                (model, positives, negatives, suggested, precision, recall, trained_at, tag),
            )

    def listing(self) -> list[Any]:
        """(tag, category, suggested, precision, recall, trained_at, examples on, examples
        off) of every taught tag by name; category is None when the label is gone."""
        return self.db.rows(
            "SELECT t.tag, li.category, t.suggested, t.precision, t.recall, t.trained_at, "
            "(SELECT COUNT(*) FROM manual_tags m WHERE m.tag = t.tag AND m.state = 'on'), "
            "(SELECT COUNT(*) FROM manual_tags m WHERE m.tag = t.tag AND m.state = 'off') "
            "FROM taught_tags t LEFT JOIN label_info li ON li.tag = t.tag ORDER BY t.tag"
        )

    def forget(self, tag: str) -> None:
        """``tag`` is taught no more (its label and manual tags are left alone)."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM taught_tags WHERE tag = ?", (tag,))

    def drop_auto_tags(self, label_id: int) -> None:
        """Every auto tag of this label (the caller bumps the auto-tag version)."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM auto_tags WHERE label_id = ?", (label_id,))

    def reject(self, photo_ids: Sequence[int], tag: str, stamp: str) -> None:
        """An 'off' decision on ``tag`` for these photos (those that still exist)."""
        with self.db.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO manual_tags (photo_id, tag, state, updated_at) "
                "SELECT ?, ?, 'off', ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)",
                [(pid, tag, stamp, pid) for pid in photo_ids],
            )
