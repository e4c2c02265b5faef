"""Search latency at 10k, 100k and 1M photos: a real catalog holding synthetic vectors.

End to end = ``Library.search`` for a text query: encode the text with ViT-B-32's text
tower, search the index, fetch the rows. Vectors are CLIP-like (a shared direction, one
of 5,000 topics, per-photo detail: cosine ~0.3 between random pairs, as real CLIP image
embeddings), because uniformly random vectors have no neighbours worth finding. The
baseline in the same run is exact search (``IndexFlatIP``) on the same vectors; IVF's
recall@10 is measured against it.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.benchmarks.workload import insert_synthetic_photos, vit_b32_folder

QUERIES = [
    "dog in the snow",
    "a red car",
    "sunset over the sea",
    "birthday cake",
    "a receipt",
    "mountains",
    "a cat on a sofa",
    "people at the beach",
    "a screenshot",
    "flowers",
    "night city lights",
    "a plate of food",
    "a bicycle",
    "children playing",
    "a bridge",
    "a forest path",
    "a boat on a lake",
    "a concert",
    "a wedding",
    "an old house",
]


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def clip_like_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cone = _unit(rng.normal(size=dim))
    topics = _unit(rng.normal(size=(5000, dim)))
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        detail = _unit(rng.normal(size=(m, dim)))
        out[start : start + m] = _unit(0.8 * cone + topics[rng.integers(0, 5000, m)] + 0.9 * detail)
    return out


def _fill_catalog(lib, vectors: np.ndarray, model_id: str) -> None:
    from photosort.core.catalog import now_iso
    from photosort.core.vector_codec import encode_many

    stamp = now_iso()
    root_id = lib.catalog.add_root("/bench/photos")
    with lib.catalog.transaction() as conn:
        for start in range(0, len(vectors), 50_000):
            chunk = range(start, min(start + 50_000, len(vectors)))
            blobs = encode_many(vectors[chunk.start : chunk.stop])
            insert_synthetic_photos(conn, root_id, chunk, model_id, blobs, stamp)
        lib.catalog.bump_vectors_version(conn)


def _percentiles(samples: list[float]) -> dict:
    ms = np.array(samples) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95))}


def run_size(n: int, embedder_lib_factory) -> dict:
    import faiss

    from photosort.core.search import SearchQuery

    with tempfile.TemporaryDirectory() as tmp:
        lib = embedder_lib_factory(Path(tmp) / "lib")
        embedder = lib.embedder
        vectors = clip_like_vectors(n, embedder.dim)
        started = time.perf_counter()
        _fill_catalog(lib, vectors, embedder.model_id)
        fill_s = time.perf_counter() - started
        started = time.perf_counter()
        index = lib.index
        build_s = time.perf_counter() - started

        for q in QUERIES[:3]:
            lib.search(SearchQuery(text=q, top=20))  # warm-up
        end_to_end = []
        for q in QUERIES:
            t = time.perf_counter()
            results = lib.search(SearchQuery(text=f"{q} photo", top=20))
            end_to_end.append(time.perf_counter() - t)
            assert len(results) == 20

        rng = np.random.default_rng(1)
        probes = _unit(
            vectors[rng.choice(n, 100)] + 0.5 * _unit(rng.normal(size=(100, embedder.dim)))
        )
        probes = probes.astype(np.float32)
        alone, recalls = [], []
        exact = faiss.IndexFlatIP(embedder.dim)
        exact.add(vectors)
        exact_times = []
        for q in probes:
            t = time.perf_counter()
            ids, _ = index.search(q, 10)
            alone.append(time.perf_counter() - t)
            t = time.perf_counter()
            _, truth = exact.search(q[None, :], 10)
            exact_times.append(time.perf_counter() - t)
            recalls.append(len(set(ids.tolist()) & set((truth[0] + 1).tolist())) / 10)
        lib.close()
    return {
        "photos": n,
        "index_kind": index.kind,
        "catalog_fill_s": fill_s,
        "index_build_s": build_s,
        "end_to_end": _percentiles(end_to_end),
        "vector_search": _percentiles(alone),
        "exact_baseline_vector_search": _percentiles(exact_times),
        "recall_at_10": float(np.mean(recalls)),
    }


def run(quick: bool = False) -> dict:
    from photosort.core.library import Library

    model = f"local-dir:{vit_b32_folder()}"

    def factory(folder: Path):
        return Library(folder, model=model, device="cpu")

    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    out = {"sizes": [run_size(n, factory) for n in sizes]}
    by_n = {s["photos"]: s for s in out["sizes"]}
    checks = [by_n[100_000]["end_to_end"]["p50_ms"] <= 100]
    if 1_000_000 in by_n:
        big = by_n[1_000_000]
        checks += [
            big["end_to_end"]["p50_ms"] <= 300,
            big["vector_search"]["p50_ms"] <= 50,
            big["recall_at_10"] >= 0.95,
        ]
    out["pass"] = all(checks)
    return out


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
