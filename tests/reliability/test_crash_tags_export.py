"""kill -9 during re-tagging and during ``export --mode move``: no manual tag lost, no photo
lost, and the next run finishes the job."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from photosort.core.categories import Category, Label
from tests.reliability.helpers import (
    check_library,
    kill_when,
    make_photos,
    raw_checks,
    run_cli,
    spawn_cli,
)


def _tagged_library(make_library, tmp_path, photos: int, to_move: int | None = None):
    root = tmp_path / "photos"
    make_photos(root, photos)
    lib = make_library()
    lib.scan([root])
    lib.save_category(Category("scene", labels=[Label("red"), Label("blue"), Label("sky")]))
    ids = [r[0] for r in lib.catalog.query("SELECT id FROM photos ORDER BY id")]
    lib.tag_photos(ids[:3], add=["mine"], remove=["red"])
    lib.tag_photos(ids[3 : 3 + (to_move or photos // 2 - 3)], add=["move-me"])
    manual = {
        pid: sorted((t.name, t.source) for t in tags if t.source == "manual")
        for pid, tags in lib.photo_tags(ids).items()
    }
    lib.close()
    return root, lib.folder, manual


def _manual(lib) -> dict:
    ids = [r[0] for r in lib.catalog.query("SELECT id FROM photos ORDER BY id")]
    return {
        pid: sorted((t.name, t.source) for t in tags if t.source == "manual")
        for pid, tags in lib.photo_tags(ids).items()
    }


def _kill_after(proc, delay: float) -> bool:
    try:
        proc.wait(timeout=delay)
        return False
    except Exception:  # still running: kill it there
        proc.kill()
        proc.wait()
        return True
    finally:
        if proc.stderr:
            proc.stderr.close()


def _delays(points: int) -> list[float]:
    rng = random.Random(3)
    return sorted(rng.uniform(1.0, 9.0) for _ in range(points))


@pytest.mark.parametrize("points", [2, pytest.param(10, marks=pytest.mark.slow)])
def test_kill_during_retagging(make_library, tiny_model, tmp_path, points):
    _, folder, manual = _tagged_library(make_library, tmp_path, 24)
    for delay in _delays(points):
        _kill_after(spawn_cli(folder, tiny_model, "autotag"), delay)
        raw_checks(folder)
        lib = make_library(folder)
        check_library(lib)
        assert _manual(lib) == manual, "a manual tag was lost"
        lib.close()
    done = run_cli(folder, tiny_model, "autotag")
    assert done.returncode == 0, done.stderr
    assert _manual(make_library(folder)) == manual


def _landed(folder: Path) -> int:
    """Photos in ``folder`` now: cheap enough to poll every millisecond."""
    return sum(1 for p in folder.rglob("*.jpg")) if folder.exists() else 0


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and p.suffix == ".jpg"
    }


@pytest.mark.parametrize("points", [2, pytest.param(10, marks=pytest.mark.slow)])
def test_kill_during_export_move(make_library, tiny_model, tmp_path, points):
    # A same-disk move is a link, about 1 ms a photo: 80 of them leave a window to kill in.
    root, folder, manual = _tagged_library(make_library, tmp_path, 90, to_move=80)
    dest = tmp_path / "moved"
    contents = set(_digests(root).values())
    rng = random.Random(5)
    landed = 0
    for _ in range(points):
        before = _landed(dest)
        proc = spawn_cli(
            folder, tiny_model, "export", "--tag", "move-me", "--to", str(dest), "--mode", "move"
        )
        # Killed right after a file lands in the destination, mid-move of the next ones.
        landed += kill_when(
            proc, lambda b=before: _landed(dest) > b, rng.uniform(0.0, 0.008), poll_s=0.001
        )
        proc.stderr.close()
        raw_checks(folder)
        on_disk = {**_digests(root), **(_digests(dest) if dest.exists() else {})}
        assert contents <= set(on_disk.values()), "a photo was lost"
        lib = make_library(folder)
        check_library(lib)
        for row in lib.catalog.query("SELECT path FROM photos"):
            assert Path(row[0]).is_file(), f"the catalog points at a missing file: {row[0]}"
        assert _manual(lib) == manual, "a manual tag was lost"
        lib.close()
    done = run_cli(
        folder, tiny_model, "export", "--tag", "move-me", "--to", str(dest), "--mode", "move"
    )
    assert done.returncode == 0, done.stderr
    assert landed >= 1, landed
    lib = make_library(folder)
    assert lib.scan().removed == 0
    check_library(lib)
    assert {pid: tags for pid, tags in _manual(lib).items() if pid in manual} == manual
    moved = [
        r[0]
        for r in lib.catalog.query(
            "SELECT p.path FROM photos p JOIN effective_tags t ON t.photo_id = p.id "
            "WHERE t.tag = 'move-me'"
        )
    ]
    assert moved and all(p.startswith(str(dest)) for p in moved)
    # The move journal finishes or undoes a killed move: no second copy in the destination.
    extra = lib.catalog.scalar("SELECT COUNT(*) FROM photos") - len(manual)
    assert extra == 0, f"{extra} duplicate(s) left in the destination by a killed move"
