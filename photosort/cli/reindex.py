"""``photosort reindex --model M``: embed every photo with another model and make it the
library's model (what a search with a mismatched model tells the user to run)."""

from __future__ import annotations

import argparse
import json

from photosort.cli import command, open_library, run_job
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
        summary = run_job(args, lambda bar, token: lib.scan(None, bar, token))
        model = str(lib.model_spec)
    if args.json:
        print(json.dumps({**summary.as_dict(), "model": model}, indent=2))
    else:
        print(f"re-indexed with {model}: {summary.line()}")
    return 1 if summary.cancelled else 0
