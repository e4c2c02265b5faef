"""The ``photosort`` command: thin commands over ``Library``, one module per command.

``cli/_commands.py`` lists the commands in order; ``cli/_jobs.py`` runs a long core job
with its progress bar and Ctrl-C; ``cli/_base.py`` opens the library. User errors print
one line on stderr and exit non-zero; nothing here holds logic that the GUI would also
need. Importing this package imports no numpy, SQLite, torch or Qt: a command imports
what it needs when it runs (``tests/test_cli_start.py`` keeps it so).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from photosort.cli._base import Command, Configure, Run, fail, open_library
from photosort.cli._jobs import ProgressBar, one_line, run_cancellable, run_job
from photosort.core.errors import PhotosortError
from photosort.core.progress import Cancelled

__all__ = [
    "COMMANDS",
    "USER_ERRORS",
    "Command",
    "Configure",
    "ProgressBar",
    "Run",
    "build_parser",
    "fail",
    "main",
    "one_line",
    "open_library",
    "run_cancellable",
    "run_job",
]

#: Every error a user can act on derives from this root; anything else is a bug.
USER_ERRORS = (PhotosortError,)

#: Device choices of ``--device`` (core/embedder.py checks them again; a test pins both).
DEVICES = ("auto", "cpu", "mps", "cuda")


def _all_commands() -> dict[str, Command]:
    from photosort.cli._commands import COMMAND_LIST

    return dict(COMMAND_LIST)


#: name -> Command, in ``photosort --help`` order (the list is in ``cli/_commands.py``).
COMMANDS: dict[str, Command] = _all_commands()


def _common_options() -> _Parser:
    """Options every command takes, before or after the command name."""
    common = _Parser(add_help=False)
    common.add_argument(
        "--library",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="library folder (default: $PHOTOSORT_LIBRARY or the user data folder)",
    )
    common.add_argument(
        "--model",
        default=argparse.SUPPRESS,
        help="NAME:PRETRAINED or local-dir:PATH (default: $PHOTOSORT_MODEL, the library's "
        "model, or ViT-B-32:laion2b_s34b_b79k)",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show detailed log messages",
    )
    common.add_argument(
        "--device",
        choices=DEVICES,
        default=argparse.SUPPRESS,
        help="where the model runs (default: $PHOTOSORT_DEVICE or auto)",
    )
    return common


def _epilog() -> str:
    from photosort.core.embedder import model_cache_dir
    from photosort.core.library import default_library_dir

    return f"""\
Run "photosort COMMAND --help" for a command's options.

environment:
  PHOTOSORT_LIBRARY      library folder (now: {default_library_dir()})
  PHOTOSORT_MODEL        model, as for --model
  PHOTOSORT_DEVICE       auto, cpu, mps or cuda
  PHOTOSORT_MODEL_CACHE  downloaded model weights (now: {model_cache_dir()})

examples:
  photosort scan ~/Pictures
  photosort search "dog in the snow" --top 10
  photosort search --image holiday.jpg --not "blurry"
  photosort export --tag beach --to ~/Desktop/beach
"""


class _Parser(argparse.ArgumentParser):
    """argparse, with "did you mean" for a mistyped command, in one line."""

    def error(self, message: str) -> NoReturn:
        if "invalid choice" in message and "COMMAND" in message:
            from photosort.core.lookup import did_you_mean

            word = message.split("invalid choice: ", 1)[1].split(" (choose", 1)[0].strip("'")
            hint = did_you_mean(word, COMMANDS) or "; 'photosort --help' lists the commands"
            self.exit(2, f"photosort: error: unknown command {word!r}{hint}\n")
        super().error(message)


class _TopParser(_Parser):
    """The ``photosort`` parser: its epilog (the folders in use now, which needs the core)
    is written only when the help is shown."""

    def format_help(self) -> str:
        if self.epilog is None:
            self.epilog = _epilog()
        return super().format_help()


class _Version(argparse.Action):
    """``--version``, read from the package metadata only when asked for."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        from photosort import __version__

        print(f"photosort {__version__}")
        parser.exit()


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``photosort`` parser; ``only``: build the options of just this command (the one
    about to run). The others are listed with their help line, so ``--help`` and "did you
    mean" still know them, but their option builders, which may import core modules for
    their choices, do not run."""
    common = _common_options()
    parser = _TopParser(
        prog="photosort",
        description="Organise local photos: CLIP search, auto-tagging and export. "
        "Without a command, opens the desktop app.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument(
        "--version", action=_Version, nargs=0, help="show program's version number and exit"
    )
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, cmd in COMMANDS.items():
        sub = subs.add_parser(name, parents=[common], help=cmd.help, description=cmd.help)
        if only is None or name == only:
            cmd.configure(sub)
        sub.set_defaults(run=cmd.run)
    return parser


class _Lookahead(argparse.ArgumentParser):
    """A parser that raises, rather than printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise argparse.ArgumentError(None, message)


def _command_named(argv: Sequence[str] | None) -> str | None:
    """The command ``argv`` runs, found by the options before it (None: none or unknown,
    and the full parser reports it)."""
    first = _Lookahead(add_help=False, exit_on_error=False)
    for option in ("--library", "--model", "--device"):
        first.add_argument(option)
    first.add_argument("-v", "--verbose", action="store_true")
    first.add_argument("command", nargs="?")
    first.add_argument("rest", nargs=argparse.REMAINDER)
    try:
        known, _ = first.parse_known_args(sys.argv[1:] if argv is None else list(argv))
    except argparse.ArgumentError:
        return None
    return known.command if known.command in COMMANDS else None


def _configure_logging(verbose: bool) -> None:
    """Show photosort's own warnings; third-party chatter (open_clip, hub) only with -v."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("photosort: %(levelname)s: %(message)s"))
    if not verbose:
        handler.addFilter(logging.Filter("photosort"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(only=_command_named(argv) or None)
    args = parser.parse_args(argv)
    _configure_logging(getattr(args, "verbose", False))
    run = getattr(args, "run", None)
    if run is None:
        from photosort.gui_launch import launch_gui

        return launch_gui(args)
    try:
        code = int(run(args) or 0)
    except USER_ERRORS as exc:
        code = fail(str(exc))
    except Cancelled:  # a job with no partial result to report (finding duplicates)
        code = fail("stopped (Ctrl-C)", 130)
    except KeyboardInterrupt:
        code = fail("interrupted", 130)
    except BrokenPipeError:
        code = 0
    if argv is None:  # the program itself, not a caller in the same process
        _exit_now_if_stuck(code)
    return code


def _exit_now_if_stuck(code: int) -> None:
    """After Ctrl-C, a worker thread may still sit in a read that never returns (a dead
    network share); Python's exit would wait for it for ever. Everything the command
    wrote is committed or journalled by now, so leave without waiting."""
    stuck = [
        t
        for t in threading.enumerate()
        if t is not threading.main_thread() and not t.daemon and t.is_alive()
    ]
    if stuck:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
