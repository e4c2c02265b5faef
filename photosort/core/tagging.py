"""Auto-tagging from stored vectors, manual tags, and the rule that merges them.

How a photo gets a tag
----------------------
Every label's text vector is a *prompt ensemble*: the mean of its L2-normalised prompt
embeddings, normalised again (as in the CLIP paper, section 3.1.4). One matrix product
``X @ T.T`` of all stored photo vectors ``X`` (N x D) against all label vectors ``T``
gives every cosine at once; the model's own logit scale (``exp(logit_scale)``, about
100 for OpenAI/LAION CLIP) turns cosines into probabilities the way CLIP was trained:

* **exclusive** group (time of day, indoor/outdoor): ``softmax(scale * cos)`` over the
  group's labels; the best label is kept when its probability reaches its threshold
  (the label's own, else the group's; default 0.5), otherwise the photo is "uncertain"
  for the group. So a group never gives a photo two labels.
* **free** tag (beach, dog, document ...): a two-way softmax of the tag against a
  *neutral* caption ensemble (``NEUTRAL_PROMPTS``: "a photo", "a picture" ...), i.e.
  ``sigmoid(scale * (cos_tag - cos_neutral))``; tagged when that reaches the threshold.
* a **SigLIP-family** model (it has a learned ``logit_bias``: ``core/scoring.py``) scores
  every label on its own, the way it was trained: ``sigmoid(scale * cos + bias)``, in
  exclusive groups too (the best label is kept when its own probability reaches the
  threshold), with no neutral caption.

A group with ``sun = true`` (the default Time of day) has these probabilities fused with
the sun's position at the photo's EXIF time and place before the threshold is applied
(``Tagger``'s ``fuse`` hook; the rule is in ``core/sun_fusion.py``).

Why not one fixed cosine cutoff: raw CLIP cosines sit in a narrow band (about 0.15 to
0.35) whose position depends on the text, the prompt wording and the model, so any single
cutoff is too strict for one query and too loose for another. The Immich maintainers
explain this when declining a similarity threshold for smart search (immich-app/immich
issue #5996). Comparing a tag with alternatives (its group, or a neutral caption) cancels
that per-text offset, and the logit scale makes the threshold a probability with the same
meaning for every tag and every model.

Storage
-------
``auto_tags`` holds what the tagger decided (with the score: the probability above),
keyed by photo id and label id; ``manual_tags`` holds the user's decisions keyed by photo
id and tag *name* ('on' = added/accepted, 'off' = rejected). Photos keep their id when
moved or renamed, and both tables cascade on photo delete, so manual tags survive
rescans, moves and re-tagging. The ``effective_tags`` view applies the rule "manual
wins": a manual row overrides the auto row of the same tag, and a manual label of an
exclusive group hides the group's auto label. Re-tagging only ever rewrites ``auto_tags``,
and only the rows that changed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from photosort.core import categories as cats
from photosort.core import tag_admin  # registers 0005_a_tag_case: one spelling per tag
from photosort.core.catalog import Catalog, Migration, now_iso, register_migration
from photosort.core.categories import Category, CategoryError
from photosort.core.progress import ProgressCallback, RateMeter
from photosort.core.scoring import Scoring
from photosort.core.search import (
    SearchQuery,
    SearchResult,
    register_filter,
    register_result_hook,
)
from photosort.core.store import TagStore, TextVectorStore
from photosort.core.store import tags as tag_store

#: Generic captions a free tag must beat: they say "a photo" and nothing else.
NEUTRAL_PROMPTS = (
    "a photo",
    "a picture",
    "an image",
    "a photo of something",
    "a snapshot",
)
UNCERTAIN = "uncertain"
#: Scores that differ by less than this are the same decision: no row is rewritten.
SCORE_TOLERANCE = 1e-5


# -- schema ----------------------------------------------------------------------------------
def _tags_schema(conn: sqlite3.Connection) -> None:
    tag_store.create_schema(conn)
    for category in cats.default_categories():  # a new library starts with the defaults
        cats.store(conn, category)


register_migration(Migration("0002_tags", _tags_schema))


# -- data the GUI and CLI see -------------------------------------------------------------------
@dataclass(frozen=True)
class PhotoTag:
    name: str
    source: str  # "auto" | "manual"
    state: str  # "on" (applied) | "off" (manually rejected, not applied)
    score: float | None
    category: str | None


@dataclass(frozen=True)
class TagCount:
    name: str
    category: str | None
    count: int

    def as_dict(self) -> dict:
        return {"name": self.name, "category": self.category, "count": self.count}


@dataclass
class LabelPreview:
    """What a label would do if saved: its count and every photo's score (for a histogram)."""

    label: str
    count: int
    threshold: float
    scores: np.ndarray  # float32, one per photo with a vector
    photo_ids: np.ndarray  # int64, aligned with scores


