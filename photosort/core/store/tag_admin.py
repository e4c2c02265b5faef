"""The SQL of tag housekeeping: renaming, merging and deleting tags, renaming a category,
removing a label, the rows an undo puts back, and migration ``0005_a_tag_case`` that
merged the tags older catalogs held in two cases (the rules are in ``core/tag_admin.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from photosort.core.store.sql import Store
from photosort.core.store.tags import TagStore


def _key(name: str) -> str:
    return name.casefold()


# -- the migration -----------------------------------------------------------------------
def _merge_case_duplicates(conn: sqlite3.Connection) -> None:
    """One spelling per tag: a label's own, else the spelling most photos carry."""
    _dedupe_names(conn, "categories")
    _dedupe_names(conn, "labels")
    labels = {_key(n): n for (n,) in conn.execute("SELECT name FROM labels")}
    rows = conn.execute("SELECT photo_id, tag, state, updated_at FROM manual_tags").fetchall()
    spellings: dict[str, dict[str, int]] = {}
    for _pid, tag, _state, _at in rows:
        spellings.setdefault(_key(tag), {}).setdefault(tag, 0)
        spellings[_key(tag)][tag] += 1
    canonical = {
        key: labels.get(key) or max(counts, key=lambda t: (counts[t], t))
        for key, counts in spellings.items()
    }
    changed = {key for key, counts in spellings.items() if set(counts) != {canonical[key]}}
    merged: dict[tuple[int, str], tuple[str, str]] = {}
    for pid, tag, state, at in rows:
        if _key(tag) not in changed:
            continue
        slot = (pid, canonical[_key(tag)])
        if slot not in merged or at > merged[slot][1]:  # the newest decision wins
            merged[slot] = (state, at)
    for key in changed:
        for tag in spellings[key]:
            conn.execute("DELETE FROM manual_tags WHERE tag = ?", (tag,))
    conn.executemany(
        "INSERT INTO manual_tags (photo_id, tag, state, updated_at) VALUES (?, ?, ?, ?)",
        [(pid, tag, state, at) for (pid, tag), (state, at) in merged.items()],
    )
    conn.execute("CREATE UNIQUE INDEX categories_name_nocase ON categories(name COLLATE NOCASE)")
    conn.execute("CREATE UNIQUE INDEX labels_name_nocase ON labels(name COLLATE NOCASE)")
    conn.execute(
        "CREATE UNIQUE INDEX manual_tags_nocase ON manual_tags(photo_id, tag COLLATE NOCASE)"
    )


def _dedupe_names(conn: sqlite3.Connection, table: str) -> None:
    """Two categories (or labels) differing only in case: the later one gets a number."""
    seen: set[str] = set()
    for row_id, name in conn.execute(f"SELECT id, name FROM {table} ORDER BY id").fetchall():
        if _key(name) in seen:
            k = 2
            while _key(f"{name} {k}") in seen:
                k += 1
            name = f"{name} {k}"
            conn.execute(f"UPDATE {table} SET name = ? WHERE id = ?", (name, row_id))
        seen.add(_key(name))


