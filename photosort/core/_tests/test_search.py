"""Search over the catalog and the index: filters mean what the user typed, and a photo of
the library used as the query is answered from its stored vector without the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photosort.core import tagging
from photosort.core.catalog import Catalog
from photosort.core.imaging import PhotoMeta
from photosort.core.index import VectorIndex
from photosort.core.pipeline import EmbedJob, Prepared, _store_batch
from photosort.core.search import (
    Relevance,
    Searcher,
    SearchError,
    SearchQuery,
    SearchResult,
    Term,
    sort_results,
)

MODEL = "local:test:0"
DIM = 4

#: (path, taken_at, vector): a trip folder, a sibling whose name starts the same, a subfolder.
PHOTOS = [
    ("/p/trip/beach.jpg", "2024-05-03T18:00:00", [1.0, 0.0, 0.0, 0.0]),
    ("/p/trip/day2/dunes.jpg", "2024-05-04T09:00:00", [0.9, 0.1, 0.0, 0.0]),
    ("/p/trip-old/beach.jpg", "2019-07-01T12:00:00", [0.95, 0.0, 0.05, 0.0]),
    ("/p/home/cat.jpg", None, [0.0, 0.0, 0.0, 1.0]),
]


def no_model():
    raise AssertionError("the model was loaded")


@pytest.fixture
def library(tmp_path: Path):
    """A catalog with embedded photos (vectors stored as a scan stores them) and its index."""
    cat = Catalog(tmp_path / "catalog.sqlite")
    ids: dict[str, int] = {}
    with cat.transaction() as conn:
        conn.execute("INSERT INTO roots (id, path, added_at) VALUES (1, '/p', 'then')")
        for path, _, _ in PHOTOS:
            cursor = conn.execute(
                "INSERT INTO photos (root_id, path, folder, size, mtime_ns, added_at, "
                "updated_at) VALUES (1, ?, ?, 1, 1, 'then', 'then')",
                (path, str(Path(path).parent)),
            )
            ids[path] = int(cursor.lastrowid or 0)
    vectors = np.array([v for _, _, v in PHOTOS], np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    prepared = [
        Prepared(
            EmbedJob(ids[path], path), meta=PhotoMeta(8, 8, taken_at=taken), size=1, mtime_ns=1
        )
        for path, taken, _ in PHOTOS
    ]
    _store_batch(cat, MODEL, prepared, vectors, [])
    index = VectorIndex(DIM)
    index.add(np.array(list(ids.values()), np.int64), vectors)
    searcher = Searcher(cat, index, no_model, model_id=lambda: MODEL)
    yield searcher, ids
    cat.close()


def paths(results: list[SearchResult]) -> list[str]:
    return [r.path for r in results]


def test_a_folder_filter_keeps_subfolders_and_drops_siblings_with_the_same_start(library):
    searcher, _ = library
    listed = searcher.search(SearchQuery(folder="/p/trip", top=10))
    assert sorted(paths(listed)) == ["/p/trip/beach.jpg", "/p/trip/day2/dunes.jpg"]
    similar = searcher.search(SearchQuery(image="/p/trip/beach.jpg", folder="/p/trip/", top=10))
    assert paths(similar) == ["/p/trip/day2/dunes.jpg"]  # not /p/trip-old, the closer one


def test_a_library_photo_as_the_query_needs_no_model_and_is_not_its_own_result(library):
    searcher, _ = library
    results = searcher.search(SearchQuery(image="/p/trip/beach.jpg", top=2))
    assert paths(results) == ["/p/trip-old/beach.jpg", "/p/trip/day2/dunes.jpg"]
    assert results[0].score > results[1].score
    assert results[0].relevance is None  # image queries are not calibrated against text


def test_a_missing_query_image_is_named_before_any_model_loads(library):
    searcher, _ = library
    with pytest.raises(SearchError, match="cannot use /no/such.jpg as a query: no such file"):
        searcher.search(SearchQuery(image="/no/such.jpg"))


def test_an_end_date_includes_the_whole_day(library):
    searcher, _ = library
    query = SearchQuery(date_from="2024-05-03", date_to="2024-05-03", top=10)
    assert paths(searcher.search(query)) == ["/p/trip/beach.jpg"]
    assert len(searcher.search(SearchQuery(date_from="2020-01-01", top=10))) == 2


def test_a_tag_filter_keeps_tagged_photos_and_results_show_their_tags(library):
    searcher, ids = library
    tagging.set_manual(searcher.catalog, [ids["/p/home/cat.jpg"]], add=["Pets"])
    tagged = searcher.search(SearchQuery(tags=["pets"], top=10))  # any case, as typed
    assert [(r.path, r.tags) for r in tagged] == [("/p/home/cat.jpg", ["Pets"])]
    others = searcher.search(SearchQuery(not_tags=["Pets"], top=10))
    assert "/p/home/cat.jpg" not in paths(others) and len(others) == 3


def test_weighted_terms_parse_and_a_colon_in_text_is_kept():
    assert Term.parse("beach:2.5") == Term("beach", 2.5)
    assert Term.parse("sunset: orange") == Term("sunset: orange")
    assert Term.parse(":3") == Term(":3")


def test_results_sort_by_date_with_undated_last_and_by_name_ignoring_case():
    results = [
        SearchResult(1, "/a/b.jpg", 0.9, None),
        SearchResult(2, "/a/A.jpg", 0.8, "2020-01-01"),
        SearchResult(3, "/z/c.jpg", 0.7, "2024-01-01"),
    ]
    assert [r.photo_id for r in sort_results(results, "date")] == [3, 2, 1]
    assert [r.photo_id for r in sort_results(results, "name")] == [2, 1, 3]
    assert [r.photo_id for r in sort_results(results, "relevance")] == [1, 2, 3]


def test_a_result_is_relevant_only_when_it_matches_better_than_a_neutral_caption():
    neutral = np.array([0.0, 1.0], np.float32)
    relevance = Relevance(neutral, scale=100.0)
    photos = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    probs = relevance.probabilities(np.array([0.3, 0.3]), photos)
    assert probs[0] > 0.99 and probs[1] < 0.01
