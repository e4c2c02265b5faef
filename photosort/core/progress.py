"""Progress reports and cancellation shared by all long jobs (index, re-tag, export).

Jobs are plain functions; the CLI turns reports into a progress bar and the GUI into
Qt signals. Nothing here knows about either.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    phase: str  # "walking", "embedding", "exporting", ...
    done: int
    total: int
    current: str | None = None
    rate: float = 0.0  # items per second
    eta_s: float | None = None
    unit: str = "photo"  # what ``done`` and ``total`` count

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[Progress], None]


class Cancelled(Exception):
    """Raised by a job stopped by its cancel token when it has no partial result to return
    (finding duplicates, a model download); jobs that have one return it with ``cancelled``
    set instead. Whatever the job wrote before stopping stays written."""


class CancelToken:
    """A thread-safe flag a job polls; ``set()`` from any thread (GUI button, Ctrl-C)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def __call__(self) -> bool:
        return self._event.is_set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class RateMeter:
    """Turns done/total counts into Progress reports with rate and ETA."""

    def __init__(
        self, phase: str, total: int, callback: ProgressCallback | None, unit: str = "photo"
    ):
        self.phase = phase
        self.unit = unit
        self.total = total
        self.callback = callback
        self.started = time.monotonic()

    def report(self, done: int, current: str | None = None) -> None:
        if self.callback is None:
            return
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = done / elapsed
        eta = (self.total - done) / rate if rate > 0 else None
        self.callback(Progress(self.phase, done, self.total, current, rate, eta, self.unit))
