"""Every label's probability for every photo, out as data (CSV, JSON or Parquet).

The zero-shot tools people know show their numbers: the Hugging Face pipeline returns every
label with its probability, Spark NLP's CLIPForZeroShotClassification a score per label.
``photosort scores`` writes the same from the stored vectors, with the tagger's own
probabilities (``Tagger.probabilities``: softmax, vs-neutral or SigLIP's sigmoid, the sun
fused in) and the label it chose, so the file agrees with the auto tags.

It streams: the vectors are read in chunks of ``CHUNK`` photos in id order, scored and
written, so 1M photos never sit in memory at once (bench_scores measures the peak).

One row per photo, the same columns in every format:
``photo_id, path, <label>... (probabilities), chosen:<category>...``. ``chosen`` is the
exclusive group's label or "uncertain", a free category's labels at or above their
threshold joined by ";", and "" where the category does not apply (its ``applies_if``).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from photosort.core.catalog import Catalog
from photosort.core.categories import Category
from photosort.core.errors import PhotosortError
from photosort.core.progress import ProgressCallback, RateMeter
from photosort.core.store import PhotoStore, TagStore
from photosort.core.tagging import UNCERTAIN, Tagger, contrary_labels, photos_with_tag

FORMATS = ("csv", "json", "parquet")
CHUNK = 4096
CHOSEN = "chosen:"


class ScoresError(PhotosortError):
    """The export cannot be written as asked; the message says what to change."""


@dataclass
class ScoresSummary:
    photos: int = 0
    labels: int = 0
    seconds: float = 0.0
    out: str = "-"
    format: str = "csv"
    cancelled: bool = False

    def line(self) -> str:
        rate = self.photos / self.seconds if self.seconds > 0 else 0.0
        text = (
            f"{self.photos} photos × {self.labels} labels to {self.out} ({self.format}) "
            f"in {self.seconds:.1f}s ({rate:,.0f} rows/s)"
        )
        return ("cancelled, nothing written: " if self.cancelled else "") + text

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class CategoryScores:
    """One photo's probabilities in one category, for the details panel's chart."""

    category: str
    kind: str
    labels: list[str]
    probabilities: list[float]
    thresholds: list[float]
    chosen: str  # a label, "uncertain", labels joined by ";", or "" (does not apply)


class Applies:
    """Which photos a category with ``applies_if`` may tag, asked chunk by chunk.

    Mirrors ``tagging.photos_where_applies``: a contrary label of an exclusive group rules
    a photo out; a free label as condition must hold. The id lists are read once.
    """

    def __init__(self, catalog: Catalog, applies_if: str, photo_id: int | None = None):
        contrary = contrary_labels(catalog, applies_if)
        self.must_hold = contrary is None
        names = [applies_if] if contrary is None else contrary
        if photo_id is not None:  # one photo (the details panel): read only its tags
            has = TagStore(catalog).photo_has_any(photo_id, names)
            self.ids = np.array([int(photo_id)] if has else [], np.int64)
            return
        found = [pid for name in names for pid in photos_with_tag(catalog, name)]
        self.ids = np.unique(np.array(found, np.int64))

    def mask(self, ids: np.ndarray) -> np.ndarray:
        listed = np.isin(ids, self.ids)
        return listed if self.must_hold else ~listed


class ScoreTable:
    """Scores chunks of photos for the tagger's categories: probabilities and choices."""

    def __init__(self, catalog: Catalog, tagger: Tagger, photo_id: int | None = None):
        self.tagger = tagger
        self.categories: list[Category] = tagger.categories
        self.applies = {
            c.name: Applies(catalog, c.applies_if, photo_id)
            for c in self.categories
            if c.applies_if
        }
        self.labels = [lab.name for c in self.categories for lab in c.labels]
        self.columns = ["photo_id", "path", *self.labels] + [
            f"{CHOSEN}{c.name}" for c in self.categories
        ]

    def score(
        self, ids: np.ndarray, matrix: np.ndarray
    ) -> tuple[list[np.ndarray], list[list[str]]]:
        """Per category its (N, labels) probabilities and its N choices."""
        probs = self.tagger.probabilities(np.asarray(matrix, np.float32), ids)
        chosen = [self._choose(c, p, ids) for c, p in zip(self.categories, probs, strict=True)]
        return probs, chosen

    def _choose(self, cat: Category, probs: np.ndarray, ids: np.ndarray) -> list[str]:
        """The tagger's decision (``Tagger.decide``), as text per photo."""
        names = np.array([lab.name for lab in cat.labels] + [UNCERTAIN, ""], dtype=object)
        thresholds = np.array([cat.threshold_of(lab) for lab in cat.labels], np.float32)
        applies = self.applies[cat.name].mask(ids) if cat.name in self.applies else None
        if cat.kind == "exclusive":
            best = probs.argmax(axis=1)
            keep = probs[np.arange(len(best)), best] >= thresholds[best]
            pick = np.where(keep, best, len(cat.labels))
            if applies is not None:
                pick[~applies] = len(cat.labels) + 1
            return names[pick].tolist()
        hits = probs >= thresholds[None, :]
        if applies is not None:
            hits &= applies[:, None]
        out = np.full(len(ids), "", dtype=object)
        for k, name in enumerate(names[:-2]):  # column by column: few labels, many photos
            rows = hits[:, k]
            if rows.any():
                before = out[rows]
                out[rows] = before + np.where(before == "", "", ";").astype(object) + name
        return out.tolist()