class TagAdminStore(Store):
    """Names of labels, manual tags and categories, and the rows a rename or undo rewrites.

    Every method runs in the caller's transaction when made over its connection (the
    housekeeping operations are one transaction each)."""

    # -- looking names up ------------------------------------------------------------------
    def label_names(self) -> list[str]:
        return [r[0] for r in self.db.rows("SELECT name FROM labels")]

    def manual_tag_names(self) -> list[str]:
        """Every tag some photo carries (or rejects) by hand, once each."""
        return [r[0] for r in self.db.rows("SELECT DISTINCT tag FROM manual_tags")]

    def categories(self) -> list[tuple[int, str]]:
        """(id, name) of every category."""
        return [(r[0], r[1]) for r in self.db.rows("SELECT id, name FROM categories")]

    def label_row(self, name: str) -> tuple[int, int, str, str] | None:
        """(label id, category id, category name, category kind) of the label ``name``."""
        row = self.db.one(
            "SELECT l.id, l.category_id, c.name, c.kind FROM labels l "
            "JOIN categories c ON c.id = l.category_id WHERE l.name = ?",
            (name,),
        )
        return None if row is None else (row[0], row[1], row[2], row[3])

    def labels_of(self, category_id: int) -> list[tuple[int, str]]:
        """(id, name) of the category's labels in display order."""
        return [
            (r[0], r[1])
            for r in self.db.rows(
                "SELECT id, name FROM labels WHERE category_id = ? ORDER BY position, id",
                (category_id,),
            )
        ]

    def category_kind(self, category_id: int) -> str:
        return str(self.db.scalar("SELECT kind FROM categories WHERE id = ?", (category_id,)))

    # -- rewriting -------------------------------------------------------------------------
    def manual_rows_of(self, names: Sequence[str]) -> list[Any]:
        """(photo_id, state, updated_at) of the manual decisions on these two tag names."""
        return self.db.rows(
            "SELECT photo_id, state, updated_at FROM manual_tags WHERE tag IN (?, ?)", names
        )

    def forget_manual_of(self, names: Sequence[str]) -> None:
        """Drop every manual decision on these two tag names."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM manual_tags WHERE tag IN (?, ?)", names)

    def forget_manual_tag(self, tag: str) -> int:
        """Drop every manual decision on ``tag``; returns how many rows went."""
        with self.db.write() as conn:
            return conn.execute("DELETE FROM manual_tags WHERE tag = ?", (tag,)).rowcount

    def forget_rejections(self, tag: str) -> None:
        """Drop the "off" decisions on ``tag`` (they mean nothing once it is no label)."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM manual_tags WHERE tag = ? AND state = 'off'", (tag,))

    def add_manual(self, rows: Iterable[tuple[int, str, str, str]]) -> None:
        """Insert (photo_id, tag, state, updated_at) decisions."""
        with self.db.write() as conn:
            conn.executemany(
                "INSERT INTO manual_tags (photo_id, tag, state, updated_at) VALUES (?, ?, ?, ?)",
                rows,
            )

    def rename_label(self, label_id: int, name: str) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE labels SET name = ? WHERE id = ?", (name, label_id))

    def rename_category(self, category_id: int, name: str) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE categories SET name = ? WHERE id = ?", (name, category_id))

    def delete_label(self, label_id: int) -> None:
        """Delete a label row; its auto tags go with it (ON DELETE CASCADE)."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM labels WHERE id = ?", (label_id,))

    def bump_auto_version(self) -> None:
        TagStore(self.db).bump_auto_version()

    # -- undo ------------------------------------------------------------------------------
    def label_rows(self) -> list[Any]:
        """(id, category_id, name, prompts, threshold, position) of every label."""
        return self.db.rows(
            "SELECT id, category_id, name, prompts, threshold, position FROM labels"
        )

    def auto_rows_of(self, label_ids: Sequence[int]) -> list[Any]:
        """(photo_id, label_id, score) of these labels' auto tags."""
        return self.db.rows_in(
            "SELECT photo_id, label_id, score FROM auto_tags WHERE label_id IN ({marks})",
            label_ids,
        )

    def manual_rows_of_tag(self, tag: str) -> list[Any]:
        """(photo_id, tag, state, updated_at) of the manual decisions on ``tag``."""
        return self.db.rows(
            "SELECT photo_id, tag, state, updated_at FROM manual_tags WHERE tag = ?", (tag,)
        )

    def label_ids(self) -> set[int]:
        return {r[0] for r in self.db.rows("SELECT id FROM labels")}

    def put_label_back(self, row: tuple[Any, ...], exists: bool) -> None:
        """A label row as a snapshot saw it: updated in place, or inserted again."""
        lid, cid, name, prompts, threshold, position = row
        with self.db.write() as conn:
            if exists:
                conn.execute(
                    "UPDATE labels SET name = ?, prompts = ?, threshold = ?, position = ? "
                    "WHERE id = ?",
                    (name, prompts, threshold, position, lid),
                )
            else:
                conn.execute(
                    "INSERT INTO labels (id, category_id, name, prompts, threshold, position) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (lid, cid, name, prompts, threshold, position),
                )

    def put_auto_back(self, rows: Iterable[tuple[Any, ...]]) -> None:
        with self.db.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO auto_tags (photo_id, label_id, score) VALUES (?, ?, ?)",
                rows,
            )

    def put_manual_back(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Manual decisions as a snapshot saw them, on the photos that still exist."""
        with self.db.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO manual_tags (photo_id, tag, state, updated_at) "
                "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)",
                [(*row, row[0]) for row in rows],
            )

    # -- migration 0005_b_applies_if -------------------------------------------------------
    def add_applies_if(self, defaults: dict[str, str | None], labels: dict[str, str]) -> None:
        """``categories.applies_if``: the shipped defaults get theirs (``defaults`` maps a
        category name to the label it applies if), then auto tags it rules out go."""
        with self.db.write() as conn:
            conn.execute("ALTER TABLE categories ADD COLUMN applies_if TEXT")
            for category, applies_if in defaults.items():
                if applies_if and _key(applies_if) in labels:
                    conn.execute(
                        "UPDATE categories SET applies_if = ? WHERE name = ? COLLATE NOCASE "
                        "AND applies_if IS NULL",
                        (labels[_key(applies_if)], category),
                    )
            # auto tags the condition now rules out go at once (a re-tag would drop them too)
            for name, label in conn.execute(
                "SELECT name, applies_if FROM categories WHERE applies_if IS NOT NULL"
            ).fetchall():
                conn.execute(
                    "DELETE FROM auto_tags WHERE label_id IN (SELECT l.id FROM labels l "
                    "JOIN categories c ON c.id = l.category_id WHERE c.name = ?) "
                    "AND photo_id NOT IN (SELECT photo_id FROM effective_tags WHERE tag = ?)",
                    (name, label),
                )
        self.bump_auto_version()
