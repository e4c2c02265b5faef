"""``photosort bench`` (this machine's speed with the library's model) and ``photosort
models`` (the models photosort knows, with published accuracy, size, cache state and the
speed measured here)."""

from __future__ import annotations

import argparse
import json

from photosort.cli._base import Command, open_library
from photosort.cli._jobs import run_job
from photosort.core.errors import PhotosortError


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        sizes = []
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of batch sizes, e.g. 1,8,32")
    return sizes


def _bench_options(p: argparse.ArgumentParser) -> None:
    from photosort.core.bench import BATCH_SIZES, DEFAULT_BUDGET_S

    p.add_argument(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET_S,
        metavar="SECONDS",
        help=f"time to spend measuring (default {DEFAULT_BUDGET_S:g})",
    )
    p.add_argument(
        "--batch-sizes",
        type=_sizes,
        default=list(BATCH_SIZES),
        metavar="N,N",
        help="batch sizes to time (default 1,8,32)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_bench(args: argparse.Namespace) -> int:
    if args.budget <= 0:
        raise PhotosortError("--budget must be a positive number of seconds")
    with open_library(args) as lib:
        report = run_job(
            args, lambda bar, token: lib.bench(args.budget, args.batch_sizes, bar, token)
        )
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print("\n".join(report.lines()))
    return 1 if report.cancelled else 0


def _models_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the rows as JSON")


def cmd_models(args: argparse.Namespace) -> int:
    from photosort.core import known_models

    with open_library(args) as lib:
        rows = lib.known_models()
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        print("\n".join(known_models.table(rows)))
        print("switch with: photosort reindex --model NAME:PRETRAINED")
    return 0


BENCH = Command(
    _bench_options,
    cmd_bench,
    "images per second of the model on each device here, decode rate, time to index",
)
MODELS = Command(
    _models_options,
    cmd_models,
    "models photosort knows: ImageNet accuracy, size, cached, speed here (after bench)",
)
