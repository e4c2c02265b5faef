"""``photosort reindex --model M``: embed every photo with another model and make it the
library's model (what a search with a mismatched model tells the user to run)."""

from __future__ import annotations

import argparse
import json
import sys

from photosort.cli import ProgressBar, command, open_library, run_cancellable
from photosort.core.library import LibraryError


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


@command("reindex", _options, "embed every photo again with the model given by --model")
def cmd_reindex(args: argparse.Namespace) -> int:
    if not getattr(args, "model", None):
        raise LibraryError("reindex needs the model, e.g. --model ViT-B-32:laion2b_s34b_b79k")
    with open_library(args) as lib:
        if not lib.roots():
            raise LibraryError("no folders yet: add one with photosort scan PATH")
        bar = ProgressBar(enabled=not args.no_progress and not args.json and sys.stderr.isatty())
        try:
            summary = run_cancellable(lambda token: lib.scan(None, bar, token))
        finally:
            bar.close()
        model = str(lib.model_spec)
    if args.json:
        print(json.dumps({**summary.as_dict(), "model": model}, indent=2))
    else:
        print(f"re-indexed with {model}: {summary.line()}")
    return 1 if summary.cancelled else 0
