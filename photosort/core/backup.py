"""Catalog backups with SQLite's online backup API (safe while the catalog is open).

A backup is written under a temporary name and renamed when complete, so a crash or a
full disk never leaves a half-written file that looks like a good backup. Besides the
backups taken before each migration, ``scheduled_backup`` keeps one a day (by default)
while the library is in use, and only the newest ``keep`` are kept.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from photosort.core import private
from photosort.core.errors import PhotosortError

log = logging.getLogger(__name__)

DEFAULT_KEEP = 10
DEFAULT_INTERVAL_S = 24 * 3600
#: A catalog this big (~4k photos; a million is ~4 GB) is backed up by a process of its
#: own: copying it inline would hold up the first write of the day by a second or more.
BACKGROUND_ABOVE_BYTES = int(os.environ.get("PHOTOSORT_BACKUP_BACKGROUND_ABOVE", 16 << 20))
_PARTIAL_PREFIX = ".partial-"


class BackupError(PhotosortError):
    """A backup could not be written or is not a usable catalog; one line for the user."""


def backup_database(
    conn: sqlite3.Connection, folder: Path, reason: str = "manual", keep: int = DEFAULT_KEEP
) -> Path:
    """Write a consistent copy of the catalog into ``folder`` and prune old copies.

    Every failure (the folder cannot be made, a full disk) is a BackupError: callers that
    must not stop the user's work for a missed backup catch that one class."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"catalog-{stamp}-{_safe(reason)}.sqlite"
    partial = folder / (_PARTIAL_PREFIX + target.name)
    try:
        private.private_dir(folder)
        dest = sqlite3.connect(partial)
        private.make_private(partial)  # a copy of the catalog is as private as the catalog
        try:
            conn.backup(dest)
        finally:
            dest.close()
        with open(partial, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):  # the folder itself may be what failed
            partial.unlink(missing_ok=True)
        reason_text = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise BackupError(f"cannot write a catalog backup in {folder}: {reason_text}") from exc
    prune_backups(folder, keep)
    return target


def scheduled_backup(
    conn: sqlite3.Connection,
    folder: Path,
    keep: int = DEFAULT_KEEP,
    interval_s: float = DEFAULT_INTERVAL_S,
    now: dt.datetime | None = None,
) -> Path | None:
    """Back up unless a backup younger than ``interval_s`` exists; None when none was due."""
    newest = list_backups(folder)
    if newest:
        taken = backup_time(newest[0])
        current = now or dt.datetime.now()
        if taken is not None and 0 <= (current - taken).total_seconds() < interval_s:
            return None
    return backup_database(conn, folder, reason="scheduled", keep=keep)


def backup_time(path: Path) -> dt.datetime | None:
    """When a backup was taken, from its name (``catalog-YYYYmmdd-HHMMSS-ffffff-...``)."""
    parts = path.name.split("-")
    try:
        return dt.datetime.strptime("-".join(parts[1:4]), "%Y%m%d-%H%M%S-%f")
    except (ValueError, IndexError):
        return None


def list_backups(folder: Path) -> list[Path]:
    """Backups, newest first (half-written ones are never listed)."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob("catalog-*.sqlite"), reverse=True)


def prune_backups(folder: Path, keep: int) -> None:
    """Delete all but the newest ``keep``; one that cannot be deleted stays (the new
    backup is written, which is what counts)."""
    for old in list_backups(folder)[max(keep, 1) :]:
        try:
            old.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot delete the old backup %s: %s", old, exc)


def remove_partials(folder: Path) -> list[Path]:
    """Delete leftovers of backups interrupted by a crash; returns what was removed."""
    if not folder.is_dir():
        return []
    gone = sorted(folder.glob(_PARTIAL_PREFIX + "*"))
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)[:60]


def is_large(catalog: Path) -> bool:
    try:
        return os.path.getsize(catalog) >= BACKGROUND_ABOVE_BYTES
    except OSError:
        return False


def scheduled_backup_in_background(
    catalog: Path, folder: Path, keep: int = DEFAULT_KEEP, interval_h: float = 24.0
) -> subprocess.Popen | None:
    """Start ``python -m photosort.core.backup`` on its own: it reads a snapshot (WAL lets
    every process go on writing meanwhile) and outlives a short CLI command."""
    newest = list_backups(folder)
    taken = backup_time(newest[0]) if newest else None
    if taken is not None and 0 <= (dt.datetime.now() - taken).total_seconds() < interval_h * 3600:
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "photosort.core.backup", str(catalog), str(folder), str(keep)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def _main(argv: list[str]) -> int:
    catalog, folder, keep = Path(argv[0]), Path(argv[1]), int(argv[2])
    if hasattr(os, "nice"):
        os.nice(10)
    conn = sqlite3.connect(f"{catalog.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
    try:
        backup_database(conn, folder, reason="scheduled", keep=keep)
    except BackupError:
        return 1
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
