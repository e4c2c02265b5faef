"""Recognised text in the catalog (migration 0010): the OCR stage and word search.

* ``ocr_texts``: one row per file content (blake2b hash, as ``photos.content_hash``) with
  its text and word boxes; a copy, a rename or a move of a file is never read again.
* ``ocr_fts``: an FTS5 index over that text, case and diacritics folded
  (``unicode61 remove_diacritics 2``: "creme" finds "Crème").
* ``ocr_photos``: what the stage decided for each photo's file version (size, mtime):
  read, skipped by the gate, or failed; an unchanged file is never considered again.
* ``ocr_gates``: the calibrated gate of each model (see ocr_gate.py).
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from photosort.core import tagging  # noqa: F401 - the tables before ours
from photosort.core.catalog import Catalog, Migration, now_iso, register_migration, run_script
from photosort.core.errors import PhotosortError
from photosort.core.ocr import ENGINE_VERSION, OcrResult, Recognizer, fold
from photosort.core.ocr_gate import GATE_VERSION, TextGate, exemplars
from photosort.core.progress import ProgressCallback, RateMeter


class TextSearchError(PhotosortError):
    """A word query that cannot run (nothing searchable in it)."""


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

register_migration(Migration("0010_ocr", _schema))

#: A photo's stored text counts only while its file is the version that was read.
CURRENT = (
    "JOIN photos p ON p.id = o.photo_id AND p.size = o.size AND p.mtime_ns = o.mtime_ns "
    "JOIN ocr_texts t ON t.content_hash = o.content_hash"
)


# -- the gate -------------------------------------------------------------------------------
def gate_key(model_id: str, threshold: float) -> str:
    return f"{GATE_VERSION}:{model_id}:{threshold:.4f}"


#: Gates per model, kept for the process (tests open many libraries with one model).
_GATE_CACHE: dict[str, TextGate] = {}


def load_gate(catalog: Catalog, model_id: str) -> TextGate | None:
    rows = catalog.query(
        "SELECT weights, bias, threshold FROM ocr_gates WHERE model = ? AND version = ?",
        (model_id, GATE_VERSION),
    )
    if not rows:
        return None
    weights = np.frombuffer(rows[0]["weights"], dtype=np.float32).copy()
    return TextGate(weights, float(rows[0]["bias"]), float(rows[0]["threshold"]))


def train_gate(
    catalog: Catalog, model_id: str, encode: Callable[[list[Image.Image]], np.ndarray]
) -> TextGate:
    """Draw and embed the exemplars, fit and calibrate (once per model), store.

    Only drawn pictures train it, never the library's photos: the gate of a model is the
    same in every library, and a library full of screenshots cannot teach it that
    screenshots hold no text."""
    gate = _GATE_CACHE.get(model_id)
    if gate is None:
        train = exemplars(seed=1)
        held = exemplars(seed=2, per_kind=2)
        vecs = np.asarray(encode([e.image for e in train + held]), np.float32)
        mask = np.array([e.has_text for e in train + held])
        is_train = np.arange(len(vecs)) < len(train)
        gate = TextGate.fit(
            vecs[is_train & mask],
            vecs[is_train & ~mask],
            vecs[~is_train & mask],
            vecs[~is_train & ~mask],
        )
        _GATE_CACHE[model_id] = gate
    with catalog.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO ocr_gates (model, version, weights, bias, threshold, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (model_id, GATE_VERSION, gate.weights.tobytes(), gate.bias, gate.threshold, now_iso()),
        )
    return gate


# -- the stage -------------------------------------------------------------------------------
@dataclass
class OcrSummary:
    """What one run of the OCR stage did."""

    read: int = 0  # photos whose pixels went through OCR
    reused: int = 0  # same content read before (a copy, a move): no OCR
    with_text: int = 0
    skipped: int = 0  # the gate said "no text" (this run)
    waiting: int = 0  # no image vector yet: gated after the next scan
    failed: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0
    threshold: float | None = None

    def as_dict(self) -> dict:
        return {
            "read": self.read,
            "reused": self.reused,
            "with_text": self.with_text,
            "skipped_by_gate": self.skipped,
            "waiting_for_vectors": self.waiting,
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
            "gate_threshold": None if self.threshold is None else round(self.threshold, 4),
            "cancelled": self.cancelled,
            "seconds": round(self.seconds, 2),
        }

    def line(self) -> str:
        return (
            f"text: {self.read + self.reused} photos read, {self.with_text} with text, "
            f"{self.skipped} skipped by the gate (likely no text), {len(self.failed)} failed"
        )


@dataclass
class OcrStage:
    """The background stage after embedding; ``run`` is resumable and cancellable."""

    catalog: Catalog
    recognizer: Recognizer
    model_id: str
    vectors: Callable[[], tuple[np.ndarray, np.ndarray]]  # (ids, matrix) of the model
    gate: Callable[[], TextGate]
    batch: int = 8

    def run(
        self,
        forced: Iterable[int] = (),
        gated: bool = True,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> OcrSummary:
        """Read the text of photos the gate passes (when ``gated``) and of ``forced`` ones.

        A photo whose current file version has a decision is left alone, except a gate
        skip made by another gate (model or threshold changed) and forced photos that
        were skipped."""
        started = time.monotonic()
        summary = OcrSummary()
        forced = set(forced)
        todo: list[tuple[int, float | None]] = [
            (pid, None) for pid in (self._unread(forced) if forced else [])
        ]
        key = None
        if gated:
            undecided = [pid for pid in self._undecided() if pid not in forced]
            if undecided or self.catalog.scalar(
                "SELECT EXISTS (SELECT 1 FROM ocr_photos WHERE decision = 'skipped')"
            ):
                gate = self.gate()
                summary.threshold = gate.threshold
                key = gate_key(self.model_id, gate.threshold)
                regate = [pid for pid in self._skipped(other_than=key) if pid not in forced]
                candidates = undecided + regate
            else:
                candidates = []
            if candidates:  # an unchanged library never loads the vectors
                ids, matrix = self.vectors()
                pos = {int(i): n for n, i in enumerate(ids)}
                have = [pid for pid in candidates if pid in pos]
                summary.waiting = len(candidates) - len(have)
                scores: Any = gate.scores(matrix[[pos[p] for p in have]]) if have else []
                skipped = []
                for pid, score in zip(have, scores, strict=True):
                    if score >= gate.threshold:
                        todo.append((pid, float(score)))
                    else:
                        skipped.append((pid, float(score)))
                self._record_skips(skipped, key)
                summary.skipped = len(skipped)
        self._read(todo, key, summary, on_progress, should_cancel)
        summary.seconds = time.monotonic() - started
        return summary

    def _unread(self, ids: set[int]) -> list[int]:
        """Those of ``ids`` whose current file version has not been read (or failed)."""
        rows = self.catalog.query(
            "SELECT p.id FROM photos p LEFT JOIN ocr_photos o ON o.photo_id = p.id "
            "AND o.size = p.size AND o.mtime_ns = p.mtime_ns AND o.decision = 'read' "
            "WHERE p.status = 'ok' AND o.photo_id IS NULL ORDER BY p.id"
        )
        return [r[0] for r in rows if r[0] in ids]

    def _undecided(self) -> list[int]:
        """Photos whose current file version has no decision (new, changed, never seen)."""
        rows = self.catalog.query(
            "SELECT p.id FROM photos p LEFT JOIN ocr_photos o ON o.photo_id = p.id "
            "WHERE p.status = 'ok' AND (o.photo_id IS NULL OR o.size != p.size OR "
            "o.mtime_ns != p.mtime_ns) ORDER BY p.id"
        )
        return [r[0] for r in rows]

    def _skipped(self, other_than: str | None = None) -> list[int]:
        """Photos the gate skipped (by a gate other than ``other_than``), current versions."""
        rows = self.catalog.query(
            "SELECT p.id FROM photos p JOIN ocr_photos o ON o.photo_id = p.id "
            "AND o.size = p.size AND o.mtime_ns = p.mtime_ns "
            "WHERE p.status = 'ok' AND o.decision = 'skipped' AND o.gate_key IS NOT ? "
            "ORDER BY p.id",
            (other_than,),
        )
        return [r[0] for r in rows]

    def _record_skips(self, skipped: list[tuple[int, float]], key: str | None) -> None:
        for start in range(0, len(skipped), 900):
            chunk = skipped[start : start + 900]
            with self.catalog.transaction() as conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO ocr_photos (photo_id, size, mtime_ns, decision, "
                    "gate_key, gate_score) SELECT id, size, mtime_ns, 'skipped', ?, ? "
                    "FROM photos WHERE id = ?",
                    [(key, score, pid) for pid, score in chunk],
                )

    def _read(self, todo, key, summary: OcrSummary, on_progress, should_cancel) -> None:
        if not todo:
            return
        from photosort.core.imaging import DecodeError, decode_photo
        from photosort.core.scanner import content_hash

        meter = RateMeter("reading text", len(todo), on_progress)
        meter.report(0)
        done = 0
        for start in range(0, len(todo), self.batch):
            rows: list[tuple] = []
            for pid, score in todo[start : start + self.batch]:
                if should_cancel and should_cancel():
                    summary.cancelled = True
                    break
                photo = self.catalog.query(
                    "SELECT path, size, mtime_ns FROM photos WHERE id = ?", (pid,)
                )
                if not photo:
                    continue
                path, size, mtime = photo[0]["path"], photo[0]["size"], photo[0]["mtime_ns"]
                try:
                    with open(path, "rb") as fh:
                        data = fh.read()
                    digest = content_hash(data)
                    known = self._known_text(digest)
                    if known is None:
                        decoded = decode_photo(data, min_side=1200, name=path)
                        result = self.recognizer.read(decoded.image)
                        summary.read += 1
                    else:
                        result = known
                        summary.reused += 1
                    summary.with_text += bool(result.lines)
                    rows.append((pid, size, mtime, digest, "read", score, None, result))
                except (OSError, DecodeError) as exc:
                    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                    summary.failed.append((path, reason))
                    rows.append((pid, size, mtime, None, "failed", score, reason, None))
                done += 1
                meter.report(done, path)
            self._store(rows, key)  # every batch is kept: a cancelled run resumes here
            if summary.cancelled:
                return

    def _known_text(self, digest: str) -> OcrResult | None:
        rows = self.catalog.query(
            "SELECT lines FROM ocr_texts WHERE content_hash = ? AND engine = ?",
            (digest, ENGINE_VERSION),
        )
        return OcrResult.from_dict({"lines": json.loads(rows[0][0])}) if rows else None

    def _store(self, rows: list, key: str | None) -> None:
        if rows:
            with self.catalog.transaction() as conn:
                _write(conn, rows, key)


def store_text(catalog: Catalog, photo_id: int, digest: str, result: OcrResult) -> None:
    """Keep ``result`` as the text of a photo's current file (content ``digest``)."""
    row = catalog.query("SELECT size, mtime_ns FROM photos WHERE id = ?", (photo_id,))
    if row:
        with catalog.transaction() as conn:
            _write(conn, [(photo_id, row[0][0], row[0][1], digest, "read", None, None, result)])


