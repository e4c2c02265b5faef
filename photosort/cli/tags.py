"""``photosort tags``: photos per tag; ``tags rename|merge|delete`` (cli/tag_admin.py) and
``tags --explain PATH`` (cli/sun.py)."""

from __future__ import annotations

import argparse
import json

from photosort.cli._base import Command, open_library


def _tags_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        nargs="?",
        choices=["rename", "merge", "delete"],
        help="rename OLD NEW, merge TAG INTO, delete TAG (without: count photos per tag)",
    )
    p.add_argument("names", nargs="*", metavar="TAG", help="the tag names")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.add_argument(
        "--explain",
        metavar="PATH",
        help="one photo's labels: the image's probabilities, the sun's, and the result",
    )


def cmd_tags(args: argparse.Namespace) -> int:
    if args.explain:
        from photosort.cli.sun import explain

        return explain(args)
    if args.action:
        from photosort.cli.tag_admin import run_tags_action

        return run_tags_action(args)
    with open_library(args, read_only=True) as lib:
        counts = lib.tag_counts()
    if args.json:
        print(json.dumps([c.as_dict() for c in counts], indent=2, ensure_ascii=False))
        return 0
    current = object()
    for c in counts:
        if c.category != current:
            current = c.category
            print(c.category or "(other tags)")
        print(f"  {c.count:7d}  {c.name}")
    return 0


TAGS = Command(_tags_options, cmd_tags, "count photos per tag; rename, merge or delete a tag")
