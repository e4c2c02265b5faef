"""``photosort doctor``: check the catalog, rebuild the index, report orphans, manage and
restore backups (core/doctor.py does the work)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from photosort.cli._base import Command, open_library


def _doctor_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--fix",
        action="store_true",
        help="also remove orphan rows (vectors without a photo, photos without a root)",
    )
    p.add_argument(
        "--restore",
        nargs="?",
        const="newest",
        metavar="BACKUP",
        help="replace the catalog by a backup (default: the newest usable one); "
        "the current catalog is backed up first",
    )
    p.add_argument("--list-backups", action="store_true", help="list the catalog backups")
    p.add_argument("--backup-now", action="store_true", help="back the catalog up now")
    p.add_argument("--keep", type=int, metavar="N", help="keep the newest N backups")
    p.add_argument(
        "--backup-every",
        type=float,
        metavar="HOURS",
        help="take a scheduled backup at most this often (default 24)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def cmd_doctor(args: argparse.Namespace) -> int:
    from photosort.core import doctor
    from photosort.core.library import default_library_dir

    # DoctorError and BackupError are PhotosortErrors: main() prints their one line
    if args.restore:
        folder = Path(getattr(args, "library", None) or default_library_dir()).expanduser()
        restored, saved = doctor.restore(folder, None if args.restore == "newest" else args.restore)
        print(f"restored the catalog from {restored}")
        if saved is not None:
            print(f"the catalog it replaced is kept as {saved}")
        return 0
    with open_library(args) as lib:
        if args.keep is not None or args.backup_every is not None:
            doctor.configure_backups(lib, args.keep, args.backup_every)
        if args.backup_now:
            print(f"backed up to {doctor.make_backup(lib)}")
        if args.list_backups:
            _list_backups(lib.folder / doctor.BACKUPS)
            return 0
        report = doctor.check(lib, fix=args.fix)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        print("\n".join(report.lines()))
    return 0 if report.healthy else 1


def _list_backups(folder: Path) -> None:
    """One line per backup: when, how big, and the path to give ``doctor --restore``."""
    from photosort.core.backup import backup_time, list_backups

    backups = list_backups(folder)
    if not backups:
        print(f"no backups yet in {folder}")
    for path in backups:
        taken = backup_time(path)
        when = taken.strftime("%Y-%m-%d %H:%M:%S") if taken else "unknown date"
        try:
            size = _size(path.stat().st_size)
        except OSError:
            size = "?"
        print(f"{when}  {size:>9}  {path}")


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


DOCTOR = Command(
    _doctor_options,
    cmd_doctor,
    "check the catalog, rebuild the index, report orphans, manage and restore backups",
)
