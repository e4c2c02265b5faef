"""The store's shared pieces: a query over more ids than SQLite takes in one statement."""

from __future__ import annotations

from pathlib import Path

from photosort.core.catalog import Catalog
from photosort.core.store.sql import IN_CHUNK, Handle


def test_rows_in_answers_for_every_id_past_the_parameter_limit(tmp_path: Path) -> None:
    """2,500 ids (three statements of at most 900) give every matching row once, with the
    parameters before the list in each statement."""
    catalog = Catalog(tmp_path / "catalog.sqlite")
    try:
        with catalog.transaction() as conn:
            conn.execute("INSERT INTO roots (id, path, added_at) VALUES (1, '/p', 'now')")
            conn.executemany(
                "INSERT INTO photos (id, root_id, path, folder, size, mtime_ns, status, "
                "added_at, updated_at) VALUES (?, 1, ?, '/p', ?, 1, 'ok', 'a', 'u')",
                [(i, f"/p/{i}.jpg", i % 2) for i in range(1, 2501)],
            )
        wanted = range(1, 2601)  # 100 ids match nothing
        assert len(wanted) > 2 * IN_CHUNK
        for handle in (Handle(catalog), None):
            if handle is None:
                with catalog.transaction() as conn:
                    rows = Handle(conn).rows_in(
                        "SELECT id FROM photos WHERE size = ? AND id IN ({marks})", wanted, [1]
                    )
            else:
                rows = handle.rows_in(
                    "SELECT id FROM photos WHERE size = ? AND id IN ({marks})", wanted, [1]
                )
            assert sorted(r[0] for r in rows) == list(range(1, 2501, 2))
    finally:
        catalog.close()
