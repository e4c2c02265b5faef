"""A re-tag: label ids read afresh, the tagger run a piece at a time, the diff written
(retried when photos or categories change meanwhile)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from photosort.core.catalog import Catalog
from photosort.core.categories import Category, CategoryError
from photosort.core.lazy_import import np
from photosort.core.progress import ProgressCallback, RateMeter
from photosort.core.scoring import Scoring
from photosort.core.store import TagStore
from photosort.core.tagging.manual import applies_filter
from photosort.core.tagging.results import AutotagSummary
from photosort.core.tagging.tagger import Decisions, Fusion, Tagger, VectorLoader
from photosort.core.tagging.writer import AutoTagCache, StaleVectors, write_decisions


def label_ids_by_category(catalog: Catalog, with_names: bool = False) -> dict[str, list]:
    """Label row ids (or (id, name) pairs) per category name, in label order (aligned with
    Category.labels)."""
    out: dict[str, list] = {}
    for category, label_id, name in TagStore(catalog).labels_by_category():
        out.setdefault(category, []).append((label_id, name) if with_names else label_id)
    return out


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
