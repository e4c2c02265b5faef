"""Teach a tag by example: a calibrated probe over the stored vectors, learned from clicks.

Any tag can be taught. Its *positives* are the photos the user tagged with it (manual
'on'), its *negatives* the photos where the user rejected it (manual 'off'), plus a
seeded sample of the rest of the library as background (mostly negatives; a few unknown
positives among them only make the probe more cautious).

The probe is class-balanced logistic regression (plain numpy, a few Newton steps) over
each photo's vector and one extra feature: its cosine to the *nearest* example. The
linear part generalises ("photos like these on the whole"); the nearest-example part
keeps a tag whose examples are scattered over unrelated scenes (a person, a place, the
user's idea of a keeper) from collapsing into the average of its examples, where no
single text query and no mean vector lands. Out-of-fold scores from a cross-validation
on the user's own examples calibrate the score into a probability (Platt scaling) and
give the honest estimate shown to the user: recall on held-out examples, and precision
from the false-positive rate on held-out background, scaled to the library's size.

Taught tags are auto tags: a label (in the ``Taught`` category, or the free category
that already holds the tag) whose ``auto_tags`` rows come from the probe instead of the
text tagger. So the rule "manual wins", search, counts, export and sidecars need nothing
new; applying the probe after every scan or re-tag keeps them current, and retraining
from the manual examples each time makes them follow a change of model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from photosort.core import categories as category_store
from photosort.core import tagging
from photosort.core.catalog import Catalog, Migration, now_iso, register_migration, run_script
from photosort.core.categories import Category, CategoryError, Label, clean_tag
from photosort.core.errors import PhotosortError

TAUGHT_CATEGORY = "Taught"
DEFAULT_THRESHOLD = 0.5
MIN_EXAMPLES = 2  # fewer cannot be taught at all
FEW_EXAMPLES = 10  # fewer: the estimate comes with a warning
BACKGROUND = 1000  # background photos sampled as negatives
MAX_ANCHORS = 64  # examples used for the nearest-example feature (one matrix product each)
#: L2 strength on the linear weights and on the nearest-example weight (the two classes'
#: sample weights each sum to 1/2). The linear part is held back so that a tag with
#: scattered examples leans on its nearest example instead of a mean that fits none.
RIDGE = 1e-2
RIDGE_NEAR = 1e-4
FOLDS = 5


class TeachError(PhotosortError):
    """A tag that cannot be taught (too few examples, an exclusive label)."""


# -- schema ----------------------------------------------------------------------------------
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


register_migration(Migration("0007_taught_tags", _taught_schema))


# -- the probe -------------------------------------------------------------------------------
@dataclass
class Probe:
    """score(x) = w·x + w_near·max_a(a·x) + b, probability = sigmoid(cal_a·score + cal_b)."""

    weights: np.ndarray  # (D,) float32
    near_weight: float  # per unit of the standardised nearest-example cosine
    bias: float
    anchors: np.ndarray  # (A, D) float32: the examples for the nearest-example feature
    near_mean: float = 0.0  # the feature's mean and spread over the background
    near_scale: float = 1.0
    cal_a: float = 1.0
    cal_b: float = 0.0
    cal_c: float = 1.0  # the calibrated probability a held-out example gets (PU correction)

    def scores(self, matrix: np.ndarray, chunk: int = 32768) -> np.ndarray:
        out = np.empty(len(matrix), np.float32)
        w_near = self.near_weight / self.near_scale
        bias = self.bias - w_near * self.near_mean
        for start in range(0, len(matrix), chunk):
            part = matrix[start : start + chunk]
            near = (part @ self.anchors.T).max(axis=1) if len(self.anchors) else 0.0
            out[start : start + chunk] = part @ self.weights + w_near * near + bias
        return out

    def probability(self, matrix: np.ndarray) -> np.ndarray:
        return self.calibrate(self.scores(matrix))

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        # the positive-unlabelled correction as a shift of the log-odds (a change of prior)
        logit = self.cal_a * scores + self.cal_b - np.log(self.cal_c)
        return _sigmoid(logit).astype(np.float32)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def _nearest(matrix: np.ndarray, anchors: np.ndarray, leave_out_self: bool = False) -> np.ndarray:
    """Cosine to the nearest anchor; with ``leave_out_self`` row i ignores anchor i."""
    if not len(anchors):
        return np.zeros(len(matrix), np.float32)
    sims = matrix @ anchors.T
    if leave_out_self:
        if len(anchors) == 1:
            return np.zeros(len(matrix), np.float32)
        sims = sims.copy()
        np.fill_diagonal(sims, -np.inf)
    return sims.max(axis=1)


def _logistic(
    features: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    reg: np.ndarray,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Weighted L2 logistic regression; returns (D+1,) with the bias last.

    ``reg`` is the L2 strength per feature (the bias is never penalised). L-BFGS needs
    only two matrix-vector products per step, so a 512-d probe over ~1,000 photos fits
    in milliseconds where Newton's D x D Hessian would take a second."""
    from scipy.optimize import minimize

    x = np.hstack([features, np.ones((len(features), 1))]).astype(np.float64)
    reg = np.append(np.asarray(reg, np.float64), 0.0)
    signs = 2.0 * labels - 1.0

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        margin = signs * (x @ theta)
        value = weights @ np.logaddexp(0.0, -margin) + 0.5 * reg @ (theta * theta)
        grad = -(x.T @ (weights * signs * _sigmoid(-margin))) + reg * theta
        return float(value), grad

    result = minimize(
        loss,
        np.zeros(x.shape[1]) if start is None else start,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 500},
    )
    return result.x


