"""Start the desktop app: QApplication, settings, the Library, the main window."""

from __future__ import annotations

import gc
import sys
from typing import cast

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from photosort.core.errors import PhotosortError
from photosort.core.library import Library
from photosort.gui.resources import resource_path


def application() -> QApplication:
    """The QApplication (created once), named so QSettings has a home."""
    # instance() is typed QCoreApplication; here it is always the QApplication made below
    app = cast(QApplication, QApplication.instance() or QApplication(sys.argv[:1]))
    app.setOrganizationName("photosort")
    app.setApplicationName("photosort")
    app.setApplicationDisplayName("photosort")
    app.setDesktopFileName("photosort")
    style = resource_path("style.qss")
    if style is not None:
        app.setStyleSheet(style.read_text(encoding="utf-8"))
    return app


def open_library(
    library: str | None, model: str | None, device: str | None, settings: QSettings
) -> Library:
    """Command-line choices win, then the model the library's vectors come from, then
    Preferences (QSettings), then the Library's defaults.

    The library's own model comes before Preferences: after ``photosort reindex --model``
    the app opened with the old model from its settings and found "another model"."""
    folder = library or settings.value("library") or None
    device = device or settings.value("device") or None
    preferred = settings.value("model") or None
    if not model and preferred:
        opened = Library(folder, device=device)  # cheap: no model is loaded
        if opened.model_recorded():
            return opened
        opened.close()
        model = preferred
    return Library(folder, model=model, device=device)


def run_app(library: str | None = None, model: str | None = None, device: str | None = None) -> int:
    app = application()
    from photosort.gui.main_window import MainWindow, app_icon
    from photosort.gui.model_setup import weights_cached

    app.setWindowIcon(app_icon())
    settings = QSettings()
    try:
        lib = open_library(library, model, device, settings)
    except PhotosortError as exc:  # the one root: catalog, model and library problems alike
        QMessageBox.critical(None, "photosort cannot open the library", str(exc))
        return 2
    window = MainWindow(lib, settings)
    window.show()
    # What starting made (modules, classes, widgets: ~50k objects) lives as long as the
    # app; parked outside the collector's full passes, which otherwise held the GIL
    # 150-200 ms each, about once a second while a huge library's names load (as
    # Library.embedder does after the model loads).
    gc.freeze()

    def first_run() -> None:
        if not lib.root_paths():
            window.status_note.setText("Start with File → Add folder… to index your photos.")
        if not lib.model_recorded() and not weights_cached(lib.model_spec):
            window.model_problem()  # the one dialog; model errors meanwhile only update it

    QTimer.singleShot(0, first_run)
    try:
        return app.exec()
    finally:
        from photosort.gui import tasks

        tasks.shutdown()  # pools and relays go while the QApplication still exists
        window.library.close()
