"""Background embedding: decode ahead in a thread pool while the model works, commit in batches.

Decoding and preprocessing (Pillow and torchvision release the GIL) run in a small pool
that stays a bounded number of batches ahead of the model, so the model never waits
for JPEG decoding and memory never holds more than a few batches. Each batch is
committed in its own transaction, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import os
import stat
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from photosort.core import fingerprints, vector_codec
from photosort.core.catalog import Catalog, now_iso
from photosort.core.lazy_import import np
from photosort.core.progress import ProgressCallback, RateMeter
from photosort.core.scanner import content_hash
from photosort.core.store import PhotoStore, VectorStore

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from photosort.core.embedder import Embedder
    from photosort.core.image_engine import OnnxImageEncoder
    from photosort.core.imaging import PhotoMeta
    from photosort.core.index import VectorIndex

    #: What embeds the photos: the torch model, or its cached ONNX image tower with
    #: preprocessing in NumPy (no torch imported at all; see image_engine.py).
    ImageEncoder = Embedder | OnnxImageEncoder


@dataclass(frozen=True)
class EmbedJob:
    photo_id: int
    path: str


class Jobs(Protocol):
    """Photos to embed: a list, or a scan's pages read as it goes (scan_job.PendingPhotos)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[EmbedJob]: ...


@dataclass
class Prepared:
    """A photo made ready for the model by a worker thread (or the reason it could not be)."""

    job: EmbedJob
    tensor: torch.Tensor | np.ndarray | None = None
    meta: PhotoMeta | None = None
    fingerprint: fingerprints.Fingerprint | None = None
    content_hash: str | None = None
    size: int | None = None
    mtime_ns: int | None = None
    error: str | None = None
    io_error: bool = False  # the failure came from reading, not from the file's content
    read_s: float = 0.0
    decode_s: float = 0.0
    preprocess_s: float = 0.0


@dataclass
class EmbedStats:
    embedded: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
    #: Photos whose vector this run wrote or dropped (their tags need deciding again), 8
    #: bytes each (a list of 100k Python ints is 3.6 MB).
    photo_ids: array[int] = field(default_factory=lambda: array("q"))
    #: Seconds spent per stage (read/decode/preprocess summed over worker threads).
    timings: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(
            ("read", "decode", "preprocess", "model", "write"), 0.0
        )
    )


#: Writes one batch: the photos prepared, their vectors (same order), the failures.
StoreBatch = Callable[[list[Prepared], "np.ndarray", list[Prepared]], None]


def prepare(job: EmbedJob, preprocess: Callable, min_side: int) -> Prepared:
    """Read, hash, decode and preprocess one photo. Never raises: errors become data."""
    t0 = time.perf_counter()
    try:
        data, st = read_regular_file(job.path)
    except NotRegularFile as exc:
        return Prepared(job, error=str(exc))
    except OSError as exc:
        return Prepared(job, error=f"cannot read file: {exc.strerror or exc}", io_error=True)
    read_s = time.perf_counter() - t0
    out = prepare_data(job, data, st.st_size, st.st_mtime_ns, preprocess, min_side)
    out.read_s += read_s
    return out


def prepare_data(
    job: EmbedJob, data: bytes, size: int, mtime_ns: int, preprocess: Callable, min_side: int
) -> Prepared:
    """``prepare`` for bytes already read (a Spark binaryFile row); never raises."""
    # imported here: a scan with nothing to embed never decodes, nor imports Pillow
    from photosort.core.imaging import DecodeError, decode_photo

    t0 = time.perf_counter()
    out = Prepared(job, content_hash=content_hash(data), size=size, mtime_ns=mtime_ns)
    t1 = time.perf_counter()
    out.read_s = t1 - t0  # hashing counts as reading, as it always did
    try:
        decoded = decode_photo(data, min_side=min_side, name=job.path)
        t2 = time.perf_counter()
        out.tensor = preprocess(decoded.image)
        out.decode_s, out.preprocess_s = t2 - t1, time.perf_counter() - t2
        out.meta = decoded.meta
        out.fingerprint = _fingerprint(decoded.image)
    except DecodeError as exc:
        out.error = str(exc)
    except Exception as exc:  # a preprocess bug must not stop the scan
        out.error = f"cannot prepare image: {exc}"
    return out


def _fingerprint(image: Image.Image) -> fingerprints.Fingerprint | None:
    """The duplicate finder's pixel fingerprint, from the image already decoded (~1 ms)."""
    try:
        return fingerprints.fingerprint(image)
    except Exception:  # optional data: never the reason a photo fails
        return None


class NotRegularFile(OSError):
    """The path is no longer a plain file (a FIFO, a device, a folder)."""


