"""Watched folders: new, changed, moved and deleted photos are noticed within seconds.

watchdog reports file-system events (inotify, FSEvents, ReadDirectoryChangesW). Events are
collected, not acted on one by one: a batch is handed out once the folder has been quiet
for ``settle_s`` (a camera card copy of 1,000 files is one or two batches, not 1,000
scans), or after ``max_wait_s`` even while a long copy goes on. Network drives (NFS, SMB,
sshfs) deliver no events for changes made by other machines, so they are polled instead.

The batch is only a hint of *where* to look: the caller rescans the affected roots, and
the scan's reconcile (size and mtime) decides what really changed. A lost event therefore
costs at most a delay until the next one, never a wrong catalog.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from photosort.core.folders import inside
from photosort.core.imaging import SUPPORTED_EXTENSIONS
from photosort.core.scanner import is_ignored_name

if TYPE_CHECKING:
    from watchdog.events import FileSystemEvent, FileSystemEventHandler

__all__ = ["ChangeCollector", "FolderWatcher", "WatchBatch", "needs_polling"]

NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smbfs", "smb3", "sshfs", "fuse.sshfs", "9p", "afpfs",
        "davfs", "fuse.davfs2", "fuse.rclone", "ncpfs", "glusterfs", "fuse.glusterfs",
        "ceph", "fuse.gvfsd-fuse", "fuse.s3fs", "fuse.smbnetfs",
    }
)  # fmt: skip
_WATCHED_SUFFIXES = SUPPORTED_EXTENSIONS | {".xmp"}


def _unescape_mount(path: str) -> str:
    return path.replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")


def needs_polling(path: str, mounts_file: str = "/proc/mounts") -> bool:
    """True when *path* lies on a network file system (from the longest matching mount)."""
    try:
        with open(mounts_file, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return False  # not Linux: macOS/Windows events also miss remote changes, rarely used
    real = os.path.realpath(path)
    best, fstype = "", ""
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = _unescape_mount(parts[1])
        prefix = mount.rstrip("/") + "/"
        if (real == mount or real.startswith(prefix) or mount == "/") and len(mount) > len(best):
            best, fstype = mount, parts[2]
    return fstype in NETWORK_FILESYSTEMS


def relevant(path: str) -> bool:
    """A photo, a sidecar, or a folder (its photos come and go with it); no hidden junk."""
    name = os.path.basename(path.rstrip(os.sep))
    if not name or is_ignored_name(name) or name.startswith(".photosort-"):
        return False
    ext = os.path.splitext(name)[1].lower()
    return ext in _WATCHED_SUFFIXES or not ext


@dataclass
class WatchBatch:
    paths: list[str] = field(default_factory=list)


class ChangeCollector:
    """Paths reported by events, handed out as one batch after a quiet moment."""

    def __init__(
        self,
        settle_s: float = 1.0,
        max_wait_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settle_s = settle_s
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._paths: dict[str, None] = {}
        self._first = 0.0
        self._last = 0.0
        self._cond = threading.Condition()

    def add(self, paths: Iterable[str]) -> None:
        with self._cond:
            now = self._clock()
            if not self._paths:
                self._first = now
            for p in paths:
                self._paths[p] = None
            self._last = now
            self._cond.notify_all()

    def _ready(self) -> bool:
        if not self._paths:
            return False
        now = self._clock()
        return now - self._last >= self.settle_s or now - self._first >= self.max_wait_s

    def take(self, timeout: float = 0.0) -> WatchBatch | None:
        """The batch once it has settled, else None after *timeout* seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._ready():
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 0.1))
            batch = WatchBatch(list(self._paths))
            self._paths.clear()
            return batch

    def pending(self) -> int:
        with self._cond:
            return len(self._paths)


