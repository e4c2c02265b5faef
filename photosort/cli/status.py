"""``photosort status``: photo counts, the model and what is left to index. It never
creates a library and never loads the model."""

from __future__ import annotations

import argparse
import json
import sys

from photosort.cli._base import Command, open_library


def _status_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.add_argument("--failures", action="store_true", help="list files that could not be read")


def cmd_status(args: argparse.Namespace) -> int:
    from photosort.core.library import LibraryError, default_library_dir

    try:
        with open_library(args, read_only=True) as lib:
            status = lib.status()
            failures = lib.failures() if args.failures else []
            reindex = lib.reindex_progress()  # an interrupted re-index, if any
    except LibraryError as exc:
        if "no library at" not in str(exc):
            raise
        print(f"photosort: {exc}", file=sys.stderr)  # status of nothing: say so, create nothing
        if args.json:
            folder = getattr(args, "library", None) or default_library_dir()
            print(json.dumps({"library": str(folder), "exists": False, "photos": 0}, indent=2))
        return 0
    if args.json:
        data = status.as_dict()
        if args.failures:
            data["failures"] = failures
        if reindex is not None:
            data["reindex"] = {"model": reindex[0], "done": reindex[1], "total": reindex[2]}
        print(json.dumps(data, indent=2))
        return 0
    print(f"library:  {status.library}")
    print(f"model:    {status.model}")
    print(f"roots:    {status.roots}")
    print(f"photos:   {status.photos}")
    print(f"embedded: {status.embedded}")
    print(f"pending:  {status.pending}")
    print(f"failed:   {status.failed}")
    if reindex is not None:
        model, done, total = reindex
        resume = "resume: photosort reindex"
        print(f"re-index: {done} of {total} photos with {model}, stopped; {resume}")
    if status.raw_pairs:
        print(f"RAW+JPEG: {status.raw_pairs} pairs (each counted once)")
    if status.skipped:
        kinds = ", ".join(f"{n} {ext}" for ext, n in status.skipped.items())
        print(f"skipped:  {sum(status.skipped.values())} videos ({kinds}), not indexed")
    for f in failures:
        print(f"  {f['path']}: {f['reason']}")
    return 0


STATUS = Command(
    _status_options, cmd_status, "show photo counts, the model and what is left to index"
)
