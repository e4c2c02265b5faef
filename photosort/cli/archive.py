"""``photosort import OUT [--map FROM=TO]``: a Spark index (``python -m photosort.spark
index``) into the library, vectors and all, as if the folders had been scanned."""

from __future__ import annotations

import argparse
import json
import sys

from photosort.cli._base import Command, open_library
from photosort.cli._jobs import run_job


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument("dataset", metavar="OUT", help="the Parquet output of the Spark job")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FROM=TO",
        help="rewrite a path prefix, e.g. s3a://bucket/photos=/Volumes/NAS/photos (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_import(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        summary = run_job(
            args, lambda bar, token: lib.import_archive(args.dataset, args.map, bar, token)
        )
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        print(summary.line())
        for warning in summary.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if summary.missing and not args.map:
            print("some paths are not on this computer: rewrite them with --map FROM=TO")
    return 1 if summary.cancelled else 0


IMPORT = Command(
    _options, cmd_import, "merge a Spark index (vectors, no re-embedding) into the library"
)
