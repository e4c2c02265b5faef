"""``photosort tag PATH... --add/--remove/--clear/--reject TAG``: tags set by hand."""

from __future__ import annotations

import argparse
import json
import os
import sys

from photosort.cli._base import Command, count, open_library


def _tag_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="photos, or folders of photos")
    p.add_argument(
        "--add", action="append", default=[], metavar="TAG", help="add a tag (repeatable)"
    )
    p.add_argument(
        "--remove",
        action="append",
        default=[],
        metavar="TAG",
        help="remove or reject a tag; survives re-tagging (repeatable)",
    )
    p.add_argument(
        "--clear",
        action="append",
        default=[],
        metavar="TAG",
        help="forget the manual decision; the auto tagger decides again",
    )
    p.add_argument(
        "--reject",
        action="append",
        default=[],
        metavar="TAG",
        help="record that TAG is wrong here: a negative example for a taught tag (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print the photos' tags as JSON")


def cmd_tag(args: argparse.Namespace) -> int:
    from photosort.core.library import LibraryError

    with open_library(args) as lib:
        ids, unknown = lib.photo_ids_for_paths(args.paths)
        for path in unknown:
            print(f"photosort: not in the library: {path}", file=sys.stderr)
        if not ids:
            raise LibraryError("none of the given paths is a photo of this library")
        lib.check_tag_names([*args.remove, *args.clear])  # a typo would reject a new tag
        if args.clear:
            lib.clear_manual(ids, args.clear)
        if args.add or args.remove:
            lib.tag_photos(ids, add=args.add, remove=args.remove)
        if args.reject:
            lib.reject_tags(ids, args.reject)
        tags = lib.photo_tags(ids)
        paths = {pid: d["path"] for pid, d in lib.photo_details(ids).items()}
    if args.json:
        print(
            json.dumps(
                {paths[pid]: [t.__dict__ for t in tags[pid]] for pid in ids},
                indent=2,
                ensure_ascii=False,
            )
        )
    elif len(ids) > TAG_LINES or any(os.path.isdir(p) for p in args.paths):
        print(_tag_summary(args, ids, tags))
    else:
        for pid in ids:
            shown = [t.name if t.state == "on" else f"-{t.name}" for t in tags[pid]]
            print(f"{paths[pid]}: {', '.join(shown) or '(no tags)'}")
    return 1 if unknown else 0


#: ``tag`` lists each photo's tags up to this many photos; beyond (or for a folder), a summary.
TAG_LINES = 10


def _tag_summary(args: argparse.Namespace, ids: list[int], tags: dict) -> str:
    """``40 photos: added 'x'; now: x 40, dusk 12`` instead of one line per photo."""
    counts: dict[str, int] = {}
    for pid in ids:
        for t in tags[pid]:
            if t.state == "on":
                counts[t.name] = counts.get(t.name, 0) + 1
    done = [f"added {t!r}" for t in args.add] + [f"removed {t!r}" for t in args.remove]
    done += [f"cleared {t!r}" for t in args.clear]
    common = ", ".join(f"{n} {c}" for n, c in sorted(counts.items(), key=lambda x: (-x[1], x[0])))
    changes = "; ".join(done) or "unchanged"
    return f"{count(len(ids), 'photo')}: {changes}; tags now: {common or 'none'}"


TAG = Command(_tag_options, cmd_tag, "add or remove tags by hand on photos")
