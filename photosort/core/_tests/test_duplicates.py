"""Unit tests of the duplicate finder's parts: fingerprints, pair search, keeper choice."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image

from photosort.core import duplicates
from photosort.core.duplicates import (
    Group,
    Member,
    choose_keeper,
    close_pairs,
    components,
    hamming,
    same_hash_pairs,
)
from photosort.core.fingerprints import fingerprint
from tests.fixtures.scenes import render_scene


def _scene(seed: int, size=(320, 240)) -> Image.Image:
    return render_scene(random.Random(seed), size)[0]


def _bits(a: int, b: int) -> int:
    return int(hamming(np.array([a]), np.array([b]))[0])


@pytest.mark.parametrize(
    "edit",
    [
        lambda im: im.resize((160, 120)),
        lambda im: im.convert("L"),
        lambda im: im.crop((10, 5, 310, 235)),
    ],
    ids=["resize", "grayscale", "crop"],
)
def test_perceptual_hash_survives_edits_but_not_another_shot(edit):
    original = _scene(1)
    same = fingerprint(original).phash
    assert _bits(same, fingerprint(edit(original)).phash) <= duplicates.NEAR_BITS
    assert _bits(same, fingerprint(_scene(2)).phash) > duplicates.NEAR_BITS


def test_colour_and_sharpness_measures():
    original = _scene(3)
    assert fingerprint(original).colour > 0.02 > fingerprint(original.convert("L")).colour
    blurred = original.resize((80, 60)).resize((320, 240))
    assert fingerprint(blurred).sharpness < fingerprint(original).sharpness


def _clustered(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n // 4, dim))
    x = centres[rng.integers(0, len(centres), n)] + 0.35 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_clustered_search_finds_what_all_pairs_finds(monkeypatch):
    x = _clustered(3000)
    monkeypatch.setattr(duplicates, "ALL_PAIRS_LIMIT", 10_000)
    every = {tuple(p) for p in close_pairs(x, 0.9).tolist()}
    monkeypatch.setattr(duplicates, "ALL_PAIRS_LIMIT", 200)
    cells = {tuple(p) for p in close_pairs(x, 0.9).tolist()}
    assert len(every) > 100
    assert cells <= every  # never a pair below the threshold
    assert len(cells & every) / len(every) >= 0.97


def test_close_pairs_respects_rows():
    x = _clustered(200)
    rows = np.arange(0, 200, 2)
    pairs = close_pairs(x, 0.8, rows=rows)
    assert len(pairs) and np.all(pairs % 2 == 0) and np.all(pairs[:, 0] < pairs[:, 1])


def test_same_hash_pairs_match_brute_force():
    rng = np.random.default_rng(1)
    codes = rng.integers(-(2**63), 2**63 - 1, 400, dtype=np.int64)
    for k in range(0, 400, 10):  # plant near copies with 0..5 bits flipped
        flip = np.int64(0)
        for bit in rng.choice(63, k % 6, replace=False):
            flip |= np.int64(1) << np.int64(bit)
        codes[k + 1] = codes[k] ^ flip
    got = {tuple(p) for p in same_hash_pairs(codes, 4).tolist()}
    want = {
        (i, j)
        for i in range(400)
        for j in range(i + 1, 400)
        if _bits(int(codes[i]), int(codes[j])) <= 4
    }
    assert got == want and want


def test_components_group_chains():
    groups = components(10, np.array([[1, 2], [2, 3], [7, 8]]))
    assert sorted(sorted(g.tolist()) for g in groups) == [[1, 2, 3], [7, 8]]


def _member(pid, path, w=100, h=100, camera="Cam", tags=0, sharp=10.0, colour=0.3, mtime=5):
    return Member(pid, path, 1000, w, h, None, camera, mtime, tags, sharp, 224, colour)


def test_keeper_order_of_reasons():
    big = _member(1, "/a/big.jpg", 200, 100)
    small = _member(2, "/a/small.jpg", 100, 50)
    assert choose_keeper([small, big]) == (1, ["largest resolution (200×100)"])
    grey = _member(3, "/a/grey.jpg", colour=0.0)
    colour = _member(4, "/a/colour.jpg")
    assert choose_keeper([grey, colour])[0] == 4
    converted = _member(5, "/a/copy.png", camera=None)
    original = _member(6, "/a/orig.jpg")
    keeper, reasons = choose_keeper([converted, original])
    assert keeper == 6 and reasons[0].startswith("original format (JPEG")
    blurry = _member(7, "/a/blurry.jpg", sharp=5.0)
    sharp = _member(8, "/a/sharp.jpg", sharp=50.0)
    assert choose_keeper([blurry, sharp]) == (8, ["sharpest"])
    tagged = _member(9, "/a/z.jpg", tags=2)
    plain = _member(10, "/a/a.jpg")
    assert choose_keeper([plain, tagged]) == (9, ["has manual tags"])
    old = _member(11, "/a/z.jpg", mtime=1)
    new = _member(12, "/a/a.jpg", mtime=9)
    assert choose_keeper([new, old]) == (11, ["oldest file"])


def test_user_choice_of_keeper():
    group = Group("near", [_member(1, "/a.jpg"), _member(2, "/b.jpg")], 1, ["oldest file"])
    group.choose(2)
    assert group.keeper_id == 2 and group.reasons == ["chosen by you"]
    assert [m.photo_id for m in group.others] == [1]
    with pytest.raises(duplicates.DuplicatesError):
        group.choose(99)
