"""File placement: folders checked to stay inside the destination, names claimed with
exclusive operations (nothing overwritten), copies fsynced, and the manifest."""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import IO

from photosort.core.export.names import candidates, inside
from photosort.core.export.request import ExportError, ExportItem, ExportSummary
from photosort.core.xmp import SidecarTag, write_sidecar

MANIFEST = "manifest.csv"


MANIFEST_HEADER = ["source", "destination", "tag", "mode"]


#: A cell starting with one of these is a formula to Excel, LibreOffice and Sheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


#: Errors that mean the destination disk (or the user's quota) is full.
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def _prepare_folder(folder: str, base: str) -> None:
    """Create a tag folder, refusing anything that is not (or does not resolve to) inside."""
    folder = os.path.abspath(folder)
    if folder != base and os.path.dirname(folder) != base:
        raise ExportError(f"{folder} would be outside {base}")
    os.makedirs(folder, exist_ok=True)
    if not inside(folder, base):
        raise ExportError(f"{folder} leads outside {base}")


def _disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _DISK_FULL


def _room_for(source: str, base: str) -> bool:
    """Whether the destination still has room for a file like ``source`` (a failure
    that says "disk full" with room left, a quota or a flaky share, does not stop it)."""
    try:
        return shutil.disk_usage(base).free > os.path.getsize(source)
    except OSError:
        return False


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: a leading ``=``, ``+``, ``-``, ``@``, tab or CR
    (a tag such as ``=HYPERLINK(...)``) gets a ``'`` before it (OWASP's advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class Manifest:
    """``manifest.csv``: one row per file placed, written as it happens.

    Rows are kept in memory until they reach the disk, so a full disk loses none: a row the
    disk refused is written again after the failed copy's temporary file has freed space,
    and at close. A second export into the same folder appends to the same manifest.
    """

    def __init__(self, path: str, fh: IO[str], header: bool) -> None:
        self.path = path
        self._fh: IO[str] | None = fh
        self._good = os.fstat(fh.fileno()).st_size  # bytes known to be whole rows
        self._pending: list[list[str]] = [MANIFEST_HEADER] if header else []
        self._flush()

    @classmethod
    def open(cls, base: str) -> Manifest:
        for cand in candidates(MANIFEST):
            path = os.path.join(base, cand)
            try:
                return cls(path, open(path, "x", newline="", encoding="utf-8"), header=True)
            except FileExistsError:
                if _has_header(path):  # an earlier export's manifest: append to it
                    return cls(path, open(path, "a", newline="", encoding="utf-8"), header=False)
            except OSError as exc:
                raise ExportError(f"cannot write {path}: {_reason(exc)}") from exc
        raise AssertionError("unreachable")

    def add(self, row: list[str]) -> None:
        self._pending.append([csv_cell(v) for v in row])
        self._flush()

    def _flush(self) -> bool:
        if not self._pending:
            return True
        text = _csv_text(self._pending)
        if self._fh is None:
            self._reopen()
            if self._fh is None:
                return False
        try:
            self._fh.write(text)
            self._fh.flush()
        except OSError:
            self._reopen()
            return False
        self._pending.clear()
        self._good = os.fstat(self._fh.fileno()).st_size
        return True

    def _reopen(self) -> None:
        """After a failed write the buffer holds a half row: start again from the disk."""
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()  # its buffer still holds the refused text: drop it
        with contextlib.suppress(OSError), open(self.path, "r+b") as raw:
            raw.truncate(self._good)
        try:
            self._fh = open(self.path, "a", newline="", encoding="utf-8")  # noqa: SIM115
        except OSError:
            self._fh = None

    def close(self) -> str | None:
        """Write what is left; returns a one-line warning if some rows could not be."""
        done = self._flush()
        try:
            if self._fh is not None:
                self._fh.close()
        except OSError:
            done = False
        if done:
            return None
        return f"the manifest {self.path} lacks {len(self._pending)} rows: the disk is full"


def _csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


def _has_header(path: str) -> bool:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return next(csv.reader(fh), None) == MANIFEST_HEADER
    except (OSError, UnicodeDecodeError, csv.Error):
        return False


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def _sidecar(item: ExportItem, tags: list[SidecarTag], summary: ExportSummary) -> None:
    try:
        path, outcome = write_sidecar(item.destination, tags)
    except OSError as exc:
        summary.warnings.append(f"no XMP for {item.destination}: {_reason(exc)}")
        return
    if outcome == "kept-foreign":
        summary.warnings.append(f"kept existing sidecar {path}")


def place(source: str, wanted: str, mode: str) -> str:
    """Put ``source`` at ``wanted`` (or the next free " (n)" name); returns the path used."""
    folder, name = os.path.split(wanted)
    if mode == "hardlink":
        return _claim(folder, name, lambda dst: os.link(source, dst))
    if mode == "symlink":
        return _claim(folder, name, lambda dst: os.symlink(os.path.abspath(source), dst))
    return copy_exclusive(source, folder, name)


def _claim(folder: str, name: str, make: Callable[[str], None]) -> str:
    """Run an exclusive-create ``make`` on the first free candidate name."""
    for cand in candidates(name):
        dst = os.path.join(folder, cand)
        try:
            make(dst)
            return dst
        except FileExistsError:
            continue
    raise AssertionError("unreachable")


def copy_exclusive(source: str, folder: str, name: str) -> str:
    """Copy with data and timestamps to a temporary file, fsync, then claim a free name."""
    fd, tmp = tempfile.mkstemp(prefix=".photosort-", suffix=".part", dir=folder)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        _fsync(tmp)
        shutil.copystat(source, tmp)

        def claim(dst: str) -> None:
            try:
                os.link(tmp, dst)
            except FileExistsError:
                raise
            except OSError:  # no hard links on this file system: reserve, then fill
                with open(dst, "xb"):
                    pass
                os.replace(tmp, dst)

        return _claim(folder, name, claim)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _fsync(path: str) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Windows cannot open folders; its rename/link is already durable enough
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _copy_to_new(source: str, target: str) -> None:
    with open(source, "rb") as src, open(target, "xb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    shutil.copystat(source, target)


def _same(a: str, b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _identical(a: str, b: str | os.PathLike[str]) -> bool:
    if _same(a, b):
        return True
    try:
        if os.path.getsize(a) != os.path.getsize(b):
            return False
        with open(a, "rb") as fa, open(b, "rb") as fb:
            while True:
                x, y = fa.read(1 << 20), fb.read(1 << 20)
                if x != y:
                    return False
                if not x:
                    return True
    except OSError:
        return False
