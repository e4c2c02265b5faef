"""``photosort search``: photos by text, by an example image, and by filters.

A text query on a library that has seen its model once runs the text tower exported to
ONNX (core/text_onnx.py): no torch, and nothing else heavy, is imported here.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from photosort.cli._base import Command, open_library

if TYPE_CHECKING:
    from photosort.core.search import SearchQuery, SearchResult


def _search_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", nargs="*", help='free text, e.g. "dog in the snow"')
    p.add_argument("--image", metavar="PATH", help="find photos like this one")
    p.add_argument(
        "--text",
        dest="words",
        metavar="WORDS",
        help='find photos by the words in them, e.g. --text "ikea 42.50"',
    )
    p.add_argument(
        "--and",
        dest="also",
        action="append",
        default=[],
        metavar="TEXT[:W]",
        help="another positive term, optionally weighted (repeatable)",
    )
    p.add_argument(
        "--not",
        dest="exclude",
        action="append",
        default=[],
        metavar="TEXT[:W]",
        help="push results away from this (repeatable)",
    )
    p.add_argument("--root", help="only photos under this root")
    p.add_argument("--folder", help="only photos under this folder")
    p.add_argument("--from", dest="date_from", metavar="DATE", help="taken on or after (ISO)")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="taken on or before (ISO)")
    p.add_argument(
        "--tag",
        dest="tags",
        action="append",
        default=[],
        metavar="TAG",
        help="only photos with this tag (repeatable)",
    )
    p.add_argument(
        "--not-tag",
        dest="not_tags",
        action="append",
        default=[],
        metavar="TAG",
        help="leave out photos with this tag (repeatable)",
    )
    p.add_argument(
        "--top", type=int, default=20, metavar="N", help="number of results (default 20)"
    )
    p.add_argument(
        "--json", action="store_true", help="print the results (path, score, date, tags) as JSON"
    )


#: How ``search`` names each query field in its one-line errors.
SEARCH_FLAGS = {
    "date_from": "--from",
    "date_to": "--to",
    "also": "--and",
    "exclude": "--not",
    "top": "--top",
    "folder": "--folder",
    "root": "--root",
    "tags": "tag",
}


def cmd_search(args: argparse.Namespace) -> int:
    from photosort.core.search import SearchError

    if args.top <= 0:
        raise SearchError("--top must be positive")
    query = _query_from(args)
    if args.words is not None:  # words in photos (issue 19): photosort/cli/ocr.py
        from photosort.cli.ocr import search_words

        return search_words(args, query)
    if not query.has_semantic_part and not query.has_filters:
        raise SearchError('nothing to search for: give a text, e.g. photosort search "beach"')
    with open_library(args, read_only=True) as lib:
        results = lib.search(query, SEARCH_FLAGS)
        code = _search_output(args, results, query.has_semantic_part)
        sys.stdout.flush()
        lib.cache_text_encoder()  # after the answer: the next cold search needs no torch
    return code


def _query_from(args: argparse.Namespace) -> SearchQuery:
    """The search options (shared by ``search`` and ``export --query``) as a query."""
    from photosort.core.search import SearchQuery, Term

    return SearchQuery(
        text=" ".join(args.query).strip() or None,
        image=getattr(args, "image", None),
        also=[Term.parse(t) for t in args.also],
        exclude=[Term.parse(t) for t in args.exclude],
        root=args.root,
        folder=args.folder,
        date_from=args.date_from,
        date_to=args.date_to,
        tags=args.tags,
        not_tags=args.not_tags,
        top=args.top,
    )


def result_row(result: SearchResult) -> dict[str, object]:
    """One search result as ``--json`` prints it (the keys scripts rely on)."""
    return {
        "path": result.path,
        "score": round(result.score, 4),
        "taken_at": result.taken_at,
        "tags": result.tags,
    }


def _search_output(
    args: argparse.Namespace, results: list[SearchResult], scored: bool = True
) -> int:
    if args.json:
        print(
            json.dumps(
                [result_row(r) for r in results],
                indent=2,
            )
        )
        return 0
    if not results:
        print("no matching photos", file=sys.stderr)
    for r in results:  # a filter-only listing has no score to show
        score = f"{r.score:6.3f}  " if scored else ""
        print(f"{score}{r.path}" + (f"  [{', '.join(r.tags)}]" if r.tags else ""))
    return 0


SEARCH = Command(
    _search_options, cmd_search, "search photos by text, by example image, and by filters"
)
