"""One helper for background work: run a callable in a pool, get the answer on the GUI thread.

Follows Picard's ``picard/util/thread.py``: the worker never touches a widget; it emits
signals on a QObject that lives in the GUI thread, so Qt queues the slot calls there.
Two pools: ``bulk`` for long jobs (indexing, re-tagging, export; one at a time so they
never fight over the catalog) and ``interactive`` for short reads (search, previews,
category previews). Thumbnails have their own pool in ``thumbnails.py``.
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal, Slot
from shiboken6 import Shiboken

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


class _Dispatcher(QObject):
    """The one QObject every worker posts answers to; it lives as long as the application.

    Workers never hold a per-task QObject. Before, each task had its own relay QObject that
    the GUI thread deleted once the answer was in, while the pool thread could still be
    dropping its last Python reference to it: a use-after-free that corrupted the heap about
    once in twenty GUI soak runs (and earlier, "QObject: shared QObject was deleted
    directly" on quit). Answers are plain Python tuples; only this object crosses threads.
    """

    posted = Signal(object)  # (task, "progress", Progress): reports while a task runs
    arrived = Signal(int)  # a finished task's key in the mailbox (see ``_Runnable.run``)

    def __init__(self) -> None:
        super().__init__(QCoreApplication.instance())
        self.setObjectName("photosort-task-dispatcher")
        self.posted.connect(self._deliver)
        self.arrived.connect(self._collect)

    @Slot(object)
    def _deliver(self, message: tuple[Task, str, Any]) -> None:
        task, kind, payload = message
        task._deliver(kind, payload)

    @Slot(int)
    def _collect(self, key: int) -> None:
        """Take a finished task out of the mailbox: from here on the GUI thread holds the
        only references to its function, its callbacks and its answer, so whatever they
        keep alive (a closed dialog and its pixmaps) is destroyed on this thread."""
        task, kind, payload, func = _MAILBOX.take(key)
        task._deliver(kind, payload)
        del func  # said aloud: the last reference to the job ends here, on the GUI thread


class _Mailbox:
    """Finished tasks waiting for the GUI thread, by key.

    A worker that dropped the last reference to its job or to the task's callbacks would
    destroy what they hold on the worker thread: a closure over a closed dialog took the
    dialog's QPixmaps with it, and a QPixmap destroyed off the GUI thread races the GUI
    thread's painting (Qt's pixmap cache is not thread-safe) — the heap corruption the GUI
    soak met about once in five runs. So a worker parks everything it holds here, drops
    its own references, and only then signals the key.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[int, tuple[Task, str, Any, Any]] = {}
        self._keys = itertools.count()

    def park(self, item: tuple[Task, str, Any, Any]) -> int:
        with self._lock:
            key = next(self._keys)
            self._items[key] = item
            return key

    def take(self, key: int) -> tuple[Task, str, Any, Any]:
        with self._lock:
            return self._items.pop(key)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


_MAILBOX = _Mailbox()


_DISPATCHER: list[_Dispatcher] = []


def _dispatcher() -> _Dispatcher:
    """Made on the GUI thread by the first ``run_task``, before any worker can post."""
    if not _DISPATCHER:
        _DISPATCHER.append(_Dispatcher())
    return _DISPATCHER[0]


class Task:
    """A handle on one background call: cancel it, or ignore its late answer.

    A plain Python object (no QObject): whichever thread drops the last reference to it
    destroys nothing Qt owns.
    """

    def __init__(
        self,
        on_done: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None] | None,
        on_progress: Callable[[Progress], None] | None,
    ):
        self.token = CancelToken()
        self.finished = False
        self._on_done = on_done
        self._on_error = on_error
        self._on_progress = on_progress
        self._post = _dispatcher().posted.emit
        self._arrived = _dispatcher().arrived.emit

    def cancel(self) -> None:
        self.token.set()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def _deliver(self, kind: str, payload: Any) -> None:
        """On the GUI thread: hand the answer to the callbacks, once, unless abandoned."""
        if kind == "progress":
            if (
                not self.finished
                and self._on_progress is not None
                and _receiver_alive(self._on_progress)
            ):
                self._on_progress(payload)
            return
        if self.finished:  # abandoned (window closing): nobody listens
            return
        self.finished = True
        _RUNNING.discard(self)
        if kind == "done":
            if self._on_done is not None and _receiver_alive(self._on_done):
                self._on_done(payload)
        elif self._on_error is not None:
            if _receiver_alive(self._on_error):
                self._on_error(payload)
        else:
            _report_unhandled(payload)


_RUNNING: set[Task] = set()  # keeps a Task alive until its answer is delivered


def _receiver_alive(callback: Callable[..., Any]) -> bool:
    """False when the callback is a method (or a partial of one) of a widget already
    deleted: a dialog closed before its answer came. The answer is dropped, as Qt drops a
    queued signal to a deleted receiver, instead of raising in the event loop."""
    while isinstance(callback, functools.partial):
        callback = callback.func
    owner = getattr(callback, "__self__", None)
    return not isinstance(owner, Shiboken.Object) or shiboken6.isValid(owner)


class _Runnable(QRunnable):
    def __init__(self, func: Callable[[Task], Any], task: Task):
        super().__init__()
        self.func = func
        self.task = task

    def run(self) -> None:
        func, task = self.func, self.task
        self.func = self.task = None  # type: ignore[assignment]  # the mailbox holds them
        outcome: tuple[str, Any]
        try:
            outcome = ("done", func(task))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the GUI
            exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            exc.__traceback__ = None  # its frames would keep the job's locals on this thread
            outcome = ("failed", exc)
        arrived = task._arrived
        key = _MAILBOX.park((task, *outcome, func))
        del func, task, outcome  # nothing of the job is left on this thread ...
        arrived(key)  # ... before the GUI thread can take it


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
        throttle = ProgressThrottle(lambda progress: task._post((task, "progress", progress)))

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
    _RUNNING.clear()


def shutdown(timeout_ms: int = 60000) -> None:
    """At quit: wait for the pools, drop late answers, free the pools."""
    wait_for_all(timeout_ms)
    abandon_all()
    for pool_ in _POOLS.values():
        pool_.waitForDone(timeout_ms)
    _POOLS.clear()
