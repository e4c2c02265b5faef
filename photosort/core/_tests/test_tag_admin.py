"""Tags match whatever their case; rename, merge, delete, category rename, label removal, undo."""

from __future__ import annotations

import pytest

from photosort.core.categories import CategoryError
from photosort.core.search import SearchQuery
from photosort.core.store import tag_admin as tag_admin_store


@pytest.fixture
def lib(make_library, photo_tree):
    library = make_library()
    library.scan([photo_tree])
    return library


def _ids(lib):
    return sorted(r[0] for r in lib.catalog.query("SELECT id FROM photos"))


def test_tags_match_case_insensitively_and_keep_the_first_spelling(lib):
    a, b, c = _ids(lib)[:3]
    lib.tag_photos([a], add=["Family trip"])
    lib.tag_photos([b], add=["family trip"])
    lib.tag_photos([c], add=["FAMILY TRIP"])
    counts = {t.name: t.count for t in lib.tag_counts() if t.category is None}
    assert counts == {"Family trip": 3}
    assert lib.photos_with_tag("family TRIP") == [a, b, c]
    assert set(lib.browse(SearchQuery(tags=["family trip"]))) == {a, b, c}
    # a label keeps its own spelling too: "DOG" on a photo is the label "dog"
    lib.tag_photos([a], add=["DOG"])
    assert any(t.name == "dog" and t.category == "Things" for t in lib.photo_tags([a])[a])
    lib.tag_photos([b], remove=["family TRIP"])
    assert lib.photos_with_tag("Family trip") == [a, c]


def test_migration_merges_duplicates_the_newest_decision_winning(lib):
    a, b = _ids(lib)[:2]
    with lib.catalog.transaction() as conn:  # an old catalog, before the NOCASE indexes
        for index in ("categories_name_nocase", "labels_name_nocase", "manual_tags_nocase"):
            conn.execute(f"DROP INDEX {index}")
        conn.executemany(
            "INSERT INTO manual_tags (photo_id, tag, state, updated_at) VALUES (?, ?, ?, ?)",
            [
                (a, "FAVOURITE", "on", "2024-01-01"),
                (a, "favourite", "on", "2024-01-02"),
                (b, "favourite", "on", "2024-01-01"),
                (b, "Dog", "off", "2024-01-01"),
                (b, "dog", "on", "2024-02-01"),
            ],
        )
        tag_admin_store._merge_case_duplicates(conn)
    rows = lib.catalog.query("SELECT photo_id, tag, state FROM manual_tags ORDER BY 1, 2")
    assert [tuple(r) for r in rows] == [
        (a, "favourite", "on"),
        (b, "dog", "on"),  # the label's spelling, the newer decision
        (b, "favourite", "on"),
    ]
    # no new duplicate can come in
    with pytest.raises(Exception, match="UNIQUE"), lib.catalog.transaction() as conn:
        conn.execute("INSERT INTO manual_tags VALUES (?, 'FAVOURITE', 'on', 'x')", (a,))


def test_rename_merge_and_delete_a_tag_with_undo(lib):
    a, b, c = _ids(lib)[:3]
    lib.tag_photos([a, b], add=["holiday"])
    lib.tag_photos([c], add=["Trip"])
    snap = lib.tag_snapshot(["holiday", "Trip"])
    assert "merged 'holiday' into 'Trip'" in lib.rename_tag("Holiday", "trip")
    assert lib.photos_with_tag("Trip") == [a, b, c]
    assert lib.photos_with_tag("holiday") == []
    lib.restore_tags(snap, ["trip"])  # undo
    assert lib.photos_with_tag("holiday") == [a, b]
    assert lib.photos_with_tag("Trip") == [c]
    assert lib.rename_tag("holiday", "Summer 2024") == "renamed 'holiday' to 'Summer 2024'"
    assert lib.photos_with_tag("summer 2024") == [a, b]
    assert lib.delete_tag("SUMMER 2024") == 2
    assert lib.photos_with_tag("Summer 2024") == []
    with pytest.raises(CategoryError, match="did you mean 'Trip'"):
        lib.delete_tag("trp")
    with pytest.raises(CategoryError, match="remove-label"):
        lib.delete_tag("dog")  # a label is removed from its category, not deleted


def test_rename_a_label_keeps_manual_decisions(lib):
    a = _ids(lib)[0]
    lib.tag_photos([a], add=["dog"])
    lib.rename_tag("dog", "Doggo")
    labels = [lb.name for c in lib.categories() for lb in c.labels]
    assert "Doggo" in labels and "dog" not in labels
    assert any(t.name == "Doggo" and t.source == "manual" for t in lib.photo_tags([a])[a])


def test_rename_category_and_remove_label_with_undo(lib):
    a = _ids(lib)[0]
    lib.tag_photos([a], add=["beach"])
    with pytest.raises(CategoryError, match="already exists"):
        lib.rename_category("things", "SETTING")
    lib.rename_category("things", "Stuff")
    assert [c.name for c in lib.categories()] == ["Time of day", "Setting", "Light", "Stuff"]
    snap = lib.tag_snapshot(["beach"], ["Stuff"])
    lib.remove_label("stuff", "Beach")
    stuff = next(c for c in lib.categories() if c.name == "Stuff")
    assert "beach" not in [lb.name for lb in stuff.labels]
    assert lib.photos_with_tag("beach") == [a]  # the photo tagged by hand keeps it
    lib.restore_tags(snap)
    stuff = next(c for c in lib.categories() if c.name == "Stuff")
    assert stuff.labels[0].name == "beach"
    with pytest.raises(CategoryError, match="too few labels"):
        lib.remove_label("Setting", "indoor")


def test_time_of_day_applies_only_to_outdoor_photos(lib):
    cats = {c.name: c for c in lib.categories()}
    assert cats["Time of day"].applies_if == "outdoor"
    times = {lb.name for lb in cats["Time of day"].labels}
    ids = _ids(lib)
    tags = lib.photo_tags(ids)
    outdoor = {pid for pid in ids if any(t.name == "outdoor" for t in tags[pid])}
    timed = {pid for pid in ids if any(t.name in times for t in tags[pid])}
    assert timed <= outdoor
    # a photo marked indoor by hand loses its time of day at the next re-tag
    if timed:
        pid = sorted(timed)[0]
        lib.tag_photos([pid], add=["indoor"])
        lib.autotag()
        assert not any(t.name in times for t in lib.photo_tags([pid])[pid])
    # and a photo marked outdoor gets one considered (tagged, or counted uncertain)
    indoor = sorted(set(ids) - outdoor)
    if indoor:
        lib.tag_photos(indoor[:1], add=["outdoor"])
        summary = lib.autotag()
        has_time = any(t.name in times for t in lib.photo_tags(indoor[:1])[indoor[0]])
        assert has_time or summary.uncertain["Time of day"] > 0
    uncertain = next(
        t.count for t in lib.tag_counts() if t.category == "Time of day" and t.name == "uncertain"
    )
    assert uncertain <= len(lib.photos_with_tag("outdoor"))


def test_the_editors_preview_counts_only_photos_the_category_applies_to(lib):
    time_of_day = next(c for c in lib.categories() if c.name == "Time of day")
    preview = lib.preview_label(time_of_day, "night")
    assert len(preview.scores) == len(lib.photos_with_tag("outdoor"))
    assert set(preview.photo_ids.tolist()) == set(lib.photos_with_tag("outdoor"))
