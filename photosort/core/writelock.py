"""The library's write lock: one holder at a time changes files or the catalog's set of photos.

Why one lock for everything: a ``export --mode move`` racing a ``scan`` let the scan treat
the live export's move journal as a crashed one and "undo" it, deleting originals. Every
command that changes files (export in every mode, xmp) or which photos the catalog holds
(scan, roots remove, doctor --fix/--restore) holds this lock for its whole run, and move
journals are settled only under it. Catalog-only edits (tags, categories) are serialised
by the catalog's own write transactions instead, so they never wait for a long scan.

The lock is a file lock (between processes) plus a thread lock (between the threads of one
process, e.g. the app's background scan and an export started from its dialog). The holder
writes who it is beside the lock, so "busy" can say what the library is busy with.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from photosort.core.errors import PhotosortError
from photosort.core.owner import this_process

if TYPE_CHECKING:
    from filelock import FileLock

#: The name older photosort versions (and ``doctor --restore``) lock too.
LOCK_FILENAME = "scan.lock"
OWNER_FILENAME = "scan.lock.owner"


class LibraryBusy(PhotosortError):
    """Another photosort process (or thread) is changing the library; one line for the user."""


class WriteLock:
    """Reentrant for the thread that holds it; others wait up to ``wait_s`` then get busy."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self._file_lock: FileLock | None = None  # made at the first hold: reading needs none
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._holder: int | None = None

    @property
    def _file(self) -> FileLock:
        """The lock file's lock; filelock is imported by the first writer, not by a search."""
        if self._file_lock is None:
            from filelock import FileLock

            self._file_lock = FileLock(str(self.folder / LOCK_FILENAME), thread_local=False)
        return self._file_lock

    @property
    def held(self) -> bool:
        """True when the calling thread holds the lock."""
        return self._depth > 0 and self._holder == threading.get_ident()

    @contextmanager
    def hold(self, activity: str, wait_s: float = 0.5) -> Iterator[None]:
        """Hold the lock while ``activity`` ("scanning", "exporting" ...) runs."""
        if not self._thread_lock.acquire(timeout=max(wait_s, 0.0)):
            raise LibraryBusy(self._busy_message())
        try:
            if self._depth == 0:
                from filelock import Timeout

                try:
                    self._file.acquire(timeout=wait_s)
                except Timeout as exc:
                    raise LibraryBusy(self._busy_message()) from exc
                self._write_owner(activity)
            self._depth += 1
            self._holder = threading.get_ident()
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._holder = None
                    (self.folder / OWNER_FILENAME).unlink(missing_ok=True)
                    self._file.release()
        finally:
            self._thread_lock.release()

    def _write_owner(self, activity: str) -> None:
        owner = this_process()
        info = {"pid": owner.pid, "host": owner.host, "activity": activity, "since": time.time()}
        with contextlib.suppress(OSError):  # only used to word the busy message
            (self.folder / OWNER_FILENAME).write_text(json.dumps(info), encoding="utf-8")

    def _busy_message(self) -> str:
        what = "changing"
        try:
            info = json.loads((self.folder / OWNER_FILENAME).read_text(encoding="utf-8"))
            what = f"{info['activity']} (pid {int(info['pid'])})"
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return f"library is busy: another photosort process is {what} in {self.folder}"
