"""Cold starts as a user meets them: a no-change rescan and a text search, each a fresh
``photosort`` process (interpreter start and imports included).

Baselines in the same run: a bare ``os.scandir`` + stat walk of the same tree (the floor of
any rescan), the import + model load the rescan paid before it stopped loading the model
for nothing, and the same cold search with the text tower run by torch/open_clip
(``PHOTOSORT_TEXT_ENGINE=torch``, what every search did before) instead of its ONNX export.
ViT-B-32 at random weights; the catalog holds synthetic CLIP-like vectors.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.benchmarks.bench_search import clip_like_vectors
from tests.benchmarks.workload import vit_b32_folder

REPO = Path(__file__).resolve().parents[2]
# The peak is VmHWM, the high-water mark of this program's own memory: ru_maxrss also
# counts the forked copy of the benchmark process (2 GB with ViT-B-32 loaded) before exec.
RUNNER = (
    "import resource, sys\n"
    "from photosort.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "sys.stdout.flush()\n"
    "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "try:\n"
    "    status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
    "    peak = int(status.split()[0])\n"
    "except (OSError, IndexError):\n"
    "    pass\n"
    "print('PEAK_KB', peak, file=sys.stderr)\n"
    "sys.exit(rc)\n"
)
LOAD_MODEL = (
    "import sys\n"
    "from photosort.core.embedder import Embedder, ModelSpec\n"
    "Embedder(ModelSpec.parse(sys.argv[1]), 'cpu')\n"
)


def _tree(folder: Path, n: int) -> list[Path]:
    """n small files named like photos in 100 folders (a no-change rescan never opens them)."""
    paths = []
    for i in range(n):
        path = folder / f"album_{i % 100:03d}" / f"IMG_{i:06d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(i.to_bytes(4, "little") * 64)
        paths.append(path)
    return paths


def _bare_walk(folder: Path) -> int:
    count = 0
    stack = [str(folder)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                if entry.is_dir():
                    stack.append(entry.path)
                else:
                    entry.stat()
                    count += 1
    return count


def _fill(lib, root: str, paths: list[str], vectors: np.ndarray) -> None:
    from photosort.core.catalog import now_iso

    stamp = now_iso()
    root_id = lib.catalog.add_root(root)
    model_id = lib.model_id
    with lib.catalog.transaction() as conn:
        for start in range(0, len(paths), 50_000):
            chunk = range(start, min(start + 50_000, len(paths)))
            stats = {i: os.stat(paths[i]) if os.path.exists(paths[i]) else None for i in chunk}
            conn.executemany(
                "INSERT INTO photos (id, root_id, path, folder, size, mtime_ns, content_hash, "
                "status, added_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'ok', ?, ?)",
                (
                    (
                        i + 1,
                        root_id,
                        paths[i],
                        os.path.dirname(paths[i]),
                        stats[i].st_size if stats[i] else 1000,
                        stats[i].st_mtime_ns if stats[i] else 0,
                        f"{i:032x}",
                        stamp,
                        stamp,
                    )
                    for i in chunk
                ),
            )
            conn.executemany(
                "INSERT INTO embeddings (photo_id, model, vector) VALUES (?, ?, ?)",
                ((i + 1, model_id, vectors[i].tobytes()) for i in chunk),
            )
        lib.catalog.bump_vectors_version(conn)
    with lib.writing("bench"):
        _ = lib.index  # built and saved as a scan leaves it
        lib._index.dirty = True
        lib.save_index()


def _cli(args: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one fresh ``photosort`` process."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        timeout=600,
    )
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"photosort {' '.join(args)} failed: {out.stderr[-500:]}")
    peak = next(int(x.split()[1]) for x in out.stderr.splitlines() if x.startswith("PEAK_KB"))
    return wall, peak / 1024


def _summary(samples: list[tuple[float, float]]) -> dict:
    walls = [s[0] for s in samples]
    return {
        "min_s": round(min(walls), 3),
        "median_s": round(statistics.median(walls), 3),
        "peak_rss_mb": round(max(s[1] for s in samples), 1),
    }


def _library(folder: Path, model: str, root: str, paths: list[str]):
    from photosort.core.library import Library

    lib = Library(folder, model=model, device="cpu")
    with lib.writing("bench"):
        lib._record_model(lib.embedder)
    lib.cache_text_encoder()  # what a scan leaves behind
    _fill(lib, root, paths, clip_like_vectors(len(paths), lib.vector_dim(), seed=3))
    with lib.writing("bench"):
        lib._relevance()  # the captions and scale a scan's auto-tagging caches
    lib.close()


def _compile_bytecode() -> None:
    """Write photosort's ``.pyc`` files first, as an installed package has them: with
    ``PYTHONDONTWRITEBYTECODE`` set (this build machine sets it) every cold start would
    otherwise compile each module from source, about 0.3 s of any run measured here."""
    import compileall

    compileall.compile_dir(str(REPO / "photosort"), quiet=1)


def run(quick: bool = False) -> dict:
    rounds = 2 if quick else 3
    _compile_bytecode()
    model = f"local-dir:{vit_b32_folder()}"
    out: dict = {"model": "ViT-B-32 (random weights)", "rounds": rounds}
    with tempfile.TemporaryDirectory(prefix="photosort-bench-cold-") as tmp:
        tmp_path = Path(tmp)
        os.environ.setdefault("PHOTOSORT_MODEL_CACHE", str(tmp_path / "model-cache"))
        print(f"coldstart: text export in {os.environ['PHOTOSORT_MODEL_CACHE']}", file=sys.stderr)
        n_files = 10_000
        photos = tmp_path / "photos"
        paths = [str(p) for p in _tree(photos, n_files)]
        small = tmp_path / "lib-10k"
        _library(small, model, str(photos), paths)
        base = ["--library", str(small), "--model", model, "--device", "cpu"]

        walks = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            assert _bare_walk(photos) == n_files
            walks.append(time.perf_counter() - t0)
        _cli([*base, "scan"])  # the first scan reads capture times and keywords once
        rescans = [_cli([*base, "scan"]) for _ in range(rounds)]
        loads = []
        for _ in range(1 if quick else rounds):
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", LOAD_MODEL, model],
                check=True,
                capture_output=True,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )
            loads.append(time.perf_counter() - t0)
        rescan = _summary(rescans)
        out["rescan_10k"] = {
            "files": n_files,
            "photosort": rescan,
            "files_per_s": round(n_files / rescan["median_s"]),
            "bare_walk_s": round(min(walks), 4),
            "x_bare_walk": round(rescan["median_s"] / min(walks), 1),
            "baseline_model_load_s": round(statistics.median(loads), 2),
            "baseline_rescan_s": round(rescan["median_s"] + statistics.median(loads), 2),
        }
        print(json.dumps(out["rescan_10k"]), file=sys.stderr, flush=True)

        search_sets = [("10k", small)]
        if not quick:
            big = tmp_path / "lib-100k"
            fake = [f"/bench/photos/{i // 1000:04d}/IMG_{i:07d}.jpg" for i in range(100_000)]
            _library(big, model, "/bench/photos", fake)
            search_sets.append(("100k", big))
        for label, folder in search_sets:
            args = ["--library", str(folder), "--model", model, "--device", "cpu"]
            query = [*args, "search", "a red car on a sunny beach", "--top", "20"]
            fast, slow = [], []
            for _ in range(rounds):  # interleaved: both see the same machine load
                fast.append(_cli(query))
                slow.append(_cli(query, {"PHOTOSORT_TEXT_ENGINE": "torch"}))
            onnx_s, torch_s = _summary(fast), _summary(slow)
            out[f"cold_search_{label}"] = {
                "onnx_text_tower": onnx_s,
                "baseline_torch": torch_s,
                "speedup": round(torch_s["median_s"] / onnx_s["median_s"], 1),
            }
            print(json.dumps({label: out[f"cold_search_{label}"]}), file=sys.stderr, flush=True)
    rescan_row = out["rescan_10k"]
    checks = [rescan_row["files_per_s"] >= 20_000, rescan_row["x_bare_walk"] <= 15]
    checks += [
        v["onnx_text_tower"]["median_s"] <= 0.7 and v["onnx_text_tower"]["peak_rss_mb"] <= 512
        for k, v in out.items()
        if k.startswith("cold_search")
    ]
    out["pass"] = all(checks)
    return out


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
