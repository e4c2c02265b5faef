"""``photosort autotag``: re-tag every photo from its stored vector."""

from __future__ import annotations

import argparse
import json

from photosort.cli._base import Command, json_progress_options, open_library
from photosort.cli._jobs import run_job


def cmd_autotag(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        summary = run_job(args, lib.autotag)
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        print(summary.line())
        for name, n in summary.uncertain.items():
            print(f"  {name}: {n} uncertain")
    return 1 if summary.cancelled else 0


AUTOTAG = Command(json_progress_options, cmd_autotag, "re-tag every photo from its stored vector")