def _balanced(labels: np.ndarray, hard: np.ndarray | None = None) -> np.ndarray:
    """Sample weights: each class sums to 1/2; hard negatives (rejections) count 5x."""
    w = np.ones(len(labels))
    if hard is not None:
        w[hard] = 5.0
    pos = labels == 1
    w[pos] /= 2 * w[pos].sum()
    w[~pos] /= 2 * max(w[~pos].sum(), 1e-12)
    return w


def fit_probe(
    pos: np.ndarray, rejected: np.ndarray, background: np.ndarray, start: Probe | None = None
) -> Probe:
    """The uncalibrated probe from positive, rejected and background vectors (``start``:
    a probe to begin from, e.g. the one fitted on all examples, for the CV folds)."""
    anchors = pos[:MAX_ANCHORS]
    negs = np.vstack([rejected, background])
    near = np.concatenate(
        [
            _nearest(pos, anchors, leave_out_self=True)
            if len(pos) <= MAX_ANCHORS
            else _nearest(pos, anchors),
            _nearest(negs, anchors),
        ]
    )
    # Cosines of one model sit in a narrow band: standardise so one ridge suits every model.
    bg_near = near[len(pos) + len(rejected) :] if len(background) else near
    near_mean, near_scale = float(bg_near.mean()), float(bg_near.std() + 1e-6)
    features = np.hstack([np.vstack([pos, negs]), ((near - near_mean) / near_scale)[:, None]])
    labels = np.concatenate([np.ones(len(pos)), np.zeros(len(negs))])
    hard = np.zeros(len(labels), bool)
    hard[len(pos) : len(pos) + len(rejected)] = True
    reg = np.full(features.shape[1], RIDGE)
    reg[-1] = RIDGE_NEAR
    theta0 = None
    if start is not None:
        theta0 = np.concatenate([start.weights, [start.near_weight, start.bias]])
    theta = _logistic(features, labels, _balanced(labels, hard), reg, theta0)
    return Probe(
        theta[:-2].astype(np.float32),
        float(theta[-2]),
        float(theta[-1]),
        anchors.astype(np.float32),
        near_mean,
        near_scale,
    )


