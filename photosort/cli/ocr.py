"""``photosort ocr``: read the text in photos; and ``search --text``: find photos by it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from photosort.cli._base import Command, open_library
from photosort.cli._jobs import one_line, run_job

if TYPE_CHECKING:
    from photosort.core.search import SearchQuery


def _ocr_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="photos or folders to read whatever the gate says (default: only what it passes)",
    )
    p.add_argument(
        "--show", metavar="PATH", help="print the text recognised in one photo, and stop"
    )
    p.add_argument(
        "--only-paths",
        action="store_true",
        help="read only the given photos and folders, not the photos the gate passes",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_ocr(args: argparse.Namespace) -> int:
    if args.show:
        return _show(args)
    if args.only_paths and not args.paths:
        from photosort.core.library import LibraryError

        raise LibraryError("--only-paths reads the photos and folders given: name some")
    with open_library(args) as lib:
        summary = run_job(
            args,
            lambda bar, token: lib.read_text(
                args.paths, not args.only_paths, on_progress=bar, should_cancel=token
            ),
        )
        counts = lib.text_counts()
    if args.json:
        print(json.dumps({**summary.as_dict(), "library": counts}, indent=2))
    else:
        for path, reason in summary.failed:
            print(f"failed: {one_line(path)}: {reason}", file=sys.stderr)
        print(summary.line())
        print(
            f"library: {counts['read']} photos read, {counts['skipped']} skipped by the gate"
            " (read them with: photosort ocr PATH)"
        )
    return 1 if summary.cancelled else 0


def _show(args: argparse.Namespace) -> int:
    with open_library(args, read_only=True) as lib:
        ids, unknown = lib.photo_ids_for_paths([args.show])
        if unknown or len(ids) != 1:
            from photosort.core.library import LibraryError

            raise LibraryError(f"not a photo of this library: {args.show}")
        result = lib.photo_text(ids[0])
    if args.json:
        print(json.dumps(result.as_dict() if result else None, indent=2, ensure_ascii=False))
    elif result is None:
        print("no text read in this photo yet (photosort ocr PATH reads it)", file=sys.stderr)
    else:
        print(result.text)
    return 0


def search_words(args: argparse.Namespace, query: SearchQuery) -> int:
    """``search --text WORDS [QUERY]``: word hits, ranked together with the meaning."""
    from photosort.cli.search import SEARCH_FLAGS, result_row

    with open_library(args, read_only=True) as lib:
        results, snippets = lib.search_words(args.words, query, SEARCH_FLAGS)
        never_read = not results and not lib.text_counts()["read"]
    if args.json:
        print(
            json.dumps(
                [{**result_row(r), "text": snippets.get(r.photo_id)} for r in results],
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    if never_read:
        print("no text has been read in this library yet: run photosort ocr", file=sys.stderr)
    elif not results:
        print("no photo with these words", file=sys.stderr)
    for r in results:
        snippet = snippets.get(r.photo_id)
        line = f"{r.score:6.3f}  {r.path}"
        if snippet:
            line += "  " + one_line(" ".join(snippet.split()))
        print(line)
    return 0


OCR = Command(
    _ocr_options,
    cmd_ocr,
    "read the text in photos that likely hold some (scan does this too), or in given ones",
)
