"""``photosort teach``: teach a tag from the photos tagged with it, review, list."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from photosort.cli._base import Command, open_library
from photosort.cli._jobs import run_job

if TYPE_CHECKING:
    from photosort.core.teaching import TaughtInfo


def _teach_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("tag", nargs="?", metavar="TAG", help="the tag to teach (or review)")
    p.add_argument(
        "--review",
        type=int,
        metavar="N",
        help="list the N suggestions the probe is least sure about, to confirm or reject",
    )
    p.add_argument("--list", action="store_true", help="every taught tag with its estimate")
    p.add_argument("--forget", action="store_true", help="stop teaching TAG (its manual tags stay)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def cmd_teach(args: argparse.Namespace) -> int:
    from photosort.core.library import LibraryError

    with open_library(args) as lib:
        teacher = lib.teacher
        if args.list:
            return _print_list(teacher.list(), args.json)
        if not args.tag:
            raise LibraryError("teach needs a TAG (or --list)")
        if args.forget:
            teacher.forget(args.tag)
            print(f"forgot the taught tag {args.tag!r}; manual tags kept")
            return 0
        if args.review is not None:
            if args.review <= 0:
                raise LibraryError("--review needs a positive number")
            picks = teacher.review(args.tag, args.review)
            paths = {pid: d["path"] for pid, d in lib.photo_details([p for p, _ in picks]).items()}
            items = [{"path": paths[pid], "probability": round(p, 4)} for pid, p in picks]
            if args.json:
                print(json.dumps(items, indent=2, ensure_ascii=False))
            else:
                for item in items:
                    print(f"{item['probability']:5.2f}  {item['path']}")
                print(
                    f"confirm with  photosort tag PATH... --add {args.tag!r}, reject with "
                    f"--reject {args.tag!r}, then  photosort teach {args.tag!r}  again"
                )
            return 0
        summary = teacher.teach(args.tag)
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(summary.line())
    return 0


def _print_list(infos: list[TaughtInfo], as_json: bool) -> int:
    if as_json:
        print(json.dumps([i.as_dict() for i in infos], indent=2, ensure_ascii=False))
        return 0
    if not infos:
        print("no taught tags yet: tag a few photos, then  photosort teach TAG")
    for i in infos:
        est = "no estimate" if i.precision is None else f"precision ~{i.precision:.2f}"
        if i.recall is not None:
            est += f", recall ~{i.recall:.2f}"
        span = i.precision_range()
        if i.precision is not None and i.estimate_uncertain and span is not None:
            est += f" (uncertain: precision between {span[0]:.2f} and {span[1]:.2f})"
        print(
            f"{i.tag}: {i.positives} examples, {i.negatives} rejected, "
            f"suggested on {i.suggested}; {est}"
        )
    return 0


def _discover_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--groups", type=int, default=12, metavar="K", help="how many groups (default 12)"
    )
    p.add_argument(
        "--teach",
        nargs=2,
        metavar=("GROUP", "TAG"),
        help="tag the group's most central photos with TAG and teach it",
    )
    p.add_argument("--json", action="store_true", help="print the groups as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_discover(args: argparse.Namespace) -> int:
    from photosort.core.library import LibraryError

    if args.groups < 1:
        raise LibraryError("--groups must be at least 1")
    with open_library(args) as lib:
        groups = run_job(args, lambda bar, token: lib.discover(args.groups, bar, token))
        if args.teach:
            number, tag = args.teach
            chosen = next((g for g in groups if str(g.number) == number), None)
            if chosen is None:
                raise LibraryError(f"no group {number}: there are {len(groups)}")
            lib.tag_photos(chosen.central, add=[tag])
            summary = lib.teacher.teach(tag)
            print(json.dumps(summary.as_dict(), indent=2) if args.json else summary.line())
            return 0
        shown = [i for g in groups for i in g.central]
        paths = {pid: d["path"] for pid, d in lib.photo_details(shown).items()}
    if args.json:
        print(json.dumps([g.as_dict(paths) for g in groups], indent=2, ensure_ascii=False))
        return 0
    for g in groups:
        print(f"group {g.number}: {g.size} photos, like {g.name}")
        for pid in g.central[:3]:
            print(f"    {paths.get(pid, pid)}")
    print("turn a group into a taught tag:  photosort discover --teach GROUP TAG")
    return 0


TEACH = Command(
    _teach_options, cmd_teach, "teach a tag from photos you tagged by hand, and review it"
)
DISCOVER = Command(
    _discover_options, cmd_discover, "cluster the library into groups with suggested names"
)
