"""``photosort scan [PATH...]``: add folders and bring the library up to date.

A rescan with nothing new is a walk and a compare: the model, torch and the vector index
are loaded only when a photo needs embedding (core/library.py).
"""

from __future__ import annotations

import argparse
import json
import sys

from photosort.cli._base import Command, open_library
from photosort.cli._jobs import one_line, run_job


def _scan_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="folders to add and index (default: every root of the library)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument(
        "--batch-size", type=int, default=32, metavar="N", help="photos per batch (default 32)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="try every failed photo again (I/O failures are always retried)",
    )
    p.add_argument(
        "--follow-links",
        action="store_true",
        help="follow symlinks that lead outside the given folders (remembered per folder)",
    )


def cmd_scan(args: argparse.Namespace) -> int:
    from photosort.core.library import LibraryError

    with open_library(args) as lib:
        if not args.paths and not lib.roots():
            raise LibraryError("no folders yet: give one, e.g. photosort scan ~/Pictures")
        summary = run_job(
            args,
            lambda bar, token: lib.scan(
                args.paths or None,
                bar,
                token,
                args.batch_size,
                follow_links=args.follow_links,
                retry_failed=args.retry_failed,
            ),
        )
    for issue in summary.issues:
        print(f"photosort: skipped {one_line(issue.path)}: {issue.reason}", file=sys.stderr)
    for warning in summary.warnings:
        print(f"photosort: warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        for path, reason in summary.failures:
            print(f"failed: {one_line(path)}: {reason}", file=sys.stderr)
        if summary.sun.read:  # metadata ignored: reasons in --json and tags --explain
            print(summary.sun.line())
        if summary.keywords and summary.keywords.tags:
            print(summary.keywords.line())
        if summary.ocr and (
            summary.ocr.read or summary.ocr.reused or summary.ocr.skipped or summary.ocr.looked
        ):
            print(summary.ocr.line())
        print(summary.line())  # the summary stays the last line
    return 1 if summary.cancelled else 0


SCAN = Command(_scan_options, cmd_scan, "add folders and index new or changed photos")
