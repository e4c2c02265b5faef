"""Migration 0016: the float32 vectors of an existing catalog rewritten as fp16.

Half the bytes per vector (see core/vector_codec.py), so a 1M-photo catalog shrinks
from ~4.1 to ~1.5 KB per photo once SQLite reuses the freed pages. The catalog takes
its usual backup before the migration runs (``Catalog._migrate``); rows are rewritten
a few thousand at a time, so memory stays flat whatever the library's size. A vector
the migration has not reached yet is still readable: both formats decode.
"""

from __future__ import annotations

import sqlite3

from photosort.core import vector_codec
from photosort.core.catalog import Migration, register_migration

#: Rows read, converted and written back per step.
CHUNK = 4096

#: The tables that hold photo vectors (the staging one exists from migration 0015 on).
VECTOR_TABLES = ("embeddings", "staged_vectors")


def rewrite_fp32(conn: sqlite3.Connection, table: str, chunk: int = CHUNK) -> int:
    """Rewrite ``table``'s float32 vectors as fp16, ``chunk`` rows at a time; the count."""
    done, last = 0, -1
    while True:
        rows = conn.execute(
            f"SELECT photo_id, vector FROM {table} WHERE photo_id > ? AND length(vector) % 2 = 0 "
            "ORDER BY photo_id LIMIT ?",
            (last, chunk),
        ).fetchall()
        if not rows:
            return done
        if len({len(r[1]) for r in rows}) == 1:  # one model, one size: one conversion
            blobs = vector_codec.encode_many(vector_codec.decode_many([r[1] for r in rows]))
        else:
            blobs = [vector_codec.encode(vector_codec.decode(r[1])) for r in rows]
        conn.executemany(
            f"UPDATE {table} SET vector = ? WHERE photo_id = ?",
            zip(blobs, (r[0] for r in rows), strict=True),
        )
        done += len(rows)
        last = rows[-1][0]


def _to_fp16(conn: sqlite3.Connection) -> None:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table in VECTOR_TABLES:
        if table in tables:
            rewrite_fp32(conn, table)


register_migration(Migration("0016_fp16_vectors", _to_fp16))
