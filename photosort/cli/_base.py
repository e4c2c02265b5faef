"""What every command module shares: the ``Command`` record, opening the library, one-line
errors and the common ``--json``/``--no-progress`` pair.

Nothing heavy is imported here: the library (and numpy, SQLite, the model behind it) is
imported when a command opens it, so ``photosort --help`` and a mistyped command stay fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from photosort.core.library import Library

Configure = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]


class Command(NamedTuple):
    """One subcommand: ``configure`` adds its options, ``run`` does it, ``help`` is its line
    in ``photosort --help``. Its name is given where it is listed (``cli/_commands.py``)."""

    configure: Configure
    run: Run
    help: str


def open_library(args: argparse.Namespace, read_only: bool = False) -> Library:
    """The library of ``--library``; reading commands open it ``read_only``: they work on a
    read-only disk, never create a library and never write (so never start a backup)."""
    from photosort.core.library import Library

    _show_downloads()
    return Library(
        getattr(args, "library", None),
        getattr(args, "model", None),
        getattr(args, "device", None),
        read_only=read_only,
    )


def _show_downloads() -> None:
    """On a terminal, a model's first-use download in any command shows a progress bar."""
    if sys.stderr is not None and sys.stderr.isatty():
        from photosort.cli._jobs import ProgressBar
        from photosort.core import model_download

        if model_download.default_progress is None:
            model_download.default_progress = ProgressBar()


def fail(message: str, code: int = 2) -> int:
    print(f"photosort: error: {message}", file=sys.stderr)
    return code


def json_progress_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def count(n: int, noun: str) -> str:
    """``1 photo``, ``2 photos``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")
