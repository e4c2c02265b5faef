"""File → Export selection…: the selected photos (or a search's results) go through the
same export dialog and core export as tags do."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt

from tests.gui.conftest import wait_idle


def run_export(qtbot, dialog, dest) -> None:
    dialog.dest_edit.setText(str(dest))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.task is None and dialog.summary is not None, timeout=30000)


def photo_files(folder) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.suffix in (".jpg", ".png", ".webp"))


def test_export_selection_copies_exactly_the_selected_photos(make_window, library, qtbot, tmp_path):
    window = make_window(library)
    ids = window.grid.photo_model.ids[2:5]
    window.grid.select_ids(ids)
    window.export_selection_action.trigger()
    dialog = window.export_dialog
    assert dialog.isVisible() and dialog.windowTitle() == "Export 3 selected photos"
    assert not dialog.tag_list.isVisibleTo(dialog)  # no tag to tick: the photos are picked
    dest = tmp_path / "picked"
    run_export(qtbot, dialog, dest)
    assert "3 photos copied" in dialog.summary_label.text()
    paths = library.catalog.query(
        f"SELECT path FROM photos WHERE id IN ({','.join('?' * len(ids))})", ids
    )
    assert photo_files(dest) == sorted(os.path.basename(r[0]) for r in paths)
    run_export(qtbot, dialog, dest)  # the same export again copies nothing
    assert "0 photos copied" in dialog.summary_label.text() and "3 already there" in (
        dialog.summary_label.text()
    )
    assert len(photo_files(dest)) == 3
    dialog.close()


def test_with_nothing_selected_the_search_results_are_exported(
    make_window, library, qtbot, tmp_path
):
    window = make_window(library)
    window.search_bar.set_text("a red ball")
    qtbot.waitUntil(lambda: window.grid.photo_model.has_scores, timeout=60000)
    wait_idle(qtbot, window)
    window.grid.clearSelection()
    shown = window.grid.photo_model.rowCount()
    assert 0 < shown < library.status().photos  # the relevant ones, not the whole library
    window.export_selection()
    dialog = window.export_dialog
    assert dialog.windowTitle() == f"Export the {shown} photos shown"
    dest = tmp_path / "results"
    run_export(qtbot, dialog, dest)
    assert len(photo_files(dest)) == shown
    dialog.close()