def _paths(catalog: Catalog, ids: np.ndarray) -> list[str]:
    """Paths of a chunk of ids (sorted ascending): one range read, not an IN list."""
    by_id = PhotoStore(catalog).paths_between(int(ids[0]), int(ids[-1]))
    return [by_id.get(int(i), "") for i in ids]


Chunk = tuple[np.ndarray, list[str], list[np.ndarray], list[list[str]]]


def chunks(
    catalog: Catalog, model_id: str, table: ScoreTable, chunk: int = CHUNK
) -> Iterator[Chunk]:
    """(ids, paths, probabilities per category, choices per category), chunk by chunk."""
    for ids, matrix in catalog.vectors(model_id, chunk):
        probs, chosen = table.score(ids, matrix)
        yield ids, _paths(catalog, ids), probs, chosen


# -- writers -----------------------------------------------------------------------------
class _CsvWriter:
    def __init__(self, fh: IO[str], columns: list[str]):
        self.writer = csv.writer(fh, lineterminator="\n")
        self.writer.writerow(columns)

    def write(
        self,
        ids: np.ndarray,
        paths: list[str],
        probs: list[np.ndarray],
        chosen: list[list[str]],
    ) -> None:
        self.writer.writerows(_rows(ids, paths, probs, chosen))

    def close(self) -> None:
        pass


def _rows(
    ids: np.ndarray, paths: list[str], probs: list[np.ndarray], chosen: list[list[str]]
) -> Iterator[list]:
    """One flat row per photo: id, path, every probability (6 decimals), every choice."""
    values = np.round(np.hstack(probs).astype(np.float64), 6).tolist()
    for i, p, v, c in zip(ids.tolist(), paths, values, zip(*chosen, strict=True), strict=True):
        yield [i, p, *v, *c]


class _JsonWriter:
    """A JSON array of flat objects, one per line, written as it goes."""

    def __init__(self, fh: IO[str], columns: list[str]):
        self.fh = fh
        self.columns = columns
        self.first = True
        fh.write("[")

    def write(
        self,
        ids: np.ndarray,
        paths: list[str],
        probs: list[np.ndarray],
        chosen: list[list[str]],
    ) -> None:
        lines = [
            json.dumps(dict(zip(self.columns, row, strict=True)), ensure_ascii=False)
            for row in _rows(ids, paths, probs, chosen)
        ]
        if lines:
            self.fh.write(("\n" if self.first else ",\n") + ",\n".join(lines))
            self.first = False

    def close(self) -> None:
        self.fh.write("\n]\n" if not self.first else "]\n")


class _ParquetWriter:
    def __init__(self, path: str, columns: list[str], labels: int):
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise ScoresError(
                "Parquet needs pyarrow: pip install 'photosort[parquet]' (or use --format csv)"
            ) from exc
        self.pa = pa
        fields = [pa.field("photo_id", pa.int64()), pa.field("path", pa.string())]
        fields += [pa.field(name, pa.float32()) for name in columns[2 : 2 + labels]]
        fields += [pa.field(name, pa.string()) for name in columns[2 + labels :]]
        self.schema = pa.schema(fields)
        self.writer = pq.ParquetWriter(path, self.schema)

    def write(
        self,
        ids: np.ndarray,
        paths: list[str],
        probs: list[np.ndarray],
        chosen: list[list[str]],
    ) -> None:
        pa = self.pa
        arrays = [pa.array(ids, pa.int64()), pa.array(paths, pa.string())]
        for block in probs:
            arrays += [pa.array(block[:, k], pa.float32()) for k in range(block.shape[1])]
        arrays += [pa.array(c, pa.string()) for c in chosen]
        self.writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))

    def close(self) -> None:
        self.writer.close()


