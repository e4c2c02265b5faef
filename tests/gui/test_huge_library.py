"""A huge library's grid shows after its first screens of names, not after all of them
(issue 13: 1M names took most of the app's opening time); the rest follow."""

from __future__ import annotations

import os

from photosort.core.search import SearchQuery
from tests.gui.conftest import N_PHOTOS, wait_idle


def test_grid_shows_before_every_name_is_read_and_gets_them_all(
    make_window, library, qtbot, monkeypatch
):
    from photosort.gui import main_window

    monkeypatch.setattr(main_window, "FIRST_NAMES", 5)
    monkeypatch.setattr(main_window, "NAMES_STEP", 10)
    window = make_window(library, wait=False)
    kind, _, (ids, names, _rows) = window._run_browse(SearchQuery())
    assert kind == "browse" and len(ids) == N_PHOTOS and set(names) == set(ids[:5])
    wait_idle(qtbot, window)
    model = window.grid.photo_model
    assert model.rowCount() == N_PHOTOS
    paths = library.photo_details(ids)
    shown = [model.data(model.index(row), 0) for row in range(N_PHOTOS)]  # DisplayRole
    assert shown == [os.path.basename(paths[model.ids[row]]["path"]) for row in range(N_PHOTOS)]


def test_sidebar_counts_start_once_the_grid_shows(make_window, library, qtbot, monkeypatch):
    """At 1M photos the sidebar's folder and tag counts take seconds: opening starts them
    only after the grid has its photos, so they never share the cores with the grid's
    query; the sidebar still fills."""
    from photosort.core.library import Library

    rows_when_counted: list[int] = []
    windows: list = []
    count_folders = Library.folder_counts

    def folder_counts(self):  # a worker reads a plain list's length: no widget touched
        rows_when_counted.append(len(windows[0].grid.photo_model.ids) if windows else -1)
        return count_folders(self)

    monkeypatch.setattr(Library, "folder_counts", folder_counts)
    window = make_window(library, wait=False)
    windows.append(window)
    wait_idle(qtbot, window)
    assert rows_when_counted == [N_PHOTOS]
    assert window.total_photos == N_PHOTOS
    assert window.sidebar.topLevelItemCount() > 0