@dataclass
class AutotagSummary:
    photos: int = 0
    labels: int = 0
    tagged: int = 0  # auto tags now held
    added: int = 0
    removed: int = 0
    changed: int = 0
    uncertain: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    cancelled: bool = False

    def line(self) -> str:
        text = (
            f"{_n(self.photos, 'photo')} × {_n(self.labels, 'label')}: "
            f"{_n(self.tagged, 'auto tag')} "
            f"({self.added} added, {self.removed} removed, {self.changed} rescored) "
            f"in {self.seconds:.1f}s"
        )
        return ("cancelled: " if self.cancelled else "") + text

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


# -- text vectors --------------------------------------------------------------------------------
def text_vectors(
    catalog: Catalog, model_id: str, prompts: Iterable[str], encode: Callable
) -> dict[str, np.ndarray]:
    """Prompt embeddings from the catalog cache; ``encode`` (the model) only for new ones."""
    wanted = list(dict.fromkeys(prompts))
    cache = TextVectorStore(catalog)
    out = cache.cached(model_id, wanted)
    missing = [p for p in wanted if p not in out]
    if missing:
        vecs = np.asarray(encode(missing), dtype=np.float32)
        if not catalog.read_only:  # a search on a read-only open computes, never stores
            cache.remember(model_id, zip(missing, vecs, strict=True))
        out.update(zip(missing, vecs, strict=True))
    return out


def ensemble(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """Mean of normalised prompt vectors, renormalised (the CLIP paper's prompt ensemble)."""
    mat = np.asarray(vectors, dtype=np.float32)
    mat = mat / np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12)
    mean = mat.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


# -- the tagger ----------------------------------------------------------------------------------
@dataclass
class Decisions:
    """Auto tags as aligned arrays: row i tags photo ``photo_ids[i]`` with ``label_ids[i]``."""

    photo_ids: np.ndarray
    label_ids: np.ndarray
    scores: np.ndarray

    @staticmethod
    def concat(parts: Sequence[Decisions]) -> Decisions:
        """The decisions of pieces of the library as one set."""
        if not parts:
            empty = np.empty(0, np.int64)
            return Decisions(empty, empty, np.empty(0, np.float32))
        return Decisions(
            np.concatenate([p.photo_ids for p in parts]),
            np.concatenate([p.label_ids for p in parts]),
            np.concatenate([p.scores for p in parts]).astype(np.float32),
        )


#: (category, photo ids, its (N, labels) probabilities) -> the probabilities after fusion.
Fusion = Callable[[Category, np.ndarray, np.ndarray], np.ndarray]


