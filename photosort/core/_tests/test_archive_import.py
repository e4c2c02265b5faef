"""Importing a cluster's Parquet index (core/archive_import.py), without Spark: rows are
written here the way ``photosort.spark`` writes them, with the cluster's own paths."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import draw_photo
from photosort.core.archive_import import COLUMNS, ArchiveError, map_path, parse_mapping
from photosort.core.errors import PhotosortError


def _cluster_rows(lib, prefix: str, local: str, model: str | None = None) -> list[dict]:
    """The library's photos as a cluster under ``prefix`` would have written them:
    its own paths, and the object store's upload time as mtime."""
    rows = []
    for photo in lib.catalog.query("SELECT * FROM photos ORDER BY id"):
        vector = lib.catalog.vector_of(photo["id"], lib.model_id)
        rows.append(
            {
                "path": prefix + photo["path"][len(local) :],
                "root": prefix,
                "size": photo["size"],
                "mtime_ns": 1_700_000_000_000_000_000,
                "content_hash": photo["content_hash"],
                "width": photo["width"],
                "height": photo["height"],
                "taken_at": photo["taken_at"],
                "camera": photo["camera"],
                "gps_lat": photo["gps_lat"],
                "gps_lon": photo["gps_lon"],
                "phash": None,
                "sharpness": None,
                "sharp_side": None,
                "colour": None,
                "model": model or lib.model_id,
                "vector": None if vector is None else vector.tolist(),
                "error": photo["error"],
                "failure_kind": photo["failure_kind"],
                "indexed_at": "2026-01-01T00:00:00+00:00",
            }
        )
    return rows


def _write(rows: list[dict], path) -> str:
    table = pa.Table.from_pylist(rows, schema=_schema())
    os.makedirs(path, exist_ok=True)
    pq.write_table(table, os.path.join(path, "part-0.parquet"))
    return str(path)


def _schema() -> pa.Schema:
    types = {
        "size": pa.int64(),
        "mtime_ns": pa.int64(),
        "width": pa.int32(),
        "height": pa.int32(),
        "gps_lat": pa.float64(),
        "gps_lon": pa.float64(),
        "phash": pa.int64(),
        "sharpness": pa.float64(),
        "sharp_side": pa.int32(),
        "colour": pa.float64(),
        "vector": pa.list_(pa.float32()),
    }
    return pa.schema([(name, types.get(name, pa.string())) for name in COLUMNS])


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, tiny_model):
    """One scanned folder for the module (each test imports it into its own library)."""
    from photosort.core.library import Library

    folder = tmp_path_factory.mktemp("archive")
    photos = folder / "photos"
    for i in range(6):
        draw_photo(photos / f"sub{i % 2}" / f"p{i}.jpg", seed=i)
    (photos / "bad.jpg").write_bytes(b"nope")
    lib = Library(folder / "scanned", model=tiny_model, device="cpu")
    lib.scan([photos])
    yield lib, os.path.realpath(photos)
    lib.close()


def test_mapped_import_equals_the_scan_and_a_rescan_embeds_nothing(scanned, make_library, tmp_path):
    lib, local = scanned
    out = _write(_cluster_rows(lib, "s3a://bucket/photos", local), tmp_path / "out")
    imported = make_library(tmp_path / "imported")
    summary = imported.import_archive(out, [f"s3a://bucket/photos={local}"])
    assert (summary.imported, summary.failed, summary.missing, summary.changed) == (6, 1, 0, 0)
    assert [r["path"] for r in imported.roots()] == [local]
    for photo in lib.catalog.query("SELECT id, path FROM photos WHERE status = 'ok'"):
        mine = imported.catalog.photo_by_path(photo["path"])
        theirs = imported.catalog.vector_of(mine.id, imported.model_id)
        assert theirs.tolist() == lib.catalog.vector_of(photo["id"], lib.model_id).tolist()
    rescan = imported.scan()  # the disk's mtimes were taken after the hash check
    assert (rescan.unchanged, rescan.embedded, rescan.updated) == (7, 0, 0)


def test_unmapped_and_changed_files_are_counted_not_imported(scanned, make_library, tmp_path):
    lib, local = scanned
    rows = _cluster_rows(lib, "s3a://bucket/photos", local)
    out = _write(rows, tmp_path / "out")
    imported = make_library(tmp_path / "imported")
    assert imported.import_archive(out).missing == 7  # no --map: nothing found here
    first = next(r for r in rows if r["error"] is None)
    first["size"] += 1  # the cluster read another version of this file
    out = _write(rows, tmp_path / "out2")
    mapping = [f"s3a://bucket/photos={local}"]
    assert map_path(first["path"], parse_mapping(mapping)).startswith(local + "/sub")
    summary = imported.import_archive(out, mapping)
    assert (summary.imported, summary.changed) == (5, 1)


