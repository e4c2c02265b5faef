"""All SQL of the core lives in ``core/store`` (and the catalog, which owns connections,
transactions and migrations): a statement written anywhere else fails this test.

Every module that held SQL when the store was made has moved it there (the last,
``backup``, reads backup files through ``catalog.verify_backup``): no module is excused.
A new feature puts its SQL in a store module (docs/architecture.md, "Where SQL goes").
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from photosort.core import catalog

CORE = Path(catalog.__file__).parent

#: Where SQL belongs: the store, and the catalog (connections, transactions, migrations).
OWNERS = {"catalog", "store"}

#: A statement: its leading keywords in capitals, as every statement here is written.
_SQL = re.compile(
    r"\b(SELECT\s|INSERT\s+(OR\s+\w+\s+)?INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s"
    r"|CREATE\s+(TABLE|INDEX|UNIQUE|VIEW|TRIGGER|VIRTUAL)\s|ALTER\s+TABLE\s"
    r"|DROP\s+(TABLE|INDEX|VIEW|TRIGGER)\s|PRAGMA\s)"
)
_RUNS_SQL = {"execute", "executemany", "executescript"}


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are docstrings (prose may name a statement)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def sql_in(source: str) -> list[str]:
    """The SQL found in a module's code: statements in string literals (f-strings too)
    and calls of ``execute``/``executemany``/``executescript``; one line each."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if _SQL.search(node.value):
                found.append(f"line {node.lineno}: {node.value.strip()[:60]!r}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _RUNS_SQL
        ):
            found.append(f"line {node.lineno}: .{node.func.attr}(...)")
    return found


def _module(path: Path) -> str:
    return ".".join(path.relative_to(CORE).with_suffix("").parts)


def _offenders() -> dict[str, list[str]]:
    out = {}
    for path in sorted(CORE.rglob("*.py")):
        name = _module(path)
        if "_tests" in path.parts or name.split(".")[0] in OWNERS:
            continue
        found = sql_in(path.read_text("utf-8"))
        if found:
            out[name] = found
    return out


def test_no_sql_outside_the_store() -> None:
    strays = _offenders()
    assert not strays, (
        f"SQL outside core/store (put it behind a store method, see docs/architecture.md): {strays}"
    )


def test_the_check_sees_sql() -> None:
    assert sql_in('q = "SELECT id FROM photos"')
    assert sql_in("q = f'DELETE FROM photos WHERE id IN ({marks})'")
    assert sql_in("conn.execute(statement)")
    assert not sql_in('"""Select the photos: SELECT in prose."""\nx = "selected photos"')
