"""The app: teach a tag from a selection, review a page with y/n and ✓/✗, find more like these."""

from __future__ import annotations

from PySide6.QtCore import Qt

from photosort.gui import teach_dialog
from tests.gui.conftest import wait_idle


def _evening_ids(library, generated_photos) -> list[int]:
    ids, _ = library.photo_ids_for_paths(
        [p.path for p in generated_photos if p.truth.time_of_day in ("dusk", "night")]
    )
    return ids


def test_teach_from_selection_and_review_a_page(make_window, library, qtbot, generated_photos):
    window = make_window(library)
    examples = _evening_ids(library, generated_photos)[:5]
    window.grid.select_ids(examples)
    dialog = teach_dialog.teach_from_selection(window, tag="evening")
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.pages == 1 and not dialog.busy, timeout=30000)
    assert "examples" in dialog.estimate.text()
    first_page = [t.photo_id for t in dialog.tiles]
    assert 0 < len(first_page) <= teach_dialog.PAGE
    assert not set(first_page) & set(examples)  # only undecided photos are reviewed

    # y on the highlighted tile, n on the next one; ✗ clicked on a third
    qtbot.keyClick(dialog, Qt.Key.Key_Y)
    qtbot.keyClick(dialog, Qt.Key.Key_N)
    qtbot.mouseClick(dialog.tiles[2].no, Qt.MouseButton.LeftButton)
    assert [t.decision for t in dialog.tiles[:3]] == [True, False, False]
    qtbot.mouseClick(dialog.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pages == 2 and not dialog.busy, timeout=30000)

    tags = library.photo_tags(first_page[:3])
    state = {pid: {t.name: (t.source, t.state) for t in tags[pid]} for pid in first_page[:3]}
    assert state[first_page[0]]["evening"] == ("manual", "on")
    assert state[first_page[1]]["evening"] == ("manual", "off")
    assert state[first_page[2]]["evening"] == ("manual", "off")
    assert not {t.photo_id for t in dialog.tiles} & set(first_page[:3])
    (info,) = library.teacher.list()
    assert (info.tag, info.positives, info.negatives) == ("evening", 6, 2)

    qtbot.mouseClick(dialog.done_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    wait_idle(qtbot, window)
    assert window.sidebar.item_for("tag", "evening") is not None


def test_find_more_like_these(make_window, library, qtbot, generated_photos):
    window = make_window(library)
    chosen = _evening_ids(library, generated_photos)[:3]
    window.grid.select_ids(chosen)
    teach_dialog.find_more_like_selection(window)
    qtbot.waitUntil(lambda: window.grid.photo_model.has_scores, timeout=10000)
    wait_idle(qtbot, window)
    ids = window.grid.photo_model.ids
    assert ids and not set(ids) & set(chosen)
    truth = {str(p.path): p.truth for p in generated_photos}
    paths = library.photo_details(ids[:5])
    top = [truth[paths[pid]["path"]].time_of_day for pid in ids[:5]]
    assert sum(t in ("dusk", "night") for t in top) >= 4, top


def test_discover_view_groups_and_teaches_a_group(make_window, library, qtbot):
    from photosort.gui import discover_view

    window = make_window(library)
    dialog = discover_view.open_discover(window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30000)
    assert len(dialog.groups) >= 2 and "groups" in dialog.note.text()
    assert sum(g.size for g in dialog.groups) == len(library.browse())
    group = dialog.groups[0]
    review = dialog.teach_group(group, "first group")
    qtbot.addWidget(review)
    qtbot.waitUntil(lambda: review.pages == 1 and not review.busy, timeout=30000)
    (info,) = library.teacher.list()
    assert info.tag == "first group" and info.positives == len(group.central)
    review.close()
    dialog.close()
    wait_idle(qtbot, window)
