"""Recognised text in the catalog (migration 0010): the OCR stage and word search.

* ``ocr_texts``: one row per file content (blake2b hash, as ``photos.content_hash``) with
  its text and word boxes; a copy, a rename or a move of a file is never read again.
* ``ocr_fts``: an FTS5 index over that text, case and diacritics folded
  (``unicode61 remove_diacritics 2``: "creme" finds "Crème").
* ``ocr_photos``: what the stage decided for each photo's file version (size, mtime):
  read, skipped by the gate, or failed; an unchanged file is never considered again.
* ``ocr_gates``: the calibrated gate of each model (see ocr_gate.py).
* ``ocr_learned_gates`` (migration 0010_ocr_b): the gate each library learns from its
  own outcomes once it has some (``learn_gate``), which replaces the drawn one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from photosort.core import vector_codec
from photosort.core.catalog import Catalog, now_iso
from photosort.core.errors import PhotosortError
from photosort.core.lazy_import import np
from photosort.core.ocr import (
    ENGINE_VERSION,
    LOOK_SIDE,
    LOOK_VERSION,
    OcrResult,
    Recognizer,
    Word,
    fold,
    ocr_nice,
)
from photosort.core.ocr_gate import (
    GATE_VERSION,
    MIN_OUTCOMES,
    TextGate,
    exemplars,
    fit_outcomes,
)
from photosort.core.progress import ProgressCallback, RateMeter
from photosort.core.search import SearchQuery, SearchResult, filter_clauses
from photosort.core.store import PhotoStore
from photosort.core.store.ocr import DecisionRow, OcrTextStore

if TYPE_CHECKING:
    from PIL import Image


class TextSearchError(PhotosortError):
    """A word query that cannot run (nothing searchable in it)."""


# -- the gate -------------------------------------------------------------------------------
#: The gate key of a photo the quick look skipped: a fact about its pixels, redone only
#: when the quick look itself changes, never because the vector gate did.
LOOK_KEY = f"{GATE_VERSION}:{LOOK_VERSION}"


def gate_key(model_id: str, threshold: float, learned: int = 0) -> str:
    """Names the gate that made a decision; ``learned``: outcomes it was trained on."""
    if learned:
        return f"{GATE_VERSION}:learned-{learned}:{model_id}:{threshold:.4f}"
    return f"{GATE_VERSION}:{model_id}:{threshold:.4f}"


#: Gates per model, kept for the process (tests open many libraries with one model).
_GATE_CACHE: dict[str, TextGate] = {}


def _gate_of(row: sqlite3.Row) -> TextGate:
    weights = np.frombuffer(row["weights"], dtype=np.float32).copy()
    return TextGate(weights, float(row["bias"]), float(row["threshold"]))


def load_gate(catalog: Catalog, model_id: str) -> TextGate | None:
    """The drawn-picture gate of ``model_id`` stored in this catalog (None: not yet)."""
    row = OcrTextStore(catalog).gate_row(model_id, GATE_VERSION)
    return _gate_of(row) if row is not None else None


def stored_gate_key(catalog: Catalog, model_id: str) -> tuple[str, float, bool] | None:
    """(key, threshold, learned?) of the gate ``OcrStage.current_gate`` takes when the
    drawn gate is the stored one, read without decoding its weights (so without numpy: a
    rescan with nothing to read stays light); None when no gate is stored yet."""
    store = OcrTextStore(catalog)
    row = store.learned_gate_row(model_id, GATE_VERSION)
    if row is not None:
        threshold = float(row["threshold"])
        return gate_key(model_id, threshold, int(row["outcomes"])), threshold, True
    row = store.gate_row(model_id, GATE_VERSION)
    if row is None:
        return None
    threshold = float(row["threshold"])
    return gate_key(model_id, threshold), threshold, False


def load_learned_gate(catalog: Catalog, model_id: str) -> tuple[TextGate, int] | None:
    """The gate learned from this library's outcomes, and how many it was trained on."""
    row = OcrTextStore(catalog).learned_gate_row(model_id, GATE_VERSION)
    return (_gate_of(row), int(row["outcomes"])) if row is not None else None


def train_gate(
    catalog: Catalog, model_id: str, encode: Callable[[list[Image.Image]], np.ndarray]
) -> TextGate:
    """Draw and embed the exemplars, fit and calibrate (once per model), store.

    Only drawn pictures train it, never the library's photos: the gate of a model is the
    same in every library until the library has outcomes of its own (``learn_gate``)."""
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
    OcrTextStore(catalog).save_gate(
        model_id, GATE_VERSION, gate.weights.tobytes(), gate.bias, gate.threshold, now_iso()
    )
    return gate


