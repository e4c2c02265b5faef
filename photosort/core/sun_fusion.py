"""Fusing the sun's evidence (``core/sun.py``) with the image's probabilities.

How the sun and the image are fused (``fuse``)
--------------------------------------------------
For a group with ``sun = true`` each label may name an elevation band
(``sun_elevation = [low, high]`` degrees, soft edges of about 1.5 degrees, because a
clock a few minutes off moves the sun a little) and a direction (``sun_rising``). With
trust ``a`` in the sun's elevation and ``b`` in its direction (by where the time came
from, see the TRUST constants), the sun's *prior* over the group's n labels is

    prior(label) ~ (a * band(label) / sum of bands + (1 - a) / n) * (1 +/- b)

with ``+b`` when the label's direction is the sun's, ``-b`` when it is the other one,
and no factor for a label without a direction. A photo without metadata (a = b = 0) has a
uniform prior and keeps exactly the image's probabilities. The result is Bayes' rule,
``posterior ~ prior x likelihood``, with the image's softmax as the likelihood, with one
exception: the sun's direction cannot be seen in a photo (a dawn mirrored is a dusk), so
where the sun knows it, labels that differ only by ``sun_rising`` (dawn and dusk) share
the image's probability of the pair, and the clock splits them. Everything else the image
sees (day, night, twilight) keeps its say: a confident image outweighs a wrong clock,
since no label's prior drops below ``(1 - a)(1 - b)/n`` before normalising. Free labels
get the same rule as a two-way choice (the tag against not the tag).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from photosort.core.categories import Category
from photosort.core.sun import SOFTNESS, SunFix, describe
from photosort.core.sun_store import SunEvidence


# -- the fusion rule -----------------------------------------------------------------------
def _bands(cat: Category) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per label: low and high elevation (the whole sky when unset) and direction (NaN: any)."""
    low = np.array([(x.sun_elevation or (-90.0, 90.0))[0] for x in cat.labels], np.float32)
    high = np.array([(x.sun_elevation or (-90.0, 90.0))[1] for x in cat.labels], np.float32)
    way = np.array(
        [np.nan if x.sun_rising is None else float(x.sun_rising) for x in cat.labels], np.float32
    )
    return low, high, way


def twins(cat: Category) -> list[tuple[int, int]]:
    """Label pairs that differ only by the sun's direction (dawn and dusk)."""
    out = []
    for i, a in enumerate(cat.labels):
        for j in range(i + 1, len(cat.labels)):
            b = cat.labels[j]
            if (
                a.sun_elevation is not None
                and a.sun_elevation == b.sun_elevation
                and {a.sun_rising, b.sun_rising} == {True, False}
            ):
                out.append((i, j))
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, np.float32(-60.0), np.float32(60.0))
    return np.reciprocal(np.float32(1.0) + np.exp(-x))


