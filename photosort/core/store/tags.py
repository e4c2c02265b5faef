"""The SQL of tags: labels as the tagger sees them, ``auto_tags``, ``manual_tags`` and the
rule that merges them.

The rule "manual wins" is written here once, as ``AUTO_SURVIVES``: an auto row survives
unless the user decided on the same tag for the photo, or turned on another label of the
same exclusive group. The ``effective_tags`` view (migration ``0002_tags``) and the counts
that avoid the view for speed are both built from it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from photosort.core.catalog import run_script
from photosort.core.store.sql import Store

#: The meta key bumped by every change to ``auto_tags`` (in-memory copies check it).
AUTO_VERSION = "auto_tags_version"

#: An auto row ``a`` (joined to ``label_info li``) that no manual decision overrides.
AUTO_SURVIVES = """
    NOT EXISTS (SELECT 1 FROM manual_tags m WHERE m.photo_id = a.photo_id AND m.tag = li.tag)
    AND NOT (li.kind = 'exclusive' AND EXISTS (
        SELECT 1 FROM manual_tags m JOIN labels o ON o.name = m.tag
        WHERE m.photo_id = a.photo_id AND m.state = 'on' AND o.category_id = li.category_id))
"""

#: Migration ``0002_tags``: categories, labels, auto and manual tags, the text-vector cache.
SCHEMA_0002 = f"""
    CREATE TABLE categories (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('exclusive', 'free')),
        threshold REAL NOT NULL,
        position INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE labels (
        id INTEGER PRIMARY KEY,
        category_id INTEGER NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
        name TEXT NOT NULL UNIQUE,
        prompts TEXT NOT NULL DEFAULT '[]',
        threshold REAL,
        position INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX labels_category ON labels(category_id);
    CREATE TABLE auto_tags (
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        label_id INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
        score REAL NOT NULL,
        PRIMARY KEY (photo_id, label_id)
    ) WITHOUT ROWID;
    CREATE INDEX auto_tags_label ON auto_tags(label_id);
    CREATE TABLE manual_tags (
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('on', 'off')),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (photo_id, tag)
    ) WITHOUT ROWID;
    CREATE INDEX manual_tags_tag ON manual_tags(tag, state);
    CREATE TABLE text_vectors (
        model TEXT NOT NULL,
        prompt TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (model, prompt)
    ) WITHOUT ROWID;
    CREATE VIEW label_info AS
        SELECT l.id AS label_id, l.name AS tag, c.id AS category_id,
               c.name AS category, c.kind AS kind
        FROM labels l JOIN categories c ON c.id = l.category_id;
    CREATE VIEW effective_tags AS
        SELECT m.photo_id AS photo_id, m.tag AS tag, 'manual' AS source,
               (SELECT a.score FROM auto_tags a
                 WHERE a.photo_id = m.photo_id AND a.label_id = li.label_id) AS score,
               li.category AS category
        FROM manual_tags m LEFT JOIN label_info li ON li.tag = m.tag
        WHERE m.state = 'on'
        UNION ALL
        SELECT a.photo_id, li.tag, 'auto', a.score, li.category
        FROM auto_tags a JOIN label_info li ON li.label_id = a.label_id
        WHERE {AUTO_SURVIVES}
"""

_MANUAL_PHOTOS = "SELECT DISTINCT photo_id FROM manual_tags"

#: The effective tags of the photos that carry a manual decision (few), without the view.
_EFFECTIVE_OF_MANUAL_PHOTOS = f"""
    SELECT m.photo_id AS photo_id, m.tag AS tag, li.category AS category
    FROM manual_tags m LEFT JOIN label_info li ON li.tag = m.tag WHERE m.state = 'on'
    UNION ALL
    SELECT a.photo_id, li.tag, li.category
    FROM auto_tags a JOIN label_info li ON li.label_id = a.label_id
    WHERE a.photo_id IN ({_MANUAL_PHOTOS}) AND {AUTO_SURVIVES}
