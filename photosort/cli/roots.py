"""``photosort roots [list|remove PATH]``: the library's folders; removing one forgets its
photos (the files stay)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from photosort.cli._base import Command, open_library

if TYPE_CHECKING:
    from photosort.core.library import Library


def _roots_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action", nargs="?", choices=["list", "remove"], default="list", help="default: list"
    )
    p.add_argument("path", nargs="?", help="root folder to remove")
    p.add_argument("--json", action="store_true", help="print the roots as JSON")
    p.add_argument(
        "-y", "--yes", action="store_true", help="remove without asking (after saying what goes)"
    )


def _check_root(lib: Library, path: str) -> None:
    from photosort.core.library import LibraryError

    roots = [r["path"] for r in lib.roots()]
    if os.path.abspath(os.path.expanduser(path)) not in roots:
        from photosort.core.lookup import similar_folder

        raise LibraryError(f"not a root of this library: {path}{similar_folder(path, roots)}")


def cmd_roots(args: argparse.Namespace) -> int:
    from photosort.core.library import LibraryError

    with open_library(args, read_only=args.action == "list") as lib:
        if args.action == "remove":
            if not args.path:
                raise LibraryError("roots remove needs a PATH")
            _check_root(lib, args.path)
            impact = lib.root_removal(args.path)
            for line in impact.lines():
                print(line, file=sys.stderr)
            if not args.yes and not _confirm("remove it?"):
                raise LibraryError(
                    "nothing removed: confirm with --yes"
                    + ("" if sys.stdin.isatty() else " (no terminal to ask on)")
                )
            count = lib.remove_root(args.path)
            print(f"removed root {args.path}: forgot {count} photos (files untouched)")
            return 0
        roots = lib.roots()
    if args.json:
        print(json.dumps([{"path": r["path"], "photos": r["photos"]} for r in roots], indent=2))
    elif not roots:
        print("no folders yet: add one with photosort scan PATH")
    for r in roots if not args.json else []:
        print(f"{r['photos']:>8}  {r['path']}")
    return 0


def _confirm(question: str) -> bool:
    """Ask on the terminal; without one (a script, a pipe) the answer is no."""
    if not sys.stdin.isatty():
        return False
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


ROOTS = Command(
    _roots_options, cmd_roots, "list the library's folders, or remove one (forgets its photos)"
)
