"""One helper for background work: run a callable in a pool, get the answer on the GUI thread.

Follows Picard's ``picard/util/thread.py``: the worker never touches a widget; it emits
signals on a QObject that lives in the GUI thread, so Qt queues the slot calls there.
Two pools: ``bulk`` for long jobs (indexing, re-tagging, export; one at a time so they
never fight over the catalog) and ``interactive`` for short reads (search, previews,
category previews). Thumbnails have their own pool in ``thumbnails.py``.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal, Slot

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
    idle = all(p.waitForDone(timeout_ms) for p in all_pools())
    _sweep()
    return idle


class _Relay(QObject):
    """Carries one task's answer from its worker to the GUI thread, then is deleted there.

    Ownership matters at quit time and under load: a relay is a child of a GUI-thread
    QObject (``_home()``), so a worker dropping its Python reference can never delete it;
    the GUI thread deletes it with ``deleteLater`` once the worker has left ``run``.
    Before, a finished pool thread could free the last reference to a parentless Task and
    destroy a GUI-thread QObject from the wrong thread while its events were being
    delivered ("QObject: shared QObject was deleted directly", then SIGSEGV on quit).
    """

    done = Signal(object)
    failed = Signal(object)
    progress = Signal(object)

    def __init__(self, task: Task):
        super().__init__(_home())
        self.task: Task | None = task
        self.worker_left = task.worker_left
        self.done.connect(self._deliver_done)
        self.failed.connect(self._deliver_error)
        self.progress.connect(self._deliver_progress)

    @Slot(object)
    def _deliver_done(self, result: Any) -> None:
        task = self._finish()
        if task is not None and task._on_done is not None:
            task._on_done(result)

    @Slot(object)
    def _deliver_error(self, exc: BaseException) -> None:
        task = self._finish()
        if task is None:
            return
        if task._on_error is not None:
            task._on_error(exc)
        else:
            _report_unhandled(exc)

    @Slot(object)
    def _deliver_progress(self, progress: Progress) -> None:
        task = self.task
        if task is not None and not task.finished and task._on_progress is not None:
            task._on_progress(progress)

    def _finish(self) -> Task | None:
        task, self.task = self.task, None
        if task is not None:
            _retire(self)
        if task is None or task.finished:  # abandoned (window closing): nobody listens
            return None
        task.finished = True
        _RUNNING.discard(task)
        return task


class Task:
    """A handle on one background call: cancel it, or ignore its late answer.

    A plain Python object (no QObject), so whichever thread drops the last reference to it
    destroys nothing Qt owns; its relay is the only QObject and lives in the GUI thread.
    """

    def __init__(
        self,
        on_done: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None] | None,
        on_progress: Callable[[Progress], None] | None,
    ):
        self.token = CancelToken()
        self.finished = False
        self.worker_left = threading.Event()  # the worker returned from run(): relay may go
        self._on_done = on_done
        self._on_error = on_error
        self._on_progress = on_progress
        self.relay = _Relay(self)

    def cancel(self) -> None:
        self.token.set()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled


_RUNNING: set[Task] = set()  # keeps a Task alive until its answer is delivered
_RETIRED: list[_Relay] = []  # relays whose answer arrived, deleted once their worker is out
_HOME: list[QObject] = []


def _home() -> QObject:
    """The GUI-thread parent of every relay (a child of the application, so Qt frees it)."""
    if not _HOME:
        home = QObject(QCoreApplication.instance())
        home.setObjectName("photosort-task-relays")
        _HOME.append(home)
    return _HOME[0]


def _retire(relay: _Relay) -> None:
    _RETIRED.append(relay)
    _sweep()


def _sweep() -> None:
    """Delete (later, in the GUI thread) the retired relays whose worker has returned."""
    keep = []
    for relay in _RETIRED:
        if relay.worker_left.is_set():
            relay.deleteLater()
        else:
            keep.append(relay)
    _RETIRED[:] = keep


class _Runnable(QRunnable):
    def __init__(self, func: Callable[[Task], Any], task: Task):
        super().__init__()
        self.func = func
        self.task = task

    def run(self) -> None:
        task = self.task
        try:
            result = self.func(task)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the GUI
            exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            task.relay.failed.emit(exc)
        else:
            task.relay.done.emit(result)
        finally:
            task.worker_left.set()


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
    _sweep()
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
        if task.relay.task is not None:
            task.relay.task = None
            _retire(task.relay)
    _RUNNING.clear()
    _sweep()


def shutdown(timeout_ms: int = 60000) -> None:
    """At quit: wait for the pools, drop late answers, free pools and relays in order."""
    wait_for_all(timeout_ms)
    abandon_all()
    for pool_ in _POOLS.values():
        pool_.waitForDone(timeout_ms)
    _POOLS.clear()
    _sweep()
