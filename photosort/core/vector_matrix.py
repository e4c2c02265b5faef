"""All stored vectors of a library's model as one matrix in memory, loaded once per
``vectors_version`` and model: discover, teaching, duplicates and "more like these" all
read it, and tagging reads it when it is already held (no second copy).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from photosort.core.catalog import Catalog
from photosort.core.lazy_import import np
from photosort.core.store import VectorStore


class VectorMatrix:
    """(ids, N x D matrix) of the library's model, reloaded only when the catalog's
    vectors_version or the model changes. ``model_id`` and ``vector_dim`` are callbacks:
    they may load the model, and are asked only when the matrix is wanted."""

    def __init__(
        self, catalog: Catalog, model_id: Callable[[], str], vector_dim: Callable[[], int]
    ):
        self.catalog = catalog
        self._model_id = model_id
        self._vector_dim = vector_dim
        self._cached: tuple[tuple[str, int], np.ndarray, np.ndarray] | None = None

    def clear(self) -> None:
        self._cached = None

    def key(self) -> tuple[str, int]:
        """(model id, vectors_version): what the matrix must match to be current."""
        return self._model_id(), self.catalog.vectors_version()

    def held(self, key: tuple[str, int]) -> tuple[np.ndarray, np.ndarray] | None:
        """The matrix when it is in memory and current for ``key``, else None (no load)."""
        cached = self._cached
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        return None

    def versioned(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(vectors_version, ids, matrix), loaded when not held."""
        key = self.key()
        held = self.held(key)
        if held is not None:
            return key[1], held[0], held[1]
        ids_parts, mat_parts = [], []
        for ids, mat in self.catalog.vectors(key[0]):
            ids_parts.append(ids)
            mat_parts.append(mat)
        if ids_parts:
            ids = np.concatenate(ids_parts)
            matrix = np.ascontiguousarray(np.concatenate(mat_parts), dtype=np.float32)
        else:
            ids = np.empty(0, np.int64)
            matrix = np.empty((0, self._vector_dim()), np.float32)
        self._cached = (key, ids, matrix)
        return key[1], ids, matrix

    def rows_of(self, photo_ids: Sequence[int]) -> np.ndarray:
        """The vectors of these photos (those that have one), in the matrix's order."""
        _, ids, matrix = self.versioned()
        return matrix[np.isin(ids, np.asarray(photo_ids, np.int64))]

    def stored(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, matrix), or nothing when no photo has a vector yet (never loads a model)."""
        if not VectorStore(self.catalog).any_vector():
            return np.empty(0, np.int64), np.empty((0, 1), np.float32)
        _, ids, matrix = self.versioned()
        return ids, matrix
