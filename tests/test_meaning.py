"""With the trained tiny CLIP, search and "more like this" return what a person would expect.

A generated library of 200 scenes with known content is scanned through the real
pipeline (files on disk, decode, embed, catalog, index), then queried.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photosort.core.search import SearchQuery
from tests.fixtures.scenes import write_library


@pytest.fixture(scope="module")
def scene_library(tmp_path_factory, tiny_model):
    from photosort.core.library import Library

    folder = tmp_path_factory.mktemp("meaning")
    photos = write_library(folder / "photos", 200, seed=0)
    lib = Library(folder / "library", model=tiny_model, device="cpu")
    summary = lib.scan([folder / "photos"])
    assert (summary.embedded, summary.failed) == (200, 0)
    truth = {str(p.path): p.truth for p in photos}
    yield lib, truth
    lib.close()


def test_a_red_ball_finds_red_balls(scene_library):
    lib, truth = scene_library
    top = lib.search(SearchQuery(text="a red ball", top=10))
    hits = sum(truth[r.path].has("red", "ball") for r in top)
    assert hits >= 8, f"only {hits} of the top 10 contain a red ball"


@pytest.mark.parametrize(
    ("colour", "thing"), [("yellow", "car"), ("green", "tree"), ("blue", "house")]
)
def test_other_objects_rank_first(scene_library, colour, thing):
    lib, truth = scene_library
    top = lib.search(SearchQuery(text=f"a photo of a {colour} {thing}", top=5))
    assert sum(truth[r.path].has(colour, thing) for r in top) >= 4


def test_more_like_this_from_night_photos_returns_mostly_night(scene_library):
    lib, truth = scene_library
    nights = sorted(p for p, t in truth.items() if t.time_of_day == "night")
    assert len(nights) >= 20
    counts = []
    for query in nights:
        top = lib.search(SearchQuery(image=query, top=10))
        assert query not in [r.path for r in top]  # the query photo itself is left out
        counts.append(sum(truth[r.path].time_of_day == "night" for r in top))
    share_night = sum(t.time_of_day == "night" for t in truth.values()) / len(truth)
    assert np.mean(counts) >= 6, counts  # vs about 2 of 10 by chance
    assert np.mean(counts) >= 3 * share_night * 10
    assert np.median(counts) >= 6, counts


def test_time_of_day_search_prefers_that_time(scene_library):
    lib, truth = scene_library
    for time_of_day in ("dawn", "day", "dusk", "night"):
        top = lib.search(SearchQuery(text=f"a photo taken at {time_of_day}", top=10))
        assert sum(truth[r.path].time_of_day == time_of_day for r in top) >= 9, time_of_day


def test_folder_filter_keeps_meaning(scene_library):
    lib, truth = scene_library
    folder = str(Path(next(iter(truth))).parent)
    top = lib.search(SearchQuery(text="a photo taken at night", folder=folder, top=5))
    assert top and all(str(Path(r.path).parent) == folder for r in top)
    in_folder = [p for p in truth if str(Path(p).parent) == folder]
    nights_in_folder = sum(truth[p].time_of_day == "night" for p in in_folder)
    assert sum(truth[r.path].time_of_day == "night" for r in top) == min(5, nights_in_folder)
