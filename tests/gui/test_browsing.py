"""What a digiKam/Lightroom user expects of browsing: an empty state, results from the top,
relevant results only, file names, sort, dates, sizes, preview, a window that fits, tag
housekeeping with undo, and a category editor that does not ask twice."""

from __future__ import annotations

import os

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from tests.gui.conftest import N_PHOTOS, wait_idle


def wait_search(qtbot, window, text: str) -> None:
    window.search_bar.set_text(text)
    qtbot.waitUntil(lambda: window.grid.photo_model.has_scores, timeout=15000)
    wait_idle(qtbot, window)


def test_empty_library_shows_a_start_page_and_counts_without_the_model(
    make_library, make_window, qtbot, photo_tree
):
    lib = make_library()
    from photosort.gui.main_window import MainWindow

    window = MainWindow(lib, None)
    window.preload_on_show = False
    qtbot.addWidget(window)
    window.show()
    wait_idle(qtbot, window)
    assert window.grid_stack.currentWidget() is window.empty_state
    assert window.empty_state.button.text() == "Add a photo folder…"
    assert window.library_label.text() == "no photos · model tiny_clip"
    assert "0 photos" not in window.status_note.text()
    assert not lib.model_loaded  # the sidebar's counts came from the catalog alone
    assert window.sidebar.item_for("tag", "night") is not None
    # a folder dropped onto the window is added and scanned
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(photo_tree))])
    drop = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(drop)
    assert window.bulk_task is not None
    assert window.grid_stack.currentWidget() is window.grid
    qtbot.waitUntil(lambda: window.bulk_task is None, timeout=240000)
    wait_idle(qtbot, window)
    assert window.grid.photo_model.rowCount() == 12
    assert window.library_label.text() == "12 photos · model tiny_clip"
    names = {window.grid.photo_model.index(r).data() for r in range(12)}
    assert names == {p.name for p in photo_tree.rglob("*.*")}  # file names under thumbnails
    window.close()


def test_a_search_while_the_model_loads_says_so(library, make_window, qtbot):
    from photosort.gui.main_window import MainWindow

    window = MainWindow(library, None)
    window.preload_on_show = False
    qtbot.addWidget(window)
    window.show()
    wait_idle(qtbot, window)
    assert not library.model_loaded
    window.search_bar.set_text("a red ball")
    assert window.browse_bar.count_label.text() == "Loading the model…"
    qtbot.waitUntil(lambda: window.grid.photo_model.has_scores, timeout=120000)
    wait_idle(qtbot, window)
    assert "relevant" in window.browse_bar.count_label.text()
    window.close()


def test_the_model_preloads_after_the_window_shows(library, make_window, qtbot):
    window = make_window(library)
    qtbot.waitUntil(lambda: library.model_loaded, timeout=120000)
    wait_idle(qtbot, window)


def test_new_results_start_at_the_top_and_show_names_not_bare_scores(make_window, library, qtbot):
    window = make_window(library)
    window.resize(900, 600)
    window.browse_bar.size_slider.setValue(200)  # big cells: the grid scrolls
    wait_search(qtbot, window, "a car")
    window.browse_bar.show_all_button.click()
    grid = window.grid
    bar = grid.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=5000)
    grid.select_ids(grid.photo_model.ids[-1:])  # the worst match, at the bottom
    bar.setValue(bar.maximum())
    wait_search(qtbot, window, "a red ball")
    assert bar.value() == 0  # the best match is on screen, not the old position
    model = grid.photo_model
    first = model.index(0)
    assert first.data() == os.path.basename(
        library.photo_details([model.ids[0]])[model.ids[0]]["path"]
    )
    assert "match score" in first.data(Qt.ItemDataRole.ToolTipRole)
    window.back_to_browsing()
    wait_idle(qtbot, window)
    assert "." in model.index(0).data() and "0.000" not in model.index(0).data()


