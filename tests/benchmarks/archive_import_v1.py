"""Baseline for ``bench_spark_import``: ``photosort import``'s merge as it was before
batching (commit e3e76ce, core/archive_import.py), kept as it was so the benchmark
compares against it in the same run. Not used by photosort itself.

The original module docstring:

Bring a ``photosort.spark`` Parquet output into a library as if it had been scanned.

Vectors are copied, not recomputed. Each row's path goes through the ``--map`` prefixes
(``s3a://bucket/photos=/Volumes/NAS/photos``) and must name a file here of the same size:
its mtime is then taken from this disk, after a hash check where the cluster saw another
mtime (an object store's upload time), so a later scan finds the photo unchanged and
never embeds it again. Rows for files missing or different here are counted, not
imported. The newest row per path wins (the job appends, a re-run adds newer rows).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from photosort.core import fingerprints
from photosort.core.catalog import Catalog, now_iso
from photosort.core.errors import PhotosortError
from photosort.core.index import VectorIndex
from photosort.core.progress import ProgressCallback, RateMeter
from photosort.core.scanner import hash_file

#: The file's facts and its vector, as the Spark job writes them (photosort/spark/job.py
#: builds its output columns from these, so the writer and this reader never drift apart).
FILE_COLUMNS = (
    "path",
    "root",
    "size",
    "mtime_ns",
    "content_hash",
    "width",
    "height",
    "taken_at",
    "camera",
    "gps_lat",
    "gps_lon",
    "phash",
    "sharpness",
    "sharp_side",
    "colour",
    "model",
    "vector",
)
#: How reading the file went, and when.
OUTCOME_COLUMNS = ("error", "failure_kind", "indexed_at")
#: Columns read from the dataset (the labels are recomputed by the library's own tagger).
COLUMNS = FILE_COLUMNS + OUTCOME_COLUMNS
BATCH_ROWS = 4096


class ArchiveError(PhotosortError):
    """The dataset cannot be imported; one line saying why."""


@dataclass
class ImportSummary:
    rows: int = 0  # newest rows, one per path
    imported: int = 0  # photos with a vector now in the library
    failed: int = 0  # error rows, recorded as failed photos (as a scan would)
    missing: int = 0  # no such file here (check --map)
    changed: int = 0  # the file here differs from the one the cluster read
    roots: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False

    def line(self) -> str:
        text = (
            f"{self.imported} imported, {self.failed} failed, {self.missing} not found here, "
            f"{self.changed} changed since indexing ({self.rows} rows, {self.seconds:.1f}s)"
        )
        return ("cancelled: " if self.cancelled else "") + text

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def parse_mapping(items: Sequence[str]) -> list[tuple[str, str]]:
    """``FROM=TO`` pairs, longest FROM first (the most specific prefix wins)."""
    out = []
    for item in items:
        source, sep, target = item.partition("=")
        if not sep or not source or not target:
            raise ArchiveError(f"--map {item!r} is not FROM=TO, e.g. s3a://bucket/photos=/nas")
        out.append((source.rstrip("/"), os.path.expanduser(target).rstrip("/") or "/"))
    return sorted(out, key=lambda pair: len(pair[0]), reverse=True)


def map_path(path: str | None, mapping: Sequence[tuple[str, str]]) -> str | None:
    """The desktop's path for a cluster path: the first matching prefix rewritten,
    ``file:`` URIs made plain."""
    if path is None:
        return None
    for source, target in mapping:
        if path == source or path.startswith(source + "/"):
            path = target + path[len(source) :]
            break
    if path.startswith("file://"):
        path = path[len("file://") :]
    elif path.startswith("file:"):
        path = path[len("file:") :]
    return os.path.normpath(path) if os.sep != "/" else path


def open_dataset(path: str | os.PathLike):
    """The Parquet dataset, checked to be a photosort.spark output."""
    try:
        import pyarrow.dataset as ds
    except ImportError as exc:
        raise ArchiveError(
            "importing a Spark index needs pyarrow: pip install 'photosort[spark]'"
        ) from exc
    if not os.path.exists(path):
        raise ArchiveError(f"no such dataset: {path}")
    try:
        dataset = ds.dataset(os.fspath(path), format="parquet")
    except Exception as exc:  # not Parquet, unreadable
        raise ArchiveError(f"{path} is not a Parquet dataset: {str(exc)[:160]}") from exc
    missing = [c for c in COLUMNS if c not in dataset.schema.names]
    if missing:
        raise ArchiveError(
            f"{path} is not a photosort.spark index (no column {', '.join(missing[:3])})"
        )
    return dataset


def dataset_models(dataset) -> list[str]:
    """The model ids of the dataset's vectors."""
    import pyarrow.compute as pc

    table = dataset.to_table(columns=["model"])
    return sorted(m for m in pc.unique(table.column("model")).to_pylist() if m)


