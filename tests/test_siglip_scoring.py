"""SigLIP-family models are scored the way they were trained: each label on its own with
the model's sigmoid, ``sigmoid(exp(logit_scale) * cos + logit_bias)``, using the scale and
bias held in the weights. CLIP-family models keep the softmax.

SigLIP weights cannot be downloaded here, so the model is open_clip's SigLIP architecture
(``CustomTextCLIP`` with a learned ``logit_bias``) with small random weights, saved in the
local-dir format and loaded the way a user's folder is (``tests/fixtures/tiny_siglip.py``).
The expected probabilities come from open_clip's own forward pass of that model.
"""

from __future__ import annotations

import numpy as np
import pytest

from photosort.core import scoring
from photosort.core.categories import Category, Label
from photosort.core.library import Library
from tests.fixtures import tiny_siglip

CATEGORY = Category(
    "Scene test",
    "exclusive",
    0.5,
    [
        Label("red", ["a red photo"]),
        Label("green", ["a green photo"]),
        Label("blue", ["a blue photo"]),
    ],
)
FREE = Category("Object test", "free", 0.5, [Label("ball", ["a ball"]), Label("box", ["a box"])])


@pytest.fixture(scope="module")
def siglip(tmp_path_factory):
    from conftest import draw_photo

    root = tmp_path_factory.mktemp("siglip")
    folder = tiny_siglip.make(root / "model")
    photos = root / "photos"
    photos.mkdir()
    paths = [draw_photo(photos / f"p{i}.jpg", seed=i) for i in range(4)]
    lib = Library(root / "library", model=f"local-dir:{folder}", device="cpu")
    summary = lib.scan([photos])
    assert summary.embedded == 4
    lib.save_category(CATEGORY)
    lib.save_category(FREE)
    yield lib, folder, paths
    lib.close()


def _model_probabilities(folder, path, prompts: list[str]) -> np.ndarray:
    """open_clip's own SigLIP forward: features, exp(logit_scale), logit_bias -> sigmoid."""
    import open_clip
    import torch
    from PIL import Image

    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{folder}")
    tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")
    model.eval()
    with torch.no_grad(), Image.open(path) as im:
        image = preprocess(im.convert("RGB"))[None]
        image_f, text_f, scale, bias = model(image, tokenizer(prompts))
        return torch.sigmoid(scale * image_f @ text_f.T + bias)[0].numpy()


def test_the_scale_and_bias_come_from_the_weights(siglip):
    lib, folder, _ = siglip
    assert scoring.is_sigmoid_model(str(lib.model_spec), folder)
    found = lib._scoring()
    assert found.kind == scoring.SIGMOID
    assert found.scale == pytest.approx(tiny_siglip.SCALE, rel=1e-5)
    assert found.bias == pytest.approx(tiny_siglip.BIAS, rel=1e-5)  # not open_clip's -10


def test_each_label_gets_the_models_own_sigmoid(siglip):
    lib, folder, paths = siglip
    ids, _ = lib.photo_ids_for_paths([paths[1]])
    by_cat = {c.category: c for c in lib.photo_scores(ids[0])}
    for cat in (CATEGORY, FREE):
        got = np.array(by_cat[cat.name].probabilities)
        expected = _model_probabilities(folder, paths[1], [lab.prompts[0] for lab in cat.labels])
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-5)
    # independent yes/no per label: an exclusive group's do not sum to 1 as a softmax would
    assert abs(sum(by_cat[CATEGORY.name].probabilities) - 1.0) > 1e-3


def test_auto_tags_follow_the_sigmoid_and_the_threshold(siglip):
    lib, folder, paths = siglip
    ids, _ = lib.photo_ids_for_paths(paths)
    tags = lib.photo_tags(ids)
    for pid in ids:
        scores = {c.category: c for c in lib.photo_scores(pid)}[FREE.name]
        tagged = {t.name for t in tags[pid] if t.category == FREE.name and t.state == "on"}
        expected = {n for n, p in zip(scores.labels, scores.probabilities, strict=True) if p >= 0.5}
        assert tagged == expected


def test_a_clip_model_keeps_the_softmax(make_library):
    lib = make_library()
    assert not scoring.is_sigmoid_model(str(lib.model_spec), lib.model_spec.local_dir)
    assert lib._scoring().kind == scoring.SOFTMAX


def test_every_open_clip_siglip_config_is_known_by_name():
    """The name rule (no weights loaded) matches open_clip's configs: a logit_bias exactly
    where the config asks for one."""
    import open_clip

    names = open_clip.list_models()
    assert "ViT-B-16-SigLIP" in names and "ViT-SO400M-14-SigLIP" in names
    for name in names:
        config = open_clip.get_model_config(name) or {}
        assert scoring.is_sigmoid_model(name) == scoring.is_sigmoid_config(config), name


def test_sigmoid_formula():
    s = scoring.Scoring(10.0, -2.0)
    cos = np.array([[0.0, 0.2, 0.5]], np.float32)
    np.testing.assert_allclose(s.sigmoid(cos), 1 / (1 + np.exp(-(10 * cos - 2))), rtol=1e-6)
