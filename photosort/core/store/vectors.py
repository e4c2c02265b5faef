"""The SQL of vectors: photo embeddings (``embeddings``) and the prompt cache (``text_vectors``).

Photo vectors are stored in the format ``core/vector_codec.py`` writes; prompt vectors as
float32 bytes. (The catalog's own vector reads, ``Catalog.vectors`` and friends, predate
this module and still live there.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from photosort.core import vector_codec
from photosort.core.catalog import Catalog
from photosort.core.lazy_import import np
from photosort.core.store.sql import IN_CHUNK, Handle, Store, in_chunks

#: The tables that hold photo vectors (the staging one exists from migration 0015 on).
VECTOR_TABLES = ("embeddings", "staged_vectors")


class VectorStore(Store):
    """Photo vectors: reads by id, samples, and the checks ``doctor`` runs."""

    def any_vector(self) -> bool:
        """True once some photo has a vector (of any model)."""
        return bool(self.db.scalar("SELECT EXISTS (SELECT 1 FROM embeddings)"))

    def count_by_model(self) -> dict[str, int]:
        """Stored vectors per model id."""
        return {
            r[0]: r[1]
            for r in self.db.rows("SELECT model, COUNT(*) FROM embeddings GROUP BY model")
        }

    def put(self, photo_id: int, model: str, vector: np.ndarray) -> None:
        """Store a photo's vector (unless the photo was deleted meanwhile)."""
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO embeddings (photo_id, model, vector) "
                "SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)",
                (photo_id, model, vector_codec.encode(vector), photo_id),
            )

    def put_blobs(self, model: str, blobs: Iterable[tuple[int, bytes]]) -> None:
        """Store (photo id, encoded vector) pairs as they are (the photos exist)."""
        with self.db.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO embeddings (photo_id, model, vector) VALUES (?, ?, ?)",
                [(pid, model, blob) for pid, blob in blobs],
            )

    def drop(self, photo_ids: Iterable[int]) -> None:
        """Delete these photos' vectors."""
        with self.db.write() as conn:
            conn.executemany("DELETE FROM embeddings WHERE photo_id = ?", [(i,) for i in photo_ids])

    def vectors_for(
        self, model: str, photo_ids: Iterable[int]
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The stored vectors of these photos (those that have one), as (ids, matrix) pieces."""
        ids = np.unique(np.fromiter(photo_ids, np.int64))  # no set of 100k Python ints
        for start in range(0, len(ids), IN_CHUNK):
            chunk = ids[start : start + IN_CHUNK].tolist()
            marks = ",".join("?" * len(chunk))
            rows = self.db.rows(
                "SELECT photo_id, vector FROM embeddings WHERE model = ? "
                f"AND photo_id IN ({marks}) ORDER BY photo_id",
                [model, *chunk],
            )
            if rows:
                ids, matrix = vector_codec.decode_rows([r[0] for r in rows], [r[1] for r in rows])
                if len(ids):
                    yield ids, matrix

    def by_id(self, model: str, photo_ids: Sequence[int]) -> dict[int, np.ndarray]:
        """Photo id -> its stored vector, for those of ``photo_ids`` that have one."""
        out: dict[int, np.ndarray] = {}
        for marks, chunk in in_chunks(photo_ids):
            rows = self.db.rows(
                "SELECT photo_id, vector FROM embeddings WHERE model = ? AND photo_id IN "
                f"({marks})",
                [model, *chunk],
            )
            out.update({r[0]: vector_codec.decode(r[1]) for r in rows})
        return out

    # -- doctor ----------------------------------------------------------------------------
    def count_orphans(self) -> int:
        """Vectors whose photo is gone."""
        return int(
            self.db.scalar(
                "SELECT COUNT(*) FROM embeddings WHERE photo_id NOT IN (SELECT id FROM photos)"
            )
        )

    def delete_orphans(self) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM embeddings WHERE photo_id NOT IN (SELECT id FROM photos)")

    def count_damaged(self, model: str, lengths: Sequence[int]) -> int:
        """Vectors of ``model`` whose blob has none of the sound ``lengths``."""
        marks = ",".join("?" * len(lengths))
        return int(
            self.db.scalar(
                "SELECT COUNT(*) FROM embeddings WHERE model = ? "
                f"AND length(vector) NOT IN ({marks})",
                (model, *lengths),
            )
        )

    def drop_damaged(self, model: str, lengths: Sequence[int]) -> None:
        """Delete the damaged vectors and put their photos back to pending (to embed again)."""
        marks = ",".join("?" * len(lengths))
        bad = f"FROM embeddings WHERE model = ? AND length(vector) NOT IN ({marks})"
        with self.db.write() as conn:
            conn.execute(
                f"UPDATE photos SET status = 'pending' WHERE id IN (SELECT photo_id {bad})",
                (model, *lengths),
            )
            conn.execute(f"DELETE {bad}", (model, *lengths))


class VectorBlobs(Store):
    """The raw vector blobs of one table that holds photo vectors (``embeddings`` or
    ``staged_vectors``), for rewriting them in another format."""

    def __init__(self, source: Catalog | sqlite3.Connection | Handle, table: str) -> None:
        super().__init__(source)
        if table not in VECTOR_TABLES:
            raise ValueError(f"not a vector table: {table}")
        self.table = table

    def exists(self) -> bool:
        return bool(
            self.db.scalar(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.table,)
            )
        )

    def float32_after(self, last: int, n: int) -> list[Any]:
        """Up to ``n`` (photo id, blob) rows past ``last`` whose blob is float32 (an even
        length: fp16 blobs carry one odd marker byte, see core/vector_codec.py)."""
        return self.db.rows(
            f"SELECT photo_id, vector FROM {self.table} WHERE photo_id > ? "
            "AND length(vector) % 2 = 0 ORDER BY photo_id LIMIT ?",
            (last, n),
        )

    def replace(self, blobs: Iterable[tuple[bytes, int]]) -> None:
        """(new blob, photo id) pairs."""
        with self.db.write() as conn:
            conn.executemany(f"UPDATE {self.table} SET vector = ? WHERE photo_id = ?", blobs)


class TextVectorStore(Store):
    """Prompt embeddings cached per model, so a prompt is encoded once."""

    def cached(self, model: str, prompts: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors of these prompts (those that have one)."""
        out: dict[str, np.ndarray] = {}
        for marks, chunk in in_chunks(prompts):
            rows = self.db.rows(
                f"SELECT prompt, vector FROM text_vectors WHERE model = ? AND prompt IN ({marks})",
                [model, *chunk],
            )
            out.update({r[0]: np.frombuffer(r[1], dtype=np.float32) for r in rows})
        return out

    def remember(self, model: str, vectors: Iterable[tuple[str, np.ndarray]]) -> None:
        with self.db.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO text_vectors (model, prompt, vector) VALUES (?, ?, ?)",
                [(model, p, v.tobytes()) for p, v in vectors],
            )
