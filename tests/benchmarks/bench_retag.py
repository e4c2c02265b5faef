"""Re-tag speed at library scale: 100k synthetic 512-d vectors x 20 labels.

    python3 -m tests.benchmarks --only retag     (or: python3 -m tests.benchmarks.bench_retag)

Builds a throw-away library with random unit vectors and cached prompt vectors (so no
model is loaded: re-tagging never needs one when prompts are unchanged), then times a
first full auto-tag, a no-op re-tag, and category edits as the editor makes them.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from photosort.core import tagging
from photosort.core.catalog import now_iso
from photosort.core.library import Library


def build(folder: Path, n: int, dim: int) -> Library:
    spec = f"local-dir:{folder / 'no-model-needed'}"
    lib = Library(folder / "lib", model=spec, device="cpu")
    model_id = "bench:random"
    rng = np.random.default_rng(0)
    stamp = now_iso()
    with lib.catalog.transaction() as conn:
        lib.catalog.set_meta("model", str(lib.model_spec), conn)
        lib.catalog.set_meta("model_id", model_id, conn)
        lib.catalog.set_meta("model_dim", str(dim), conn)
        lib.catalog.set_meta(f"logit_scale:{model_id}", "100.0", conn)
        conn.execute("INSERT INTO roots (id, path, added_at) VALUES (1, '/bench', ?)", (stamp,))
        for start in range(0, n, 10_000):
            count = min(10_000, n - start)
            vecs = rng.normal(size=(count, dim)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            conn.executemany(
                "INSERT INTO photos (id, root_id, path, folder, size, mtime_ns, status, "
                "added_at, updated_at) VALUES (?, 1, ?, '/bench', 1, 1, 'ok', ?, ?)",
                [(i + 1, f"/bench/{i:06d}.jpg", stamp, stamp) for i in range(start, start + count)],
            )
            conn.executemany(
                "INSERT INTO embeddings (photo_id, model, vector) VALUES (?, ?, ?)",
                [(start + k + 1, model_id, v.tobytes()) for k, v in enumerate(vecs)],
            )
        lib.catalog.bump_vectors_version(conn)
    # prompt vectors: a shared "photo" direction plus a per-prompt one, like real CLIP text
    cats = lib.categories()
    prompts = tagging.Tagger.prompts_needed(cats) + ["a photo taken at golden hour"]
    base = rng.normal(size=dim)
    texts = base + 0.8 * rng.normal(size=(len(prompts), dim))
    texts = (texts / np.linalg.norm(texts, axis=1, keepdims=True)).astype(np.float32)
    with lib.catalog.transaction() as conn:
        conn.executemany(
            "INSERT INTO text_vectors (model, prompt, vector) VALUES (?, ?, ?)",
            [(model_id, p, v.tobytes()) for p, v in zip(prompts, texts, strict=True)],
        )
    return lib


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def run(quick: bool = False, photos: int = 100_000, dim: int = 512) -> dict:
    """Re-tag times at 100k photos; the floor in the same run is the bare matrix product."""
    out: dict = {"photos": photos, "dim": dim}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        lib = build(Path(tmp), photos, dim)
        out["labels"] = sum(len(c.labels) for c in lib.categories())
        out["build_s"] = time.perf_counter() - t0
        steps = out["steps_ms"] = {}
        steps["load vectors into the cache (once)"], _ = timed(lib._vector_matrix)
        steps["first auto-tag, all categories"], _ = timed(lib.autotag)
        steps["re-tag all, nothing changed"], _ = timed(lib.autotag)
        cats = {c.name: c for c in lib.categories()}
        time_of_day = cats["Time of day"]
        time_of_day.threshold = 0.7
        steps["edit a threshold (save + re-tag)"], _ = timed(lambda: lib.save_category(time_of_day))
        time_of_day.labels[2].prompts.append("a photo taken at golden hour")
        steps["edit a prompt (save + re-tag)"], _ = timed(lambda: lib.save_category(time_of_day))
        steps["re-tag all after edits"], _ = timed(lib.autotag)
        things = cats["Things"]
        steps["preview one label (editor)"], _ = timed(lambda: lib.preview_label(things, "dog"))
        steps["tag counts"], _ = timed(lib.tag_counts)
        assert lib._embedder is None, "re-tagging loaded the model"
        _, matrix = lib._vector_matrix()
        labels = np.random.default_rng(1).normal(size=(out["labels"], dim)).astype(np.float32)
        floor, _ = timed(lambda: matrix @ labels.T)
        lib.close()
    for key in steps:
        steps[key] = round(steps[key] * 1000, 1)
    out["matmul_floor_ms"] = round(floor * 1000, 1)
    worst = max(steps["re-tag all after edits"], steps["edit a prompt (save + re-tag)"])
    out["retag_ms"] = worst
    out["ratio_to_matmul_floor"] = worst / max(out["matmul_floor_ms"], 1e-3)
    out["target_ms"] = 1000
    out["pass"] = worst <= 1000
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=512)
    args = ap.parse_args()
    print(json.dumps(run(photos=args.photos, dim=args.dim), indent=2))