def read_regular_file(path: str) -> tuple[bytes, os.stat_result]:
    """Read a whole file that must be a regular one, never blocking on what is not.

    A plain ``open()`` of a FIFO blocks until a writer appears: a photo replaced by a FIFO
    after the walk hung the scan for ever. ``O_NONBLOCK`` makes the open return at once;
    the file type is then checked on the open descriptor before any read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(f"not a regular file (a {_kind(st.st_mode)}): skipped")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(), st
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


def embed_photos(
    catalog: Catalog,
    embedder: ImageEncoder,
    index: VectorIndex | None,
    jobs: Jobs,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    batch_size: int = 32,
    workers: int | None = None,
    lookahead_batches: int = 2,
    store: StoreBatch | None = None,
) -> EmbedStats:
    """Embed ``jobs`` and store their vectors; returns counts, stops early on cancel.

    ``store(ok, vectors, failed)`` replaces the default writer (the catalog's vectors and
    ``index``): a re-index stages another model's vectors without touching the live ones."""
    stats = EmbedStats()
    if jobs:
        embedder.use_image_engine()  # bulk work: the fastest engine here (image_engine.py)
    meter = RateMeter("embedding", len(jobs), on_progress)
    meter.report(0)
    cancel = should_cancel or (lambda: False)
    workers = workers or max(2, min(4, os.cpu_count() or 2))
    limit = batch_size * (lookahead_batches + 1)
    pending_jobs = iter(jobs)
    inflight: deque[Future] = deque()
    batch: list[Prepared] = []

    def flush() -> None:
        if not batch:
            return
        ok = [p for p in batch if p.error is None]
        t0 = time.perf_counter()
        vectors = (
            embedder.encode_images(_stack([p.tensor for p in ok if p.tensor is not None]))
            if ok
            else np.empty((0, embedder.dim), np.float32)
        )
        vectors = vector_codec.as_stored(vectors)  # the index holds what the catalog holds
        t1 = time.perf_counter()
        failed = [p for p in batch if p.error]
        if store is not None:
            store(ok, vectors, failed)
        else:
            assert index is not None
            _store_batch(catalog, embedder.model_id, ok, vectors, failed)
            index.add(np.array([p.job.photo_id for p in ok], dtype=np.int64), vectors)
            index.remove(p.job.photo_id for p in failed)
        timings = stats.timings
        timings["model"] += t1 - t0
        timings["write"] += time.perf_counter() - t1
        for p in batch:
            timings["read"] += p.read_s
            timings["decode"] += p.decode_s
            timings["preprocess"] += p.preprocess_s
        stats.embedded += len(ok)
        stats.photo_ids.extend(p.job.photo_id for p in batch)
        for p in batch:
            if p.error:
                stats.failed += 1
                stats.failures.append((p.job.path, p.error))
        done = stats.embedded + stats.failed
        meter.report(done, batch[-1].job.path)
        batch.clear()

    # Not a ``with`` block: its exit waits for every worker, and a worker stuck in a read
    # (a dead network share) would make a cancelled scan wait for ever.
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="photosort-decode")
    finished = False
    try:

        def top_up() -> None:
            while len(inflight) < limit:
                job = next(pending_jobs, None)
                if job is None:
                    return
                inflight.append(pool.submit(prepare, job, embedder.preprocess, embedder.image_size))

        top_up()
        while inflight:
            if cancel():
                stats.cancelled = True
                break
            try:  # wait in short steps, so a cancel is seen even while a read hangs
                prepared = inflight[0].result(timeout=0.1)
            except FuturesTimeout:
                continue
            inflight.popleft()
            batch.append(prepared)
            top_up()
            if len(batch) >= batch_size:
                flush()
        for fut in inflight:
            fut.cancel()
        # Work already decoded is not thrown away, even on cancel.
        if stats.cancelled:
            batch.extend(f.result() for f in inflight if f.done() and not f.cancelled())
        flush()
        finished = not stats.cancelled
    finally:
        pool.shutdown(wait=finished, cancel_futures=True)
    return stats


def _stack(tensors: list[torch.Tensor | np.ndarray]) -> torch.Tensor | np.ndarray:
    """One batch of preprocessed images: NumPy arrays stay NumPy (torch is not imported
    where the image tower runs without it), torch tensors stay torch."""
    if all(isinstance(t, np.ndarray) for t in tensors):
        return np.stack(tensors)
    import torch

    return torch.stack([torch.as_tensor(t) for t in tensors])


def _store_batch(
    catalog: Catalog,
    model_id: str,
    ok: Iterable[Prepared],
    vectors: np.ndarray,
    failed: Iterable[Prepared],
) -> None:
    stamp = now_iso()
    with catalog.transaction() as conn:
        photos, stored = PhotoStore(conn), VectorStore(conn)
        for prepared, vector in zip(ok, vectors, strict=True):
            meta = prepared.meta
            assert meta is not None  # set on every photo prepared without an error
            facts = (
                meta.width,
                meta.height,
                meta.taken_at,
                meta.camera,
                meta.gps_lat,
                meta.gps_lon,
            )
            photo_id = prepared.job.photo_id
            photos.read_ok(
                photo_id, prepared.content_hash, prepared.size, prepared.mtime_ns, facts, stamp
            )
            stored.put(photo_id, model_id, vector)
            if prepared.fingerprint is not None:
                fingerprints.store(conn, [(photo_id, prepared.content_hash, prepared.fingerprint)])
        for prepared in failed:
            photos.read_failed(
                prepared.job.photo_id,
                prepared.error,
                "io" if prepared.io_error else "content",
                prepared.content_hash,
                prepared.size,
                prepared.mtime_ns,
                stamp,
            )
        catalog.bump_vectors_version(conn)
