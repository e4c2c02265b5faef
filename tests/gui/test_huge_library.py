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
    kind, _, (ids, names) = window._run_browse(SearchQuery())
    assert kind == "browse" and len(ids) == N_PHOTOS and set(names) == set(ids[:5])
    wait_idle(qtbot, window)
    model = window.grid.photo_model
    assert model.rowCount() == N_PHOTOS
    paths = library.photo_details(ids)
    shown = [model.data(model.index(row), 0) for row in range(N_PHOTOS)]  # DisplayRole
    assert shown == [os.path.basename(paths[model.ids[row]]["path"]) for row in range(N_PHOTOS)]
