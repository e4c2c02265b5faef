"""One helper for background work: run a callable in a pool, get the answer on the GUI thread.

Follows Picard's ``picard/util/thread.py``: the worker never touches a widget; it emits
signals on a QObject that lives in the GUI thread, so Qt queues the slot calls there.
Two pools: ``bulk`` for long jobs (indexing, re-tagging, export; one at a time so they
never fight over the catalog) and ``interactive`` for short reads (search, previews,
category previews). Thumbnails have their own pool in ``thumbnails.py``.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from photosort.core.progress import CancelToken, Progress

_POOLS: dict[str, QThreadPool] = {}


def pool(name: str) -> QThreadPool:
    """The named pool, created on first use (bulk: 1 thread, interactive: 2)."""
    if name not in _POOLS:
        created = QThreadPool()
        created.setMaxThreadCount({"bulk": 1, "interactive": 2, "thumbnails": 2}.get(name, 2))
        created.setExpiryTimeout(2000)  # idle threads leave soon: tests check none linger
        _POOLS[name] = created
    return _POOLS[name]


def all_pools() -> list[QThreadPool]:
    return list(_POOLS.values())


def wait_for_all(timeout_ms: int = 30000) -> bool:
    """Block until every pool is idle (window close, test teardown)."""
    return all(p.waitForDone(timeout_ms) for p in all_pools())


class _Relay(QObject):
    """Lives in the GUI thread; the worker emits, Qt delivers to the GUI thread."""

    done = Signal(object)
    failed = Signal(object)
    progress = Signal(object)


class Task(QObject):
    """A handle on one background call: cancel it, or ignore its late answer.

    Its slots are bound methods of a GUI-thread QObject, so the relay's signals (emitted in
    the worker) are queued to the GUI thread; a bare lambda would run in the worker.
    """

    def __init__(
        self,
        on_done: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None] | None,
        on_progress: Callable[[Progress], None] | None,
    ):
        super().__init__()
        self.token = CancelToken()
        self.finished = False
        self._on_done = on_done
        self._on_error = on_error
        self._on_progress = on_progress
        self.relay = _Relay()
        self.relay.done.connect(self._deliver_done)
        self.relay.failed.connect(self._deliver_error)
        self.relay.progress.connect(self._deliver_progress)

    def cancel(self) -> None:
        self.token.set()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    @Slot(object)
    def _deliver_done(self, result: Any) -> None:
        self.finished = True
        _RUNNING.discard(self)
        if self._on_done is not None:
            self._on_done(result)

    @Slot(object)
    def _deliver_error(self, exc: BaseException) -> None:
        self.finished = True
        _RUNNING.discard(self)
        if self._on_error is not None:
            self._on_error(exc)
        else:
            _report_unhandled(exc)

    @Slot(object)
    def _deliver_progress(self, progress: Progress) -> None:
        if not self.finished and self._on_progress is not None:
            self._on_progress(progress)


_RUNNING: set[Task] = set()  # keeps a Task (and its relay) alive until the answer is delivered


class _Runnable(QRunnable):
    def __init__(self, func: Callable[[Task], Any], task: Task):
        super().__init__()
        self.func = func
        self.task = task

    def run(self) -> None:
        try:
            result = self.func(self.task)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the GUI
            exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            self.task.relay.failed.emit(exc)
        else:
            self.task.relay.done.emit(result)


class ProgressThrottle:
    """Forwards at most ``rate`` progress reports per second, plus the last one of a phase."""

    def __init__(self, emit: Callable[[Progress], None], rate: float = 15.0):
        self.emit = emit
        self.interval = 1.0 / rate
        self.last = 0.0
        self.phase: str | None = None

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        final = progress.total and progress.done >= progress.total
        if progress.phase != self.phase or final or now - self.last >= self.interval:
            self.phase = progress.phase
            self.last = now
            self.emit(progress)


def run_task(
    func: Callable[..., Any],
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    pool_name: str = "interactive",
    with_progress: bool = False,
) -> Task:
    """Run ``func`` off the GUI thread; callbacks run on the GUI thread.

    With ``with_progress`` the function is called as ``func(on_progress=..., should_cancel=...)``
    — the shape of every long core job — and reports are throttled before they cross threads.
    """
    task = Task(on_done, on_error, on_progress)
    _RUNNING.add(task)

    if with_progress:
        throttle = ProgressThrottle(task.relay.progress.emit)

        def call(t: Task) -> Any:
            return func(on_progress=throttle, should_cancel=t.token)
    else:

        def call(t: Task) -> Any:
            return func()

    pool(pool_name).start(_Runnable(call, task))
    return task


def _report_unhandled(exc: BaseException) -> None:
    import sys

    text = getattr(exc, "__traceback_text__", repr(exc))
    print(f"photosort: background task failed:\n{text}", file=sys.stderr)


def abandon_all() -> None:
    """Drop the answers still on their way (the window is closing; nobody will show them)."""
    for task in list(_RUNNING):
        task.cancel()
        task.finished = True
        task._on_done = task._on_error = task._on_progress = None
        task.relay.done.disconnect()
        task.relay.failed.disconnect()
        task.relay.progress.disconnect()
    _RUNNING.clear()