def _write(conn: sqlite3.Connection, rows: list, key: str | None = None) -> None:
    for pid, size, mtime, digest, decision, score, error, result in rows:
        if result is not None:
            conn.execute(
                "INSERT INTO ocr_texts (content_hash, engine, text, lines, read_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(content_hash) DO UPDATE SET "
                "engine = excluded.engine, text = excluded.text, "
                "lines = excluded.lines, read_at = excluded.read_at",
                (
                    digest,
                    ENGINE_VERSION,
                    result.text,
                    json.dumps(result.as_dict()["lines"], ensure_ascii=False),
                    now_iso(),
                ),
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


# -- reading it back ---------------------------------------------------------------------------
def photo_text(catalog: Catalog, photo_id: int) -> OcrResult | None:
    """The recognised text of a photo's current file (None: not read)."""
    rows = catalog.query(
        f"SELECT t.lines FROM ocr_photos o {CURRENT} WHERE o.photo_id = ? AND o.decision = 'read'",
        (photo_id,),
    )
    if not rows:
        return None
    return OcrResult.from_dict({"lines": json.loads(rows[0][0])})


def counts(catalog: Catalog) -> dict[str, int]:
    """Photos per decision (current file versions only), for status and the benchmark."""
    rows = catalog.query(
        "SELECT o.decision, COUNT(*) FROM ocr_photos o JOIN photos p ON p.id = o.photo_id "
        "AND p.size = o.size AND p.mtime_ns = o.mtime_ns GROUP BY o.decision"
    )
    out = {"read": 0, "skipped": 0, "failed": 0}
    out.update({r[0]: r[1] for r in rows})
    return out


# -- word search ---------------------------------------------------------------------------
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def query_terms(text: str) -> list[str]:
    """The searchable pieces of a word query, each an FTS5 phrase ("42.50" stays one
    phrase of two tokens). Punctuation and emoji alone are not searchable."""
    terms = []
    for piece in str(text).split():
        tokens = _TOKEN.findall(piece)
        if tokens:
            terms.append(" ".join(tokens))
    return terms


def fts_query(text: str) -> str:
    """An FTS5 MATCH expression in which every term is a quoted phrase: no user input can
    be read as FTS5 syntax (AND, NEAR, column filters, a stray quote)."""
    terms = query_terms(text)
    if not terms:
        raise TextSearchError(
            f"nothing to search for in {text!r}: give words or numbers, e.g. --text 'total 42.50'"
        )
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms)


