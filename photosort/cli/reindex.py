"""``photosort reindex --model M``: embed every photo with another model and make it the
library's model (what a search with a mismatched model tells the user to run).

The new vectors are staged while searches keep using the old ones (core/reindex.py); an
interrupted re-index resumes when run again (``--model`` may then be left out)."""

from __future__ import annotations

import argparse
import json
import sys

from photosort.cli._base import Command, open_library
from photosort.cli._jobs import run_job


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_reindex(args: argparse.Namespace) -> int:
    from photosort.core.library import LibraryError

    with open_library(args) as lib:
        model = getattr(args, "model", None)
        if not model:
            unfinished = lib.unfinished_reindex()
            if unfinished is None:
                raise LibraryError(
                    "reindex needs the model, e.g. --model ViT-B-32:laion2b_s34b_b79k"
                )
            model = unfinished.spec  # resume the interrupted one
        if not lib.roots():
            raise LibraryError("no folders yet: add one with photosort scan PATH")
        summary = run_job(args, lambda bar, token: lib.reindex(model, bar, token))
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        verb = "re-indexed with" if summary.swapped else "re-indexing with"
        print(f"{verb} {summary.model}: {summary.line()}")
        for warning in summary.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return 1 if summary.cancelled else 0


REINDEX = Command(_options, cmd_reindex, "embed every photo again with the model given by --model")
