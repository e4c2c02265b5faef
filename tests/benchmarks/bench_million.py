"""A million-photo library (issue 13): catalog size, memory, recall, re-tag after a scan,
opening in the app. ``--quick`` runs 100k photos, the full run 1M.

    python3 -m tests.benchmarks --only million [--quick]

Every row has its baseline in the same run:

- bytes per photo on disk: the catalog as photosort writes it now (fp16 vectors, 16 KB
  pages) against the same photos in an older catalog (float32 blobs, 4 KB pages);
- peak RSS of a fresh process that opens the library, searches, edits a prompt (save +
  re-tag) and previews a label, against the old path in the same code (the whole float32
  matrix loaded and scored in one piece, on the float32 catalog);
- recall@10 of the IVF-SQfp16 index against exact search (100 queries);
- the re-tag after a scan that adds 1,000 photos: the changed photos alone against the
  whole library (what every scan did before);
- opening in the app, until the grid shows: first 2,000 names against all names first
  (and until its first screens show, every row is in, the sidebar has its counts).

The index is IVF above half the library in both processes, so 100k runs the same
structures as 1M. Vectors are CLIP-like synthetic ones (bench_search); no model loads.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from photosort.core import index as vector_index
from photosort.core import tagging, vector_codec
from photosort.core.catalog import now_iso
from photosort.core.library import Library
from tests.benchmarks.bench_search import clip_like_vectors
from tests.benchmarks.workload import insert_synthetic_photos

MODEL_ID = "bench:random"
DIM = 512
GOLDEN = "a photo taken at golden hour"


def _spec(folder: Path) -> str:
    return f"local-dir:{folder.parent / 'no-model-needed'}"


def build(folder: Path, vectors: np.ndarray, fp32: bool) -> Path:
    """A library of ``vectors`` as photosort writes it now, or (``fp32``) as an older one
    did: float32 blobs in a catalog of 4 KB pages."""
    folder.mkdir(parents=True)
    if fp32:  # the page size is fixed when the file is first written
        conn = sqlite3.connect(folder / "catalog.sqlite")
        conn.execute("PRAGMA page_size = 4096")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.close()
    lib = Library(folder, model=_spec(folder), device="cpu")
    stamp = now_iso()
    n = len(vectors)
    with lib.catalog.transaction() as conn:
        lib.catalog.set_meta("model", str(lib.model_spec), conn)
        lib.catalog.set_meta("model_id", MODEL_ID, conn)
        lib.catalog.set_meta("model_dim", str(DIM), conn)
        lib.catalog.set_meta(f"logit_scale:{MODEL_ID}", "100.0", conn)
    root_id = lib.catalog.add_root("/bench/photos")
    for start in range(0, n, 50_000):
        stop = min(start + 50_000, n)
        _add_photos(lib, root_id, range(start, stop), vectors[start:stop], fp32, stamp)
    rng = np.random.default_rng(5)
    prompts = tagging.Tagger.prompts_needed(lib.categories()) + [GOLDEN]
    texts = _unit(vectors[rng.integers(0, n, len(prompts))] + 0.3 * rng.normal(size=(1, DIM)))
    with lib.catalog.transaction() as conn:
        conn.executemany(
            "INSERT INTO text_vectors (model, prompt, vector) VALUES (?, ?, ?)",
            [(MODEL_ID, p, v.tobytes()) for p, v in zip(prompts, texts, strict=True)],
        )
    lib.close()
    return folder


def _unit(a: np.ndarray) -> np.ndarray:
    return (a / np.linalg.norm(a, axis=-1, keepdims=True)).astype(np.float32)


def _add_photos(lib, root_id, numbers, vectors, fp32: bool, stamp: str) -> list[int]:
    blobs = [v.tobytes() for v in vectors] if fp32 else vector_codec.encode_many(vectors)
    with lib.catalog.transaction() as conn:
        ids = insert_synthetic_photos(conn, root_id, numbers, MODEL_ID, blobs, stamp)
        lib.catalog.bump_vectors_version(conn)
    return ids


def _ivf_above(n: int) -> None:
    vector_index.EXACT_LIMIT = max(1, n // 2)


def _prepare(folder: Path, n: int) -> float:
    """The index file and the first auto tags, as a scanned library has them; seconds."""
    _ivf_above(n)
    t0 = time.perf_counter()
    lib = Library(folder, model=_spec(folder), device="cpu")
    assert lib.index.kind == "ivf"
    lib._autotag(lib.categories())
    lib.close()
    return time.perf_counter() - t0


# -- the child processes: one fresh process per measured path ------------------------------
def child_session(folder: Path, n: int, old: bool) -> dict:
    """Open, search, edit a prompt (save + re-tag), preview a label; peak RSS."""
    _ivf_above(n)
    if old:  # the path before issue 13: the whole matrix, scored in one piece

        def whole(self):
            version, ids, matrix = self._versioned_vectors()
            return version, [(ids, matrix)]

        Library._vector_chunks = whole  # type: ignore[method-assign]
    t0 = time.perf_counter()
    lib = Library(folder, model=_spec(folder), device="cpu")
    query = lib.catalog.vector_of(1, MODEL_ID)
    hits = lib.index.search(query, 50)
    assert len(hits[0]) == 50
    cats = {c.name: c for c in lib.categories()}
    time_of_day = cats["Time of day"]
    time_of_day.labels[2].prompts.append(GOLDEN)
    lib.save_category(time_of_day)
    preview = lib.preview_label(cats["Things"], "dog")
    assert len(preview.scores) == n
    assert lib._embedder is None
    seconds = time.perf_counter() - t0
    lib.close()
    return {"peak_rss_mb": round(_peak_rss_mb(), 1), "seconds": round(seconds, 2)}


def _peak_rss_mb() -> float:
    """This process's peak RSS. Not ``ru_maxrss``: Linux carries it over from the parent
    through fork and exec, so a child of a big parent reports the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_gui(folder: Path, n: int, old: bool, watch_s: float = 8.0) -> dict:
    """Seconds from opening the library to its first photos on screen with names, to
    every row in the grid (``open_s``), and to the sidebar's counts."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _ivf_above(n)
    from PySide6.QtWidgets import QApplication

    from photosort.gui import main_window

    if old:
        main_window.FIRST_NAMES = 10**9  # every name before the grid, as before
    app = QApplication.instance() or QApplication([])
    t0 = time.perf_counter()
    lib = Library(folder, model=_spec(folder), device="cpu")
    expected = int(lib.catalog.scalar("SELECT COUNT(*) FROM photos"))  # n + the re-tag's
    window = main_window.MainWindow(lib)
    window.preload_on_show = False
    window.show()
    gc.freeze()  # as gui/app.py does once the window shows
    model = window.grid.photo_model
    deadline = time.perf_counter() + 900

    def first() -> bool:  # the first screens show, with names: the grid is usable
        return model.rowCount() > 0 and bool(model.data(model.index(0), 0))

    def shown() -> bool:  # every row is in the grid
        return model.rowCount() == expected and not window.loading and first()

    first_s = sidebar_s = seconds = None
    while seconds is None or sidebar_s is None:
        if time.perf_counter() > deadline:
            raise TimeoutError("the grid did not show")
        app.processEvents()
        now = time.perf_counter() - t0
        if first_s is None and first():
            first_s = now
        if sidebar_s is None and window.total_photos is not None:
            sidebar_s = now
        if seconds is None and shown():
            seconds = now
        time.sleep(0.001)
    stall_ms = _scroll_stalls(app, window.grid, watch_s)
    window.closed = True  # stop the background names
    window.close()
    return {
        "first_photos_s": round(first_s or seconds, 2),
        "open_s": round(seconds, 2),
        "sidebar_s": round(sidebar_s, 2),
        "scrolling_stall_ms": stall_ms,
    }


def _scroll_stalls(app, grid, seconds: float) -> dict:
    """The GUI thread's longest waits while the user scrolls as the background work goes
    on (names, thumbnails): one step down every 20 ms for ``seconds``; ms beyond the step."""
    bar = grid.verticalScrollBar()
    gaps: list[float] = []
    last = time.perf_counter()
    end = last + seconds
    while time.perf_counter() < end:
        app.processEvents()
        bar.setValue(min(bar.maximum(), bar.value() + 120))
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
        time.sleep(0.02)
    gaps.sort()
    ms = [max(0.0, (g - 0.02) * 1000) for g in gaps] or [0.0]
    return {
        "p50": round(ms[len(ms) // 2]),
        "p99": round(ms[int(len(ms) * 0.99)]),
        "max": round(ms[-1]),
    }


def _child(kind: str, folder: Path, n: int, old: bool) -> dict:
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from tests.benchmarks import bench_million as b\n"
        f"r = b.child_{kind}(Path({str(folder)!r}), {n}, {old})\n"
        "print('RESULT', json.dumps(r))\n"
        "sys.stdout.flush()\n"
        "import os; os._exit(0)\n"
    )
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=3600
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"child {kind} failed: {out.stderr[-2000:]}")
    return json.loads(line[7:])


# -- measured in this process -----------------------------------------------------------------
def recall_at_10(folder: Path, vectors: np.ndarray, queries: int = 100) -> dict:
    _ivf_above(len(vectors))
    lib = Library(folder, model=_spec(folder), device="cpu")
    index = lib.index
    rng = np.random.default_rng(9)
    picks = vectors[rng.integers(0, len(vectors), queries)]
    qs = _unit(picks + 0.5 * _unit(rng.normal(size=picks.shape)))
    hits, ms = 0, []
    for q in qs:
        exact = np.argpartition(-(vectors @ q), 10)[:10] + 1
        t0 = time.perf_counter()
        got, _ = index.search(q, 10)
        ms.append(time.perf_counter() - t0)
        hits += len(set(exact.tolist()) & set(got.tolist()))
    out = {
        "kind": index.kind,
        "lists_fp16": not index.full_precision_lists,
        "recall_at_10": round(hits / (10 * queries), 4),
        "query_ms_p50": round(float(np.median(ms)) * 1000, 1),
    }
    lib.close()
    return out


def retag_after_scan(folder: Path, n: int, add: int = 1000) -> dict:
    """Adding ``add`` photos as a scan does, then re-tagging: everything (before) against
    the changed photos alone (now). Both write the new photos' tags."""
    _ivf_above(n)
    lib = Library(folder, model=_spec(folder), device="cpu")
    rng = np.random.default_rng(11)
    root_id = lib.catalog.root_id("/bench/photos")
    cats = lib.categories()
    out: dict = {}
    for label, start in (("all_s", n), ("changed_only_s", n + add)):
        vecs = clip_like_vectors(add, DIM, seed=int(rng.integers(1 << 30)))
        with lib.writing("bench"):
            ids = _add_photos(lib, root_id, range(start, start + add), vecs, False, now_iso())
            lib.index.add(np.array(ids, np.int64), vector_codec.as_stored(vecs))
            lib.save_index()
            t0 = time.perf_counter()
            summary = lib._autotag(cats, photo_ids=None if label == "all_s" else ids)
            out[label] = round(time.perf_counter() - t0, 2)
            out[label.replace("_s", "_photos")] = summary.photos
    lib.close()
    out["speedup"] = round(out["all_s"] / max(out["changed_only_s"], 1e-6), 1)
    return out


