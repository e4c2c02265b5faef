"""``photosort bench``: how fast this machine embeds photos, measured in under a minute.

Users ask which model to use and whether the GPU helps (rclip #33, the Unsplash CLIP
tutorial's CPU-vs-MPS timing). The answer depends on their machine, so it is measured:
images per second of the current model on every device torch offers here (CPU fp32 and
bf16, Apple MPS, CUDA) at a few batch sizes, the decode rate of the library's own photos
(read + decode + preprocess, the scan's other half), and from both the time the pending
photos would take to index.

Every cell gets an equal slice of the budget; a cell whose first batch already overruns
its slice reports that batch alone, and larger batches on that device are skipped. The
last report per model is kept in the user cache (``bench.json``) so ``photosort models``
and Preferences can show measured speeds beside the published accuracies.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from photosort.core.progress import ProgressCallback, RateMeter

if TYPE_CHECKING:
    from photosort.core.embedder import ModelSpec

BATCH_SIZES = (1, 8, 32)
DEFAULT_BUDGET_S = 45.0
DECODE_SAMPLE = 12
DECODE_SHARE = 0.15  # of the budget, for the decode rate


@dataclass
class Cell:
    """One measurement: a device, a precision and a batch size."""

    device: str
    precision: str
    batch: int
    images_per_s: float | None = None
    batches: int = 0
    note: str = ""


@dataclass
class BenchReport:
    model: str
    cells: list[Cell] = field(default_factory=list)
    decode_per_s: float | None = None  # one thread: read + decode + preprocess
    decode_workers: int = 1
    decode_sample: int = 0
    scan_device: str = "cpu"
    pending: int = 0
    estimate_s: float | None = None
    seconds: float = 0.0
    measured_at: float = 0.0
    cancelled: bool = False

    def best(self, device: str | None = None) -> Cell | None:
        """The fastest measured cell (on ``device`` when given)."""
        cells = [c for c in self.cells if c.images_per_s and device in (None, c.device)]
        return max(cells, key=lambda c: c.images_per_s or 0.0, default=None)

    def lines(self) -> list[str]:
        """The table the CLI prints (the tutorial's CPU-vs-MPS timing, per batch size)."""
        sizes = sorted({c.batch for c in self.cells})
        rows: dict[tuple[str, str], dict[int, Cell]] = {}
        for c in self.cells:
            rows.setdefault((c.device, c.precision), {})[c.batch] = c
        head = f"{'device':<7}{'precision':<10}" + "".join(
            f"{'batch ' + str(b):>12}" for b in sizes
        )
        out = [f"model {self.model}: images per second", head]
        for (device, precision), by_size in rows.items():
            cells = []
            for b in sizes:
                got = by_size.get(b)
                speed = None if got is None else got.images_per_s
                text = "-" if speed is None else f"{speed:,.1f}"
                cells.append(f"{text:>12}")
            notes = sorted({c.note for c in by_size.values() if c.note})
            out.append(
                f"{device:<7}{precision:<10}"
                + "".join(cells)
                + (f"  ({'; '.join(notes)})" if notes else "")
            )
        if self.decode_per_s is not None:
            threads = self.decode_per_s * self.decode_workers
            out.append(
                f"decode (read + decode + preprocess): {self.decode_per_s:,.1f} photos/s a "
                f"thread, {threads:,.1f} with {self.decode_workers} threads "
                f"({self.decode_sample} of this library's photos)"
            )
        else:
            out.append("decode: no photos in the library to time")
        if self.estimate_s is not None:
            out.append(
                f"{self.pending} photos pending: about {_duration(self.estimate_s)} to index "
                f"on {self.scan_device}"
            )
        out.append(f"measured in {self.seconds:.0f}s")
        return out

    def as_dict(self) -> dict:
        return asdict(self)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def configurations(cuda: bool, mps: bool) -> list[tuple[str, str]]:
    """(device, precision) pairs to measure: the CPU always, each accelerator present."""
    out = [("cpu", "fp32"), ("cpu", "bf16")]
    if mps:
        out += [("mps", "fp32"), ("mps", "fp16")]
    if cuda:
        out += [("cuda", "fp32"), ("cuda", "fp16")]
    return out


def accelerators() -> tuple[bool, bool]:
    """(CUDA, MPS) as torch sees them (MPS probed with a real op: see core/embedder)."""
    import torch

    from photosort.core.embedder import _mps_works

    return bool(torch.cuda.is_available()), _mps_works()


Embed = Callable[[Any], Any]  # a batch tensor (N, 3, H, W) -> vectors


class Measurable(Protocol):
    """What ``run`` needs of a loaded model (an ``Embedder``)."""

    preprocess: Callable
    image_size: int

    def encode_images(self, batch: Any) -> Any: ...


def time_cell(embed: Embed, image_size: int, cell: Cell, slice_s: float) -> bool:
    """Fill ``cell``: one warm-up batch (not counted), then batches until its slice is spent
    (one at least, so every number is a warm one).

    Returns False when one batch takes the whole slice (larger ones would overrun it).
    """
    import torch

    batch = torch.rand(cell.batch, 3, image_size, image_size)
    embed(batch)  # warm-up, not counted: kernels chosen, memory allocated, lazy imports done
    done, spent = 0, 0.0
    end = time.perf_counter() + slice_s
    while done == 0 or time.perf_counter() + spent / done < end:  # one timed batch at least
        t1 = time.perf_counter()
        embed(batch)
        spent += time.perf_counter() - t1
        done += 1
    cell.images_per_s, cell.batches = cell.batch * done / spent, done
    return spent / done < slice_s


def decode_rate(
    paths: Sequence[str], preprocess: Callable, image_size: int, budget_s: float
) -> tuple[float | None, int]:
    """Photos per second through the scan's own ``prepare`` (one thread), and how many."""
    from photosort.core.pipeline import EmbedJob, prepare

    if paths:  # warm-up: the decoders' first call loads their libraries
        prepare(EmbedJob(0, paths[0]), preprocess, image_size)
    done, spent = 0, 0.0
    for path in paths:
        t0 = time.perf_counter()
        prepared = prepare(EmbedJob(0, path), preprocess, image_size)
        spent += time.perf_counter() - t0
        if prepared.error is None:
            done += 1
        if spent > budget_s and done >= 3:
            break
    return (done / spent if done and spent > 0 else None), done


def run(
    model: str,
    load: Callable[[str, str], Measurable],
    configs: Sequence[tuple[str, str]],
    sample_paths: Sequence[str],
    pending: int,
    scan_device: str,
    batch_sizes: Sequence[int] = BATCH_SIZES,
    budget_s: float = DEFAULT_BUDGET_S,
    decode_workers: int | None = None,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> BenchReport:
    """Measure every (device, precision) x batch size within ``budget_s`` seconds.

    ``load(device, precision)`` gives an object with ``encode_images``, ``preprocess`` and
    ``image_size`` (an ``Embedder``); a configuration that fails to load is a row with
    the reason, not an error.
    """
    started = time.perf_counter()
    report = BenchReport(model=model, scan_device=scan_device, pending=pending)
    report.decode_workers = decode_workers or max(2, min(4, os.cpu_count() or 2))
    steps = len(configs) * len(batch_sizes) + 1
    meter = RateMeter("bench", steps, on_progress, unit="step")
    meter.report(0)
    # loading counts too, so the whole run stays near the budget; the first device's first
    # batch size is always measured, so a slow machine still gets one number
    deadline = started + budget_s * (1 - DECODE_SHARE)
    preprocess: Callable | None = None
    image_size: int | None = None
    step = 0
    for device, precision in configs:
        cells = [Cell(device, precision, b) for b in batch_sizes]
        report.cells += cells
        if should_cancel and should_cancel():
            report.cancelled = True
            break
        if report.best() is not None and time.perf_counter() > deadline:
            for c in cells:
                c.note = "skipped: over budget"
            step += len(cells)
            continue
        try:
            embedder = load(device, precision)
        except Exception as exc:  # one row says why, the others still run
            for c in cells:
                c.note = f"cannot load: {str(exc).splitlines()[0][:80]}"
            step += len(cells)
            continue
        if preprocess is None:
            preprocess, image_size = embedder.preprocess, embedder.image_size
        for cell in cells:
            remaining = len(configs) * len(batch_sizes) - step
            step += 1
            if should_cancel and should_cancel():
                report.cancelled = True
                break
            if cell.note:
                continue
            left = deadline - time.perf_counter()
            if left <= 0 and report.best() is not None:
                cell.note = "skipped: over budget"
                continue
            slice_s = max(0.05, left / max(remaining, 1))
            if not time_cell(embedder.encode_images, embedder.image_size, cell, slice_s):
                for bigger in cells[cells.index(cell) + 1 :]:
                    bigger.note = "skipped: too slow here"
            meter.report(step)
        del embedder
    if preprocess is not None and sample_paths and not report.cancelled:
        rate, count = decode_rate(
            sample_paths, preprocess, image_size or 224, budget_s * DECODE_SHARE
        )
        report.decode_per_s, report.decode_sample = rate, count
    best = report.best(scan_device)
    if best is not None and best.images_per_s:
        rate = best.images_per_s
        if report.decode_per_s:
            rate = min(rate, report.decode_per_s * report.decode_workers)
        report.estimate_s = pending / rate
    meter.report(steps)
    report.seconds = time.perf_counter() - started
    report.measured_at = time.time()
    return report


# -- the last report per model, kept for `photosort models` and Preferences ----------------
def results_file() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("photosort")) / "bench.json"


def save(report: BenchReport, path: Path | None = None) -> None:
    path = path or results_file()
    data = load_all(path)
    data[report.model] = report.as_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps(data, indent=1))
    os.replace(temp, path)


