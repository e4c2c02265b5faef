"""An exact index's file, read in place and grown without holding it in memory (issue 13).

The file is FAISS's own format for ``IndexIDMap2`` over ``IndexFlatIP`` (``faiss.read_index``
reads it): a header, every vector (float32), then every id (int64). Indexing 100k photos
held all their vectors in memory (51 MB of 128-d ones, more than the whole flat-memory
budget); instead, vectors added since the file was written wait in a small in-memory
index and are appended by writing a new file (the old bytes copied by the kernel, with
``os.copy_file_range`` where it exists, never through Python), renamed over the old one:
a reader's mapping keeps the version it opened, and a crash leaves the old file or the
new one, never half of one. Reading a piece (tagging, ``VectorIndex.chunks``) is a file
read, so the page cache, not the process, holds the vectors. A vector removed or replaced
meanwhile stays in the file until its next write, which leaves it out (``write_grown``'s
``drop``): the reader skips it (``VectorIndex``), so a removal copies nothing into memory.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photosort.core.lazy_import import np

if TYPE_CHECKING:
    import faiss
else:
    from photosort.core.lazy_import import lazy_module

    faiss = lazy_module("faiss")

#: where each count sits in the header: the ``IndexIDMap2``'s ntotal, then the flat index's
_NTOTAL_AT = (8, 45)
_COPY_CHUNK = 1 << 20


class FlatFileError(ValueError):
    """The file is not an exact index of the expected shape (stale, corrupt, another kind)."""


def supported() -> bool:
    """Renaming over a file that is open (the base being grown) needs POSIX semantics."""
    return os.name == "posix"


@cache
def _empty_header(dim: int) -> bytes:
    """FAISS's header of an empty exact index of ``dim``: written by FAISS itself, so the
    format stays its own; checked against the layout this module relies on."""
    empty = bytes(faiss.serialize_index(faiss.IndexIDMap2(faiss.IndexFlatIP(dim))))
    header, tail = empty[:-16], empty[-16:]
    if (
        len(header) != 74
        or header[:4] != b"IxM2"
        or header[37:41] != b"IxFI"
        or tail != bytes(16)
        or any(header[at : at + 8] != bytes(8) for at in _NTOTAL_AT)
    ):
        raise FlatFileError("this FAISS writes exact indexes in a layout photosort does not know")
    return header


def _header(dim: int, count: int) -> bytes:
    """The header and the vectors' length field of an index of ``count`` vectors."""
    head = bytearray(_empty_header(dim))
    for at in _NTOTAL_AT:
        head[at : at + 8] = int(count).to_bytes(8, "little")
    return bytes(head) + int(count * dim).to_bytes(8, "little")


