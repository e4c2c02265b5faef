"""On a CPU with native bf16, torch bf16 is the cheaper engine per photo, but a fresh process
pays seconds to import torch and build the model: a scan of a few new photos runs the cached
fp32 export of the image tower instead, without torch, and a large one still runs torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import draw_photo
from photosort.core import embedder as embedder_module
from photosort.core import image_engine
from photosort.core.embedder import Embedder, ModelSpec
from photosort.core.search import SearchQuery


@pytest.fixture
def bf16_cpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A CPU that computes bf16 natively, precision and engine left to ``auto``, no export
    made yet, and a small job of fewer than 8 photos (200 for users)."""
    monkeypatch.delenv("PHOTOSORT_PRECISION", raising=False)
    monkeypatch.delenv(image_engine.ENGINE_ENV, raising=False)
    monkeypatch.setattr(embedder_module, "cpu_has_fast_bf16", lambda: True)
    monkeypatch.setenv("PHOTOSORT_MODEL_CACHE", str(tmp_path / "model-cache"))
    monkeypatch.setattr(image_engine, "SMALL_JOB_PHOTOS", 8)


def _photos(folder: Path, count: int, seed: int) -> list[Path]:
    return [draw_photo(folder / f"p{seed + i}.jpg", seed=seed + i) for i in range(count)]


def _stored(lib, paths: list[Path]) -> np.ndarray:
    """The stored vectors of ``paths``, in that order."""
    by_path = {}
    for ids, matrix in lib.catalog.vectors(lib.model_id):
        for pid, vector in zip(ids.tolist(), matrix, strict=True):
            by_path[lib.catalog.scalar("SELECT path FROM photos WHERE id = ?", [pid])] = vector
    return np.stack([by_path[str(p)] for p in paths])


def test_a_small_scan_runs_the_export_and_a_large_one_torch(
    bf16_cpu, make_library, tiny_model: str, tmp_path: Path
):
    root = tmp_path / "photos"
    _photos(root / "a", 10, seed=0)
    lib = make_library()
    lib.scan([root])
    assert lib.model_loaded and lib._embedder.precision == "bf16"  # the first scan: torch
    folder = image_engine.cache_folder(lib.model_id)
    assert image_engine._valid(folder, lib.model_id), "the first scan leaves the export"
    lib.close()

    few = _photos(root / "b", 3, seed=100)
    lib = make_library(tmp_path / "library")
    summary = lib.scan([root])
    assert summary.embedded == 3 and summary.failed == 0
    assert not lib.model_loaded, "3 new photos on a bf16 CPU loaded torch"
    reference = Embedder(ModelSpec.parse(tiny_model), "cpu", precision="fp32")
    from PIL import Image

    expected = reference.encode_pil([Image.open(p).convert("RGB") for p in few])
    assert np.min(np.sum(_stored(lib, few) * expected, axis=1)) >= 0.99
    found = {r.path for r in lib.search(SearchQuery(text="a photo", top=20))}
    assert {str(p) for p in few} <= found, "the new photos are searchable"

    _photos(root / "c", 9, seed=200)
    assert lib.scan([root]).embedded == 9
    assert lib.model_loaded and lib._embedder.precision == "bf16", "a large job runs torch"


def test_a_precision_asked_for_keeps_torch_for_small_jobs(
    bf16_cpu, tiny_model: str, monkeypatch: pytest.MonkeyPatch
):
    spec = ModelSpec.parse(tiny_model)
    model = Embedder(spec, "cpu", precision="fp32")
    assert image_engine.export(model) is not None

    def fallback() -> Embedder:
        raise AssertionError("not loaded here")

    encoder = image_engine.OnnxImageEncoder.open(spec, "cpu", fallback, photos=3)
    assert encoder is not None and encoder.stand_in and encoder.precision == "fp32"
    assert image_engine.OnnxImageEncoder.open(spec, "cpu", fallback, photos=8) is None
    assert image_engine.OnnxImageEncoder.open(spec, "cpu", fallback) is None  # not known
    monkeypatch.setenv("PHOTOSORT_PRECISION", "bf16")
    assert image_engine.OnnxImageEncoder.open(spec, "cpu", fallback, photos=3) is None
    monkeypatch.setenv("PHOTOSORT_PRECISION", "auto")
    monkeypatch.setenv(image_engine.ENGINE_ENV, "torch")
    assert image_engine.OnnxImageEncoder.open(spec, "cpu", fallback, photos=3) is None
