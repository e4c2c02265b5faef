"""How good the auto tags are, measured against the user's own manual decisions.

Every manual decision is ground truth for a label: a tag added or accepted ('on') is a
positive, a rejected one ('off') a negative, and in an exclusive group a photo set to one
label is a negative for the group's others. Over those photos the tagger's probabilities
(the same ones that made the auto tags: ``Tagger.probabilities``) give, per label:

* precision and recall of the auto tags at the label's threshold now;
* the threshold that would have been best (highest F1 over the decided photos; among
  ties the one nearest the current threshold), with its precision and recall.

So a user tunes thresholds from evidence instead of guessing. Only decided photos are
read (a few hundred vectors), never the whole library.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from photosort.core.catalog import Catalog
from photosort.core.categories import Category
from photosort.core.scores import Applies
from photosort.core.store import TagStore
from photosort.core.tagging import Tagger


@dataclass
class LabelTruth:
    category: str
    label: str
    positives: int  # photos the user says carry the label (added or accepted)
    negatives: int  # photos the user says do not (rejected, or another label of the group)
    accepted: int  # positives the auto tagger had tagged too
    added: int  # positives the auto tagger missed
    rejected: int  # auto tags the user turned off
    threshold: float
    precision: float | None  # None: no photo predicted (0/0)
    recall: float | None  # None: no positive decided
    best_threshold: float | None
    best_precision: float | None
    best_recall: float | None
    best_f1: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def decisions(catalog: Catalog, cat: Category) -> dict[str, tuple[set[int], set[int]]]:
    """Per label of ``cat`` the (positive, negative) photo ids the user decided."""
    names = [lab.name for lab in cat.labels]
    out: dict[str, tuple[set[int], set[int]]] = {n: (set(), set()) for n in names}
    for photo_id, tag, state in TagStore(catalog).decisions_on(names):
        out[tag][0 if state == "on" else 1].add(int(photo_id))
    if cat.kind == "exclusive":  # one label on: every other label of the group is off
        for name in names:
            for other in names:
                if other != name:
                    out[other][1].update(out[name][0])
    for pos, neg in out.values():
        neg -= pos  # a contradictory pair (on and implied off) counts as on
    return out


def _predicted(cat: Category, probs: np.ndarray, col: int, threshold: float) -> np.ndarray:
    p = probs[:, col]
    if cat.kind == "exclusive":
        return (probs.argmax(axis=1) == col) & (p >= threshold)
    return p >= threshold


def _rates(pred: np.ndarray, truth: np.ndarray) -> tuple[float | None, float | None, float]:
    tp = int(np.count_nonzero(pred & truth))
    fp = int(np.count_nonzero(pred & ~truth))
    fn = int(np.count_nonzero(~pred & truth))
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return precision, recall, f1


def best_threshold(
    cat: Category, probs: np.ndarray, col: int, truth: np.ndarray, current: float
) -> tuple[float, float | None, float | None, float] | None:
    """(threshold, precision, recall, F1) with the highest F1; None without positives."""
    if not truth.any():
        return None
    candidates = np.unique(np.append(probs[:, col], current))
    candidates = candidates[(candidates > 0) & (candidates <= 1)]
    best: tuple[float, float | None, float | None, float] | None = None
    for t in candidates:
        precision, recall, f1 = _rates(_predicted(cat, probs, col, float(t)), truth)
        key = (round(f1, 9), -abs(float(t) - current))
        if best is None or key > (round(best[3], 9), -abs(best[0] - current)):
            best = (float(t), precision, recall, f1)
    return best


def evaluate(
    catalog: Catalog,
    tagger: Tagger,
    vectors_of: Callable[[list[int]], tuple[np.ndarray, np.ndarray]],
    auto_tagged: Callable[[str, list[int]], set[int]],
) -> list[LabelTruth]:
    """Precision, recall and the best threshold per label with manual decisions.

    ``vectors_of(ids)`` gives (ids that have a vector, their matrix); ``auto_tagged(label,
    ids)`` the ids among ``ids`` carrying the label's auto tag.
    """
    out: list[LabelTruth] = []
    for index, cat in enumerate(tagger.categories):
        truth_sets = decisions(catalog, cat)
        decided = sorted(set().union(*(p | n for p, n in truth_sets.values())))
        if not decided:
            continue
        ids, matrix = vectors_of(decided)
        if not len(ids):
            continue
        probs = tagger.probabilities(matrix, ids)[index]
        if cat.applies_if:  # where the category does not apply, the tagger tags nothing
            probs = probs * Applies(catalog, cat.applies_if).mask(ids)[:, None]
        for col, label in enumerate(cat.labels):
            pos, neg = truth_sets[label.name]
            known = np.isin(ids, list(pos | neg))
            if not known.any():
                continue
            sub_ids, sub_probs = ids[known], probs[known]
            truth = np.isin(sub_ids, list(pos))
            threshold = cat.threshold_of(label)
            precision, recall, _ = _rates(_predicted(cat, sub_probs, col, threshold), truth)
            tagged = auto_tagged(label.name, sub_ids.tolist())
            best = best_threshold(cat, sub_probs, col, truth, threshold)
            out.append(
                LabelTruth(
                    cat.name,
                    label.name,
                    int(truth.sum()),
                    int((~truth).sum()),
                    len(tagged & pos),
                    len(pos & set(sub_ids.tolist())) - len(tagged & pos),
                    len(tagged & neg),
                    threshold,
                    precision,
                    recall,
                    *(best if best else (None, None, None, None)),
                )
            )
    return out


def table(rows: Sequence[LabelTruth]) -> list[str]:
    """The CLI's lines: one per label, numbers as percentages."""

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.0f}%"

    def thr(x: float | None) -> str:
        return "-" if x is None else f"{x:.2f}"

    head = (
        f"{'label':<20} {'category':<14} {'+':>4} {'-':>4} {'thr':>5} {'prec':>5} "
        f"{'recall':>6}   {'best':>5} {'prec':>5} {'recall':>6}"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"{r.label[:20]:<20} {r.category[:14]:<14} {r.positives:>4} {r.negatives:>4} "
            f"{thr(r.threshold):>5} {pct(r.precision):>5} {pct(r.recall):>6}   "
            f"{thr(r.best_threshold):>5} {pct(r.best_precision):>5} {pct(r.best_recall):>6}"
        )
    return lines
