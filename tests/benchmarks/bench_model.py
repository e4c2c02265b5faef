"""Model throughput alone: each precision and engine photosort can run the image tower with
on this CPU, with fidelity to torch fp32 (the baseline, measured in the same run).

A faster precision may be the default only where the CPU has it natively and its
embeddings keep cosine >= 0.99 to fp32 (``embedder.resolve_precision`` encodes the rule).
An engine other than torch (``core/image_engine.py``) must keep cosine >= 0.999; on a CPU
without native bf16 the default engine, ONNX Runtime fp32, is the one to beat torch fp32
(target 1.85x, issue 13). Rounds are interleaved so every engine sees the same load.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from tests.benchmarks.workload import CACHE, twelve_mp_jpegs, vit_b32_folder

BATCH = 32


def _rate(embedder, batch, rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        embedder.encode_images(batch)
    return rounds * BATCH / (time.perf_counter() - started)


def run(quick: bool = False) -> dict:
    import importlib.util

    import torch

    from photosort.core import image_engine
    from photosort.core.embedder import Embedder, ModelSpec, cpu_has_fast_bf16, resolve_precision
    from photosort.core.imaging import decode_photo

    os.environ.setdefault("PHOTOSORT_MODEL_CACHE", str(CACHE / "model-cache"))
    spec = ModelSpec.parse(f"local-dir:{vit_b32_folder()}")
    photos = sorted(twelve_mp_jpegs(64 if quick else 200).glob("*.jpg"))[:BATCH]
    default_precision = resolve_precision("auto", "cpu")
    out: dict = {
        "default_precision": default_precision,
        "default_engine": image_engine.choose("cpu", default_precision),
        "cpu_native_bf16": cpu_has_fast_bf16(),
        "cpu_threads": torch.get_num_threads(),
        "precisions": {},
    }
    runs: dict[str, tuple] = {}  # name -> (embedder, precision, engine)
    # emulated bf16 (no AVX512-BF16/AMX) is many times slower than fp32 and never chosen
    for precision in ("fp32", "bf16") if cpu_has_fast_bf16() else ("fp32",):
        runs[precision] = (Embedder(spec, "cpu", precision=precision), precision, "torch")
    fp32 = runs["fp32"][0]
    batch = torch.stack([fp32.preprocess(decode_photo(p, fp32.image_size).image) for p in photos])
    engines = ["onnx"] + (["openvino"] if importlib.util.find_spec("openvino") else [])
    for engine in engines:
        embedder = Embedder(spec, "cpu", precision="fp32")
        t0 = time.perf_counter()
        used = embedder.use_image_engine(engine)  # the first time: export + check
        out[f"{engine}_first_use_s"] = round(time.perf_counter() - t0, 1)
        if used == engine:
            runs[f"{engine}-fp32"] = (embedder, "fp32", engine)
    reference = fp32.encode_images(batch)
    rates: dict[str, list[float]] = {name: [] for name in runs}
    cosines = {}
    for name, (embedder, _, _) in runs.items():
        vectors = embedder.encode_images(batch)  # warm-up, and the fidelity sample
        cosines[name] = float(np.min(np.sum(vectors * reference, axis=1)))
    for _ in range(2 if quick else 4):  # interleaved rounds: the machine is shared
        for name, (embedder, _, _) in runs.items():
            rates[name].append(_rate(embedder, batch, 1 if quick else 2))
    for name, (_, precision, engine) in runs.items():
        out["precisions"][name] = {
            "engine": engine,
            "precision": precision,
            "images_per_s": max(rates[name]),
            "min_cosine_to_fp32": cosines[name],
        }
    base = out["precisions"]["fp32"]["images_per_s"]
    for entry in out["precisions"].values():
        entry["speedup_vs_torch_fp32"] = round(entry["images_per_s"] / base, 2)
    default = "fp32" if default_precision == "fp32" else default_precision
    if out["default_engine"] != "torch" and f"{out['default_engine']}-fp32" in runs:
        default = f"{out['default_engine']}-fp32"
    out["default"] = default
    chosen = out["precisions"][default]
    out["pass"] = chosen["min_cosine_to_fp32"] >= (0.99 if chosen["engine"] == "torch" else 0.999)
    return out


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
