"""The embedder: model specs, devices, precisions, and the short-text fast path."""

from __future__ import annotations

import numpy as np
import pytest

from photosort.core.embedder import (
    DEFAULT_MODEL,
    Embedder,
    ModelError,
    ModelSpec,
    _encode_text_short,
    resolve_device,
    resolve_precision,
)


def test_model_specs():
    assert str(ModelSpec.parse(DEFAULT_MODEL)) == DEFAULT_MODEL
    local = ModelSpec.parse("local-dir:~/models/x")
    assert local.local_dir is not None and local.local_dir.is_absolute()
    for bad in ("ViT-B-32", ":x", "local-dir:"):
        with pytest.raises(ModelError):
            ModelSpec.parse(bad)


def test_devices_and_precisions():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda", "mps")
    with pytest.raises(ModelError):
        resolve_device("tpu")
    assert resolve_precision("auto", "cuda") == "fp16"
    assert resolve_precision("auto", "mps") == "fp32"
    assert resolve_precision("fp32", "cpu") == "fp32"
    with pytest.raises(ModelError):
        resolve_precision("int3", "cpu")


def test_short_text_path_equals_open_clip_encode_text(tiny_model):
    import torch

    embedder = Embedder(ModelSpec.parse(tiny_model), "cpu", precision="fp32")
    tokens = embedder.tokenizer(["a red ball", "a photo taken at night with many stars", "x"])
    with torch.inference_mode():
        full = embedder.model.encode_text(tokens).numpy()
        short = _encode_text_short(embedder.model, tokens).numpy()
    np.testing.assert_allclose(short, full, rtol=1e-4, atol=1e-5)


def test_vectors_are_unit_float32_and_bf16_stays_close(tiny_model):
    from PIL import Image

    images = [Image.new("RGB", (90, 70), c) for c in ("red", "navy", "orange")]
    ref = Embedder(ModelSpec.parse(tiny_model), "cpu", precision="fp32")
    bf16 = Embedder(ModelSpec.parse(tiny_model), "cpu", precision="bf16")
    a, b = ref.encode_pil(images), bf16.encode_pil(images)
    assert a.dtype == np.float32 and np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
    assert np.min(np.sum(a * b, axis=1)) >= 0.99
    assert ref.model_id == bf16.model_id  # same weights: vectors may be mixed
