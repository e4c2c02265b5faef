"""Start the desktop app from the command line, importing Qt only when it is wanted."""

from __future__ import annotations

import argparse
import os
import sys


def no_display() -> bool:
    """On Linux without X11 or Wayland, Qt aborts with a message about xcb-cursor0 and
    reinstalling; a headless platform chosen on purpose (offscreen, vnc...) is fine."""
    if not sys.platform.startswith("linux"):
        return False
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def launch_gui(args: argparse.Namespace) -> int:
    if no_display():
        print(
            "photosort: error: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set), "
            "so the desktop app cannot open; the command line works: photosort --help",
            file=sys.stderr,
        )
        return 2
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