@dataclass(frozen=True)
class TextHit:
    photo_id: int
    score: float  # 0..1, higher is better
    snippet: str


def search(
    catalog: Catalog,
    text: str,
    top: int = 20,
    allowed: Iterable[int] | None = None,
) -> list[TextHit]:
    """Photos whose recognised text holds every term, best (BM25) first."""
    match = fts_query(text)
    rows = catalog.query(
        "SELECT o.photo_id, bm25(ocr_fts) AS rank, "
        "snippet(ocr_fts, 0, '[', ']', '…', 12) AS snip "
        "FROM ocr_fts JOIN ocr_texts t ON t.id = ocr_fts.rowid "
        "JOIN ocr_photos o ON o.content_hash = t.content_hash AND o.decision = 'read' "
        "JOIN photos p ON p.id = o.photo_id AND p.size = o.size AND p.mtime_ns = o.mtime_ns "
        "WHERE ocr_fts MATCH ? ORDER BY rank, o.photo_id",
        (match,),
    )
    keep = None if allowed is None else set(allowed)
    hits = []
    for r in rows:
        if keep is not None and r[0] not in keep:
            continue
        relevance = -float(r[1])  # BM25 in SQLite: lower (more negative) is better
        hits.append(TextHit(int(r[0]), relevance / (1.0 + abs(relevance)), r[2]))
        if len(hits) >= top:
            break
    return hits


