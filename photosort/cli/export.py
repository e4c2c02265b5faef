"""``photosort export --to DIR``: copy, link or move photos (by tag, search or path) into
folders; ``--mode move`` is journalled and resumes after a crash (core/export.py)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from photosort.cli._base import Command, json_progress_options, open_library
from photosort.cli._jobs import run_job

if TYPE_CHECKING:
    from photosort.core.library import Library


def _export_options(p: argparse.ArgumentParser) -> None:
    from photosort.core.export import LAYOUTS, MODES, PAIR_CHOICES

    p.add_argument(
        "--tag",
        dest="tags",
        action="append",
        default=[],
        metavar="TAG",
        help="export photos with this tag, into a folder per tag (repeatable)",
    )
    p.add_argument(
        "--query",
        metavar="TEXT",
        help='export the results of this search (as "photosort search TEXT" shows them)',
    )
    p.add_argument(
        "--top",
        type=int,
        default=20,
        metavar="N",
        help="with --query: how many results (default 20)",
    )
    p.add_argument(
        "--paths",
        nargs="+",
        metavar="PATH",
        help="export these photos, or every photo under these folders",
    )
    p.add_argument("--to", dest="dest", required=True, metavar="DIR", help="destination folder")
    p.add_argument(
        "--mode",
        choices=MODES,
        default="copy",
        help="copy (the default), hardlink, symlink or move the files",
    )
    p.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="by-tag",
        help="one folder per tag (default) or everything in DIR",
    )
    p.add_argument("--dry-run", action="store_true", help="show what would happen, write nothing")
    p.add_argument("--xmp", action="store_true", help="write an XMP sidecar next to each file")
    p.add_argument(
        "--pair",
        choices=PAIR_CHOICES,
        default="both",
        help="RAW+JPEG pairs: export both files (default), only the RAW or only the JPEG",
    )
    json_progress_options(p)


def _export_selection(lib: Library, args: argparse.Namespace) -> list[int] | None:
    """The photos ``--query`` and ``--paths`` pick (both: those in both); None: all."""
    from photosort.cli.search import SEARCH_FLAGS
    from photosort.core.library import LibraryError
    from photosort.core.search import SearchError, SearchQuery

    picked: list[int] | None = None
    if args.paths:
        picked, unknown = lib.photo_ids_for_paths(args.paths)
        if unknown:
            raise LibraryError(f"not a photo or folder of this library: {unknown[0]}")
    if args.query:
        if args.top <= 0:
            raise SearchError("--top must be positive")
        query = SearchQuery(text=args.query, top=args.top)
        found = [r.photo_id for r in lib.search(query, SEARCH_FLAGS)]
        picked = found if picked is None else [i for i in found if i in set(picked)]
    return picked


def cmd_export(args: argparse.Namespace) -> int:
    from photosort.core.export import ExportRequest
    from photosort.core.library import LibraryError

    if not (args.tags or args.query or args.paths):
        raise LibraryError("nothing to export: give --tag TAG, --query TEXT or --paths PATH")
    request = ExportRequest(
        args.tags, args.dest, args.mode, args.layout, args.dry_run, args.xmp, pair=args.pair
    )
    with open_library(args) as lib:
        request.photo_ids = _export_selection(lib, args)
        summary = run_job(args, lambda bar, token: lib.export(request, bar, token))
    for warning in summary.warnings:
        print(f"photosort: warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
    else:
        if args.dry_run:
            for item in summary.items:
                if item.status != "skipped":
                    print(f"{item.source} -> {item.destination}")
        for item in summary.items:
            if item.status == "failed":
                print(f"failed: {item.source}: {item.error}", file=sys.stderr)
        print(summary.line())
    return 1 if summary.cancelled or summary.failed else 0


EXPORT = Command(
    _export_options, cmd_export, "copy, link or move photos (by tag, search or path) into folders"
)
