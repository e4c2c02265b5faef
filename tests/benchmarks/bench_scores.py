"""Scores export at library scale: rows/s and peak memory, streaming against holding all.

    python3 -m tests.benchmarks --only scores      (or: python3 -m tests.benchmarks.bench_scores)

Builds a throw-away library of random unit vectors (1M x 512-d; 100k in --quick) with the
default categories' prompt vectors cached (about 20 labels, no model loaded), then in
separate processes (so each peak RSS is its own):

* ``photosort scores`` to a CSV and to Parquet: streamed, chunk by chunk;
* the baseline, the obvious way: load every vector into one matrix, score it at once and
  write a pandas DataFrame (``to_csv``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from tests.benchmarks.bench_retag import build

STREAMED = """
import json, resource, sys, time
from photosort.core.library import Library
lib = Library(sys.argv[1], model=sys.argv[2], device="cpu")
t0 = time.perf_counter()
summary = lib.export_scores(sys.argv[3], sys.argv[4])
seconds = time.perf_counter() - t0
print(json.dumps({"rows": summary.photos, "labels": summary.labels, "seconds": seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "model_loaded": lib._embedder is not None}))
"""

HOLD_ALL = """
import json, resource, sys, time
import pandas as pd
from photosort.core import tagging
from photosort.core.library import Library
lib = Library(sys.argv[1], model=sys.argv[2], device="cpu")
t0 = time.perf_counter()
cats = lib.categories()
tagger = tagging.Tagger(cats, lib._text_vectors(cats), lib._scoring())
ids, matrix = lib._vector_matrix()
probs = tagger.probabilities(matrix, ids)
names = [lab.name for c in cats for lab in c.labels]
frame = pd.DataFrame({"photo_id": ids})
for block in probs:
    for k in range(block.shape[1]):
        frame[names[len(frame.columns) - 1]] = block[:, k]
frame.to_csv(sys.argv[3], index=False)
seconds = time.perf_counter() - t0
print(json.dumps({"rows": len(ids), "seconds": seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

IDLE = """
import json, resource
from photosort.core.library import Library
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _child(script: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False, photos: int | None = None, dim: int = 512) -> dict:
    photos = photos or (100_000 if quick else 1_000_000)
    out: dict = {"photos": photos, "dim": dim}
    with tempfile.TemporaryDirectory() as tmp:
        lib = build(Path(tmp), photos, dim)
        folder, model = str(lib.folder), str(lib.model_spec)
        lib.close()
        out["idle_process_rss_mb"] = round(_child(IDLE)["peak_rss_mb"])
        for fmt in ("csv", "parquet"):
            target = str(Path(tmp) / f"scores.{fmt}")
            got = _child(STREAMED, folder, model, target, fmt)
            assert got["rows"] == photos and not got["model_loaded"]
            out["labels"] = got["labels"]
            out[f"streamed_{fmt}"] = {
                "rows_per_s": round(got["rows"] / got["seconds"]),
                "seconds": round(got["seconds"], 1),
                "peak_rss_mb": round(got["peak_rss_mb"]),
                "file_mb": round(Path(target).stat().st_size / 1e6),
            }
        base = _child(HOLD_ALL, folder, model, str(Path(tmp) / "baseline.csv"))
        out["baseline_hold_all_pandas_csv"] = {
            "rows_per_s": round(base["rows"] / base["seconds"]),
            "seconds": round(base["seconds"], 1),
            "peak_rss_mb": round(base["peak_rss_mb"]),
        }
    streamed = out["streamed_csv"]["peak_rss_mb"]
    out["rss_ratio_baseline_to_streamed"] = round(
        out["baseline_hold_all_pandas_csv"]["peak_rss_mb"] / max(streamed, 1), 2
    )
    # streaming means the peak stays near an idle process, whatever the library's size
    out["streamed_extra_mb"] = streamed - out["idle_process_rss_mb"]
    out["pass"] = out["streamed_extra_mb"] < 300
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    print(json.dumps(run(args.quick, None if args.quick else args.photos, args.dim), indent=2))