def _membership(elevation: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """(N, k) soft band membership; an open edge (-90 or 90) is no edge; unknown: all 1."""
    known = ~np.isnan(elevation)
    e = np.where(known, elevation, np.float32(0.0)).astype(np.float32)
    done: dict[tuple[float, float], np.ndarray] = {}
    columns = []
    for band in zip(low.tolist(), high.tolist(), strict=True):
        if band not in done:  # dawn and dusk share one band: computed once
            soft = np.float32(min(SOFTNESS, (band[1] - band[0]) / 4.0))
            column = np.ones(len(e), np.float32)
            if band[0] > -90.0:
                column *= _sigmoid((e - np.float32(band[0])) / soft)
            if band[1] < 90.0:
                column *= _sigmoid((np.float32(band[1]) - e) / soft)
            if not known.all():
                column[~known] = 1.0
            done[band] = column
        columns.append(done[band])
    return np.stack(columns, axis=1)


def _direction(rising: np.ndarray, way: np.ndarray) -> np.ndarray:
    """(N, k): +1 where the label's direction is the sun's, -1 where it is not, else 0."""
    known = ~np.isnan(rising)
    zero = np.zeros(len(rising), np.float32)
    columns = []
    for w in way.tolist():
        if np.isnan(w):
            columns.append(zero)
        else:
            agree = np.where(rising == w, np.float32(1.0), np.float32(-1.0))
            columns.append(np.where(known, agree, np.float32(0.0)))
    return np.stack(columns, axis=1)


def _normalised(weights: np.ndarray) -> np.ndarray:
    """Rows scaled to sum 1 (in place); a row of zeros becomes uniform."""
    total = weights.sum(axis=1)
    empty = total <= 1e-12
    total[empty] = 1.0
    weights /= total[:, None]
    weights[empty] = np.float32(1.0 / weights.shape[1])
    return weights


def prior(cat: Category, evidence: tuple[np.ndarray, ...]) -> np.ndarray:
    """(N, k) the sun's probability of each label of ``cat`` (see the module docstring)."""
    elevation, rising, a, b = evidence
    low, high, way = _bands(cat)
    member = _membership(elevation, low, high)
    agree = _direction(rising, way)
    a, b = a.astype(np.float32)[:, None], b.astype(np.float32)[:, None]
    if cat.kind == "exclusive":
        n = np.float32(len(cat.labels))
        height = _normalised(member)
        height *= a
        height += (1 - a) / n
        agree *= b
        agree += 1
        height *= agree
        return _normalised(height)
    # free labels: P(tag) against P(not tag); the base rate without evidence is one half
    weight = np.where(np.isnan(way)[None, :], a, np.minimum(a, b))
    return (weight * member * (agree >= 0) + (1 - weight) * np.float32(0.5)).astype(np.float32)


def fuse(cat: Category, probs: np.ndarray, evidence: tuple[np.ndarray, ...]) -> np.ndarray:
    """The group's probabilities after the sun: posterior ~ prior x likelihood. Photos
    without evidence keep theirs untouched (only the others are computed)."""
    has = (evidence[2] > 0) | (evidence[3] > 0)
    if not has.any():
        return probs
    out = probs.astype(np.float32, copy=True)
    rows = np.flatnonzero(has) if not has.all() else slice(None)
    mine = tuple(x[rows] for x in evidence)
    p, image = prior(cat, mine), out[rows]
    if cat.kind != "exclusive":
        num = p * image
        out[rows] = num / np.maximum(num + (1 - p) * (1 - image), np.float32(1e-12))
        return out
    likelihood = image.copy()
    knows_way = ~np.isnan(mine[1]) & (mine[3] > 0)
    for i, j in twins(cat):
        pooled = image[:, i] + image[:, j]
        likelihood[:, i] = np.where(knows_way, pooled, image[:, i])
        likelihood[:, j] = np.where(knows_way, pooled, image[:, j])
    likelihood *= p
    total = np.maximum(likelihood.sum(axis=1, keepdims=True), np.float32(1e-30))
    out[rows] = likelihood / total
    return out


class SunFusion:
    """The Tagger's hook: groups with ``sun = true`` are fused with the sun's evidence."""

    def __init__(self, evidence: SunEvidence):
        self.evidence = evidence
        self._aligned: tuple[np.ndarray, tuple[np.ndarray, ...]] | None = None

    def __call__(self, cat: Category, ids: np.ndarray, probs: np.ndarray) -> np.ndarray:
        if not cat.sun or not len(ids) or not len(self.evidence.photo_ids):
            return probs
        if self._aligned is None or self._aligned[0] is not ids:  # once per re-tag
            self._aligned = (ids, self.evidence.aligned(np.asarray(ids, np.int64)))
        return fuse(cat, probs, self._aligned[1])


def decided_by(
    cat: Category, image: np.ndarray, sun_prior: np.ndarray, fused: np.ndarray, has_sun: bool
) -> str:
    """Which evidence decided one photo's label of ``cat`` (1-D arrays over its labels)."""
    if not has_sun:
        return "the image (no usable time and place)"
    if cat.kind != "exclusive":
        return "the sun and the image together"
    top_image, top_sun, top = int(image.argmax()), int(sun_prior.argmax()), int(fused.argmax())
    if top == top_image == top_sun:
        return "the image and the sun agree"
    if top == top_image:
        return "the image (sure enough to outweigh the sun)"
    if top == top_sun:
        if any(top_image in pair and top in pair for pair in twins(cat)):
            names = cat.labels[top_image].name, cat.labels[top].name
            return f"the sun (the image cannot tell {names[1]} from {names[0]})"
        return "the sun (the image was less sure)"
    return "the image and the sun together"


def evidence_of(fixes: Iterable[SunFix]) -> tuple[np.ndarray, ...]:
    """Aligned evidence arrays for fixes in order (one photo's explanation, tests)."""
    fixes = list(fixes)
    ev = SunEvidence.of(list(range(len(fixes))), fixes)
    return ev.aligned(np.arange(len(fixes), dtype=np.int64))


# -- one photo, explained ------------------------------------------------------------------
@dataclass
class GroupExplanation:
    """One category for one photo: the image's, the sun's and the fused probabilities."""

    category: str
    kind: str
    sun: bool
    labels: list[str]
    image: list[float]
    sun_prior: list[float] | None  # None: the group does not use the sun
    fused: list[float]
    tagged: list[str]
    decided_by: str

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Explanation:
    path: str
    sun_text: str
    fix: SunFix | None
    groups: list[GroupExplanation]

    def as_dict(self) -> dict:
        fix = self.fix
        sun = None
        if fix is not None:
            sun = {
                "elevation": fix.elevation,
                "azimuth": fix.azimuth,
                "rising": fix.rising,
                "trust_elevation": fix.trust_elevation,
                "trust_direction": fix.trust_direction,
                "source": fix.source,
                "ignored": list(fix.notes),
                "instant": fix.capture.instant.isoformat() if fix.capture.instant else None,
            }
        return {
            "path": self.path,
            "sun_text": self.sun_text,
            "sun": sun,
            "categories": [g.as_dict() for g in self.groups],
        }

    def lines(self) -> list[str]:
        out = [self.path, f"  {self.sun_text}"]
        for g in self.groups:
            out.append(f"{g.category} ({g.kind}{', uses the sun' if g.sun else ''})")
            out.append(f"  {'label':<16} {'image':>6} {'sun':>6} {'result':>7}")
            for k, name in enumerate(g.labels):
                sun = "" if g.sun_prior is None else f"{g.sun_prior[k]:.3f}"
                mark = "  <- tagged" if name in g.tagged else ""
                out.append(f"  {name:<16} {g.image[k]:6.3f} {sun:>6} {g.fused[k]:7.3f}{mark}")
            result = ", ".join(g.tagged) or ("uncertain" if g.kind == "exclusive" else "no tag")
            out.append(f"  = {result}, decided by {g.decided_by}")
        return out


def explain(
    path: str, categories: Sequence[Category], image: Sequence[np.ndarray], fix: SunFix | None
) -> Explanation:
    """Per category: the image's probabilities, the sun's prior, the fused result."""
    evidence = evidence_of([fix or SunFix()])
    has_sun = bool(evidence[2][0] > 0 or evidence[3][0] > 0)
    groups = []
    for cat, probs in zip(categories, image, strict=True):
        probs = np.asarray(probs, np.float32)
        if cat.sun:
            sun_prior = prior(cat, evidence)[0]
            fused = fuse(cat, probs[None, :], evidence)[0]
        else:
            sun_prior, fused = None, probs
        thresholds = np.array([cat.threshold_of(x) for x in cat.labels], np.float32)
        if cat.kind == "exclusive":
            best = int(fused.argmax())
            tagged = [cat.labels[best].name] if fused[best] >= thresholds[best] else []
        else:
            pairs = zip(cat.labels, fused, thresholds, strict=True)
            tagged = [x.name for x, p, t in pairs if p >= t]
        if sun_prior is None:
            why = "the image (this group does not use the sun)"
        else:
            why = decided_by(cat, probs, sun_prior, fused, has_sun)
        groups.append(
            GroupExplanation(
                cat.name,
                cat.kind,
                cat.sun,
                [x.name for x in cat.labels],
                [round(float(v), 4) for v in probs],
                None if sun_prior is None else [round(float(v), 4) for v in sun_prior],
                [round(float(v), 4) for v in fused],
                tagged,
                why,
            )
        )
    return Explanation(path, describe(fix), fix, groups)
