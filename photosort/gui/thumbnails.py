"""Thumbnails for the grid: made in background threads, cached on disk and in memory.

Only rows the view paints ask for a thumbnail, and the newest request is served first, so
a fast scroll through 100k photos never queues the rows that already scrolled past.
Disk cache files are keyed by photo id, size, file mtime and file size: an edited photo
gets a fresh thumbnail without any bookkeeping in the catalog.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap

from photosort.gui.tasks import pool

PathResolver = Callable[[list[int]], dict[int, str]]


def cache_file(cache_dir: Path, photo_id: int, size: int, path: str) -> Path | None:
    """The disk-cache file for this photo as it is now; None when the file is gone."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    name = f"{photo_id}-{size}-{info.st_mtime_ns:x}-{info.st_size:x}.jpg"
    return cache_dir / f"{photo_id // 1000:04d}" / name


def make_thumbnail(cache_dir: Path, photo_id: int, size: int, path: str) -> QImage | None:
    """Read the cached thumbnail or make (and cache) it; None when the photo cannot be read."""
    target = cache_file(cache_dir, photo_id, size, path)
    if target is None:
        return None
    if target.is_file():
        image = QImage(str(target))
        if not image.isNull():
            return image
    from photosort.core.imaging import DecodeError, load_thumbnail

    try:
        pil = load_thumbnail(path, size)
    except DecodeError:
        return None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for old in target.parent.glob(f"{photo_id}-{size}-*.jpg"):  # stale versions
            old.unlink(missing_ok=True)
        tmp = target.with_suffix(".tmp")
        pil.save(tmp, "JPEG", quality=85)
        os.replace(tmp, target)
    except OSError:
        pass  # a read-only library still shows thumbnails, it just cannot keep them
    data = pil.tobytes("raw", "RGB")
    image = QImage(data, pil.width, pil.height, pil.width * 3, QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels: ``data`` dies with this frame


class _Relay(QObject):
    made = Signal(int, object)  # photo id, QImage or None


class _Worker(QRunnable):
    def __init__(self, loader: ThumbnailLoader):
        super().__init__()
        self.loader = loader

    def run(self) -> None:
        loader = self.loader
        while True:
            batch = loader._take(8)
            if not batch:
                return
            try:
                paths = loader.resolve(batch)
            except Exception:  # noqa: BLE001 - library closed under us: just stop
                paths = {}
            for photo_id in batch:
                if loader._stopped:
                    return
                path = paths.get(photo_id)
                image = None
                if path:
                    image = make_thumbnail(loader.cache_dir, photo_id, loader.size, path)
                loader._relay.made.emit(photo_id, image)


class ThumbnailLoader(QObject):
    """``get(id)`` answers from memory or schedules the work and answers later via ``ready``."""

    ready = Signal(int)

    def __init__(
        self,
        cache_dir: Path,
        resolve: PathResolver,
        size: int = 160,
        memory_items: int = 3000,
        max_pending: int = 400,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.cache_dir = Path(cache_dir)
        self.resolve = resolve
        self.size = size
        self.memory_items = memory_items
        self.max_pending = max_pending
        self._memory: OrderedDict[int, QPixmap | None] = OrderedDict()
        self._pending: OrderedDict[int, None] = OrderedDict()
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()
        self._workers = 0
        self._stopped = False
        self._relay = _Relay()
        self._relay.made.connect(self._on_made)
        self.placeholder = _placeholder(size, QColor(60, 63, 68))
        self.broken = _placeholder(size, QColor(90, 40, 40))
        self.requested = 0  # how many thumbnails were ever asked of the workers (tests)

    # -- GUI thread ---------------------------------------------------------------------
    def get(self, photo_id: int) -> QPixmap | None:
        """The thumbnail if ready (or the broken marker); otherwise schedule it, None now."""
        if photo_id in self._memory:
            self._memory.move_to_end(photo_id)
            pixmap = self._memory[photo_id]
            return pixmap if pixmap is not None else self.broken
        if self._stopped:
            return None
        with self._lock:
            if photo_id in self._in_flight:
                return None
            if photo_id in self._pending:
                self._pending.move_to_end(photo_id)  # newest first: it is on screen now
            else:
                self._pending[photo_id] = None
                self.requested += 1
                while len(self._pending) > self.max_pending:
                    self._pending.popitem(last=False)  # scrolled past long ago
            start = self._workers < pool("thumbnails").maxThreadCount()
            if start:
                self._workers += 1
        if start:
            pool("thumbnails").start(_Worker(self))
        return None

    def forget_pending(self) -> None:
        """Drop requests not yet started (the grid shows other photos now)."""
        with self._lock:
            self._pending.clear()

    def invalidate(self, photo_ids: list[int] | None = None) -> None:
        if photo_ids is None:
            self._memory.clear()
        else:
            for photo_id in photo_ids:
                self._memory.pop(photo_id, None)

    def stop(self) -> None:
        """Stop the workers and wait for them (window close)."""
        self._stopped = True
        self.forget_pending()
        pool("thumbnails").waitForDone(10000)

    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending) + len(self._in_flight)

    @Slot(int, object)
    def _on_made(self, photo_id: int, image: QImage | None) -> None:
        with self._lock:
            self._in_flight.discard(photo_id)
        self._memory[photo_id] = QPixmap.fromImage(image) if image is not None else None
        while len(self._memory) > self.memory_items:
            self._memory.popitem(last=False)
        self.ready.emit(photo_id)

    # -- worker threads -------------------------------------------------------------------
    def _take(self, count: int) -> list[int]:
        with self._lock:
            batch: list[int] = []
            while self._pending and len(batch) < count and not self._stopped:
                photo_id, _ = self._pending.popitem(last=True)
                batch.append(photo_id)
            self._in_flight.update(batch)
            if not batch:
                self._workers -= 1
            return batch


def _placeholder(size: int, colour: QColor) -> QPixmap:
    pixmap = QPixmap(QSize(size, size * 3 // 4))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(colour)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawRoundedRect(pixmap.rect().adjusted(4, 4, -4, -4), 6, 6)
    painter.end()
    return pixmap
