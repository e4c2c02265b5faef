"""The SQL of recognised text (migrations 0010_ocr and 0010_ocr_b): ``ocr_texts`` and its
FTS5 index ``ocr_fts``, ``ocr_photos`` (the stage's decision per file version), the
gates (``ocr_gates``, ``ocr_learned_gates``). The stage, the gate and word search are in
``core/ocr_store.py``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from photosort.core.catalog import run_script
from photosort.core.store.sql import Store, in_chunks

#: One decision to write: photo id, size, mtime_ns, content hash, decision, gate key, gate
#: score, error, and the text read as (engine, text, lines as JSON, read_at) or None.
DecisionRow = tuple[
    int,
    int,
    int,
    str | None,
    str,
    str | None,
    float | None,
    str | None,
    tuple[str, str, str, str] | None,
]


def _schema(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE ocr_texts (
            id INTEGER PRIMARY KEY,
            content_hash TEXT NOT NULL UNIQUE,
            engine TEXT NOT NULL,
            text TEXT NOT NULL,
            lines TEXT NOT NULL,
            read_at TEXT NOT NULL
        );
        CREATE VIRTUAL TABLE ocr_fts USING fts5(
            text, content = 'ocr_texts', content_rowid = 'id',
            tokenize = "unicode61 remove_diacritics 2"
        );
        CREATE TABLE ocr_photos (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            content_hash TEXT,
            decision TEXT NOT NULL CHECK (decision IN ('read', 'skipped', 'failed')),
            gate_key TEXT,
            gate_score REAL,
            error TEXT
        );
        CREATE INDEX ocr_photos_hash ON ocr_photos(content_hash);
        CREATE TABLE ocr_gates (
            model TEXT PRIMARY KEY,
            version TEXT NOT NULL,
            weights BLOB NOT NULL,
            bias REAL NOT NULL,
            threshold REAL NOT NULL,
            created_at TEXT NOT NULL
        )
        """,
    )
    # Triggers hold ";" inside, so they go one by one (run_script splits on it).
    for trigger in _TRIGGERS:
        conn.execute(trigger)


_TRIGGERS = (
    "CREATE TRIGGER ocr_texts_ai AFTER INSERT ON ocr_texts BEGIN "
    "INSERT INTO ocr_fts (rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER ocr_texts_ad AFTER DELETE ON ocr_texts BEGIN "
    "INSERT INTO ocr_fts (ocr_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER ocr_texts_au AFTER UPDATE ON ocr_texts BEGIN "
    "INSERT INTO ocr_fts (ocr_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO ocr_fts (rowid, text) VALUES (new.id, new.text); END",
)


#: A photo's stored text counts only while its file is the version that was read.
CURRENT = (
    "JOIN photos p ON p.id = o.photo_id AND p.size = o.size AND p.mtime_ns = o.mtime_ns "
    "JOIN ocr_texts t ON t.content_hash = o.content_hash"
)


