"""The ``photosort`` command: thin commands over ``Library``.

User errors print one line on stderr and exit non-zero; nothing here holds logic
that the GUI would also need.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, TypeVar

from photosort import __version__
from photosort.core.categories import Category, Label
from photosort.core.embedder import DEVICES
from photosort.core.errors import PhotosortError
from photosort.core.export import LAYOUTS, MODES, PAIR_CHOICES, ExportRequest
from photosort.core.library import Library, LibraryError, default_library_dir
from photosort.core.lookup import check_category, did_you_mean
from photosort.core.progress import Cancelled, CancelToken, Progress, ProgressCallback
from photosort.core.search import SearchError, SearchQuery, SearchResult, Term

if TYPE_CHECKING:
    from types import FrameType

    from tqdm import tqdm

_T = TypeVar("_T")

#: Every error a user can act on derives from this root; anything else is a bug.
USER_ERRORS = (PhotosortError,)

Configure = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]


class Command(NamedTuple):
    configure: Configure
    run: Run
    help: str


#: Subcommand registry: name -> Command. Feature modules add theirs (cli/_commands.py).
COMMANDS: dict[str, Command] = {}


def command(name: str, configure: Configure, help: str) -> Callable[[Run], Run]:
    def register(run: Run) -> Run:
        COMMANDS[name] = Command(configure, run, help)
        return run

    return register


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
            word = message.split("invalid choice: ", 1)[1].split(" (choose", 1)[0].strip("'")
            hint = did_you_mean(word, COMMANDS) or "; 'photosort --help' lists the commands"
            self.exit(2, f"photosort: error: unknown command {word!r}{hint}\n")
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = _Parser(
        prog="photosort",
        description="Organise local photos: CLIP search, auto-tagging and export. "
        "Without a command, opens the desktop app.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"photosort {__version__}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (configure, run, text) in COMMANDS.items():
        sub = subs.add_parser(name, parents=[common], help=text, description=text)
        configure(sub)
        sub.set_defaults(run=run)
    return parser


def open_library(args: argparse.Namespace, read_only: bool = False) -> Library:
    """The library of ``--library``; reading commands open it ``read_only``: they work on a
    read-only disk, never create a library and never write (so never start a backup)."""
    return Library(
        getattr(args, "library", None),
        getattr(args, "model", None),
        getattr(args, "device", None),
        read_only=read_only,
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


# -- progress --------------------------------------------------------------------------------
class ProgressBar:
    """A tqdm bar fed by core Progress reports; quiet when stderr is not a terminal."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._bar: tqdm | None = None
        self._phase: str | None = None

    def __call__(self, progress: Progress) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if progress.phase != self._phase:
            self.close()
            self._phase = progress.phase
            # A terminal that reports no size (a bare pty) would get a hidden bar.
            width = {"dynamic_ncols": True} if all(_terminal_size()) else {"ncols": 80, "nrows": 24}
            self._bar = tqdm(
                total=progress.total or None,
                desc=progress.phase,
                unit=progress.unit,
                file=sys.stderr,
                **width,
            )
        bar = self._bar
        assert bar is not None  # made above at the first report of a phase
        bar.n = progress.done
        room = _name_room()
        if progress.current and room:
            name = _short(one_line(os.path.basename(progress.current)), room)
            bar.set_postfix_str(name, refresh=False)
        bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def one_line(path: str) -> str:
    """A path with newlines or other control characters, escaped so it stays one line."""
    if path.isprintable():
        return path
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in path)


def _terminal_size() -> tuple[int, int]:
    try:
        columns, lines = os.get_terminal_size(sys.stderr.fileno())
        return columns, lines
    except (OSError, ValueError):
        return (0, 0)


def _name_room() -> int:
    """Columns the file name may take beside the bar; none in a narrow terminal, where it
    would squeeze the bar itself (80 columns: bar, counts, rate and ETA need them all)."""
    columns = _terminal_size()[0] or 80
    return max(0, min(30, columns - 90))


def _short(path: str, width: int = 30) -> str:
    return path if len(path) <= width else "…" + path[-(width - 1) :]