def _platt(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Sigmoid calibration of out-of-fold scores (Platt scaling)."""
    theta = _logistic(scores[:, None], labels, weights, np.zeros(1))
    a = float(theta[0])
    return (a, float(theta[1])) if a > 0 else (1.0, 0.0)


@dataclass
class Estimate:
    """Cross-validated quality from the user's own examples."""

    recall: float | None  # share of held-out examples above the threshold
    fpr: float | None  # share of held-out background photos above the threshold
    precision: float | None = None  # filled in once the library's probabilities are known
    examples: int = 0
    warning: str | None = None

    def line(self) -> str:
        if self.precision is None:
            text = f"no estimate yet (from {self.examples} examples)"
        else:
            right = round(self.precision * 10)
            text = f"about {right} in 10 suggestions right (from {self.examples} examples)"
            if self.recall is not None:
                text += f", finds about {round(self.recall * 100)} % of them"
        return text + (f"; {self.warning}" if self.warning else "")


@dataclass
class Trained:
    probe: Probe
    estimate: Estimate


def train(
    pos: np.ndarray,
    rejected: np.ndarray,
    background: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    unlabelled: int | None = None,
) -> Trained:
    """Cross-validate (for calibration and the estimate), then fit on everything.

    Calibration weighs the background as the ``unlabelled`` photos it stands for, so the
    probability is about the library, not the balanced training set; as the untagged
    positives hide in that background, the result is divided by the probability a
    held-out example gets (Elkan and Noto's correction for positive-unlabelled data),
    applied as a shift of the log-odds: dividing the probability itself over-suggests."""
    n = len(pos)
    examples = n + len(rejected)
    warning = None
    if n < FEW_EXAMPLES:
        warning = f"only {n} examples: tag or confirm at least {FEW_EXAMPLES} for a reliable tag"
    folds = min(FOLDS, n)
    if folds < 3:
        probe = fit_probe(pos, rejected, background)
        return Trained(probe, Estimate(None, None, None, examples, warning))
    full = fit_probe(pos, rejected, background)
    oof_pos = np.empty(n)
    oof_rej = np.empty(len(rejected))
    oof_bg = np.empty(len(background))
    for fold in range(folds):
        tp, tr, tb = (np.arange(len(a)) % folds == fold for a in (pos, rejected, background))
        probe = fit_probe(pos[~tp], rejected[~tr], background[~tb], start=full)
        oof_pos[tp] = probe.scores(pos[tp])
        oof_rej[tr] = probe.scores(rejected[tr])
        oof_bg[tb] = probe.scores(background[tb])
    scores = np.concatenate([oof_pos, oof_rej, oof_bg])
    labels = np.concatenate([np.ones(n), np.zeros(len(rejected) + len(background))])
    per_bg = (unlabelled if unlabelled is not None else len(background)) / max(len(background), 1)
    weights = np.concatenate([np.ones(n + len(rejected)), np.full(len(background), per_bg)])
    probe = full
    probe.cal_a, probe.cal_b = _platt(scores, labels, weights / weights.sum())
    probe.cal_c = max(float(np.mean(_sigmoid(probe.cal_a * oof_pos + probe.cal_b))), 1e-3)
    recall = float(np.mean(probe.calibrate(oof_pos) >= threshold))
    fpr = float(np.mean(probe.calibrate(oof_bg) >= threshold)) if len(oof_bg) else 0.0
    return Trained(probe, Estimate(recall, fpr, None, examples, warning))


def library_precision(probs: np.ndarray, threshold: float) -> float | None:
    """Expected share of right suggestions: the mean calibrated probability of the photos
    above the threshold (what "calibrated" promises), or None when nothing is suggested."""
    above = probs[probs >= threshold]
    return float(np.mean(above)) if len(above) else None


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

    def as_dict(self) -> dict:
        out = dict(self.__dict__)
        out["precision"], out["recall"] = _round(self.precision), _round(self.recall)
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


VectorLoader = Callable[[], tuple[int, np.ndarray, np.ndarray]]  # (version, ids, matrix)


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


# -- the teacher --------------------------------------------------------------------------------
class Teacher:
    """Teaches, applies, reviews and lists taught tags of one catalog."""

    def __init__(
        self,
        catalog: Catalog,
        load_vectors: VectorLoader,
        model_id: str,
        cache: tagging.AutoTagCache | None = None,
    ):
        self.catalog = catalog
        self.load_vectors = load_vectors
        self.model_id = model_id
        self.cache = cache

    # -- which tags are taught ---------------------------------------------------------
    def names(self) -> list[str]:
        return [r[0] for r in self.catalog.query("SELECT tag FROM taught_tags ORDER BY tag")]

    def is_taught(self, tag: str) -> bool:
        return bool(self.catalog.scalar("SELECT 1 FROM taught_tags WHERE tag = ?", (tag,)))

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
            conn.execute(
                "INSERT OR IGNORE INTO taught_tags (tag, created_at) VALUES (?, ?)",
                (tag, now_iso()),
            )
            row = conn.execute("SELECT id FROM labels WHERE name = ?", (tag,)).fetchone()
        return row[0], owner.threshold_of(owner.label(tag))

    def _label(self, tag: str) -> tuple[int, float]:
        for cat in category_store.load(self.catalog):
            for label in cat.labels:
                if label.name == tag:
                    lid = self.catalog.scalar("SELECT id FROM labels WHERE name = ?", (tag,))
                    return int(lid), cat.threshold_of(label)
        raise TeachError(f"{tag!r} is not a taught tag")

    # -- training ------------------------------------------------------------------------
    def _examples(self, tag: str) -> tuple[np.ndarray, np.ndarray]:
        rows = self.catalog.query("SELECT photo_id, state FROM manual_tags WHERE tag = ?", (tag,))
        pos = np.array(sorted(r[0] for r in rows if r[1] == "on"), np.int64)
        neg = np.array(sorted(r[0] for r in rows if r[1] == "off"), np.int64)
        return pos, neg

    def _model(self, tag: str, label_id: int, threshold: float) -> _Model:
        version, ids, matrix = self.load_vectors()
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
        rest = np.flatnonzero(~labelled)
        seed = int.from_bytes(hashlib.sha256(tag.encode()).digest()[:4], "little")
        rng = np.random.default_rng(seed)
        bg_rows = np.sort(rng.choice(rest, min(BACKGROUND, len(rest)), replace=False))
        trained = train(matrix[pos_rows], matrix[neg_rows], matrix[bg_rows], threshold, len(rest))
        scores = trained.probe.scores(matrix)
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
            conn.execute(
                "UPDATE taught_tags SET model = ?, positives = ?, negatives = ?, suggested = ?, "
                "precision = ?, recall = ?, trained_at = ? WHERE tag = ?",
                (
                    self.model_id,
                    summary.positives,
                    summary.negatives,
                    summary.suggested,
                    est.precision,
                    est.recall,
                    now_iso(),
                    model.tag,
                ),
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
        rows = self.catalog.query(
            "SELECT t.tag, li.category, t.suggested, t.precision, t.recall, t.trained_at, "
            "(SELECT COUNT(*) FROM manual_tags m WHERE m.tag = t.tag AND m.state = 'on'), "
            "(SELECT COUNT(*) FROM manual_tags m WHERE m.tag = t.tag AND m.state = 'off') "
            "FROM taught_tags t LEFT JOIN label_info li ON li.tag = t.tag ORDER BY t.tag"
        )
        return [
            TaughtInfo(r[0], r[1] or "", r[6], r[7], r[2], r[3], r[4], r[5])
            for r in rows
            if r[1] is not None  # the label was deleted with its category
        ]

    def forget(self, tag: str) -> None:
        """Stop teaching ``tag``: its taught auto tags go (with its label, when photosort
        made it in the Taught category), manual tags stay."""
        with self.catalog.transaction() as conn:
            conn.execute("DELETE FROM taught_tags WHERE tag = ?", (tag,))
            lid = conn.execute("SELECT id FROM labels WHERE name = ?", (tag,)).fetchone()
            if lid:
                conn.execute("DELETE FROM auto_tags WHERE label_id = ?", (lid[0],))
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
            conn.executemany(
                "INSERT OR REPLACE INTO manual_tags (photo_id, tag, state, updated_at) "
                "SELECT ?, ?, 'off', ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)",
                [(pid, tag, stamp, pid) for pid in ids],
            )


def without_taught(catalog: Catalog, cats: Sequence[Category]) -> list[Category]:
    """The categories minus their taught labels: the text tagger must not overwrite them."""
    try:
        taught = {r[0] for r in catalog.query("SELECT tag FROM taught_tags")}
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
