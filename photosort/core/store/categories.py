"""The SQL of categories and their labels (the rows behind ``core/categories.py``).

Columns arrive with later migrations (``applies_if`` 0005_b, ``sun`` 0006, ``template``
0012); a category can be stored before they exist (a new catalog's defaults, in 0002), so
the store asks which columns are there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from photosort.core.store.sql import Store
from photosort.core.store.tags import TagStore


def _template_column(conn: sqlite3.Connection) -> None:
    """A category's own prompt template (``core/prompt_template.py``)."""
    conn.execute("ALTER TABLE categories ADD COLUMN template TEXT")


class CategoryStore(Store):
    """Category and label rows; the caller holds the rules (``categories.store``)."""

    def columns(self) -> set[str]:
        """The columns ``categories`` has at this catalog's schema."""
        return {r[1] for r in self.db.rows("PRAGMA table_info(categories)")}

    def categories(self) -> list[Any]:
        """(id, name, kind, threshold, sun, applies_if, template) in display order; columns
        not there yet read as 0 (sun) or NULL."""
        columns = self.columns()
        sun = "sun" if "sun" in columns else "0"
        condition = "applies_if" if "applies_if" in columns else "NULL"
        template = "template" if "template" in columns else "NULL"
        return self.db.rows(
            f"SELECT id, name, kind, threshold, {sun}, {condition}, {template} "
            "FROM categories ORDER BY position, id"
        )

    def labels(self) -> list[Any]:
        """(category id, name, prompts JSON, threshold, sun elevation JSON, sun rising) in
        display order."""
        sun = "sun_elevation, sun_rising" if "sun" in self.columns() else "NULL, NULL"
        return self.db.rows(
            f"SELECT category_id, name, prompts, threshold, {sun} FROM labels ORDER BY position, id"
        )

    def id_of(self, name: str) -> int | None:
        """The id of the category called ``name`` (any case)."""
        value = self.db.scalar("SELECT id FROM categories WHERE name = ? COLLATE NOCASE", (name,))
        return None if value is None else int(value)

    def label_owner(self, label: str) -> tuple[int, str] | None:
        """(category id, the label's stored spelling) of the label called ``label``."""
        row = self.db.one(
            "SELECT c.id, l.name FROM labels l JOIN categories c ON c.id = l.category_id "
            "WHERE l.name = ? COLLATE NOCASE",
            (label,),
        )
        return None if row is None else (int(row[0]), str(row[1]))

    def other_owner(self, label: str, category_id: int | None) -> str | None:
        """The name of another category than ``category_id`` that has the label ``label``."""
        value = self.db.scalar(
            "SELECT c.name FROM labels l JOIN categories c ON c.id = l.category_id "
            "WHERE l.name = ? COLLATE NOCASE AND c.id IS NOT ?",
            (label, category_id),
        )
        return None if value is None else str(value)

    def add(self, name: str, kind: str, threshold: float) -> int:
        """A new category, placed last; returns its id."""
        with self.db.write() as conn:
            position = conn.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM categories")
            cat_id = conn.execute(
                "INSERT INTO categories (name, kind, threshold, position) VALUES (?, ?, ?, ?)",
                (name, kind, threshold, position.fetchone()[0]),
            ).lastrowid
        assert cat_id is not None  # an INSERT always sets lastrowid
        return cat_id

    def update(self, cat_id: int, name: str, kind: str, threshold: float) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE categories SET name = ?, kind = ?, threshold = ? WHERE id = ?",
                (name, kind, threshold, cat_id),
            )

    def set_applies_if(self, cat_id: int, applies_if: str | None) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE categories SET applies_if = ? WHERE id = ?", (applies_if, cat_id))

    def set_template(self, cat_id: int, template: str | None) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE categories SET template = ? WHERE id = ?", (template, cat_id))

    def label_ids(self, cat_id: int) -> dict[str, int]:
        """Label name -> id, of one category."""
        return {
            r[1]: r[0]
            for r in self.db.rows("SELECT id, name FROM labels WHERE category_id = ?", (cat_id,))
        }

    def delete_label(self, label_id: int) -> None:
        """Remove a label; its auto tags go by cascade (and in-memory copies must reload)."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM labels WHERE id = ?", (label_id,))
        self.auto_tags_changed()

    def update_label(
        self, label_id: int, prompts: str, threshold: float | None, place: int
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE labels SET prompts = ?, threshold = ?, position = ? WHERE id = ?",
                (prompts, threshold, place, label_id),
            )

    def add_label(
        self, cat_id: int, name: str, prompts: str, threshold: float | None, place: int
    ) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO labels (category_id, name, prompts, threshold, position) "
                "VALUES (?, ?, ?, ?, ?)",
                (cat_id, name, prompts, threshold, place),
            )

    def set_sun(
        self,
        cat_id: int,
        sun: bool,
        labels: Iterable[tuple[str, str | None, int | None]],
    ) -> None:
        """The category's sun flag and each (label, elevation band JSON, rising) row."""
        with self.db.write() as conn:
            conn.execute("UPDATE categories SET sun = ? WHERE id = ?", (int(sun), cat_id))
            conn.executemany(
                "UPDATE labels SET sun_elevation = ?, sun_rising = ? "
                "WHERE category_id = ? AND name = ?",
                [(band, rising, cat_id, name) for name, band, rising in labels],
            )

    def delete(self, name: str) -> bool:
        """Remove a category (labels and their auto tags by cascade); False if none had
        that name."""
        with self.db.write() as conn:
            gone = conn.execute("DELETE FROM categories WHERE name = ?", (name,)).rowcount
        if gone:
            self.auto_tags_changed()
        return bool(gone)

    def auto_tags_changed(self) -> None:
        """Cascaded deletes changed ``auto_tags``: in-memory copies must reload (see tagging)."""
        TagStore(self.db).bump_auto_version()
