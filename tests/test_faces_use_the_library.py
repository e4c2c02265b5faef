"""The app and the command line go through the Library: no SQL and no catalog of their own.

import-linter already stops them importing ``photosort.core.catalog``; this also catches
``lib.catalog.…`` reached through the Library and SQL written in a face.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

FACES = Path(__file__).resolve().parents[1] / "photosort"
FORBIDDEN = re.compile(r"\.catalog\b|\bimport sqlite3\b|\b(SELECT|INSERT|UPDATE|DELETE)\s+\w")


@pytest.mark.parametrize(
    "path", sorted([*FACES.glob("cli/*.py"), *FACES.glob("gui/*.py")]), ids=lambda p: p.name
)
def test_a_face_reaches_the_catalog_only_through_the_library(path: Path) -> None:
    hits = [
        f"{path.name}:{n}: {line.strip()}"
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if FORBIDDEN.search(line) and not line.lstrip().startswith("#")
    ]
    assert not hits, "use a Library method instead:\n" + "\n".join(hits)