def test_a_dataset_of_another_model_is_one_line_error(scanned, make_library, tmp_path):
    lib, local = scanned
    out = _write(_cluster_rows(lib, "", local, model="ViT-L-14:openai"), tmp_path / "out")
    with pytest.raises(PhotosortError) as err:
        make_library(tmp_path / "imported").import_archive(out)
    assert "ViT-L-14:openai" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ArchiveError, match="not FROM=TO"):
        parse_mapping(["s3a://bucket"])
    with pytest.raises(ArchiveError, match="not a photosort.spark index"):
        pq.write_table(pa.table({"x": [1]}), tmp_path / "other.parquet")
        make_library(tmp_path / "imported").import_archive(tmp_path / "other.parquet")


def test_zero_shot_rows_carry_the_library_auto_tags(scanned):
    """The labels a cluster writes per row are the tagger's, as the catalog stores them."""
    from photosort.core.zero_shot import ZeroShot

    lib, _ = scanned
    cats = lib.categories()
    shot = ZeroShot.build(
        cats, lib.embedder.encode_texts, lib.embedder.logit_scale, lib.embedder.model_id
    )
    ids, matrix = lib._vector_matrix()
    rows = shot.label(matrix)
    sun_labels = {lab.name for c in cats if c.sun for lab in c.labels}
    for photo_id, labels, scores, unsure in zip(
        ids.tolist(), rows.labels, rows.scores, rows.uncertain, strict=True
    ):
        stored = {t.name for t in lib.photo_tags([photo_id])[photo_id] if t.source == "auto"}
        assert set(labels) - sun_labels == stored - sun_labels
        assert set(scores) == {lab.name for c in cats for lab in c.labels}
        for cat in cats:
            if cat.kind == "exclusive" and not cat.applies_if:
                mine = {lab.name for lab in cat.labels}
                assert bool(mine & set(labels)) != (cat.name in unsure)


def test_the_newest_row_wins_across_files_and_a_bulk_import_builds_the_index_once(
    scanned, make_library, tmp_path, monkeypatch
):
    """A Spark output is many files and re-runs append: the newest row of each path is
    imported, a killed run's ``_temporary`` leftovers are not read, and a large import
    (here: any size) builds the vector index once at the end, searchable at once."""
    from photosort.core import archive_import

    lib, local = scanned
    rows = _cluster_rows(lib, "s3a://bucket/photos", local)
    stale = [dict(r, indexed_at="2025-01-01T00:00:00+00:00") for r in rows]
    for row in stale:
        row["vector"] = None if row["vector"] is None else [-x for x in row["vector"]]
    out = tmp_path / "out"
    _write(stale[:3], out / "a")
    _write(rows[:3] + stale[3:], out / "b")
    _write(rows[3:], out / "c")
    (out / "_temporary" / "0").mkdir(parents=True)
    (out / "_temporary" / "0" / "part-00000.parquet").write_bytes(b"PAR1 half written")
    monkeypatch.setattr(archive_import, "BULK_ROWS", 1)  # as if 7 rows made a large library
    monkeypatch.setattr(archive_import, "EXACT_LIMIT", 5)
    imported = make_library(tmp_path / "imported")
    summary = imported.import_archive(out, [f"s3a://bucket/photos={local}"])
    assert (summary.rows, summary.imported, summary.failed) == (7, 6, 1)
    assert imported.index.count == 6
    for photo in lib.catalog.query("SELECT id, path FROM photos WHERE status = 'ok'"):
        want = lib.catalog.vector_of(photo["id"], lib.model_id)
        mine = imported.catalog.photo_by_path(photo["path"])
        assert imported.catalog.vector_of(mine.id, imported.model_id).tolist() == want.tolist()
        ids, _ = imported.index.search(want, 1)
        assert ids.tolist() == [mine.id]


def test_the_index_is_built_at_the_end_only_where_it_pays():
    from photosort.core.archive_import import index_at_end

    assert not index_at_end(20_000, 0)  # an exact index: adding each chunk is cheaper
    assert index_at_end(1_000_000, 0)  # IVF from the start: one build, not flat then IVF
    assert index_at_end(150_000, 100_000)  # crosses into IVF
    assert not index_at_end(20_000, 5_000_000)  # small beside a large IVF library
    assert index_at_end(5_000_000, 1_000_000)
