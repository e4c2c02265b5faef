"""``photosort categories list|add|remove|import|export|rename|remove-label``: the
categories and labels auto-tagging uses (renames in cli/tag_admin.py)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from photosort.cli._base import Command, open_library

if TYPE_CHECKING:
    from photosort.core.categories import Category, Label


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
    from photosort.core.categories import Label

    name, sep, prompts = text.partition("=")
    return Label(name.strip(), [q.strip() for q in prompts.split("|") if q.strip()] if sep else [])


def cmd_categories(args: argparse.Namespace) -> int:
    from photosort.core.categories import Category
    from photosort.core.library import LibraryError
    from photosort.core.lookup import check_category

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


CATEGORIES = Command(
    _categories_options, cmd_categories, "list, add, remove, import or export categories"
)
