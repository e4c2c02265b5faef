"""Auto-tagging a generated library with the trained tiny CLIP: tags agree with the truth.

The scene generator knows what it drew (time of day, indoor/outdoor, objects); the
default categories from ``resources/categories.toml`` must recover it from the stored
vectors alone.
"""

from __future__ import annotations

import os
import shutil

import pytest

from photosort.core.library import Library
from tests.fixtures.scenes import write_library

N_PHOTOS = 200


@pytest.fixture(scope="module")
def generated(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("generated")
    photos = write_library(root / "photos", N_PHOTOS, seed=7)
    lib = Library(root / "library", model=tiny_model, device="cpu")
    summary = lib.scan([root / "photos"])
    assert summary.embedded == N_PHOTOS and not summary.warnings
    yield lib, photos, root
    lib.close()


def _tags_by_path(lib: Library) -> dict[str, list]:
    ids = lib.browse()
    details = lib.photo_details(ids)
    tags = lib.photo_tags(ids)
    return {details[i]["path"]: tags[i] for i in ids}


def _label(tags, category: str) -> str | None:
    on = [t.name for t in tags if t.category == category and t.state == "on"]
    assert len(on) <= 1, on  # an exclusive group never gives two labels
    return on[0] if on else None


def test_time_of_day_agrees_with_the_generator(generated):
    lib, photos, _ = generated
    by_path = _tags_by_path(lib)
    outdoor = [p for p in photos if p.truth.time_of_day is not None]
    assert len(outdoor) > 100
    right = sum(_label(by_path[str(p.path)], "Time of day") == p.truth.time_of_day for p in outdoor)
    accuracy = right / len(outdoor)
    print(f"time of day: {right}/{len(outdoor)} = {accuracy:.3f}")
    assert accuracy >= 0.85


def test_setting_agrees_with_the_generator(generated):
    lib, photos, _ = generated
    by_path = _tags_by_path(lib)
    right = sum(_label(by_path[str(p.path)], "Setting") == p.truth.setting for p in photos)
    print(f"indoor/outdoor: {right}/{len(photos)}")
    assert right / len(photos) >= 0.85


def test_thresholds_trade_coverage_for_certainty(generated):
    lib, _, _ = generated
    cat = next(c for c in lib.categories() if c.name == "Time of day")
    counts = []
    for threshold in (0.3, 0.6, 0.9, 0.999):
        cat.threshold = threshold
        lib.save_category(cat)
        scores = [
            t.score
            for tags in lib.photo_tags(lib.browse()).values()
            for t in tags
            if t.category == "Time of day" and t.source == "auto"
        ]
        assert all(s >= threshold for s in scores)
        counts.append(len(scores))
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]
    cat.threshold = 0.5
    lib.save_category(cat)


def test_manual_fix_survives_retag_and_rename(generated):
    lib, photos, root = generated
    target = next(p for p in photos if p.truth.time_of_day == "night")
    pid = lib.catalog.photo_by_path(str(target.path)).id
    lib.tag_photos([pid], add=["dawn"], remove=["outdoor"])
    lib.autotag()
    renamed = target.path.with_name("renamed_" + target.path.name)
    shutil.move(target.path, renamed)
    try:
        assert lib.scan().moved == 1
        tags = lib.photo_tags([pid])[pid]
        assert _label(tags, "Time of day") == "dawn"
        assert _label(tags, "Setting") is None or _label(tags, "Setting") == "indoor"
        assert lib.photo_details([pid])[pid]["path"] == str(renamed)
    finally:
        shutil.move(renamed, target.path)
        lib.scan()
        lib.clear_manual([pid], ["dawn", "outdoor"])
        assert os.path.exists(target.path)
