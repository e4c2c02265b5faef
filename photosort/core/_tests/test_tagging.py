"""Auto-tagging math on synthetic vectors, and the tagging API of a real Library."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from photosort.core import tagging
from photosort.core.categories import Category, CategoryError, Label
from photosort.core.search import SearchQuery
from photosort.core.tagging import NEUTRAL_PROMPTS, Tagger

DIM = 16


def _unit(rng, n):
    m = rng.normal(size=(n, DIM)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def _setup(seed=0, n=500):
    rng = np.random.default_rng(seed)
    texts = {
        p: v
        for p, v in zip(
            ["a", "b", "c", "x", "y", *NEUTRAL_PROMPTS],
            _unit(rng, 5 + len(NEUTRAL_PROMPTS)),
            strict=True,
        )
    }
    photos = _unit(rng, n)
    ids = np.arange(1, n + 1, dtype=np.int64)
    return texts, ids, photos


def test_exclusive_group_gives_at_most_one_label_and_respects_threshold():
    texts, ids, photos = _setup()
    for threshold in (0.34, 0.5, 0.9):
        group = Category(
            "g", "exclusive", threshold, [Label("A", ["a"]), Label("B", ["b"]), Label("C", ["c"])]
        )
        tagger = Tagger([group], texts, logit_scale=20.0)
        decisions, uncertain = tagger.decide(ids, photos, [[10, 11, 12]])
        assert len(set(decisions.photo_ids.tolist())) == len(decisions.photo_ids)  # one each
        assert (decisions.scores >= threshold).all()
        probs = tagger.probabilities(photos)[0]
        expected = int((probs.max(axis=1) >= threshold).sum())
        assert len(decisions.photo_ids) == expected
        assert uncertain == {"g": len(ids) - expected}
        best = probs.argmax(axis=1)[decisions.photo_ids - 1]
        assert (np.array([10, 11, 12])[best] == decisions.label_ids).all()


def test_label_threshold_overrides_the_groups():
    texts, ids, photos = _setup(1)
    group = Category("g", "exclusive", 0.4, [Label("A", ["a"], 0.95), Label("B", ["b"])])
    decisions, _ = Tagger([group], texts, 30.0).decide(ids, photos, [[1, 2]])
    a = decisions.label_ids == 1
    assert (decisions.scores[a] >= 0.95).all() and (decisions.scores[~a] >= 0.4).all()


def test_free_tags_compare_with_the_neutral_caption():
    texts, ids, photos = _setup(2)
    free = Category("f", "free", 0.7, [Label("X", ["x"]), Label("Y", ["y"])])
    tagger = Tagger([free], texts, 50.0)
    decisions, _ = tagger.decide(ids, photos, [[5, 6]])
    neutral = tagging.ensemble([texts[p] for p in NEUTRAL_PROMPTS])
    for col, lid in ((0, 5), (1, 6)):
        margin = photos @ texts["xy"[col]] - photos @ neutral
        expected = set(ids[1 / (1 + np.exp(-50.0 * margin)) >= 0.7].tolist())
        assert set(decisions.photo_ids[decisions.label_ids == lid].tolist()) == expected
    # multi-label: a photo may carry both
    assert len(decisions.photo_ids) > len(set(decisions.photo_ids.tolist()))


def test_prompt_ensemble_is_normalised_mean():
    v = tagging.ensemble([np.array([2.0, 0.0]), np.array([0.0, 1.0])])
    assert np.allclose(v, [np.sqrt(0.5), np.sqrt(0.5)])


# -- a real library ---------------------------------------------------------------------------
TIME = "Time of day"


@pytest.fixture
def tagged_library(make_library, photo_tree):
    lib = make_library()
    lib.scan([photo_tree])
    return lib


def _effective(lib, pid):
    return {t.name for t in lib.photo_tags([pid])[pid] if t.state == "on"}


def test_new_library_has_defaults_and_scan_tags_new_photos(tagged_library):
    lib = tagged_library
    assert {c.name for c in lib.categories()} >= {TIME, "Setting"}
    ids = lib.browse()
    assert len(ids) == 12
    tags = lib.photo_tags(ids)
    for pid in ids:
        times = [t for t in tags[pid] if t.category == TIME]
        settings = [t for t in tags[pid] if t.category == "Setting"]
        assert len(times) <= 1 and len(settings) <= 1
        assert all(t.source == "auto" and 0 < t.score <= 1 for t in tags[pid])
    counts = {(c.category, c.name): c.count for c in lib.tag_counts()}
    outdoor = counts[("Setting", "outdoor")]
    for group, expected in ((TIME, outdoor), ("Setting", 12)):
        total = sum(n for (cat, _), n in counts.items() if cat == group)
        assert total == expected  # one label or uncertain, where the group applies
    # the time of day applies only to outdoor photos (applies_if in the defaults)
    for pid in ids:
        if any(t.category == TIME for t in tags[pid]):
            assert any(t.name == "outdoor" for t in tags[pid])


def test_retag_writes_nothing_when_nothing_changed(tagged_library):
    again = tagged_library.autotag()
    assert (again.added, again.removed, again.changed) == (0, 0, 0)
    assert again.tagged > 0 and again.photos == 12
    ids = tagged_library.browse()[:3]
    some = tagged_library.autotag(photo_ids=ids)  # a scan's changed photos alone
    assert (some.photos, some.added, some.removed, some.changed) == (3, 0, 0, 0)
    assert tagged_library.autotag().tagged == again.tagged  # the others' tags were kept


def test_manual_tags_win_and_survive_retagging_and_a_move(tagged_library, photo_tree):
    lib = tagged_library
    ids = lib.browse()
    pid = ids[0]
    auto_time = [t.name for t in lib.photo_tags([pid])[pid] if t.category == TIME]
    other = next(n for n in ("dawn", "day", "dusk", "night") if n not in auto_time)
    auto_free = [t.name for t in lib.photo_tags([pid])[pid] if t.category == "Things"]

    lib.tag_photos([pid], add=[other, "holiday 🏖"], remove=auto_free[:1] or ["dog"])
    rejected = (auto_free[:1] or ["dog"])[0]

    def check():
        tags = lib.photo_tags([pid])[pid]
        on = {t.name for t in tags if t.state == "on"}
        assert other in on and "holiday 🏖" in on and rejected not in on
        assert [t.name for t in tags if t.category == TIME and t.state == "on"] == [other]
        assert any(t.name == rejected and t.state == "off" for t in tags)

    check()
    # a threshold change re-tags everything: manual decisions stay
    time_cat = next(c for c in lib.categories() if c.name == TIME)
    time_cat.threshold = 0.26
    lib.save_category(time_cat)
    lib.autotag()
    check()
    # move and rename the file on disk, rescan: same photo id, same tags
    path = lib.photo_details([pid])[pid]["path"]
    moved = photo_tree / "moved here" / "renamed.jpg"
    moved.parent.mkdir()
    shutil.move(path, moved)
    summary = lib.scan()
    assert summary.moved == 1
    assert lib.catalog.photo_by_path(str(moved)).id == pid
    check()
    # and after reopening the library
    folder = lib.folder
    lib.close()
    from photosort.core.library import Library

    lib = Library(folder, model=lib.model_spec.__str__(), device="cpu")
    try:
        check()
        lib.clear_manual([pid], [other, rejected])
        assert other not in _effective(lib, pid) or other in auto_time
    finally:
        lib.close()


def test_search_and_browse_filter_by_tags(tagged_library):
    lib = tagged_library
    ids = lib.browse()
    lib.tag_photos(ids[:3], add=["keep"])
    lib.tag_photos(ids[1:2], add=["skip"])
    found = lib.browse(SearchQuery(tags=["keep"], not_tags=["skip"]))
    assert sorted(found) == sorted([ids[0], ids[2]])
    results = lib.search(SearchQuery(text="a photo", tags=["keep"], not_tags=["skip"]))
    assert sorted(r.photo_id for r in results) == sorted([ids[0], ids[2]])
    assert all("keep" in r.tags for r in results)
    assert lib.browse(SearchQuery(tags=["keep", "skip"])) == [ids[1]]


def test_category_edit_rename_and_remove(tagged_library):
    lib = tagged_library
    ids = lib.browse()
    cat = Category(
        "Mood", "exclusive", 0.3, [Label("calm", ["a calm photo"]), Label("busy", ["a busy photo"])]
    )
    lib.save_category(cat)
    lib.tag_photos(ids[:1], add=["calm"])
    cat.name = "Feeling"
    lib.save_category(cat, old_name="Mood")
    names = [c.name for c in lib.categories()]
    assert "Feeling" in names and "Mood" not in names
    assert any(t.category == "Feeling" for t in lib.photo_tags(ids[:1])[ids[0]])
    with pytest.raises(CategoryError, match="unique"):
        lib.save_category(Category("Other", "free", 0.5, [Label("calm")]))
    lib.remove_category("Feeling")
    assert not lib.catalog.scalar(
        "SELECT COUNT(*) FROM auto_tags a JOIN labels l ON l.id = a.label_id WHERE l.name IN "
        "('calm', 'busy')"
    )
    on = lib.photo_tags(ids[:1])[ids[0]]
    assert any(t.name == "calm" and t.source == "manual" and t.category is None for t in on)


def test_preview_matches_what_saving_does(tagged_library):
    lib = tagged_library
    cat = Category("Mood", "free", 0.6, [Label("calm", ["a calm photo"]), Label("red")])
    preview = lib.preview_label(cat, "calm")
    assert preview.scores.shape == (12,) and preview.scores.dtype == np.float32
    assert preview.count == int((preview.scores >= 0.6).sum())
    assert "Mood" not in [c.name for c in lib.categories()]  # nothing saved
    lib.save_category(cat)
    counts = {c.name: c.count for c in lib.tag_counts()}
    assert counts["calm"] == preview.count


def test_retagging_needs_no_model_when_prompts_are_cached(tagged_library, make_library):
    folder = tagged_library.folder
    tagged_library.close()
    lib = make_library(folder)
    summary = lib.autotag()
    assert summary.photos == 12 and (summary.added, summary.removed) == (0, 0)
    assert lib._embedder is None  # text vectors and logit scale came from the catalog


def test_categories_import_export(tagged_library, tmp_path):
    lib = tagged_library
    out = tmp_path / "cats.toml"
    lib.export_categories(out)
    lib.remove_category("Things")
    assert "Things" not in [c.name for c in lib.categories()]
    lib.import_categories(out)
    assert "Things" in [c.name for c in lib.categories()]
    only = tmp_path / "only.toml"
    only.write_text(
        '[[category]]\nname = "Mood"\nkind = "free"\n[[category.label]]\nname = "calm"\n'
    )
    lib.import_categories(only, replace=True)
    assert [c.name for c in lib.categories()] == ["Mood"]
    assert os.path.getsize(out) > 0


def test_fast_counts_agree_with_the_merge_rule(tagged_library):
    lib = tagged_library
    ids = lib.browse()
    lib.tag_photos(ids[:4], add=["dusk", "trip"])
    lib.tag_photos(ids[2:6], remove=["night", "indoor", "dog", "trip"])
    lib.tag_photos(ids[6:7], add=["outdoor", "indoor"])
    truth = dict(
        lib.catalog.query("SELECT tag, COUNT(DISTINCT photo_id) FROM effective_tags GROUP BY tag")
    )
    counts = lib.tag_counts()
    for c in counts:
        if c.name != tagging.UNCERTAIN:
            assert c.count == truth.get(c.name, 0), c
    for group in ("Time of day", "Setting"):
        decided = lib.catalog.scalar(
            "SELECT COUNT(DISTINCT photo_id) FROM effective_tags WHERE category = ?", (group,)
        )
        uncertain = next(c for c in counts if c.category == group and c.name == "uncertain")
        if group == "Setting":
            assert uncertain.count == 12 - decided
        else:  # the time of day applies to every photo that is not indoor
            undecided = (
                set(ids)
                - set(lib.photos_with_tag("indoor"))
                - {
                    r[0]
                    for r in lib.catalog.query(
                        "SELECT photo_id FROM effective_tags WHERE category = ?", (group,)
                    )
                }
            )
            assert uncertain.count == len(undecided)
    assert next(c for c in counts if c.name == "trip").category is None


def test_auto_tag_cache_notices_other_writers(tagged_library, make_library):
    lib = tagged_library
    lib.autotag()  # its in-memory copy of auto_tags is warm
    other = make_library(lib.folder)
    cat = next(c for c in other.categories() if c.name == "Setting")
    cat.threshold = 0.999
    assert other.save_category(cat).removed > 0  # another process re-tags
    summary = lib.autotag()  # must diff against the catalog, not its stale memory
    assert (summary.added, summary.removed, summary.changed) == (0, 0, 0)
    setting = lib.catalog.scalar(
        "SELECT COUNT(*) FROM auto_tags a JOIN label_info li ON li.label_id = a.label_id "
        "WHERE li.category = 'Setting'"
    )
    assert setting == sum(
        c.count for c in lib.tag_counts() if c.category == "Setting" and c.name != "uncertain"
    )
