"""A library in the state a scan leaves it, made without the model (seconds cheaper per
test): the files walked, each photo's vector stored, the library's model recorded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from conftest import draw_photo
from photosort.core.imaging import PhotoMeta
from photosort.core.library import Library
from photosort.core.pipeline import EmbedJob, Prepared, _store_batch
from photosort.core.reconcile import reconcile
from photosort.core.scanner import hash_file

MODEL_ID = "local:tiny_clip:recorded"
DIM = 16


def photos(root: Path, *names: str) -> Path:
    """Small real photos under ``root``, one per name (subfolders allowed)."""
    for i, name in enumerate(names):
        draw_photo(root / name, seed=i, size=(32, 24))
    return root


def walk(lib: Library, folder: Path) -> int:
    """Add ``folder`` and record its files as a scan's walk does (no embedding)."""
    root_id, path = lib.add_root(folder)
    reconcile(lib.catalog, [(root_id, path)])
    return root_id


def as_scanned(lib: Library) -> None:
    """Every photo embedded, as an earlier scan with the library's model left them: its
    model recorded, vectors stored (distinct unit vectors), capture times read."""
    with lib.catalog.transaction() as conn:
        lib.catalog.set_meta("model", str(lib.model_spec), conn)
        lib.catalog.set_meta("model_id", MODEL_ID, conn)
        lib.catalog.set_meta("model_dim", str(DIM), conn)
    rows = lib.catalog.query("SELECT id, path, size, mtime_ns FROM photos")
    prepared = [
        Prepared(
            EmbedJob(r["id"], r["path"]),
            meta=PhotoMeta(32, 24),
            content_hash=hash_file(r["path"]),
            size=r["size"],
            mtime_ns=r["mtime_ns"],
        )
        for r in rows
    ]
    vectors = np.random.default_rng(0).normal(size=(len(rows), DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    _store_batch(lib.catalog, MODEL_ID, prepared, vectors, [])
    lib.update_sun()  # the capture times a scan reads after embedding


def scanned(lib: Library, folder: Path, count: int) -> Path:
    """``count`` photos under ``folder`` (two subfolders), in ``lib`` as a scan leaves them."""
    photos(folder, *(f"{('family', 'trips')[i % 2]}/img_{i:02d}.jpg" for i in range(count)))
    walk(lib, folder)
    as_scanned(lib)
    return folder
