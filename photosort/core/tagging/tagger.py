"""The numpy tagger: every photo against every label in one matrix product (see the
package docstring for the scoring rule)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from photosort.core.categories import Category
from photosort.core.lazy_import import np
from photosort.core.scoring import Scoring
from photosort.core.tagging.results import LabelPreview
from photosort.core.tagging.text_vectors import ensemble

#: Generic captions a free tag must beat: they say "a photo" and nothing else.
NEUTRAL_PROMPTS = (
    "a photo",
    "a picture",
    "an image",
    "a photo of something",
    "a snapshot",
)


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
Fusion = Callable[[Category, "np.ndarray", "np.ndarray"], "np.ndarray"]


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


#: The library's vectors as (ids, float32 matrix) pieces.
Chunks = Iterable[tuple["np.ndarray", "np.ndarray"]]
#: (the catalog's vectors_version they mirror, the pieces): tagging never needs them whole.
VectorLoader = Callable[[], tuple[int, Chunks]]
