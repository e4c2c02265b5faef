"""Running a long core job from the command line: its progress bar and Ctrl-C.

Every command that runs a job (scan, export, autotag, ...) goes through ``run_job``, so the
bar, ``--no-progress``/``--json`` and the two-step Ctrl-C behave the same everywhere.
tqdm is imported with the first bar drawn, never by a command that shows none.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from photosort.core.progress import CancelToken, Progress, ProgressCallback

if TYPE_CHECKING:
    from types import FrameType

    from tqdm import tqdm

_T = TypeVar("_T")


class ProgressBar:
    """A tqdm bar fed by core Progress reports; quiet when stderr is not a terminal."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._bar: tqdm | None = None
        self._phase: str | None = None

    def __call__(self, progress: Progress) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if progress.phase != self._phase:
            self.close()
            self._phase = progress.phase
            # A terminal that reports no size (a bare pty) would get a hidden bar.
            width = {"dynamic_ncols": True} if all(_terminal_size()) else {"ncols": 80, "nrows": 24}
            self._bar = tqdm(
                total=progress.total or None,
                desc=progress.phase,
                unit=progress.unit,
                file=sys.stderr,
                **width,
            )
        bar = self._bar
        assert bar is not None  # made above at the first report of a phase
        bar.n = progress.done
        room = _name_room()
        if progress.current and room:
            name = _short(one_line(os.path.basename(progress.current)), room)
            bar.set_postfix_str(name, refresh=False)
        bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def one_line(path: str) -> str:
    """A path with newlines or other control characters, escaped so it stays one line."""
    if path.isprintable():
        return path
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in path)


def _terminal_size() -> tuple[int, int]:
    try:
        columns, lines = os.get_terminal_size(sys.stderr.fileno())
        return columns, lines
    except (OSError, ValueError):
        return (0, 0)


def _name_room() -> int:
    """Columns the file name may take beside the bar; none in a narrow terminal, where it
    would squeeze the bar itself (80 columns: bar, counts, rate and ETA need them all)."""
    columns = _terminal_size()[0] or 80
    return max(0, min(30, columns - 90))


def _short(path: str, width: int = 30) -> str:
    return path if len(path) <= width else "…" + path[-(width - 1) :]


def run_job(
    args: argparse.Namespace,
    job: Callable[[ProgressCallback, CancelToken], _T],
    only_on_terminal: bool = True,
    show_bar: bool = True,
) -> _T:
    """Run a long core job as every command does: ``job(on_progress, should_cancel)`` with
    a progress bar on stderr and Ctrl-C handling (the first asks the job to stop cleanly,
    the second kills).

    The bar shows unless ``--no-progress`` or ``--json`` was given or ``show_bar`` is
    false (``scores`` writing to stdout), and by default only on a terminal.
    """
    shown = (
        show_bar and not getattr(args, "no_progress", False) and not getattr(args, "json", False)
    )
    bar = ProgressBar(enabled=shown and (sys.stderr.isatty() or not only_on_terminal))
    try:
        return run_cancellable(lambda token: job(bar, token))
    finally:
        bar.close()


def run_cancellable(job: Callable[[CancelToken], _T]) -> _T:
    """Run a long job; the first Ctrl-C asks it to stop cleanly, the second kills.
    Commands with a progress bar use ``run_job``; ``watch`` (no bar) uses this."""
    token = CancelToken()
    previous = signal.getsignal(signal.SIGINT)

    main_thread = threading.get_ident()
    watchdogs: list[threading.Timer] = []

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        if token.cancelled:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        token.set()
        print("\nstopping after the current batch… (Ctrl-C again to abort)", file=sys.stderr)
        # Ctrl-C stops any command within 2 s: a job that has not stopped by then (stuck in
        # a read, loading the model) gets the second Ctrl-C itself. Everything it writes is
        # a transaction or a journalled move, so stopping anywhere loses nothing.
        watchdog = threading.Timer(1.5, _interrupt, (main_thread,))
        watchdog.daemon = True
        watchdogs.append(watchdog)
        watchdog.start()

    with contextlib.suppress(ValueError):  # not the main thread: no Ctrl-C handling
        signal.signal(signal.SIGINT, on_interrupt)
    try:
        return job(token)
    finally:
        for watchdog in watchdogs:
            watchdog.cancel()
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGINT, previous)


def _interrupt(thread_id: int) -> None:
    """Deliver SIGINT to the main thread (wakes it from a blocking call)."""
    if hasattr(signal, "pthread_kill"):
        signal.pthread_kill(thread_id, signal.SIGINT)
    else:  # Windows
        import _thread

        _thread.interrupt_main()
