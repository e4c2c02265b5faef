"""``python -m photosort.spark index --input PATH… --output OUT``, also under spark-submit.

Plain ``python -m`` starts its own Spark (``--master``, default ``local[*]``); under
``spark-submit`` the master, executors and the shipped environment come from there.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import warnings
from typing import TYPE_CHECKING

from photosort.core.embedder import DEFAULT_MODEL, DEVICES
from photosort.core.errors import PhotosortError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m photosort.spark",
        description="Index and tag photos on Apache Spark; 'photosort import OUT' brings the "
        "result into a desktop library.",
    )
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    index = subs.add_parser(
        "index", help="embed and label photos into a Parquet dataset (incremental)"
    )
    index.add_argument(
        "--input",
        nargs="+",
        required=True,
        metavar="PATH",
        help="folders, photo files, text files listing paths (one a line), or URIs "
        "(s3a://, hdfs://: read through Spark's binaryFile source)",
    )
    index.add_argument("--output", required=True, metavar="OUT", help="Parquet dataset (appended)")
    index.add_argument("--model", default=DEFAULT_MODEL, help="NAME:PRETRAINED or local-dir:PATH")
    index.add_argument(
        "--categories", metavar="FILE", help="categories TOML (default: photosort's own)"
    )
    index.add_argument("--master", metavar="URL", help="Spark master (default: local[*])")
    index.add_argument("--device", choices=DEVICES, default="auto", help="where the model runs")
    index.add_argument("--batch-size", type=int, default=32, help="images per model call")
    index.add_argument("--json", action="store_true", help="print the summary as JSON")
    return parser


class SparkSetupError(PhotosortError):
    """pyspark or Java is missing; the message says what to install."""


def session(master: str | None) -> SparkSession:
    """The Spark session: spark-submit's, or a new one on ``master``."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise SparkSetupError(
            "the Spark job needs pyspark: pip install 'photosort[spark]'"
        ) from exc
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise SparkSetupError("Spark needs a Java runtime (17 or newer): none found on PATH")

    builder = SparkSession.builder.appName("photosort index")
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit started this driver
    if master or not submitted:
        builder = builder.master(master or "local[*]")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this Python
    # pyspark warns about pandas 3 on every import; photosort's columns convert fine
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    return (
        builder.config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from photosort.spark.job import check_inputs, index_photos

        check_inputs(args.input)
        spark = session(args.master)
        try:
            summary = index_photos(
                spark,
                args.input,
                args.output,
                model=args.model,
                categories=args.categories,
                device=args.device,
                batch_size=args.batch_size,
            )
        finally:
            spark.stop()
    except PhotosortError as exc:
        print(f"photosort: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary.as_dict(), indent=2) if args.json else summary.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
