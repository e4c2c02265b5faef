"""The first write of the day on a large catalog: the daily backup inline (the baseline, what
made the first search at a million photos take 21 s) against photosort's backup in a
process of its own, which the user never waits for.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _fill(catalog, photos: int, dim: int = 512) -> None:
    """A catalog of ``photos`` rows with a vector each (~2 KB a photo, as ViT-B-32 gives)."""
    rng = np.random.default_rng(0)
    with catalog.transaction() as conn:
        root = conn.execute(
            "INSERT INTO roots (path, added_at) VALUES ('/photos', '2024-01-01')"
        ).lastrowid
        for start in range(0, photos, 5000):
            n = min(5000, photos - start)
            vecs = rng.standard_normal((n, dim), dtype=np.float32)
            conn.executemany(
                "INSERT INTO photos (id, root_id, path, folder, size, mtime_ns, status, "
                "added_at, updated_at) VALUES (?, ?, ?, '/photos', 1, 1, 'ok', 'x', 'x')",
                [(start + i + 1, root, f"/photos/{start + i:07d}.jpg") for i in range(n)],
            )
            conn.executemany(
                "INSERT INTO embeddings (photo_id, model, vector) VALUES (?, 'm', ?)",
                [(start + i + 1, vecs[i].tobytes()) for i in range(n)],
            )


def _first_write(folder: Path, background: bool) -> tuple[float, float]:
    """Seconds the user waits for the first write, and until the backup exists."""
    from photosort.core import backup
    from photosort.core.catalog import Catalog

    shutil.rmtree(folder / "backups", ignore_errors=True)
    backup.BACKGROUND_ABOVE_BYTES = 0 if background else 1 << 62
    catalog = Catalog(folder / "catalog.sqlite", backup_dir=folder / "backups")
    started = time.perf_counter()
    catalog.set_meta("touched", str(started))
    waited = time.perf_counter() - started
    while not backup.list_backups(folder / "backups"):
        time.sleep(0.05)
    done = time.perf_counter() - started
    catalog.close()
    return waited, done


def run(quick: bool = False) -> dict:
    from photosort.core import backup
    from photosort.core.catalog import Catalog

    photos = 20_000 if quick else 200_000
    saved = backup.BACKGROUND_ABOVE_BYTES
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        catalog = Catalog(folder / "catalog.sqlite")
        _fill(catalog, photos)
        catalog.close()
        size_mb = (folder / "catalog.sqlite").stat().st_size / 1e6
        try:
            inline_wait, inline_done = _first_write(folder, background=False)
            bg_wait, bg_done = _first_write(folder, background=True)
        finally:
            backup.BACKGROUND_ABOVE_BYTES = saved
    return {
        "photos": photos,
        "catalog_mb": round(size_mb, 1),
        "baseline_inline_first_write_s": round(inline_wait, 3),
        "background_first_write_s": round(bg_wait, 3),
        "background_backup_ready_s": round(bg_done, 2),
        "speedup": round(inline_wait / max(bg_wait, 1e-6), 1),
        "pass": bg_wait < 0.2 * inline_wait or bg_wait < 0.05,
    }


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
