"""Issue 14 details found by using the app under a real X server: a short result list keeps
the grid's columns, the Tags hint fits the sidebar, the first-run hint goes once a scan runs."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics

from tests.gui.conftest import wait_idle


def first_row(grid, count: int) -> int:
    rects = [grid.visualRect(grid.photo_model.index(r)) for r in range(count)]
    return sum(1 for r in rects if r.top() == rects[0].top())


def test_a_short_result_list_keeps_every_column(make_window, library, qtbot):
    window = make_window(library)
    window.resize(1280, 760)
    grid = window.grid
    qtbot.waitUntil(lambda: grid.viewport().width() > 600)
    qtbot.wait(100)
    ids = grid.photo_model.ids
    assert grid.verticalScrollBar().isVisible()  # the whole library: it scrolls
    columns = first_row(grid, len(ids))
    assert columns >= 3
    grid.photo_model.set_photos(ids[: columns + 1], None)  # a few results: no scroll bar
    qtbot.waitUntil(lambda: not grid.verticalScrollBar().isVisible())
    qtbot.wait(50)
    assert first_row(grid, columns + 1) == columns  # before: one column fewer, wider gaps
    cell = grid.visualRect(grid.photo_model.index(0)).width()
    assert columns * cell > grid.viewport().width() * 0.85  # the row spans the width


def test_the_tags_hint_is_readable_in_the_sidebar(make_window, library, qtbot):
    window = make_window(library)
    window.resize(1280, 760)  # the sidebar at its usual 220 px
    sidebar = window.sidebar
    qtbot.wait(100)
    hints = [
        sidebar.topLevelItem(i).child(j)
        for i in range(sidebar.topLevelItemCount())
        for j in range(sidebar.topLevelItem(i).childCount())
        if not sidebar.topLevelItem(i).child(j).flags()
    ]
    assert hints, "no hint under Tags in a library without manual tags"
    hint = hints[0]
    width = QFontMetrics(sidebar.font()).horizontalAdvance(hint.text(0))
    room = sidebar.viewport().width() - sidebar.visualItemRect(hint).left()
    assert hint.isFirstColumnSpanned() and width <= room, hint.text(0)  # not elided
    assert "Add tag" in hint.toolTip(0)


def test_the_first_run_hint_goes_when_the_scan_starts(make_window, make_library, photo_tree, qtbot):
    window = make_window(make_library())
    window.status_note.setText("Start with File → Add folder… to index your photos.")
    window.add_folder(str(photo_tree))
    assert "Start with" not in window.status_note.text()
    qtbot.waitUntil(lambda: window.bulk_task is None, timeout=120000)
    wait_idle(qtbot, window, timeout=60000)


def test_the_details_panel_never_scrolls_sideways(make_window, library, qtbot):
    """A long folder path made the panel wider than itself: a sideways scroll bar, the
    preview and the Add button cut off on the right."""
    window = make_window(library)
    window.resize(1280, 760)
    details = window.details
    window.grid.select_ids(window.grid.photo_model.ids[:1])
    qtbot.waitUntil(lambda: details.info is not None, timeout=10000)
    qtbot.wait(200)
    assert len(details.info.details[details.info.ids[0]]["folder"]) > 40  # a long path
    assert details.widget().width() <= details.viewport().width()
    assert not details.horizontalScrollBar().isVisible()
    assert details.info.details[details.info.ids[0]]["folder"] in details.title.toolTip()


def test_the_preview_takes_the_keyboard(make_window, library, qtbot):
    """Under a real X server the preview opened behind the keyboard focus: → moved the
    grid's selection instead of showing the next photo."""
    window = make_window(library)
    ids = window.grid.photo_model.ids
    window.grid.select_ids(ids[:1])
    window.open_preview(ids[0])
    dialog = window.preview_dialog
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)
    qtbot.keyClick(dialog, Qt.Key.Key_Right)
    assert dialog.current_id() == ids[1]
    assert window.grid.selected_ids() == ids[:1]
    dialog.close()
    wait_idle(qtbot, window)


def test_the_preview_starts_at_the_clicked_photo_without_copying_the_grid(
    make_window, library, qtbot
):
    """At a million photos, copying the grid's ids and searching them for the clicked one
    cost the click tens of milliseconds: the preview reads the grid's own array."""
    window = make_window(library)
    model = window.grid.photo_model
    last = model.ids[-1]
    window.open_preview(last)
    dialog = window.preview_dialog
    assert dialog.current_id() == last and dialog.position == len(model.ids) - 1
    assert dialog.ids is model.id_array
    assert f"{len(model.ids)} / {len(model.ids)}" in dialog.caption.text()
    qtbot.keyClick(dialog, Qt.Key.Key_Left)
    assert dialog.current_id() == model.ids[-2]
    dialog.close()
    wait_idle(qtbot, window)
