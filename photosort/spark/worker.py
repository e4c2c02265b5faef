"""What runs inside Spark's Python workers: pandas batches in, pandas batches out.

No Spark import here: ``mapInPandas`` hands these functions an iterator of pandas
DataFrames (Arrow batches) and takes one back. The photo work is the desktop's own
(``pipeline.prepare``: read, hash, decode, EXIF, fingerprint, preprocess; ``Embedder``;
``ZeroShot`` over ``Tagger``), so a photo gets the same vector and labels on a cluster
as in ``photosort scan``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from photosort.core.pipeline import EmbedJob, Prepared, prepare, prepare_data
from photosort.core.zero_shot import ZeroShot

if TYPE_CHECKING:
    from photosort.core.embedder import Embedder

#: Columns ``embed_images`` adds (Spark DDL types), in order.
EMBED_FIELDS: tuple[tuple[str, str], ...] = (
    ("size", "bigint"),
    ("mtime_ns", "bigint"),
    ("content_hash", "string"),
    ("width", "int"),
    ("height", "int"),
    ("taken_at", "string"),
    ("camera", "string"),
    ("gps_lat", "double"),
    ("gps_lon", "double"),
    ("phash", "bigint"),
    ("sharpness", "double"),
    ("sharp_side", "int"),
    ("colour", "double"),
    ("model", "string"),
    ("vector", "array<float>"),
    ("error", "string"),
    ("failure_kind", "string"),
)
#: Columns ``zero_shot`` adds: Spark NLP's candidate labels with a score for every label,
#: plus what it lacks: thresholds applied (``labels``) and the groups left ``uncertain``.
LABEL_FIELDS: tuple[tuple[str, str], ...] = (
    ("labels", "array<string>"),
    ("scores", "map<string,float>"),
    ("uncertain", "array<string>"),
)

_models: dict[tuple[str, str], Embedder] = {}
_models_lock = threading.Lock()


def embedder_for(spec: str, device: str = "auto", threads: int | None = None) -> Embedder:
    """The model, loaded once per Python worker process (Spark reuses the worker)."""
    from photosort.core.embedder import Embedder, ModelSpec

    with _models_lock:
        key = (spec, device)
        if key not in _models:
            _models[key] = Embedder(ModelSpec.parse(spec), device, threads=threads)
        return _models[key]


def local_path(path: str) -> str:
    """``file:/a/b`` (what Hadoop lists) as the ``/a/b`` a desktop sees; others unchanged."""
    if path.startswith("file://"):
        return path[len("file://") :]
    if path.startswith("file:"):
        return path[len("file:") :]
    return path


def _task_cpus() -> int:
    try:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        return max(1, int(ctx.cpus())) if ctx is not None else 1
    except Exception:  # outside Spark (tests, a plain call): one thread per worker
        return 1


def embed_batches(
    batches: Iterator[pd.DataFrame],
    spec: str,
    path_col: str,
    content_col: str | None = None,
    device: str = "auto",
    batch_size: int = 32,
) -> Iterator[pd.DataFrame]:
    """Add ``EMBED_FIELDS`` to each batch. A file that cannot be read or decoded is a row
    with ``error`` set and no vector, never an exception (a failed task would be retried
    and then fail the job)."""
    import torch

    embedder = embedder_for(spec, device, _task_cpus())
    for frame in batches:
        prepared: list[Prepared] = []
        vectors: list[np.ndarray | None] = []
        paths = frame[path_col].tolist()
        for start in range(0, len(paths), batch_size):  # a batch's pixels, never a frame's
            chunk = []
            for i in range(start, min(start + batch_size, len(paths))):
                job = EmbedJob(i, local_path(str(paths[i])))
                if content_col is None:
                    chunk.append(prepare(job, embedder.preprocess, embedder.image_size))
                else:
                    chunk.append(_prepare_content(job, frame, i, content_col, embedder))
            ok = [(p, p.tensor) for p in chunk if p.error is None and p.tensor is not None]
            found: dict[int, np.ndarray] = {}
            if ok:
                mat = embedder.encode_images(torch.stack([torch.as_tensor(t) for _, t in ok]))
                found = {p.job.photo_id: vec for (p, _), vec in zip(ok, mat, strict=True)}
            for p in chunk:
                p.tensor = None  # free the pixels now
                vectors.append(found.get(p.job.photo_id))
            prepared += chunk
        out = frame.drop(columns=[n for n, _ in EMBED_FIELDS if n in frame.columns])
        if content_col is not None and content_col in out.columns:
            out = out.drop(columns=[content_col])
        for name, values in _columns(prepared, vectors, embedder.model_id, frame).items():
            out[name] = values
        yield out


def _prepare_content(
    job: EmbedJob, frame: pd.DataFrame, i: int, col: str, embedder: Embedder
) -> Prepared:
    """A binaryFile row: bytes from Spark; the exact mtime from the file where it is local."""
    data = frame[col].iloc[i]
    if data is None:
        return Prepared(job, error="no content", io_error=True)
    data = bytes(data)
    mtime_ns = None
    try:
        mtime_ns = os.stat(job.path).st_mtime_ns
    except OSError:  # an object store: the listing's time (ms), as the next run compares
        if "mtime_ns" in frame.columns:
            mtime_ns = _int(frame["mtime_ns"].iloc[i])
        elif "modificationTime" in frame.columns:
            mtime_ns = int(pd.Timestamp(frame["modificationTime"].iloc[i]).value)
    return prepare_data(
        job, data, len(data), mtime_ns or 0, embedder.preprocess, embedder.image_size
    )


def _columns(
    prepared: list[Prepared], vectors: list[np.ndarray | None], model_id: str, frame: pd.DataFrame
) -> dict[str, Any]:
    """The new columns; a file that could not be read keeps the size and mtime it was
    listed with, so the next run knows the row (and retries it: an I/O error)."""
    listed = {
        name: frame[name].tolist() if name in frame.columns else [None] * len(frame)
        for name in ("size", "mtime_ns")
    }

    def meta(p: Prepared, name: str) -> Any:
        return getattr(p.meta, name, None) if p.meta is not None else None

    def finger(p: Prepared, name: str) -> Any:
        return getattr(p.fingerprint, name) if p.fingerprint is not None else None

    cols: dict[str, Any] = {name: [] for name, _ in EMBED_FIELDS}
    for i, (p, vec) in enumerate(zip(prepared, vectors, strict=True)):
        cols["size"].append(p.size if p.size is not None else _int(listed["size"][i]))
        cols["mtime_ns"].append(
            p.mtime_ns if p.mtime_ns is not None else _int(listed["mtime_ns"][i])
        )
        cols["content_hash"].append(p.content_hash)
        for name in ("width", "height", "taken_at", "camera", "gps_lat", "gps_lon"):
            cols[name].append(meta(p, name))
        cols["phash"].append(finger(p, "phash"))
        cols["sharpness"].append(finger(p, "sharpness"))
        cols["sharp_side"].append(finger(p, "sharp_side"))
        cols["colour"].append(finger(p, "colour"))
        cols["model"].append(model_id if vec is not None else None)
        cols["vector"].append(vec.astype(np.float32) if vec is not None else None)
        cols["error"].append(p.error)
        cols["failure_kind"].append(
            None if p.error is None else ("io" if p.io_error else "content")
        )
    types = dict(EMBED_FIELDS)
    for name, values in cols.items():  # nullable integers stay integers in Arrow
        if types[name] in ("bigint", "int"):
            cols[name] = pd.array(values, dtype="Int64" if types[name] == "bigint" else "Int32")
    return cols


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def stat_batches(batches: Iterator[pd.DataFrame], path_col: str) -> Iterator[pd.DataFrame]:
    """Size and mtime of each listed path (a path list names only the files), so a second
    run can skip the files already done without reading them."""
    for frame in batches:
        sizes: list[int | None] = []
        mtimes: list[int | None] = []
        for raw in frame[path_col].tolist():
            try:
                st = os.stat(local_path(str(raw)))
                sizes.append(st.st_size)
                mtimes.append(st.st_mtime_ns)
            except OSError:
                sizes.append(None)
                mtimes.append(None)
        out = frame.copy()
        out["size"] = pd.array(sizes, dtype="Int64")
        out["mtime_ns"] = pd.array(mtimes, dtype="Int64")
        yield out


def label_batches(
    batches: Iterator[pd.DataFrame], zero_shot: ZeroShot, vector_col: str
) -> Iterator[pd.DataFrame]:
    """Add ``LABEL_FIELDS``: one matrix product per batch, no image read. Rows without a
    vector, or with one of another model, get no labels."""
    for frame in batches:
        out = frame.drop(columns=[n for n, _ in LABEL_FIELDS if n in frame.columns])
        vectors = frame[vector_col].tolist()
        models = frame["model"].tolist() if "model" in frame.columns else [None] * len(frame)
        rows = [
            i
            for i, (vec, model) in enumerate(zip(vectors, models, strict=True))
            if vec is not None and model in (None, zero_shot.model_id)
        ]
        labels: list[Any] = [None] * len(frame)
        scores: list[Any] = [None] * len(frame)
        uncertain: list[Any] = [None] * len(frame)
        if rows:
            matrix = np.stack([np.asarray(vectors[i], np.float32) for i in rows])
            result = zero_shot.label(matrix)
            for k, i in enumerate(rows):
                labels[i] = result.labels[k]
                scores[i] = result.scores[k]
                uncertain[i] = result.uncertain[k]
        out["labels"] = labels
        out["scores"] = scores
        out["uncertain"] = uncertain
        yield out
