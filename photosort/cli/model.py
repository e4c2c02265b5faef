"""``photosort download-model``: fetch a model's weights with progress, resumable.

The first scan or search downloads the model too; this command does it ahead of time
(Ctrl-C stops it, running it again resumes). With a terminal, an implicit first-use
download shows the same bar.
"""

from __future__ import annotations

import argparse
import os
import sys

from photosort.cli._base import Command
from photosort.cli._jobs import run_job


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_download_model(args: argparse.Namespace) -> int:
    from photosort.core.embedder import (
        DEFAULT_MODEL,
        ModelSpec,
        download_weights,
        model_cache_dir,
        model_cached,
    )
    from photosort.core.progress import Cancelled

    spec = ModelSpec.parse(
        getattr(args, "model", None) or os.environ.get("PHOTOSORT_MODEL") or DEFAULT_MODEL
    )
    if model_cached(spec):
        print(f"model {spec} is already here ({model_cache_dir()})")
        return 0
    try:  # the bar also when stderr is no terminal: a download's progress is worth a log line
        run_job(args, lambda bar, token: download_weights(spec, bar, token), False)
    except Cancelled:
        print("photosort: download stopped; run the command again to resume", file=sys.stderr)
        return 1
    print(f"model {spec} downloaded into {model_cache_dir()}")
    return 0


DOWNLOAD_MODEL = Command(
    _options, cmd_download_model, "download the model's weights now (resumable)"
)
