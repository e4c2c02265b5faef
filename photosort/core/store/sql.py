"""The three things every store module needs, written once: a handle, chunks, a folder test.

* ``Handle``: where a statement runs. Made from a ``Catalog`` (reads on a per-thread reader
  connection, each write in its own short transaction) or from the connection of a
  transaction the caller already holds (every statement joins it). A store never asks
  which one it was given.
* ``in_chunks``: ``IN (…)`` lists of at most ``IN_CHUNK`` values, under SQLite's limit.
* ``under_folder_sql``: "photos under this folder" as an SQL condition; ``folders.inside``
  is the same test in Python.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from photosort.core.catalog import Catalog, Params

#: Ids per ``IN (…)`` list: below the 999 parameters older SQLite builds allow, with room.
IN_CHUNK = 900

_T = TypeVar("_T")


def in_chunks(values: Iterable[_T], size: int = IN_CHUNK) -> Iterator[tuple[str, list[_T]]]:
    """``values`` split for ``... IN ({marks})`` queries: (marks, chunk) pairs, where
    ``marks`` is ``?,?,…`` for the chunk, so no statement passes SQLite's parameter limit."""
    items = list(values)
    for start in range(0, len(items), size):
        chunk = items[start : start + size]
        yield ",".join("?" * len(chunk)), chunk


def under_folder_sql(column: str, folder: str) -> tuple[str, list[object]]:
    """An SQL condition (and its parameters) true when ``column``, a folder path, is
    ``folder`` or lies below it.

    It compares a prefix with ``substr`` rather than ``LIKE``, whose ``_`` and ``%`` are
    common in file names, so ``/a/bc`` is not under ``/a/b``."""
    trimmed = folder.rstrip(os.sep)
    prefix = trimmed + os.sep
    return f"({column} = ? OR substr({column}, 1, ?) = ?)", [trimmed or os.sep, len(prefix), prefix]


class Handle:
    """A catalog, or the connection of an open transaction: one type for both."""

    __slots__ = ("_catalog", "_conn")

    def __init__(self, source: Catalog | sqlite3.Connection | Handle) -> None:
        if isinstance(source, Handle):
            self._catalog: Catalog | None = source._catalog
            self._conn: sqlite3.Connection | None = source._conn
        elif isinstance(source, sqlite3.Connection):
            self._catalog, self._conn = None, source
        else:
            self._catalog, self._conn = source, None

    @property
    def read_only(self) -> bool:
        """True for a catalog opened for reading only (a transaction's connection writes)."""
        return self._catalog is not None and self._catalog.read_only

    def rows(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Every row of a query, as ``sqlite3.Row`` (by index or by column name)."""
        if self._conn is not None:
            return self._cursor(sql, params).fetchall()
        assert self._catalog is not None
        return self._catalog.query(sql, params)

    def column(self, sql: str, params: Params = ()) -> list[Any]:
        """The first column of every row, as plain values (a million ids in a second)."""
        if self._conn is not None:
            rows = self._conn.execute(sql, params)
            return [row[0] for row in rows]
        assert self._catalog is not None
        return self._catalog.column(sql, params)

    def rows_in(
        self, sql: str, values: Iterable[Any], before: Sequence[Any] = ()
    ) -> list[sqlite3.Row]:
        """Every row of a query over ``values``, where ``sql`` holds ``IN ({marks})``: run
        ``in_chunks`` at a time, with ``before`` the parameters ahead of the list."""
        out: list[sqlite3.Row] = []
        for marks, chunk in in_chunks(values):
            out += self.rows(sql.replace("{marks}", marks), [*before, *chunk])
        return out

    def one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """The first row, or None."""
        if self._conn is not None:
            row: sqlite3.Row | None = self._cursor(sql, params).fetchone()
            return row
        rows = self.rows(sql, params)
        return rows[0] if rows else None

    def _cursor(self, sql: str, params: Params) -> sqlite3.Cursor:
        assert self._conn is not None
        cursor = self._conn.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(sql, params)

    def scalar(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""
        row = self.one(sql, params)
        return None if row is None else row[0]

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A connection to write on: the caller's open transaction, or a new short one."""
        if self._conn is not None:
            yield self._conn
            return
        assert self._catalog is not None
        with self._catalog.transaction() as conn:
            yield conn


class Store:
    """The base of one table family's store: the SQL, behind intention-named methods."""

    def __init__(self, source: Catalog | sqlite3.Connection | Handle) -> None:
        self.db = Handle(source)
