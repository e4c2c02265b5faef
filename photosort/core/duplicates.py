"""Duplicates, near-duplicates and bursts, each group with a suggested keeper.

Three kinds, kept apart and nested so that no photo is ever "another" in two groups:

1. **exact**: the same content hash at different paths. Each group counts as one photo
   (its keeper) from here on.
2. **near**: the same shot resized, recompressed, lightly cropped, rotated by EXIF,
   converted or made grayscale. A pair qualifies when its CLIP vectors are close
   (cosine >= ``threshold``) *and* its perceptual hashes agree (<= ``NEAR_BITS`` of 64
   bits differ), or when the hashes are nearly identical (<= ``SAME_PIXELS_BITS``),
   which catches copies whose colours changed so much that CLIP drifts (grayscale).
   Two photos both carrying a capture time that differ are never the same shot: that
   is what separates a copy from a burst frame or a second shot of the scene.
3. **bursts**: the same camera within ``BURST_WINDOW_S`` seconds, CLIP-close and with
   similar pixels (<= ``BURST_BITS``), over the keepers of the groups above.

Scale: close CLIP pairs are found by clustering the stored vectors (k-means over about
sqrt(N) cells, each vector in its ``PROBES`` nearest cells) and one matrix product per
cell, never all N^2 pairs; near-identical hashes come from FAISS multi-index hashing;
bursts from one sorted pass over (camera, time). Memory stays within one cell's block.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from photosort.core import fingerprints
from photosort.core.catalog import Catalog
from photosort.core.errors import PhotosortError
from photosort.core.lazy_import import np
from photosort.core.progress import Cancelled, ProgressCallback, RateMeter
from photosort.core.store import PhotoStore, TagStore

#: Catalog rows by photo id, fingerprints by photo id, and per-row arrays by name.
Photos = dict[int, sqlite3.Row]
Fingerprints = dict[int, fingerprints.Fingerprint]
Info = dict[str, "np.ndarray"]

KINDS = ("exact", "near", "bursts")
#: Default CLIP cosine for a near-duplicate candidate, and for burst frames.
NEAR_THRESHOLD = 0.90
BURST_THRESHOLD = 0.85
#: Perceptual-hash bits (of 64) that may differ: a copy, a near-identical copy, a burst.
NEAR_BITS = 8
SAME_PIXELS_BITS = 4
BURST_BITS = 20
BURST_WINDOW_S = 5
#: Below this many vectors every pair is compared; above, clustered cells.
ALL_PAIRS_LIMIT = 4096
PROBES = 2
#: Rows per block product (bounds memory to BLOCK x cell size floats).
BLOCK = 2048
_RAW = {".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf", ".pef", ".srw"}
_LOSSLESS = {".png", ".tif", ".tiff", ".bmp"}


class DuplicatesError(PhotosortError):
    """A duplicates request that cannot run (bad threshold, unknown kind); one line."""


@dataclass
class Member:
    photo_id: int
    path: str
    size: int
    width: int | None
    height: int | None
    taken_at: str | None
    camera: str | None
    mtime_ns: int
    manual_tags: int = 0
    sharpness: float | None = None
    sharp_side: int | None = None
    colour: float | None = None

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)

    @property
    def format_rank(self) -> int:
        """3 raw, 2 camera file (EXIF camera), 1 lossless, 0 other: an original outranks a
        converted copy, which loses the camera data or the raw/lossless pixels."""
        ext = os.path.splitext(self.path)[1].lower()
        if ext in _RAW:
            return 3
        if self.camera:
            return 2
        return 1 if ext in _LOSSLESS else 0

    def as_dict(self) -> dict:
        return {
            "id": self.photo_id,
            "path": self.path,
            "size": self.size,
            "width": self.width,
            "height": self.height,
            "taken_at": self.taken_at,
            "camera": self.camera,
            "manual_tags": self.manual_tags,
        }


@dataclass
class Group:
    kind: str
    members: list[Member]
    keeper_id: int
    reasons: list[str] = field(default_factory=list)

    @property
    def keeper(self) -> Member:
        return next(m for m in self.members if m.photo_id == self.keeper_id)

    @property
    def others(self) -> list[Member]:
        return [m for m in self.members if m.photo_id != self.keeper_id]

    def choose(self, photo_id: int) -> None:
        """Make another member the keeper (the user's choice)."""
        if photo_id not in {m.photo_id for m in self.members}:
            raise DuplicatesError(f"photo {photo_id} is not in this group")
        if photo_id != self.keeper_id:
            self.keeper_id = photo_id
            self.reasons = ["chosen by you"]

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "photos": [m.path for m in self.members],
            "keeper": self.keeper.path,
            "reasons": list(self.reasons),
            "members": [
                m.as_dict() | {"keeper": m.photo_id == self.keeper_id} for m in self.members
            ],
        }


