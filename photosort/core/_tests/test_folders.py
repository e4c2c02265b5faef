"""The one definition of "under a folder", in Python and in SQL, agree with each other."""

from __future__ import annotations

import sqlite3

import pytest

from photosort.core.folders import inside
from photosort.core.store import under_folder_sql

CASES = [
    ("/a/b", "/a/b", True),
    ("/a/b/c", "/a/b", True),
    ("/a/b/c/d", "/a/b/", True),
    ("/a/bc", "/a/b", False),  # a sibling sharing the name's start is not inside
    ("/a", "/a/b", False),
    ("/x/y", "/", True),
    ("/a_b/c", "/a%b", False),  # LIKE's wildcards mean nothing here
]


@pytest.mark.parametrize(("path", "folder", "expected"), CASES)
def test_python_and_sql_agree(path: str, folder: str, expected: bool) -> None:
    assert inside(path, folder) is expected
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE photos (folder TEXT)")
    conn.execute("INSERT INTO photos VALUES (?)", (path,))
    clause, params = under_folder_sql("folder", folder)
    found = conn.execute(f"SELECT COUNT(*) FROM photos WHERE {clause}", params).fetchone()[0]
    assert bool(found) is expected