class Tagger:
    """Scores every photo for every label of the given categories with one matrix product."""

    def __init__(
        self,
        categories: Sequence[Category],
        vectors: dict[str, np.ndarray],
        logit_scale: float | Scoring,
        fuse: Fusion | None = None,
    ):
        self.categories = list(categories)
        self.scoring = Scoring.of(logit_scale)  # a float: a CLIP model's scale
        self.scale = self.scoring.scale
        self.fuse = fuse  # other evidence per photo (the sun: core/sun.py), or None
        columns: list[np.ndarray] = []
        self._slices: list[slice] = []
        for cat in self.categories:
            start = len(columns)
            for label in cat.labels:
                columns.append(ensemble([vectors[p] for p in label.prompt_texts(cat.template)]))
            self._slices.append(slice(start, len(columns)))
        self._neutral_col = len(columns)
        columns.append(ensemble([vectors[p] for p in NEUTRAL_PROMPTS]))
        self.text = np.stack(columns).astype(np.float32)

    @staticmethod
    def prompts_needed(categories: Sequence[Category]) -> list[str]:
        prompts = [
            p
            for cat in categories
            for label in cat.labels
            for p in label.prompt_texts(cat.template)
        ]
        return list(dict.fromkeys([*prompts, *NEUTRAL_PROMPTS]))

    def probabilities(self, matrix: np.ndarray, ids: np.ndarray | None = None) -> list[np.ndarray]:
        """Per category an (N, labels) float32 array: softmax (exclusive) or vs-neutral, or
        for a SigLIP model each label's own sigmoid; with ``ids`` and a ``fuse`` hook, after
        fusing the photos' other evidence."""
        cos = matrix @ self.text.T  # the one matrix product
        neutral = cos[:, self._neutral_col : self._neutral_col + 1]
        out = []
        for cat, cols in zip(self.categories, self._slices, strict=True):
            if self.scoring.bias is not None:  # SigLIP: every label is its own yes/no
                logits = self.scoring.sigmoid(cos[:, cols])
            elif cat.kind == "exclusive":
                logits = self.scale * cos[:, cols]
                logits -= logits.max(axis=1, keepdims=True)
                np.exp(logits, out=logits)
                logits /= logits.sum(axis=1, keepdims=True)
            else:
                logits = self.scale * cos[:, cols]
                logits -= self.scale * neutral
                np.negative(logits, out=logits)
                np.exp(logits, out=logits)
                logits += 1.0
                np.reciprocal(logits, out=logits)
            if self.fuse is not None and ids is not None:
                logits = self.fuse(cat, ids, logits)
            out.append(logits)
        return out

    def decide(
        self,
        ids: np.ndarray,
        matrix: np.ndarray,
        label_ids: Sequence[Sequence[int]],
        applies_to: dict[str, np.ndarray] | None = None,
    ) -> tuple[Decisions, dict[str, int]]:
        """The auto tags for all photos, and the count of uncertain photos per exclusive group.

        ``applies_to``: per category name, the only photo ids it may tag (its applies_if
        label holds there); the other photos get nothing from it and are not uncertain.
        """
        pids, lids, scores = [], [], []
        uncertain: dict[str, int] = {}
        for cat, probs, ids_of_labels in zip(
            self.categories, self.probabilities(matrix, ids), label_ids, strict=True
        ):
            lid_arr = np.asarray(ids_of_labels, dtype=np.int64)
            thresholds = np.array([cat.threshold_of(lab) for lab in cat.labels], np.float32)
            applies = np.ones(len(ids), bool)
            if applies_to is not None and cat.name in applies_to:
                applies = np.isin(ids, applies_to[cat.name])
            if cat.kind == "exclusive":
                best = probs.argmax(axis=1)
                p = probs[np.arange(len(best)), best]
                keep = (p >= thresholds[best]) & applies
                pids.append(ids[keep])
                lids.append(lid_arr[best[keep]])
                scores.append(p[keep])
                uncertain[cat.name] = int(applies.sum() - keep.sum())
            else:
                rows, cols = np.nonzero((probs >= thresholds[None, :]) & applies[:, None])
                pids.append(ids[rows])
                lids.append(lid_arr[cols])
                scores.append(probs[rows, cols])
        if not pids:
            empty = np.empty(0, np.int64)
            return Decisions(empty, empty, np.empty(0, np.float32)), uncertain
        return (
            Decisions(
                np.concatenate(pids),
                np.concatenate(lids),
                np.concatenate(scores).astype(np.float32),
            ),
            uncertain,
        )