def matching_words(result: OcrResult, text: str) -> list:
    """The recognised words a query matched (folded as FTS5 folds), for highlighting."""
    wanted = {fold(tok) for term in query_terms(text) for tok in term.split()}
    out = []
    for word in result.words:
        if any(fold(tok) in wanted for tok in _TOKEN.findall(word.text)):
            out.append(word)
    return out


def split_query(text: str) -> tuple[str, str]:
    """The app's search bar: words in double quotes are searched in photos' text, the
    rest by meaning. ``'receipt "ikea"'`` -> ("ikea", "receipt")."""
    quoted = re.findall(r'"([^"]*)"', text)
    rest = re.sub(r'"[^"]*"', " ", text).replace('"', " ")
    return " ".join(q.strip() for q in quoted if q.strip()), " ".join(rest.split())


def fuse(
    word_hits: list[tuple[int, float]], meaning_hits: list[tuple[int, float]], top: int
) -> list[tuple[int, float]]:
    """Rank word and meaning results together (reciprocal rank fusion; a word match
    counts double: the user typed those exact words)."""
    scores: dict[int, float] = {}
    for weight, hits in ((2.0, word_hits), (1.0, meaning_hits)):
        for rank, (pid, _) in enumerate(hits):
            scores[pid] = scores.get(pid, 0.0) + weight / (60 + rank)
    best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    scale = 60 / 3.0  # the best possible score maps to 1
    return [(pid, s * scale) for pid, s in best]