# -- keeper ---------------------------------------------------------------------------------
def _fmt_ext(m: Member) -> str:
    ext = os.path.splitext(m.path)[1].lstrip(".").upper() or "?"
    return {"JPG": "JPEG", "JPE": "JPEG", "TIF": "TIFF"}.get(ext, ext)


def choose_keeper(members: list[Member]) -> tuple[int, list[str]]:
    """The member to keep and why: each criterion, in order, drops the members that lose
    on it; the reasons are the criteria that dropped someone."""
    left = list(members)
    reasons: list[str] = []

    def narrow(
        value: Callable[[Member], float], tolerance: float, reason: Callable[[Member], str]
    ) -> None:
        nonlocal left
        best = max(value(m) for m in left)
        floor = best - tolerance * abs(best) if tolerance else best  # ints stay exact
        kept = [m for m in left if value(m) >= floor]
        if len(kept) < len(left):
            left = kept
            reasons.append(reason(kept[0]))

    narrow(lambda m: m.pixels, 0.0, lambda m: f"largest resolution ({m.width}×{m.height})")
    if len(left) > 1:
        narrow(lambda m: 1.0 if (m.colour or 0) > 0.02 else 0.0, 0.0, lambda m: "in colour")
    if len(left) > 1:
        narrow(
            lambda m: m.format_rank,
            0.0,
            lambda m: f"original format ({_fmt_ext(m)}; the others look converted)",
        )
    if len(left) > 1:
        sides = {m.sharp_side for m in left}
        if len(sides) == 1 and all(m.sharpness is not None for m in left):
            narrow(lambda m: m.sharpness or 0.0, 0.10, lambda m: "sharpest")
    if len(left) > 1:
        narrow(lambda m: 1.0 if m.manual_tags else 0.0, 0.0, lambda m: "has manual tags")
    if len(left) > 1:
        narrow(lambda m: -m.mtime_ns, 0.0, lambda m: "oldest file")
    left.sort(key=lambda m: m.path)
    return left[0].photo_id, reasons or ["first by path (the copies are equal)"]


