"""``photosort tags --explain PATH``: why a photo got its labels (the image, the sun, both)."""

from __future__ import annotations

import argparse
import json

from photosort.cli._base import open_library


def explain(args: argparse.Namespace) -> int:
    """Print the image's probabilities, the sun's and the result per category."""
    with open_library(args) as lib:
        explanation = lib.explain_tags(args.explain)
    if args.json:
        print(json.dumps(explanation.as_dict(), indent=2, ensure_ascii=False))
    else:
        print("\n".join(explanation.lines()))
    return 0