def _catalog_bytes(folder: Path) -> int:
    return sum(
        p.stat().st_size
        for p in folder.iterdir()
        if p.name.startswith("catalog.sqlite") and p.is_file()
    )


def run(quick: bool = False, photos: int | None = None) -> dict:
    n = photos or (100_000 if quick else 1_000_000)
    out: dict = {"photos": n, "dim": DIM}
    vectors = clip_like_vectors(n, DIM)
    with tempfile.TemporaryDirectory() as tmp:
        new, old = Path(tmp) / "new" / "lib", Path(tmp) / "old" / "lib"
        t0 = time.perf_counter()
        build(new, vectors, fp32=False)
        build(old, vectors, fp32=True)
        out["build_s"] = round(time.perf_counter() - t0, 1)
        disk_new, disk_old = _catalog_bytes(new), _catalog_bytes(old)
        out["catalog_bytes_per_photo"] = {
            "fp16_16k_pages": round(disk_new / n),
            "fp32_4k_pages_baseline": round(disk_old / n),
            "ratio": round(disk_old / disk_new, 2),
            "target": 1600,
        }
        out["prepare_s"] = {"new": _prepare(new, n), "old": _prepare(old, n)}
        out["recall"] = recall_at_10(new, vectors)
        del vectors
        session = {
            "chunked": _child("session", new, n, False),
            "whole_matrix_baseline": _child("session", old, n, True),
        }
        session["target_mb_at_1M"] = 2500
        out["open_search_edit_retag_preview"] = session
        out["retag_after_adding_1000"] = retag_after_scan(new, n)
        out["app_open"] = {
            "first_names": _child("gui", new, n, False),
            "all_names_baseline": _child("gui", new, n, True),
            "target_s_at_1M": 3,
        }
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=None)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    print(json.dumps(run(quick=args.quick, photos=args.photos), indent=2))