def run_job(
    args: argparse.Namespace,
    job: Callable[[ProgressCallback, CancelToken], _T],
    only_on_terminal: bool = True,
) -> _T:
    """Run a long core job as every command does: ``job(on_progress, should_cancel)`` with
    a progress bar on stderr (not with --no-progress or --json, and by default only on a
    terminal) and Ctrl-C handling (the first asks the job to stop cleanly, the second kills).
    """
    shown = not getattr(args, "no_progress", False) and not getattr(args, "json", False)
    bar = ProgressBar(enabled=shown and (sys.stderr.isatty() or not only_on_terminal))
    try:
        return run_cancellable(lambda token: job(bar, token))
    finally:
        bar.close()


def run_cancellable(job: Callable[[CancelToken], _T]) -> _T:
    """Run a long job; the first Ctrl-C asks it to stop cleanly, the second kills.
    Commands with a progress bar use ``run_job``."""
    token = CancelToken()
    previous = signal.getsignal(signal.SIGINT)

    main_thread = threading.get_ident()
    watchdogs: list[threading.Timer] = []

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        if token.cancelled:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        token.set()
        print("\nstopping after the current batch… (Ctrl-C again to abort)", file=sys.stderr)
        # Ctrl-C stops any command within 2 s: a job that has not stopped by then (stuck in
        # a read, loading the model) gets the second Ctrl-C itself. Everything it writes is
        # a transaction or a journalled move, so stopping anywhere loses nothing.
        watchdog = threading.Timer(1.5, _interrupt, (main_thread,))
        watchdog.daemon = True
        watchdogs.append(watchdog)
        watchdog.start()

    with contextlib.suppress(ValueError):  # not the main thread: no Ctrl-C handling
        signal.signal(signal.SIGINT, on_interrupt)
    try:
        return job(token)
    finally:
        for watchdog in watchdogs:
            watchdog.cancel()
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGINT, previous)


def _interrupt(thread_id: int) -> None:
    """Deliver SIGINT to the main thread (wakes it from a blocking call)."""
    if hasattr(signal, "pthread_kill"):
        signal.pthread_kill(thread_id, signal.SIGINT)
    else:  # Windows
        import _thread

        _thread.interrupt_main()


# -- commands --------------------------------------------------------------------------------
def _scan_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="folders to add and index (default: every root of the library)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument(
        "--batch-size", type=int, default=32, metavar="N", help="photos per batch (default 32)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="try every failed photo again (I/O failures are always retried)",
    )
    p.add_argument(
        "--follow-links",
        action="store_true",
        help="follow symlinks that lead outside the given folders (remembered per folder)",
    )


