"""Shared benchmark inputs: 12 MP photo-like JPEGs and a ViT-B-32 in open_clip's folder format.

Speed does not depend on weight values, so the model is ViT-B-32 at 224 px with random
weights (seeded), saved as ``open_clip_config.json`` + safetensors and loaded through the
same ``local-dir:`` path a user has. Inputs are cached between runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

CACHE = Path(os.environ.get("PHOTOSORT_BENCH_CACHE", Path.home() / ".cache" / "photosort-bench"))


def photo_like(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Gradients, a few soft shapes, fine texture and noise: compresses like a real photo."""
    small_w, small_h = width // 16, height // 16
    base = np.zeros((small_h, small_w, 3), np.float32)
    yy, xx = np.mgrid[0:small_h, 0:small_w].astype(np.float32)
    for channel in range(3):
        a, b, c = rng.uniform(-1, 1, 3)
        base[..., channel] = 128 + 60 * (a * xx / small_w + b * yy / small_h) + 30 * c
    for _ in range(6):
        cx, cy, r = (
            rng.uniform(0, small_w),
            rng.uniform(0, small_h),
            rng.uniform(5, max(small_h / 2, 6)),
        )
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))[..., None]
        base += blob * rng.uniform(-90, 90, 3)
    img = Image.fromarray(base.clip(0, 255).astype(np.uint8)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    arr = np.asarray(img, dtype=np.int16)
    texture = rng.normal(0, 9, (height // 2, width // 2, 1)).astype(np.int16)
    arr = arr + np.repeat(np.repeat(texture, 2, 0), 2, 1)
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


def twelve_mp_jpegs(count: int = 200, size: tuple[int, int] = (4000, 3000)) -> Path:
    """``count`` JPEGs at 4000x3000, quality 90; every 5th carries an EXIF orientation."""
    folder = CACHE / f"photos-{count}-{size[0]}x{size[1]}-v1"
    done = folder / ".complete"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1234)
    for i in range(count):
        img = photo_like(rng, *size)
        exif = Image.Exif()
        if i % 5 == 0:
            exif[0x0112] = (6, 8, 3)[i // 5 % 3]  # orientation
        exif[0x0110] = "Bench Camera"
        img.save(folder / f"IMG_{i:04d}.jpg", quality=90, exif=exif)
    done.write_text("ok")
    return folder


def vit_b32_folder() -> Path:
    """ViT-B-32 (224 px) with seeded random weights, as an open_clip local folder."""
    folder = CACHE / "vit-b-32-random"
    weights = folder / "open_clip_model.safetensors"
    if weights.exists():
        return folder
    import open_clip
    import torch
    from open_clip.factory import get_model_config
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None)
    config = {"model_cfg": get_model_config("ViT-B-32"), "preprocess_cfg": {}}
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(weights) + ".tmp")
    os.replace(str(weights) + ".tmp", weights)
    return folder


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux/macOS)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def small_jpegs(count: int, size: tuple[int, int] = (160, 120)) -> Path:
    """``count`` small photo-like JPEGs, 1,000 per folder (memory benches, not speed)."""
    folder = CACHE / f"small-{count}-v1"
    done = folder / ".complete"
    if done.exists():
        return folder
    rng = np.random.default_rng(99)
    tiles = [photo_like(rng, *size) for _ in range(64)]
    for i in range(count):
        path = folder / f"{i // 1000:03d}" / f"IMG_{i:06d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        # a different file each time (its content hash too): a tile, shifted and tinted
        img = tiles[i % 64].rotate(i % 360 / 4, fillcolor=(i % 256, (i // 256) % 256, 90))
        img.save(path, quality=85)
    done.write_text("ok")
    return folder


def insert_synthetic_photos(
    conn, root_id: int, numbers, model_id: str, blobs, stamp: str
) -> list[int]:
    """Photo rows (id = number + 1, 1,000 per folder) and their vector blobs, in the
    caller's transaction: a library of any size without scanning a file."""
    conn.executemany(
        "INSERT INTO photos (id, root_id, path, folder, size, mtime_ns, status, taken_at, "
        "added_at, updated_at) VALUES (?, ?, ?, ?, 1000, 0, 'ok', ?, ?, ?)",
        (
            (
                i + 1,
                root_id,
                f"/bench/photos/{i // 1000:04d}/IMG_{i:07d}.jpg",
                f"/bench/photos/{i // 1000:04d}",
                f"20{10 + i % 15}-06-01T12:00:00",
                stamp,
                stamp,
            )
            for i in numbers
        ),
    )
    conn.executemany(
        "INSERT INTO embeddings (photo_id, model, vector) VALUES (?, ?, ?)",
        zip((i + 1 for i in numbers), (model_id for _ in numbers), blobs, strict=True),
    )
    return [i + 1 for i in numbers]
