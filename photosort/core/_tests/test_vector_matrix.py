"""The in-memory vector matrix: loaded once per vectors version, never a model load for a
library without vectors, and the rows of the photos asked for."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from photosort.core._tests.library_state import DIM, MODEL_ID, scanned
from photosort.core.vector_matrix import VectorMatrix


def _no_model() -> int:
    raise AssertionError("the model was asked for")


def test_loaded_once_per_vectors_version_and_rows_of_the_photos_asked(
    make_library, tmp_path: Path
) -> None:
    lib = make_library()
    scanned(lib, tmp_path / "photos", 4)
    matrix = VectorMatrix(lib.catalog, lambda: MODEL_ID, _no_model)
    key = matrix.key()
    assert matrix.held(key) is None  # nothing read yet

    version, ids, first = matrix.versioned()
    assert first.shape == (4, DIM) and sorted(ids.tolist()) == [1, 2, 3, 4]
    assert matrix.versioned()[2] is first  # the same array: not read again
    assert matrix.held(key) is not None

    (row,) = matrix.rows_of([int(ids[2])])
    assert np.allclose(row, lib.catalog.vector_of(int(ids[2]), MODEL_ID))

    with lib.catalog.transaction() as conn:  # another writer changed the vectors
        lib.catalog.bump_vectors_version(conn)
    assert matrix.versioned()[0] != version
    assert matrix.versioned()[2] is not first
    matrix.clear()
    assert matrix.held(matrix.key()) is None


def test_a_library_without_vectors_gives_nothing_without_loading_a_model(make_library) -> None:
    lib = make_library()
    matrix = VectorMatrix(lib.catalog, lambda: MODEL_ID, _no_model)
    ids, rows = matrix.stored()
    assert len(ids) == 0 and rows.shape[0] == 0
    assert not lib.model_loaded