def preview(tagger: Tagger, chunks: Chunks, label_name: str) -> LabelPreview:
    """Count and score distribution of one label of the tagger's single category, scored a
    piece of the library at a time (only one score per photo is kept)."""
    cat = tagger.categories[0]
    label = cat.label(label_name)
    col = [lab.name for lab in cat.labels].index(label_name)
    threshold = cat.threshold_of(label)
    count = 0
    all_scores: list[np.ndarray] = []
    all_ids: list[np.ndarray] = []
    for ids, matrix in chunks:
        probs = tagger.probabilities(matrix, ids)[0]
        scores = probs[:, col].astype(np.float32)
        if cat.kind == "exclusive":
            won = probs.argmax(axis=1) == col
            count += int(np.count_nonzero(won & (scores >= threshold)))
        else:
            count += int(np.count_nonzero(scores >= threshold))
        all_scores.append(scores)
        all_ids.append(np.asarray(ids, np.int64))
    return LabelPreview(
        label_name,
        count,
        threshold,
        np.concatenate(all_scores) if all_scores else np.empty(0, np.float32),
        np.concatenate(all_ids) if all_ids else np.empty(0, np.int64),
    )


AUTO_VERSION = tag_store.AUTO_VERSION


def bump_auto_version(conn: sqlite3.Connection) -> None:
    """Every change to ``auto_tags`` bumps this, so in-memory copies know they are stale."""
    TagStore(conn).bump_auto_version()


def _versions(conn: sqlite3.Connection) -> tuple[str | None, str | None]:
    return TagStore(conn).versions()


class StaleVectors(Exception):
    """Photos changed between loading the vectors and writing their tags; compute again."""


@dataclass
class AutoState:
    """All of ``auto_tags`` as sorted keys (photo_id << 24 | label_id) and their scores."""

    versions: tuple[str | None, str | None]
    keys: np.ndarray
    scores: np.ndarray


class AutoTagCache:
    """An in-memory copy of ``auto_tags``, so a re-tag diffs without reading 100k rows back.

    Valid while the catalog's auto-tag and vectors versions are the ones it was made at
    (another process re-tagging, or photos being deleted, bumps them).
    """

    def __init__(self) -> None:
        self.state: AutoState | None = None

    def current(self, conn: sqlite3.Connection) -> AutoState:
        versions = _versions(conn)
        if self.state is None or self.state.versions != versions:
            self.state = _read_state(conn, versions)
        return self.state


def _read_state(conn: sqlite3.Connection, versions: tuple[str | None, str | None]) -> AutoState:
    rows = [tuple(r) for r in TagStore(conn).all_auto_tags()]
    arr = np.array(rows, dtype=np.float64).reshape(-1, 3)
    keys = _keys(arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64))
    order = np.argsort(keys, kind="stable")
    return AutoState(versions, keys[order], arr[order, 2].astype(np.float32))


def write_decisions(
    catalog: Catalog,
    label_ids: Sequence[int],
    new: Decisions,
    vectors_version: int | None = None,
    cache: AutoTagCache | None = None,
    photo_ids: np.ndarray | None = None,
) -> tuple[int, int, int]:
    """Make ``auto_tags`` of these labels equal ``new``, writing only what changed; with
    ``photo_ids``, only for those photos (``new`` holds their decisions alone), the
    others' tags left as they are: a scan that added 1,000 photos re-tags 1,000.

    ``vectors_version`` is the catalog's vectors version the decisions were computed at;
    when photos changed since, nothing is written and StaleVectors is raised.
    Returns (added, removed, rescored).
    """
    wanted = np.asarray(list(label_ids), dtype=np.int64)
    if not len(wanted):
        return 0, 0, 0
    cache = cache or AutoTagCache()
    with catalog.transaction() as conn:
        state = cache.current(conn)
        if vectors_version is not None and str(vectors_version) != (state.versions[1] or "0"):
            raise StaleVectors
        store = TagStore(conn)
        if store.count_labels(wanted.tolist()) != len(
            wanted
        ):  # a category edit removed a label since they were read
            raise StaleVectors
        mine = np.isin(state.keys & 0xFFFFFF, wanted)
        if photo_ids is not None:
            mine &= np.isin(state.keys >> 24, np.asarray(photo_ids, np.int64))
        old_keys, old_scores = state.keys[mine], state.scores[mine]
        new_keys = _keys(new.photo_ids, new.label_ids)
        order = np.argsort(new_keys, kind="stable")
        new_keys, new_scores = new_keys[order], new.scores[order].astype(np.float32)
        pos = np.searchsorted(old_keys, new_keys)
        hit = pos < len(old_keys)
        hit[hit] = old_keys[pos[hit]] == new_keys[hit]
        rescored = hit.copy()
        rescored[hit] = np.abs(old_scores[pos[hit]] - new_scores[hit]) > SCORE_TOLERANCE
        added = ~hit
        gone = ~np.isin(old_keys, new_keys, assume_unique=True)

        def split(keys: np.ndarray) -> tuple[list, list]:
            return (keys >> 24).tolist(), (keys & 0xFFFFFF).tolist()

        pids, lids = split(new_keys[added])
        inserts = zip(pids, lids, new_scores[added].astype(np.float64).tolist(), strict=True)
        pids, lids = split(new_keys[rescored])
        updates = zip(new_scores[rescored].astype(np.float64).tolist(), pids, lids, strict=True)
        pids, lids = split(old_keys[gone])
        store.write_auto_changes(inserts, updates, zip(pids, lids, strict=True))
        n_added, n_gone, n_rescored = int(added.sum()), int(gone.sum()), int(rescored.sum())
        if n_added or n_gone or n_rescored:
            bump_auto_version(conn)
            keys = np.concatenate([state.keys[~mine], new_keys])
            scores = np.concatenate([state.scores[~mine], new_scores])
            order = np.argsort(keys, kind="stable")
            cache.state = AutoState(_versions(conn), keys[order], scores[order])
    return n_added, n_gone, n_rescored


