"""kill -9 the real CLI mid-work, again and again: the library must always reopen whole.

After every kill: ``PRAGMA integrity_check`` is ok, the FAISS index agrees with SQLite
(or rebuilds itself), no photo is in the catalog twice and no manual tag is lost. At
the end, a rescan completes the library with every photo exactly once. Kill points are
real timed kills (no hooks in the code), triggered by what the catalog shows: soon after
start (imports, migrations), after the walk's commit, after k committed embeddings plus
a random delay (inside later batches, index saves, auto-tagging), and after the last one.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from tests.reliability.helpers import (
    catalog_count,
    check_library,
    kill_when,
    make_photos,
    raw_checks,
    run_cli,
    spawn_cli,
)

EMBEDDED = "SELECT COUNT(*) FROM embeddings"
PHOTOS = "SELECT COUNT(*) FROM photos"


def _kill_plan(points: int, rng: random.Random) -> list[tuple[str, float, float]]:
    """(trigger, amount, delay): spread over startup, walking, embedding and the end."""
    plan: list[tuple[str, float, float]] = [("start", 0.8, 0.0), ("walked", 0, 0.0)]
    middle = points - 3
    for i in range(middle):
        plan.append(("embedded", 1 + (i % 4), rng.uniform(0.0, 0.3)))
    plan.append(("all", 0, rng.uniform(0.0, 0.05)))
    return plan[:points] if points >= 3 else plan[:points]


def _mutate(root: Path, step: int, protected: set[str]) -> None:
    """Give the next run work: 6 new photos to walk and embed, one rename (a move)."""
    make_photos(root / "added", 6, seed=10_000 + 6 * step, folders=1)
    candidates = sorted(p for p in root.rglob("*.jpg") if str(p) not in protected)
    victim = candidates[step * 7 % len(candidates)]
    victim.rename(victim.with_name(f"renamed-{step}-{victim.name}"))


def _tagged(lib) -> set[int]:
    return set(lib.photos_with_tag("keep-me"))


def _kill_scans(make_library, tiny_model, tmp_path, points: int, photos: int) -> dict:
    root = tmp_path / "photos"
    make_photos(root, photos)
    library = tmp_path / "library"
    rng = random.Random(7)
    plan = _kill_plan(points, rng)
    tagged_ids: set[int] = set()
    tagged_paths: set[str] = set()
    landed = []
    started = time.monotonic()
    for step, (trigger, amount, delay) in enumerate(plan):
        if step >= 2:
            _mutate(root, step, tagged_paths)
        total = sum(1 for _ in root.rglob("*.jpg"))
        before = catalog_count(library, EMBEDDED)
        ready = {
            "start": lambda: True,
            "walked": lambda total=total: catalog_count(library, PHOTOS) >= total,
            "embedded": lambda b=before, k=amount: catalog_count(library, EMBEDDED) >= b + k,
            "all": lambda total=total: catalog_count(library, EMBEDDED) >= total,
        }[trigger]
        proc = spawn_cli(library, tiny_model, "scan", str(root), "--batch-size", "4")
        killed = kill_when(proc, ready, amount if trigger == "start" else delay)
        if not killed:
            assert proc.returncode == 0, proc.stderr.read().decode()
        landed.append((trigger, amount, round(delay, 2), killed))
        if proc.stderr:
            proc.stderr.close()

        raw_checks(library)
        if not (library / "catalog.sqlite").exists():
            continue
        lib = make_library(library)
        check_library(lib)
        assert _tagged(lib) == tagged_ids, "a manual tag was lost"
        if not tagged_ids:  # tag a few photos by hand as soon as some are embedded
            ok = [
                r[0]
                for r in lib.catalog.query(
                    "SELECT id FROM photos WHERE status = 'ok' ORDER BY id LIMIT 5"
                )
            ]
            if ok:
                lib.tag_photos(ok, add=["keep-me"])
                tagged_ids = set(ok)
                tagged_paths = {r["path"] for r in lib.photo_details(ok).values()}
        lib.close()

    final = run_cli(library, tiny_model, "scan", str(root), "--batch-size", "8")
    assert final.returncode == 0, final.stderr
    lib = make_library(library)
    counts = check_library(lib, root, complete=True)
    assert counts["vectors"] == sum(1 for _ in root.rglob("*.jpg"))
    assert tagged_ids and _tagged(lib) == tagged_ids
    kills = sum(k for *_, k in landed)
    print(f"\n{kills}/{len(landed)} kills landed in {time.monotonic() - started:.0f}s: {landed}")
    assert kills >= len(landed) * 3 // 4, landed
    return counts


def test_kill_scan_at_4_points(make_library, tiny_model, tmp_path):
    _kill_scans(make_library, tiny_model, tmp_path, points=4, photos=40)


@pytest.mark.slow
def test_kill_scan_at_20_points(make_library, tiny_model, tmp_path):
    _kill_scans(make_library, tiny_model, tmp_path, points=20, photos=100)