def newest_rows(dataset) -> dict[str, str]:
    """path -> the newest ``indexed_at``: a path indexed twice counts once."""
    newest: dict[str, str] = {}
    for batch in dataset.to_batches(columns=["path", "indexed_at"], batch_size=65536):
        for path, stamp in zip(
            batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True
        ):
            if path is not None and (path not in newest or (stamp or "") > newest[path]):
                newest[path] = stamp or ""
    return newest


def vector_dim(dataset) -> int:
    """The length of the dataset's vectors (the first one found)."""
    for batch in dataset.to_batches(columns=["vector"], batch_size=1024):
        for vec in batch.column(0).to_pylist():
            if vec is not None:
                return len(vec)
    raise ArchiveError("the dataset holds no vectors")


def root_folder(path: str, hint: str | None, mapping: Sequence[tuple[str, str]]) -> str:
    """The folder a photo is filed under: the job's input folder it was found in, else
    the ``--map`` target holding it, else its own folder."""
    candidates = [hint] if hint else []
    candidates += [target for _, target in mapping]
    for folder in candidates:
        if folder and (path.startswith(folder.rstrip("/") + "/")) and os.path.isdir(folder):
            return folder
    return os.path.dirname(path)


#: (mapped path, mapped root hint) -> (root id, canonical root path)
RootFor = Callable[[str, str | None], tuple[int, str]]


