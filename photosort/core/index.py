"""The FAISS vector index: a cache of the catalog's vectors, rebuilt whenever in doubt.

Ids in the index are catalog photo ids. The index file is written atomically and a
small JSON sidecar records which catalog ``vectors_version`` and model it mirrors;
any mismatch, a missing file or a corrupt one makes ``open_or_rebuild`` rebuild it
from SQLite.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

log = logging.getLogger(__name__)

INDEX_FILENAME = "vectors.faiss"
META_FILENAME = "vectors.json"


@dataclass(frozen=True)
class IndexMeta:
    model: str
    version: int
    count: int
    dim: int


class VectorIndex:
    """Exact inner-product search over normalised vectors, with stable photo ids."""

    def __init__(self, dim: int, index: faiss.Index | None = None):
        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.dirty = False
        # The GUI searches while a scan adds vectors: FAISS is not safe for that unguarded.
        self._lock = threading.RLock()

    @property
    def count(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace the vectors of ``ids``."""
        if len(ids) == 0:
            return
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        with self._lock:
            self.remove(ids)
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
            self.dirty = True

    def remove(self, ids: Iterable[int]) -> None:
        arr = np.ascontiguousarray(np.fromiter(ids, dtype=np.int64))
        with self._lock:
            if len(arr) and self.count:
                removed = self._index.remove_ids(faiss.IDSelectorBatch(arr))
                self.dirty = self.dirty or removed > 0

    def contains(self, photo_id: int) -> bool:
        try:
            self._index.reconstruct(int(photo_id))
        except RuntimeError:
            return False
        return True

    def search(
        self, query: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (ids, scores) for one query vector, optionally among ``allowed_ids``."""
        if self.count == 0 or k <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        params = None
        if allowed_ids is not None:
            if len(allowed_ids) == 0:
                return np.empty(0, np.int64), np.empty(0, np.float32)
            params = faiss.SearchParameters(
                sel=faiss.IDSelectorBatch(np.ascontiguousarray(allowed_ids, dtype=np.int64))
            )
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        with self._lock:
            scores, ids = self._index.search(q, min(k, self.count), params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    # -- persistence --------------------------------------------------------------
    def save(self, folder: Path, meta: IndexMeta) -> None:
        """Write index then sidecar, each via temp file + rename, so a crash leaves old or new."""
        folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            _atomic_write(folder / INDEX_FILENAME, lambda p: faiss.write_index(self._index, p))
        _atomic_write(
            folder / META_FILENAME,
            lambda p: Path(p).write_text(json.dumps(meta.__dict__)),
        )
        self.dirty = False

    @classmethod
    def load(cls, folder: Path) -> tuple[VectorIndex, IndexMeta]:
        meta = IndexMeta(**json.loads((folder / META_FILENAME).read_text()))
        index = faiss.read_index(str(folder / INDEX_FILENAME))
        if index.d != meta.dim or index.ntotal != meta.count:
            raise ValueError("index file does not match its sidecar")
        return cls(meta.dim, index), meta


def open_or_rebuild(folder: Path, catalog, model: str, dim: int) -> VectorIndex:
    """The index for ``model``, loaded if it mirrors the catalog exactly, else rebuilt."""
    version = catalog.vectors_version()
    expected = catalog.count_vectors(model)
    try:
        index, meta = VectorIndex.load(folder)
        if (meta.model, meta.version, meta.count, meta.dim) == (model, version, expected, dim):
            return index
        log.info("vector index is stale; rebuilding from the catalog")
    except FileNotFoundError:
        log.info("no vector index yet; building it from the catalog")
    except Exception as exc:  # corrupt or truncated file
        log.warning("vector index unreadable (%s); rebuilding from the catalog", exc)
    return rebuild(folder, catalog, model, dim)


def rebuild(folder: Path, catalog, model: str, dim: int) -> VectorIndex:
    index = VectorIndex(dim)
    for ids, vectors in catalog.vectors(model):
        if vectors.shape[1] != dim:
            continue
        index._index.add_with_ids(vectors, ids)
    index.save(folder, IndexMeta(model, catalog.vectors_version(), index.count, dim))
    return index


def _atomic_write(target: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
