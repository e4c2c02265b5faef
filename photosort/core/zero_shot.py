"""Labels per row of a vector matrix, with no catalog: what a cluster job writes per photo.

The desktop stores auto tags as (photo id, label id) rows in the catalog; a Spark job
(``photosort.spark``) has no catalog, only a batch of vectors. This turns the same
``Tagger`` decisions (same prompt ensembles, softmax or vs-neutral probabilities,
thresholds, "uncertain" and ``applies_if``) into per-row lists, so both give the same
labels for the same vectors. The sun's evidence is not fused here: it needs the
photo's EXIF place and time, which the desktop reads on import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from photosort.core.categories import Category
from photosort.core.tagging import Tagger


@dataclass(frozen=True)
class RowLabels:
    """Per row: the chosen labels, every label's probability, and the uncertain groups."""

    labels: list[list[str]]
    scores: list[dict[str, float]]
    uncertain: list[list[str]]


@dataclass
class ZeroShot:
    """Ready taggers: built once on the driver, shipped to every worker (they pickle).

    Two passes, as in ``tagging.run_autotag``: categories with ``applies_if`` run second,
    over the rows where the first pass chose their label.
    """

    passes: list[Tagger]
    model_id: str

    @classmethod
    def build(
        cls,
        categories: Sequence[Category],
        encode_texts: Callable[[list[str]], np.ndarray],
        logit_scale: float,
        model_id: str,
    ) -> ZeroShot:
        prompts = Tagger.prompts_needed(categories)
        vectors = dict(zip(prompts, np.asarray(encode_texts(prompts), np.float32), strict=True))
        first = [c for c in categories if not c.applies_if]
        later = [c for c in categories if c.applies_if]
        passes = [Tagger(group, vectors, logit_scale) for group in (first, later) if group]
        return cls(passes, model_id)

    @property
    def label_names(self) -> list[str]:
        return [lab.name for t in self.passes for cat in t.categories for lab in cat.labels]

    def label(self, matrix: np.ndarray) -> RowLabels:
        """Labels of the (N, D) matrix's rows."""
        n = len(matrix)
        ids = np.arange(n, dtype=np.int64)
        chosen: list[list[str]] = [[] for _ in range(n)]
        uncertain: list[list[str]] = [[] for _ in range(n)]
        scores: list[dict[str, float]] = [{} for _ in range(n)]
        for tagger in self.passes:
            names = [lab.name for cat in tagger.categories for lab in cat.labels]
            label_ids, start = [], 0
            for cat in tagger.categories:
                label_ids.append(list(range(start, start + len(cat.labels))))
                start += len(cat.labels)
            applies = {
                cat.name: ids[[_holds(cat.applies_if, row) for row in chosen]]
                for cat in tagger.categories
                if cat.applies_if
            }
            decisions, _ = tagger.decide(ids, matrix, label_ids, applies)
            for row, lid in zip(
                decisions.photo_ids.tolist(), decisions.label_ids.tolist(), strict=True
            ):
                chosen[row].append(names[lid])
            for cat in tagger.categories:
                if cat.kind != "exclusive":
                    continue
                mine = {lab.name for lab in cat.labels}
                allowed = set(applies[cat.name].tolist()) if cat.name in applies else None
                for row in range(n):
                    if (allowed is None or row in allowed) and not mine.intersection(chosen[row]):
                        uncertain[row].append(cat.name)
            if n:
                probs = np.concatenate(tagger.probabilities(matrix), axis=1)
                for row, values in enumerate(probs.tolist()):
                    scores[row].update(zip(names, values, strict=True))
        return RowLabels(chosen, scores, uncertain)


def _holds(label: str | None, chosen: list[str]) -> bool:
    want = (label or "").casefold()
    return any(name.casefold() == want for name in chosen)
