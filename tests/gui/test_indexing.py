"""Background indexing from the window: progress, cancel, and an event loop that never stalls."""

from __future__ import annotations

import time

from PySide6.QtCore import QElapsedTimer, Qt, QTimer

from tests.gui.conftest import wait_idle

N = 240  # enough for the indexing to last a while even with the tiny model


class StallMeter:
    """A 5 ms timer; the longest gap between two ticks is the worst event-loop stall."""

    def __init__(self, interval_ms: int = 5):
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.longest_ms = 0
        self.ticks = 0

    def start(self) -> None:
        self.clock.start()
        self.timer.start()

    def _tick(self) -> None:
        self.longest_ms = max(self.longest_ms, self.clock.restart())
        self.ticks += 1

    def stop(self) -> None:
        self.timer.stop()


def test_indexing_runs_in_the_background_without_stalling_the_window(
    make_window, tmp_path, qtbot, tiny_model
):
    from photosort.core.library import Library
    from tests.fixtures.scenes import write_library

    write_library(tmp_path / "new-photos", N, seed=3, subfolders=2)
    lib = Library(tmp_path / "fresh-library", model=tiny_model, device="cpu")
    try:
        assert lib.embedder  # load the model first: measure the indexing, not the import
        window = make_window(lib)
        assert window.grid.photo_model.rowCount() == 0
        reports = []
        meter = StallMeter()
        meter.start()
        started = time.perf_counter()
        assert window.scan([str(tmp_path / "new-photos")])
        window.activity.bar.valueChanged.connect(reports.append)
        assert window.activity.isVisible()
        # the user keeps working while it indexes: typing, scrolling
        qtbot.keyClicks(window.search_bar.edit, "a house")
        qtbot.waitUntil(lambda: window.bulk_task is None, timeout=60000)
        meter.stop()
        elapsed = time.perf_counter() - started
        print(
            f"\nindexing {N} photos took {elapsed:.1f} s; longest event-loop stall "
            f"{meter.longest_ms} ms over {meter.ticks} ticks"
        )
        assert meter.ticks > 20
        # A frozen window stalls for seconds; the 100 ms target itself is measured by the
        # benchmark (tests/benchmarks/bench_gui.py), not here on a shared, noisy machine.
        assert meter.longest_ms < 400, f"the event loop stalled {meter.longest_ms} ms"
        assert reports, "no progress was shown"
        assert window.last_summary is not None and window.last_summary.embedded == N
        assert not window.activity.isVisible()
        wait_idle(qtbot, window)
        window.back_to_browsing()
        wait_idle(qtbot, window)
        assert window.grid.photo_model.rowCount() == N
    finally:
        window.close()
        lib.close()


def test_cancel_stops_indexing_and_keeps_what_was_done(make_window, tmp_path, qtbot, tiny_model):
    from photosort.core.library import Library
    from tests.fixtures.scenes import write_library

    write_library(tmp_path / "photos", 80, seed=5)
    lib = Library(tmp_path / "library", model=tiny_model, device="cpu")
    try:
        assert lib.embedder
        window = make_window(lib)
        window.scan([str(tmp_path / "photos")])
        qtbot.waitUntil(
            lambda: window.activity.bar.maximum() > 0 and window.activity.bar.value() > 0,
            timeout=60000,
        )
        qtbot.mouseClick(window.activity.cancel, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.bulk_task is None, timeout=60000)
        summary = window.last_summary
        assert summary is not None
        if summary.cancelled:  # a fast machine may have finished the embedding first
            assert summary.embedded <= 80
            assert "stopped" in window.statusBar().currentMessage()
    finally:
        window.close()
        lib.close()
