"""The image tower on ONNX Runtime: same vectors as open_clip, exported once, torch as the
safety net (the repo's tiny CLIP, loaded through local-dir: like a user's model)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from photosort.core import image_engine
from photosort.core.embedder import Embedder, ModelSpec


@pytest.fixture(scope="module")
def embedder(tiny_model: str) -> Iterator[Embedder]:
    """One fp32 CPU model for the module; its export is the test session's (made once)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(image_engine.ENGINE_ENV, raising=False)
        model = Embedder(ModelSpec.parse(tiny_model), "cpu", precision="fp32")
        yield model


@pytest.fixture
def on_torch(embedder: Embedder) -> Iterator[Embedder]:
    embedder.use_image_engine("torch")
    yield embedder
    embedder.use_image_engine("torch")


def _photos() -> list:
    from PIL import Image, ImageDraw

    out = []
    for i, (bg, fg) in enumerate((("navy", "orange"), ("white", "red"), ("darkgreen", "gold"))):
        img = Image.new("RGB", (120 + 10 * i, 90), bg)
        ImageDraw.Draw(img).ellipse((20, 15, 70 + 5 * i, 70), fill=fg)
        out.append(img)
    return out


def test_onnx_engine_gives_open_clips_vectors_and_exports_once(on_torch: Embedder):
    reference = on_torch.encode_pil(_photos())
    assert on_torch.use_image_engine("onnx") == "onnx"
    assert next(on_torch.model.visual.parameters()).device.type == "meta"  # memory given back
    ours = on_torch.encode_pil(_photos())
    assert ours.dtype == np.float32 and np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)
    assert np.min(np.sum(reference * ours, axis=1)) >= 0.999

    weights = image_engine.cache_folder(on_torch.model_id) / image_engine.WEIGHTS_FILE
    made = weights.stat().st_mtime_ns
    runner = image_engine.load(on_torch, "onnx", threads=1)  # what the next scan does
    assert runner is not None and weights.stat().st_mtime_ns == made  # opened, not redone


def test_engine_choice_per_machine(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(image_engine.ENGINE_ENV, raising=False)
    assert image_engine.choose("cpu", "fp32") == "onnx"  # a CPU without native bf16
    assert image_engine.choose("cpu", "bf16") == "torch"  # torch bf16 is the fast path there
    assert image_engine.choose("cuda", "fp16") == "torch"
    assert image_engine.choose("mps", "fp32") == "torch"
    monkeypatch.setenv(image_engine.ENGINE_ENV, "torch")
    assert image_engine.choose("cpu", "fp32") == "torch"
    monkeypatch.setenv(image_engine.ENGINE_ENV, "openvino")
    assert image_engine.choose("cpu", "bf16") == "openvino"
    assert image_engine.choose("cuda", "fp16") == "torch"  # never off the GPU
    monkeypatch.setenv(image_engine.ENGINE_ENV, "tensorrt")
    assert image_engine.choose("cpu", "fp32") == "onnx"  # unknown word: auto


def test_runtime_failure_falls_back_to_torch(on_torch: Embedder):
    class Broken:
        name = "onnx"

        def run(self, images: np.ndarray) -> np.ndarray:
            raise RuntimeError("provider lost")

    reference = on_torch.encode_pil(_photos())
    on_torch.use_image_engine("onnx")
    on_torch._image_runner = Broken()
    assert np.allclose(on_torch.encode_pil(_photos()), reference, atol=1e-6)
    assert on_torch.image_engine == "torch"


def test_an_engine_that_is_not_installed_leaves_torch(
    on_torch: Embedder, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(sys.modules, "openvino", None)  # as on a machine without the extra
    assert on_torch.use_image_engine("openvino") == "torch"


@pytest.mark.slow  # exports the tower again (a few seconds)
def test_damaged_export_is_made_again(on_torch: Embedder):
    reference = on_torch.encode_pil(_photos())
    on_torch.use_image_engine("onnx")
    folder = image_engine.cache_folder(on_torch.model_id)
    (folder / image_engine.WEIGHTS_FILE).write_bytes(b"\0" * 100)  # a disk error, a full disk
    on_torch.use_image_engine("torch")
    assert on_torch.use_image_engine("onnx") == "onnx"  # unreadable: exported again
    assert np.min(np.sum(on_torch.encode_pil(_photos()) * reference, axis=1)) >= 0.999
    (folder / image_engine.META_FILE).write_text("{not json")
    on_torch.use_image_engine("torch")
    assert on_torch.use_image_engine("onnx") == "onnx"
    assert Path(folder / image_engine.META_FILE).read_text().startswith("{\n")


@pytest.fixture
def torchless(on_torch: Embedder, tiny_model: str, monkeypatch: pytest.MonkeyPatch):
    """Opens the torch-free encoder of the tiny model as a scan would (fp32 CPU)."""
    monkeypatch.delenv(image_engine.ENGINE_ENV, raising=False)
    monkeypatch.setenv("PHOTOSORT_PRECISION", "fp32")  # as on a CPU without native bf16
    assert image_engine.export(on_torch) is not None

    def open_it() -> image_engine.OnnxImageEncoder | None:
        spec = ModelSpec.parse(tiny_model)
        return image_engine.OnnxImageEncoder.open(spec, "cpu", lambda: on_torch)

    return open_it


def test_the_torch_free_encoder_gives_open_clips_vectors(on_torch: Embedder, torchless):
    reference = on_torch.encode_pil(_photos())  # open_clip's transform and torch tower
    encoder = torchless()
    assert encoder is not None and encoder.image_engine == "onnx"
    assert (encoder.model_id, encoder.dim) == (on_torch.model_id, on_torch.dim)
    ours = encoder.encode_pil(_photos())
    assert ours.dtype == np.float32 and np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)
    assert np.min(np.sum(reference * ours, axis=1)) >= 0.999


def test_the_torch_free_encoder_hands_over_to_torch_on_failure(on_torch: Embedder, torchless):
    class Broken:
        name = "onnx"

        def run(self, images: np.ndarray) -> np.ndarray:
            raise RuntimeError("provider lost")

    reference = on_torch.encode_pil(_photos())
    encoder = torchless()
    encoder._runner = Broken()
    assert np.allclose(encoder.encode_pil(_photos()), reference, atol=1e-6)
    assert encoder.image_engine == "torch"


def test_an_export_made_before_the_preprocessing_was_recorded_is_completed(
    on_torch: Embedder, torchless, monkeypatch: pytest.MonkeyPatch
):
    meta_file = image_engine.cache_folder(on_torch.model_id) / image_engine.META_FILE
    meta = json.loads(meta_file.read_text())
    old = {k: v for k, v in meta.items() if k not in ("dim", "preprocess")}
    meta_file.write_text(json.dumps(old))
    assert torchless() is None  # an older photosort's export: the model loads, as before
    assert image_engine.export(on_torch) is not None  # ... and its next use completes it
    assert json.loads(meta_file.read_text()) == meta
    assert torchless() is not None
    monkeypatch.setenv(image_engine.ENGINE_ENV, "torch")  # the engine asked for: torch
    assert torchless() is None


def test_only_a_cpu_runs_without_torch():
    assert image_engine.cpu_only("cpu") and image_engine.cpu_only("CPU")
    assert not image_engine.cpu_only("cuda") and not image_engine.cpu_only("mps")
