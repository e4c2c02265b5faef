"""Start the desktop app from the command line, importing Qt only when it is wanted."""

from __future__ import annotations

import argparse
import sys


def launch_gui(args: argparse.Namespace) -> int:
    try:
        from photosort.gui.app import run_app
    except ImportError as exc:
        print(f"photosort: error: the desktop app cannot start: {exc}", file=sys.stderr)
        return 2
    return run_app(
        library=getattr(args, "library", None),
        model=getattr(args, "model", None),
        device=getattr(args, "device", None),
    )
