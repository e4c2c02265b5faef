"""Export tagged photos into folders: one folder per tag, safe names, nothing overwritten.

Safety rules, because the destination may be any disk and tag names are free text:

* folder and file names are sanitised for every OS (no separators, no ``..``, no
  Windows device names such as CON or LPT1 with any extension, no trailing dots or
  spaces, no control characters, at most ``MAX_NAME_BYTES`` UTF-8 bytes), and every
  resolved path is checked to be inside the destination;
* an existing file is never overwritten: names are claimed with exclusive operations
  (``os.link``/``os.symlink``/``open(..., "xb")``) and a taken name gets " (2)", " (3)" ...;
* ``copy`` writes to a temporary file first and keeps timestamps (``shutil.copy2``
  semantics); ``move`` is all-or-nothing per file: copy (or link) and fsync, update the
  catalog, then remove the original, undoing the earlier steps if a later one fails;
* a manifest CSV (source, destination, tag, mode) in the destination lists what was done,
  even when the disk fills up (the export stops there, with one line saying so); its cells
  cannot start a spreadsheet formula; a second export into the same folder appends to it;
* a photo already in the destination with identical content is skipped ("already there"),
  so running the same export twice copies nothing again;
* two different tags never share a folder, whatever their names sanitise to.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import os
import shutil
import stat
import tempfile
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from photosort.core import folders as folder_rules
from photosort.core.catalog import Catalog
from photosort.core.errors import PhotosortError
from photosort.core.owner import Owner, is_gone, this_process
from photosort.core.progress import ProgressCallback, RateMeter
from photosort.core.store import MoveJournal, PhotoStore, TagStore
from photosort.core.xmp import SidecarTag, write_sidecar

MODES = ("copy", "hardlink", "symlink", "move")
LAYOUTS = ("by-tag", "flat")
MANIFEST = "manifest.csv"
MAX_NAME_BYTES = 200  # under every file system's 255, with room for " (99999)"
MANIFEST_HEADER = ["source", "destination", "tag", "mode"]
#: Unicode categories never kept in a name: controls, format characters (bidi overrides
#: such as U+202E that make "‮gpj.exe" read as "exe.jpg", zero-width spaces and joiners),
#: line and paragraph separators, lone surrogates.
_DROPPED_CATEGORIES = ("Cc", "Cf", "Zl", "Zp", "Cs")
#: A cell starting with one of these is a formula to Excel, LibreOffice and Sheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Errors that mean the destination disk (or the user's quota) is full.
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_ILLEGAL = set('<>:"/\\|?*')
_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{dev}{n}" for dev in ("COM", "LPT") for n in [*"0123456789", "¹", "²", "³"]
}


class ExportError(PhotosortError):
    """The export as a whole cannot run (bad destination, unknown mode); one line."""


@dataclass
class ExportRequest:
    tags: list[str]
    dest: str | os.PathLike
    mode: str = "copy"
    layout: str = "by-tag"
    dry_run: bool = False
    xmp: bool = False
    photo_ids: list[int] | None = None  # only these photos (e.g. the GUI's selection)
    pair: str = "both"  # RAW+JPEG pairs: "both" files, only the "raw" or only the "jpeg"


@dataclass
class ExportItem:
    photo_id: int
    source: str
    destination: str
    tag: str
    status: str = "planned"  # planned | done | failed | skipped
    error: str | None = None


@dataclass
class ExportSummary:
    dest: str
    mode: str
    dry_run: bool = False
    items: list[ExportItem] = field(default_factory=list)
    manifest: str | None = None
    cancelled: bool = False
    warnings: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the export stopped early (a full disk), one line

    @property
    def done(self) -> int:
        return sum(i.status == "done" for i in self.items)

    @property
    def failed(self) -> int:
        return sum(i.status == "failed" for i in self.items)

    def line(self) -> str:
        verb = {"copy": "copied", "hardlink": "linked", "symlink": "symlinked", "move": "moved"}[
            self.mode
        ]
        if self.dry_run:
            todo = len(self.items) - self.skipped
            text = f"dry run: would have {verb} {todo} photos into {self.dest}"
            return text + (f", {self.skipped} already there" if self.skipped else "")
        text = f"{self.done} photos {verb} into {self.dest}, {self.failed} failed"
        skipped = self.skipped
        if skipped:
            text += f", {skipped} already there"
        if self.stopped:
            return f"stopped: {self.stopped}; " + text
        return ("cancelled: " if self.cancelled else "") + text

    @property
    def skipped(self) -> int:
        return sum(i.status == "skipped" for i in self.items)

    def as_dict(self) -> dict:
        return {
            "dest": self.dest,
            "mode": self.mode,
            "dry_run": self.dry_run,
            "done": self.done,
            "failed": self.failed,
            "skipped": self.skipped,
            "cancelled": self.cancelled,
            "stopped": self.stopped,
            "manifest": self.manifest,
            "warnings": list(self.warnings),
            "items": [dict(i.__dict__) for i in self.items],
        }


# -- names --------------------------------------------------------------------------------------
def safe_name(name: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """One path component that is valid and harmless on Windows, macOS and Linux."""
    text = unicodedata.normalize("NFC", str(name))
    text = "".join(
        "_" if ch in _ILLEGAL else ch
        for ch in text
        if unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )
    text = _trim(text)
    if text.split(".")[0].strip().upper() in _RESERVED:
        text = "_" + text
    encoded = text.encode("utf-8")
    if len(encoded) > max_bytes:
        text = _trim(encoded[:max_bytes].decode("utf-8", "ignore"))
    return text or "_"


def _trim(text: str) -> str:
    # Leading dots would hide the folder and "." / ".." are not names: dots are dropped,
    # and a name of dots alone becomes one "_" per dot, so ".", ".." and "..." stay three
    # names (tag_folders keeps any other two tags apart). Windows drops trailing dots and
    # spaces, which would make two names the same.
    text = text.strip()
    if text and not text.strip("."):
        return "_" * len(text)
    return text.lstrip(".").strip().rstrip(". ")


def safe_filename(name: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    stem, ext = os.path.splitext(name)
    ext = safe_name(ext.lstrip("."), 16) if ext.strip(". ") else ""
    stem = safe_name(stem, max_bytes - len(ext.encode()) - 1)
    return f"{stem}.{ext}" if ext else stem


def candidates(name: str) -> Iterator[str]:
    """``name``, then ``name (2)``, ``name (3)`` ... with the extension kept at the end."""
    yield name
    stem, ext = os.path.splitext(name)
    n = 2
    while True:
        yield f"{stem} ({n}){ext}"
        n += 1


def inside(folder: str | os.PathLike, base: str | os.PathLike) -> bool:
    """True when ``folder`` resolves (links followed) to ``base`` or somewhere below it."""
    return folder_rules.inside(os.path.realpath(folder), os.path.realpath(base))


# -- planning -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    photo_id: int
    path: str
    tags: tuple[str, ...]  # the requested tags this photo has, in request order
    problem: str | None = None  # why it must not be exported (not a photo, outside its root)


def plan(request: ExportRequest, sources: list[Source]) -> list[ExportItem]:
    """What goes where, before anything is written (also the dry run's answer)."""
    base = Path(os.path.abspath(os.path.expanduser(os.fspath(request.dest))))
    taken: dict[str, set[str]] = {}
    items: list[ExportItem] = []
    folders = tag_folders([t for src in sources for t in src.tags])
    for src in sources:
        if src.problem:
            tag = src.tags[0] if src.tags else ""
            items.append(ExportItem(src.photo_id, src.path, "", tag, "failed", src.problem))
            continue
        if not src.tags:  # a search result or a picked photo: straight into the destination
            targets: list[tuple[str, str | None]] = [("", None)]
        elif request.layout == "flat" or request.mode == "move":
            targets = [
                (src.tags[0] if request.mode == "move" else "; ".join(src.tags), src.tags[0])
            ]
        else:
            targets = [(tag, tag) for tag in src.tags]
        for label, folder_tag in targets:
            flat = request.layout == "flat" or folder_tag is None
            folder = base if folder_tag is None or flat else base / folders[folder_tag]
            if os.path.dirname(src.path) == str(folder):  # already there (an earlier export)
                items.append(
                    ExportItem(
                        src.photo_id,
                        src.path,
                        src.path,
                        label,
                        "skipped",
                        "already in the destination folder",
                    )
                )
                continue
            used = taken.setdefault(str(folder), set())
            name = safe_filename(os.path.basename(src.path))
            twin = None
            for cand in candidates(name):
                if cand.casefold() in used:
                    continue
                if not os.path.lexists(folder / cand):
                    break
                if twin is None and request.mode != "move" and _identical(src.path, folder / cand):
                    twin = cand
            if twin is not None:  # exported before, same content: nothing to do
                used.add(twin.casefold())
                items.append(
                    ExportItem(
                        src.photo_id,
                        src.path,
                        str(folder / twin),
                        label,
                        "skipped",
                        "already there",
                    )
                )
                continue
            used.add(cand.casefold())
            items.append(ExportItem(src.photo_id, src.path, str(folder / cand), label))
    return items


def tag_folders(tags: Iterable[str]) -> dict[str, str]:
    """A folder name per tag, never the same for two tags ("a/b" and "a_b", "x." and "x",
    "Dog" and "dog" on a case-insensitive disk): a later one gets " (2)"."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for tag in dict.fromkeys(tags):
        for cand in candidates(safe_name(tag)):
            if cand.casefold() not in used:
                break
        used.add(cand.casefold())
        out[tag] = cand
    return out


# -- doing ----------------------------------------------------------------------------------
def run(
    catalog: Catalog,
    request: ExportRequest,
    sources: list[Source],
    tags_of: Callable[[int], list[SidecarTag]],
    root_for: Callable[[str], int],
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ExportSummary:
    """Export ``sources``; ``root_for(folder)`` gives the catalog root a moved photo joins."""
    check_request(request)
    base = os.path.abspath(os.path.expanduser(os.fspath(request.dest)))
    summary = ExportSummary(base, request.mode, request.dry_run)
    summary.items = plan(request, sources)
    if request.dry_run:
        return summary
    try:
        os.makedirs(base, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create {base}: {exc.strerror or exc}") from exc
    meter = RateMeter("exporting", len(summary.items), on_progress)
    meter.report(0)
    if all(i.status == "skipped" for i in summary.items):
        return summary  # all already there: not even a manifest to touch
    manifest = Manifest.open(base)
    summary.manifest = manifest.path
    root_id: int | None = None
    try:
        for n, item in enumerate(summary.items, 1):
            if item.status in ("skipped", "failed"):
                continue
            if should_cancel and should_cancel():
                summary.cancelled = True
                break
            try:
                _prepare_folder(os.path.dirname(item.destination), base)
                if request.mode == "move":
                    if root_id is None:
                        root_id = root_for(base)
                    item.destination = move_one(catalog, item, root_id)
                else:
                    item.destination = place(item.source, item.destination, request.mode)
                item.status = "done"
            except (OSError, ExportError) as exc:
                item.status = "failed"
                item.error = _reason(exc)
                if _disk_full(exc) and not _room_for(item.source, base):
                    summary.stopped = f"the disk of {base} is full"  # the rest would fail too
            if item.status == "done":
                manifest.add([item.source, item.destination, item.tag, request.mode])
                if request.xmp:
                    _sidecar(item, tags_of(item.photo_id), summary)
            meter.report(n, item.source)
            if summary.stopped:
                break
    finally:
        problem = manifest.close()
    if problem:
        summary.warnings.append(problem)
    summary.items = [i for i in summary.items if i.status != "planned"]
    return summary


PAIR_CHOICES = ("both", "raw", "jpeg")


def check_request(request: ExportRequest) -> None:
    if request.mode not in MODES:
        raise ExportError(f"unknown mode {request.mode!r}: choose one of {', '.join(MODES)}")
    if request.layout not in LAYOUTS:
        raise ExportError(f"unknown layout {request.layout!r}: choose {' or '.join(LAYOUTS)}")
    if not request.tags and request.photo_ids is None:
        raise ExportError("nothing to export: give at least one tag, or the photos")
    if request.photo_ids is not None and not request.photo_ids:
        raise ExportError("nothing to export: no photo was picked")
    if request.pair not in PAIR_CHOICES:
        raise ExportError(f"unknown pair choice {request.pair!r}: {', '.join(PAIR_CHOICES)}")
    if not os.fspath(request.dest):
        raise ExportError("no destination folder given")
    dest = os.path.abspath(os.path.expanduser(os.fspath(request.dest)))
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise ExportError(f"destination is not a folder: {dest}")


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


def move_one(catalog: Catalog, item: ExportItem, root_id: int) -> str:
    """Move one photo, all or nothing, even across a kill -9.

    A journal row (written first) names a temporary file; the photo is linked (or copied
    and fsynced) to it, the final name is claimed from it, then the catalog is pointed at
    the new path, and only then is the original removed. Whatever step fails or is
    killed, ``settle`` brings disk and catalog back to one copy where the catalog says.
    """
    folder, name = os.path.split(item.destination)
    tmp = os.path.join(folder, f".photosort-move-{item.photo_id}-{uuid.uuid4().hex[:8]}.part")
    me = this_process()
    journal = MoveJournal(catalog)
    journal.begin(item.photo_id, item.source, tmp, me.host, me.pid, me.started)
    committed = False

    try:
        try:
            os.link(item.source, tmp)  # same disk: no copy
        except OSError:
            _copy_to_new(item.source, tmp)

        def claim(dst: str) -> None:
            journal.claimed(item.photo_id, dst)
            try:
                os.link(tmp, dst)
            except FileExistsError:
                raise
            except OSError:  # no hard links here: reserve the name, note it, then fill it
                with open(dst, "xb"):
                    pass
                journal.placeholder(item.photo_id)
                os.replace(tmp, dst)

        dst = _claim(folder, name, claim)
        _fsync_dir(folder)
        update_catalog_path(catalog, item.photo_id, item.source, dst, root_id)
        committed = True
        try:
            remove_original(item.source)
        except BaseException:
            update_catalog_path(catalog, item.photo_id, dst, item.source, None)
            committed = False
            raise
        _fsync_dir(os.path.dirname(item.source))
        return dst
    finally:
        settle(catalog, item.photo_id)
        if not committed and os.path.exists(tmp):
            os.unlink(tmp)


def _copy_to_new(source: str, target: str) -> None:
    with open(source, "rb") as src, open(target, "xb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    shutil.copystat(source, target)


def settle(catalog: Catalog, photo_id: int) -> str | None:
    """Finish or undo one journalled move from what the catalog says; returns a note.

    The catalog is the arbiter: still at the source means the move did not happen (every
    file the move made is removed); at the new path means it did (the original goes, if
    it is still there and identical).
    """
    journal = MoveJournal(catalog)
    entry = journal.entry(photo_id)
    if entry is None:
        return None
    source, temp, destination, placeholder, current = entry
    note = None
    if current == source:
        # Not committed: remove the name this move claimed, recognised as the same file as
        # its (uniquely named) temp, or as the placeholder it reserved. Never the source.
        if (
            destination
            and destination != source
            and os.path.lexists(destination)
            and (_same(destination, temp) or placeholder)
        ):
            os.unlink(destination)
            note = f"undid an unfinished move of {source}"
    elif (
        current is not None
        and source != current
        and os.path.exists(source)
        and _identical(source, current)
    ):
        os.unlink(source)
        note = f"finished moving {source} to {current}"
    if os.path.lexists(temp):
        os.unlink(temp)
    journal.done(photo_id)
    return note


def recover_moves(catalog: Catalog, lock_held: bool) -> list[str]:
    """Settle moves a killed process left half done (run before export and scan).

    Only the holder of the library's write lock may recover, and only journals whose owner
    process is provably gone: a live export's journal is its own business (settling it
    from outside deleted originals). Rows from before owners were recorded (NULL owner)
    are settled under the lock: no older photosort can still be running a move, since
    opening the catalog with this version migrated it.
    """
    if not lock_held:
        raise ExportError("internal error: move recovery needs the library's write lock")
    notes = []
    for photo_id, host, pid, started in MoveJournal(catalog).owners():
        if host is not None and not is_gone(Owner(host, int(pid), started)):
            continue
        note = settle(catalog, photo_id)
        if note:
            notes.append(note)
    return notes


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


def update_catalog_path(
    catalog: Catalog, photo_id: int, old: str, new: str, root_id: int | None
) -> None:
    if not PhotoStore(catalog).move(photo_id, old, new, root_id):
        raise ExportError(f"the catalog no longer holds {old}")


def remove_original(path: str) -> None:
    os.unlink(path)


def sources_for(catalog: Catalog, tags: Iterable[str], photo_ids: list[int] | None) -> list[Source]:
    """Photos that have any of ``tags`` (effective tags), with which of them, in path order;
    without tags, the photos ``photo_ids`` names (a search's results, the app's selection)."""
    tags = list(dict.fromkeys(t.strip() for t in tags))
    if not tags:
        return _picked_sources(catalog, photo_ids or [])
    rows = TagStore(catalog).tagged_photos(tags)
    allowed = None if photo_ids is None else set(photo_ids)
    found: dict[int, tuple[str, set[str], tuple]] = {}
    for pid, path, tag, *where in rows:
        if allowed is None or pid in allowed:
            found.setdefault(pid, (path, set(), tuple(where)))[1].add(tag)
    return [
        Source(pid, path, tuple(t for t in tags if t in have), not_a_photo(path, *where))
        for pid, (path, have, where) in found.items()
    ]


def _picked_sources(catalog: Catalog, photo_ids: list[int]) -> list[Source]:
    """The photos a search or a selection picked, checked like tagged ones (not_a_photo)."""
    ids = list(dict.fromkeys(photo_ids))
    rows = PhotoStore(catalog).with_roots(ids)
    found: dict[int, tuple[str, tuple]] = {r[0]: (r[1], tuple(r[2:])) for r in rows}
    return [
        Source(pid, path, (), not_a_photo(path, *where))
        for pid, (path, where) in sorted(found.items(), key=lambda item: item[1][0])
    ]


def not_a_photo(path: str, status: str, root: str, follow_links: int) -> str | None:
    """Why ``path`` must not be exported, or None: only photos the catalog could read,
    that are plain files inside their root (unless the user let that root follow links)."""
    if status == "failed":
        return "not exported: it could not be read as a photo"
    try:
        if os.path.islink(path) and not follow_links and not inside(path, root):
            return "not exported: a symlink that leads outside its folder"
        if not stat.S_ISREG(os.stat(path).st_mode):
            return "not exported: not a regular file"
    except OSError:
        return None  # missing now: the export reports the real error when it gets there
    return None