def outcomes(catalog: Catalog, model_id: str) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, has_text) of every photo whose pixels were looked at: read by OCR (text
    found or not) or skipped by the quick look (no text region). Gate skips are no
    outcome: nobody looked."""
    rows = OcrTextStore(catalog).outcome_rows(LOOK_KEY)
    label = {int(r[0]): bool(r[1]) for r in rows}
    ids, matrix = vectors_of(catalog, model_id, list(label))
    return matrix, np.array([label[int(i)] for i in ids], bool)


def learn_gate(catalog: Catalog, model_id: str, force: bool = False) -> TextGate | None:
    """Train this library's own gate on its outcomes, when it has MIN_OUTCOMES photos
    with text and as many without, and they grew by a tenth since the last training
    (or ``force``). Returns the new gate, or None when it was not retrained."""
    rows = OcrTextStore(catalog).outcome_rows(LOOK_KEY)
    texts = sum(1 for r in rows if r[1])
    if texts < MIN_OUTCOMES or len(rows) - texts < MIN_OUTCOMES:
        return None  # too few before photos without a vector drop out: no vector read
    vectors, has_text = outcomes(catalog, model_id)
    n, with_text = len(has_text), int(has_text.sum())
    if with_text < MIN_OUTCOMES or n - with_text < MIN_OUTCOMES:
        return None
    stored = load_learned_gate(catalog, model_id)
    if stored is not None and not force and n < stored[1] + max(MIN_OUTCOMES, stored[1] // 10):
        return None
    gate = fit_outcomes(vectors, has_text)
    OcrTextStore(catalog).save_learned_gate(
        model_id,
        GATE_VERSION,
        gate.weights.tobytes(),
        gate.bias,
        gate.threshold,
        n,
        with_text,
        now_iso(),
    )
    return gate


def vectors_of(catalog: Catalog, model_id: str, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, matrix) of the stored vectors of ``ids`` (those without one are left out),
    in the order of ``ids``: only the photos the stage considers, never the whole index."""
    found = OcrTextStore(catalog).vector_blobs(model_id, ids)
    have = [i for i in ids if i in found]
    if not have:
        return np.empty(0, np.int64), np.empty((0, 0), np.float32)
    return vector_codec.decode_rows(have, [found[i] for i in have])


# -- the stage -------------------------------------------------------------------------------
@dataclass
class OcrSummary:
    """What one run of the OCR stage did."""

    read: int = 0  # photos whose pixels went through OCR
    reused: int = 0  # same content read before (a copy, a move): no OCR
    with_text: int = 0
    skipped: int = 0  # the vectors said "no text" (this run)
    looked: int = 0  # the quick look (text detector on a small copy) ran
    skipped_by_look: int = 0  # ... and found no text region: no OCR
    waiting: int = 0  # no image vector yet: gated after the next scan
    failed: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0
    threshold: float | None = None
    learned_gate: bool = False  # the gate that decided was learned from this library
    gate_trained: bool = False  # this run (re)trained the library's own gate

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "reused": self.reused,
            "with_text": self.with_text,
            "skipped_by_gate": self.skipped + self.skipped_by_look,
            "skipped_by_vectors": self.skipped,
            "skipped_by_quick_look": self.skipped_by_look,
            "quick_looks": self.looked,
            "learned_gate": self.learned_gate,
            "gate_trained": self.gate_trained,
            "waiting_for_vectors": self.waiting,
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
            "gate_threshold": None if self.threshold is None else round(self.threshold, 4),
            "cancelled": self.cancelled,
            "seconds": round(self.seconds, 2),
        }

    def line(self) -> str:
        return (
            f"text: {self.read + self.reused} photos read, {self.with_text} with text, "
            f"{self.skipped + self.skipped_by_look} skipped by the gate (likely no text: "
            f"{self.skipped} by the image vectors, {self.skipped_by_look} by a quick look), "
            f"{len(self.failed)} failed"
        )


#: One photo for the stage to read: (photo id, gate score or None, quick look first).
_Todo = tuple[int, float | None, bool]
#: One decision to store: photo id, size, mtime_ns, content hash, decision, gate key,
#: gate score, error, text.
_Row = tuple[int, int, int, str | None, str, str | None, float | None, str | None, OcrResult | None]


