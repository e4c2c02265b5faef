"""Watched folders in the app: while the window is open, changes in its roots are indexed.

The core watcher (core/watch.py) collects file-system events on its own threads; a timer on
the GUI thread picks up settled batches and starts an ordinary background rescan of the
roots they touch, so a burst of 1,000 new files is one scan and the window never waits.
"""

from __future__ import annotations

import os
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from photosort.core.library import LibraryBusyError, ScanSummary

if TYPE_CHECKING:
    from collections.abc import Callable

    from photosort.core.progress import ProgressCallback
    from photosort.core.watch import FolderWatcher
    from photosort.gui.main_window import MainWindow


class WatchController(QObject):
    """Owns the watcher of one main window; restarted when the roots change."""

    POLL_MS = 500

    def __init__(self, window: MainWindow, settle_s: float = 1.0):
        super().__init__(window)
        self.window = window
        self.settle_s = settle_s
        self.watcher: FolderWatcher | None = None
        self.pending: dict[str, None] = {}
        self.timer = QTimer(self)
        self.timer.setInterval(self.POLL_MS)
        self.timer.timeout.connect(self._poll)

    def start(self) -> None:
        """(Re)start watching the library's current roots."""
        roots = self.window.library.root_paths()  # no counts: this is the GUI thread
        if self.watcher is not None:
            for root in roots:  # a folder added by a scan joins the running watcher
                self.watcher.add_root(root)
            return
        if not roots:
            return
        self.watcher = self.window.library.watcher(settle_s=self.settle_s)
        self.watcher.start()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def _poll(self) -> None:
        if self.watcher is None or self.window.closed:
            return
        batch = self.watcher.take(0)
        if batch is not None:
            self.pending.update(dict.fromkeys(batch.paths))
        if not self.pending or self.window.bulk_task is not None:
            return  # a scan is running: its end is soon; the paths wait
        roots = [r for r in self.watcher.roots_of(self.pending) if os.path.isdir(r)]
        self.pending.clear()
        if roots:
            self.window._start_bulk(
                "Indexing changes", partial(self._scan, roots), self.window._scan_done
            )

    def _scan(
        self,
        roots: list[str],
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> ScanSummary:
        """Runs on a worker; another process scanning means: try again on the next tick."""
        try:
            return self.window.library.scan(roots, on_progress, should_cancel)
        except LibraryBusyError:
            if self.watcher is not None:
                self.watcher.collector.add(roots)
            return ScanSummary()
