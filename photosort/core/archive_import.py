"""Bring a ``photosort.spark`` Parquet output into a library as if it had been scanned.

Vectors are copied, not recomputed. Each row's path goes through the ``--map`` prefixes
(``s3a://bucket/photos=/Volumes/NAS/photos``) and must name a file here of the same size:
its mtime is then taken from this disk, after a hash check where the cluster saw another
mtime (an object store's upload time), so a later scan finds the photo unchanged and
never embeds it again. Rows for files missing or different here are counted, not
imported. The newest row per path wins (the job appends, a re-run adds newer rows).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from photosort.core import fingerprints, kept_tags, vector_codec
from photosort.core import pairs as raw_pairs
from photosort.core.catalog import Catalog, CatalogError, now_iso
from photosort.core.categories import CategoryError
from photosort.core.embedder import ModelError
from photosort.core.errors import LibraryError, PhotosortError
from photosort.core.index import EXACT_LIMIT, VectorIndex
from photosort.core.progress import ProgressCallback, RateMeter
from photosort.core.scanner import hash_file
from photosort.core.store import PhotoStore, VectorStore

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
#: Rows per transaction: big enough that SQLite's per-transaction cost vanishes (a Spark
#: output is thousands of small files), small enough that a chunk's rows and vectors stay
#: about 100 MB.
CHUNK_ROWS = 32_768
#: From this many rows on, an import may build the vector index once at the end.
BULK_ROWS = 10_000


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

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_mapping(items: Sequence[str]) -> list[tuple[str, str]]:
    """``FROM=TO`` pairs, longest FROM first (the most specific prefix wins)."""
    out: list[tuple[str, str]] = []
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


def open_dataset(path: str | os.PathLike[str]) -> Any:
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


def dataset_models(dataset: Any) -> list[str]:
    """The model ids of the dataset's vectors."""
    import pyarrow.compute as pc

    table = dataset.to_table(columns=["model"])
    return sorted(m for m in pc.unique(table.column("model")).to_pylist() if m)


@dataclass(frozen=True)
class Newest:
    """Which row of a path to import: the dataset's paths counted, and for the few paths
    with more than one row (a re-run, a changed file) the newest ``indexed_at``. Only
    those are kept in Python: a dict of every path cost ~200 MB at 1M rows."""

    rows: int
    repeats: dict[str, str]

    def keep(self, path: str, stamp: str | None, taken: set[str]) -> bool:
        """Whether this row is its path's newest (the first of equals: a path written
        twice in one run counts once)."""
        newest = self.repeats.get(path)
        if newest is None:
            return True
        if path in taken or (stamp or "") != newest:
            return False
        taken.add(path)
        return True


def newest_rows(dataset: Any) -> Newest:
    """The dataset's paths, grouped in Arrow (no Python object per row)."""
    import pyarrow.compute as pc

    table = dataset.to_table(columns=["path", "indexed_at"])
    table = table.filter(pc.is_valid(table.column("path")))
    table = table.set_column(1, "indexed_at", pc.fill_null(table.column("indexed_at"), ""))
    grouped = table.group_by("path").aggregate([("indexed_at", "max"), ("indexed_at", "count")])
    repeats = grouped.filter(pc.greater(grouped.column("indexed_at_count"), 1))
    paths = repeats.column("path").to_pylist()
    stamps = repeats.column("indexed_at_max").to_pylist()
    return Newest(grouped.num_rows, dict(zip(paths, stamps, strict=True)))


def vector_dim(dataset: Any) -> int:
    """The length of the dataset's vectors (the first one found)."""
    import pyarrow.compute as pc

    for batch in dataset.to_batches(columns=["vector"], batch_size=1024):
        lengths = pc.drop_null(pc.list_value_length(batch.column(0)))
        if len(lengths):
            return int(lengths[0].as_py())
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


def encode_vectors(matrix: np.ndarray) -> list[bytes]:
    """Each row as the catalog's vector blob (core/vector_codec: fp16 behind a marker)."""
    return vector_codec.encode_many(matrix)


def index_at_end(rows: int, existing: int) -> bool:
    """Whether to build the vector index once after the import instead of adding each
    chunk: when a large import takes the library to the inverted-file index's size (an
    exact index grown chunk by chunk would be rebuilt as IVF at the next open anyway),
    unless the library is already that large and the import small beside it. Below that
    size, adding each chunk to the exact index costs less than reading every vector back."""
    if rows < BULK_ROWS or existing + rows < EXACT_LIMIT:
        return False
    return existing < EXACT_LIMIT or rows >= existing


@dataclass
class _Item:
    """A row to store: its place in the chunk, the path here (and its folder), root, mtime
    here."""

    row: int
    path: str
    folder: str
    root_id: int
    mtime_ns: int


