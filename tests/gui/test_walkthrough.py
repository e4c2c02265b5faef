"""A new user's first session, driven through the app and checked at each step the way the
user sees it: first run on an empty library, add a folder, scan, search, select, tag, undo,
export by tag and export the selection. It also makes the README's screenshots (into
docs/screenshots with ``PHOTOSORT_SCREENSHOTS=1``, else into a temporary folder).

The model dialog of a first run without cached weights is tested on its own
(tests/gui/test_model_setup*.py); here the model is the repo's tiny CLIP, found locally.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from tests.gui.conftest import N_PHOTOS, wait_idle
from tests.gui.screenshots import DOCS, grab


def test_first_session_from_empty_library_to_export(
    make_library, generated_photos, qtbot, settings, tmp_path
):
    from photosort.gui.category_editor import CategoryEditor
    from photosort.gui.export_dialog import ExportDialog
    from photosort.gui.main_window import MainWindow

    shots_dir = DOCS if os.environ.get("PHOTOSORT_SCREENSHOTS") == "1" else tmp_path / "shots"
    shots: list[Path] = []
    folder = generated_photos[0].path.parents[1]
    truth = {str(p.path): p.truth for p in generated_photos}

    # 1. first run: an empty library, a start page with one button, an honest status bar
    lib = make_library()
    window = MainWindow(lib, settings)
    qtbot.addWidget(window)
    window.resize(1280, 760)  # a 1366x768 laptop, less the panel
    window.show()
    qtbot.waitUntil(lambda: window.total_photos == 0 and not window.loading, timeout=30000)
    assert window.grid_stack.currentWidget() is window.empty_state
    assert window.empty_state.button.isVisible()
    assert window.library_label.text() == "no photos · model tiny_clip"
    assert window.sidebar.item_for("tag", "night").text(1) == "0"
    qtbot.waitUntil(lambda: lib.model_loaded, timeout=120000)  # preloaded in the background
    wait_idle(qtbot, window, timeout=60000)
    shots.append(grab(window, shots_dir / "first_run.png"))

    # 2. add a folder: it scans in the background, with progress and Cancel in view
    window.add_folder(str(folder))
    assert window.bulk_task is not None and window.activity.isVisible()
    assert window.grid_stack.currentWidget() is window.grid
    assert window.activity.geometry().right() <= window.width()
    qtbot.waitUntil(lambda: window.bulk_task is None, timeout=240000)
    wait_idle(qtbot, window, timeout=60000)
    model = window.grid.photo_model
    assert model.rowCount() == N_PHOTOS
    assert window.library_label.text() == f"{N_PHOTOS} photos · model tiny_clip"
    assert window.browse_bar.count_label.text() == f"{N_PHOTOS} photos"
    assert window.sidebar.item_for("folder", str(folder)).text(1) == str(N_PHOTOS)
    first_path = lib.photo_details(model.ids[:1])[model.ids[0]]["path"]
    assert model.index(0).data() == os.path.basename(first_path)  # names under thumbnails
    window.grid.select_ids(model.ids[1:2])
    qtbot.waitUntil(lambda: window.details.info is not None, timeout=10000)
    qtbot.waitUntil(lambda: window.thumbnails.pending_count() == 0, timeout=20000)
    wait_idle(qtbot, window)
    qtbot.wait(300)
    shots.append(grab(window, shots_dir / "main_window.png"))

    # 3. search: the relevant photos, best first, from the top, with a count and "Show all"
    qtbot.keyClicks(window.search_bar.edit, "a red ball")
    qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: model.has_scores, timeout=20000)
    wait_idle(qtbot, window)
    found = [truth[lib.photo_details([pid])[pid]["path"]] for pid in model.ids]
    assert 0 < len(found) < N_PHOTOS and all(t.has("red", "ball") for t in found)
    assert window.browse_bar.count_label.text() == (
        f"{len(found)} relevant result{'s' if len(found) != 1 else ''} of {N_PHOTOS}"
    )
    assert window.browse_bar.show_all_button.text() == f"Show all {N_PHOTOS}"
    assert window.grid.verticalScrollBar().value() == 0

    # 4. select the best match: the details panel shows it
    window.grid.select_ids(model.ids[:1])
    qtbot.waitUntil(
        lambda: window.details.info is not None and window.details.info.ids == model.ids[:1],
        timeout=10000,
    )
    qtbot.waitUntil(lambda: window.thumbnails.pending_count() == 0, timeout=20000)
    wait_idle(qtbot, window)
    qtbot.wait(300)
    shots.append(grab(window, shots_dir / "search.png"))

    # 5. tag it, then undo from the Edit menu: the sidebar and the panel follow each step
    best = model.ids[0]
    window.apply_tags([best], ["Favourite"], [])
    wait_idle(qtbot, window)
    assert window.sidebar.item_for("tag", "Favourite").text(1) == "1"
    assert "Favourite" in [t.name for t in window.details.info.tags[best]]
    undo = next(a for a in window.menuBar().actions() if a.text() == "&Edit").menu().actions()[0]
    assert undo.isEnabled() and undo.text() == "&Undo Tag Favourite (1 photo)"
    undo.trigger()
    wait_idle(qtbot, window)
    assert window.sidebar.item_for("tag", "Favourite") is None
    assert lib.photos_with_tag("Favourite") == []
    window.undo_stack.redo()
    wait_idle(qtbot, window)
    assert lib.photos_with_tag("favourite") == [best]  # any case finds it

    # 6. export the tagged photo
    dialog = ExportDialog(lib, ["Favourite"], window)
    qtbot.addWidget(dialog)
    dialog.show()
    dest = tmp_path / "exported"
    dialog.dest_edit.setText(str(dest))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.task is None and dialog.summary is not None, timeout=20000)
    written = [p for p in dest.rglob("*") if p.is_file() and p.suffix in (".jpg", ".png")]
    assert [p.name for p in written] == [os.path.basename(lib.photo_details([best])[best]["path"])]
    assert "1 photo" in dialog.summary_label.text()
    dialog.close()

    # 7. export the selection (File → Export selection…): the same dialog, the picked photos
    window.grid.select_ids(model.ids[:2])
    qtbot.waitUntil(lambda: len(window.grid.selected_ids()) == 2)
    window.export_selection_action.trigger()
    picked = window.export_dialog
    assert picked.windowTitle() == "Export 2 selected photos"
    picked.dest_edit.setText(str(tmp_path / "picked"))
    qtbot.mouseClick(picked.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: picked.task is None and picked.summary is not None, timeout=20000)
    assert "2 photos copied" in picked.summary_label.text()
    picked.close()

    # the category editor, for the README
    editor = CategoryEditor(lib, window)
    editor.confirm_close = False
    qtbot.addWidget(editor)
    editor.resize(1100, 660)
    editor.show()
    qtbot.waitUntil(lambda: bool(editor.previews), timeout=20000)
    row = max(
        range(editor.label_table.rowCount()),
        key=lambda r: int(editor.label_table.item(r, 2).text() or 0),
    )
    editor.label_table.setCurrentCell(row, 0)
    qtbot.wait(100)
    shots.append(grab(editor, shots_dir / "category_editor.png"))
    editor.close()
    window.close()
    for path in shots:
        image = QImage(str(path))
        assert image.width() > 800 and image.height() > 500, path
