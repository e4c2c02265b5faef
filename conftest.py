"""Fixtures shared by the core's ``_tests`` and the end-to-end ``tests/``.

Tests run offline: the model is the small CLIP the repo trained itself
(``tests/fixtures/tiny_clip``), loaded through the same ``local-dir:`` path a user has.
"""

from __future__ import annotations

import contextlib
import os
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a test must never reach for the network
os.environ.pop("PHOTOSORT_LIBRARY", None)
os.environ.pop("PHOTOSORT_MODEL", None)
os.environ.pop("PHOTOSORT_DEVICE", None)

REPO = Path(__file__).resolve().parent
TINY_CLIP = REPO / "tests" / "fixtures" / "tiny_clip"


@pytest.fixture(scope="session")
def tiny_model() -> str:
    """The trained tiny CLIP as a user would name it on the command line."""
    if not (TINY_CLIP / "open_clip_model.safetensors").is_file():
        pytest.fail("tests/fixtures/tiny_clip has no weights; run its train.py")
    return f"local-dir:{TINY_CLIP}"


@pytest.fixture(scope="session", autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the user's real data and cache folders out of every test."""
    home = tmp_path_factory.mktemp("home")
    os.environ["XDG_DATA_HOME"] = str(home / "data")
    os.environ["XDG_CACHE_HOME"] = str(home / "cache")
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")
    # The text stage (OCR, seconds per photo on 2 cores) is off in scans of tests that are
    # not about it; those about it ask for it with the ``ocr_on`` fixture.
    os.environ.setdefault("PHOTOSORT_OCR", "off")
    # "auto" precision is bf16 on a CPU with native bf16 (AVX512-BF16, AMX) and fp32
    # elsewhere: the tests that compare engines (ONNX against open_clip, Spark against a
    # desktop scan, a SigLIP head against the model's own) held on one CI machine and
    # failed on the other. Tests run in fp32 wherever they run; the bf16 path has tests of
    # its own that ask for it by name (test_embedder, test_image_engine).
    os.environ.setdefault("PHOTOSORT_PRECISION", "fp32")


@pytest.fixture
def ocr_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scans in this test run the text stage, as they do for users."""
    monkeypatch.setenv("PHOTOSORT_OCR", "on")


@pytest.fixture
def make_library(tmp_path: Path, tiny_model: str):
    """Open (or reopen) a Library in a temporary folder with the tiny model on the CPU."""
    from photosort.core.library import Library

    opened: list = []

    def factory(folder: Path | None = None, **kwargs) -> Library:
        kwargs.setdefault("model", tiny_model)
        kwargs.setdefault("device", "cpu")
        lib = Library(folder or tmp_path / "library", **kwargs)
        opened.append(lib)
        return lib

    yield factory
    for lib in opened:
        with contextlib.suppress(Exception):
            lib.close()


def draw_photo(path: Path, seed: int, size: tuple[int, int] = (160, 120), **save) -> Path:
    """A small real photo-like image (gradient, a shape, noise), distinct for each seed."""
    rng = random.Random(seed)
    w, h = size
    base = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    colour = np.array([rng.random(), rng.random(), rng.random()], dtype=np.float32)
    arr = (base * colour * 200 + 30).repeat(h, axis=0)
    arr += np.random.default_rng(seed).normal(0, 8, arr.shape)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    x, y = rng.randrange(w // 2), rng.randrange(h // 2)
    fill = tuple(rng.randrange(256) for _ in range(3))
    draw.ellipse([x, y, x + w // 3, y + h // 3], fill=fill)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **save)
    return path


@pytest.fixture
def photo_tree(tmp_path: Path) -> Path:
    """A folder of 12 small good photos in two subfolders."""
    root = tmp_path / "photos"
    for i in range(12):
        sub = "trips" if i % 2 else "family"
        ext = ("jpg", "png", "webp")[i % 3]
        draw_photo(root / sub / f"img_{i:02d}.{ext}", seed=i)
    return root
