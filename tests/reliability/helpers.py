"""Shared tools of the reliability tests: the real CLI in a subprocess, and the checks that
a library is whole after whatever was done to it."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import draw_photo

REPO = Path(__file__).resolve().parents[2]


def cli_env(library: Path, model: str) -> dict:
    return {
        **os.environ,
        "PHOTOSORT_LIBRARY": str(library),
        "PHOTOSORT_MODEL": model,
        "PHOTOSORT_DEVICE": "cpu",
        "HF_HUB_OFFLINE": "1",
    }


def run_cli(library: Path, model: str, *args: str, timeout: float = 300):
    """``python -m photosort ARGS`` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "photosort", *args],
        capture_output=True,
        text=True,
        env=cli_env(library, model),
        cwd=REPO,
        timeout=timeout,
    )


def spawn_cli(library: Path, model: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "photosort", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=cli_env(library, model),
        cwd=REPO,
    )


def make_photos(root: Path, count: int, seed: int = 0, folders: int = 5) -> list[Path]:
    return [
        draw_photo(root / f"d{i % folders}" / f"p{seed + i:04d}.jpg", seed=seed + i, size=(96, 72))
        for i in range(count)
    ]


def catalog_count(library: Path, sql: str) -> int:
    """One number from the catalog, read without disturbing the writer (0 if not there yet)."""
    path = library / "catalog.sqlite"
    if not path.exists():
        return 0
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            return int(conn.execute(sql).fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def kill_when(
    proc: subprocess.Popen, ready, delay_s: float, limit_s: float = 120, poll_s: float = 0.02
) -> bool:
    """SIGKILL ``proc`` ``delay_s`` after ``ready()`` turns true; False if it ended first.
    ``ready`` is polled every ``poll_s``: a short one for work that finishes in milliseconds."""
    deadline = time.monotonic() + limit_s
    while not ready():
        if proc.poll() is not None:
            return False
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise AssertionError("the scan never reached the kill point")
        time.sleep(poll_s)
    time.sleep(delay_s)
    if proc.poll() is not None:
        return False
    proc.kill()
    proc.wait()
    return True


def raw_checks(library: Path) -> None:
    """SQLite-level health, before any photosort code touches the files."""
    path = library / "catalog.sqlite"
    if not path.exists():
        return
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def check_library(lib, photo_root: Path | None = None, complete: bool = False) -> dict:
    """Invariants of an open Library; with ``complete``, every file under ``photo_root``
    is in the catalog exactly once and embedded (or failed with a reason)."""
    cat = lib.catalog
    model = lib.model_id
    paths = [r[0] for r in cat.query("SELECT path FROM photos")]
    assert len(paths) == len(set(paths))
    orphans = cat.scalar(
        "SELECT COUNT(*) FROM embeddings e LEFT JOIN photos p ON p.id = e.photo_id "
        "WHERE p.id IS NULL"
    )
    assert orphans == 0
    bad_ok = cat.scalar(
        "SELECT COUNT(*) FROM photos p LEFT JOIN embeddings e ON e.photo_id = p.id "
        "WHERE p.status = 'ok' AND e.photo_id IS NULL"
    )
    assert bad_ok == 0, "a photo marked ok has no vector"
    assert cat.scalar("SELECT COUNT(*) FROM photos WHERE status = 'failed' AND error IS NULL") == 0
    ids = [r[0] for r in cat.query("SELECT photo_id FROM embeddings WHERE model = ?", (model,))]
    index = lib.index
    assert index.count == len(ids), (index.count, len(ids))
    assert all(index.contains(i) for i in ids)
    if complete and photo_root is not None:
        on_disk = sorted(
            str(p) for p in photo_root.rglob("*") if p.is_file() and not p.name.startswith(".")
        )
        assert sorted(paths) == on_disk
        assert cat.scalar("SELECT COUNT(*) FROM photos WHERE status = 'pending'") == 0
        hashes = [
            r[0]
            for r in cat.query("SELECT content_hash FROM photos WHERE content_hash IS NOT NULL")
        ]
        assert len(hashes) == len(set(hashes)), "one photo's content is in the catalog twice"
    return {"photos": len(paths), "vectors": len(ids)}


def tree_digest(root: Path) -> dict[str, tuple[int, str]]:
    """Path -> (size, sha256) of every file under ``root`` (symlinks by their target)."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            if p.is_file():
                out[str(p)] = (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
    return out
