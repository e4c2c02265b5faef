"""The chaos test (issue 11): several processes run random scans, exports (copy and move),
manual tags, re-tags, category edits and root removals on one library, while random
processes are killed with ``kill -9``. Afterwards:

* every original's content exists exactly once, in its root or its move destination;
* no manual tag a process applied (and logged after its commit) is lost;
* ``PRAGMA integrity_check`` is ok and ``doctor`` agrees with the disk.

The default run is short; the long one is marked slow. Each run prints its figures.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from photosort.core import doctor
from tests.reliability.helpers import REPO, cli_env, make_photos, raw_checks

WORKER = REPO / "tests" / "reliability" / "chaos_worker.py"


def _contents(*folders: Path) -> Counter:
    return Counter(
        hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in folders
        if folder.exists()
        for p in folder.rglob("*.jpg")
        if p.is_file() and not p.name.startswith(".")
    )


def _events(logs: list[Path]) -> list[dict]:
    out = []
    for log in logs:
        if log.exists():
            for line in log.read_text(encoding="utf-8").splitlines():
                with contextlib.suppress(ValueError):  # a line cut by kill -9
                    out.append(json.loads(line))
    return out


def _ready(log: Path) -> bool:
    return log.exists() and '"ready"' in log.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("workers", "operations", "min_kills", "photos"),
    [(3, 15, 3, 16), pytest.param(5, 150, 25, 40, marks=pytest.mark.slow)],
)
def test_chaos(make_library, tiny_model, tmp_path, workers, operations, min_kills, photos):
    """Runs until ``operations`` finished and ``min_kills`` processes were killed (bounded
    by a time limit, for a machine that is very slow)."""
    roots = [tmp_path / "photos-a", tmp_path / "photos-b"]
    for k, root in enumerate(roots):
        make_photos(root, photos, seed=1000 * k, folders=3)
    moves, copies = tmp_path / "moved", tmp_path / "copies"
    originals = _contents(*roots)
    assert len(originals) == 2 * photos  # every photo's content is distinct

    lib = make_library()
    lib.scan(roots)
    ids = [r[0] for r in lib.catalog.query("SELECT id FROM photos ORDER BY id")]
    lib.tag_photos(ids[::3], add=["keep"])
    lib.tag_photos(ids[1::4], add=["sea"])
    decided = {
        (r[0], r[1])
        for r in lib.catalog.query(
            "SELECT p.content_hash, m.tag FROM manual_tags m JOIN photos p ON p.id = m.photo_id"
        )
    }
    folder = lib.folder
    lib.close()

    stop = tmp_path / "stop"
    config = json.dumps(
        {
            "roots": [str(r) for r in roots],
            "moves": str(moves),
            "copies": str(copies),
            "stop": str(stop),
        }
    )
    rng = random.Random(11)
    started = time.time()
    until = started + 60 + operations * 6  # a bound, not the plan
    env = cli_env(folder, tiny_model)
    procs: list[tuple[subprocess.Popen, Path]] = []
    spawned = kills = 0

    def spawn() -> None:
        nonlocal spawned
        log = tmp_path / f"worker-{spawned}.log"
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(folder), tiny_model, config, str(log)]
            + [str(rng.randrange(10**6)), str(until)],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append((proc, log))
        spawned += 1

    def finished_ops() -> int:
        return sum(e["event"] == "done" for e in _events([log for _, log in procs]))

    for _ in range(workers):
        spawn()
    while time.time() < until - 5 and (finished_ops() < operations or kills < min_kills):
        time.sleep(rng.uniform(0.5, 3.0))
        alive = [(p, log) for p, log in procs if p.poll() is None and _ready(log)]
        if alive:
            victim, _ = rng.choice(alive)
            victim.kill()
            victim.wait()
            kills += 1
            spawn()
    stop.touch()
    seconds = round(time.time() - started)
    crashed = []
    for proc, log in procs:
        try:
            _, err = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            crashed.append(f"{log.name} hung: {err[-2000:]}")
            continue
        if proc.returncode not in (0, -9):
            crashed.append(f"{log.name} exited {proc.returncode}: {err[-2000:]}")
    assert not crashed, "\n".join(crashed)

    events = _events([log for _, log in procs])
    done = Counter(e["op"] for e in events if e["event"] == "done")
    refused = Counter(e["op"] for e in events if e["event"] == "refused")
    odd = [e["reason"] for e in events if e["event"] == "refused" and "busy" not in e["reason"]]
    decided |= {(e["hash"], e["tag"]) for e in events if e["event"] == "tagged"}
    print(
        f"\nchaos: {spawned} processes, {kills} killed with kill -9, {seconds} s; "
        f"done {dict(done)}; refused (busy) {dict(refused)}; other refusals {odd[:5]}"
    )
    assert kills >= min_kills and sum(done.values()) >= operations

    # The library after the storm: SQLite first, then photosort brings every root back.
    raw_checks(folder)
    lib = make_library(folder)
    final = lib.scan([*roots, moves] if moves.exists() else roots)
    assert final.failed == 0, final.failures

    on_disk = _contents(*roots, moves)
    assert on_disk == originals, "an original was lost or duplicated"
    assert not list(moves.rglob(".photosort-*")) if moves.exists() else True

    held = {
        (r[0], r[1])
        for r in lib.catalog.query(
            "SELECT p.content_hash, m.tag FROM manual_tags m JOIN photos p ON p.id = m.photo_id "
            "WHERE m.state = 'on'"
        )
    }
    assert decided <= held, f"manual tags lost: {sorted(decided - held)[:5]}"

    report = doctor.check(lib)
    assert report.healthy, report.lines()
    assert not report.missing_files and not report.missing_roots
    files = sorted(
        str(p)
        for folder_ in [*roots, moves]
        if folder_.exists()
        for p in folder_.rglob("*.jpg")
        if not p.name.startswith(".")
    )
    assert sorted(r[0] for r in lib.catalog.query("SELECT path FROM photos")) == files
    assert lib.catalog.scalar("SELECT COUNT(*) FROM move_journal") == 0
