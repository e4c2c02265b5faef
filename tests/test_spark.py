"""Indexing on Spark (issue 20) gives what a desktop scan gives, and imports as if scanned.

One ``local[2,2]`` Spark session (two threads; a failed task is tried twice, as on a
cluster) and one job run are shared by the module (Spark starts in tens of seconds); the
photos are the generated scenes the tiny CLIP was trained on.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.fixtures.scenes import write_library

N_PHOTOS = 100


@pytest.fixture(scope="module")
def spark():
    from photosort.spark.__main__ import session

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = session("local[2,2]")
    spark.sparkContext.setLogLevel("ERROR")
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def indexed(spark, tmp_path_factory, tiny_model):
    """The same folder indexed on Spark and scanned by the desktop."""
    from photosort.core.library import Library
    from photosort.spark import index_photos

    folder = tmp_path_factory.mktemp("spark")
    photos = folder / "photos"
    write_library(photos, N_PHOTOS, seed=5)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    out = str(folder / "index.parquet")
    summary = index_photos(spark, [str(photos)], out, model=tiny_model, device="cpu")
    scanned = Library(folder / "scanned", model=tiny_model, device="cpu")
    scan = scanned.scan([photos])
    assert (scan.embedded, scan.failed) == (N_PHOTOS, 1)
    yield folder, photos, out, summary, scanned
    scanned.close()


def _rows(out: str) -> dict[str, dict]:
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    rows = {row["path"]: row for row in table.to_pylist()}
    for row in rows.values():  # pyarrow reads a map as (key, value) pairs
        row["scores"] = None if row["scores"] is None else dict(row["scores"])
    return rows


def _auto_tags(lib) -> dict[str, set[str]]:
    tags: dict[str, set[str]] = {}
    for path, tag in lib.catalog.query(
        "SELECT p.path, l.name FROM auto_tags a JOIN photos p ON p.id = a.photo_id "
        "JOIN labels l ON l.id = a.label_id"
    ):
        tags.setdefault(path, set()).add(tag)
    return tags


def test_spark_vectors_and_labels_equal_a_desktop_scan(indexed):
    _, photos, out, summary, scanned = indexed
    assert (summary.listed, summary.indexed, summary.failed) == (N_PHOTOS + 1, N_PHOTOS, 1)
    rows = _rows(out)
    broken = rows.pop(str(photos / "broken.jpg"))
    assert broken["vector"] is None and broken["error"] and broken["labels"] is None
    assert len(rows) == N_PHOTOS
    sun = {c.name for c in scanned.categories() if c.sun}
    sun_labels = {lab.name for c in scanned.categories() if c.sun for lab in c.labels}
    desktop_tags = _auto_tags(scanned)
    for path, row in rows.items():
        photo = scanned.catalog.photo_by_path(path)
        stored = scanned.catalog.vector_of(photo.id, scanned.model_id)
        vec = np.asarray(row["vector"], np.float32)
        assert float(vec @ stored) >= 0.9999, path
        assert (row["size"], row["mtime_ns"], row["content_hash"]) == (
            photo.size,
            photo.mtime_ns,
            photo.content_hash,
        )
        assert row["taken_at"] == photo.taken_at
        assert set(row["scores"]) >= {lab.name for c in scanned.categories() for lab in c.labels}
        # The sun's evidence (EXIF place and time) is fused by the desktop, on import.
        want = desktop_tags.get(path, set()) - sun_labels
        assert set(row["labels"]) - sun_labels == want, path
        assert not set(row["uncertain"]) - sun - {c.name for c in scanned.categories()}


def test_a_second_run_adds_nothing(spark, indexed, tiny_model):
    import pyarrow.parquet as pq

    from photosort.spark import index_photos

    _, photos, out, _, _ = indexed
    before = pq.read_table(out).num_rows
    again = index_photos(spark, [str(photos)], out, model=tiny_model, device="cpu")
    assert (again.skipped, again.indexed, again.failed) == (N_PHOTOS + 1, 0, 0)
    assert pq.read_table(out).num_rows == before


def test_import_then_search_as_if_scanned(indexed, tiny_model, capsys):
    from photosort.cli import main
    from photosort.core.library import Library

    folder, photos, out, _, scanned = indexed
    library = str(folder / "imported")
    common = ["--library", library, "--model", tiny_model, "--device", "cpu"]
    assert main([*common, "import", out, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["imported"], summary["failed"], summary["missing"]) == (N_PHOTOS, 1, 0)

    def top10(lib_args: list[str]) -> list[str]:
        assert main([*lib_args, "search", "a red ball in the snow", "--top", "10", "--json"]) == 0
        return [r["path"] for r in json.loads(capsys.readouterr().out)]

    scanned_args = ["--library", str(scanned.folder), "--model", tiny_model, "--device", "cpu"]
    assert top10(common) == top10(scanned_args)
    with Library(library, model=tiny_model, device="cpu") as lib:
        assert _auto_tags(lib) == _auto_tags(scanned)  # sun fused on import, as in a scan
        rescan = lib.scan([photos])
        assert (rescan.embedded, rescan.new, rescan.updated) == (0, 0, 0)
        assert rescan.unchanged == N_PHOTOS + 1


def test_zero_shot_relabels_stored_vectors_with_candidate_labels(spark, indexed, tiny_model):
    from photosort.spark import zero_shot

    _, _, out, _, _ = indexed
    df = spark.read.parquet(out).filter("vector IS NOT NULL").select("path", "model", "vector")
    labelled = zero_shot(df, ["indoor", "outdoor"], model=tiny_model).collect()
    assert len(labelled) == N_PHOTOS
    for row in labelled:
        assert set(row["scores"]) == {"indoor", "outdoor"}
        assert abs(sum(row["scores"].values()) - 1.0) < 1e-4  # one exclusive group
        assert len(row["labels"]) + len(row["uncertain"]) == 1


def test_embed_images_reads_spark_binaryfile_rows_like_paths(spark, indexed, tiny_model):
    """The binaryFile source (bytes from Spark, as for s3a:// or hdfs://) gives the same
    vectors as the job's own reading of the files."""
    from photosort.spark import embed_images
    from photosort.spark.worker import local_path

    _, photos, out, _, _ = indexed
    files = (
        spark.read.format("binaryFile")
        .option("recursiveFileLookup", "true")
        .option("pathGlobFilter", "*.jpg")
        .load(str(photos))
    )
    rows = embed_images(files, "path", model=tiny_model, content_col="content", device="cpu")
    got = {local_path(r["path"]): r for r in rows.select("path", "vector", "error").collect()}
    job = _rows(out)
    assert len(got) == sum(p.endswith(".jpg") for p in job) > 10
    for path, row in got.items():
        if job[path]["error"]:
            assert row["error"] and row["vector"] is None
        else:
            assert float(np.dot(row["vector"], job[path]["vector"])) >= 0.9999, path


def test_a_missing_input_is_one_line_before_spark_starts(capsys, tmp_path):
    from photosort.spark.__main__ import main

    missing = str(tmp_path / "not-mounted")
    assert main(["index", "--input", missing, "--output", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"photosort: error: input not found: {missing}\n"
    assert not (tmp_path / "out").exists()


def test_a_killed_run_leaves_nothing_that_stops_or_doubles_the_next(
    spark, indexed, tiny_model, tmp_path
):
    """A run killed while writing leaves ``OUT/_temporary``: alone it made every later run
    fail (no schema to read); beside data, its committed task files would be merged in."""
    import shutil

    import pyarrow.parquet as pq

    from photosort.spark import index_photos

    _, photos, _, _, _ = indexed
    first_photo, second_photo = sorted(photos.rglob("*.jpg"))[:2]
    few = tmp_path / "few"
    few.mkdir()
    shutil.copy2(first_photo, few / first_photo.name)
    out = tmp_path / "index.parquet"
    attempt = out / "_temporary" / "0" / "_temporary" / "attempt_202601010000_0001_m_000000_0"
    attempt.mkdir(parents=True)
    (attempt / "part-00000.snappy.parquet").write_bytes(b"PAR1 cut short")
    first = index_photos(spark, [str(few)], str(out), model=tiny_model, device="cpu")
    assert (first.listed, first.indexed, first.failed) == (1, 1, 0)
    assert not (out / "_temporary").exists()

    dead_task = out / "_temporary" / "0" / "task_202601010000_0001_m_000000"
    dead_task.mkdir(parents=True)
    data = next(p for p in out.iterdir() if p.name.startswith("part-"))
    shutil.copy(data, dead_task / ("part-99999" + data.name[len("part-00000") :]))
    shutil.copy2(second_photo, few / second_photo.name)
    second = index_photos(spark, [str(few)], str(out), model=tiny_model, device="cpu")
    assert (second.skipped, second.indexed) == (1, 1)
    assert pq.read_table(str(out)).num_rows == 2
    assert sorted(_rows(str(out))) == sorted(str(few / p.name) for p in (first_photo, second_photo))


def test_a_task_that_fails_once_is_retried_without_duplicate_rows(spark, indexed, tmp_path):
    """A task attempt dies after handing rows to the writer (a lost executor); Spark runs
    it again (``local[2,2]``) and OUT holds each photo once. Last in the module: the
    failed attempt's Python worker is gone, and the next would load the model again."""
    import pyarrow.parquet as pq

    from photosort.spark.job import append_rows

    _, _, out, _, _ = indexed
    rows = spark.read.parquet(out).drop("indexed_at", "run_id").repartition(2)
    marks = tmp_path / "attempts"
    marks.mkdir()

    def fail_once(batches):
        from pyspark import TaskContext

        ctx = TaskContext.get()
        for frame in batches:
            yield frame  # these rows reach the writer before the attempt dies
            (marks / f"p{ctx.partitionId()}-a{ctx.attemptNumber()}").touch()
            if ctx.partitionId() == 0 and ctx.attemptNumber() == 0:
                raise RuntimeError("executor lost")

    again = str(tmp_path / "again.parquet")
    flaky = rows.mapInPandas(fail_once, rows.schema)
    assert append_rows(spark, flaky, again) == (N_PHOTOS, 1)
    assert {"p0-a0", "p0-a1"} <= {m.name for m in marks.iterdir()}  # it did fail, once
    assert pq.read_table(again).num_rows == N_PHOTOS + 1
    assert sorted(_rows(again)) == sorted(_rows(out))
