"""The end of a background re-index: the one transaction that swaps the staged vectors in,
and the vector index rebuilt for the new model (the only part under the write lock).

Baselines, in the same run: copying the staged vectors into ``embeddings`` (the obvious
swap, and this module's first one) on an identical catalog, and rebuilding the index
alone from the same vectors (what any open after a model change costs). Meanwhile another
connection keeps reading the vectors, as a search would: its longest read during the swap
shows whether search ever waits.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

DIM = 512


def _fill(catalog, photos: int) -> None:
    """``photos`` indexed photos with an old-model vector each, and a staged new one."""
    from photosort.core import reindex

    rng = np.random.default_rng(0)
    with catalog.transaction() as conn:
        root = conn.execute(
            "INSERT INTO roots (path, added_at) VALUES ('/photos', '2024-01-01')"
        ).lastrowid
        for start in range(0, photos, 5000):
            n = min(5000, photos - start)
            old = rng.standard_normal((n, DIM), dtype=np.float32)
            new = rng.standard_normal((n, DIM), dtype=np.float32)
            ids = range(start + 1, start + n + 1)
            conn.executemany(
                "INSERT INTO photos (id, root_id, path, folder, size, mtime_ns, status, "
                "content_hash, added_at, updated_at) "
                "VALUES (?, ?, ?, '/photos', 1, 1, 'ok', ?, 'x', 'x')",
                [(i, root, f"/photos/{i:07d}.jpg", f"h{i}") for i in ids],
            )
            conn.executemany(
                "INSERT INTO embeddings (photo_id, model, vector) VALUES (?, 'old', ?)",
                [(i, old[k].tobytes()) for k, i in enumerate(ids)],
            )
            conn.executemany(
                "INSERT INTO staged_vectors (photo_id, model, vector) VALUES (?, 'new', ?)",
                [(i, new[k].tobytes()) for k, i in enumerate(ids)],
            )
            conn.executemany(
                "INSERT INTO staged_hashes (photo_id, content_hash) VALUES (?, ?)",
                [(i, f"h{i}") for i in ids],
            )
    reindex.begin(catalog, reindex.Target("local-dir:/new", "new", DIM))


def _reads(path: Path, stop: threading.Event, out: list[float]) -> None:
    """A reader on its own connection, as a search in the app is: one batch of vectors."""
    import sqlite3

    conn = sqlite3.connect(str(path))
    while not stop.is_set():
        started = time.perf_counter()
        conn.execute(
            "SELECT photo_id, vector FROM embeddings WHERE photo_id > ? ORDER BY photo_id "
            "LIMIT 512",
            (int(started * 1000) % 1000,),
        ).fetchall()
        out.append(time.perf_counter() - started)
        time.sleep(0.002)
    conn.close()


def _copy_swap(folder: Path, photos: int) -> float:
    """The baseline swap: the staged vectors copied row by row into ``embeddings``."""
    from photosort.core.catalog import Catalog

    catalog = Catalog(folder / "catalog.sqlite")
    _fill(catalog, photos)
    started = time.perf_counter()
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM embeddings")
        conn.execute(
            "INSERT INTO embeddings (photo_id, model, vector) "
            "SELECT s.photo_id, s.model, s.vector FROM staged_vectors s"
        )
        conn.execute("DELETE FROM staged_vectors")
    seconds = time.perf_counter() - started
    catalog.close()
    return seconds


def run(quick: bool = False) -> dict:
    from photosort.core import index as vector_index
    from photosort.core import reindex
    from photosort.core.catalog import Catalog

    photos = 20_000 if quick else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        copy_s = _copy_swap(Path(tmp), photos)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        catalog = Catalog(folder / "catalog.sqlite")
        _fill(catalog, photos)
        started = time.perf_counter()
        vector_index.rebuild(folder / "baseline", catalog, "old", DIM)
        baseline = time.perf_counter() - started

        idle: list[float] = []
        stop = threading.Event()
        reader = threading.Thread(target=_reads, args=(folder / "catalog.sqlite", stop, idle))
        reader.start()
        time.sleep(0.5)
        stop.set()
        reader.join()

        during: list[float] = []
        stop = threading.Event()
        reader = threading.Thread(target=_reads, args=(folder / "catalog.sqlite", stop, during))
        reader.start()
        time.sleep(0.1)
        started = time.perf_counter()
        swapped = reindex.swap(catalog, reindex.Target("local-dir:/new", "new", DIM))
        swap_s = time.perf_counter() - started
        vector_index.rebuild(folder, catalog, "new", DIM)
        total = time.perf_counter() - started
        stop.set()
        reader.join()
        assert swapped == photos and catalog.count_vectors("new") == photos
        catalog.close()
    return {
        "photos": photos,
        "swap_s": round(swap_s, 3),
        "baseline_copy_swap_s": round(copy_s, 3),
        "swap_and_index_rebuild_s": round(total, 3),
        "baseline_index_rebuild_alone_s": round(baseline, 3),
        "reader_p50_idle_ms": round(float(np.median(idle)) * 1000, 2),
        "reader_max_during_swap_ms": round(max(during) * 1000, 2),
        "pass": swap_s < copy_s / 3,
    }


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