@command("scan", _scan_options, "add folders and index new or changed photos")
def cmd_scan(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        if not args.paths and not lib.roots():
            raise LibraryError("no folders yet: give one, e.g. photosort scan ~/Pictures")
        summary = run_job(
            args,
            lambda bar, token: lib.scan(
                args.paths or None,
                bar,
                token,
                args.batch_size,
                follow_links=args.follow_links,
                retry_failed=args.retry_failed,
            ),
        )
    for issue in summary.issues:
        print(f"photosort: skipped {one_line(issue.path)}: {issue.reason}", file=sys.stderr)
    for warning in summary.warnings:
        print(f"photosort: warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        for path, reason in summary.failures:
            print(f"failed: {one_line(path)}: {reason}", file=sys.stderr)
        if summary.sun.read:  # metadata ignored: reasons in --json and tags --explain
            print(summary.sun.line())
        if summary.keywords and summary.keywords.tags:
            print(summary.keywords.line())
        if summary.ocr and (
            summary.ocr.read or summary.ocr.reused or summary.ocr.skipped or summary.ocr.looked
        ):
            print(summary.ocr.line())
        print(summary.line())  # the summary stays the last line
    return 1 if summary.cancelled else 0


def _roots_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action", nargs="?", choices=["list", "remove"], default="list", help="default: list"
    )
    p.add_argument("path", nargs="?", help="root folder to remove")
    p.add_argument("--json", action="store_true", help="print the roots as JSON")
    p.add_argument(
        "-y", "--yes", action="store_true", help="remove without asking (after saying what goes)"
    )


def _check_root(lib: Library, path: str) -> None:
    roots = [r["path"] for r in lib.roots()]
    if os.path.abspath(os.path.expanduser(path)) not in roots:
        from photosort.core.lookup import similar_folder

        raise LibraryError(f"not a root of this library: {path}{similar_folder(path, roots)}")


@command("roots", _roots_options, "list the library's folders, or remove one (forgets its photos)")
def cmd_roots(args: argparse.Namespace) -> int:
    with open_library(args, read_only=args.action == "list") as lib:
        if args.action == "remove":
            if not args.path:
                raise LibraryError("roots remove needs a PATH")
            _check_root(lib, args.path)
            impact = lib.root_removal(args.path)
            for line in impact.lines():
                print(line, file=sys.stderr)
            if not args.yes and not _confirm("remove it?"):
                raise LibraryError(
                    "nothing removed: confirm with --yes"
                    + ("" if sys.stdin.isatty() else " (no terminal to ask on)")
                )
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


def _confirm(question: str) -> bool:
    """Ask on the terminal; without one (a script, a pipe) the answer is no."""
    if not sys.stdin.isatty():
        return False
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _status_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.add_argument("--failures", action="store_true", help="list files that could not be read")


@command("status", _status_options, "show photo counts, the model and what is left to index")
def cmd_status(args: argparse.Namespace) -> int:
    try:
        with open_library(args, read_only=True) as lib:
            status = lib.status()
            failures = lib.failures() if args.failures else []
            reindex = lib.reindex_progress()  # an interrupted re-index, if any
    except LibraryError as exc:
        if "no library at" not in str(exc):
            raise
        print(f"photosort: {exc}", file=sys.stderr)  # status of nothing: say so, create nothing
        if args.json:
            folder = getattr(args, "library", None) or default_library_dir()
            print(json.dumps({"library": str(folder), "exists": False, "photos": 0}, indent=2))
        return 0
    if args.json:
        data = status.as_dict()
        if args.failures:
            data["failures"] = failures
        if reindex is not None:
            data["reindex"] = {"model": reindex[0], "done": reindex[1], "total": reindex[2]}
        print(json.dumps(data, indent=2))
        return 0
    print(f"library:  {status.library}")
    print(f"model:    {status.model}")
    print(f"roots:    {status.roots}")
    print(f"photos:   {status.photos}")
    print(f"embedded: {status.embedded}")
    print(f"pending:  {status.pending}")
    print(f"failed:   {status.failed}")
    if reindex is not None:
        model, done, total = reindex
        resume = "resume: photosort reindex"
        print(f"re-index: {done} of {total} photos with {model}, stopped; {resume}")
    if status.raw_pairs:
        print(f"RAW+JPEG: {status.raw_pairs} pairs (each counted once)")
    if status.skipped:
        kinds = ", ".join(f"{n} {ext}" for ext, n in status.skipped.items())
        print(f"skipped:  {sum(status.skipped.values())} videos ({kinds}), not indexed")
    for f in failures:
        print(f"  {f['path']}: {f['reason']}")
    return 0


def _search_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", nargs="*", help='free text, e.g. "dog in the snow"')
    p.add_argument("--image", metavar="PATH", help="find photos like this one")
    p.add_argument(
        "--text",
        dest="words",
        metavar="WORDS",
        help='find photos by the words in them, e.g. --text "ikea 42.50"',
    )
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
    p.add_argument(
        "--top", type=int, default=20, metavar="N", help="number of results (default 20)"
    )
    p.add_argument(
        "--json", action="store_true", help="print the results (path, score, date, tags) as JSON"
    )


#: How ``search`` names each query field in its one-line errors.
SEARCH_FLAGS = {
    "date_from": "--from",
    "date_to": "--to",
    "also": "--and",
    "exclude": "--not",
    "top": "--top",
    "folder": "--folder",
    "root": "--root",
    "tags": "tag",
}


@command("search", _search_options, "search photos by text, by example image, and by filters")
def cmd_search(args: argparse.Namespace) -> int:
    if args.top <= 0:
        raise SearchError("--top must be positive")
    query = _query_from(args)
    if args.words is not None:  # words in photos (issue 19): photosort/cli/ocr.py
        from photosort.cli.ocr import search_words

        return search_words(args, query)
    if not query.has_semantic_part and not query.has_filters:
        raise SearchError('nothing to search for: give a text, e.g. photosort search "beach"')
    with open_library(args, read_only=True) as lib:
        results = lib.search(query, SEARCH_FLAGS)
        code = _search_output(args, results, query.has_semantic_part)
        sys.stdout.flush()
        lib.cache_text_encoder()  # after the answer: the next cold search needs no torch
    return code


def _query_from(args: argparse.Namespace) -> SearchQuery:
    """The search options (shared by ``search`` and ``export --query``) as a query."""
    return SearchQuery(
        text=" ".join(args.query).strip() or None,
        image=getattr(args, "image", None),
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


def _search_output(
    args: argparse.Namespace, results: list[SearchResult], scored: bool = True
) -> int:
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
    for r in results:  # a filter-only listing has no score to show
        score = f"{r.score:6.3f}  " if scored else ""
        print(f"{score}{r.path}" + (f"  [{', '.join(r.tags)}]" if r.tags else ""))
    return 0


# -- categories, tags, export (issue 4) -------------------------------------------------------
def _categories_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        choices=["list", "add", "remove", "import", "export", "rename", "remove-label"],
        help="what to do",
    )
    p.add_argument(
        "name",
        nargs="?",
        metavar="NAME|FILE",
        help="category name (add, remove) or TOML file (import, export; - = stdout)",
    )
    p.add_argument(
        "second",
        nargs="?",
        metavar="NEW|LABEL",
        help="rename: new name; remove-label: the label",
    )
    p.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="NAME[=PROMPT|PROMPT...]",
        help="a label to add or update, optionally with its prompts (repeatable)",
    )
    kind = p.add_mutually_exclusive_group()
    kind.add_argument(
        "--exclusive",
        dest="kind",
        action="store_const",
        const="exclusive",
        help="at most one label per photo (e.g. time of day)",
    )
    kind.add_argument(
        "--free",
        dest="kind",
        action="store_const",
        const="free",
        help="every label is an independent tag (the default)",
    )
    p.add_argument("--threshold", type=float, help="probability a label needs (0..1]")
    p.add_argument(
        "--replace",
        action="store_true",
        help="import: drop categories that the file does not define",
    )
    p.add_argument("--json", action="store_true", help="list: print the categories as JSON")


