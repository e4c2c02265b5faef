"""RAW indexing speed: the embedded JPEG preview vs demosaicing, on the same DNGs, same run.

    python3 -m tests.benchmarks --only raw     (or: python3 -m tests.benchmarks.bench_raw)

DNGs are written here (tests/fixtures/dng.py) at camera-like sizes with a camera-like
embedded preview. Each file is prepared for the model as the indexer does (read, hash,
decode to >= 224 px): through the preview (photosort's default), through a half-size
demosaic (photosort's fallback when the preview is too small or missing), and through a
full demosaic then resize (the baseline: what a RAW converter does).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from photosort.core import imaging, raw
from photosort.core.scanner import content_hash
from tests.fixtures.dng import make_dng


def _full_demosaic(data: bytes, min_side: int) -> Image.Image:
    import io

    import rawpy

    with rawpy.imread(io.BytesIO(data)) as r:
        rgb = r.postprocess(use_camera_wb=True, output_bps=8)
    image = Image.fromarray(rgb)
    image.thumbnail((min_side * 2, min_side * 2))
    return image


def _time(paths: list[Path], decode) -> list[float]:
    times = []
    for path in paths:
        started = time.perf_counter()
        data = path.read_bytes()
        content_hash(data)
        image = decode(data)
        assert min(image.size) >= 224 or max(image.size) >= 448
        times.append(time.perf_counter() - started)
    return times


def run(quick: bool = False) -> dict:
    if not raw.RAW_AVAILABLE:
        return {"error": "rawpy not installed", "pass": False}
    n, (width, height), preview = (3, (3000, 2000), (1620, 1080)) if quick else (
        6, (6000, 4000), (1620, 1080))  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(n):
            path = Path(tmp) / f"IMG_{i:04d}.dng"
            make_dng(path, width=width, height=height, preview=preview)
            paths.append(path)
        mb = statistics.mean(p.stat().st_size for p in paths) / 1e6
        ways = {
            "preview": lambda d: imaging.decode_photo(d, 224, name="x.dng").image,
            "half_demosaic": lambda d: raw.decode_raw(d, 224, use_preview=False).image,
            "full_demosaic_baseline": lambda d: _full_demosaic(d, 224),
        }
        _time(paths[:1], ways["preview"])  # warm up LibRaw and libjpeg
        result: dict = {"files": n, "megapixels": width * height / 1e6, "file_mb": round(mb, 1)}
        for name, decode in ways.items():
            times = _time(paths, decode)
            result[f"{name}_ms_per_file"] = round(statistics.median(times) * 1000, 1)
            result[f"{name}_files_per_s"] = round(1 / statistics.median(times), 2)
    result["speedup_preview_vs_full"] = round(
        result["full_demosaic_baseline_ms_per_file"] / result["preview_ms_per_file"], 1
    )
    result["speedup_preview_vs_half"] = round(
        result["half_demosaic_ms_per_file"] / result["preview_ms_per_file"], 1
    )
    result["pass"] = result["speedup_preview_vs_full"] >= 3
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    print(json.dumps(run(parser.parse_args().quick), indent=2))
