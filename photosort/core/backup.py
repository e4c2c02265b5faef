"""Catalog backups with SQLite's online backup API (safe while the catalog is open)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

DEFAULT_KEEP = 10


def backup_database(
    conn: sqlite3.Connection, folder: Path, reason: str = "manual", keep: int = DEFAULT_KEEP
) -> Path:
    """Write a consistent copy of the catalog into ``folder`` and prune old copies."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"catalog-{stamp}-{_safe(reason)}.sqlite"
    dest = sqlite3.connect(target)
    try:
        conn.backup(dest)
    finally:
        dest.close()
    prune_backups(folder, keep)
    return target


def list_backups(folder: Path) -> list[Path]:
    """Backups, newest first."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob("catalog-*.sqlite"), reverse=True)


def prune_backups(folder: Path, keep: int) -> None:
    for old in list_backups(folder)[keep:]:
        old.unlink(missing_ok=True)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)[:60]