def import_dataset(
    catalog: Catalog,
    index: VectorIndex | None,
    dataset: Any,
    model_id: str,
    mapping: Sequence[tuple[str, str]],
    root_for: RootFor,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    newest: Newest | None = None,
) -> ImportSummary:
    """Merge ``dataset`` into the catalog, ``CHUNK_ROWS`` rows a transaction; vectors go
    into ``index`` too, unless it is None (the caller rebuilds it afterwards)."""
    summary = ImportSummary()
    newest = newest or newest_rows(dataset)
    meter = RateMeter("importing", newest.rows, on_progress)
    meter.report(0)
    taken: set[str] = set()
    roots: set[str] = set()
    folders: dict[tuple[str, str | None], tuple[int, str, str]] = {}
    hints: dict[str | None, str | None] = {}  # the job's input folders: a handful
    done = 0

    def place(local: str, hint: str | None) -> tuple[int, str, str]:
        """(root id, root, the folder spelled as a scan would): once per folder."""
        key = (os.path.dirname(local), hint)
        if key not in folders:
            root_id, root = root_for(local, hint)
            folders[key] = (root_id, root, os.path.dirname(_under(local, root)))
        return folders[key]

    for chunk in _chunks(dataset, CHUNK_ROWS):
        rows = chunk.drop_columns(["vector"]).to_pydict()
        good: list[_Item] = []
        bad: list[_Item] = []
        kept = 0
        for i, path in enumerate(rows["path"]):
            if i % 1024 == 0 and should_cancel and should_cancel():
                summary.cancelled = True  # this chunk is not written: nothing half-done
                break
            if path is None or not newest.keep(path, rows["indexed_at"][i], taken):
                continue
            kept += 1
            local = map_path(path, mapping)
            here = _here(local, rows["size"][i], rows["mtime_ns"][i], rows["content_hash"][i])
            if local is None or here is None:
                summary.missing += 1
                continue
            if here is False:
                summary.changed += 1
                continue
            hint = rows["root"][i]
            if hint not in hints:
                hints[hint] = map_path(hint, mapping)
            root_id, root, folder = place(local, hints[hint])
            roots.add(root)
            item = _Item(i, os.path.join(folder, os.path.basename(local)), folder, root_id, here)
            (good if rows["error"][i] is None and rows["model"][i] else bad).append(item)
        if summary.cancelled:
            break
        wrong = {rows["model"][item.row] for item in good} - {model_id}
        if wrong:
            raise ArchiveError(f"the dataset holds vectors of {wrong.pop()}, not {model_id}")
        matrix = vector_codec.as_stored(
            _matrix(chunk.column("vector"), [item.row for item in good])
        )
        good_ids, bad_ids = _store(catalog, rows, good, bad, model_id, matrix)
        if index is not None:
            index.add(np.asarray(good_ids, np.int64), matrix)
            index.remove(bad_ids)
        summary.rows += kept
        summary.imported += len(good)
        summary.failed += len(bad)
        done += kept
        meter.report(done)
    summary.roots = sorted(roots)
    return summary


def _chunks(dataset: Any, rows: int) -> Iterator[Any]:
    """The dataset as tables of about ``rows`` rows: a Spark output is many small files
    (a task's worth each), and one transaction per file would be thousands of them."""
    import pyarrow as pa

    pending: list[Any] = []
    count = 0
    for batch in dataset.to_batches(columns=list(COLUMNS), batch_size=rows):
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(pending).combine_chunks()
            pending, count = [], 0
    if pending:
        yield pa.Table.from_batches(pending).combine_chunks()


def _matrix(column: Any, rows: list[int]) -> np.ndarray:
    """The vectors of ``rows`` as one float32 matrix, gathered from Arrow's flat values
    by offset (no Python object per vector, and no Arrow ``take`` of a list column)."""
    if not rows:
        return np.empty((0, 0), np.float32)
    lists = column.combine_chunks()
    offsets = lists.offsets.to_numpy()
    values = lists.values.to_numpy(zero_copy_only=False)
    picked = np.asarray(rows, np.int64)
    starts = offsets[picked]
    lengths = offsets[picked + 1] - starts
    dim = int(lengths[0])
    if dim == 0 or np.any(lengths != dim):
        raise ArchiveError("the dataset's vectors are not all of one length")
    if len(rows) == len(lists) and starts[0] == 0 and starts[-1] == (len(rows) - 1) * dim:
        matrix = values[: len(rows) * dim].reshape(len(rows), dim)  # every row, in order
    else:
        matrix = values[starts[:, None] + np.arange(dim)]
    return np.asarray(matrix, np.float32)


def _under(path: str, root: str) -> str:
    """``path`` spelled under the root's canonical path, as a scan's walk would spell it."""
    real_dir = os.path.realpath(os.path.dirname(path))
    return os.path.join(real_dir, os.path.basename(path)) if not path.startswith(root) else path


def _here(
    path: str | None, size: int | None, mtime_ns: int | None, digest: str | None
) -> int | bool | None:
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


