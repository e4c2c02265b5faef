"""photosort on Apache Spark: index and tag millions of photos on a cluster (issue 20).

A DataFrame API for Spark users and a job (``python -m photosort.spark index``) built on
it. The photo work is the desktop's own code, run in Spark's Python workers
(``photosort.spark.worker``); this module only wires it into DataFrames.

* ``embed_images(df, path_col)``: decode and embed the files a column names (or the bytes
  of a binaryFile ``content`` column) in Arrow batches, the model loaded once per worker.
* ``zero_shot(df, categories)``: labels from stored vectors, a matrix product per batch:
  re-labelling 10M rows never reads an image again.
* ``index_photos(spark, inputs, output)``: the incremental, fault-tolerant job.

Needs the ``spark`` extra (``pip install 'photosort[spark]'``: pyspark >= 3.5).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from photosort.core.categories import Category, Label, default_categories, read_toml_file, validate
from photosort.core.embedder import DEFAULT_MODEL, Embedder, ModelSpec
from photosort.core.zero_shot import ZeroShot
from photosort.spark.worker import (
    EMBED_FIELDS,
    LABEL_FIELDS,
    embed_batches,
    embedder_for,
    label_batches,
)

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

    from photosort.spark.job import IndexSummary

__all__ = [
    "EMBED_FIELDS",
    "LABEL_FIELDS",
    "CategoriesLike",
    "build_zero_shot",
    "embed_and_label",
    "embed_images",
    "index_photos",
    "zero_shot",
]

#: A TOML file of categories, Category objects, ``{category: [labels]}`` (exclusive groups)
#: or Spark NLP's plain candidate labels (one exclusive group named "labels").
CategoriesLike = (
    str | os.PathLike | Sequence[Category] | Mapping[str, Sequence[str]] | Sequence[str]
)


def _schema(df: DataFrame, fields: Sequence[tuple[str, str]], drop: Sequence[str] = ()) -> str:
    """The input's columns (less those replaced) followed by ``fields``, as Spark DDL."""
    new = {name for name, _ in fields} | set(drop)
    kept = [
        f"`{f.name}` {f.dataType.simpleString()}" for f in df.schema.fields if f.name not in new
    ]
    return ", ".join(kept + [f"`{name}` {kind}" for name, kind in fields])


def embed_images(
    df: DataFrame,
    path_col: str = "path",
    model: str = DEFAULT_MODEL,
    content_col: str | None = None,
    device: str = "auto",
    batch_size: int = 32,
) -> DataFrame:
    """``df`` with ``EMBED_FIELDS`` added: size, mtime, content hash, width, height, EXIF date,
    camera and GPS, pixel fingerprint, model id, the L2-normalised ``vector``, and ``error``.

    Files are read by the workers from ``path_col`` (local or shared paths, ``file:`` URIs);
    with ``content_col`` (binaryFile's ``content``) the bytes come from Spark instead.
    """
    ModelSpec.parse(model)  # a malformed spec fails here, not in every task

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return embed_batches(batches, model, path_col, content_col, device, batch_size)

    drop = [content_col] if content_col else []
    return df.mapInPandas(run, _schema(df, EMBED_FIELDS, drop))


def embed_and_label(
    df: DataFrame,
    shot: ZeroShot,
    path_col: str = "path",
    model: str = DEFAULT_MODEL,
    content_col: str | None = None,
    device: str = "auto",
    batch_size: int = 32,
) -> DataFrame:
    """``zero_shot(embed_images(df))`` in one pass: one Python worker per task and the
    vectors never cross back to the JVM in between (what the index job runs)."""
    ModelSpec.parse(model)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        vectors = embed_batches(batches, model, path_col, content_col, device, batch_size)
        return label_batches(vectors, shot, "vector")

    drop = [content_col] if content_col else []
    return df.mapInPandas(run, _schema(df, (*EMBED_FIELDS, *LABEL_FIELDS), drop))


def _categories(categories: CategoriesLike) -> list[Category]:
    if isinstance(categories, str | os.PathLike):
        return read_toml_file(categories)
    if isinstance(categories, Mapping):
        return [
            validate(Category(str(n), "exclusive", labels=[Label(str(x)) for x in labels]))
            for n, labels in categories.items()
        ]
    items: list[Any] = list(categories)
    if items and all(isinstance(x, str) for x in items):
        return [validate(Category("labels", "exclusive", labels=[Label(x) for x in items]))]
    if not all(isinstance(x, Category) for x in items):
        raise TypeError("categories: a TOML file, Category objects, a mapping or label names")
    return [validate(c) for c in items]


def build_zero_shot(
    categories: CategoriesLike | None = None,
    model: str = DEFAULT_MODEL,
    embedder: Embedder | None = None,
) -> ZeroShot:
    """Prompt-ensemble text vectors for ``categories`` (default: photosort's), computed once
    on the driver; the result ships to the workers with the tasks."""
    cats = default_categories() if categories is None else _categories(categories)
    embedder = embedder or embedder_for(model, "cpu")
    return ZeroShot.build(cats, embedder.encode_texts, embedder.logit_scale, embedder.model_id)


def zero_shot(
    df: DataFrame,
    categories: CategoriesLike | ZeroShot | None = None,
    model: str = DEFAULT_MODEL,
    vector_col: str = "vector",
) -> DataFrame:
    """``df`` with ``labels`` (chosen, thresholds applied), ``scores`` (every label's
    probability) and ``uncertain`` (exclusive groups none of whose labels is sure enough).

    Reads only ``vector_col``; rows whose ``model`` column names another model get nulls.
    """
    shot = categories if isinstance(categories, ZeroShot) else build_zero_shot(categories, model)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return label_batches(batches, shot, vector_col)

    return df.mapInPandas(run, _schema(df, LABEL_FIELDS))


def index_photos(
    spark: SparkSession, inputs: Sequence[str], output: str, **options: Any
) -> IndexSummary:
    """The job behind ``python -m photosort.spark index`` (see ``photosort.spark.job``)."""
    from photosort.spark.job import index_photos as run

    return run(spark, inputs, output, **options)