class FolderWatcher:
    """Watch folders recursively; ``take()`` returns settled batches of changed paths."""

    def __init__(
        self,
        roots: Sequence[str],
        settle_s: float = 1.0,
        max_wait_s: float = 10.0,
        force_polling: bool = False,
        poll_interval_s: float = 5.0,
    ):
        self.roots = [os.path.abspath(r) for r in roots]
        self.collector = ChangeCollector(settle_s, max_wait_s)
        self.force_polling = force_polling
        self.poll_interval_s = poll_interval_s
        self.modes: dict[str, str] = {}  # root -> "events" | "polling" | "missing"
        self._observers: list = []
        self._events = self._polling = None
        self._handler: FileSystemEventHandler | None = None

    def start(self) -> None:
        from watchdog.events import FileSystemEventHandler

        collector = self.collector

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:  # on watchdog's thread
                if event.event_type in ("opened", "closed_no_write"):
                    return
                paths = [os.fsdecode(event.src_path)]
                dest = getattr(event, "dest_path", "")
                if dest:
                    paths.append(os.fsdecode(dest))
                paths = [p for p in paths if relevant(p)]
                if paths:
                    collector.add(paths)

        self._handler = Handler()
        for root in self.roots:
            self._schedule(root)

    def add_root(self, root: str) -> None:
        """Watch one more folder (a root added while watching); no restart, no stall."""
        root = os.path.abspath(root)
        if root not in self.roots:
            self.roots.append(root)
            self._schedule(root)

    def _observer(self, polling: bool) -> Any:  # a watchdog observer (untyped there)
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        attr = "_polling" if polling else "_events"
        observer = getattr(self, attr)
        if observer is None:
            observer = PollingObserver(timeout=self.poll_interval_s) if polling else Observer()
            observer.daemon = True
            observer.start()
            setattr(self, attr, observer)
            self._observers.append(observer)
        return observer

    def _schedule(self, root: str) -> None:
        if not os.path.isdir(root):
            self.modes[root] = "missing"
            return
        polling = self.force_polling or needs_polling(root)
        try:
            self._observer(polling).schedule(self._handler, root, recursive=True)
            self.modes[root] = "polling" if polling else "events"
        except OSError:  # inotify watch limit reached, or the folder vanished meanwhile
            self._observer(True).schedule(self._handler, root, recursive=True)
            self.modes[root] = "polling"

    def take(self, timeout: float = 0.0) -> WatchBatch | None:
        return self.collector.take(timeout)

    def roots_of(self, paths: Iterable[str]) -> list[str]:
        """The watched roots that contain these paths."""
        out = []
        for root in self.roots:
            if any(inside(p, root) for p in paths):
                out.append(root)
        return out

    def stop(self) -> None:
        for observer in self._observers:
            observer.stop()
        for observer in self._observers:
            observer.join(timeout=5)
        self._observers = []
        self._events = self._polling = None

    def __enter__(self) -> FolderWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_Scanned = TypeVar("_Scanned")  # what one rescan returns (the Library's ScanSummary)


def watch_loop(
    watcher: FolderWatcher,
    scan: Callable[[list[str]], _Scanned],
    on_scanned: Callable[[WatchBatch, _Scanned], None],
    should_cancel: Callable[[], bool],
    busy: type[BaseException] | tuple[type[BaseException], ...] = (),
    retry_after_s: float = 2.0,
) -> None:
    """Rescan the roots each settled batch touches, until *should_cancel* says stop.

    A scan refused as *busy* (another process holds the library) is retried later with the
    same paths; nothing noticed is dropped.
    """
    while not should_cancel():
        batch = watcher.take(timeout=0.25)
        if batch is None:
            continue
        roots = watcher.roots_of(batch.paths)
        if not roots:
            continue
        try:
            result = scan(roots)
        except busy:
            watcher.collector.add(batch.paths)
            deadline = time.monotonic() + retry_after_s
            while time.monotonic() < deadline and not should_cancel():
                time.sleep(0.1)
            continue
        on_scanned(batch, result)
