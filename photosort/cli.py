"""The ``photosort`` command: thin commands over ``Library``.

User errors print one line on stderr and exit non-zero; nothing here holds logic
that the GUI would also need.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence

from photosort import __version__
from photosort.core.catalog import CatalogError
from photosort.core.embedder import DEVICES, ModelError
from photosort.core.library import Library, LibraryError
from photosort.core.progress import CancelToken, Progress
from photosort.core.search import SearchError, SearchQuery, Term

USER_ERRORS = (LibraryError, CatalogError, ModelError, SearchError)

#: Subcommand registry: name -> (configure parser, run). Feature modules add theirs.
COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable]] = {}


def command(name: str, configure: Callable[[argparse.ArgumentParser], None], help: str):
    def register(run: Callable) -> Callable:
        run.help = help
        COMMANDS[name] = (configure, run)
        return run

    return register


def _common_options() -> argparse.ArgumentParser:
    """Options every command takes, before or after the command name."""
    common = argparse.ArgumentParser(add_help=False)
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


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="photosort",
        description="Organise local photos: CLIP search, auto-tagging and export. "
        "Without a command, opens the desktop app.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"photosort {__version__}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (configure, run) in COMMANDS.items():
        sub = subs.add_parser(name, parents=[common], help=run.help, description=run.help)
        configure(sub)
        sub.set_defaults(run=run)
    return parser


def open_library(args: argparse.Namespace) -> Library:
    return Library(
        getattr(args, "library", None), getattr(args, "model", None), getattr(args, "device", None)
    )


def fail(message: str, code: int = 2) -> int:
    print(f"photosort: error: {message}", file=sys.stderr)
    return code


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
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(getattr(args, "verbose", False))
    run = getattr(args, "run", None)
    if run is None:
        from photosort.gui_launch import launch_gui

        return launch_gui(args)
    try:
        return int(run(args) or 0)
    except USER_ERRORS as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except BrokenPipeError:
        return 0


# -- progress --------------------------------------------------------------------------------
class ProgressBar:
    """A tqdm bar fed by core Progress reports; quiet when stderr is not a terminal."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._bar = None
        self._phase = None

    def __call__(self, progress: Progress) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if progress.phase != self._phase:
            self.close()
            self._phase = progress.phase
            self._bar = tqdm(
                total=progress.total or None,
                desc=progress.phase,
                unit="photo",
                dynamic_ncols=True,
                file=sys.stderr,
            )
        self._bar.n = progress.done
        if progress.current:
            self._bar.set_postfix_str(_short(progress.current), refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _short(path: str, width: int = 40) -> str:
    return path if len(path) <= width else "…" + path[-(width - 1) :]


def run_cancellable(job: Callable[[CancelToken], object]):
    """Run a long job; the first Ctrl-C asks it to stop cleanly, the second kills."""
    token = CancelToken()
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum, frame):
        if token.cancelled:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        token.set()
        print("\nstopping after the current batch… (Ctrl-C again to abort)", file=sys.stderr)

    with contextlib.suppress(ValueError):  # not the main thread: no Ctrl-C handling
        signal.signal(signal.SIGINT, on_interrupt)
    try:
        return job(token)
    finally:
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGINT, previous)


# -- commands --------------------------------------------------------------------------------
def _scan_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="folders to add and index (default: every root of the library)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--batch-size", type=int, default=32, help="photos per model batch")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