def _keys(photo_ids: np.ndarray, label_ids: np.ndarray) -> np.ndarray:
    if len(label_ids) and int(np.max(label_ids)) >= 1 << 24:
        raise OverflowError("label id beyond 2**24")
    return (np.asarray(photo_ids, np.int64) << 24) | np.asarray(label_ids, np.int64)


def label_ids_by_category(catalog: Catalog, with_names: bool = False) -> dict[str, list]:
    """Label row ids (or (id, name) pairs) per category name, in label order (aligned with
    Category.labels)."""
    out: dict[str, list] = {}
    for category, label_id, name in TagStore(catalog).labels_by_category():
        out.setdefault(category, []).append((label_id, name) if with_names else label_id)
    return out


#: The library's vectors as (ids, float32 matrix) pieces.
Chunks = Iterable[tuple[np.ndarray, np.ndarray]]
#: (the catalog's vectors_version they mirror, the pieces): tagging never needs them whole.
VectorLoader = Callable[[], tuple[int, Chunks]]


def run_autotag(
    catalog: Catalog,
    categories: Sequence[Category],
    load_vectors: VectorLoader,
    vectors: dict[str, np.ndarray],
    logit_scale: float | Scoring,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    cache: AutoTagCache | None = None,
    fuse: Fusion | None = None,
    photo_ids: np.ndarray | None = None,
) -> AutotagSummary:
    """Re-tag ``categories`` over all stored vectors and store the changes; with
    ``photo_ids``, only those photos (``load_vectors`` then gives theirs alone).

    A category with ``applies_if`` runs after the others, over the photos where its
    label holds (manual tags included) once they are written.
    """
    later = [c for c in categories if c.applies_if]
    if later and len(later) < len(categories):
        first = [c for c in categories if not c.applies_if]
        args = (
            load_vectors,
            vectors,
            logit_scale,
            on_progress,
            should_cancel,
            cache,
            fuse,
            photo_ids,
        )
        one = run_autotag(catalog, first, *args)
        two = run_autotag(catalog, later, *args)
        for name in ("labels", "tagged", "added", "removed", "changed", "seconds"):
            setattr(one, name, getattr(one, name) + getattr(two, name))
        one.uncertain.update(two.uncertain)
        one.cancelled = one.cancelled or two.cancelled
        return one
    started = time.perf_counter()
    meter = RateMeter("tagging", 2, on_progress, unit="step")
    meter.report(0)
    summary = AutotagSummary(labels=sum(len(c.labels) for c in categories))
    for attempt in range(3):
        # Label ids are read afresh each attempt; a category edited by another process since
        # the caller read it is left to that edit's own re-tag (its labels differ now).
        by_cat = label_ids_by_category(catalog, with_names=True)
        current = [
            c
            for c in categories
            if [name for _, name in by_cat.get(c.name, [])] == [lab.name for lab in c.labels]
        ]
        if not current:
            break
        label_ids = [[lid for lid, _ in by_cat[c.name]] for c in current]
        flat = [lid for group in label_ids for lid in group]
        tagger = Tagger(current, vectors, logit_scale, fuse)
        filters = {
            c.name: applies_filter(catalog, c.applies_if) for c in categories if c.applies_if
        }
        version, chunks = load_vectors()
        parts: list[Decisions] = []
        summary.photos, summary.uncertain = 0, {}
        for ids, matrix in chunks:  # a piece at a time: no second copy of every vector
            applies_to = {name: keep(ids) for name, keep in filters.items()}
            part, uncertain = tagger.decide(ids, matrix, label_ids, applies_to)
            parts.append(part)
            summary.photos += len(ids)
            for name, n in uncertain.items():
                summary.uncertain[name] = summary.uncertain.get(name, 0) + n
        decisions = Decisions.concat(parts)
        meter.report(1)
        if should_cancel and should_cancel():
            summary.cancelled = True
            break
        try:
            summary.added, summary.removed, summary.changed = write_decisions(
                catalog, flat, decisions, version, cache, photo_ids
            )
        except StaleVectors as exc:
            if attempt == 2:
                raise CategoryError(
                    "the library kept changing while re-tagging; run photosort autotag again"
                ) from exc
            continue
        summary.tagged = len(decisions.photo_ids)
        meter.report(2)
        break
    summary.seconds = time.perf_counter() - started
    return summary


