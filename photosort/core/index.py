"""The FAISS vector index: a cache of the catalog's vectors, rebuilt whenever in doubt.

Ids in the index are catalog photo ids. The index file is written atomically and a
small JSON sidecar records which catalog ``vectors_version`` and model it mirrors;
any mismatch, a missing file or a corrupt one makes ``open_or_rebuild`` rebuild it
from SQLite.

The index type follows the library's size: exact search (``IndexIDMap2`` over
``IndexFlatIP``) below ``EXACT_LIMIT`` vectors, where it answers in a few ms; an
inverted file above it, where exact search would cost ~70 ms a query at 1M: its lists
hold fp16 codes (``IndexIVFScalarQuantizer`` QT_fp16, inner product, ids kept by FAISS
itself so removal works), half the memory of IVF-Flat (986 vs 1,963 MB at 1M) at the
same recall@10 (0.999 against exact search, issue 13). The benchmark suite reports IVF's
recall@10 against exact search (target >= 0.95).

An exact index opened ``mapped`` (as a library opens it) is read in place from its file;
what a scan adds waits in a small in-memory index and is appended to the file every few
MB (core/flat_file.py), so indexing 100k photos no longer holds all their vectors.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photosort.core import flat_file
from photosort.core.lazy_import import np

if TYPE_CHECKING:
    import faiss

    from photosort.core.catalog import Catalog
else:  # imported on first use: a rescan with nothing new or a status never needs it
    from photosort.core.lazy_import import lazy_module

    faiss = lazy_module("faiss")

log = logging.getLogger(__name__)

INDEX_FILENAME = "vectors.faiss"
META_FILENAME = "vectors.json"

#: Below this many vectors, search is exact; above it, IVF.
EXACT_LIMIT = 200_000
#: Fraction of the inverted lists probed per query (recall against speed).
IVF_PROBE_FRACTION = 1 / 10
#: Filtered queries allowing less than this fraction of the library probe every list.
IVF_EXHAUSTIVE_BELOW = 0.2
#: Vectors added to an exact index read in place wait in memory up to this many bytes (or a
#: 32nd of the file, so that a large file is not rewritten too often), then go to its file.
APPEND_BYTES = 4 << 20


@contextmanager
def _one_omp_thread() -> Iterator[None]:
    """Single queries are faster on one OpenMP thread (measured: see shared/anchors.md).

    Scoped, never global: torch shares the OpenMP runtime, and a process-wide setting
    halved the model's throughput.
    """
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


@dataclass(frozen=True)
class IndexMeta:
    model: str
    version: int
    count: int
    dim: int
    kind: str = "flat"


def ivf_lists(count: int) -> int:
    return int(min(4096, max(64, np.sqrt(max(count, 1)))))


class VectorIndex:
    """Inner-product search over normalised vectors, with stable photo ids."""

    _quantizer: Any  # an IVF index's coarse quantizer, kept alive with it

    def __init__(
        self, dim: int, index: faiss.Index | None = None, base: flat_file.FlatFile | None = None
    ):
        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.kind = (
            "ivf" if isinstance(faiss.downcast_index(self._index), faiss.IndexIVF) else "flat"
        )
        if self.kind == "ivf":
            ivf = faiss.extract_index_ivf(self._index)
            ivf.nprobe = max(8, int(ivf.nlist * IVF_PROBE_FRACTION))
        #: An exact index read in place from its file (see ``load`` and core/flat_file.py):
        #: ``_index`` then holds only the vectors added since, until they join the file.
        self._base = base
        #: The ids (sorted) whose vectors in ``_base`` no longer count: removed or replaced
        #: since the file was written. Searches and pieces skip them; the file's next write
        #: leaves them out. Never changed in place: a reader may hold the array it read.
        self._dropped: np.ndarray = np.empty(0, np.int64)
        #: ``_index`` is FAISS's view of a mapped file (where files cannot be read in place)
        self._view = False
        self.dirty = False
        # The GUI searches while a scan adds vectors: FAISS is not safe for that unguarded.
        self._lock = threading.RLock()

    @property
    def mapped(self) -> bool:
        """The stored vectors are read from the file in place, not held in memory."""
        return self._base is not None or self._view

    def _writable(self) -> None:
        """Copy a mapped view into memory before a change: FAISS aborts the process (a C++
        assertion, no exception) when a mapped index is changed. A file read in place
        needs no copy: its removed vectors are skipped (``_dropped``)."""
        if self._view:
            self._own()

    def _own(self) -> None:
        """Read a file read in place (or mapped) into memory."""
        if self._view:
            self._index = faiss.deserialize_index(faiss.serialize_index(self._index))
            self._view = False
        base = self._base
        if base is not None:
            owned = base.read_whole()
            if len(self._dropped):
                owned.remove_ids(faiss.IDSelectorArray(self._dropped))
            added = self._index
            if added.ntotal:
                ids, vectors = _flat_rows(added, 0, int(added.ntotal))
                owned.add_with_ids(vectors, ids)
            self._index, self._base = owned, None  # a reader of pieces may still read base
            self._dropped = np.empty(0, np.int64)

    def _append_to_file(self) -> None:
        """Move the vectors added since into the file once they pass ``APPEND_BYTES``, so
        that indexing holds a few MB of them whatever the library's size."""
        base = self._base
        if base is None:
            return
        held = int(self._index.ntotal) * self.dim * 4
        if held < max(APPEND_BYTES, base.nbytes // 32):
            return
        try:
            self._write_file(base.path)
        except (OSError, RuntimeError, ValueError) as exc:  # a full disk: they stay in memory
            log.info("could not append to the vector index file (%s)", exc)
            self._own()

    def _write_file(self, target: Path) -> None:
        """Write this index to ``target``: by appending to its file when it is read in place
        (that file becomes the one read from ``target`` on), else by FAISS."""
        base = self._base
        if base is None:
            _atomic_write(target, lambda p: faiss.write_index(self._index, p))
            return
        added, dropped = self._index, self._dropped
        if not added.ntotal and not len(dropped) and base.is_at(target):
            return  # the file there already holds every vector
        ids, vectors = _flat_rows(added, 0, int(added.ntotal))
        _atomic_write(target, lambda p: base.write_grown(p, ids, vectors, dropped))
        if target == base.path:
            self._base = flat_file.FlatFile(target, self.dim)
            self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
            self._dropped = np.empty(0, np.int64)

    @property
    def full_precision_lists(self) -> bool:
        """An IVF-Flat file of an older photosort: twice the memory of fp16 lists."""
        return self.kind == "ivf" and isinstance(
            faiss.downcast_index(faiss.extract_index_ivf(self._index)), faiss.IndexIVFFlat
        )

    @property
    def count(self) -> int:
        with self._lock:  # the file, what it skips and what waits in memory: one state
            base = self._base
            held = base.count - len(self._dropped) if base is not None else 0
            return int(self._index.ntotal) + held

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace the vectors of ``ids``."""
        if len(ids) == 0:
            return
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        with self._lock:
            self._writable()
            self.remove(ids)
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
            self.dirty = True
            self._append_to_file()

    def remove(self, ids: Iterable[int]) -> None:
        arr = np.ascontiguousarray(np.fromiter(ids, dtype=np.int64))
        with self._lock:
            if len(arr) and self.count:
                self._writable()
                base = self._base
                if base is not None:
                    fresh = arr[base.holds(arr) & ~np.isin(arr, self._dropped)]
                    if len(fresh):
                        self._dropped = np.union1d(self._dropped, fresh)
                        self.dirty = True
                if not self._index.ntotal:
                    return
                # IVF with a hashtable direct map accepts only an array selector.
                removed = self._index.remove_ids(faiss.IDSelectorArray(arr))
                self.dirty = self.dirty or removed > 0

    @classmethod
    def ivf(cls, dim: int, sample: np.ndarray, lists: int) -> VectorIndex:
        """An empty IVF index trained on ``sample`` (a few dozen vectors per list)."""
        quantizer = faiss.IndexFlatIP(dim)
        ivf = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, lists, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        # The lists hold the vectors themselves (not their offsets from the list's centroid):
        # tagging reads them back with a plain fp16 to fp32 conversion (see ``chunks``).
        ivf.by_residual = False
        ivf.cp.niter = 10
        ivf.train(np.ascontiguousarray(sample, dtype=np.float32))
        # reconstruct + remove by id (faiss's bundled hints miss DirectMap and search params)
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        index = cls(dim, ivf)
        index._quantizer = quantizer  # keep the Python wrapper alive as long as the index
        return index

    def chunks(self, batch: int = 8192) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every stored vector as (ids, float32 matrix) pieces of about ``batch`` rows, read
        straight from the index's own storage: tagging and label previews score a 1M
        library a piece at a time instead of holding a second copy of all its vectors
        (2 GB at 1M, issue 13). Each piece is a copy made under the lock; a writer between
        pieces bumps the catalog's vectors version, which the tag writer checks."""
        if self.kind == "flat":
            with self._lock:  # the file's pieces are file reads: its version never changes
                base, dropped = self._base, self._dropped
            for start in range(0, base.count if base is not None else 0, batch):
                assert base is not None
                stop = min(start + batch, base.count)
                ids, vectors = base.ids(start, stop), base.vectors(start, stop)
                if len(dropped):
                    kept = ~np.isin(ids, dropped)
                    ids, vectors = ids[kept], vectors[kept]
                yield ids, vectors
            for start in range(0, int(self._index.ntotal), batch):
                with self._lock:
                    total = int(self._index.ntotal)
                    if start >= total:
                        return
                    piece = _flat_rows(self._index, start, min(start + batch, total))
                yield piece
            return
        ids_parts: list[np.ndarray] = []
        mat_parts: list[np.ndarray] = []
        pending = 0
        for list_no in range(faiss.extract_index_ivf(self._index).nlist):
            with self._lock:
                ids, matrix = self._ivf_list(list_no)
            if len(ids):
                ids_parts.append(ids)
                mat_parts.append(matrix)
                pending += len(ids)
            if pending >= batch:
                yield np.concatenate(ids_parts), np.concatenate(mat_parts)
                ids_parts, mat_parts, pending = [], [], 0
        if pending:
            yield np.concatenate(ids_parts), np.concatenate(mat_parts)

    def _ivf_list(self, list_no: int) -> tuple[np.ndarray, np.ndarray]:
        """One inverted list's ids and vectors (fp16 codes, or an older file's residuals)."""
        ivf: Any = faiss.downcast_index(faiss.extract_index_ivf(self._index))
        lists = ivf.invlists
        n = int(lists.list_size(list_no))
        if n == 0:
            return np.empty(0, np.int64), np.empty((0, self.dim), np.float32)
        ids = faiss.rev_swig_ptr(lists.get_ids(list_no), n).astype(np.int64)
        codes = faiss.rev_swig_ptr(lists.get_codes(list_no), n * ivf.code_size).copy()
        if isinstance(ivf, faiss.IndexIVFScalarQuantizer) and not ivf.by_residual:
            matrix = codes.view("<f2").reshape(n, self.dim).astype(np.float32)
        else:
            matrix = np.asarray(ivf.sa_decode(_with_list_no(ivf, list_no, codes, n)))
        return ids, matrix.reshape(n, self.dim)

    def contains(self, photo_id: int) -> bool:
        with self._lock:
            base = self._base
            one = np.array([photo_id], np.int64)
            if base is not None and base.holds_any(one) and not np.isin(one, self._dropped)[0]:
                return True
            try:
                self._index.reconstruct(int(photo_id))
            except RuntimeError:
                return False
        return True

    def search(
        self, query: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` (ids, scores) for one query vector, optionally among ``allowed_ids``."""
        if self.count == 0 or k <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        selector = None
        if allowed_ids is not None:
            if len(allowed_ids) == 0:
                return np.empty(0, np.int64), np.empty(0, np.float32)
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed_ids, dtype=np.int64))
        if self.kind == "ivf":
            ivf = faiss.extract_index_ivf(self._index)
            narrow = (
                allowed_ids is not None and len(allowed_ids) < IVF_EXHAUSTIVE_BELOW * self.count
            )
            # A narrow filter could leave the probed lists empty: scan them all instead.
            params: faiss.SearchParameters | None = faiss.SearchParametersIVF(  # type: ignore[call-arg]
                nprobe=ivf.nlist if narrow else ivf.nprobe, sel=selector
            )
        else:
            params = (
                faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
                if selector is not None
                else None
            )
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        with self._lock, _one_omp_thread():
            base = self._base
            found = []
            if base is not None and base.count > len(self._dropped):
                base_params, keep_alive = self._skipping_dropped(selector, params)
                mapped = base.mapped_index()
                found.append(mapped.search(q, min(k, mapped.ntotal), params=base_params))
                del keep_alive
            if self._index.ntotal:
                found.append(self._index.search(q, min(k, self._index.ntotal), params=params))
            if not found:
                return np.empty(0, np.int64), np.empty(0, np.float32)
        scores = np.concatenate([s[0] for s, _ in found])
        ids = np.concatenate([i[0] for _, i in found])
        keep = ids >= 0
        ids, scores = ids[keep], scores[keep]
        if len(found) > 1:  # the file's best and the added ones' best, merged
            order = np.argsort(-scores, kind="stable")[:k]
            ids, scores = ids[order], scores[order]
        return ids, scores

    def _skipping_dropped(self, selector: Any, params: Any) -> tuple[Any, list[Any]]:
        """The file's search parameters: ``selector``, less the ids dropped from it, and
        the selectors to keep alive while FAISS uses them (it holds raw pointers)."""
        if not len(self._dropped):
            return params, []
        dropped = faiss.IDSelectorBatch(self._dropped)
        not_dropped = faiss.IDSelectorNot(dropped)
        parts: list[Any] = [dropped, not_dropped]
        if selector is not None:
            parts.append(faiss.IDSelectorAnd(selector, not_dropped))
        return faiss.SearchParameters(sel=parts[-1]), parts  # type: ignore[call-arg]

    def meta(self, model: str, version: int) -> IndexMeta:
        return IndexMeta(model, version, self.count, self.dim, self.kind)

    # -- persistence --------------------------------------------------------------
    def save(self, folder: Path, meta: IndexMeta) -> None:
        """Write index then sidecar, each via temp file + rename, so a crash leaves old or new."""
        folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._write_file(folder / INDEX_FILENAME)
        _atomic_write(
            folder / META_FILENAME,
            lambda p: Path(p).write_text(json.dumps(meta.__dict__)),
        )
        self.dirty = False

    @classmethod
    def load(cls, folder: Path, mapped: bool = False) -> tuple[VectorIndex, IndexMeta]:
        """``mapped``: an exact index is read in place from its file, not into memory (a
        cold search of 100k photos: 0.03 s to open instead of 0.25 s, the same answers; a
        scan adds to it holding a few MB, see core/flat_file.py). The file is only ever
        replaced by a rename, so what was opened keeps the version it opened."""
        meta = IndexMeta(**json.loads((folder / META_FILENAME).read_text()))
        path = folder / INDEX_FILENAME
        if mapped and meta.kind == "flat" and flat_file.supported():
            base = flat_file.FlatFile(path, meta.dim)
            if base.count != meta.count:
                base.close()
                raise ValueError("index file does not match its sidecar")
            return cls(meta.dim, base=base), meta
        as_view = mapped and meta.kind == "flat"  # where a file cannot be read in place
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if as_view else 0)
        if index.d != meta.dim or index.ntotal != meta.count:
            raise ValueError("index file does not match its sidecar")
        loaded = cls(meta.dim, index)
        loaded._view = as_view
        if loaded.kind != meta.kind:
            raise ValueError("index file type does not match its sidecar")
        return loaded, meta


def open_or_rebuild(
    folder: Path, catalog: Catalog, model: str, dim: int, mapped: bool = False
) -> VectorIndex:
    """The index for ``model``, loaded if it mirrors the catalog exactly, else rebuilt
    (``mapped``: see ``VectorIndex.load``)."""
    version = catalog.vectors_version()
    expected = catalog.count_vectors(model)
    try:
        index, meta = VectorIndex.load(folder, mapped)
        current = (meta.model, meta.version, meta.count, meta.dim)
        if (
            current == (model, version, expected, dim)
            and index.kind == _kind_for(expected)
            and not index.full_precision_lists
        ):
            return index
        log.info("vector index is stale; rebuilding from the catalog")
    except FileNotFoundError:
        log.info("no vector index yet; building it from the catalog")
    except Exception as exc:  # corrupt or truncated file
        log.warning("vector index unreadable (%s); rebuilding from the catalog", exc)
    return rebuild(folder, catalog, model, dim, mapped)


def _kind_for(count: int) -> str:
    """Exact while small; IVF once large (kept until the library shrinks well below)."""
    return "ivf" if count >= EXACT_LIMIT else "flat"


def rebuild(
    folder: Path, catalog: Catalog, model: str, dim: int, mapped: bool = False
) -> VectorIndex:
    """A fresh index of the type the library's size calls for, from the stored vectors
    (``mapped``: an exact one is then read in place from the file written, see ``load``)."""
    count = catalog.count_vectors(model)
    if _kind_for(count) == "ivf":
        lists = ivf_lists(count)
        index = VectorIndex.ivf(dim, catalog.sample_vectors(model, lists * 40), lists)
    else:
        index = VectorIndex(dim)
    for ids, vectors in catalog.vectors(model):
        if vectors.shape[1] == dim:
            index._index.add_with_ids(vectors, ids)
    try:
        index.save(folder, index.meta(model, catalog.vectors_version()))
        if mapped and index.kind == "flat" and flat_file.supported():
            return VectorIndex.load(folder, mapped=True)[0]
    except (OSError, RuntimeError, ValueError) as exc:  # a read-only or full disk: a cache
        log.info("could not save the vector index (%s); using it from memory", exc)
    return index


def _flat_rows(index: Any, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``start:stop`` of an in-memory exact index as (ids, float32 matrix), copies."""
    flat: Any = faiss.downcast_index(index.index)  # IndexIDMap2: faiss's hints lack its fields
    dim = int(flat.d)
    if stop <= start:
        return np.empty(0, np.int64), np.empty((0, dim), np.float32)
    every = faiss.rev_swig_ptr(flat.get_xb(), int(flat.ntotal) * dim)
    matrix = every[start * dim : stop * dim].reshape(-1, dim).copy()
    ids = faiss.vector_to_array(index.id_map)[start:stop].astype(np.int64)
    return ids, matrix


def _with_list_no(ivf: Any, list_no: int, codes: np.ndarray, n: int) -> np.ndarray:
    """``codes`` of one list in ``sa_decode``'s layout: each prefixed with its list number."""
    prefix = np.frombuffer(np.array([list_no], "<i8").tobytes()[: ivf.coarse_code_size()], np.uint8)
    rows = codes.reshape(n, ivf.code_size)
    return np.ascontiguousarray(np.hstack([np.tile(prefix, (n, 1)), rows]))


def remove_leftovers(folder: Path) -> int:
    """Delete the temp files of a writer killed mid-save (a scan appends to an exact index
    every few MB, so a kill often leaves one, as big as the index). Called under the write
    lock; a reader saving the index it rebuilt at that moment loses its save and keeps the
    index in memory (``rebuild`` catches it). The index is a cache: nothing in them is
    needed."""
    removed = 0
    for name in (INDEX_FILENAME, META_FILENAME):
        for leftover in folder.glob(name + ".*.tmp"):
            leftover.unlink(missing_ok=True)
            removed += 1
    return removed


def _atomic_write(target: Path, write: Callable[[str], object]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