def _learned_schema(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE ocr_learned_gates (
            model TEXT PRIMARY KEY,
            version TEXT NOT NULL,
            weights BLOB NOT NULL,
            bias REAL NOT NULL,
            threshold REAL NOT NULL,
            outcomes INTEGER NOT NULL,
            with_text INTEGER NOT NULL,
            trained_at TEXT NOT NULL
        )
        """,
    )


class OcrTextStore(Store):
    """Texts read, the stage's decisions per photo file version, and the text gates."""

    # -- the gates -------------------------------------------------------------------------
    def gate_row(self, model_id: str, version: str) -> sqlite3.Row | None:
        """(weights, bias, threshold) of the drawn-picture gate, or None."""
        return self.db.one(
            "SELECT weights, bias, threshold FROM ocr_gates WHERE model = ? AND version = ?",
            (model_id, version),
        )

    def learned_gate_row(self, model_id: str, version: str) -> sqlite3.Row | None:
        """(weights, bias, threshold, outcomes) of the library's learned gate, or None."""
        return self.db.one(
            "SELECT weights, bias, threshold, outcomes FROM ocr_learned_gates "
            "WHERE model = ? AND version = ?",
            (model_id, version),
        )

    def save_gate(
        self, model_id: str, version: str, weights: bytes, bias: float, threshold: float,
        created_at: str,
    ) -> None:  # fmt: skip
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO ocr_gates (model, version, weights, bias, threshold, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (model_id, version, weights, bias, threshold, created_at),
            )

    def save_learned_gate(
        self, model_id: str, version: str, weights: bytes, bias: float, threshold: float,
        outcomes: int, with_text: int, trained_at: str,
    ) -> None:  # fmt: skip
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO ocr_learned_gates (model, version, weights, bias, "
                "threshold, outcomes, with_text, trained_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (model_id, version, weights, bias, threshold, outcomes, with_text, trained_at),
            )

    def outcome_rows(self, look_key: str) -> list[Any]:
        """(photo id, has text) of every photo whose pixels were looked at: read by OCR or
        skipped by the quick look (gate key ``look_key``), current file versions."""
        return self.db.rows(
            "SELECT o.photo_id, o.decision = 'read' AND COALESCE(t.text, '') != '' "
            "FROM ocr_photos o JOIN photos p ON p.id = o.photo_id AND p.size = o.size "
            "AND p.mtime_ns = o.mtime_ns LEFT JOIN ocr_texts t ON t.content_hash = o.content_hash "
            "WHERE p.status = 'ok' AND (o.decision = 'read' OR "
            "(o.decision = 'skipped' AND o.gate_key = ?)) ORDER BY o.photo_id",
            (look_key,),
        )

    def vector_blobs(self, model_id: str, ids: Sequence[int]) -> dict[int, bytes]:
        """photo id -> stored vector of ``model_id`` for those of ``ids`` that have one."""
        found: dict[int, bytes] = {}
        for marks, chunk in in_chunks(ids):
            for r in self.db.rows(
                "SELECT photo_id, vector FROM embeddings WHERE model = ? "
                f"AND photo_id IN ({marks})",
                [model_id, *chunk],
            ):
                found[int(r[0])] = r[1]
        return found

    # -- the stage's decisions -------------------------------------------------------------
    def any_skipped(self) -> bool:
        return bool(
            self.db.scalar("SELECT EXISTS (SELECT 1 FROM ocr_photos WHERE decision = 'skipped')")
        )

    def unread(self) -> list[int]:
        """Photos whose current file version has not been read (or failed)."""
        rows = self.db.rows(
            "SELECT p.id FROM photos p LEFT JOIN ocr_photos o ON o.photo_id = p.id "
            "AND o.size = p.size AND o.mtime_ns = p.mtime_ns AND o.decision = 'read' "
            "WHERE p.status = 'ok' AND o.photo_id IS NULL ORDER BY p.id"
        )
        return [r[0] for r in rows]

    def undecided(self) -> list[int]:
        """Photos whose current file version has no decision (new, changed, never seen)."""
        rows = self.db.rows(
            "SELECT p.id FROM photos p LEFT JOIN ocr_photos o ON o.photo_id = p.id "
            "WHERE p.status = 'ok' AND (o.photo_id IS NULL OR o.size != p.size OR "
            "o.mtime_ns != p.mtime_ns) ORDER BY p.id"
        )
        return [r[0] for r in rows]

    def skipped(self, other_than: str | None, look_key: str) -> list[int]:
        """Photos skipped by a gate other than ``other_than`` and ``look_key``, current
        file versions."""
        rows = self.db.rows(
            "SELECT p.id FROM photos p JOIN ocr_photos o ON o.photo_id = p.id "
            "AND o.size = p.size AND o.mtime_ns = p.mtime_ns "
            "WHERE p.status = 'ok' AND o.decision = 'skipped' AND o.gate_key IS NOT ? "
            "AND o.gate_key IS NOT ? ORDER BY p.id",
            (other_than, look_key),
        )
        return [r[0] for r in rows]

    def record_skips(self, skipped: list[tuple[int, float]], key: str | None) -> None:
        """Gate skips of the photos' current file versions, one transaction per chunk."""
        for _, chunk in in_chunks(skipped):
            with self.db.write() as conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO ocr_photos (photo_id, size, mtime_ns, decision, "
                    "gate_key, gate_score) SELECT id, size, mtime_ns, 'skipped', ?, ? "
                    "FROM photos WHERE id = ?",
                    [(key, score, pid) for pid, score in chunk],
                )

    def photo_file(self, photo_id: int) -> sqlite3.Row | None:
        """(path, size, mtime_ns) of a photo, or None when it is gone."""
        return self.db.one("SELECT path, size, mtime_ns FROM photos WHERE id = ?", (photo_id,))

    def photo_version(self, photo_id: int) -> sqlite3.Row | None:
        """(size, mtime_ns) of a photo's current file, or None."""
        return self.db.one("SELECT size, mtime_ns FROM photos WHERE id = ?", (photo_id,))

    def known_lines(self, digest: str, engine: str) -> str | None:
        """The lines (JSON) read from this content by this engine before, or None."""
        row = self.db.one(
            "SELECT lines FROM ocr_texts WHERE content_hash = ? AND engine = ?", (digest, engine)
        )
        return None if row is None else str(row[0])

    def write(self, rows: Iterable[DecisionRow]) -> None:
        """Store decisions (and texts read) in one transaction."""
        with self.db.write() as conn:
            for pid, size, mtime, digest, decision, key, score, error, text in rows:
                if text is not None:
                    conn.execute(
                        "INSERT INTO ocr_texts (content_hash, engine, text, lines, read_at) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(content_hash) DO UPDATE SET "
                        "engine = excluded.engine, text = excluded.text, "
                        "lines = excluded.lines, read_at = excluded.read_at",
                        (digest, *text),
                    )
                    conn.execute(
                        "UPDATE photos SET content_hash = ? WHERE id = ? AND content_hash IS NULL",
                        (digest, pid),
                    )
                conn.execute(
                    "INSERT OR REPLACE INTO ocr_photos (photo_id, size, mtime_ns, content_hash, "
                    "decision, gate_key, gate_score, error) SELECT ?, ?, ?, ?, ?, ?, ?, ? "
                    "WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)",
                    (pid, size, mtime, digest, decision, key, score, error, pid),
                )

    # -- reading it back -------------------------------------------------------------------
    def photo_lines(self, photo_id: int) -> str | None:
        """The lines (JSON) read from a photo's current file, or None (not read)."""
        row = self.db.one(
            f"SELECT t.lines FROM ocr_photos o {CURRENT} "
            "WHERE o.photo_id = ? AND o.decision = 'read'",
            (photo_id,),
        )
        return None if row is None else str(row[0])

    def decision_counts(self) -> dict[str, int]:
        """Photos per decision, current file versions only."""
        rows = self.db.rows(
            "SELECT o.decision, COUNT(*) FROM ocr_photos o JOIN photos p ON p.id = o.photo_id "
            "AND p.size = o.size AND p.mtime_ns = o.mtime_ns GROUP BY o.decision"
        )
        return {r[0]: r[1] for r in rows}

    def word_matches(self, match: str) -> list[Any]:
        """(photo id, BM25 rank, snippet) of the current files whose text matches the FTS5
        expression ``match``, best first."""
        return self.db.rows(
            "SELECT o.photo_id, bm25(ocr_fts) AS rank, "
            "snippet(ocr_fts, 0, '[', ']', '…', 12) AS snip "
            "FROM ocr_fts JOIN ocr_texts t ON t.id = ocr_fts.rowid "
            "JOIN ocr_photos o ON o.content_hash = t.content_hash AND o.decision = 'read' "
            "JOIN photos p ON p.id = o.photo_id AND p.size = o.size AND p.mtime_ns = o.mtime_ns "
            "WHERE ocr_fts MATCH ? ORDER BY rank, o.photo_id",
            (match,),
        )