# -- manual tags and effective tags ----------------------------------------------------------------
def label_names(catalog: Catalog) -> dict[str, str]:
    """Tag name -> category name for every label."""
    return TagStore(catalog).label_categories()


def set_manual(
    catalog: Catalog, photo_ids: Iterable[int], add: Iterable[str] = (), remove: Iterable[str] = ()
) -> None:
    """Record manual decisions. Removing a label rejects it ('off', wins over the tagger);
    removing a free-standing manual tag (no label of that name) just forgets it."""
    ids = sorted({int(i) for i in photo_ids})
    with catalog.transaction() as conn:  # "favourite" means the existing "Favourite"
        add = tag_admin.canonical_tags(conn, add)
        remove = tag_admin.canonical_tags(conn, remove)
    if set(add) & set(remove):
        raise CategoryError(f"cannot add and remove the same tag: {sorted(set(add) & set(remove))}")
    stamp = now_iso()
    with catalog.transaction() as conn:  # labels read inside: a label made meanwhile counts
        store = TagStore(conn)
        labels = store.label_names()
        for tag in add:
            store.set_manual(ids, tag, "on", stamp)
        for tag in remove:
            if tag in labels:
                store.set_manual(ids, tag, "off", stamp)
            else:
                store.forget_manual([(pid, tag) for pid in ids])


def clear_manual(catalog: Catalog, photo_ids: Iterable[int], tags: Iterable[str]) -> None:
    """Forget manual decisions so the tagger's view applies again (undo)."""
    TagStore(catalog).forget_manual([(int(pid), tag) for pid in photo_ids for tag in tags])


def photo_tags(
    catalog: Catalog, photo_ids: Iterable[int], include_rejected: bool = True
) -> dict[int, list[PhotoTag]]:
    """Effective tags per photo (manual wins); manual rejections come with state 'off'."""
    ids = [int(i) for i in photo_ids]
    out: dict[int, list[PhotoTag]] = {pid: [] for pid in ids}
    store = TagStore(catalog)
    order = {name: i for i, name in enumerate(store.labels_in_order())}
    for r in store.effective_of(ids):
        out[r[0]].append(PhotoTag(r[1], r[2], "on", r[3], r[4]))
    if include_rejected:
        for r in store.rejected_of(ids):
            out[r[0]].append(PhotoTag(r[1], "manual", "off", r[3], r[2]))
    for tags in out.values():
        tags.sort(key=lambda t: (order.get(t.name, len(order)), t.name, t.state))
    return out