@command("scan", _scan_options, "add folders and index new or changed photos")
def cmd_scan(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        if not args.paths and not lib.roots():
            raise LibraryError("no folders yet: give one, e.g. photosort scan ~/Pictures")
        bar = ProgressBar(enabled=not args.no_progress and not args.json and sys.stderr.isatty())
        try:
            summary = run_cancellable(
                lambda token: lib.scan(args.paths or None, bar, token, args.batch_size)
            )
        finally:
            bar.close()
    for issue in summary.issues:
        print(f"photosort: skipped {issue.path}: {issue.reason}", file=sys.stderr)
    for warning in summary.warnings:
        print(f"photosort: warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        for path, reason in summary.failures:
            print(f"failed: {path}: {reason}", file=sys.stderr)
        print(summary.line())
    return 1 if summary.cancelled else 0


def _roots_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", choices=["list", "remove"], default="list")
    p.add_argument("path", nargs="?", help="root folder to remove")
    p.add_argument("--json", action="store_true")


@command("roots", _roots_options, "list the library's folders, or remove one (forgets its photos)")
def cmd_roots(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        if args.action == "remove":
            if not args.path:
                raise LibraryError("roots remove needs a PATH")
            count = lib.remove_root(args.path)
            print(f"removed root {args.path}: forgot {count} photos (files untouched)")
            return 0
        roots = lib.roots()
    if args.json:
        print(json.dumps([{"path": r["path"], "photos": r["photos"]} for r in roots], indent=2))
    elif not roots:
        print("no folders yet: add one with photosort scan PATH")
    for r in roots if not args.json else []:
        print(f"{r['photos']:>8}  {r['path']}")
    return 0


def _status_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true")
    p.add_argument("--failures", action="store_true", help="list files that could not be read")


@command("status", _status_options, "show photo counts, the model and what is left to index")
def cmd_status(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        status = lib.status()
        failures = lib.failures() if args.failures else []
    if args.json:
        data = status.as_dict()
        if args.failures:
            data["failures"] = failures
        print(json.dumps(data, indent=2))
        return 0
    print(f"library:  {status.library}")
    print(f"model:    {status.model}")
    print(f"roots:    {status.roots}")
    print(f"photos:   {status.photos}")
    print(f"embedded: {status.embedded}")
    print(f"pending:  {status.pending}")
    print(f"failed:   {status.failed}")
    for f in failures:
        print(f"  {f['path']}: {f['reason']}")
    return 0


def _search_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", nargs="*", help='free text, e.g. "dog in the snow"')
    p.add_argument("--image", metavar="PATH", help="find photos like this one")
    p.add_argument(
        "--and",
        dest="also",
        action="append",
        default=[],
        metavar="TEXT[:W]",
        help="another positive term, optionally weighted (repeatable)",
    )
    p.add_argument(
        "--not",
        dest="exclude",
        action="append",
        default=[],
        metavar="TEXT[:W]",
        help="push results away from this (repeatable)",
    )
    p.add_argument("--root", help="only photos under this root")
    p.add_argument("--folder", help="only photos under this folder")
    p.add_argument("--from", dest="date_from", metavar="DATE", help="taken on or after (ISO)")
    p.add_argument("--to", dest="date_to", metavar="DATE", help="taken on or before (ISO)")
    p.add_argument(
        "--tag",
        dest="tags",
        action="append",
        default=[],
        metavar="TAG",
        help="only photos with this tag (repeatable)",
    )
    p.add_argument(
        "--not-tag",
        dest="not_tags",
        action="append",
        default=[],
        metavar="TAG",
        help="leave out photos with this tag (repeatable)",
    )
    p.add_argument("--top", type=int, default=20, help="number of results (default 20)")
    p.add_argument("--json", action="store_true")


@command("search", _search_options, "search photos by text, by example image, and by filters")
def cmd_search(args: argparse.Namespace) -> int:
    if args.top <= 0:
        raise SearchError("--top must be positive")
    query = SearchQuery(
        text=" ".join(args.query).strip() or None,
        image=args.image,
        also=[Term.parse(t) for t in args.also],
        exclude=[Term.parse(t) for t in args.exclude],
        root=args.root,
        folder=args.folder,
        date_from=args.date_from,
        date_to=args.date_to,
        tags=args.tags,
        not_tags=args.not_tags,
        top=args.top,
    )
    if not query.has_semantic_part and not query.has_filters:
        raise SearchError('nothing to search for: give a text, e.g. photosort search "beach"')
    with open_library(args) as lib:
        results = lib.search(query)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "path": r.path,
                        "score": round(r.score, 4),
                        "taken_at": r.taken_at,
                        "tags": r.tags,
                    }
                    for r in results
                ],
                indent=2,
            )
        )
        return 0
    if not results:
        print("no matching photos", file=sys.stderr)
    for r in results:
        print(f"{r.score:6.3f}  {r.path}")
    return 0


def _gui_options(p: argparse.ArgumentParser) -> None:
    pass


@command("gui", _gui_options, "open the desktop app")
def cmd_gui(args: argparse.Namespace) -> int:
    from photosort.gui_launch import launch_gui

    return launch_gui(args)


if __name__ == "__main__":
    sys.exit(main())
