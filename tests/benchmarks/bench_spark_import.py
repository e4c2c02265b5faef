"""Spark indexing and ``photosort import``: rates against baselines measured in the same run.

* **Indexing**: ``index_photos`` on Spark ``local[2]`` vs ``photosort scan`` of the same
  photos with the same model (``bench_spark``'s measurement: model loaded before the
  clock, Spark's Python workers warmed on other photos, the session's start reported
  apart).
* **Import**: a Parquet dataset of ``rows`` 512-d vectors naming real one-byte files,
  written as a Spark job writes it (many small files), merged into a fresh library by
  today's merge and by the merge before batching (``archive_import_v1``), each in its
  own process: wall and CPU seconds until the library can search (the merge, then
  opening the library again: v1 leaves an exact index that past 200k photos is rebuilt
  as IVF there), the merge alone, vectors per CPU second, peak RSS. The merge is
  ``Library.import_archive`` with the steps a scan also runs afterwards (sun, auto tags,
  keywords) left out; ``command`` is the whole ``photosort import`` with them, at sizes
  where that is quick. ``quick``: 20k rows (and indexing 48 photos of 2000×1500); else
  1M rows (200 photos of 12 MP).

``python3 -m tests.benchmarks.bench_spark_import [--quick] [--import-only] [--rows N]``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

MODEL = "ViT-B-32:laion2b_s34b_b79k"  # a hub name: its id is known without any weights
FILE_ROWS = 2000  # rows per Parquet file, as the job's tasks write them
DIM = 512

_CHILD = """
import json, resource, sys, time
from photosort.core import archive_import as archives
from photosort.core.library import Library

variant, library, dataset, model = sys.argv[1:5]
if variant == "v1":
    from tests.benchmarks import archive_import_v1 as v1

    def old_merge(catalog, index, data, model_id, mapping, root_for, *rest, newest=None):
        return v1.import_dataset(catalog, index, data, model_id, mapping, root_for, *rest)

    archives.import_dataset = old_merge
    archives.newest_rows = lambda data: archives.Newest(0, {})  # v1 finds its own
    archives.index_at_end = lambda rows, existing: False  # v1 adds to the index per batch
quiet = lambda *a, **k: None
Library.update_sun = quiet  # what a scan does after embedding: not the merge
Library.autotag = quiet
Library.import_keywords = lambda *a, **k: type("R", (), {"warnings": []})()
lib = Library(library, model=model, device="cpu")
started, cpu = time.perf_counter(), time.process_time()
summary = lib.import_archive(dataset)
merged = time.perf_counter() - started, time.process_time() - cpu
lib.close()
lib = Library(library, model=model, device="cpu")
lib.index  # what the next search opens: v1's exact index past 200k is rebuilt as IVF here
wall, cpu = time.perf_counter() - started, time.process_time() - cpu
lib.close()
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"imported": summary.imported, "wall_s": wall, "cpu_s": cpu,
                  "merge_wall_s": merged[0], "merge_cpu_s": merged[1],
                  "peak_rss_mb": peak_kb / 1024}))
"""


def make_dataset(folder: Path, rows: int, dim: int = DIM) -> str:
    """``rows`` one-byte files and their Parquet index (random unit vectors)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from photosort.core.archive_import import COLUMNS

    photos = folder / "photos"
    out = folder / "index"
    out.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for start in range(0, rows, FILE_ROWS):
        n = min(FILE_ROWS, rows - start)
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
            model=pa.array([MODEL] * n),
            vector=pa.FixedSizeListArray.from_arrays(vecs.ravel(), dim).cast(
                pa.list_(pa.float32())
            ),
            indexed_at=pa.array(["2026-01-01T00:00:00+00:00"] * n),
        )
        pq.write_table(pa.table(cols), out / f"part-{start // FILE_ROWS:05d}.parquet")
    return str(out)


def _env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PHOTOSORT_DEVICE": "cpu", "PYTHONPATH": path}


def merge(variant: str, dataset: str, library: str) -> dict:
    """One merge (``new`` or ``v1``) into a fresh library, in its own process."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, variant, library, dataset, MODEL],
        capture_output=True,
        text=True,
        env=_env(),
    )
    if proc.returncode:
        raise RuntimeError(f"{variant} merge failed: {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["vectors_per_s"] = result["imported"] / result["wall_s"]
    result["vectors_per_cpu_s"] = result["imported"] / result["cpu_s"]
    return result


def command(dataset: str, library: str) -> dict:
    """The whole ``photosort import`` (sun, auto tags, keywords included), wall and peak."""
    code = (
        "import json, resource, sys, time\n"
        "from photosort.cli import main\n"
        "t = time.perf_counter()\n"
        "rc = main(sys.argv[1:])\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print('RESULT', json.dumps({'wall_s': time.perf_counter() - t, 'peak_rss_mb': peak}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "--library", library, "--model", MODEL, "import", dataset]
        + ["--json"],
        capture_output=True,
        text=True,
        env=_env(),
    )
    if proc.returncode:
        raise RuntimeError(f"photosort import failed: {proc.stderr[-2000:]}")
    head, tail = proc.stdout.rsplit("RESULT", 1)
    result = json.loads(tail)
    result["imported"] = json.loads(head)["imported"]
    return result


def import_rates(rows: int, with_command: bool = True) -> dict:
    """Today's merge vs the merge before batching on the same ``rows``-row dataset."""
    with tempfile.TemporaryDirectory() as tmp:
        dataset = make_dataset(Path(tmp), rows)
        old = merge("v1", dataset, f"{tmp}/lib-v1")
        new = merge("new", dataset, f"{tmp}/lib-new")
        result = {
            "rows": rows,
            "files": -(-rows // FILE_ROWS),
            "baseline_v1": old,
            "merge": new,
            "cpu_speedup": old["cpu_s"] / new["cpu_s"],
            "wall_speedup": old["wall_s"] / new["wall_s"],
        }
        if with_command:
            result["command"] = command(dataset, f"{tmp}/lib-cmd")
    return result


def run(quick: bool = False, import_only: bool = False, rows: int | None = None) -> dict:
    rows = rows or (20_000 if quick else 1_000_000)
    result: dict = {"cpu_threads": os.cpu_count()}
    if not import_only:
        from tests.benchmarks.bench_spark import indexing_rates

        result.update(indexing_rates(quick))
    result["import"] = imported = import_rates(rows, with_command=rows <= 100_000)
    ok = imported["merge"]["imported"] == rows == imported["baseline_v1"]["imported"]
    result["pass"] = bool(ok and result.get("spark_vs_scan", 1.0) >= 0.8)
    return result


if __name__ == "__main__":
    args = sys.argv[1:]
    n = int(args[args.index("--rows") + 1]) if "--rows" in args else None
    report = run("--quick" in args, "--import-only" in args, n)
    print(json.dumps(report, indent=2, default=float))
