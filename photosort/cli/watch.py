"""``photosort watch``: keep the library up to date while folders change, until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import TYPE_CHECKING

from photosort.cli._base import Command, open_library
from photosort.cli._jobs import run_cancellable

if TYPE_CHECKING:
    from photosort.core.library import ScanSummary
    from photosort.core.progress import CancelToken


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--poll",
        action="store_true",
        help="poll every folder instead of using file-system events (network drives are "
        "polled anyway)",
    )
    p.add_argument(
        "--settle",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="wait this long after the last change before indexing (default: 1)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per indexing pass")


def cmd_watch(args: argparse.Namespace) -> int:
    from photosort.core.library import LibraryBusyError, LibraryError
    from photosort.core.watch import watch_loop

    if not (0.05 <= args.settle <= 3600):
        raise LibraryError("--settle must be between 0.05 and 3600 seconds")
    with open_library(args) as lib:
        if not lib.roots():
            raise LibraryError("no folders yet: add one first, e.g. photosort scan ~/Pictures")

        def report(paths_seen: int, summary: ScanSummary | None) -> None:
            if summary is None:
                return
            if args.json:
                data = summary.as_dict()
                data["changed_paths"] = paths_seen
                print(json.dumps(data), flush=True)
                return
            for path, reason in summary.failures:
                print(f"failed: {path}: {reason}", file=sys.stderr)
            for warning in summary.warnings:
                print(f"photosort: warning: {warning}", file=sys.stderr)
            line = summary.line()
            if summary.keywords and summary.keywords.tags:
                line += "; " + summary.keywords.line()
            print(f"{time.strftime('%H:%M:%S')}  {line}", flush=True)

        def scan_present(roots: list[str], token: CancelToken) -> ScanSummary | None:
            # A root that vanished (drive unplugged) is left to the next full scan.
            present = [r for r in roots if os.path.isdir(r)]
            return lib.scan(present, should_cancel=token) if present else None

        def job(token: CancelToken) -> None:
            # Catch up with what changed while nobody watched, then follow the events.
            report(0, lib.scan(None, should_cancel=token))
            if token():
                return
            watcher = lib.watcher(settle_s=args.settle, force_polling=args.poll)
            watcher.start()
            try:
                if not args.json:
                    modes = ", ".join(f"{root} ({mode})" for root, mode in watcher.modes.items())
                    print(f"watching {modes}; Ctrl-C to stop", file=sys.stderr, flush=True)
                watch_loop(
                    watcher,
                    lambda roots: scan_present(roots, token),
                    lambda batch, summary: report(len(batch.paths), summary),
                    token,
                    busy=LibraryBusyError,
                )
            finally:
                watcher.stop()

        run_cancellable(job)
    return 0


WATCH = Command(_options, cmd_watch, "index new, changed, moved and deleted photos as they happen")
