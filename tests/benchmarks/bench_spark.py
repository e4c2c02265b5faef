"""Indexing on Spark ``local[2]`` vs ``photosort scan`` on the same photos, and import speed.

Baseline (same run, same photos, same model): ``Library.scan`` with the model loaded
before the clock starts. Spark: ``index_photos`` on ``local[2]`` after a warm-up job on
other photos, so the Python workers hold the model (as they do on a cluster after the
first task); the session's own start-up is reported apart. The import rates are
``bench_spark_import``'s.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.workload import twelve_mp_jpegs, vit_b32_folder


def _scan(folder: Path, model: str) -> dict:
    from photosort.core.library import Library

    with tempfile.TemporaryDirectory() as tmp:
        lib = Library(Path(tmp) / "lib", model=model, device="cpu")
        lib.embedder  # noqa: B018  (load outside the timed part)
        started = time.perf_counter()
        summary = lib.scan([folder])
        elapsed = time.perf_counter() - started
        lib.close()
    return {
        "photos": summary.embedded,
        "seconds": elapsed,
        "photos_per_s": summary.embedded / elapsed,
    }


def _spark(folder: Path, warm: Path, model: str) -> dict:
    from photosort.spark import index_photos
    from photosort.spark.__main__ import session

    started = time.perf_counter()
    spark = session("local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - started
    try:
        with tempfile.TemporaryDirectory() as tmp:
            index_photos(spark, [str(warm)], f"{tmp}/warm", model=model, device="cpu")
            started = time.perf_counter()
            summary = index_photos(spark, [str(folder)], f"{tmp}/out", model=model, device="cpu")
            elapsed = time.perf_counter() - started
    finally:
        spark.stop()
    return {
        "photos": summary.indexed,
        "seconds": elapsed,
        "photos_per_s": summary.indexed / elapsed,
        "session_start_s": startup,
    }


def indexing_rates(quick: bool = False) -> dict:
    """Spark ``local[2]`` vs ``photosort scan`` on the same photos, in this run."""
    count = 48 if quick else 200
    size = (2000, 1500) if quick else (4000, 3000)
    folder = twelve_mp_jpegs(count, size)
    warm = twelve_mp_jpegs(4, size)
    model = f"local-dir:{vit_b32_folder()}"
    scan = _scan(folder, model)
    spark = _spark(folder, warm, model)
    return {
        "photos": count,
        "photo_size": list(size),
        "baseline_scan": scan,
        "spark_local2": spark,
        "spark_vs_scan": spark["photos_per_s"] / scan["photos_per_s"],
        "targets": {"spark_vs_scan": 0.8},
    }


def run(quick: bool = False) -> dict:
    """Indexing and import (``bench_spark_import`` measures both; kept under this name
    for ``--only spark``)."""
    from tests.benchmarks.bench_spark_import import run as run_both

    return run_both(quick)


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2, default=float))
