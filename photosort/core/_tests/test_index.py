"""The vector index: exact and IVF kinds, ids that follow the catalog, filters, persistence."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from photosort.core import index as vindex
from photosort.core.index import VectorIndex


def _clustered(n: int, d: int = 64, seed: int = 0) -> np.ndarray:
    """CLIP-like vectors: a shared direction, a topic, and per-photo detail."""
    rng = np.random.default_rng(seed)

    def unit(a):
        return a / np.linalg.norm(a, axis=-1, keepdims=True)

    topics = unit(rng.normal(size=(40, d)))
    x = unit(
        0.8 * unit(rng.normal(size=d))
        + topics[rng.integers(0, 40, n)]
        + 0.9 * unit(rng.normal(size=(n, d)))
    )
    return x.astype(np.float32)


class FakeCatalog:
    """Just the catalog calls the index makes, over an in-memory matrix."""

    def __init__(self, vectors: np.ndarray, ids: np.ndarray, version: int = 3):
        self.mat, self.ids, self.version = vectors, ids, version

    def vectors_version(self) -> int:
        return self.version

    def count_vectors(self, model: str) -> int:
        return len(self.ids)

    def vectors(self, model: str, batch: int = 1000):
        for start in range(0, len(self.ids), batch):
            yield self.ids[start : start + batch], self.mat[start : start + batch]

    def sample_vectors(self, model: str, n: int) -> np.ndarray:
        return self.mat[:n]


@pytest.mark.parametrize("exact_limit", [10**9, 1000])  # exact, then IVF
def test_rebuild_search_remove_and_reload(tmp_path, monkeypatch, exact_limit):
    monkeypatch.setattr(vindex, "EXACT_LIMIT", exact_limit)
    x = _clustered(5000)
    ids = np.arange(5000, dtype=np.int64) * 7 + 1
    catalog = FakeCatalog(x, ids)
    index = vindex.rebuild(tmp_path, catalog, "m", 64)
    assert index.kind == ("flat" if exact_limit > 5000 else "ivf")
    exact = VectorIndex(64)
    exact.add(ids, x)

    recalls = []
    for q in x[:50]:
        got, scores = index.search(q, 10)
        want, _ = exact.search(q, 10)
        recalls.append(len(set(got) & set(want)) / 10)
        assert list(scores) == sorted(scores, reverse=True)
    assert np.mean(recalls) >= 0.95

    index.remove(ids[:100])
    assert index.count == 4900 and not index.contains(int(ids[0])) and index.contains(int(ids[100]))
    allowed = ids[100:400:3]
    got, _ = index.search(x[200], 10, allowed)
    assert set(got) <= set(allowed) and len(got) == 10

    index.save(tmp_path, index.meta("m", 3))
    catalog.ids, catalog.mat = ids[100:], x[100:]
    again = vindex.open_or_rebuild(tmp_path, catalog, "m", 64)
    assert again.kind == index.kind and again.count == 4900
    assert list(again.search(x[300], 5)[0]) == list(index.search(x[300], 5)[0])


def test_stale_or_corrupt_file_is_rebuilt(tmp_path):
    x = _clustered(300)
    catalog = FakeCatalog(x, np.arange(300, dtype=np.int64))
    vindex.rebuild(tmp_path, catalog, "m", 64)
    catalog.version = 4  # the catalog changed after the index was saved
    assert vindex.open_or_rebuild(tmp_path, catalog, "m", 64).count == 300
    (tmp_path / vindex.INDEX_FILENAME).write_bytes(b"\0" * 50)
    assert vindex.open_or_rebuild(tmp_path, catalog, "m", 64).count == 300
    assert not list(tmp_path.glob("*.tmp"))


def test_a_large_index_keeps_fp16_lists_at_exact_recall(tmp_path, monkeypatch):
    """Half the memory of IVF-Flat at 1M (issue 13); probing every list finds what exact
    search finds, so fp16 codes cost no recall; an old IVF-Flat file is rebuilt."""
    monkeypatch.setattr(vindex, "EXACT_LIMIT", 1000)
    x = _clustered(3000)
    ids = np.arange(3000, dtype=np.int64) + 1
    catalog = FakeCatalog(x, ids)
    index = vindex.rebuild(tmp_path, catalog, "m", 64)
    ivf = faiss.extract_index_ivf(index._index)
    assert ivf.code_size == 2 * 64 and not index.full_precision_lists
    exact = VectorIndex(64)
    exact.add(ids, x)
    ivf.nprobe = ivf.nlist
    recalls = [len(set(index.search(q, 10)[0]) & set(exact.search(q, 10)[0])) / 10 for q in x[:100]]
    assert np.mean(recalls) >= 0.99

    flat_lists = faiss.IndexIVFFlat(faiss.IndexFlatIP(64), 64, 16, faiss.METRIC_INNER_PRODUCT)
    flat_lists.train(x)
    flat_lists.set_direct_map_type(faiss.DirectMap.Hashtable)
    old = VectorIndex(64, flat_lists)
    old.add(ids, x)
    old.save(tmp_path, old.meta("m", 3))
    assert old.full_precision_lists
    assert not vindex.open_or_rebuild(tmp_path, catalog, "m", 64).full_precision_lists


@pytest.mark.parametrize("kind", ["flat", "ivf", "ivf_residual"])
def test_chunks_give_back_every_vector_once(kind: str) -> None:
    """Tagging reads the vectors from the index in pieces: each photo once, its vector
    as stored (fp16 lists to within fp16 rounding; an older file's residual lists too)."""
    x = _clustered(3000, d=32, seed=4)
    ids = np.arange(3000, dtype=np.int64) * 5 + 2
    if kind == "flat":
        index = VectorIndex(32)
    elif kind == "ivf":
        index = VectorIndex.ivf(32, x, 32)
    else:  # a file written before the lists held plain vectors
        quantizer = faiss.IndexFlatIP(32)
        ivf = faiss.IndexIVFScalarQuantizer(
            quantizer, 32, 32, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        ivf.train(x)
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        index = VectorIndex(32, ivf)
        index._quantizer = quantizer
    index.add(ids, x)
    index.remove([7, 12])  # ids 7 and 12: the 2nd and 3rd vectors
    pieces = list(index.chunks(batch=500))
    assert all(len(i) <= 600 for i, _ in pieces[:-1]) and len(pieces) >= 5
    got_ids = np.concatenate([i for i, _ in pieces])
    got = np.concatenate([m for _, m in pieces])
    order = np.argsort(got_ids)
    keep = ~np.isin(ids, [7, 12])
    np.testing.assert_array_equal(got_ids[order], ids[keep])
    np.testing.assert_allclose(got[order], x[keep], atol=1e-3 if kind != "flat" else 0)


@pytest.mark.parametrize("in_place", [True, False])  # False: where files are only mapped
def test_a_reader_maps_the_file_and_may_still_change_it(tmp_path, monkeypatch, in_place):
    """A read-only library maps an exact index (a cold search opens it without reading
    it); the answers are the same, and a change leaves the file alone: a file read in place
    skips what was removed, and FAISS's mapped view (where files cannot be read in place)
    is copied first, as FAISS aborts the whole process on a change to a mapped index."""
    monkeypatch.setattr(vindex.flat_file, "supported", lambda: in_place)
    x = _clustered(400)
    ids = np.arange(400, dtype=np.int64) + 1
    catalog = FakeCatalog(x, ids)
    vindex.rebuild(tmp_path, catalog, "m", 64)
    read = vindex.open_or_rebuild(tmp_path, catalog, "m", 64)
    mapped = vindex.open_or_rebuild(tmp_path, catalog, "m", 64, mapped=True)
    assert mapped.mapped and not read.mapped
    assert list(mapped.search(x[7], 10)[0]) == list(read.search(x[7], 10)[0])
    mapped.remove(ids[:10])
    mapped.add(np.array([9999], np.int64), x[:1])
    assert mapped.mapped == in_place and mapped.count == 391 and mapped.contains(9999)
    assert not mapped.contains(int(ids[0])) and int(ids[0]) not in mapped.search(x[0], 20)[0]
    assert read.count == 400  # the file and what read it are untouched
    added = vindex.open_or_rebuild(tmp_path, catalog, "m", 64, mapped=True)
    added.add(np.array([10001], np.int64), x[1:2])  # an addition alone, too
    assert added.count == 401 and added.contains(10001) and read.count == 400
    (tmp_path / vindex.INDEX_FILENAME).write_bytes(b"\0" * 50)
    assert vindex.open_or_rebuild(tmp_path, catalog, "m", 64, mapped=True).count == 400


def test_a_scan_grows_the_file_in_place_with_the_same_answers(tmp_path, monkeypatch):
    """A writer reading its exact index in place keeps only the vectors added since the
    file was written and appends them to the file in steps (issue 13: indexing 100k photos
    held all their vectors); FAISS reads every file written, the answers equal an index
    held in memory, and removing or replacing a stored vector copies nothing into memory:
    the file's copy is skipped until the file is next written, without it."""
    monkeypatch.setattr(vindex, "APPEND_BYTES", 64 * 4 * 100)  # every 100 vectors of 64-d
    x = _clustered(1000)
    ids = np.arange(1000, dtype=np.int64) * 3 + 5
    catalog = FakeCatalog(x[:0], ids[:0])
    index = vindex.open_or_rebuild(tmp_path, catalog, "m", 64, mapped=True)
    exact = VectorIndex(64)
    for start in range(0, 1000, 32):
        index.add(ids[start : start + 32], x[start : start + 32])
        exact.add(ids[start : start + 32], x[start : start + 32])
        assert index._index.ntotal < 132  # held in memory: at most one step's worth
    on_disk = faiss.read_index(str(tmp_path / vindex.INDEX_FILENAME))
    assert on_disk.ntotal >= 900 and index.count == 1000 and index.mapped
    for q in x[::97]:
        assert list(index.search(q, 10)[0]) == list(exact.search(q, 10)[0])
        allowed = ids[::7]
        assert list(index.search(q, 10, allowed)[0]) == list(exact.search(q, 10, allowed)[0])
    got = [(i, m) for i, m in index.chunks(batch=128)]
    np.testing.assert_array_equal(np.concatenate([i for i, _ in got]), ids)
    np.testing.assert_array_equal(np.concatenate([m for _, m in got]), x)
    assert index.contains(int(ids[0])) and index.contains(int(ids[-1])) and not index.contains(6)

    index.save(tmp_path, index.meta("m", 4))
    catalog.ids, catalog.mat, catalog.version = ids, x, 4
    again = vindex.open_or_rebuild(tmp_path, catalog, "m", 64, mapped=True)
    assert again.count == 1000 and again.mapped
    assert list(again.search(x[3], 10)[0]) == list(exact.search(x[3], 10)[0])
    whole = faiss.read_index(str(tmp_path / vindex.INDEX_FILENAME))
    np.testing.assert_array_equal(faiss.vector_to_array(whole.id_map), ids)

    again.remove(ids[:10])  # skipped where they are: the file is not read into memory
    again.add(ids[20:21], -x[21:22])  # replaces a stored vector
    again.remove(ids[30:31])
    again.add(ids[30:31], x[30:31])  # removed, then back
    again.remove(np.array([6, 7], np.int64))  # never there: nothing changes
    exact.remove(ids[:10])
    exact.add(ids[20:21], -x[21:22])
    assert again.mapped and again._index.ntotal == 2 and again.count == exact.count == 990

    def same_answers(index: VectorIndex) -> None:
        for q in [*x[::53], x[21], -x[21]]:
            assert list(index.search(q, 10)[0]) == list(exact.search(q, 10)[0])
            allowed = ids[::3]
            assert list(index.search(q, 10, allowed)[0]) == list(exact.search(q, 10, allowed)[0])
        got = {
            int(i): m
            for part_ids, mat in index.chunks(batch=128)
            for i, m in zip(part_ids, mat, strict=True)
        }
        assert sorted(got) == sorted(int(i) for i in ids[10:])
        np.testing.assert_array_equal(got[int(ids[20])], -x[21])
        assert not index.contains(int(ids[0])) and index.contains(int(ids[20]))

    same_answers(again)
    again.save(tmp_path, again.meta("m", 5))  # written without the skipped ones
    whole = faiss.read_index(str(tmp_path / vindex.INDEX_FILENAME))
    assert whole.ntotal == 990
    assert sorted(faiss.vector_to_array(whole.id_map)) == sorted(ids[10:].tolist())
    assert again.mapped and not len(again._dropped) and again._index.ntotal == 0
    same_answers(again)
    catalog.ids, catalog.mat, catalog.version = ids[10:], x[10:].copy(), 5
    catalog.mat[10] = -x[21]  # ids[20]'s new vector
    reopened = vindex.open_or_rebuild(tmp_path, catalog, "m", 64, mapped=True)
    assert reopened.mapped and reopened.count == 990
    same_answers(reopened)


def test_a_scan_killed_between_appends_loses_nothing(tmp_path, monkeypatch):
    """Vectors appended to the file without a saved sidecar (a killed scan) make the next
    open rebuild from the catalog, which holds every vector."""
    monkeypatch.setattr(vindex, "APPEND_BYTES", 64 * 4 * 50)
    x = _clustered(300)
    ids = np.arange(300, dtype=np.int64) + 1
    catalog = FakeCatalog(x[:100], ids[:100])
    index = vindex.rebuild(tmp_path, catalog, "m", 64, mapped=True)
    assert index.mapped
    index.add(ids[100:], x[100:])  # appended to the file; the sidecar still says 100
    assert faiss.read_index(str(tmp_path / vindex.INDEX_FILENAME)).ntotal == 300
    catalog.ids, catalog.mat, catalog.version = ids, x, 5
    reopened = vindex.open_or_rebuild(tmp_path, catalog, "m", 64, mapped=True)
    assert reopened.count == 300
    assert list(reopened.search(x[250], 3)[0])[0] == 251