def test_sort_date_range_and_thumbnail_size(make_window, library, qtbot):
    window = make_window(library)
    bar = window.browse_bar
    bar.set_sort("name")
    wait_idle(qtbot, window)
    model = window.grid.photo_model
    names = [model.index(r).data() for r in range(model.rowCount())]
    assert names == sorted(names, key=str.lower) and len(names) == N_PHOTOS
    bar.set_sort("date")
    wait_idle(qtbot, window)
    dates = library.photo_details(model.ids)
    taken = [dates[i]["taken_at"] for i in model.ids if dates[i]["taken_at"]]
    assert taken == sorted(taken, reverse=True) and len(taken) > 2
    middle = sorted(taken)[len(taken) // 2][:10]
    bar.dates_check.setChecked(True)
    from PySide6.QtCore import QDate

    bar.date_from.setDate(QDate.fromString(middle, "yyyy-MM-dd"))
    wait_idle(qtbot, window)
    shown = library.photo_details(model.ids)
    assert 0 < model.rowCount() < N_PHOTOS
    assert all(d["taken_at"] and d["taken_at"][:10] >= middle for d in shown.values())
    bar.dates_check.setChecked(False)
    wait_idle(qtbot, window)
    assert model.rowCount() == N_PHOTOS
    # thumbnail size: the cells follow, and the columns fill the whole width
    window.resize(1000, 700)
    qtbot.wait(50)
    bar.size_slider.setValue(120)
    small = window.grid.itemDelegate().cell.width()
    bar.size_slider.setValue(220)
    big = window.grid.itemDelegate().cell.width()
    assert big > small
    grid = window.grid
    columns = max(1, grid.viewport().width() // (big + grid.spacing()))
    unused = grid.viewport().width() - columns * (big + grid.spacing())
    assert unused < columns + 2 * grid.spacing() + 2  # no empty strip on the right


def test_preview_steps_and_never_enlarges_small_photos(make_window, library, qtbot):
    window = make_window(library)
    ids = window.grid.photo_model.ids
    window.open_preview(ids[0])
    dialog = window.preview_dialog
    qtbot.waitUntil(lambda: dialog.shown_size() is not None, timeout=10000)
    width = library.photo_details([ids[0]])[ids[0]]["width"]
    assert dialog.shown_size().width() <= width  # a small photo is not blown up
    assert not dialog.prev_button.isEnabled() and dialog.next_button.isEnabled()
    qtbot.keyClick(dialog, Qt.Key.Key_Right)
    assert dialog.current_id() == ids[1]
    qtbot.waitUntil(lambda: dialog.shown_id == ids[1], timeout=10000)
    assert f"2 / {N_PHOTOS}" in dialog.caption.text()
    dialog.close()
    wait_idle(qtbot, window)


def test_window_fits_a_1366x768_screen(make_window, library, qtbot):
    window = make_window(library)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 768 - 40
    window.resize(1366, 728)
    qtbot.wait(50)
    status = window.statusBar()
    assert status.isVisible() and status.geometry().bottom() <= window.height()
    assert window.activity.geometry().right() <= status.width()


def test_rename_merge_delete_tags_from_the_app_with_undo(make_window, library, qtbot):
    window = make_window(library)
    ids = window.grid.photo_model.ids
    window.apply_tags(ids[:2], ["Favourite"], [])
    window.apply_tags(ids[2:3], ["FAVOURITE"], [])  # the same tag
    wait_idle(qtbot, window)
    assert window.sidebar.item_for("tag", "Favourite").text(1) == "3"
    window.apply_tags(ids[3:4], ["keep"], [])
    assert window.rename_tag("favourite", "Keep")  # merge
    wait_idle(qtbot, window)
    assert window.sidebar.item_for("tag", "Favourite") is None
    assert window.sidebar.item_for("tag", "keep").text(1) == "4"
    window.undo_stack.undo()
    wait_idle(qtbot, window)
    assert window.sidebar.item_for("tag", "Favourite").text(1) == "3"
    assert window.sidebar.item_for("tag", "keep").text(1) == "1"
    assert window.delete_tag("keep", confirm=False)
    wait_idle(qtbot, window)
    assert window.sidebar.item_for("tag", "keep") is None
    window.undo_stack.undo()
    wait_idle(qtbot, window)
    assert window.sidebar.item_for("tag", "keep") is not None
    assert window.rename_category("Things", "Subjects")
    wait_idle(qtbot, window)
    assert "Subjects" in [c.name for c in library.categories()]
    assert window.remove_label("Subjects", "receipt")
    wait_idle(qtbot, window)
    assert window.sidebar.item_for("tag", "receipt") is None
    window.undo_stack.undo()
    window.undo_stack.undo()
    wait_idle(qtbot, window)
    assert window.sidebar.item_for("tag", "receipt") is not None
    assert "Things" in [c.name for c in library.categories()]


def test_category_editor_asks_nothing_after_save_and_new_categories_start_empty(
    make_window, library, qtbot, monkeypatch
):
    from photosort.gui.category_editor import CategoryEditor

    window = make_window(library)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or None)
    editor = CategoryEditor(library, window)
    qtbot.addWidget(editor)
    editor.show()
    editor.new_category()
    assert editor.label_table.rowCount() == 0  # no bogus "something" label
    editor.name_edit.setText("things")  # "Things" exists
    editor._edited()
    editor.add_label()
    editor.save_current()
    assert "already exists" in editor.error_label.text()
    editor.name_edit.setText("Mood")
    editor._edited()
    editor.save_current()
    qtbot.waitUntil(lambda: editor.changed and not editor.dirty, timeout=15000)
    editor.accept()
    # the window's own path after the editor saved: no second "Re-tag all photos now?"
    monkeypatch.setattr(CategoryEditor, "exec", lambda self: setattr(self, "changed", True))
    window.open_category_editor()
    wait_idle(qtbot, window)
    assert asked == []
    assert "Mood" in [c.name for c in library.categories()]


def test_a_model_that_cannot_load_is_not_switched_to(
    make_window, library, qtbot, settings, tmp_path, monkeypatch
):
    window = make_window(library)
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warnings.append(a[2]))
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "open_clip_config.json").write_text("{}")
    window.change_model(f"local-dir:{broken}", "cpu")
    qtbot.waitUntil(lambda: not window.reindexing.running, timeout=60000)
    assert warnings and "could not be loaded" in warnings[0]
    assert window.library is library
    assert settings.value("model") is None  # nothing saved
    wait_idle(qtbot, window)


