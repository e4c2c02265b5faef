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

    def __init__(self, dim: int, index: faiss.Index | None = None):
        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self.kind = (
            "ivf" if isinstance(faiss.downcast_index(self._index), faiss.IndexIVF) else "flat"
        )
        if self.kind == "ivf":
            ivf = faiss.extract_index_ivf(self._index)
            ivf.nprobe = max(8, int(ivf.nlist * IVF_PROBE_FRACTION))
        self.dirty = False
        #: the vectors are a read-only view of the file (see ``load``): copied before a change
        self.mapped = False
        # The GUI searches while a scan adds vectors: FAISS is not safe for that unguarded.
        self._lock = threading.RLock()

    def _own(self) -> None:
        """Copy a mapped index into memory before it changes: FAISS aborts the process
        (a C++ assertion, no exception) when a mapped index is added to or removed from."""
        if self.mapped:
            self._index = faiss.deserialize_index(faiss.serialize_index(self._index))
            self.mapped = False

    @property
    def full_precision_lists(self) -> bool:
        """An IVF-Flat file of an older photosort: twice the memory of fp16 lists."""
        return self.kind == "ivf" and isinstance(
            faiss.downcast_index(faiss.extract_index_ivf(self._index)), faiss.IndexIVFFlat
        )

    @property
    def count(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace the vectors of ``ids``."""
        if len(ids) == 0:
            return
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        with self._lock:
            self._own()
            self.remove(ids)
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
            self.dirty = True

    def remove(self, ids: Iterable[int]) -> None:
        arr = np.ascontiguousarray(np.fromiter(ids, dtype=np.int64))
        with self._lock:
            if len(arr) and self.count:
                self._own()
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
            for start in range(0, self.count, batch):
                with self._lock:
                    id_map: Any = self._index  # IndexIDMap2: faiss's hints lack its fields
                    flat: Any = faiss.downcast_index(id_map.index)
                    total = int(flat.ntotal)
                    if start >= total:
                        return
                    stop = min(start + batch, total)
                    every = faiss.rev_swig_ptr(flat.get_xb(), total * self.dim)
                    matrix = every[start * self.dim : stop * self.dim].reshape(-1, self.dim).copy()
                    ids = faiss.vector_to_array(id_map.id_map)[start:stop].astype(np.int64)
                yield ids, matrix
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
            scores, ids = self._index.search(q, min(k, self.count), params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def meta(self, model: str, version: int) -> IndexMeta:
        return IndexMeta(model, version, self.count, self.dim, self.kind)

    # -- persistence --------------------------------------------------------------
    def save(self, folder: Path, meta: IndexMeta) -> None:
        """Write index then sidecar, each via temp file + rename, so a crash leaves old or new."""
        folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            _atomic_write(folder / INDEX_FILENAME, lambda p: faiss.write_index(self._index, p))
        _atomic_write(
            folder / META_FILENAME,
            lambda p: Path(p).write_text(json.dumps(meta.__dict__)),
        )
        self.dirty = False

    @classmethod
    def load(cls, folder: Path, mapped: bool = False) -> tuple[VectorIndex, IndexMeta]:
        """``mapped``: an exact index is mapped from its file, not read into memory (a cold
        search of 100k photos: 0.03 s to open instead of 0.25 s, the same answers); for a
        reader, whose index only changes if it is rebuilt. The file is only ever replaced
        by a rename, so a mapping keeps the version it opened."""
        meta = IndexMeta(**json.loads((folder / META_FILENAME).read_text()))
        as_view = mapped and meta.kind == "flat"
        flags = faiss.IO_FLAG_MMAP_IFC if as_view else 0
        index = faiss.read_index(str(folder / INDEX_FILENAME), flags)
        if index.d != meta.dim or index.ntotal != meta.count:
            raise ValueError("index file does not match its sidecar")
        loaded = cls(meta.dim, index)
        loaded.mapped = as_view
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
    return rebuild(folder, catalog, model, dim)


def _kind_for(count: int) -> str:
    """Exact while small; IVF once large (kept until the library shrinks well below)."""
    return "ivf" if count >= EXACT_LIMIT else "flat"


def rebuild(folder: Path, catalog: Catalog, model: str, dim: int) -> VectorIndex:
    """A fresh index of the type the library's size calls for, from the stored vectors."""
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
    except (OSError, RuntimeError) as exc:  # a read-only or full disk: it is only a cache
        log.info("could not save the vector index (%s); using it from memory", exc)
    return index


def _with_list_no(ivf: Any, list_no: int, codes: np.ndarray, n: int) -> np.ndarray:
    """``codes`` of one list in ``sa_decode``'s layout: each prefixed with its list number."""
    prefix = np.frombuffer(np.array([list_no], "<i8").tobytes()[: ivf.coarse_code_size()], np.uint8)
    rows = codes.reshape(n, ivf.code_size)
    return np.ascontiguousarray(np.hstack([np.tile(prefix, (n, 1)), rows]))


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