def load_all(path: Path | None = None) -> dict[str, dict]:
    """Saved reports by model; a missing or damaged file is no reports."""
    try:
        data = json.loads((path or results_file()).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def measured_speed(model: str, path: Path | None = None) -> tuple[float, str] | None:
    """The best images/s measured for ``model`` here, and where (e.g. "cuda fp16, batch 32")."""
    saved = load_all(path).get(model)
    if not saved:
        return None
    cells = [c for c in saved.get("cells", []) if c.get("images_per_s")]
    if not cells:
        return None
    best = max(cells, key=lambda c: c["images_per_s"])
    return float(
        best["images_per_s"]
    ), f"{best['device']} {best['precision']}, batch {best['batch']}"


def bench_library(
    model_spec: ModelSpec,
    device: str,
    sample: list[str],
    pending: int,
    budget_s: float = DEFAULT_BUDGET_S,
    batch_sizes: Sequence[int] = BATCH_SIZES,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> BenchReport:
    """Images/s of a library's model on every device here, the decode rate of ``sample``
    (some of its photos) and the time its ``pending`` photos would take; the report is
    kept for the model picker unless cancelled. ``device``: the library's choice."""
    from photosort.core.embedder import Embedder, resolve_device

    cuda, mps = accelerators()
    report = run(
        str(model_spec),
        lambda dev, precision: Embedder(model_spec, dev, precision=precision),
        configurations(cuda, mps),
        sample,
        pending,
        resolve_device(device),
        list(batch_sizes),
        budget_s,
        on_progress=on_progress,
        should_cancel=should_cancel,
    )
    if not report.cancelled:
        save(report)
    return report
