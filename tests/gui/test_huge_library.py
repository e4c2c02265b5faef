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
    kind, _, (held, names, _rows) = window._run_browse(SearchQuery())
    ids = held.tolist()  # held as a numpy array: no million-item list for the collector
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


def test_first_screens_show_before_every_id_is_read_and_keep_their_place(
    make_window, library, qtbot, monkeypatch
):
    """Opening lists the first screens of photos first; the rest of the ids (a second or
    more at 1M) are appended below them, keeping the selection made meanwhile."""
    import threading

    from photosort.core.library import Library
    from photosort.gui import main_window

    monkeypatch.setattr(main_window, "FIRST_NAMES", 5)
    everything = threading.Event()
    browse = Library.browse

    def slow_browse(self, query=None, order="date", limit=None):
        if limit is None:  # the whole list waits until the test has used the first rows
            everything.wait(10)
        return browse(self, query, order, limit)

    monkeypatch.setattr(Library, "browse", slow_browse)
    window = make_window(library, wait=False)
    model = window.grid.photo_model
    qtbot.waitUntil(lambda: model.rowCount() == 5 and bool(model.data(model.index(0), 0)))
    assert window.loading  # the rest is still being read
    window.grid.select_ids([model.ids[3]])
    chosen = window.grid.selected_ids()
    everything.set()
    wait_idle(qtbot, window)
    assert model.rowCount() == N_PHOTOS
    assert model.ids == browse(library)
    assert window.grid.selected_ids() == chosen
