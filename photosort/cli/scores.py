"""``photosort scores`` (every label's probability per photo, as data) and ``photosort
evaluate --tag-truth`` (auto tags against the user's manual decisions)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from photosort.cli._base import Command, open_library
from photosort.cli._jobs import run_job


def _scores_options(p: argparse.ArgumentParser) -> None:
    from photosort.core.scores import FORMATS

    p.add_argument("--category", metavar="C", help="only this category (default: all)")
    p.add_argument("--format", choices=FORMATS, default="csv", help="file format (default csv)")
    p.add_argument(
        "--out", metavar="FILE", default="-", help="where to write (default: standard output)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_scores(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        try:
            summary = run_job(
                args,
                lambda bar, token: lib.export_scores(
                    args.out, args.format, args.category, bar, token
                ),
                show_bar=args.out != "-",
            )
        except BrokenPipeError:  # photosort scores | head: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    if args.out != "-":
        print(summary.line())
    else:
        sys.stdout.flush()
        print(summary.line(), file=sys.stderr)
    return 1 if summary.cancelled else 0


def _evaluate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tag-truth",
        action="store_true",
        required=True,
        help="compare auto tags with your manual decisions (accepted, rejected, added)",
    )
    p.add_argument("--category", metavar="C", help="only this category (default: all)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from photosort.core import tag_truth

    with open_library(args) as lib:
        rows = lib.evaluate_tags(args.category)
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no manual decisions on labels yet: tag, accept or reject a few photos first")
        return 0
    print("\n".join(tag_truth.table(rows)))
    print(
        "+/-: photos you tagged / rejected; thr: the label's threshold now; best: the "
        "threshold with the highest F1 on them (set it with the category editor or TOML)"
    )
    return 0


SCORES = Command(
    _scores_options,
    cmd_scores,
    "every label's probability and the chosen label, one row per photo (CSV, JSON, Parquet)",
)
EVALUATE = Command(
    _evaluate_options,
    cmd_evaluate,
    "precision, recall and the best threshold per label, from your manual tags",
)
