"""Vectors are stored in fp16 (half the catalog), and float32 ones of older catalogs stay
readable and are migrated, after a backup, without changing what they say."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from photosort.core import catalog, vector_codec
from photosort.core.vector_migration import rewrite_fp32


def _unit(n: int, dim: int = 512, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mat = rng.standard_normal((n, dim)).astype(np.float32)
    return mat / np.linalg.norm(mat, axis=1, keepdims=True)


def test_fp16_blob_is_half_the_size_and_keeps_the_direction() -> None:
    vectors = _unit(1000)
    blobs = vector_codec.encode_many(vectors)
    assert all(len(b) == vector_codec.blob_length(512) == 1025 for b in blobs)
    assert blobs[3] == vector_codec.encode(vectors[3])
    back = vector_codec.decode_many(blobs)
    assert back.dtype == np.float32 and back.shape == vectors.shape
    cosine = (back * vectors).sum(axis=1) / np.linalg.norm(back, axis=1)
    assert cosine.min() >= 0.9999


def test_legacy_float32_blobs_decode_exactly_alone_and_mixed() -> None:
    vectors = _unit(4, dim=8)
    legacy = [v.tobytes() for v in vectors]
    assert not vector_codec.is_fp16(legacy[0])
    np.testing.assert_array_equal(vector_codec.decode(legacy[1]), vectors[1])
    np.testing.assert_array_equal(vector_codec.decode_many(legacy), vectors)
    mixed = [legacy[0], vector_codec.encode(vectors[1]), legacy[2]]  # mid-migration
    got = vector_codec.decode_many(mixed)
    np.testing.assert_array_equal(got[[0, 2]], vectors[[0, 2]])
    np.testing.assert_allclose(got[1], vectors[1], atol=1e-3)
    assert vector_codec.decode(legacy[0]).flags.writeable


def test_a_float32_catalog_migrates_to_fp16_after_a_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "catalog.sqlite"
    vectors = _unit(50, dim=16, seed=3)
    with monkeypatch.context() as patch:  # a catalog as photosort left it before fp16
        patch.setattr(
            catalog, "MIGRATIONS", [m for m in catalog.MIGRATIONS if m.name < "0016_fp16_vectors"]
        )
        old = catalog.Catalog(path)
        with old.transaction() as conn:
            conn.execute("INSERT INTO roots (id, path, added_at) VALUES (1, '/p', 'then')")
            for i, vec in enumerate(vectors, start=1):
                conn.execute(
                    "INSERT INTO photos (id, root_id, path, folder, size, mtime_ns, status, "
                    "added_at, updated_at) VALUES (?, 1, ?, '/p', 10, 1, 'ok', 'a', 'u')",
                    (i, f"/p/{i}.jpg"),
                )
                conn.execute("INSERT INTO embeddings VALUES (?, 'm', ?)", (i, vec.tobytes()))
        old.close()

    upgraded = catalog.Catalog(path, backup_dir=tmp_path / "backups")
    assert "0016_fp16_vectors" in upgraded.applied_migrations()
    lengths = {r[0] for r in upgraded.query("SELECT DISTINCT length(vector) FROM embeddings")}
    assert lengths == {vector_codec.blob_length(16)}
    ids, got = next(upgraded.vectors("m"))
    assert ids.tolist() == list(range(1, 51))
    assert ((got * vectors).sum(axis=1) / np.linalg.norm(got, axis=1)).min() >= 0.9999
    seventh = upgraded.vector_of(7, "m")
    assert seventh is not None
    np.testing.assert_allclose(seventh, vectors[6], atol=1e-3)
    upgraded.close()
    backups = list((tmp_path / "backups").glob("catalog-*-before-0016*.sqlite"))
    assert len(backups) == 1  # the float32 catalog, kept as it was
    conn = sqlite3.connect(backups[0])
    assert {r[0] for r in conn.execute("SELECT length(vector) FROM embeddings")} == {64}
    conn.close()


def test_rewrite_walks_in_chunks_and_skips_rows_already_fp16() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE embeddings (photo_id INTEGER PRIMARY KEY, model TEXT, vector BLOB)")
    vectors = _unit(10, dim=4, seed=5)
    conn.executemany(
        "INSERT INTO embeddings VALUES (?, 'm', ?)",
        [(i, v.tobytes() if i % 3 else vector_codec.encode(v)) for i, v in enumerate(vectors)],
    )
    assert rewrite_fp32(conn, "embeddings", chunk=3) == 6  # ids 0, 3, 6, 9 were fp16
    rows = conn.execute("SELECT vector FROM embeddings ORDER BY photo_id").fetchall()
    assert all(vector_codec.is_fp16(r[0]) for r in rows)
    np.testing.assert_allclose(vector_codec.decode_many([r[0] for r in rows]), vectors, atol=1e-3)


def test_a_new_catalog_has_16k_pages(tmp_path: Path) -> None:
    cat = catalog.Catalog(tmp_path / "catalog.sqlite")
    assert cat.scalar("PRAGMA page_size") == catalog.PAGE_SIZE == 16384
    cat.close()


def test_a_damaged_blob_costs_its_own_row_not_the_batch(caplog: pytest.LogCaptureFixture) -> None:
    vectors = _unit(5, dim=8)
    blobs = vector_codec.encode_many(vectors)
    blobs[1] = blobs[1][:9]  # truncated: 4 dims where every other row has 8
    blobs[3] = b"\x00\x01"  # neither format can be 2 bytes long
    ids, matrix = vector_codec.decode_rows([10, 11, 12, 13, 14], blobs)
    assert ids.tolist() == [10, 12, 14]
    np.testing.assert_allclose(matrix, vectors[[0, 2, 4]], atol=1e-3)
    assert "2 stored vectors are damaged" in caplog.text and "doctor --fix" in caplog.text