def _store(
    catalog: Catalog,
    rows: dict[str, list[Any]],
    good: list[_Item],
    bad: list[_Item],
    model_id: str,
    matrix: np.ndarray,
) -> tuple[list[int], list[int]]:
    """Insert or update a chunk's photos, vectors and fingerprints in one transaction
    (statements run over the whole chunk); returns the ids of ``good`` and of ``bad``."""
    stamp = now_iso()

    def values(item: _Item, ok: bool) -> tuple[Any, ...]:
        i = item.row
        return (
            item.root_id,
            item.folder,
            rows["size"][i],
            item.mtime_ns,
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
            item.path,
            stamp,
        )

    with catalog.transaction() as conn:
        photos, vectors = PhotoStore(conn), VectorStore(conn)
        photos.upsert([values(x, True) for x in good] + [values(x, False) for x in bad])
        found = photos.ids_of_paths([x.path for x in good + bad])
        good_ids = [found[x.path] for x in good]
        bad_ids = [found[x.path] for x in bad]
        vectors.put_blobs(model_id, zip(good_ids, encode_vectors(matrix), strict=False))
        vectors.drop(bad_ids)
        fingerprints.store(
            conn,
            [
                (
                    photo_id,
                    rows["content_hash"][x.row],
                    fingerprints.Fingerprint(
                        int(rows["phash"][x.row]),
                        float(rows["sharpness"][x.row]),
                        int(rows["sharp_side"][x.row]),
                        float(rows["colour"][x.row]),
                    ),
                )
                for x, photo_id in zip(good, good_ids, strict=True)
                if rows["phash"][x.row] is not None
            ],
        )
        catalog.bump_vectors_version(conn)
    return good_ids, bad_ids


@dataclass(frozen=True)
class LibraryWiring:
    """What an import needs from the library it goes into: its catalog, its model, and
    callbacks into its lock, its roots, its lazily opened index and the after-scan steps."""

    catalog: Catalog
    #: the library's model as the user names it, and its id (``model_id()`` may load it)
    model_spec: str
    model_id: Callable[[], str]
    #: the library's write lock, held for the whole import
    writing: Callable[[], AbstractContextManager]
    #: a folder as a root of the library: (root id, its path)
    add_root: Callable[[str], tuple[int, str]]
    index: Callable[[], VectorIndex]
    rebuild_index: Callable[[], object]
    save_index: Callable[[], None]
    #: what a scan does after embedding: the sun, the auto tags, the imported keywords
    update_sun: Callable[[ProgressCallback | None, Callable[[], bool] | None], object]
    autotag: Callable[[ProgressCallback | None, Callable[[], bool] | None], object]
    import_keywords: Callable[[list[int], ProgressCallback | None], Any]


def import_into_library(
    wiring: LibraryWiring,
    path: str | os.PathLike,
    mapping: Iterable[str] = (),
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ImportSummary:
    """Merge a ``photosort.spark`` Parquet output (its vectors: nothing is embedded
    again), then do what a scan does after embedding: sun, auto tags, keywords."""
    started = time.monotonic()
    catalog = wiring.catalog
    pairs = parse_mapping(list(mapping))
    dataset = open_dataset(path)
    models = dataset_models(dataset)
    if models and models != [wiring.model_id()]:
        hint = models[0] if not models[0].startswith("local:") else "SPEC (its local-dir:)"
        raise LibraryError(
            f"{path} holds vectors of {models[0]}, this library uses {wiring.model_id()}: "
            f"import into a library of that model (--model {hint})"
        )
    with wiring.writing():
        if models:
            with catalog.transaction() as conn:
                catalog.set_meta("model", wiring.model_spec, conn)
                catalog.set_meta("model_id", models[0], conn)
                catalog.set_meta("model_dim", str(vector_dim(dataset)), conn)
        roots: dict[str, tuple[int, str]] = {}

        def root_for(local: str, hint: str | None) -> tuple[int, str]:
            folder = root_folder(local, hint, pairs)
            if folder not in roots:
                roots[folder] = wiring.add_root(folder)
            return roots[folder]

        newest = newest_rows(dataset)
        at_end = index_at_end(newest.rows, catalog.count_vectors(wiring.model_id()))
        try:
            summary = import_dataset(
                catalog,
                None if at_end else wiring.index(),
                dataset,
                models[0] if models else wiring.model_id(),
                pairs,
                root_for,
                on_progress,
                should_cancel,
                newest=newest,
            )
        finally:
            if at_end:  # one build (IVF where the library is now large enough)
                wiring.rebuild_index()
            wiring.save_index()
        root_ids = sorted({r[0] for r in roots.values()})
        with catalog.transaction() as conn:
            kept_tags.restore(conn)
        wiring.index().remove(raw_pairs.link(catalog, root_ids).companion_ids or [])
        wiring.save_index()
        if not summary.cancelled:
            wiring.update_sun(on_progress, should_cancel)
            try:  # as after a scan: tags missing now are a warning, not a lost import
                wiring.autotag(on_progress, should_cancel)
            except (CategoryError, CatalogError, ModelError) as exc:
                summary.warnings.append(f"auto-tagging failed: {exc}")
            summary.warnings += wiring.import_keywords(root_ids, on_progress).warnings
    summary.seconds = time.monotonic() - started
    return summary