def _parse_label(text: str) -> Label:
    name, sep, prompts = text.partition("=")
    return Label(name.strip(), [q.strip() for q in prompts.split("|") if q.strip()] if sep else [])


@command("categories", _categories_options, "list, add, remove, import or export categories")
def cmd_categories(args: argparse.Namespace) -> int:
    if args.action in ("rename", "remove-label"):
        from photosort.cli.tag_admin import run_categories_action

        return run_categories_action(args)
    with open_library(args, read_only=args.action in ("list", "export")) as lib:
        if args.action == "list":
            cats = lib.categories()
            if args.json:
                print(json.dumps([_category_dict(c) for c in cats], indent=2, ensure_ascii=False))
                return 0
            for c in cats:
                print(f"{c.name} ({c.kind}, threshold {c.threshold:g}{', sun' if c.sun else ''})")
                for label in c.labels:
                    extra = "" if label.threshold is None else f" [threshold {label.threshold:g}]"
                    sun = ""
                    if c.sun and label.sun_elevation is not None:
                        low, high = label.sun_elevation
                        way = {True: ", rising", False: ", setting", None: ""}[label.sun_rising]
                        sun = f"  [sun {low:g}° to {high:g}°{way}]"
                    prompts = " | ".join(label.prompt_texts(c.template))
                    print(f"  {label.name}{extra}: {prompts}{sun}")
            return 0
        if not args.name:
            raise LibraryError(
                f"categories {args.action} needs a "
                f"{'file' if args.action in ('import', 'export') else 'name'}"
            )
        if args.action == "remove":
            check_category([c.name for c in lib.categories()], args.name)
            lib.remove_category(args.name)
            print(f"removed category {args.name!r} (manual tags kept)")
        elif args.action == "import":
            cats = lib.import_categories(args.name, replace=args.replace)
            print(f"imported {len(cats)} categories from {args.name}")
        elif args.action == "export":
            if args.name == "-":
                from photosort.core.categories import to_toml

                sys.stdout.write(to_toml(lib.categories()))
            else:
                lib.export_categories(args.name)
                print(f"wrote {args.name}")
        else:

            def change(stored: Category | None) -> Category:  # runs inside one transaction
                cat = stored or Category(args.name, args.kind or "free")
                if args.kind:
                    cat.kind = args.kind
                if args.threshold is not None:
                    cat.threshold = args.threshold
                for raw in args.label:
                    label = _parse_label(raw)
                    old = next((x for x in cat.labels if x.name == label.name), None)
                    if old is not None:  # new words, same sun keys (set in TOML)
                        label.sun_elevation, label.sun_rising = old.sun_elevation, old.sun_rising
                    cat.labels = [x for x in cat.labels if x.name != label.name] + [label]
                return cat

            summary = lib.update_category(args.name, change)
            if args.json:
                print(json.dumps(summary.as_dict(), indent=2))
            else:
                print(f"saved category {args.name!r}; {summary.line()}")
    return 0