class FlatFile:
    """One version of the file, kept open: a later rename over the path leaves it intact."""

    def __init__(self, path: Path, dim: int):
        self.path = path
        self.dim = dim
        self._fh = open(path, "rb")  # noqa: SIM115 - kept open as long as this object
        try:
            fd = self._fh.fileno()
            size = os.fstat(fd).st_size
            head = os.pread(fd, len(_header(dim, 0)), 0)
            count = int.from_bytes(head[_NTOTAL_AT[0] : _NTOTAL_AT[0] + 8], "little")
            if head != _header(dim, count):
                raise FlatFileError("not an exact index of this vector length")
            self.count = count
            self._codes_at = len(head)
            self._ids_at = self._codes_at + count * dim * 4 + 8
            tail = os.pread(fd, 8, self._ids_at - 8)
            if int.from_bytes(tail, "little") != count or size != self._ids_at + 8 * count:
                raise FlatFileError("index file truncated or padded")
        except BaseException:
            self._fh.close()
            raise
        self._members: np.ndarray | None = None
        self._mapped: Any = None

    @property
    def nbytes(self) -> int:
        return self.count * self.dim * 4

    def _read(self, offset: int, length: int) -> bytes:
        data = os.pread(self._fh.fileno(), length, offset)
        if len(data) != length:
            raise OSError(errno.EIO, f"short read of {self.path}")
        return data

    def ids(self, start: int, stop: int) -> np.ndarray:
        raw = self._read(self._ids_at + 8 * start, 8 * (stop - start))
        return np.frombuffer(raw, "<i8").astype(np.int64)

    def vectors(self, start: int, stop: int) -> np.ndarray:
        raw = self._read(self._codes_at + 4 * self.dim * start, 4 * self.dim * (stop - start))
        return np.frombuffer(raw, "<f4").reshape(-1, self.dim).copy()

    def _id_pieces(self, size: int = 65536) -> Iterator[tuple[int, np.ndarray]]:
        """Every id in the file, as (first row, ids) pieces of ``size`` rows."""
        for start in range(0, self.count, size):
            yield start, self.ids(start, min(start + size, self.count))

    def holds_any(self, ids: np.ndarray) -> bool:
        """Whether any of ``ids`` is in the file."""
        return bool(self.holds(ids).any())

    def holds(self, ids: np.ndarray) -> np.ndarray:
        """Which of ``ids`` are in the file: a byte per id up to the largest (catalog ids
        are dense), made on first use."""
        ids = np.asarray(ids, dtype=np.int64)
        if not self.count or not len(ids):
            return np.zeros(len(ids), bool)
        if self._members is None:
            members = np.zeros(0, bool)
            for _, part in self._id_pieces():
                top = int(part.max()) + 1
                if top > len(members):
                    members = np.concatenate([members, np.zeros(top - len(members), bool)])
                members[part] = True
            self._members = members
        inside = (ids >= 0) & (ids < len(self._members))
        held = np.zeros(len(ids), bool)
        held[inside] = self._members[ids[inside]]
        return held

    def is_at(self, path: Path) -> bool:
        """Whether ``path`` is still this version of the file (not renamed over since)."""
        try:
            there = os.stat(path)
        except OSError:
            return False
        mine = os.fstat(self._fh.fileno())
        return (there.st_dev, there.st_ino) == (mine.st_dev, mine.st_ino)

    def _fd_path(self) -> str:
        """A path to this very version of the file (the path itself may be renamed over)."""
        for folder in ("/proc/self/fd", "/dev/fd"):
            candidate = f"{folder}/{self._fh.fileno()}"
            if os.path.exists(candidate):
                return candidate
        return str(self.path)

    def mapped_index(self) -> Any:
        """FAISS's view of the file, mapped (made on the first search: a scan never needs it)."""
        if self._mapped is None:
            mapped = faiss.read_index(self._fd_path(), faiss.IO_FLAG_MMAP_IFC)
            if mapped.ntotal != self.count or mapped.d != self.dim:
                raise FlatFileError("index file changed under its reader")
            self._mapped = mapped
        return self._mapped

    def read_whole(self) -> Any:
        """The whole index in memory (before a change that is not an addition)."""
        index = faiss.read_index(self._fd_path())
        if index.ntotal != self.count or index.d != self.dim:
            raise FlatFileError("index file changed under its reader")
        return index

    def write_grown(
        self, target: str, ids: np.ndarray, vectors: np.ndarray, drop: np.ndarray | None = None
    ) -> None:
        """Write to ``target`` this file's vectors and ids, less those of the ids in ``drop``,
        followed by ``vectors`` and ``ids``."""
        ids = np.ascontiguousarray(ids, dtype="<i8")
        vectors = np.ascontiguousarray(vectors, dtype="<f4")
        runs = self._kept_runs(drop)
        total = sum(stop - start for start, stop in runs) + len(ids)
        src = self._fh.fileno()
        row = 4 * self.dim
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            head = _header(self.dim, total)
            _write_all(out, head)
            for start, stop in runs:
                _copy(src, out, self._codes_at + row * start, row * (stop - start))
            _write_all(out, vectors.tobytes())
            _write_all(out, int(total).to_bytes(8, "little"))
            for start, stop in runs:
                _copy(src, out, self._ids_at + 8 * start, 8 * (stop - start))
            _write_all(out, ids.tobytes())
        finally:
            os.close(out)

    def _kept_runs(self, drop: np.ndarray | None) -> list[tuple[int, int]]:
        """The file's rows to keep as (start, stop) runs: all of them, less those of ``drop``."""
        if drop is None or not len(drop) or not self.count:
            return [(0, self.count)] if self.count else []
        gone = [np.flatnonzero(np.isin(part, drop)) + start for start, part in self._id_pieces()]
        runs, start = [], 0
        for row in np.concatenate(gone).tolist():
            if row > start:
                runs.append((start, row))
            start = row + 1
        if start < self.count:
            runs.append((start, self.count))
        return runs

    def close(self) -> None:
        """Close now (else when dropped: a reader of pieces may still hold this version)."""
        self._mapped = None
        self._fh.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _copy(src: int, dst: int, offset: int, length: int) -> None:
    """``length`` bytes of ``src`` from ``offset`` appended to ``dst``, in the kernel if it can."""
    done = 0
    copy_range = getattr(os, "copy_file_range", None)
    while done < length and copy_range is not None:
        try:
            n = copy_range(src, dst, length - done, offset + done)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            break
        if n == 0:
            break
        done += n
    while done < length:
        chunk = os.pread(src, min(_COPY_CHUNK, length - done), offset + done)
        if not chunk:
            raise OSError(errno.EIO, "index file shorter than its header says")
        _write_all(dst, chunk)
        done += len(chunk)
