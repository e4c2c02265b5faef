"""GUI: open a 100k-photo library and show its grid; event-loop stalls while indexing.

Baselines in the same run: for opening, a naive ``QListWidget`` holding one item per
photo (what model/view avoids); for stalls, the same window idling, which is the
timer noise floor of this machine.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class StallMeter:
    """A 5 ms timer; the longest gap between two ticks is the worst event-loop stall."""

    def __init__(self) -> None:
        from PySide6.QtCore import QElapsedTimer, QTimer

        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.longest_ms = 0
        self.ticks = 0

    def _tick(self) -> None:
        self.longest_ms = max(self.longest_ms, self.clock.restart())
        self.ticks += 1

    def run_while(self, app, busy) -> int:
        self.longest_ms, self.ticks = 0, 0
        self.clock.start()
        self.timer.start()
        while busy():
            app.processEvents()
            time.sleep(0.001)
        self.timer.stop()
        return self.longest_ms


def _wait(app, done, timeout_s: float = 120) -> None:
    deadline = time.perf_counter() + timeout_s
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError("the window did not finish in time")
        app.processEvents()
        time.sleep(0.001)


def _open_window(app, folder: Path, model: str, expected_rows: int) -> tuple[float, object]:
    from photosort.core.library import Library
    from photosort.gui.main_window import MainWindow

    started = time.perf_counter()
    lib = Library(folder, model=model, device="cpu")
    window = MainWindow(lib)
    window.show()
    _wait(app, lambda: window.grid.photo_model.rowCount() == expected_rows)
    app.processEvents()
    return time.perf_counter() - started, window


def _naive_list(app, n: int) -> float:
    from PySide6.QtWidgets import QListWidget

    started = time.perf_counter()
    widget = QListWidget()
    for i in range(n):
        widget.addItem(f"/bench/photos/{i // 1000:04d}/IMG_{i:07d}.jpg")
    widget.show()
    app.processEvents()
    elapsed = time.perf_counter() - started
    widget.close()
    return elapsed


def run(quick: bool = False) -> dict:
    from PySide6.QtWidgets import QApplication

    from photosort.core.library import Library
    from tests.benchmarks.bench_search import _fill_catalog, clip_like_vectors
    from tests.benchmarks.workload import twelve_mp_jpegs, vit_b32_folder

    app = QApplication.instance() or QApplication([])
    n = 20_000 if quick else 100_000
    model = f"local-dir:{vit_b32_folder()}"
    out: dict = {"photos": n}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "lib"
        with Library(folder, model=model, device="cpu") as lib:
            _fill_catalog(lib, clip_like_vectors(n, lib.embedder.dim), lib.embedder.model_id)
            lib.index  # noqa: B018  (built once here, as after any earlier session)
        out["open_and_show_s"], window = _open_window(app, folder, model, n)
        out["naive_list_widget_s"] = _naive_list(app, n)
        meter = StallMeter()
        idle_until = time.perf_counter() + 2
        out["idle_stall_ms"] = meter.run_while(app, lambda: time.perf_counter() < idle_until)

        lib = window.library
        assert lib.embedder  # load the model before measuring the indexing
        photos = twelve_mp_jpegs(64 if quick else 200)
        started = time.perf_counter()
        assert window.scan([str(photos)])
        out["indexing_stall_ms"] = meter.run_while(app, lambda: window.bulk_task is not None)
        out["indexing_s"] = time.perf_counter() - started
        out["indexed"] = window.last_summary.embedded if window.last_summary else 0
        window.close()
        app.processEvents()
        lib.close()
    out["pass"] = bool(out["open_and_show_s"] <= 2.0 and out["indexing_stall_ms"] <= 100)
    return out


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