def _category_dict(c: Category) -> dict:
    def label(x: Label) -> dict:
        out: dict[str, Any] = {"name": x.name, "prompts": x.prompts, "threshold": x.threshold}
        if x.sun_elevation is not None:  # the sun keys only where set (core/sun_fusion.py)
            out["sun_elevation"] = list(x.sun_elevation)
        if x.sun_rising is not None:
            out["sun_rising"] = x.sun_rising
        return out

    sun = {"sun": True} if c.sun else {}
    template = {"template": c.template} if c.template else {}
    return {
        "name": c.name,
        "kind": c.kind,
        "threshold": c.threshold,
        **sun,
        **template,
        "labels": [label(x) for x in c.labels],
    }


def _json_progress_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


@command("autotag", _json_progress_options, "re-tag every photo from its stored vector")
def cmd_autotag(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        summary = run_job(args, lib.autotag)
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        print(summary.line())
        for name, n in summary.uncertain.items():
            print(f"  {name}: {n} uncertain")
    return 1 if summary.cancelled else 0


def _tag_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="photos, or folders of photos")
    p.add_argument(
        "--add", action="append", default=[], metavar="TAG", help="add a tag (repeatable)"
    )
    p.add_argument(
        "--remove",
        action="append",
        default=[],
        metavar="TAG",
        help="remove or reject a tag; survives re-tagging (repeatable)",
    )
    p.add_argument(
        "--clear",
        action="append",
        default=[],
        metavar="TAG",
        help="forget the manual decision; the auto tagger decides again",
    )
    p.add_argument(
        "--reject",
        action="append",
        default=[],
        metavar="TAG",
        help="record that TAG is wrong here: a negative example for a taught tag (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print the photos' tags as JSON")


@command("tag", _tag_options, "add or remove tags by hand on photos")
def cmd_tag(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        ids, unknown = lib.photo_ids_for_paths(args.paths)
        for path in unknown:
            print(f"photosort: not in the library: {path}", file=sys.stderr)
        if not ids:
            raise LibraryError("none of the given paths is a photo of this library")
        lib.check_tag_names([*args.remove, *args.clear])  # a typo would reject a new tag
        if args.clear:
            lib.clear_manual(ids, args.clear)
        if args.add or args.remove:
            lib.tag_photos(ids, add=args.add, remove=args.remove)
        if args.reject:
            lib.reject_tags(ids, args.reject)
        tags = lib.photo_tags(ids)
        paths = {pid: d["path"] for pid, d in lib.photo_details(ids).items()}
    if args.json:
        print(
            json.dumps(
                {paths[pid]: [t.__dict__ for t in tags[pid]] for pid in ids},
                indent=2,
                ensure_ascii=False,
            )
        )
    elif len(ids) > TAG_LINES or any(os.path.isdir(p) for p in args.paths):
        print(_tag_summary(args, ids, tags))
    else:
        for pid in ids:
            shown = [t.name if t.state == "on" else f"-{t.name}" for t in tags[pid]]
            print(f"{paths[pid]}: {', '.join(shown) or '(no tags)'}")
    return 1 if unknown else 0


#: ``tag`` lists each photo's tags up to this many photos; beyond (or for a folder), a summary.
TAG_LINES = 10


def _tag_summary(args: argparse.Namespace, ids: list[int], tags: dict) -> str:
    """``40 photos: added 'x'; now: x 40, dusk 12`` instead of one line per photo."""
    counts: dict[str, int] = {}
    for pid in ids:
        for t in tags[pid]:
            if t.state == "on":
                counts[t.name] = counts.get(t.name, 0) + 1
    done = [f"added {t!r}" for t in args.add] + [f"removed {t!r}" for t in args.remove]
    done += [f"cleared {t!r}" for t in args.clear]
    common = ", ".join(f"{n} {c}" for n, c in sorted(counts.items(), key=lambda x: (-x[1], x[0])))
    changes = "; ".join(done) or "unchanged"
    return f"{_count(len(ids), 'photo')}: {changes}; tags now: {common or 'none'}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _tags_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        nargs="?",
        choices=["rename", "merge", "delete"],
        help="rename OLD NEW, merge TAG INTO, delete TAG (without: count photos per tag)",
    )
    p.add_argument("names", nargs="*", metavar="TAG", help="the tag names")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.add_argument(
        "--explain",
        metavar="PATH",
        help="one photo's labels: the image's probabilities, the sun's, and the result",
    )


