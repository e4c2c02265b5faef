"""Duplicate grouping at library scale: 100k photos in a real catalog, synthetic vectors.

    python3 -m tests.benchmarks --only duplicates   (or: -m tests.benchmarks.bench_duplicates)

The catalog holds CLIP-like vectors (``bench_search.clip_like_vectors``), perceptual
hashes, capture times and cameras, with planted groups: near-duplicate copies (vector
cosine ~0.97, a few hash bits flipped, same capture time), 3-frame bursts (one camera,
a second apart) and byte-identical copies. Timed: ``Library.find_duplicates`` for all
three kinds from a freshly opened library (vectors read from SQLite included), with the
peak memory it adds. Baseline in the same run: comparing every pair of vectors (blocked
matrix products) on a subset, and the same subset through the clustered search, for
the speed-up and the clustered search's recall of close pairs.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.benchmarks.bench_search import clip_like_vectors

MODEL_ID = "bench:clip-like"


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def _flip(rng, codes: np.ndarray, bits: int) -> np.ndarray:
    out = codes.copy()
    for _ in range(bits):
        out ^= np.int64(1) << rng.integers(0, 63, len(codes)).astype(np.int64)
    return out


def build(folder: Path, n: int, dim: int = 512):
    """A library of ``n`` photos with planted near, burst and exact groups; returns truth."""
    from photosort.core.catalog import now_iso
    from photosort.core.library import Library

    rng = np.random.default_rng(7)
    n_near, n_burst, n_exact = n // 50, n // 100, n // 100
    base = n - n_near - 2 * n_burst  # each burst of 3 adds 2 photos; exact copies share hashes
    vectors = np.empty((n, dim), np.float32)
    vectors[:base] = clip_like_vectors(base, dim, seed=3)
    codes = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64)
    times = rng.integers(1_300_000_000, 1_700_000_000, n).astype(np.int64)
    cameras = rng.integers(0, 20, n)
    hashes = [f"h{i}" for i in range(n)]
    near_src = rng.choice(base, n_near, replace=False)
    k = base
    for src in near_src:  # a copy: close vector, nearly the same hash, same capture time
        vectors[k] = _unit(vectors[src] + 0.08 * _unit(rng.normal(size=dim)))
        codes[k] = _flip(rng, codes[src : src + 1], int(rng.integers(0, 4)))[0]
        times[k], cameras[k] = times[src], cameras[src]
        k += 1
    burst_src = rng.choice(np.setdiff1d(np.arange(base), near_src), n_burst, replace=False)
    for src in burst_src:  # two more frames, 1 and 2 s later
        for step in (1, 2):
            vectors[k] = _unit(vectors[src] + 0.25 * _unit(rng.normal(size=dim)))
            codes[k] = _flip(rng, codes[src : src + 1], 6)[0]
            times[k], cameras[k] = times[src] + step, cameras[src]
            k += 1
    taken = set(near_src.tolist()) | set(burst_src.tolist())
    exact_src = rng.choice(np.setdiff1d(np.arange(base), list(taken)), 2 * n_exact, replace=False)
    for a, b in exact_src.reshape(-1, 2):
        hashes[b] = hashes[a]
    lib = Library(folder / "lib", model=f"local-dir:{folder / 'no-model-needed'}", device="cpu")
    stamp = now_iso()
    with lib.catalog.transaction() as conn:
        lib.catalog.set_meta("model", str(lib.model_spec), conn)
        lib.catalog.set_meta("model_id", MODEL_ID, conn)
        lib.catalog.set_meta("model_dim", str(dim), conn)
        conn.execute("INSERT INTO roots (id, path, added_at) VALUES (1, '/bench', ?)", (stamp,))
        for start in range(0, n, 20_000):
            chunk = range(start, min(n, start + 20_000))
            conn.executemany(
                "INSERT INTO photos (id, root_id, path, folder, size, mtime_ns, content_hash, "
                "status, width, height, taken_at, camera, added_at, updated_at) "
                "VALUES (?, 1, ?, '/bench', 1000, ?, ?, 'ok', 4000, 3000, ?, ?, ?, ?)",
                (
                    (
                        i + 1,
                        f"/bench/IMG_{i:07d}.jpg",
                        i,
                        hashes[i],
                        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(times[i]))),
                        f"Camera {cameras[i]}",
                        stamp,
                        stamp,
                    )
                    for i in chunk
                ),
            )
            conn.executemany(
                "INSERT INTO embeddings (photo_id, model, vector) VALUES (?, ?, ?)",
                ((i + 1, MODEL_ID, vectors[i].tobytes()) for i in chunk),
            )
            conn.executemany(
                "INSERT INTO photo_fingerprints (photo_id, content_hash, phash, sharpness, "
                "sharp_side, colour) VALUES (?, ?, ?, 100.0, 224, 0.3)",
                ((i + 1, hashes[i], int(codes[i])) for i in chunk),
            )
        lib.catalog.bump_vectors_version(conn)
    lib.close()
    truth = {
        "near": {frozenset((int(s) + 1, base + j + 1)) for j, s in enumerate(near_src)},
        "bursts": {
            frozenset((int(s) + 1, base + n_near + 2 * j + 1, base + n_near + 2 * j + 2))
            for j, s in enumerate(burst_src)
        },
        "exact": {frozenset((int(a) + 1, int(b) + 1)) for a, b in exact_src.reshape(-1, 2)},
    }
    return vectors, truth


def _peak_reset() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(quick: bool = False, photos: int | None = None) -> dict:
    from photosort.core import duplicates
    from photosort.core.library import Library

    n = photos or (20_000 if quick else 100_000)
    subset = 5_000 if quick else 20_000
    out: dict = {"photos": n}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        vectors, truth = build(Path(tmp), n)
        out["build_s"] = round(time.perf_counter() - t0, 1)
        lib = Library(Path(tmp) / "lib", device="cpu")
        rss_before = _rss_mb()
        _peak_reset()
        t0, c0 = time.perf_counter(), time.process_time()
        groups = lib.find_duplicates()
        out["group_s"] = round(time.perf_counter() - t0, 2)
        # CPU seconds: on a shared, overloaded machine the wall time mostly measures waiting.
        out["group_cpu_s"] = round(time.process_time() - c0, 2)
        out["load_average"] = os.getloadavg()[0]
        out["peak_added_mb"] = round(_peak_mb() - rss_before, 0)
        lib.close()
        found = {
            k: {frozenset(m.photo_id for m in g.members) for g in groups if g.kind == k}
            for k in duplicates.KINDS
        }
        out["groups"] = {k: len(v) for k, v in found.items()}
        out["recall"] = {k: len(found[k] & truth[k]) / len(truth[k]) for k in truth}
        out["precision"] = {
            k: len(found[k] & truth[k]) / len(found[k]) if found[k] else 1.0 for k in truth
        }
        # Baseline: every pair on a subset vs the clustered search on the same subset.
        planted = sorted({i - 1 for g in truth["near"] | truth["bursts"] for i in g})
        pick = np.unique(np.concatenate([planted[: subset // 2], np.arange(subset)]))[:subset]
        sub = np.ascontiguousarray(vectors[pick])
        t0, c0 = time.perf_counter(), time.process_time()
        limit = duplicates.ALL_PAIRS_LIMIT
        duplicates.ALL_PAIRS_LIMIT = subset + 1
        try:
            every = duplicates.close_pairs(sub, duplicates.BURST_THRESHOLD)
        finally:
            duplicates.ALL_PAIRS_LIMIT = limit
        out["baseline_all_pairs_s"] = round(time.perf_counter() - t0, 2)
        out["baseline_all_pairs_cpu_s"] = round(time.process_time() - c0, 2)
        t0, c0 = time.perf_counter(), time.process_time()
        cells = duplicates.close_pairs(sub, duplicates.BURST_THRESHOLD)
        out["clustered_s"] = round(time.perf_counter() - t0, 2)
        out["clustered_cpu_s"] = round(time.process_time() - c0, 2)
        out["subset"] = subset
        every_set = {tuple(p) for p in every.tolist()}
        out["clustered_recall_of_close_pairs"] = (
            len(every_set & {tuple(p) for p in cells.tolist()}) / len(every_set)
            if every_set
            else 1.0
        )
        out["baseline_all_pairs_cpu_at_n_s_extrapolated"] = round(
            out["baseline_all_pairs_cpu_s"] * (n / subset) ** 2, 0
        )
    out["pass"] = bool(
        min(out["group_s"], out["group_cpu_s"]) <= 30
        and min(out["recall"].values()) >= 0.9
        and min(out["precision"].values()) >= 0.95
    )
    return out


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