def export(
    catalog: Catalog,
    model_id: str,
    tagger: Tagger,
    out: str | os.PathLike | None = None,
    fmt: str = "csv",
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    chunk: int = CHUNK,
    stdout: IO[str] | None = None,
) -> ScoresSummary:
    """Write the scores of every photo with a vector of ``model_id``.

    ``out`` None or "-" writes to ``stdout`` (CSV and JSON only). A file is written beside
    its final name and renamed when complete: a cancelled or failed export leaves no half
    file behind and never replaces an older complete one.
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ScoresError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    to_stdout = out is None or str(out) == "-"
    if to_stdout and fmt == "parquet":
        raise ScoresError("Parquet is binary: give a file with --out FILE.parquet")
    if not tagger.categories:
        raise ScoresError("no categories to score: add one with photosort categories add")
    started = time.perf_counter()
    table = ScoreTable(catalog, tagger)
    summary = ScoresSummary(
        labels=len(table.labels), out="-" if to_stdout else str(out), format=fmt
    )
    total = catalog.count_vectors(model_id)
    meter = RateMeter("scores", total, on_progress)
    meter.report(0)
    final = None if to_stdout or out is None else Path(out)
    temp = None if final is None else final.with_name(f".{final.name}.partial")
    try:
        with contextlib.ExitStack() as stack:  # closes the file before it takes its name
            writer = _writer(fmt, table, temp, stdout, stack)
            for ids, paths, probs, chosen in chunks(catalog, model_id, table, chunk):
                if should_cancel and should_cancel():
                    summary.cancelled = True
                    break
                writer.write(ids, paths, probs, chosen)
                summary.photos += len(ids)
                meter.report(summary.photos)
            writer.close()
        if temp is not None and final is not None and not summary.cancelled:
            os.replace(temp, final)
    except BrokenPipeError:  # the reader stopped (| head): not a failure of ours
        raise
    except OSError as exc:
        raise ScoresError(f"cannot write {summary.out}: {exc.strerror or exc}") from exc
    finally:
        if temp is not None:  # cancelled or failed: no half file left behind
            temp.unlink(missing_ok=True)
    summary.seconds = time.perf_counter() - started
    return summary


def _writer(
    fmt: str, table: ScoreTable, temp: Path | None, stdout: Any, stack: contextlib.ExitStack
) -> Any:
    if fmt == "parquet":
        assert temp is not None
        return _ParquetWriter(str(temp), table.columns, len(table.labels))
    if temp is None:
        fh = stdout or sys.stdout
    else:
        fh = stack.enter_context(open(temp, "w", encoding="utf-8", newline=""))  # noqa: SIM115
    return _CsvWriter(fh, table.columns) if fmt == "csv" else _JsonWriter(fh, table.columns)


def photo_scores(
    catalog: Catalog, tagger: Tagger, photo_id: int, vector: np.ndarray
) -> list[CategoryScores]:
    """One photo's probabilities and choice per category (the details panel's chart)."""
    table = ScoreTable(catalog, tagger, photo_id)
    ids = np.array([photo_id], np.int64)
    probs, chosen = table.score(ids, np.asarray(vector, np.float32)[None, :])
    return [
        CategoryScores(
            cat.name,
            cat.kind,
            [lab.name for lab in cat.labels],
            [float(x) for x in block[0]],
            [cat.threshold_of(lab) for lab in cat.labels],
            picks[0],
        )
        for cat, block, picks in zip(table.categories, probs, chosen, strict=True)
    ]


def select(categories: Sequence[Category], name: str | None) -> list[Category]:
    """All categories, or the one named (any case); a typo names the known ones."""
    if not name:
        return list(categories)
    key = name.strip().casefold()
    found = [c for c in categories if c.name.casefold() == key]
    if not found:
        known = ", ".join(repr(c.name) for c in categories) or "none"
        raise ScoresError(f"no category named {name!r} (known: {known})")
    return found
