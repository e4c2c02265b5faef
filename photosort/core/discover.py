"""Discover groups: k-means over the stored vectors, each group named by its nearest labels.

The tutorial way of exploring CLIP features (cluster them, look at each cluster), made a
starting point for teaching: a group's most central photos become the examples of a new
taught tag in one step. FAISS k-means trains on a sample (256 points per group at most)
and assigns every photo with one search, so 100k photos take seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from photosort.core.errors import PhotosortError
from photosort.core.lazy_import import np
from photosort.core.progress import ProgressCallback, RateMeter

if TYPE_CHECKING:
    from photosort.core.categories import Category

DEFAULT_GROUPS = 12
CENTRAL = 12  # photos shown per group, and taken as examples when a group is taught


class DiscoverError(PhotosortError):
    """Nothing to cluster, or a group that does not exist."""


@dataclass
class Group:
    number: int  # 1-based, biggest group first
    size: int
    name: str  # suggested from the nearest labels, e.g. "night · car"
    central: list[int]  # photo ids nearest the centre, best first
    members: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0, np.int64))

    def as_dict(self, paths: dict[int, str] | None = None) -> dict:
        out = {"group": self.number, "size": self.size, "name": self.name}
        if paths is not None:
            out["photos"] = [paths[i] for i in self.central if i in paths]
        return out


def cluster(
    ids: np.ndarray,
    matrix: np.ndarray,
    groups: int = DEFAULT_GROUPS,
    label_names: list[str] | None = None,
    label_vectors: np.ndarray | None = None,
    neutral: np.ndarray | None = None,
    seed: int = 1234,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> list[Group]:
    """Cluster the vectors into ``groups`` groups (fewer for a small library)."""
    import faiss

    if len(ids) < 2:
        raise DiscoverError("discover needs at least 2 photos with a vector: scan a folder first")
    k = max(1, min(groups, len(ids) // 2))
    meter = RateMeter("discovering", 3, on_progress, unit="step")
    meter.report(0)
    data = np.ascontiguousarray(matrix, dtype=np.float32)
    kmeans = faiss.Kmeans(
        data.shape[1], k, niter=20, seed=seed, spherical=True, max_points_per_centroid=256
    )
    kmeans.train(data)
    assert kmeans.centroids is not None  # set by train()
    meter.report(1)
    if should_cancel and should_cancel():
        return []
    sims, assign = kmeans.index.search(data, 1)
    sims, assign = sims[:, 0], assign[:, 0]
    meter.report(2)
    out: list[Group] = []
    for g in range(k):
        rows = np.flatnonzero(assign == g)
        if not len(rows):
            continue
        order = rows[np.argsort(-sims[rows], kind="stable")]
        name = _name(kmeans.centroids[g], label_names, label_vectors, neutral)
        out.append(Group(0, len(rows), name, ids[order[:CENTRAL]].tolist(), ids[order]))
    out.sort(key=lambda grp: -grp.size)
    for number, group in enumerate(out, 1):
        group.number = number
    meter.report(3)
    return out


def label_directions(
    categories: list[Category], text_vectors: dict[str, np.ndarray]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Label names, their prompt-ensemble vectors and the neutral caption's, for naming."""
    from photosort.core.tagging import NEUTRAL_PROMPTS, ensemble

    names = [lab.name for cat in categories for lab in cat.labels]
    vecs = [
        ensemble([text_vectors[p] for p in lab.prompt_texts(cat.template)])
        for cat in categories
        for lab in cat.labels
    ]
    neutral = ensemble([text_vectors[p] for p in NEUTRAL_PROMPTS])
    dim = len(neutral)
    return names, np.asarray(vecs, np.float32).reshape(len(names), dim), neutral


def _name(
    centre: np.ndarray,
    names: list[str] | None,
    vectors: np.ndarray | None,
    neutral: np.ndarray | None,
) -> str:
    """The two labels whose prompts beat a neutral caption most for this centre."""
    if not names or vectors is None or not len(vectors):
        return "(unnamed)"
    centre = centre / max(float(np.linalg.norm(centre)), 1e-12)
    score = vectors @ centre - (float(neutral @ centre) if neutral is not None else 0.0)
    best = np.argsort(-score)[:2]
    return " · ".join(names[i] for i in best)