def import_dataset(
    catalog: Catalog,
    index: VectorIndex,
    dataset,
    model_id: str,
    mapping: Sequence[tuple[str, str]],
    root_for: RootFor,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ImportSummary:
    """Merge ``dataset`` into the catalog and index; returns the counts."""
    summary = ImportSummary()
    newest = newest_rows(dataset)
    meter = RateMeter("importing", len(newest), on_progress)
    meter.report(0)
    taken: set[str] = set()
    roots: set[str] = set()
    done = 0
    for batch in dataset.to_batches(columns=list(COLUMNS), batch_size=BATCH_ROWS):
        if should_cancel and should_cancel():
            summary.cancelled = True
            break
        rows = batch.drop_columns(["vector"]).to_pydict()  # vectors stay in Arrow: see below
        n = batch.num_rows
        keep = []
        for i in range(n):
            path = rows["path"][i]
            if path is None or path in taken or (rows["indexed_at"][i] or "") != newest[path]:
                continue
            taken.add(path)
            keep.append(i)
        summary.rows += len(keep)
        done += len(keep)
        vectors = _vector_rows(batch.column("vector"))
        good, bad = [], []
        for i in keep:
            local = map_path(rows["path"][i], mapping)
            here = _here(local, rows["size"][i], rows["mtime_ns"][i], rows["content_hash"][i])
            if here is None:
                summary.missing += 1
                continue
            if here is False:
                summary.changed += 1
                continue
            root_id, root = root_for(local, map_path(rows["root"][i], mapping))
            roots.add(root)
            item = (i, _under(local, root), root_id, here)
            (good if rows["error"][i] is None and rows["model"][i] else bad).append(item)
        wrong = {rows["model"][i] for i, *_ in good} - {model_id}
        if wrong:
            raise ArchiveError(f"the dataset holds vectors of {wrong.pop()}, not {model_id}")
        matrix = np.stack([vectors[i] for i, *_ in good]) if good else None
        ids = _store(catalog, rows, good, bad, model_id, matrix)
        if matrix is not None:
            index.add(np.asarray(ids[: len(good)], np.int64), matrix)
        index.remove(ids[len(good) :])
        summary.imported += len(good)
        summary.failed += len(bad)
        meter.report(done)
    summary.roots = sorted(roots)
    return summary


def _vector_rows(column) -> list[np.ndarray | None]:
    """Each row's vector as a float32 view of one flat array (no Python float lists)."""
    flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    lengths = column.value_lengths().fill_null(0).to_numpy(zero_copy_only=False)
    out: list[np.ndarray | None] = []
    start = 0
    for ok, length in zip(valid.tolist(), lengths.tolist(), strict=True):
        out.append(flat[start : start + length] if ok else None)
        start += length if ok else 0
    return out


def _under(path: str, root: str) -> str:
    """``path`` spelled under the root's canonical path, as a scan's walk would spell it."""
    real_dir = os.path.realpath(os.path.dirname(path))
    return os.path.join(real_dir, os.path.basename(path)) if not path.startswith(root) else path


def _here(path: str | None, size, mtime_ns, digest) -> int | bool | None:
    """The mtime (ns) of the file here when it is the file the cluster read; None when
    there is no such file, False when it differs."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    if size is not None and st.st_size != size:
        return False
    if mtime_ns is not None and st.st_mtime_ns == mtime_ns:
        return st.st_mtime_ns
    if digest is None:  # an error row with no hash: the size is all there is to compare
        return st.st_mtime_ns
    try:
        return st.st_mtime_ns if hash_file(path) == digest else False
    except OSError:
        return None


def _store(catalog: Catalog, rows: dict, good: list, bad: list, model_id: str, matrix) -> list[int]:
    """Insert or update photo rows, vectors and fingerprints; ids in good + bad order."""
    stamp = now_iso()
    ids: list[int] = []
    with catalog.transaction() as conn:
        for (i, path, root_id, mtime_ns), ok in [(x, True) for x in good] + [
            (x, False) for x in bad
        ]:
            values = (
                root_id,
                os.path.dirname(path),
                rows["size"][i],
                mtime_ns,
                rows["content_hash"][i],
                "ok" if ok else "failed",
                None if ok else rows["error"][i],
                None if ok else (rows["failure_kind"][i] or "content"),
                rows["width"][i],
                rows["height"][i],
                rows["taken_at"][i],
                rows["camera"][i],
                rows["gps_lat"][i],
                rows["gps_lon"][i],
                stamp,
            )
            found = conn.execute("SELECT id FROM photos WHERE path = ?", (path,)).fetchone()
            if found is None:
                photo_id = conn.execute(
                    "INSERT INTO photos (root_id, folder, size, mtime_ns, content_hash, status, "
                    "error, failure_kind, width, height, taken_at, camera, gps_lat, gps_lon, "
                    "updated_at, path, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                    "?, ?, ?)",
                    (*values, path, stamp),
                ).lastrowid
            else:
                photo_id = found[0]
                conn.execute(
                    "UPDATE photos SET root_id = ?, folder = ?, size = ?, mtime_ns = ?, "
                    "content_hash = ?, status = ?, error = ?, failure_kind = ?, width = ?, "
                    "height = ?, taken_at = ?, camera = ?, gps_lat = ?, gps_lon = ?, "
                    "updated_at = ? WHERE id = ?",
                    (*values, photo_id),
                )
            ids.append(int(photo_id))
            if not ok:
                conn.execute("DELETE FROM embeddings WHERE photo_id = ?", (photo_id,))
                continue
            conn.execute(
                "INSERT OR REPLACE INTO embeddings (photo_id, model, vector) VALUES (?, ?, ?)",
                (photo_id, model_id, matrix[len(ids) - 1].tobytes()),
            )
            if rows["phash"][i] is not None:
                fp = fingerprints.Fingerprint(
                    int(rows["phash"][i]),
                    float(rows["sharpness"][i]),
                    int(rows["sharp_side"][i]),
                    float(rows["colour"][i]),
                )
                fingerprints.store(conn, [(photo_id, rows["content_hash"][i], fp)])
        catalog.bump_vectors_version(conn)
    return ids
