"""Indexing throughput end to end, against the tutorials' pipeline and this CPU's ceiling.

Baseline (measured in the same run): the pipeline most CLIP tutorials show — open each
file with PIL at full size, ``convert("RGB")``, the model's own preprocess transform,
then batched fp32 ``encode_image``, one photo after another. photosort: ``Library.scan``
(walk, draft decode + preprocess ahead in a thread pool, model at the chosen precision
and engine, catalog + index writes), and the same scan with the image tower on torch.

The CPU ceiling (issue 13) is cores / CPU time per photo, both measured here: the CPU
seconds one photo costs to read, hash, decode and preprocess (one thread) plus its share
of a model batch (all the model's threads). Indexing cannot beat it on this machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.workload import CACHE, twelve_mp_jpegs, vit_b32_folder

BATCH = 32


def _baseline(folder: Path, model_dir: Path) -> dict:
    import open_clip
    import torch
    from PIL import Image

    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{model_dir}")
    model.eval()
    paths = sorted(folder.glob("*.jpg"))
    started = time.perf_counter()
    vectors = []
    with torch.inference_mode():
        for start in range(0, len(paths), BATCH):
            batch = [preprocess(Image.open(p).convert("RGB")) for p in paths[start : start + BATCH]]
            feats = model.encode_image(torch.stack(batch))
            vectors.append(torch.nn.functional.normalize(feats, dim=-1).numpy())
    elapsed = time.perf_counter() - started
    return {"photos": len(paths), "seconds": elapsed, "photos_per_s": len(paths) / elapsed}


def _model_only(embedder, n: int = 96) -> float:
    import torch

    batch = torch.randn(BATCH, 3, embedder.image_size, embedder.image_size)
    embedder.encode_images(batch)  # warm-up
    started = time.perf_counter()
    for _ in range(n // BATCH):
        embedder.encode_images(batch)
    return (n // BATCH) * BATCH / (time.perf_counter() - started)


def _cpu_per_photo(folder: Path, embedder, n: int = 16) -> dict:
    """CPU seconds per photo: preparing it (one thread) and its share of a model batch."""
    import torch

    from photosort.core.pipeline import EmbedJob, prepare

    paths = sorted(folder.glob("*.jpg"))[:n]
    started = time.thread_time()
    for i, path in enumerate(paths):
        prepare(EmbedJob(i, str(path)), embedder.preprocess, embedder.image_size)
    prepare_s = (time.thread_time() - started) / len(paths)
    batch = torch.randn(BATCH, 3, embedder.image_size, embedder.image_size)
    embedder.encode_images(batch)  # warm-up
    started = time.process_time()
    embedder.encode_images(batch)
    model_s = (time.process_time() - started) / BATCH
    return {"prepare_s": prepare_s, "model_s": model_s, "total_s": prepare_s + model_s}


def _photosort(folder: Path, model_dir: Path, engine: str | None = None) -> dict:
    from photosort.core.library import Library

    if engine:
        os.environ["PHOTOSORT_IMAGE_ENGINE"] = engine
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library(Path(tmp) / "lib", model=f"local-dir:{model_dir}", device="cpu")
        embedder = lib.embedder  # load outside the timed part, as for the baseline
        embedder.use_image_engine()  # a first export too: once per model, not per scan
        model_only = _model_only(embedder)  # same process, same threads, nothing else running
        cpu = _cpu_per_photo(folder, embedder)
        started = time.perf_counter()
        summary = lib.scan([folder], batch_size=BATCH)
        elapsed = time.perf_counter() - started
        lib.close()
    os.environ.pop("PHOTOSORT_IMAGE_ENGINE", None)
    cores = os.cpu_count() or 1
    return {
        "photos": summary.embedded,
        "failed": summary.failed,
        "seconds": elapsed,
        "photos_per_s": summary.embedded / elapsed,
        "precision": embedder.precision,
        "engine": embedder.image_engine,
        "model_only_photos_per_s": model_only,
        "cpu_s_per_photo": {k: round(v, 4) for k, v in cpu.items()},
        "cpu_ceiling_photos_per_s": cores / cpu["total_s"],
        "timings_s": {k: round(v, 2) for k, v in summary.timings.items()},
    }


def _peak_rss_of_cli_scan(folder: Path, model_dir: Path) -> float:
    """Peak RSS (MB) of a real ``photosort scan`` process over the same folder."""
    with tempfile.TemporaryDirectory() as tmp:
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the (big) parent
        # process across fork + exec, so it would report this benchmark's own peak.
        code = (
            "import sys\n"
            "from photosort.cli import main\n"
            "rc = main(sys.argv[1:])\n"
            "status = open('/proc/self/status').read()\n"
            "print('RSS', status.split('VmHWM:')[1].split()[0])\n"
        )
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                code,
                "scan",
                str(folder),
                "--library",
                f"{tmp}/lib",
                "--model",
                f"local-dir:{model_dir}",
                "--device",
                "cpu",
                "--json",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        kb = int(out.stdout.rsplit("RSS", 1)[1].strip())
        json.loads(out.stdout.rsplit("RSS", 1)[0])  # the scan really ran and reported
    return kb / 1024


def run(quick: bool = False) -> dict:
    count = 64 if quick else 200
    folder = twelve_mp_jpegs(count)
    model_dir = vit_b32_folder()
    os.environ.setdefault("PHOTOSORT_MODEL_CACHE", str(CACHE / "model-cache"))
    ours = _photosort(folder, model_dir)
    on_torch = _photosort(folder, model_dir, engine="torch")
    base = _baseline(folder, model_dir)
    rss = _peak_rss_of_cli_scan(folder, model_dir)
    result = {
        "photos": count,
        "cpu_threads": os.cpu_count(),
        "baseline": base,
        "photosort": ours,
        "photosort_torch_engine": on_torch,
        "speedup_vs_baseline": ours["photos_per_s"] / base["photos_per_s"],
        "speedup_vs_torch_engine": ours["photos_per_s"] / on_torch["photos_per_s"],
        "fraction_of_model_only": ours["photos_per_s"] / ours["model_only_photos_per_s"],
        "fraction_of_cpu_ceiling": ours["photos_per_s"] / ours["cpu_ceiling_photos_per_s"],
        "peak_rss_mb": rss,
        "targets": {
            "speedup_vs_baseline": 3.0,
            "fraction_of_cpu_ceiling": 0.9,
            "peak_rss_mb": 2048,
        },
    }
    result["pass"] = bool(
        result["speedup_vs_baseline"] >= 3.0
        and result["fraction_of_cpu_ceiling"] >= 0.9
        and rss <= 2048
    )
    return result


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2, default=float))