def test_a_search_with_another_models_library_offers_to_reindex(
    make_library, indexed_template, tmp_path, qtbot, settings
):
    import shutil
    from pathlib import Path

    from photosort.gui.main_window import MainWindow

    folder = tmp_path / "library"
    shutil.copytree(indexed_template, folder)
    other = tmp_path / "other_clip"
    shutil.copytree(Path(__file__).resolve().parents[1] / "fixtures" / "tiny_clip", other)
    lib = make_library(folder, model=f"local-dir:{other}")
    window = MainWindow(lib, settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.total_photos == N_PHOTOS, timeout=60000)
    window.search_bar.set_text("a red ball")
    qtbot.waitUntil(lambda: window.browse_bar.reindex_button.isVisibleTo(window), timeout=120000)
    assert "photosort reindex --model local-dir:" in window.status_note.text()
    window.browse_bar.reindex_button.click()
    assert window.reindexing.running
    qtbot.waitUntil(lambda: not window.reindexing.running, timeout=240000)
    assert window.reindexing.last.swapped
    qtbot.waitUntil(lambda: window.grid.photo_model.has_scores, timeout=60000)
    wait_idle(qtbot, window, timeout=60000)
    assert window.grid.photo_model.rowCount() > 0
    assert not window.browse_bar.reindex_button.isVisibleTo(window)
    window.close()
