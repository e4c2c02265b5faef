"""Teach a tag by example: a calibrated probe over the stored vectors, learned from clicks.

Any tag can be taught. Its *positives* are the photos the user tagged with it (manual
'on'), its *negatives* the photos where the user rejected it (manual 'off'), plus a fixed
seeded sample of the rest of the library as background (mostly negatives; a few unknown
positives among them only make the probe more cautious). The probe itself (whitened mean
direction + nearest example, calibrated by cross-validation) lives in ``core/probe.py``.

Taught tags are auto tags: a label (in the ``Taught`` category, or the free category
that already holds the tag) whose ``auto_tags`` rows come from the probe instead of the
text tagger. So the rule "manual wins", search, counts, export and sidecars need nothing
new; applying the probe after every scan or re-tag keeps them current, and retraining
from the manual examples each time makes them follow a change of model.

Retraining after a decision must stay under a second at 100k photos, so what does not
depend on the decision is kept between retrains (``TeachCache``): the library's whitening
and background sample (per vectors version), and per tag each photo's cosine to its
nearest example (a new example adds one matrix-vector product, a rejection none).
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from photosort.core import categories as category_store
from photosort.core import tagging
from photosort.core.catalog import Catalog, now_iso
from photosort.core.categories import Category, CategoryError, Label, clean_tag
from photosort.core.errors import PhotosortError
from photosort.core.lazy_import import np
from photosort.core.probe import (  # noqa: F401  (re-exported: the probe is part of teaching)
    DEFAULT_THRESHOLD,
    FEW_EXAMPLES,
    Estimate,
    Probe,
    Trained,
    Whitening,
    estimate_uncertain,
    library_precision,
    nearest,
    precision_range,
    train,
)
from photosort.core.store.taught import TaughtTagStore

TAUGHT_CATEGORY = "Taught"
MIN_EXAMPLES = 2  # fewer cannot be taught at all
SAMPLE = 4000  # the fixed library sample the whitening is computed from
BACKGROUND = 2000  # of which the first this many without a decision are the background
SAMPLE_SEED = 16


class TeachError(PhotosortError):
    """A tag that cannot be taught (too few examples, an exclusive label)."""


# -- data the faces see ------------------------------------------------------------------------
@dataclass
class TeachSummary:
    tag: str
    positives: int
    negatives: int
    suggested: int  # photos the taught tag is now on (besides the examples)
    uncertain: int  # photos with a probability in [UNCERTAIN_LOW, threshold)
    estimate: Estimate
    seconds: float = 0.0
    changes: tuple[int, int, int] = (0, 0, 0)

    def line(self) -> str:
        return (
            f"taught {self.tag!r} from {self.positives} examples and {self.negatives} "
            f"rejections: suggested on {self.suggested} more photos, {self.uncertain} "
            f"uncertain; {self.estimate.line()} ({self.seconds:.2f}s)"
        )

    def as_dict(self) -> dict:
        return {
            "tag": self.tag,
            "positives": self.positives,
            "negatives": self.negatives,
            "suggested": self.suggested,
            "uncertain": self.uncertain,
            "precision": _round(self.estimate.precision),
            "recall": _round(self.estimate.recall),
            "estimate": self.estimate.line(),
            "warning": self.estimate.warning,
            "seconds": round(self.seconds, 3),
            "estimate_uncertain": self.estimate.uncertain,
            "precision_range": _span(self.estimate.precision_range()),
        }


@dataclass
class TaughtInfo:
    tag: str
    category: str
    positives: int
    negatives: int
    suggested: int
    precision: float | None
    recall: float | None
    trained_at: str | None

    @property
    def estimate_uncertain(self) -> bool:
        return estimate_uncertain(self.precision, self.positives + self.negatives)

    def precision_range(self) -> tuple[float, float] | None:
        return precision_range(self.precision, self.positives + self.negatives)

    def as_dict(self) -> dict:
        out = dict(self.__dict__)
        out["precision"], out["recall"] = _round(self.precision), _round(self.recall)
        out["estimate_uncertain"] = self.estimate_uncertain
        out["precision_range"] = _span(self.precision_range())
        return out


@dataclass
class ReviewItem:
    photo_id: int
    path: str
    probability: float

    def as_dict(self) -> dict:
        return {"path": self.path, "probability": round(self.probability, 4)}


UNCERTAIN_LOW = 0.2


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _span(span: tuple[float, float] | None) -> list[float] | None:
    return None if span is None else [round(span[0], 3), round(span[1], 3)]


VectorLoader = Callable[[], tuple[int, "np.ndarray", "np.ndarray"]]  # (version, ids, matrix)


@dataclass
class _Model:
    """A trained probe and where it stands: the library's probabilities, examples."""

    tag: str
    label_id: int
    threshold: float
    trained: Trained
    version: int
    ids: np.ndarray
    probs: np.ndarray
    labelled: np.ndarray  # bool over ids: photos with a manual decision on the tag
    positives: int
    negatives: int
    scores: np.ndarray  # uncalibrated, for ranking (probabilities saturate at 1)


