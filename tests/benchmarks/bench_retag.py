"""Re-tag speed at library scale: 100k synthetic 512-d vectors x 20 labels.

    python benchmarks/retag.py [--photos 100000] [--dim 512]

Builds a throw-away library with random unit vectors and cached prompt vectors (so no
model is loaded: re-tagging never needs one when prompts are unchanged), then times a
first full auto-tag, a no-op re-tag, and category edits as the editor makes them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photosort.core import tagging  # noqa: E402
from photosort.core.catalog import now_iso  # noqa: E402
from photosort.core.library import Library  # noqa: E402


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
                [(i + 1, f"/bench/{i:06d}.jpg", stamp, stamp)
                 for i in range(start, start + count)],
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


def timed(label: str, fn):
    t0 = time.perf_counter()
    result = fn()
    dt = time.perf_counter() - t0
    extra = f"  ({result.line()})" if hasattr(result, "line") else ""
    print(f"{label:<44} {dt * 1000:8.0f} ms{extra}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=512)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        lib = build(Path(tmp), args.photos, args.dim)
        labels = sum(len(c.labels) for c in lib.categories())
        print(f"built {args.photos} photos x {args.dim}-d, {labels} labels "
              f"in {time.perf_counter() - t0:.1f}s")
        timed("load vectors into the cache (once)", lib._vector_matrix)
        timed("first auto-tag, all categories", lib.autotag)
        timed("re-tag all, nothing changed", lib.autotag)
        cats = {c.name: c for c in lib.categories()}
        time_of_day = cats["Time of day"]
        time_of_day.threshold = 0.7
        timed("edit 'Time of day' threshold (save+re-tag)", lambda: lib.save_category(time_of_day))
        time_of_day.labels[2].prompts.append("a photo taken at golden hour")
        timed("edit a 'dusk' prompt (save+re-tag)", lambda: lib.save_category(time_of_day))
        things = cats["Things"]
        things.threshold = 0.6
        timed("edit 'Things' threshold (save+re-tag)", lambda: lib.save_category(things))
        timed("re-tag all after edits", lib.autotag)
        timed("preview one label (editor)", lambda: lib.preview_label(things, "dog"))
        timed("tag counts", lib.tag_counts)
        assert lib._embedder is None, "re-tagging loaded the model"
        lib.close()


if __name__ == "__main__":
    main()
