"""Memory stays flat while indexing (issue 13): peak RSS of a fresh ``photosort scan`` of
N small photos against the same scan of N/10, in the same run.

Whatever grows with the number of photos (a list of every job, every vector kept until
the end, the walk held whole) shows here; the model and the decode look-ahead do not. The
photos are small and the model is the repo's tiny CLIP so that 10k (quick) or 100k photos
index in minutes; the pipeline, catalog and index are those of any model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.workload import small_jpegs

REPO = Path(__file__).resolve().parents[2]
#: torch-free scans (ONNX Runtime, fp32) unless asked otherwise: on a CPU with native bf16 the
#: default engine is torch, whose ~700 MB would hide what grows with the photo count.
ENGINE = {"PHOTOSORT_IMAGE_ENGINE": "onnx", "PHOTOSORT_PRECISION": "fp32"}
TINY = REPO / "tests" / "fixtures" / "tiny_clip"
RUNNER = (
    "import sys\n"
    "from photosort.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "peak = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]\n"
    "print('PEAK_KB', peak, file=sys.stderr)\n"
    "sys.exit(rc)\n"
)


def _scan(folder: Path, library: Path) -> dict:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", RUNNER, "scan", str(folder), "--library", str(library)]
        + ["--model", f"local-dir:{TINY}", "--device", "cpu", "--json"],
        capture_output=True,
        text=True,
        env={**ENGINE, **os.environ, "PYTHONPATH": str(REPO), "PHOTOSORT_OCR": "off"},
        timeout=3600,
    )
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"scan failed: {out.stderr[-500:]}")
    peak = next(int(x.split()[1]) for x in out.stderr.splitlines() if x.startswith("PEAK_KB"))
    return {"seconds": round(wall, 1), "peak_rss_mb": round(peak / 1024, 1)}


def run(quick: bool = False) -> dict:
    small_n, big_n = (1_000, 10_000) if quick else (10_000, 100_000)
    out: dict = {"model": "tiny CLIP (tests/fixtures/tiny_clip)"}
    with tempfile.TemporaryDirectory(prefix="photosort-bench-rss-") as tmp:
        os.environ.setdefault("PHOTOSORT_MODEL_CACHE", str(Path(tmp) / "models"))
        for n in (small_n, small_n, big_n):  # the first small scan also makes the exports
            folder = small_jpegs(n)
            out[f"{n}_photos"] = _scan(folder, Path(tmp) / f"lib-{n}-{time.time_ns()}")
            print(json.dumps({n: out[f"{n}_photos"]}), file=sys.stderr, flush=True)
    ratio = out[f"{big_n}_photos"]["peak_rss_mb"] / out[f"{small_n}_photos"]["peak_rss_mb"]
    out["rss_ratio"] = round(ratio, 3)
    out["target_ratio"] = 1.10
    out["pass"] = ratio <= 1.10
    return out


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