@dataclass
class OcrStage:
    """The background stage after embedding; ``run`` is resumable and cancellable.

    The gate, in order: the image vectors (the library's own learned probe once it has
    outcomes, else the drawn-picture probe), then, on the photos the vectors pass, a
    quick look (the text detector on a small copy); only photos with a text region found
    are read."""

    catalog: Catalog
    recognizer: Recognizer
    model_id: str
    gate: Callable[[], TextGate]  # the drawn-picture gate of the model
    batch: int = 8
    quick_look: bool = True
    learn: bool = True  # retrain the library's own gate at the end of a run
    #: The current gate's (key, threshold, learned?) without decoding it, when ``gate``
    #: returns the stored drawn gate (``stored_gate_key``); None: decode to know.
    key_hint: Callable[[], tuple[str, float, bool] | None] | None = None

    def current_gate(self) -> tuple[TextGate, str, bool]:
        """(gate, its key, learned?): the library's own gate once it has one."""
        learned = load_learned_gate(self.catalog, self.model_id)
        if learned is not None:
            return learned[0], gate_key(self.model_id, learned[0].threshold, learned[1]), True
        gate = self.gate()
        return gate, gate_key(self.model_id, gate.threshold), False

    def run(
        self,
        forced: Iterable[int] = (),
        gated: bool = True,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
        summary: OcrSummary | None = None,
    ) -> OcrSummary:
        """Read the text of photos the gate passes (when ``gated``) and of ``forced`` ones.

        A photo whose current file version has a decision is left alone, except a gate
        skip made by another gate (model, threshold or learned gate changed) and forced
        photos that were skipped. ``summary``: add to this one (a run in several passes)."""
        started = time.monotonic()
        summary = summary if summary is not None else OcrSummary()
        forced = set(forced)
        todo: list[_Todo] = [(pid, None, False) for pid in (self._unread(forced) if forced else [])]
        key = None
        if gated:
            undecided = [pid for pid in self._undecided() if pid not in forced]
            candidates = []
            if undecided or OcrTextStore(self.catalog).any_skipped():
                # Nothing undecided: only photos skipped by another gate need the gate
                # itself, and its key alone tells which they are.
                hint = self.key_hint() if self.key_hint and not undecided else None
                if hint is not None:
                    key, summary.threshold, summary.learned_gate = hint
                    candidates = [p for p in self._skipped(other_than=key) if p not in forced]
                if hint is None or candidates:
                    gate, key, summary.learned_gate = self.current_gate()
                    summary.threshold = gate.threshold
                    regate = [pid for pid in self._skipped(other_than=key) if pid not in forced]
                    candidates = undecided + regate
            if candidates:  # an unchanged library reads no vectors
                ids, matrix = vectors_of(self.catalog, self.model_id, candidates)
                summary.waiting = len(candidates) - len(ids)
                scores = gate.scores(matrix) if len(ids) else np.empty(0, np.float32)
                skipped = []
                for pid, score in zip(ids.tolist(), scores.tolist(), strict=True):
                    if score >= gate.threshold:
                        todo.append((pid, score, self.quick_look))
                    else:
                        skipped.append((pid, score))
                self._record_skips(skipped, key)
                summary.skipped += len(skipped)
        self._read(todo, key, summary, on_progress, should_cancel)
        if self.learn and not summary.cancelled:  # forced reads are outcomes too
            summary.gate_trained = learn_gate(self.catalog, self.model_id) is not None
        summary.seconds += time.monotonic() - started
        return summary

    def _unread(self, ids: set[int]) -> list[int]:
        """Those of ``ids`` whose current file version has not been read (or failed)."""
        return [pid for pid in OcrTextStore(self.catalog).unread() if pid in ids]

    def _undecided(self) -> list[int]:
        """Photos whose current file version has no decision (new, changed, never seen)."""
        return OcrTextStore(self.catalog).undecided()

    def _skipped(self, other_than: str | None = None) -> list[int]:
        """Photos the vectors skipped (by a gate other than ``other_than``), current
        versions; quick-look skips stay skipped (a fact about the pixels)."""
        return OcrTextStore(self.catalog).skipped(other_than, LOOK_KEY)

    def _record_skips(self, skipped: list[tuple[int, float]], key: str | None) -> None:
        OcrTextStore(self.catalog).record_skips(skipped, key)

    def _read(
        self,
        todo: list[_Todo],
        key: str | None,
        summary: OcrSummary,
        on_progress: ProgressCallback | None,
        should_cancel: Callable[[], bool] | None,
    ) -> None:
        if not todo:
            return
        meter = RateMeter("reading text", len(todo), on_progress)
        meter.report(0)
        done = 0
        for start in range(0, len(todo), self.batch):
            rows: list[_Row] = []
            for pid, score, look in todo[start : start + self.batch]:
                if should_cancel and should_cancel():
                    summary.cancelled = True
                    break
                found = self._read_one(pid, score, look, key, summary)
                if found is not None:
                    rows.append(found[1])
                    done += 1
                    meter.report(done, found[0])
            self._store(rows)  # every batch is kept: a cancelled run resumes here
            if summary.cancelled:
                return

    def _read_one(
        self, pid: int, score: float | None, look: bool, key: str | None, summary: OcrSummary
    ) -> tuple[str, _Row] | None:
        """Look at (and read) one photo: its path and the decision to store (None: the
        photo is gone)."""
        from photosort.core.imaging import DecodeError, decode_photo
        from photosort.core.scanner import content_hash

        photo = OcrTextStore(self.catalog).photo_file(pid)
        if photo is None:
            return None
        path, size, mtime = photo["path"], photo["size"], photo["mtime_ns"]
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            digest = content_hash(data)
            result = self._known_text(digest)
            if result is not None:
                summary.reused += 1
            else:
                if look:
                    summary.looked += 1
                    small = decode_photo(data, min_side=LOOK_SIDE, name=path)
                    if not self.recognizer.has_text(small.image):
                        summary.skipped_by_look += 1
                        skip = (pid, size, mtime, digest, "skipped", LOOK_KEY, score, None, None)
                        return path, skip
                decoded = decode_photo(data, min_side=1200, name=path)
                result = self.recognizer.read(decoded.image)
                summary.read += 1
            summary.with_text += bool(result.lines)
            return path, (pid, size, mtime, digest, "read", key, score, None, result)
        except (OSError, DecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            summary.failed.append((path, reason))
            return path, (pid, size, mtime, None, "failed", key, score, reason, None)

    def _known_text(self, digest: str) -> OcrResult | None:
        lines = OcrTextStore(self.catalog).known_lines(digest, ENGINE_VERSION)
        return OcrResult.from_dict({"lines": json.loads(lines)}) if lines is not None else None

    def _store(self, rows: list[_Row]) -> None:
        if rows:
            _write(OcrTextStore(self.catalog), rows)


# -- the low-priority thread ----------------------------------------------------------------
def lower_this_thread() -> int:
    """Lower the calling thread's priority by ``$PHOTOSORT_OCR_NICE`` (default 10) and
    return the step taken. On Linux nice() applies to the calling thread only, and the
    threads it starts (onnxruntime's) inherit it; elsewhere it would lower the whole
    process, so nothing is done there."""
    step = ocr_nice()
    if not step or not sys.platform.startswith("linux"):
        return 0
    with contextlib.suppress(OSError):
        os.nice(step)
        return step
    return 0


class BackgroundReader:
    """The text stage on a thread of its own at low priority, so indexing keeps its speed.

    The thread waits until ``finish`` (indexing done: photos are searchable), then reads,
    with progress, and ``finish`` waits for it. With ``concurrent``, it also reads, in
    passes while the scan indexes, the photos that already have their vectors (once the
    model's gate is at hand: drawing it needs the model the scan is using)."""

    POLL_S = 2.0

    def __init__(
        self,
        stage: OcrStage,
        forced: Iterable[int] = (),
        gated: bool = True,
        should_cancel: Callable[[], bool] | None = None,
        concurrent: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.stage = stage
        self.forced = list(forced)
        self.gated = gated
        self.summary = OcrSummary()
        self._cancel = should_cancel or (lambda: False)
        self._indexed = threading.Event()
        self._stop = threading.Event()
        self._progress = on_progress
        self._error: BaseException | None = None
        self._concurrent = concurrent
        self._thread = threading.Thread(target=self._main, name="photosort-ocr", daemon=True)

    def start(self) -> BackgroundReader:
        """Start the thread; it reads what is left once ``finish`` is called."""
        self._thread.start()
        return self

    def finish(self, on_progress: ProgressCallback | None = None) -> OcrSummary:
        """Indexing is done: read the rest (with progress) and return what was done."""
        if on_progress is not None:
            self._progress = on_progress  # before the last pass can start
        self._indexed.set()
        try:
            while self._thread.is_alive():
                self._thread.join(0.2)  # short waits: Ctrl-C still reaches this thread
        except BaseException:
            self._stop.set()
            raise
        if self._error is not None:
            raise self._error
        return self.summary

    def abandon(self) -> None:
        """Stop after the photo being read (the scan failed) and wait for the thread."""
        self._stop.set()
        self._indexed.set()
        self._thread.join()

    def _cancelled(self) -> bool:
        return self._stop.is_set() or self._cancel()

    def _main(self) -> None:
        lower_this_thread()
        try:
            early = dataclasses.replace(self.stage, learn=False)
            while not self._indexed.wait(self.POLL_S):
                if self._cancelled():
                    return
                if self._concurrent and self._gate_ready():
                    early.run(
                        gated=True,
                        should_cancel=lambda: self._cancelled() or self._indexed.is_set(),
                        summary=self.summary,
                    )
                    self.summary.cancelled = False  # indexing ended, or a real cancel below
            if not self._cancelled():
                self.stage.run(
                    self.forced, self.gated, self._progress, self._cancelled, self.summary
                )
            self.summary.cancelled = self.summary.cancelled or self._cancelled()
        except BaseException as exc:  # handed to the waiting thread by finish()
            self._error = exc

    def _gate_ready(self) -> bool:
        """A gate is at hand without the model (stored, or drawn in this process)."""
        cat, model = self.stage.catalog, self.stage.model_id
        if model in _GATE_CACHE or load_learned_gate(cat, model) is not None:
            return True
        return load_gate(cat, model) is not None


def store_text(catalog: Catalog, photo_id: int, digest: str, result: OcrResult) -> None:
    """Keep ``result`` as the text of a photo's current file (content ``digest``)."""
    store = OcrTextStore(catalog)
    row = store.photo_version(photo_id)
    if row is not None:
        _write(store, [(photo_id, row[0], row[1], digest, "read", None, None, None, result)])


def _write(store: OcrTextStore, rows: list[_Row]) -> None:
    """Store the decisions, each text read as JSON lines, in one transaction."""
    out: list[DecisionRow] = []
    for pid, size, mtime, digest, decision, key, score, error, result in rows:
        text = None
        if result is not None:
            text = (
                ENGINE_VERSION,
                result.text,
                json.dumps(result.as_dict()["lines"], ensure_ascii=False),
                now_iso(),
            )
        out.append((pid, size, mtime, digest, decision, key, score, error, text))
    store.write(out)


# -- reading it back ---------------------------------------------------------------------------
def photo_text(catalog: Catalog, photo_id: int) -> OcrResult | None:
    """The recognised text of a photo's current file (None: not read)."""
    lines = OcrTextStore(catalog).photo_lines(photo_id)
    if lines is None:
        return None
    return OcrResult.from_dict({"lines": json.loads(lines)})


def counts(catalog: Catalog) -> dict[str, int]:
    """Photos per decision (current file versions only), for status and the benchmark."""
    out = {"read": 0, "skipped": 0, "failed": 0}
    out.update(OcrTextStore(catalog).decision_counts())
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
    rows = OcrTextStore(catalog).word_matches(match)
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


def matching_words(result: OcrResult, text: str) -> list[Word]:
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


def stage_for(
    catalog: Catalog,
    recognizer: Recognizer,
    model_id: str,
    encode: Callable[[list[Image.Image]], np.ndarray],
) -> OcrStage:
    """A library's text stage: its gate as stored, else trained once for the model with
    ``encode`` (which loads the model, so only when no gate is stored)."""

    def gate() -> TextGate:
        stored = load_gate(catalog, model_id)
        if stored is not None:
            return stored
        return train_gate(catalog, model_id, encode)

    return OcrStage(
        catalog,
        recognizer,
        model_id,
        gate,
        key_hint=lambda: stored_gate_key(catalog, model_id),
    )


def search_words(
    catalog: Catalog,
    words: str,
    query: SearchQuery,
    meaning: Callable[[], list[tuple[int, float]]],
    results_of: Callable[[list[tuple[int, float]]], list[SearchResult]],
) -> tuple[list[SearchResult], dict[int, str]]:
    """Photos whose text holds ``words``, ranked together with the (checked) query's
    meaning part when it has one (``meaning()``: its (photo, score) hits); filters apply.
    Returns the results and each word hit's snippet (matches in [brackets])."""
    clauses, params = filter_clauses(query)
    allowed = None
    if clauses:
        allowed = PhotoStore(catalog).ids_where(clauses, params)
    hits = search(catalog, words, query.top * 3, allowed)
    snippets = {h.photo_id: h.snippet for h in hits}
    word_hits = [(h.photo_id, h.score) for h in hits]
    if query.has_semantic_part:
        return results_of(fuse(word_hits, meaning(), query.top)), snippets
    return results_of(word_hits[: query.top]), snippets
