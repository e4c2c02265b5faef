"""Model throughput alone, per precision photosort supports on the CPU, with fidelity to fp32.

A faster precision may be the default only where the CPU has it natively and its
embeddings keep cosine >= 0.99 to fp32 (``embedder.resolve_precision`` encodes the rule;
this benchmark checks the cosine on real decoded photos).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from tests.benchmarks.workload import twelve_mp_jpegs, vit_b32_folder

BATCH = 32


def run(quick: bool = False) -> dict:
    import torch

    from photosort.core.embedder import Embedder, ModelSpec, cpu_has_fast_bf16, resolve_precision
    from photosort.core.imaging import decode_photo

    spec = ModelSpec.parse(f"local-dir:{vit_b32_folder()}")
    photos = sorted(twelve_mp_jpegs(64 if quick else 200).glob("*.jpg"))[:BATCH]
    reference = None
    out: dict = {
        "default_precision": resolve_precision("auto", "cpu"),
        "cpu_native_bf16": cpu_has_fast_bf16(),
        "precisions": {},
    }
    for precision in ("fp32", "bf16"):
        embedder = Embedder(spec, "cpu", precision=precision)
        batch = torch.stack(
            [embedder.preprocess(decode_photo(p, embedder.image_size).image) for p in photos]
        )
        vectors = embedder.encode_images(batch)  # warm-up, and the fidelity sample
        rounds = 2 if quick else 4
        started = time.perf_counter()
        for _ in range(rounds):
            embedder.encode_images(batch)
        rate = rounds * BATCH / (time.perf_counter() - started)
        if reference is None:
            reference = vectors
        cosine = float(np.min(np.sum(vectors * reference, axis=1)))
        out["precisions"][precision] = {"images_per_s": rate, "min_cosine_to_fp32": cosine}
    fp32 = out["precisions"]["fp32"]["images_per_s"]
    for entry in out["precisions"].values():
        entry["speedup_vs_fp32"] = entry["images_per_s"] / fp32
    chosen = out["precisions"][out["default_precision"]]
    out["pass"] = chosen["min_cosine_to_fp32"] >= 0.99
    return out


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