def tag_counts(catalog: Catalog, model_id: str) -> list[TagCount]:
    """Photos per effective tag: every label (even at 0) in category order, an 'uncertain'
    entry per exclusive group (photos with a vector but no label of the group), then
    free-standing manual tags.

    Fast at 100k photos: auto counts come from the label index, and the merge rule runs
    only over the (few) photos that carry manual decisions.
    """
    store = TagStore(catalog)
    auto = store.auto_counts()
    overridden = store.auto_counts_of_manual_photos()
    merged = store.effective_counts_of_manual_photos()
    decided_manual = store.decided_manual_photos(model_id)
    label_id = store.label_ids()
    embedded = catalog.count_vectors(model_id)

    def auto_only(tag: str) -> int:
        lid = label_id.get(tag)
        return 0 if lid is None else auto.get(lid, 0) - overridden.get(lid, 0)

    out: list[TagCount] = []
    for cat in cats.load(catalog):
        decided = decided_manual.get(cat.name, 0)
        for label in cat.labels:
            out.append(
                TagCount(label.name, cat.name, auto_only(label.name) + merged.get(label.name, 0))
            )
            decided += auto_only(label.name)
        if cat.kind == "exclusive" and cat.applies_if:
            # only photos where the category applies can be uncertain
            contrary = contrary_labels(catalog, cat.applies_if)
            if contrary is None:  # a free label: it must hold
                undecided = store.undecided_where_tag_holds(model_id, cat.applies_if, cat.name)
            else:  # every photo but those where a contrary label holds
                undecided = store.undecided_unless(model_id, cat.name, contrary)
            out.append(TagCount(UNCERTAIN, cat.name, undecided))
        elif cat.kind == "exclusive":
            out.append(TagCount(UNCERTAIN, cat.name, max(embedded - decided, 0)))
    for name in sorted(set(merged) - set(label_id)):
        out.append(TagCount(name, None, merged[name]))
    return out


def contrary_labels(catalog: Catalog, label: str) -> list[str] | None:
    """The other labels of ``label``'s exclusive group (indoor for outdoor), or None when
    ``label`` is a free tag."""
    key = label.strip().casefold()
    for category in cats.load(catalog):
        names = [lb.name for lb in category.labels]
        if category.kind == "exclusive" and key in {n.casefold() for n in names}:
            return [n for n in names if n.casefold() != key]
    return None


def photos_where_applies(catalog: Catalog, applies_if: str, ids: np.ndarray) -> np.ndarray:
    """Of ``ids``, the photos a category with ``applies_if`` may tag.

    Where the condition is a label of an exclusive group, only a contrary label rules a
    photo out: an outdoor night photo the model is unsure of still gets its time of day,
    an indoor one does not. A free tag as condition must hold.
    """
    return applies_filter(catalog, applies_if)(ids)


def applies_filter(catalog: Catalog, applies_if: str) -> Callable[[np.ndarray], np.ndarray]:
    """``photos_where_applies`` with the catalog read once, for one piece of ids at a time."""
    contrary = contrary_labels(catalog, applies_if)
    if contrary is None:
        holds = np.array(photos_with_tag(catalog, applies_if), np.int64)
        return lambda ids: np.asarray(ids, np.int64)[np.isin(ids, holds)]
    ruled_out = np.array(
        [pid for name in contrary for pid in photos_with_tag(catalog, name)], np.int64
    )
    return lambda ids: np.asarray(ids, np.int64)[~np.isin(ids, ruled_out)]


def photos_with_tag(catalog: Catalog, tag: str) -> list[int]:
    return TagStore(catalog).photos_with_tag(tag)


# -- search hooks ----------------------------------------------------------------------------------
def _tag_filter(query: SearchQuery) -> tuple[list[str], list]:
    """Every ``tags`` entry must be on the photo; no ``not_tags`` entry may be."""
    return TagStore.filter_clauses(query.tags, query.not_tags)


def _fill_result_tags(catalog: Catalog, results: list[SearchResult]) -> None:
    try:
        tags = photo_tags(catalog, [r.photo_id for r in results], include_rejected=False)
    except sqlite3.OperationalError:  # a catalog opened before the tags migration
        return
    for r in results:
        r.tags = [t.name for t in tags.get(r.photo_id, [])]


register_filter(_tag_filter)
register_result_hook(_fill_result_tags)