"""

_SET_MANUAL = (
    "INSERT OR REPLACE INTO manual_tags (photo_id, tag, state, updated_at) "
    "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)"
)


class TagStore(Store):
    """Labels, auto tags, manual tags and the effective tags that merge them."""

    # -- labels ----------------------------------------------------------------------------
    def label_categories(self) -> dict[str, str]:
        """Tag name -> category name for every label."""
        return {r[0]: r[1] for r in self.db.rows("SELECT tag, category FROM label_info")}

    def label_ids(self) -> dict[str, int]:
        """Tag name -> label row id."""
        return {r[1]: r[0] for r in self.db.rows("SELECT label_id, tag FROM label_info")}

    def label_names(self) -> set[str]:
        return {r[0] for r in self.db.rows("SELECT name FROM labels")}

    def labels_in_order(self) -> list[str]:
        """Every label name in display order (category position, then label position)."""
        return [
            r[0]
            for r in self.db.rows(
                "SELECT l.name FROM labels l JOIN categories c ON c.id = l.category_id "
                "ORDER BY c.position, c.id, l.position, l.id"
            )
        ]

    def labels_by_category(self) -> list[tuple[str, int, str]]:
        """(category, label id, label name) in label order."""
        return [
            (r[0], r[1], r[2])
            for r in self.db.rows(
                "SELECT c.name, l.id, l.name FROM labels l "
                "JOIN categories c ON c.id = l.category_id ORDER BY l.position, l.id"
            )
        ]

    def count_labels(self, label_ids: Sequence[int]) -> int:
        """How many of these label ids still exist (an edit may have removed some)."""
        marks = ",".join("?" * len(label_ids))
        return int(self.db.scalar(f"SELECT COUNT(*) FROM labels WHERE id IN ({marks})", label_ids))

    # -- auto tags -------------------------------------------------------------------------
    def bump_auto_version(self) -> None:
        """Every change to ``auto_tags`` bumps this, so in-memory copies know they are stale."""
        with self.db.write() as conn:
            conn.execute(
                f"INSERT INTO meta (key, value) VALUES ('{AUTO_VERSION}', '1') "
                "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
            )

    def versions(self) -> tuple[str | None, str | None]:
        """(auto tags version, vectors version) as stored in meta."""
        rows = dict(
            (r[0], r[1])
            for r in self.db.rows(
                "SELECT key, value FROM meta WHERE key IN (?, 'vectors_version')", (AUTO_VERSION,)
            )
        )
        return rows.get(AUTO_VERSION), rows.get("vectors_version")

    def all_auto_tags(self) -> list[Any]:
        """Every (photo_id, label_id, score) row of ``auto_tags``."""
        return self.db.rows("SELECT photo_id, label_id, score FROM auto_tags")

    def write_auto_changes(
        self,
        added: Iterable[tuple[int, int, float]],
        rescored: Iterable[tuple[float, int, int]],
        gone: Iterable[tuple[int, int]],
    ) -> None:
        """Insert (photo, label, score) rows, rescore (score, photo, label), delete
        (photo, label): the diff a re-tag computed."""
        with self.db.write() as conn:
            conn.executemany(
                "INSERT INTO auto_tags (photo_id, label_id, score) VALUES (?, ?, ?)", added
            )
            conn.executemany(
                "UPDATE auto_tags SET score = ? WHERE photo_id = ? AND label_id = ?", rescored
            )
            conn.executemany("DELETE FROM auto_tags WHERE photo_id = ? AND label_id = ?", gone)

    def auto_tagged_with(self, label: str) -> set[int]:
        """Photos the tagger gave this label (manual decisions not applied)."""
        rows = self.db.rows(
            "SELECT a.photo_id FROM auto_tags a JOIN labels l ON l.id = a.label_id "
            "WHERE l.name = ?",
            (label,),
        )
        return {r[0] for r in rows}

    # -- manual tags -----------------------------------------------------------------------
    def set_manual(self, photo_ids: Sequence[int], tag: str, state: str, stamp: str) -> None:
        """Record 'on' or 'off' for ``tag`` on these photos (those still in the catalog)."""
        with self.db.write() as conn:
            conn.executemany(_SET_MANUAL, [(pid, tag, state, stamp, pid) for pid in photo_ids])

    def manual_of(self, photo_id: int) -> dict[str, str]:
        """Tag -> 'on' or 'off': the user's decisions on one photo."""
        rows = self.db.rows("SELECT tag, state FROM manual_tags WHERE photo_id = ?", (photo_id,))
        return {r[0]: r[1] for r in rows}

    def has_decision(self, photo_id: int, tag: str) -> bool:
        """True when the user decided on ``tag`` (on or off) for the photo."""
        return (
            self.db.one("SELECT 1 FROM manual_tags WHERE photo_id = ? AND tag = ?", (photo_id, tag))
            is not None
        )

    def carries(self, photo_id: int, tag: str) -> bool:
        """True when the photo carries ``tag`` (manual wins applied)."""
        return (
            self.db.one(
                "SELECT 1 FROM effective_tags WHERE photo_id = ? AND tag = ?", (photo_id, tag)
            )
            is not None
        )

    def add_if_undecided(self, photo_id: int, tag: str, stamp: str) -> int:
        """Turn ``tag`` on for the photo unless a decision exists; 1 if it was added."""
        with self.db.write() as conn:
            return conn.execute(
                "INSERT OR IGNORE INTO manual_tags (photo_id, tag, state, updated_at) "
                "SELECT ?, ?, 'on', ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)",
                (photo_id, tag, stamp, photo_id),
            ).rowcount

    def forget_manual(self, pairs: Iterable[tuple[int, str]]) -> None:
        """Drop the manual decisions of these (photo id, tag) pairs."""
        with self.db.write() as conn:
            conn.executemany("DELETE FROM manual_tags WHERE photo_id = ? AND tag = ?", pairs)

    def decisions_on(self, tags: Sequence[str]) -> list[Any]:
        """(photo id, tag, state) of every manual decision on one of ``tags``."""
        marks = ",".join("?" * len(tags))
        return self.db.rows(
            f"SELECT photo_id, tag, state FROM manual_tags WHERE tag IN ({marks})", list(tags)
        )

    def manual_on_counts(self, photo_ids: Sequence[int]) -> dict[int, int]:
        """Photo id -> how many tags the user turned on for it."""
        rows = self.db.rows_in(
            "SELECT photo_id, COUNT(*) FROM manual_tags WHERE state = 'on' "
            "AND photo_id IN ({marks}) GROUP BY photo_id",
            photo_ids,
        )
        return {r[0]: r[1] for r in rows}

    def known_tags(self) -> list[str]:
        """Every tag a photo can have (labels and tags set by hand), sorted."""
        rows = self.db.rows("SELECT name FROM labels UNION SELECT DISTINCT tag FROM manual_tags")
        return sorted(r[0] for r in rows)

    # -- effective tags --------------------------------------------------------------------
    def effective_of(self, photo_ids: Sequence[int]) -> list[Any]:
        """(photo id, tag, source, score, category) of the tags these photos carry."""
        return self.db.rows_in(
            "SELECT photo_id, tag, source, score, category FROM effective_tags "
            "WHERE photo_id IN ({marks})",
            photo_ids,
        )

    def rejected_of(self, photo_ids: Sequence[int]) -> list[Any]:
        """(photo id, tag, category, auto score) of the tags the user turned off."""
        return self.db.rows_in(
            "SELECT m.photo_id, m.tag, li.category, "
            "(SELECT a.score FROM auto_tags a WHERE a.photo_id = m.photo_id "
            " AND a.label_id = li.label_id) "
            "FROM manual_tags m LEFT JOIN label_info li ON li.tag = m.tag "
            "WHERE m.state = 'off' AND m.photo_id IN ({marks})",
            photo_ids,
        )

    def photos_with_tag(self, tag: str) -> list[int]:
        """Photos that carry ``tag`` (any case), in id order."""
        rows = self.db.rows(
            "SELECT DISTINCT photo_id FROM effective_tags WHERE tag = ? COLLATE NOCASE "
            "ORDER BY photo_id",
            (tag.strip(),),
        )
        return [r[0] for r in rows]

    def photo_has_any(self, photo_id: int, tags: Sequence[str]) -> bool:
        """True when the photo carries one of ``tags`` (any case)."""
        marks = ",".join("?" * len(tags))
        rows = self.db.rows(
            f"SELECT DISTINCT photo_id FROM effective_tags WHERE photo_id = ? "
            f"AND tag COLLATE NOCASE IN ({marks})",
            (int(photo_id), *tags),
        )
        return bool(rows)

    def tagged_or_keyworded(self) -> list[int]:
        """Photos with a tag, or with keywords imported from another program's sidecar."""
        return [
            r[0]
            for r in self.db.rows(
                "SELECT photo_id FROM effective_tags UNION "
                "SELECT photo_id FROM keyword_imports WHERE keywords != '[]' "
                "ORDER BY photo_id"
            )
        ]

    def tagged_photos(self, tags: Sequence[str]) -> list[Any]:
        """(photo id, path, tag, status, root path, root follows links) of every photo that
        carries one of ``tags``, in path order (a photo once per tag it carries)."""
        marks = ",".join("?" * len(tags))
        return self.db.rows(
            f"SELECT t.photo_id, p.path, t.tag, p.status, r.path, r.follow_links "
            f"FROM effective_tags t JOIN photos p ON p.id = t.photo_id "
            f"JOIN roots r ON r.id = p.root_id WHERE t.tag IN ({marks}) ORDER BY p.path",
            list(tags),
        )

    @staticmethod
    def filter_clauses(tags: Iterable[str], not_tags: Iterable[str]) -> tuple[list[str], list]:
        """Conditions on ``photos p``: every one of ``tags`` on the photo, none of ``not_tags``."""
        clauses: list[str] = []
        params: list = []
        for tag in tags:
            clauses.append(
                "p.id IN (SELECT photo_id FROM effective_tags WHERE tag = ? COLLATE NOCASE)"
            )
            params.append(tag.strip())
        for tag in not_tags:
            clauses.append(
                "p.id NOT IN (SELECT photo_id FROM effective_tags WHERE tag = ? COLLATE NOCASE)"
            )
            params.append(tag.strip())
        return clauses, params

    # -- counts ----------------------------------------------------------------------------
    def auto_counts(self) -> dict[int, int]:
        """Auto rows per label id (from the label index: fast at 100k photos)."""
        return dict(
            (r[0], r[1])
            for r in self.db.rows("SELECT label_id, COUNT(*) FROM auto_tags GROUP BY label_id")
        )

    def auto_counts_of_manual_photos(self) -> dict[int, int]:
        """Auto rows per label id, of the photos that carry a manual decision."""
        return dict(
            (r[0], r[1])
            for r in self.db.rows(
                f"SELECT label_id, COUNT(*) FROM auto_tags WHERE photo_id IN ({_MANUAL_PHOTOS}) "
                "GROUP BY label_id"
            )
        )

    def effective_counts_of_manual_photos(self) -> dict[str, int]:
        """Per tag, how many photos with a manual decision carry it (manual wins applied)."""
        return dict(
            (r[0], r[1])
            for r in self.db.rows(
                f"SELECT tag, COUNT(DISTINCT photo_id) FROM ({_EFFECTIVE_OF_MANUAL_PHOTOS}) "
                "GROUP BY tag"
            )
        )

    def decided_manual_photos(self, model_id: str) -> dict[str, int]:
        """Per category, the photos with a manual decision and a vector that carry one of
        its labels."""
        return dict(
            (r[0], r[1])
            for r in self.db.rows(
                f"SELECT t.category, COUNT(DISTINCT t.photo_id) "
                f"FROM ({_EFFECTIVE_OF_MANUAL_PHOTOS}) t "
                f"JOIN embeddings e ON e.photo_id = t.photo_id AND e.model = ? "
                f"WHERE t.category IS NOT NULL GROUP BY t.category",
                (model_id,),
            )
        )

    def undecided_where_tag_holds(self, model_id: str, tag: str, category: str) -> int:
        """Photos with a vector that carry ``tag`` but no label of ``category``."""
        return int(
            self.db.scalar(
                "SELECT COUNT(DISTINCT t.photo_id) FROM effective_tags t JOIN embeddings e "
                "ON e.photo_id = t.photo_id AND e.model = ? WHERE t.tag = ? COLLATE NOCASE "
                "AND t.photo_id NOT IN "
                "(SELECT photo_id FROM effective_tags WHERE category = ?)",
                (model_id, tag, category),
            )
            or 0
        )

    def undecided_unless(self, model_id: str, category: str, contrary: Sequence[str]) -> int:
        """Photos with a vector, no label of ``category`` and none of the ``contrary`` tags."""
        marks = ",".join("?" * len(contrary))
        return int(
            self.db.scalar(
                "SELECT COUNT(*) FROM embeddings e WHERE e.model = ? AND e.photo_id NOT IN "
                "(SELECT photo_id FROM effective_tags WHERE category = ?) AND e.photo_id "
                f"NOT IN (SELECT photo_id FROM effective_tags WHERE tag COLLATE NOCASE "
                f"IN ({marks}))",
                (model_id, category, *contrary),
            )
            or 0
        )


def create_schema(conn: sqlite3.Connection) -> None:
    """The tables of migration ``0002_tags`` (the caller stores the default categories)."""
    run_script(conn, SCHEMA_0002)
