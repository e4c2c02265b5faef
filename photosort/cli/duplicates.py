"""``photosort duplicates``: list exact, near-duplicate and burst groups, and act on them."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from photosort.cli._base import Command, open_library
from photosort.cli._jobs import one_line, run_job

if TYPE_CHECKING:
    from photosort.core.duplicates import Group


def _options(p: argparse.ArgumentParser) -> None:
    from photosort.core.duplicates import BURST_THRESHOLD, NEAR_THRESHOLD

    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--exact", action="store_true", help="only identical files")
    kind.add_argument("--near", action="store_true", help="only near-duplicates (same shot)")
    kind.add_argument("--bursts", action="store_true", help="only bursts (seconds apart)")
    p.add_argument(
        "--threshold",
        type=float,
        metavar="X",
        help=f"how close the CLIP vectors must be, a cosine (default {NEAR_THRESHOLD} for "
        f"near-duplicates, {BURST_THRESHOLD} for bursts)",
    )
    p.add_argument("--json", action="store_true", help="print the groups as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--tag-others",
        metavar="TAG",
        help="tag every photo but the keeper (e.g. duplicate); their manual tags go to the keeper",
    )
    p.add_argument("--export-keepers", metavar="DIR", help="copy only the keepers into DIR")
    p.add_argument(
        "--trash-others",
        action="store_true",
        help="move every photo but the keeper to the system trash (needs --yes)",
    )
    p.add_argument("--yes", action="store_true", help="confirm --trash-others")


def cmd_duplicates(args: argparse.Namespace) -> int:
    from photosort.core.duplicates import DuplicatesError

    if args.trash_others and not args.yes:
        raise DuplicatesError(
            "--trash-others moves files to the system trash: add --yes to confirm "
            "(nothing was moved)"
        )
    kinds = [k for k in ("exact", "near", "bursts") if getattr(args, k)] or [
        "exact",
        "near",
        "bursts",
    ]
    if args.threshold is not None and kinds == ["exact"]:
        raise DuplicatesError("--threshold applies to --near and --bursts, not --exact")
    report: dict = {}
    with open_library(args) as lib:
        groups = run_job(
            args, lambda bar, token: lib.find_duplicates(kinds, args.threshold, bar, token)
        )
        if args.export_keepers:
            kept = run_job(
                args,
                lambda bar, token: lib.export_keepers(groups, args.export_keepers, bar, token),
            )
            assert kept.export is not None  # export_keepers always exports
            report["export"] = kept.export.as_dict()
            print(f"keepers: {kept.export.line()}", file=sys.stderr)
        if args.tag_others:
            tagged = lib.tag_duplicates(groups, args.tag_others)
            report["tagged"] = tagged.as_dict()
            print(
                f"tagged {tagged.tagged} photos {args.tag_others!r}; "
                f"{tagged.merged} manual tags merged into keepers",
                file=sys.stderr,
            )
            _conflicts(tagged.conflicts)
        if args.trash_others:
            trashed = run_job(
                args, lambda bar, token: lib.trash_duplicates(groups, True, bar, token)
            )
            report["trashed"] = trashed.as_dict()
            for path, why in trashed.skipped:
                print(f"photosort: kept {one_line(path)}: {why}", file=sys.stderr)
            _conflicts(trashed.conflicts)
            print(
                f"moved {len(trashed.trashed)} photos to the trash "
                f"({trashed.merged} manual tags merged into keepers)",
                file=sys.stderr,
            )
    if args.json:
        print(json.dumps([g.as_dict() for g in groups], indent=2, ensure_ascii=False))
    else:
        _print(groups)
    return 0


def _conflicts(lines: list[str]) -> None:
    for line in lines:
        print(f"photosort: note: {line}", file=sys.stderr)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _print(groups: list[Group]) -> None:
    for group in groups:
        print(f"{group.kind}: {len(group.members)} photos, keep {one_line(group.keeper.path)}")
        print(f"  why: {'; '.join(group.reasons)}")
        for m in group.members:
            mark = "*" if m.photo_id == group.keeper_id else " "
            dims = f"{m.width}×{m.height}" if m.width else "?"
            print(
                f"  {mark} {dims:>11}  {_size(m.size):>8}  {m.taken_at or '':19}  "
                f"{one_line(m.path)}"
            )
    counts = {k: sum(g.kind == k for g in groups) for k in ("exact", "near", "bursts")}
    spare = sum(len(g.others) for g in groups)
    print(
        f"{counts['exact']} exact, {counts['near']} near-duplicate and {counts['bursts']} burst "
        f"groups; {spare} photos besides the keepers"
    )


DUPLICATES = Command(
    _options, cmd_duplicates, "find exact duplicates, near-duplicates and bursts; keep the best"
)