# -- similar pairs ----------------------------------------------------------------------------
def close_pairs(
    matrix: np.ndarray,
    threshold: float,
    should_cancel: Callable[[], bool] | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Row pairs (i < j) among ``rows`` (default all) whose inner product >= threshold,
    as an (M, 2) array of row numbers of ``matrix``.

    Small sets compare every pair; larger ones are clustered (k-means on a sample) into
    about sqrt(N) cells, each row joins its ``PROBES`` nearest cells, and only rows sharing
    a cell are compared (one matrix product per cell, in blocks).
    """
    from threadpoolctl import threadpool_limits

    from photosort.core.index import _one_omp_thread

    # Thousands of small products: threads only add overhead (6x slower on a busy CPU).
    with threadpool_limits(1), _one_omp_thread():
        return _close_pairs(matrix, threshold, should_cancel, rows)


def _close_pairs(
    matrix: np.ndarray,
    threshold: float,
    should_cancel: Callable[[], bool] | None,
    rows: np.ndarray | None,
) -> np.ndarray:
    rows = np.arange(len(matrix)) if rows is None else np.asarray(rows, np.int64)
    if len(rows) < 2:
        return np.empty((0, 2), np.int64)
    cells = [rows] if len(rows) <= ALL_PAIRS_LIMIT else _cells(matrix, rows)
    found: list[np.ndarray] = [np.empty((0, 2), np.int64)]
    for members in cells:
        if should_cancel and should_cancel():
            raise Cancelled()
        if len(members) > 1:
            found.append(_pairs_in(matrix, members, threshold))
    pairs = np.concatenate(found)
    n = len(matrix)
    keys = np.unique(pairs[:, 0] * n + pairs[:, 1])
    return np.stack([keys // n, keys % n], axis=1)


def _cells(matrix: np.ndarray, rows: np.ndarray | None = None, depth: int = 0) -> list[np.ndarray]:
    """Row sets to compare within: k-means cells, each row in its ``PROBES`` nearest;
    a cell far above the average size is split again (real libraries are lumpy)."""
    import faiss

    rows = np.arange(len(matrix)) if rows is None else rows
    n, dim = len(rows), matrix.shape[1]
    nlist = int(min(4096, max(8, min(math.sqrt(n), n / 40))))
    rng = np.random.default_rng(depth)
    sample = matrix[rows[rng.choice(n, min(n, nlist * 40), replace=False)]]
    kmeans = faiss.Kmeans(dim, nlist, niter=5, seed=1, spherical=True)
    kmeans.train(np.ascontiguousarray(sample))
    centroids = faiss.IndexFlatIP(dim)
    assert kmeans.centroids is not None  # set by train()
    centroids.add(kmeans.centroids)
    assign = np.empty((n, PROBES), np.int64)
    for start in range(0, n, 16384):
        part = np.ascontiguousarray(matrix[rows[start : start + 16384]])
        _, assign[start : start + 16384] = centroids.search(part, PROBES)
    flat = assign.ravel()
    order = np.argsort(flat, kind="stable")
    bounds = np.searchsorted(flat[order], np.arange(nlist + 1))
    members = np.repeat(rows, PROBES)[order]
    cap = max(ALL_PAIRS_LIMIT // 4, 3 * n * PROBES // nlist)
    out: list[np.ndarray] = []
    for c in range(nlist):
        cell = members[bounds[c] : bounds[c + 1]]
        if len(cell) > cap and depth < 1:
            out += _cells(matrix, cell, depth + 1)
        else:
            out.append(cell)
    return out


def _pairs_in(matrix: np.ndarray, members: np.ndarray, threshold: float) -> np.ndarray:
    members = np.sort(members)
    sub = matrix[members]
    out = []
    for start in range(0, len(members), BLOCK):
        block = sub[start : start + BLOCK] @ sub[start:].T
        i, j = np.nonzero(block >= threshold)
        keep = j > i  # upper triangle: j indexes from ``start``
        out.append(np.stack([members[start + i[keep]], members[start + j[keep]]], axis=1))
    return np.concatenate(out) if out else np.empty((0, 2), np.int64)


def same_hash_pairs(codes: np.ndarray, max_bits: int) -> np.ndarray:
    """Index pairs (i < j) of 64-bit hashes within ``max_bits`` (FAISS multi-index hashing)."""
    import faiss

    n = len(codes)
    if n < 2:
        return np.empty((0, 2), np.int64)
    from photosort.core.index import _one_omp_thread

    raw = np.ascontiguousarray(codes.astype(np.int64)).view(np.uint8).reshape(n, 8)
    index = faiss.IndexBinaryMultiHash(64, max_bits + 1, 64 // (max_bits + 1))
    index.add(raw)
    out = []
    with _one_omp_thread():
        for start in range(0, n, 16384):
            lims, _, labels = index.range_search(raw[start : start + 16384], max_bits + 1)
            q = np.repeat(np.arange(start, start + len(lims) - 1), np.diff(lims).astype(np.int64))
            keep = labels > q
            out.append(np.stack([q[keep], labels[keep]], axis=1))
    return np.concatenate(out)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.bitwise_count(np.bitwise_xor(a.astype(np.int64), b.astype(np.int64)).view(np.uint64))


def components(n: int, pairs: np.ndarray) -> list[np.ndarray]:
    """Connected components (of two or more) of the graph on ``n`` nodes with these edges."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(pairs) == 0:
        return []
    nodes, inverse = np.unique(pairs.ravel(), return_inverse=True)
    edges = inverse.reshape(-1, 2)
    m = len(nodes)
    graph = coo_matrix((np.ones(len(edges), np.int8), (edges[:, 0], edges[:, 1])), shape=(m, m))
    _, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    return [nodes[g] for g in np.split(order, bounds) if len(g) > 1]


# -- the finder -------------------------------------------------------------------------------
def _epoch(taken_at: str | None) -> float:
    if not taken_at:
        return math.nan
    try:
        return dt.datetime.fromisoformat(taken_at).replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        return math.nan


def epochs(values: list[str | None]) -> np.ndarray:
    """Capture times (ISO, naive) as seconds; NaN where unknown."""
    try:
        stamps = np.array([v or "NaT" for v in values], dtype="datetime64[s]")
    except ValueError:  # an odd stored value: parse one by one
        return np.array([_epoch(v) for v in values])
    out = stamps.astype(np.int64).astype(np.float64)
    out[np.isnat(stamps)] = math.nan
    return out


class DuplicateFinder:
    """Groups a library's photos; ``vectors()`` gives (ids, matrix) of stored CLIP vectors."""

    def __init__(self, catalog: Catalog, vectors: Callable[[], tuple[np.ndarray, np.ndarray]]):
        self.catalog = catalog
        self.vectors = vectors

    def find(
        self,
        kinds: Iterable[str] = KINDS,
        threshold: float | None = None,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> list[Group]:
        kinds = list(kinds)
        for kind in kinds:
            if kind not in KINDS:
                raise DuplicatesError(f"unknown kind {kind!r}: choose {', '.join(KINDS)}")
        if threshold is not None and not 0.0 < threshold <= 1.0:
            raise DuplicatesError(f"threshold must be a cosine in (0, 1], got {threshold}")
        meter = RateMeter("finding duplicates", 4, on_progress, unit="step")
        meter.report(0)
        cancel = should_cancel or (lambda: False)
        rows = PhotoStore(self.catalog).for_duplicates()
        photos = {r[0]: r for r in rows}
        groups: list[Group] = []
        # 1. exact: one representative per content hash from here on.
        by_hash: dict[str, list[int]] = {}
        for r in rows:
            if r["content_hash"]:
                by_hash.setdefault(r["content_hash"], []).append(r["id"])
        rep_of: dict[int, int] = {}
        exact = []
        for ids in by_hash.values():
            if len(ids) > 1:
                group = self._group("exact", ids, photos)
                exact.append(group)
                for pid in ids:
                    rep_of[pid] = group.keeper_id
        if "exact" in kinds:
            groups += exact
        meter.report(1)
        if cancel():
            raise Cancelled()
        if "near" not in kinds and "bursts" not in kinds:
            return groups
        vec_ids, matrix = self.vectors()
        known = np.array([int(i) in photos for i in vec_ids], dtype=bool)
        if not known.all():  # a photo forgotten since the vectors were cached
            vec_ids, matrix = vec_ids[known], matrix[known]
        info = self._arrays(vec_ids, photos)
        fps = fingerprints.load(self.catalog, None)
        info.update(self._fp_arrays(vec_ids, fps))
        is_rep = np.array([rep_of.get(int(i), int(i)) == int(i) for i in vec_ids], dtype=bool)
        # 2. near duplicates, over the exact groups' keepers and the other photos.
        near_threshold = threshold if threshold is not None else NEAR_THRESHOLD
        pairs = self._near_pairs(vec_ids, matrix, is_rep, near_threshold, photos, fps, info, cancel)
        near = [
            self._group("near", [int(vec_ids[i]) for i in g], photos, fps)
            for g in components(len(vec_ids), pairs)
        ]
        if "near" in kinds:
            groups += near
        meter.report(2)
        if cancel():
            raise Cancelled()
        if "bursts" in kinds:
            for group in near:
                for m in group.others:
                    rep_of[m.photo_id] = group.keeper_id
            is_rep &= np.array([rep_of.get(int(i), int(i)) == int(i) for i in vec_ids], bool)
            burst_threshold = threshold if threshold is not None else BURST_THRESHOLD
            groups += self._bursts(vec_ids, matrix, is_rep, burst_threshold, photos, fps, info)
        meter.report(4)
        return groups

    @staticmethod
    def _arrays(vec_ids: np.ndarray, photos: Photos) -> Info:
        rows = [photos[int(i)] for i in vec_ids]
        cameras = [r["camera"] for r in rows]
        names = {c: k for k, c in enumerate(sorted({c for c in cameras if c}))}
        return {
            "times": epochs([r["taken_at"] for r in rows]),
            "camera": np.array([names[c] if c else -1 for c in cameras], np.int64),
        }

    @staticmethod
    def _fp_arrays(vec_ids: np.ndarray, fps: Fingerprints) -> Info:
        found = [fps.get(int(i)) for i in vec_ids]
        return {
            "codes": np.array([f.phash if f else 0 for f in found], np.int64),
            "has": np.array([f is not None for f in found], dtype=bool),
        }

    def _fill_missing(
        self,
        vec_ids: np.ndarray,
        positions: np.ndarray,
        photos: Photos,
        fps: Fingerprints,
        info: Info,
    ) -> None:
        """Photos scanned before fingerprints existed: hash the candidates only, lazily."""
        missing = {int(vec_ids[i]) for i in positions if not info["has"][i]}
        if not missing:
            return
        fps.update(
            fingerprints.ensure(
                self.catalog,
                {pid: (photos[pid]["path"], photos[pid]["content_hash"]) for pid in missing},
            )
        )
        info.update(self._fp_arrays(vec_ids, fps))

    # -- near ------------------------------------------------------------------------------
    def _near_pairs(
        self,
        vec_ids: np.ndarray,
        matrix: np.ndarray,
        is_rep: np.ndarray,
        threshold: float,
        photos: Photos,
        fps: Fingerprints,
        info: Info,
        cancel: Callable[[], bool],
    ) -> np.ndarray:
        rows = np.flatnonzero(is_rep)
        clip = close_pairs(matrix, threshold, cancel, rows)
        hashed = rows[info["has"][rows]]
        same = hashed[same_hash_pairs(info["codes"][hashed], SAME_PIXELS_BITS)]
        self._fill_missing(vec_ids, np.unique(clip), photos, fps, info)
        codes, has, times = info["codes"], info["has"], info["times"]
        out = []
        for cand, bits in ((clip, NEAR_BITS), (same, SAME_PIXELS_BITS)):
            a, b = cand[:, 0], cand[:, 1]
            ok = has[a] & has[b] & (hamming(codes[a], codes[b]) <= bits)
            ta, tb = times[a], times[b]
            ok &= ~((ta == ta) & (tb == tb) & (ta != tb))  # two capture times: two shots
            out.append(cand[ok])
        return np.concatenate(out)

    # -- bursts ----------------------------------------------------------------------------
    def _bursts(
        self,
        vec_ids: np.ndarray,
        matrix: np.ndarray,
        is_rep: np.ndarray,
        threshold: float,
        photos: Photos,
        fps: Fingerprints,
        info: Info,
    ) -> list[Group]:
        times, camera = info["times"], info["camera"]
        idx = np.flatnonzero(is_rep & (camera >= 0) & (times == times))
        if len(idx) < 2:
            return []
        order = np.lexsort((times[idx], camera[idx]))
        idx = idx[order]
        cam, t = camera[idx], times[idx]
        cand = [np.empty((0, 2), np.int64)]
        for step in range(1, 64):
            if step >= len(idx):
                break
            close = (cam[step:] == cam[:-step]) & (t[step:] - t[:-step] <= BURST_WINDOW_S)
            if not close.any():
                break
            k = np.flatnonzero(close)
            cand.append(np.stack([idx[k], idx[k + step]], axis=1))
        pairs = np.concatenate(cand)
        cos = np.einsum("ij,ij->i", matrix[pairs[:, 0]], matrix[pairs[:, 1]])
        pairs = pairs[cos >= threshold]
        self._fill_missing(vec_ids, np.unique(pairs), photos, fps, info)
        codes, has = info["codes"], info["has"]
        a, b = pairs[:, 0], pairs[:, 1]
        pairs = pairs[has[a] & has[b] & (hamming(codes[a], codes[b]) <= BURST_BITS)]
        return [
            self._group("bursts", [int(vec_ids[i]) for i in g], photos, fps)
            for g in components(len(vec_ids), pairs)
        ]

    # -- groups ----------------------------------------------------------------------------
    def _group(
        self, kind: str, ids: list[int], photos: Photos, fps: Fingerprints | None = None
    ) -> Group:
        members = []
        tags = self._manual_counts(ids)
        for pid in sorted(ids, key=lambda i: photos[i]["path"]):
            r = photos[pid]
            fp = fps.get(pid) if fps else None
            members.append(
                Member(
                    pid,
                    r["path"],
                    r["size"],
                    r["width"],
                    r["height"],
                    r["taken_at"],
                    r["camera"],
                    r["mtime_ns"],
                    tags.get(pid, 0),
                    fp.sharpness if fp else None,
                    fp.sharp_side if fp else None,
                    fp.colour if fp else None,
                )
            )
        keeper, reasons = choose_keeper(members)
        members.sort(key=lambda m: (m.photo_id != keeper, m.path))
        return Group(kind, members, keeper, reasons)

    def _manual_counts(self, ids: list[int]) -> dict[int, int]:
        return TagStore(self.catalog).manual_on_counts(ids)
