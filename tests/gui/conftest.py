"""GUI fixtures: an indexed library made once per session, a window per test, thread checks."""

from __future__ import annotations

import gc
import shutil
import threading
import warnings
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, QThread, QThreadPool  # noqa: E402

N_PHOTOS = 48


@pytest.fixture(scope="session")
def generated_photos(tmp_path_factory: pytest.TempPathFactory):
    """Scene photos with ground truth (red balls, cars, night skies, ...)."""
    from tests.fixtures.scenes import write_library

    folder = tmp_path_factory.mktemp("gui-photos")
    return write_library(folder / "photos", N_PHOTOS, seed=7)


@pytest.fixture(scope="session")
def indexed_template(tmp_path_factory, generated_photos, tiny_model) -> Path:
    """A library folder with every generated photo indexed; tests get a copy of it."""
    from photosort.core.library import Library

    folder = tmp_path_factory.mktemp("gui-template") / "library"
    root = generated_photos[0].path.parents[1]
    with Library(folder, model=tiny_model, device="cpu") as lib:
        summary = lib.scan([root])
        assert summary.failed == 0 and summary.embedded == N_PHOTOS
    return folder


@pytest.fixture
def library(tmp_path, indexed_template, tiny_model):
    from photosort.core.library import Library

    folder = tmp_path / "library"
    shutil.copytree(indexed_template, folder)
    lib = Library(folder, model=tiny_model, device="cpu")
    yield lib
    lib.close()


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot, settings):
    """Open a MainWindow on a library and wait for its first grid; closes it after the test."""
    from photosort.gui.main_window import MainWindow

    windows = []

    def factory(lib, wait: bool = True) -> MainWindow:
        window = MainWindow(lib, settings)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        if wait:
            wait_idle(qtbot, window)
        return window

    yield factory
    for window in windows:
        window.close()


def wait_idle(qtbot, window, timeout: int = 15000) -> None:
    """Until the grid's query and the sidebar's load have landed."""
    from photosort.gui import tasks

    def idle() -> None:
        assert not window.loading
        assert not tasks._RUNNING

    qtbot.waitUntil(idle, timeout=timeout)


@pytest.fixture(autouse=True)
def _no_dangling_threads(qtbot):
    """Fail a test that leaves a pool thread, a QThread or a Python thread running."""
    before = set(threading.enumerate())
    yield
    from photosort.gui import tasks

    pools = [*tasks.all_pools(), QThreadPool.globalInstance()]
    for pool in pools:
        pool.waitForDone(1000)  # a worker may be returning from its last emit
    busy = [p.activeThreadCount() for p in pools if p.activeThreadCount()]
    with warnings.catch_warnings():  # isinstance on every object pokes deprecated torch attrs
        warnings.simplefilter("ignore")
        running = [t for t in gc.get_objects() if isinstance(t, QThread) and t.isRunning()]
    # Qt's pool threads that ran Python show up as dummy threads: the pool check covers them
    new = [
        t for t in set(threading.enumerate()) - before if not isinstance(t, threading._DummyThread)
    ]
    for thread in new:
        thread.join(timeout=1.0)
    extra = [t.name for t in new if t.is_alive()]
    assert not busy, f"thread pools still busy after the test: {busy}"
    assert not running, f"QThreads still running after the test: {running}"
    assert not extra, f"Python threads still running after the test: {extra}"