@command("tags", _tags_options, "count photos per tag; rename, merge or delete a tag")
def cmd_tags(args: argparse.Namespace) -> int:
    if args.explain:
        from photosort.cli.sun import explain

        return explain(args)
    if args.action:
        from photosort.cli.tag_admin import run_tags_action

        return run_tags_action(args)
    with open_library(args, read_only=True) as lib:
        counts = lib.tag_counts()
    if args.json:
        print(json.dumps([c.as_dict() for c in counts], indent=2, ensure_ascii=False))
        return 0
    current = object()
    for c in counts:
        if c.category != current:
            current = c.category
            print(c.category or "(other tags)")
        print(f"  {c.count:7d}  {c.name}")
    return 0


def _export_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tag",
        dest="tags",
        action="append",
        default=[],
        metavar="TAG",
        help="export photos with this tag, into a folder per tag (repeatable)",
    )
    p.add_argument(
        "--query",
        metavar="TEXT",
        help='export the results of this search (as "photosort search TEXT" shows them)',
    )
    p.add_argument(
        "--top",
        type=int,
        default=20,
        metavar="N",
        help="with --query: how many results (default 20)",
    )
    p.add_argument(
        "--paths",
        nargs="+",
        metavar="PATH",
        help="export these photos, or every photo under these folders",
    )
    p.add_argument("--to", dest="dest", required=True, metavar="DIR", help="destination folder")
    p.add_argument(
        "--mode",
        choices=MODES,
        default="copy",
        help="copy (the default), hardlink, symlink or move the files",
    )
    p.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="by-tag",
        help="one folder per tag (default) or everything in DIR",
    )
    p.add_argument("--dry-run", action="store_true", help="show what would happen, write nothing")
    p.add_argument("--xmp", action="store_true", help="write an XMP sidecar next to each file")
    p.add_argument(
        "--pair",
        choices=PAIR_CHOICES,
        default="both",
        help="RAW+JPEG pairs: export both files (default), only the RAW or only the JPEG",
    )
    _json_progress_options(p)


def _export_selection(lib: Library, args: argparse.Namespace) -> list[int] | None:
    """The photos ``--query`` and ``--paths`` pick (both: those in both); None: all."""
    picked: list[int] | None = None
    if args.paths:
        picked, unknown = lib.photo_ids_for_paths(args.paths)
        if unknown:
            raise LibraryError(f"not a photo or folder of this library: {unknown[0]}")
    if args.query:
        if args.top <= 0:
            raise SearchError("--top must be positive")
        query = SearchQuery(text=args.query, top=args.top)
        found = [r.photo_id for r in lib.search(query, SEARCH_FLAGS)]
        picked = found if picked is None else [i for i in found if i in set(picked)]
    return picked


@command(
    "export", _export_options, "copy, link or move photos (by tag, search or path) into folders"
)
def cmd_export(args: argparse.Namespace) -> int:
    if not (args.tags or args.query or args.paths):
        raise LibraryError("nothing to export: give --tag TAG, --query TEXT or --paths PATH")
    request = ExportRequest(
        args.tags, args.dest, args.mode, args.layout, args.dry_run, args.xmp, pair=args.pair
    )
    with open_library(args) as lib:
        request.photo_ids = _export_selection(lib, args)
        summary = run_job(args, lambda bar, token: lib.export(request, bar, token))
    for warning in summary.warnings:
        print(f"photosort: warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
    else:
        if args.dry_run:
            for item in summary.items:
                if item.status != "skipped":
                    print(f"{item.source} -> {item.destination}")
        for item in summary.items:
            if item.status == "failed":
                print(f"failed: {item.source}: {item.error}", file=sys.stderr)
        print(summary.line())
    return 1 if summary.cancelled or summary.failed else 0


def _xmp_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths", nargs="*", metavar="PATH", help="photos or folders (default: every tagged photo)"
    )
    _json_progress_options(p)