class TeachCache:
    """What retraining reuses between decisions (kept by the Library, shared by its
    Teachers): the fixed sample and whitening of one library version, and per tag each
    photo's cosine to its nearest example. Everything is keyed by the model and vectors
    version, so a scan or a change of model starts afresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._sample: np.ndarray | None = None
        self._whitening: Whitening | None = None
        self._near: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # tag: anchor ids, cosines

    def _at(self, key: tuple) -> None:
        if key != self._key:
            self._key, self._sample, self._whitening, self._near = key, None, None, {}

    def library(self, key: tuple, matrix: np.ndarray) -> tuple[np.ndarray, Whitening]:
        """(rows of the fixed seeded sample, in random order; the library's whitening)."""
        with self._lock:
            self._at(key)
            if self._sample is None or self._whitening is None:
                rng = np.random.default_rng(SAMPLE_SEED)
                sample = rng.permutation(len(matrix))[:SAMPLE]
                self._sample = sample
                self._whitening = Whitening.of(matrix[np.sort(sample)])
            return self._sample, self._whitening

    def apply(
        self, key: tuple, tag: str, probe: Probe, anchor_ids: np.ndarray, matrix: np.ndarray
    ) -> np.ndarray:
        """The probe's scores for every photo: one matrix-vector product for its weights,
        one per anchor new since the last call (a removed anchor recomputes the
        nearest-example cosines from all of them, as one matrix product)."""
        with self._lock:
            self._at(key)
            known = self._near.get(tag)
        reuse = known is not None and bool(np.isin(known[0], anchor_ids).all())
        fresh = (
            probe.anchors[~np.isin(anchor_ids, known[0])]
            if reuse and known is not None
            else probe.anchors
        )
        linear = matrix @ probe.weights
        if len(fresh) <= 4:  # BLAS runs matrix-vector products faster than a thin product
            near = np.full(len(matrix), -1.0, np.float32)
            for anchor in fresh:
                np.maximum(near, matrix @ anchor, out=near)
        else:
            near = nearest(matrix, fresh)
        if reuse and known is not None:
            near = np.maximum(near, known[1])
        with self._lock:
            if self._key == key:
                self._near[tag] = (anchor_ids.copy(), near)
        return probe.scores(matrix, near, linear=linear)


# -- the teacher --------------------------------------------------------------------------------
class Teacher:
    """Teaches, applies, reviews and lists taught tags of one catalog."""

    def __init__(
        self,
        catalog: Catalog,
        load_vectors: VectorLoader,
        model_id: str,
        cache: tagging.AutoTagCache | None = None,
        teach_cache: TeachCache | None = None,
    ):
        self.catalog = catalog
        self.load_vectors = load_vectors
        self.model_id = model_id
        self.cache = cache
        self.teach_cache = teach_cache or TeachCache()

    # -- which tags are taught ---------------------------------------------------------
    def names(self) -> list[str]:
        return TaughtTagStore(self.catalog).names()

    def is_taught(self, tag: str) -> bool:
        return TaughtTagStore(self.catalog).is_taught(tag)

    def _ensure_label(self, tag: str) -> tuple[int, float]:
        """The tag's label row (created in the Taught category when new) and threshold."""
        cats = category_store.load(self.catalog)
        owner = next((c for c in cats if any(lab.name == tag for lab in c.labels)), None)
        if owner is not None and owner.kind == "exclusive":
            raise TeachError(
                f"{tag!r} is a label of the exclusive group {owner.name!r}; "
                "only free tags can be taught"
            )
        with self.catalog.transaction() as conn:
            if owner is None:
                cat = next((c for c in cats if c.name == TAUGHT_CATEGORY), None)
                cat = cat or Category(TAUGHT_CATEGORY, "free", DEFAULT_THRESHOLD)
                cat.labels.append(Label(tag))
                category_store.store(conn, cat)
                owner = cat
            store = TaughtTagStore(conn)
            store.add(tag, now_iso())
            label_id = store.label_id(tag)
        return label_id, owner.threshold_of(owner.label(tag))

    def _label(self, tag: str) -> tuple[int, float]:
        for cat in category_store.load(self.catalog):
            for label in cat.labels:
                if label.name == tag:
                    lid = TaughtTagStore(self.catalog).label_id(tag)
                    return int(lid), cat.threshold_of(label)
        raise TeachError(f"{tag!r} is not a taught tag")

    # -- training ------------------------------------------------------------------------
    def _examples(self, tag: str) -> tuple[np.ndarray, np.ndarray]:
        rows = TaughtTagStore(self.catalog).examples(tag)
        pos = np.array(sorted(r[0] for r in rows if r[1] == "on"), np.int64)
        neg = np.array(sorted(r[0] for r in rows if r[1] == "off"), np.int64)
        return pos, neg

    def _model(self, tag: str, label_id: int, threshold: float) -> _Model:
        version, ids, matrix = self.load_vectors()
        key = (self.model_id, version, len(ids))
        pos_ids, neg_ids = self._examples(tag)
        pos_rows = np.flatnonzero(np.isin(ids, pos_ids))
        neg_rows = np.flatnonzero(np.isin(ids, neg_ids))
        if len(pos_rows) < MIN_EXAMPLES:
            raise TeachError(
                f"{tag!r} has {len(pos_rows)} example photo(s) with a vector; teaching needs "
                f"at least {MIN_EXAMPLES}: tag some with  photosort tag PATH... --add {tag!r}"
            )
        labelled = np.zeros(len(ids), bool)
        labelled[pos_rows] = labelled[neg_rows] = True
        sample, whitening = self.teach_cache.library(key, matrix)
        bg_rows = np.sort(sample[~labelled[sample]][:BACKGROUND])
        unlabelled = len(ids) - int(labelled.sum())
        trained = train(
            matrix[pos_rows], matrix[neg_rows], matrix[bg_rows], threshold, unlabelled, whitening
        )
        anchor_ids = ids[pos_rows[: len(trained.probe.anchors)]]
        scores = self.teach_cache.apply(key, tag, trained.probe, anchor_ids, matrix)
        probs = trained.probe.calibrate(scores)
        if trained.estimate.recall is not None:
            trained.estimate.precision = library_precision(probs[~labelled], threshold)
        return _Model(
            tag, label_id, threshold, trained, version, ids, probs, labelled,
            len(pos_rows), len(neg_rows), scores,
        )  # fmt: skip

    def teach(self, tag: str) -> TeachSummary:
        """Train ``tag`` from its manual examples and apply it to the whole library."""
        started = time.perf_counter()
        tag = clean_tag(tag)
        label_id, threshold = self._ensure_label(tag)
        return self._apply(self._model(tag, label_id, threshold), started)

    def _apply(self, model: _Model, started: float) -> TeachSummary:
        keep = model.probs >= model.threshold
        decisions = tagging.Decisions(
            model.ids[keep],
            np.full(int(keep.sum()), model.label_id, np.int64),
            model.probs[keep],
        )
        try:
            changes = tagging.write_decisions(
                self.catalog, [model.label_id], decisions, model.version, self.cache
            )
        except tagging.StaleVectors:  # a scan changed photos meanwhile: once more
            model = self._model(model.tag, model.label_id, model.threshold)
            return self._apply(model, started)
        est = model.trained.estimate
        unlabelled = ~model.labelled
        summary = TeachSummary(
            model.tag,
            model.positives,
            model.negatives,
            int(np.count_nonzero(keep & unlabelled)),
            int(np.count_nonzero((model.probs >= UNCERTAIN_LOW) & ~keep & unlabelled)),
            est,
            time.perf_counter() - started,
            changes,
        )
        with self.catalog.transaction() as conn:
            TaughtTagStore(conn).record_training(
                model.tag,
                self.model_id,
                summary.positives,
                summary.negatives,
                summary.suggested,
                est.precision,
                est.recall,
                now_iso(),
            )
        return summary

    def apply_all(self) -> list[TeachSummary]:
        """Retrain and re-apply every taught tag (after a scan, a re-tag, a model change).

        A tag that lost its examples keeps its last auto tags and is skipped."""
        out = []
        for tag in self.names():
            try:
                label_id, threshold = self._label(tag)
                out.append(self._apply(self._model(tag, label_id, threshold), time.perf_counter()))
            except TeachError:
                continue
        return out

    # -- review -------------------------------------------------------------------------
    def review(self, tag: str, count: int) -> list[tuple[int, float]]:
        """The ``count`` undecided photos the probe is least sure about (active learning):
        closest to the threshold first, ties broken toward the more likely."""
        tag = clean_tag(tag)
        if not self.is_taught(tag):
            raise TeachError(f"{tag!r} is not taught yet: run  photosort teach {tag!r}")
        label_id, threshold = self._label(tag)
        model = self._model(tag, label_id, threshold)
        rows = np.flatnonzero(~model.labelled)
        margin = np.abs(model.probs[rows] - threshold) - 1e-3 * model.probs[rows]
        order = rows[np.argsort(margin, kind="stable")[: max(count, 0)]]
        return [(int(model.ids[i]), float(model.probs[i])) for i in order]

    def ranking(self, tag: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(photo ids, probabilities, labelled mask), best first: what the probe thinks of
        every photo with a vector (for "show all suggestions" and for evaluation)."""
        tag = clean_tag(tag)
        label_id, threshold = self._label(tag)
        model = self._model(tag, label_id, threshold)
        order = np.argsort(-model.scores, kind="stable")
        return model.ids[order], model.probs[order], model.labelled[order]

    # -- listing --------------------------------------------------------------------------
    def list(self) -> list[TaughtInfo]:
        rows = TaughtTagStore(self.catalog).listing()
        return [
            TaughtInfo(r[0], r[1] or "", r[6], r[7], r[2], r[3], r[4], r[5])
            for r in rows
            if r[1] is not None  # the label was deleted with its category
        ]

    def forget(self, tag: str) -> None:
        """Stop teaching ``tag``: its taught auto tags go (with its label, when photosort
        made it in the Taught category), manual tags stay."""
        with self.catalog.transaction() as conn:
            store = TaughtTagStore(conn)
            store.forget(tag)
            lid = store.label_id(tag)
            if lid is not None:
                store.drop_auto_tags(lid)
                tagging.bump_auto_version(conn)
            taught = next((c for c in category_store.load(conn) if c.name == TAUGHT_CATEGORY), None)
            if taught is not None and any(lab.name == tag for lab in taught.labels):
                taught.labels = [lab for lab in taught.labels if lab.name != tag]
                if taught.labels:
                    category_store.store(conn, taught)
                else:
                    category_store.delete(conn, TAUGHT_CATEGORY)


# -- manual decisions and wiring helpers ----------------------------------------------------------
def reject(catalog: Catalog, photo_ids: Iterable[int], tags: Iterable[str]) -> None:
    """Record that ``tags`` do not belong on these photos ('off'), for any tag name: a
    rejection is a negative example and wins over the taught (or text) tagger."""
    ids = sorted({int(i) for i in photo_ids})
    stamp = now_iso()
    with catalog.transaction() as conn:
        for tag in [clean_tag(t) for t in tags]:
            TaughtTagStore(conn).reject(ids, tag, stamp)


def without_taught(catalog: Catalog, cats: Sequence[Category]) -> list[Category]:
    """The categories minus their taught labels: the text tagger must not overwrite them."""
    try:
        taught = TaughtTagStore(catalog).name_set()
    except sqlite3.OperationalError:
        return list(cats)
    if not taught:
        return list(cats)
    out = []
    for cat in cats:
        labels = [lab for lab in cat.labels if lab.name not in taught]
        if labels:
            out.append(dataclasses.replace(cat, labels=labels))  # sun, applies_if kept
    return out


def more_like(
    matrix_of: Callable[[Sequence[int]], np.ndarray],
    like: Sequence[int],
    unlike: Sequence[int] = (),
) -> np.ndarray:
    """The query vector for "find more like these": mean of ``like`` minus mean of
    ``unlike`` (the rejected), normalised."""
    liked = matrix_of(list(like))
    if not len(liked):
        raise TeachError("none of the selected photos has a vector yet")
    vec = liked.mean(axis=0)
    disliked = matrix_of(list(unlike))
    if len(disliked):
        vec = vec - 0.5 * disliked.mean(axis=0)
    norm = float(np.linalg.norm(vec))
    if norm == 0:
        raise CategoryError("the selected photos cancel each other out")
    return (vec / norm).astype(np.float32)
