"""``photosort xmp [PATH...]``: write XMP sidecars with the tags next to the photos."""

from __future__ import annotations

import argparse
import json
import sys

from photosort.cli._base import Command, json_progress_options, open_library
from photosort.cli._jobs import one_line, run_job


def _xmp_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths", nargs="*", metavar="PATH", help="photos or folders (default: every tagged photo)"
    )
    json_progress_options(p)


def cmd_xmp(args: argparse.Namespace) -> int:
    from photosort.core.library import LibraryError

    with open_library(args) as lib:
        ids = None
        if args.paths:
            ids, unknown = lib.photo_ids_for_paths(args.paths)
            for path in unknown:
                print(f"photosort: not in the library: {path}", file=sys.stderr)
            if not ids:  # as ``tag`` does: nothing to work on is an error, not "0 written"
                raise LibraryError("none of the given paths is a photo of this library")
        summary = run_job(args, lambda bar, token: lib.write_xmp_sidecars(ids, bar, token))
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
    else:
        for path, reason in summary.failures:
            print(f"failed: {one_line(path)}: {reason}", file=sys.stderr)
        print(summary.line())
    return 1 if summary.cancelled or summary.failures or (args.paths and unknown) else 0


XMP = Command(_xmp_options, cmd_xmp, "write XMP sidecars with the tags next to the original photos")
