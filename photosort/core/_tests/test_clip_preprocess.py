"""The torch-free preprocessing gives open_clip's input arrays exactly, or a scan without
torch would store other vectors than a scan with it."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from photosort.core.clip_preprocess import Preprocess

MODES = ["RGB", "L", "RGBA", "P", "RGB", "CMYK"]


def _image(size: tuple[int, int], mode: str, seed: int) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 4), np.uint8)
    return Image.fromarray(pixels, "RGBA").convert(mode)


@pytest.mark.parametrize("model", ["ViT-B-32", "ViT-B-32-256"])
def test_same_arrays_as_open_clips_transform(model: str):
    import open_clip

    size = open_clip.get_model_config(model)["vision_cfg"]["image_size"]
    transform = open_clip.image_transform(size, is_train=False)
    plan = Preprocess.of(transform)
    assert plan is not None and plan.size == size
    shapes = [(640, 480), (333, 501), (size, size), (size + 1, size), (90, 12), (7, 9)]
    for i, (shape, mode) in enumerate(zip(shapes, MODES, strict=True)):
        image = _image(shape, mode, i)
        assert np.array_equal(plan(image), transform(image).numpy()), (shape, mode)


def test_the_tiny_models_transform_replays_and_round_trips(tiny_model: str):
    import open_clip

    transform = open_clip.create_model_and_transforms(tiny_model, load_weights=False)[2]
    plan = Preprocess.of(transform)
    assert plan is not None and plan.size == 64
    assert Preprocess.from_meta(plan.to_meta()) == plan
    image = _image((120, 90), "RGB", 3)
    assert np.array_equal(plan(image), transform(image).numpy())


def test_steps_it_cannot_replay_keep_torch():
    import open_clip

    assert Preprocess.of(open_clip.image_transform(224, False, resize_mode="squash")) is None
    assert Preprocess.of(open_clip.image_transform(224, False, resize_mode="longest")) is None
    assert Preprocess.of(open_clip.image_transform((224, 256), False)) is None
    for meta in (None, {}, {"resize": "longest"}, {"resize": "shortest", "size": 224}):
        with pytest.raises(ValueError):
            Preprocess.from_meta(meta)
    bad = Preprocess(224, "bicubic", (0.5, 0.5, 0.5), (0.2, 0.2, 0.2)).to_meta()
    bad["interpolation"] = "lanczos"
    with pytest.raises(ValueError):
        Preprocess.from_meta(bad)
