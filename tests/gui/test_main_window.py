"""The desktop window end to end: browse, search, filter, tag with undo, restart, export."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt

from photosort.core.search import SearchQuery
from tests.gui.conftest import N_PHOTOS, wait_idle


def click_sidebar(qtbot, window, kind: str, value: str) -> None:
    item = window.sidebar.item_for(kind, value)
    assert item is not None, f"no sidebar entry {kind}:{value}"
    window.sidebar.scrollToItem(item)
    rect = window.sidebar.visualItemRect(item)
    qtbot.mouseClick(window.sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    wait_idle(qtbot, window)


def test_window_opens_and_browses_with_visible_thumbnails(make_window, library, qtbot):
    window = make_window(library)
    model = window.grid.photo_model
    assert model.rowCount() == N_PHOTOS
    assert model.ids == library.browse()
    assert window.sidebar.item_for("folder", library.roots()[0]["path"]) is not None
    assert window.sidebar.item_for("tag", "night") is not None  # default categories
    qtbot.waitUntil(lambda: window.thumbnails.requested > 0, timeout=10000)  # first paint
    qtbot.waitUntil(lambda: window.thumbnails.pending_count() == 0, timeout=10000)
    # only rows that were painted asked for a thumbnail, and they are cached on disk
    assert 0 < window.thumbnails.requested <= N_PHOTOS
    cached = list((library.folder / "thumbs").rglob("*.jpg"))
    assert len(cached) == window.thumbnails.requested


def test_typing_a_query_fills_the_grid_with_matching_photos(
    make_window, library, qtbot, generated_photos
):
    window = make_window(library)
    qtbot.keyClicks(window.search_bar.edit, "a red ball")
    qtbot.waitUntil(lambda: window.grid.photo_model.has_scores, timeout=10000)
    wait_idle(qtbot, window)
    model = window.grid.photo_model
    assert 0 < model.rowCount() <= N_PHOTOS
    scores = [model.score(r) for r in range(model.rowCount())]
    assert scores == sorted(scores, reverse=True)
    truth = {str(p.path): p.truth for p in generated_photos}
    paths = library.photo_details(model.ids[:10])
    top = [truth[paths[pid]["path"]] for pid in model.ids[:10]]
    red_balls = sum(p.truth.has("red", "ball") for p in generated_photos)
    # only the relevant results are shown (not all 48), and they are red balls
    assert all(t.has("red", "ball") for t in top), top
    assert model.rowCount() < N_PHOTOS
    assert f"Show all {N_PHOTOS}" in window.browse_bar.show_all_button.text()
    assert not window.browse_bar.show_all_button.isHidden()
    # "Show all": every photo, best first, and every red ball of the library in the top ten
    qtbot.mouseClick(window.browse_bar.show_all_button, Qt.MouseButton.LeftButton)
    assert model.rowCount() == N_PHOTOS
    paths = library.photo_details(model.ids[:10])
    top = [truth[paths[pid]["path"]] for pid in model.ids[:10]]
    assert all(any(c == "red" for c, _ in t.objects) for t in top[:3]), top
    assert sum(t.has("red", "ball") for t in top) == red_balls > 0, top
    # Escape clears the search: back to browsing everything
    window.back_to_browsing()
    wait_idle(qtbot, window)
    assert not model.has_scores and model.rowCount() == N_PHOTOS


def test_clicking_a_label_filters_and_combines_with_folder_and_search(make_window, library, qtbot):
    window = make_window(library)
    counts = {(t.category, t.name): t.count for t in library.tag_counts()}
    label = max(("dawn", "day", "dusk", "night"), key=lambda n: counts[("Time of day", n)])
    click_sidebar(qtbot, window, "tag", label)
    expected = library.browse(SearchQuery(tags=[label]))
    assert 0 < len(expected) < N_PHOTOS
    assert window.grid.photo_model.ids == expected
    # + a folder: both filters apply
    folder = os.path.dirname(library.photo_details(expected[:1])[expected[0]]["path"])
    click_sidebar(qtbot, window, "folder", folder)
    both = library.browse(SearchQuery(tags=[label], folder=folder))
    assert window.grid.photo_model.ids == both
    # + a search: results only among the filtered photos
    window.search_bar.set_text("a car")
    wait_idle(qtbot, window)
    assert window.grid.photo_model.has_scores
    assert set(window.grid.photo_model.ids) <= set(both)
    # "uncertain" of an exclusive group = photos with none of its labels
    window.search_bar.clear()
    window.sidebar.clear_filters()
    wait_idle(qtbot, window)
    click_sidebar(qtbot, window, "uncertain", "Time of day")
    labels = ["dawn", "day", "dusk", "night"]
    assert window.grid.photo_model.ids == library.browse(SearchQuery(not_tags=labels))
    click_sidebar(qtbot, window, "all", "")
    assert window.grid.photo_model.rowCount() == N_PHOTOS


def test_tagging_a_selection_undo_redo_and_restart(make_window, library, qtbot, tiny_model):
    from photosort.core.library import Library

    window = make_window(library)
    grid = window.grid
    # click, then shift-click: a range of three photos
    first = grid.visualRect(grid.photo_model.index(0)).center()
    third = grid.visualRect(grid.photo_model.index(2)).center()
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=first)
    qtbot.mouseClick(
        grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, pos=third
    )
    chosen = grid.selected_ids()
    assert len(chosen) == 3
    qtbot.waitUntil(
        lambda: window.details.info is not None and window.details.info.ids == chosen, timeout=5000
    )
    # type a tag in the details panel: applies to the whole selection
    qtbot.keyClicks(window.details.tag_edit, "keepers")
    qtbot.keyClick(window.details.tag_edit, Qt.Key.Key_Return)

    def tagged() -> set[int]:
        tags = library.photo_tags(grid.photo_model.ids)
        return {
            pid
            for pid, ts in tags.items()
            if any(t.name == "keepers" and t.state == "on" for t in ts)
        }

    assert tagged() == set(chosen)
    wait_idle(qtbot, window)
    assert window.sidebar.item_for("tag", "keepers").text(1) == "3"
    window.undo_stack.undo()
    assert tagged() == set()
    window.undo_stack.redo()
    assert tagged() == set(chosen)

    # reject an auto tag of one photo, then undo: the auto tag is back
    auto = [t for t in library.photo_tags([chosen[0]])[chosen[0]] if t.source == "auto"]
    if auto:
        window.apply_tags([chosen[0]], [], [auto[0].name])
        states = {t.name: (t.source, t.state) for t in library.photo_tags([chosen[0]])[chosen[0]]}
        assert states[auto[0].name] == ("manual", "off")
        window.undo_stack.undo()
        states = {t.name: (t.source, t.state) for t in library.photo_tags([chosen[0]])[chosen[0]]}
        assert states[auto[0].name] == ("auto", "on")

    # restart: close window and library, open both again
    folder = library.folder
    window.close()
    library.close()
    reopened = Library(folder, model=tiny_model, device="cpu")
    try:
        again = make_window(reopened)
        assert again.sidebar.item_for("tag", "keepers").text(1) == "3"
        click_sidebar(qtbot, again, "tag", "keepers")
        assert set(again.grid.photo_model.ids) == set(chosen)
        again.close()
    finally:
        reopened.close()


def test_context_menu_and_quick_tag_shortcut(make_window, library, qtbot):
    window = make_window(library)
    window.grid.select_ids(window.grid.photo_model.ids[:2])
    ids = window.grid.selected_ids()
    quick = window.quick_menu.actions()
    assert quick and quick[0].shortcut().toString() == "Ctrl+1"
    name = quick[0].text().split("“")[1].rstrip("”")
    before = {
        pid: {t.name for t in ts if t.state == "on"} for pid, ts in library.photo_tags(ids).items()
    }
    quick[0].trigger()  # toggles: on for all, or off if all had it
    after = {
        pid: {t.name for t in ts if t.state == "on"} for pid, ts in library.photo_tags(ids).items()
    }
    had_everywhere = all(name in before[p] for p in ids)
    assert all((name in after[p]) != had_everywhere for p in ids)
    window.undo_stack.undo()
    restored = {
        pid: {t.name for t in ts if t.state == "on"} for pid, ts in library.photo_tags(ids).items()
    }
    assert restored == before


def test_find_similar_from_the_details_panel(make_window, library, qtbot):
    window = make_window(library)
    target = window.grid.photo_model.ids[5]
    window.grid.select_ids([target])
    qtbot.waitUntil(lambda: window.details.similar_button.isEnabled(), timeout=5000)
    qtbot.mouseClick(window.details.similar_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.grid.photo_model.has_scores, timeout=10000)
    wait_idle(qtbot, window)
    assert window.search_bar.image is not None
    assert target not in window.grid.photo_model.ids  # the query photo itself is left out
    assert window.grid.photo_model.rowCount() == N_PHOTOS - 1


def test_export_dialog_previews_then_writes_files(make_window, library, qtbot, tmp_path):
    from photosort.gui.export_dialog import ExportDialog

    window = make_window(library)
    ids = window.grid.photo_model.ids[:3]
    window.apply_tags(ids, ["to-export"], [])
    dialog = ExportDialog(library, ["to-export"], window)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.selected_tags() == ["to-export"]
    dest = tmp_path / "exported"
    dialog.dest_edit.setText(str(dest))
    dialog.xmp_box.setChecked(True)
    qtbot.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.task is None and dialog.summary is not None, timeout=10000)
    assert dialog.summary.dry_run and dialog.plan_table.rowCount() == 3
    assert not dest.exists() or not any(dest.rglob("*.jpg")) and not any(dest.rglob("*.png"))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.task is None and not dialog.summary.dry_run, timeout=10000)
    written = [p for p in dest.rglob("*") if p.is_file() and p.suffix in (".jpg", ".png")]
    assert len(written) == 3
    assert len(list(dest.rglob("*.xmp"))) == 3
    assert "3 photos copied" in dialog.summary_label.text()
    dialog.close()


def test_grid_stays_light_with_100k_rows(make_window, library, qtbot):
    import time

    window = make_window(library)
    grid = window.grid
    fake = list(range(10_000_000, 10_100_000))
    started = time.perf_counter()
    grid.photo_model.set_photos(fake, None)
    qtbot.wait(50)
    bar = grid.verticalScrollBar()
    for fraction in (0.25, 0.5, 0.75, 1.0):
        bar.setValue(int(bar.maximum() * fraction))
        qtbot.wait(10)
    elapsed = time.perf_counter() - started
    print(
        f"\n100k rows: model set, laid out and scrolled through in {elapsed * 1000:.0f} ms; "
        f"{window.thumbnails.requested} thumbnails requested"
    )
    assert elapsed < 5.0
    assert window.thumbnails.requested < 1500  # only painted rows, never 100k
    qtbot.waitUntil(lambda: window.thumbnails.pending_count() == 0, timeout=10000)


def test_window_geometry_is_kept(make_window, library, qtbot, settings):
    window = make_window(library)
    window.resize(760, 470)  # inside the offscreen screen: restore clamps
    window.close()
    again = make_window(library)
    assert again.size().width() == 760 and again.size().height() == 470


def test_errors_dialog_lists_unreadable_files(qtbot, library, tmp_path):
    from photosort.gui.errors_dialog import ErrorsDialog

    dialog = ErrorsDialog([{"path": str(tmp_path / "bad.jpg"), "reason": "truncated"}])
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 1
    assert dialog.table.item(0, 1).text() == "truncated"


def test_model_setup_explains_and_accepts_a_local_checkpoint(
    qtbot, tmp_path, monkeypatch, tiny_model
):
    from PySide6.QtWidgets import QFileDialog

    from photosort.core.embedder import ModelSpec
    from photosort.gui.model_setup import ModelSetupDialog, weights_cached

    monkeypatch.setenv("PHOTOSORT_MODEL_CACHE", str(tmp_path / "empty-cache"))
    spec = ModelSpec.parse("ViT-B-32:laion2b_s34b_b79k")
    assert not weights_cached(spec)
    dialog = ModelSetupDialog(spec, "cannot load model: no network", None)
    qtbot.addWidget(dialog)
    assert "no network" in dialog.message.text()
    checkpoint = tiny_model.split(":", 1)[1]
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: checkpoint)
    dialog.choose_folder()
    assert dialog.chosen_model == f"local-dir:{checkpoint}"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    dialog.chosen_model = None
    dialog.choose_folder()
    assert dialog.chosen_model is None and "open_clip_config.json" in dialog.message.text()


def test_preferences_change_model_and_reopen(make_window, library, qtbot, settings, tmp_path):
    window = make_window(library)
    checkpoint = str(window.library.model_spec)
    window.change_model(checkpoint, "cpu")  # same: nothing happens
    assert window.library is library
    assert Path(library.folder).is_dir()


def test_search_is_debounced(make_window, library, qtbot):
    window = make_window(library)
    searches = []
    window.search_bar.changed.connect(lambda: searches.append(window.search_bar.text))
    qtbot.keyClicks(window.search_bar.edit, "night")
    qtbot.waitUntil(lambda: bool(searches), timeout=3000)
    wait_idle(qtbot, window)
    assert searches == ["night"]


def test_enter_runs_a_time_of_day_query(make_window, library, qtbot, generated_photos):
    window = make_window(library)
    window.search_bar.edit.setText("a photo taken at night")
    qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.grid.photo_model.has_scores, timeout=10000)
    wait_idle(qtbot, window)
    truth = {str(p.path): p.truth for p in generated_photos}
    ids = window.grid.photo_model.ids[:5]
    paths = library.photo_details(ids)
    assert [truth[paths[i]["path"]].time_of_day for i in ids] == ["night"] * 5


def test_a_tag_filter_whose_tag_is_undone_away_is_dropped(make_window, library, qtbot):
    """Filter on a tag, then undo the tagging: no error, the filter goes, all photos show."""
    window = make_window(library)
    ids = window.grid.photo_model.ids[:2]
    window.apply_tags(ids, ["fleeting"], [])
    wait_idle(qtbot, window)
    click_sidebar(qtbot, window, "tag", "fleeting")
    assert set(window.grid.photo_model.ids) == set(ids)
    errors: list[str] = []
    window._show_error = lambda exc: errors.append(str(exc))
    window.undo_stack.undo()
    wait_idle(qtbot, window)
    window.search_bar.set_text("a red ball")  # a search with the stale filter still answers
    wait_idle(qtbot, window)
    assert errors == []
    assert window.sidebar.filters.tags == []
    assert window.grid.photo_model.has_scores


def test_a_late_sidebar_answer_never_brings_back_stale_counts(
    make_window, library, qtbot, monkeypatch
):
    """Two sidebar loads run at once; the older one answering last must not win."""
    import threading
    import time

    from photosort.gui import library_data

    window = make_window(library)
    ids = window.grid.photo_model.ids
    real = library_data.load_sidebar
    first = threading.Event()

    def slow_first(lib):
        data = real(lib)
        if not first.is_set():
            first.set()
            time.sleep(1.5)  # answers after the newer load below
        return data

    monkeypatch.setattr(library_data, "load_sidebar", slow_first)
    window.apply_tags(ids[:1], ["late"], [])  # load 1: "late" on 1 photo, answers last
    assert first.wait(10)
    window.apply_tags(ids[1:3], ["late"], [])  # load 2: on 3 photos
    qtbot.wait(2500)
    wait_idle(qtbot, window)
    assert window.sidebar.item_for("tag", "late").text(1) == "3"
