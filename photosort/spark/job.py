"""The index job: list photos, skip those already in the output, embed, label, append Parquet.

Incremental: a file whose (path, size, mtime) is already in OUT is skipped (an I/O
failure is tried again, as a desktop scan does). Fault tolerant: a bad or unreadable
file is a row with ``error``; Spark's output committer keeps only committed task files,
so a retried task never duplicates rows. Every run appends; readers keep the newest row
per path (``indexed_at``), as ``photosort import`` does.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from photosort.core.archive_import import FILE_COLUMNS, OUTCOME_COLUMNS
from photosort.core.embedder import DEFAULT_MODEL
from photosort.core.errors import PhotosortError
from photosort.core.imaging import SUPPORTED_EXTENSIONS
from photosort.core.scanner import walk_photos
from photosort.spark import build_zero_shot, embed_and_label
from photosort.spark.worker import embedder_for, local_path, stat_batches

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: The Parquet columns, in order (see README "Indexing on Spark").
OUTPUT_COLUMNS = (
    *FILE_COLUMNS,
    "labels",
    "scores",
    "uncertain",
    *OUTCOME_COLUMNS,
    "run_id",
)
#: Rows per Arrow batch handed to a worker: small enough to stream, big enough to batch.
ROWS_PER_PARTITION = 2000


class SparkInputError(PhotosortError):
    """An input the job cannot list (a typo, an unmounted share)."""


@dataclass
class IndexSummary:
    listed: int = 0
    skipped: int = 0  # already in OUT, unchanged
    indexed: int = 0
    failed: int = 0
    seconds: float = 0.0
    output: str = ""

    def line(self) -> str:
        return (
            f"{self.listed} photos listed: {self.indexed} indexed, {self.failed} failed, "
            f"{self.skipped} already in {self.output} ({self.seconds:.1f}s)"
        )

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _is_remote(path: str) -> bool:
    return "://" in path and not path.startswith("file:")


def _listing_schema() -> str:
    return "path string, root string, size bigint, mtime_ns bigint"


def check_inputs(inputs: Sequence[str]) -> None:
    """A local input that is not there is a one-line error, before Spark or the model start."""
    for raw in inputs:
        if not _is_remote(raw) and not os.path.exists(local_path(raw)):
            raise SparkInputError(f"input not found: {raw}")


def list_photos(spark: SparkSession, inputs: Sequence[str]) -> list[tuple[str, DataFrame]]:
    """(path, root, size, mtime_ns[, content]) DataFrames for ``inputs``.

    A local folder is walked on the driver with the desktop's own walk (same files, same
    skipped junk, exact mtimes; Hadoop's listing would drop names starting with "_").
    A text file is a path list (one path a line), stat'ed on the workers. A remote URI
    (``s3a://``, ``hdfs://``) goes through Spark's binaryFile source, bytes included.
    """
    from pyspark.sql import functions as F

    local_rows: list[tuple[str, str, int, int]] = []
    lists: list[str] = []
    remote: list[str] = []
    for raw in inputs:
        if _is_remote(raw):
            remote.append(raw)
            continue
        path = os.path.abspath(local_path(raw))
        if os.path.isfile(path) and os.path.splitext(path)[1].lower() not in SUPPORTED_EXTENSIONS:
            lists.append(path)
        elif os.path.isfile(path):
            st = os.stat(path)
            local_rows.append((path, os.path.dirname(path), st.st_size, st.st_mtime_ns))
        else:
            local_rows += [(f.path, path, f.size, f.mtime_ns) for f in walk_photos(path)]
    frames: list[tuple[str, DataFrame]] = []
    if local_rows:  # through pandas and Arrow: millions of rows in seconds, not minutes
        table = pd.DataFrame(local_rows, columns=["path", "root", "size", "mtime_ns"])
        frames.append(("path", spark.createDataFrame(table, _listing_schema())))
    for path in lists:
        names = spark.read.text(path).select(F.trim("value").alias("path")).filter("path != ''")
        names = names.withColumn("root", F.lit(None).cast("string"))  # see root_folder
        frames.append(
            ("path", names.mapInPandas(lambda b: stat_batches(b, "path"), _listing_schema()))
        )
    if remote:
        pattern = "(?i)\\.(" + "|".join(e.lstrip(".") for e in SUPPORTED_EXTENSIONS) + ")$"
        found: DataFrame | None = None
        for uri in remote:
            part = (
                spark.read.format("binaryFile")
                .option("recursiveFileLookup", "true")
                .load(uri)
                .filter(F.col("path").rlike(pattern))
                .select(
                    "path",
                    F.lit(uri).alias("root"),
                    F.col("length").alias("size"),
                    (F.unix_millis("modificationTime") * 1_000_000).alias("mtime_ns"),
                    "content",
                )
            )
            found = part if found is None else found.unionByName(part)
        if found is not None:
            frames.append(("content", found))
    return frames


def _hadoop_path(spark: SparkSession, output: str) -> tuple[Any, Any]:
    """(file system, path) of OUT, through Hadoop (local, s3a, hdfs alike)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None  # a live session has its JVM
    path = jvm.org.apache.hadoop.fs.Path(output)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def clear_dead_run(spark: SparkSession, output: str) -> bool:
    """Remove what a killed run left in OUT; returns whether OUT holds data to keep.

    A run killed while writing leaves ``OUT/_temporary``: with nothing else there (a first
    run), reading OUT fails ("unable to infer schema") and so would every later run; beside
    data, its committed task files would be merged into the next run's commit as rows of
    no run. One run per OUT at a time: a live run's ``_temporary`` is not told apart.
    """
    fs, path = _hadoop_path(spark, output)
    if not fs.exists(path):
        return False
    if not fs.getFileStatus(path).isDirectory():
        return True  # a single file: Spark's reader says what is wrong with it
    names = [status.getPath().getName() for status in fs.listStatus(path)]
    if "_temporary" in names:
        fs.delete(path.suffix("/_temporary"), True)
    if any(not name.startswith(("_", ".")) for name in names):
        return True
    fs.delete(path, True)  # no data file: start afresh
    return False


def _done(spark: SparkSession, output: str) -> DataFrame | None:
    """(path, size, mtime_ns) of OUT's rows that need no new run, or None for a new OUT."""
    from pyspark.sql import functions as F

    if not clear_dead_run(spark, output):
        return None
    done = spark.read.parquet(output)
    keep = F.col("failure_kind").isNull() | (F.col("failure_kind") != "io")
    return done.filter(keep).select("path", "size", "mtime_ns").distinct()


def index_photos(
    spark: SparkSession,
    inputs: Sequence[str],
    output: str,
    model: str = DEFAULT_MODEL,
    categories: str | None = None,
    device: str = "auto",
    batch_size: int = 32,
) -> IndexSummary:
    """Index ``inputs`` into the Parquet dataset ``output``; returns what was done."""

    check_inputs(inputs)
    started = time.monotonic()
    summary = IndexSummary(output=output)
    embedder = embedder_for(model, "cpu")  # the driver's: text vectors, once per process
    shot = build_zero_shot(categories, model, embedder)
    done = _done(spark, output)
    parts: list[DataFrame] = []
    for kind, listing in list_photos(spark, inputs):
        listing = listing.dropDuplicates(["path"])
        listed = listing.count()
        summary.listed += listed
        todo = listing
        if done is not None:
            todo = listing.join(done, ["path", "size", "mtime_ns"], "left_anti")
            left = todo.count()
            summary.skipped += listed - left
        else:
            left = listed
        if not left:
            continue
        parallel = spark.sparkContext.defaultParallelism
        todo = todo.repartition(max(parallel, -(-left // ROWS_PER_PARTITION)))
        content = "content" if kind == "content" else None
        parts.append(embed_and_label(todo, shot, "path", model, content, device, batch_size))
    if parts:
        rows = parts[0]
        for more in parts[1:]:
            rows = rows.unionByName(more)
        summary.indexed, summary.failed = append_rows(spark, rows, output)
    summary.seconds = time.monotonic() - started
    return summary


def append_rows(spark: SparkSession, rows: DataFrame, output: str) -> tuple[int, int]:
    """Append ``embed_and_label`` rows to OUT as one run; returns (indexed, failed) as
    written. A retried task's rows appear once: each attempt writes its own temporary
    file and only the committed attempt's is kept."""
    from pyspark.sql import functions as F

    run_id = uuid.uuid4().hex
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    rows = rows.withColumn("indexed_at", F.lit(stamp)).withColumn("run_id", F.lit(run_id))
    rows.select(*OUTPUT_COLUMNS).write.mode("append").parquet(output)
    written = spark.read.parquet(output).filter(F.col("run_id") == run_id)
    counts = {r[0]: r[1] for r in written.groupBy(F.col("error").isNull()).count().collect()}
    return int(counts.get(True, 0)), int(counts.get(False, 0))
