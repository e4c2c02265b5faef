"""Indexing on Spark ``local[2]`` vs ``photosort scan`` on the same photos, and import speed.

Baseline (same run, same photos, same model): ``Library.scan`` with the model loaded
before the clock starts. Spark: ``index_photos`` on ``local[2]`` after a warm-up job on
other photos, so the Python workers hold the model (as they do on a cluster after the
first task); the session's own start-up is reported apart. Import: a Parquet dataset of
``rows`` 512-d vectors naming real (tiny) files, through ``photosort import`` in its own
process (vectors/s and peak RSS); ``quick`` imports fewer rows than the 1M of the target.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

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


def _dataset(folder: Path, rows: int, dim: int = 512) -> tuple[str, str]:
    """``rows`` one-byte files and a Parquet index of them (random unit vectors)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from photosort.core.archive_import import COLUMNS

    photos = folder / "photos"
    out = folder / "index"
    out.mkdir(parents=True)
    rng = np.random.default_rng(0)
    chunk = 50_000
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        paths, mtimes = [], []
        for i in range(start, start + n):
            path = photos / f"{i // 1000:04d}" / f"IMG_{i:07d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
            paths.append(str(path))
            mtimes.append(path.stat().st_mtime_ns)
        vecs = rng.standard_normal((n, dim), dtype=np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        cols = {name: pa.nulls(n, pa.string()) for name in COLUMNS}
        cols.update(
            path=pa.array(paths),
            root=pa.array([str(photos)] * n),
            size=pa.array([1] * n, pa.int64()),
            mtime_ns=pa.array(mtimes, pa.int64()),
            content_hash=pa.array([f"{i:032x}" for i in range(start, start + n)]),
            width=pa.nulls(n, pa.int32()),
            height=pa.nulls(n, pa.int32()),
            gps_lat=pa.nulls(n, pa.float64()),
            gps_lon=pa.nulls(n, pa.float64()),
            phash=pa.nulls(n, pa.int64()),
            sharpness=pa.nulls(n, pa.float64()),
            sharp_side=pa.nulls(n, pa.int32()),
            colour=pa.nulls(n, pa.float64()),
            model=pa.array(["ViT-B-32:laion2b_s34b_b79k"] * n),
            vector=pa.FixedSizeListArray.from_arrays(vecs.ravel(), dim).cast(
                pa.list_(pa.float32())
            ),
            indexed_at=pa.array(["2026-01-01T00:00:00+00:00"] * n),
        )
        pq.write_table(pa.table(cols), out / f"part-{start // chunk:05d}.parquet")
    return str(out), str(photos)


def _import(rows: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out, _ = _dataset(Path(tmp), rows)
        code = (
            "import sys, json, time\n"
            "from photosort.cli import main\n"
            "t = time.perf_counter()\n"
            "rc = main(sys.argv[1:])\n"
            "status = open('/proc/self/status').read()\n"
            "print('RSS', status.split('VmHWM:')[1].split()[0], time.perf_counter() - t)\n"
        )
        # the dataset's model is a hub name: its id is known without loading any weights
        proc = subprocess.run(
            [sys.executable, "-c", code, "--library", f"{tmp}/lib", "import", out, "--json"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PHOTOSORT_DEVICE": "cpu"},
        )
        head, tail = proc.stdout.rsplit("RSS", 1)
        kb, seconds = tail.split()
        summary = json.loads(head)
    return {
        "rows": rows,
        "imported": summary["imported"],
        "seconds": float(seconds),
        "vectors_per_s": summary["imported"] / float(seconds),
        "peak_rss_mb": int(kb) / 1024,
    }


def run(quick: bool = False) -> dict:
    count = 48 if quick else 200
    size = (2000, 1500) if quick else (4000, 3000)
    folder = twelve_mp_jpegs(count, size)
    warm = twelve_mp_jpegs(4, size)
    model = f"local-dir:{vit_b32_folder()}"
    scan = _scan(folder, model)
    spark = _spark(folder, warm, model)
    imported = _import(20_000 if quick else 1_000_000)
    ratio = spark["photos_per_s"] / scan["photos_per_s"]
    result = {
        "photos": count,
        "photo_size": list(size),
        "cpu_threads": os.cpu_count(),
        "baseline_scan": scan,
        "spark_local2": spark,
        "spark_vs_scan": ratio,
        "import": imported,
        "targets": {"spark_vs_scan": 0.8},
    }
    result["pass"] = bool(ratio >= 0.8 and imported["imported"] == imported["rows"])
    return result


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2, default=float))
