"""``photosort tags rename|merge|delete`` and ``photosort categories rename|remove-label``.

The actions of the existing ``tags`` and ``categories`` commands that change names; the
logic is in ``core/tag_admin.py``.
"""

from __future__ import annotations

import argparse

from photosort.cli._base import open_library

TAG_ACTIONS = ("rename", "merge", "delete")
CATEGORY_ACTIONS = ("rename", "remove-label")


def run_tags_action(args: argparse.Namespace) -> int:
    from photosort.core.library import LibraryError

    names = list(args.names or [])
    wanted = 1 if args.action == "delete" else 2
    if len(names) != wanted:
        usage = "TAG" if wanted == 1 else ("OLD NEW" if args.action == "rename" else "TAG INTO")
        raise LibraryError(f"tags {args.action} needs {usage}")
    with open_library(args) as lib:
        if args.action == "delete":
            count = lib.delete_tag(names[0])
            print(f"deleted tag {names[0]!r} from {count} photo{'s' if count != 1 else ''}")
            return 0
        if args.action == "merge":
            known = {t.name.casefold() for t in lib.tag_counts()}
            if names[1].casefold() not in known:
                raise LibraryError(f"no tag named {names[1]!r} to merge into; use tags rename")
        print(lib.rename_tag(names[0], names[1]))
    return 0


def run_categories_action(args: argparse.Namespace) -> int:
    from photosort.core.library import LibraryError

    if not args.name or not args.second:
        what = "OLD NEW" if args.action == "rename" else "CATEGORY LABEL"
        raise LibraryError(f"categories {args.action} needs {what}")
    with open_library(args) as lib:
        if args.action == "rename":
            print(lib.rename_category(args.name, args.second))
        else:
            print(lib.remove_label(args.name, args.second))
    return 0