@command("xmp", _xmp_options, "write XMP sidecars with the tags next to the original photos")
def cmd_xmp(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        ids = None
        if args.paths:
            ids, unknown = lib.photo_ids_for_paths(args.paths)
            for path in unknown:
                print(f"photosort: not in the library: {path}", file=sys.stderr)
            if not ids:  # as ``tag`` does: nothing to work on is an error, not "0 written"
                raise LibraryError("none of the given paths is a photo of this library")
        summary = run_job(args, lambda bar, token: lib.write_xmp_sidecars(ids, bar, token))
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
    else:
        for path, reason in summary.failures:
            print(f"failed: {one_line(path)}: {reason}", file=sys.stderr)
        print(summary.line())
    return 1 if summary.cancelled or summary.failures or (args.paths and unknown) else 0


def _gui_options(p: argparse.ArgumentParser) -> None:
    pass


@command("gui", _gui_options, "open the desktop app")
def cmd_gui(args: argparse.Namespace) -> int:
    from photosort.gui_launch import launch_gui

    return launch_gui(args)


def _doctor_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--fix",
        action="store_true",
        help="also remove orphan rows (vectors without a photo, photos without a root)",
    )
    p.add_argument(
        "--restore",
        nargs="?",
        const="newest",
        metavar="BACKUP",
        help="replace the catalog by a backup (default: the newest usable one); "
        "the current catalog is backed up first",
    )
    p.add_argument("--list-backups", action="store_true", help="list the catalog backups")
    p.add_argument("--backup-now", action="store_true", help="back the catalog up now")
    p.add_argument("--keep", type=int, metavar="N", help="keep the newest N backups")
    p.add_argument(
        "--backup-every",
        type=float,
        metavar="HOURS",
        help="take a scheduled backup at most this often (default 24)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")


@command(
    "doctor",
    _doctor_options,
    "check the catalog, rebuild the index, report orphans, manage and restore backups",
)
def cmd_doctor(args: argparse.Namespace) -> int:
    from photosort.core import doctor
    from photosort.core.library import default_library_dir

    # DoctorError and BackupError are PhotosortErrors: main() prints their one line
    if args.restore:
        folder = Path(getattr(args, "library", None) or default_library_dir()).expanduser()
        restored, saved = doctor.restore(folder, None if args.restore == "newest" else args.restore)
        print(f"restored the catalog from {restored}")
        if saved is not None:
            print(f"the catalog it replaced is kept as {saved}")
        return 0
    with open_library(args) as lib:
        if args.keep is not None or args.backup_every is not None:
            doctor.configure_backups(lib, args.keep, args.backup_every)
        if args.backup_now:
            print(f"backed up to {doctor.make_backup(lib)}")
        if args.list_backups:
            _list_backups(lib.folder / doctor.BACKUPS)
            return 0
        report = doctor.check(lib, fix=args.fix)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        print("\n".join(report.lines()))
    return 0 if report.healthy else 1


def _list_backups(folder: Path) -> None:
    """One line per backup: when, how big, and the path to give ``doctor --restore``."""
    from photosort.core.backup import backup_time, list_backups

    backups = list_backups(folder)
    if not backups:
        print(f"no backups yet in {folder}")
    for path in backups:
        taken = backup_time(path)
        when = taken.strftime("%Y-%m-%d %H:%M:%S") if taken else "unknown date"
        try:
            size = _size(path.stat().st_size)
        except OSError:
            size = "?"
        print(f"{when}  {size:>9}  {path}")


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


if __name__ == "__main__":
    sys.exit(main())


# -- commands in modules of their own ---------------------------------------------------------
# One line per module; each registers its subcommands with ``@command`` when imported.
# (Imported last: they use the helpers defined above.)
from photosort.cli import _commands  # noqa: E402,F401
