"""``photosort gui``: the desktop app (as ``photosort`` with no command)."""

from __future__ import annotations

import argparse

from photosort.cli._base import Command


def _gui_options(p: argparse.ArgumentParser) -> None:
    pass


def cmd_gui(args: argparse.Namespace) -> int:
    from photosort.gui_launch import launch_gui

    return launch_gui(args)


GUI = Command(_gui_options, cmd_gui, "open the desktop app")
