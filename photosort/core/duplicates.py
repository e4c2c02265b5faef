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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from photosort.core import fingerprints
from photosort.core.catalog import Catalog
from photosort.core.errors import PhotosortError
from photosort.core.progress import Cancelled, ProgressCallback, RateMeter

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
            "members": [m.as_dict() | {"keeper": m.photo_id == self.keeper_id} for m in self.members],
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

    def narrow(value: Callable[[Member], float], tolerance: float, reason: Callable[[Member], str]):
        nonlocal left
        best = max(value(m) for m in left)
        floor = best - tolerance * abs(best) if tolerance else best  # ints stay exact
        kept = [m for m in left if value(m) >= floor]
        if len(kept) < len(left):
            left = kept
            reasons.append(reason(kept[0]))

    narrow(lambda m: m.pixels, 0.0, lambda m: f"largest resolution ({m.width}×{m.height})")
    if len(left) > 1:
        narrow(
            lambda m: 1.0 if (m.colour or 0) > 0.02 else 0.0, 0.0, lambda m: "in colour"
        )
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
    on_cell: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Index pairs (i < j) whose rows have inner product >= threshold, as an (M, 2) array.

    Small sets compare every pair; larger ones are clustered (k-means on a sample) into
    about sqrt(N) cells, each row joins its ``PROBES`` nearest cells, and only rows sharing
    a cell are compared (one matrix product per cell, in blocks).
    """
    n = len(matrix)
    if n < 2:
        return np.empty((0, 2), np.int64)
    if n <= ALL_PAIRS_LIMIT:
        cells = [np.arange(n)]
    else:
        cells = _cells(matrix)
    found: list[np.ndarray] = []
    for k, members in enumerate(cells):
        if should_cancel and should_cancel():
            raise Cancelled()
        if len(members) > 1:
            found.append(_pairs_in(matrix, members, threshold))
        if on_cell:
            on_cell(k + 1, len(cells))
    if not found:
        return np.empty((0, 2), np.int64)
    pairs = np.concatenate(found)
    if len(pairs) == 0:
        return pairs
    keys = np.unique(pairs[:, 0] * n + pairs[:, 1])
    return np.stack([keys // n, keys % n], axis=1)


def _cells(matrix: np.ndarray) -> list[np.ndarray]:
    import faiss

    n, dim = matrix.shape
    nlist = int(min(4096, max(8, math.sqrt(n))))
    rng = np.random.default_rng(0)
    sample = matrix[rng.choice(n, min(n, nlist * 32), replace=False)]
    kmeans = faiss.Kmeans(dim, nlist, niter=10, seed=1, spherical=True)
    kmeans.train(np.ascontiguousarray(sample))
    centroids = faiss.IndexFlatIP(dim)
    centroids.add(kmeans.centroids)
    assign = np.empty((n, PROBES), np.int64)
    for start in range(0, n, 16384):
        _, assign[start : start + 16384] = centroids.search(matrix[start : start + 16384], PROBES)
    rows = np.repeat(np.arange(n), PROBES)
    flat = assign.ravel()
    order = np.argsort(flat, kind="stable")
    bounds = np.searchsorted(flat[order], np.arange(nlist + 1))
    return [rows[order[bounds[c] : bounds[c + 1]]] for c in range(nlist)]


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
    raw = np.ascontiguousarray(codes.astype(np.int64)).view(np.uint8).reshape(n, 8)
    index = faiss.IndexBinaryMultiHash(64, max_bits + 1, 64 // (max_bits + 1))
    index.add(raw)
    out = []
    for start in range(0, n, 16384):
        lims, _, labels = index.range_search(raw[start : start + 16384], max_bits + 1)
        q = np.repeat(np.arange(start, start + len(lims) - 1), np.diff(lims).astype(np.int64))
        keep = labels > q
        out.append(np.stack([q[keep], labels[keep]], axis=1))
    return np.concatenate(out)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.bitwise_count(np.bitwise_xor(a.astype(np.int64), b.astype(np.int64)).view(np.uint64))


class _Sets:
    """Union-find over row indexes."""

    def __init__(self, n: int):
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return [g for g in out.values() if len(g) > 1]


# -- the finder -------------------------------------------------------------------------------
def _epoch(taken_at: str | None) -> float:
    if not taken_at:
        return math.nan
    try:
        return dt.datetime.fromisoformat(taken_at).replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        return math.nan


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
        rows = self.catalog.query(
            "SELECT id, path, size, width, height, taken_at, camera, mtime_ns, content_hash "
            "FROM photos ORDER BY id"
        )
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
        keep = np.array([rep_of.get(int(i), int(i)) == int(i) for i in vec_ids], dtype=bool)
        vec_ids, matrix = vec_ids[keep], matrix[keep]
        fps = fingerprints.load(self.catalog, None)
        # 2. near duplicates.
        near_threshold = threshold if threshold is not None else NEAR_THRESHOLD
        pairs = self._near_pairs(vec_ids, matrix, near_threshold, photos, fps, cancel)
        sets = _Sets(len(vec_ids))
        for a, b in pairs:
            sets.union(a, b)
        near = [self._group("near", [int(vec_ids[i]) for i in g], photos, fps) for g in sets.groups()]
        if "near" in kinds:
            groups += near
        meter.report(2)
        if "bursts" in kinds:
            for group in near:
                for m in group.others:
                    rep_of[m.photo_id] = group.keeper_id
            keep = np.array([rep_of.get(int(i), int(i)) == int(i) for i in vec_ids], dtype=bool)
            burst_threshold = threshold if threshold is not None else BURST_THRESHOLD
            groups += self._bursts(vec_ids[keep], matrix[keep], burst_threshold, photos, fps)
        meter.report(4)
        return groups

    # -- near ------------------------------------------------------------------------------
    def _near_pairs(self, vec_ids, matrix, threshold, photos, fps, cancel) -> list[tuple[int, int]]:
        clip = close_pairs(matrix, threshold, cancel)
        codes = np.array([fps[int(i)].phash if int(i) in fps else 0 for i in vec_ids], np.int64)
        has = np.array([int(i) in fps for i in vec_ids], dtype=bool)
        idx = np.nonzero(has)[0]
        same = idx[same_hash_pairs(codes[idx], SAME_PIXELS_BITS)] if len(idx) > 1 else None
        # Photos scanned before fingerprints existed: hash the CLIP candidates only.
        missing = {int(vec_ids[i]) for i in np.unique(clip) if not has[i]}
        if missing:
            fps.update(
                fingerprints.ensure(
                    self.catalog,
                    {pid: (photos[pid]["path"], photos[pid]["content_hash"]) for pid in missing},
                )
            )
            codes = np.array(
                [fps[int(i)].phash if int(i) in fps else 0 for i in vec_ids], np.int64
            )
            has = np.array([int(i) in fps for i in vec_ids], dtype=bool)
        times = np.array([_epoch(photos[int(i)]["taken_at"]) for i in vec_ids])
        out = []
        for cand, bits in ((clip, NEAR_BITS), (same, SAME_PIXELS_BITS)):
            if cand is None or len(cand) == 0:
                continue
            a, b = cand[:, 0], cand[:, 1]
            ok = has[a] & has[b] & (hamming(codes[a], codes[b]) <= bits)
            ta, tb = times[a], times[b]
            ok &= ~((ta == ta) & (tb == tb) & (ta != tb))  # two capture times: two shots
            out += [(int(x), int(y)) for x, y in cand[ok]]
        return out

    # -- bursts ----------------------------------------------------------------------------
    def _bursts(self, vec_ids, matrix, threshold, photos, fps) -> list[Group]:
        times = np.array([_epoch(photos[int(i)]["taken_at"]) for i in vec_ids])
        cameras = [photos[int(i)]["camera"] for i in vec_ids]
        usable = np.array([c is not None for c in cameras]) & (times == times)
        idx = np.nonzero(usable)[0]
        if len(idx) < 2:
            return []
        cam_code = {c: k for k, c in enumerate(sorted({cameras[i] for i in idx}))}
        cam = np.array([cam_code[cameras[i]] for i in idx])
        order = np.lexsort((times[idx], cam))
        idx, cam, t = idx[order], cam[order], times[idx][order]
        cand = []
        for step in range(1, 64):
            if step >= len(idx):
                break
            near = (cam[step:] == cam[:-step]) & (t[step:] - t[:-step] <= BURST_WINDOW_S)
            if not near.any():
                break
            k = np.nonzero(near)[0]
            cand.append(np.stack([idx[k], idx[k + step]], axis=1))
        if not cand:
            return []
        pairs = np.concatenate(cand)
        cos = np.einsum("ij,ij->i", matrix[pairs[:, 0]], matrix[pairs[:, 1]])
        pairs = pairs[cos >= threshold]
        need = {int(vec_ids[i]) for i in np.unique(pairs)} - set(fps)
        if need:
            fps.update(
                fingerprints.ensure(
                    self.catalog,
                    {pid: (photos[pid]["path"], photos[pid]["content_hash"]) for pid in need},
                )
            )
        sets = _Sets(len(vec_ids))
        for a, b in pairs:
            fa, fb = fps.get(int(vec_ids[a])), fps.get(int(vec_ids[b]))
            if fa and fb and int(hamming(np.array([fa.phash]), np.array([fb.phash]))[0]) <= BURST_BITS:
                sets.union(int(a), int(b))
        return [
            self._group("bursts", [int(vec_ids[i]) for i in g], photos, fps)
            for g in sets.groups()
        ]

    # -- groups ----------------------------------------------------------------------------
    def _group(self, kind: str, ids: list[int], photos, fps=None) -> Group:
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
        rows = self.catalog.query(
            f"SELECT photo_id, COUNT(*) FROM manual_tags WHERE state = 'on' "
            f"AND photo_id IN ({','.join('?' * len(ids))}) GROUP BY photo_id",
            ids,
        )
        return {r[0]: r[1] for r in rows}
