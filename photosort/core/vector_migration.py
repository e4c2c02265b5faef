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
from photosort.core.store.vectors import VECTOR_TABLES, VectorBlobs

#: Rows read, converted and written back per step.
CHUNK = 4096


def rewrite_fp32(conn: sqlite3.Connection, table: str, chunk: int = CHUNK) -> int:
    """Rewrite ``table``'s float32 vectors as fp16, ``chunk`` rows at a time; the count."""
    done, last = 0, -1
    store = VectorBlobs(conn, table)
    while True:
        rows = store.float32_after(last, chunk)
        if not rows:
            return done
        if len({len(r[1]) for r in rows}) == 1:  # one model, one size: one conversion
            blobs = vector_codec.encode_many(vector_codec.decode_many([r[1] for r in rows]))
        else:
            blobs = [vector_codec.encode(vector_codec.decode(r[1])) for r in rows]
        store.replace(zip(blobs, (r[0] for r in rows), strict=True))
        done += len(rows)
        last = rows[-1][0]


def _to_fp16(conn: sqlite3.Connection) -> None:
    for table in VECTOR_TABLES:
        if VectorBlobs(conn, table).exists():
            rewrite_fp32(conn, table)
