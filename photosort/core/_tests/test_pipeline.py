"""The embedding pipeline: a cancelled run keeps what it finished and the next run does only
the rest; a bad or vanished file is a recorded failure, never a stopped or hung scan."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from conftest import draw_photo
from photosort.core.catalog import Catalog
from photosort.core.embedder import Embedder, ModelSpec
from photosort.core.index import VectorIndex
from photosort.core.pipeline import EmbedJob, Prepared, embed_photos, prepare
from photosort.core.progress import CancelToken, Progress
from photosort.core.reconcile import reconcile


@pytest.fixture(scope="module")
def embedder(tiny_model: str) -> Embedder:
    """The tiny CLIP, loaded once for this module (the vectors here must be real)."""
    return Embedder(ModelSpec.parse(tiny_model), "cpu")


def walked_catalog(tmp_path: Path, count: int) -> tuple[Catalog, Path]:
    root = tmp_path / "photos"
    for i in range(count):
        draw_photo(root / f"p{i:02d}.jpg", seed=i, size=(48, 36))
    cat = Catalog(tmp_path / "catalog.sqlite")
    root_id = cat.add_root(str(root))
    reconcile(cat, [(root_id, str(root))])
    return cat, root


def due(cat: Catalog, model_id: str) -> list[EmbedJob]:
    return [EmbedJob(r["id"], r["path"]) for r in cat.photos_needing_embedding(model_id)]


def test_a_cancelled_run_keeps_its_work_and_the_next_run_does_only_the_rest(
    tmp_path: Path, embedder: Embedder
) -> None:
    cat, _ = walked_catalog(tmp_path, 8)
    index = VectorIndex(embedder.dim)
    cancel = CancelToken()

    def on_progress(progress: Progress) -> None:
        if progress.done >= 2:  # the first batch is stored: the user presses Cancel
            cancel.set()

    first = embed_photos(
        cat, embedder, index, due(cat, embedder.model_id), on_progress, cancel,
        batch_size=2, workers=2, lookahead_batches=0,
    )  # fmt: skip
    assert first.cancelled
    assert 2 <= first.embedded < 8
    assert cat.count_vectors(embedder.model_id) == index.count == first.embedded

    rest = due(cat, embedder.model_id)
    assert len(rest) == 8 - first.embedded
    second = embed_photos(cat, embedder, index, rest, batch_size=4, workers=2)
    assert not second.cancelled
    assert second.embedded == len(rest)
    assert cat.count_vectors(embedder.model_id) == index.count == 8
    assert due(cat, embedder.model_id) == []
    cat.close()


def test_bad_and_vanished_files_are_failures_with_reasons_and_the_rest_is_embedded(
    tmp_path: Path, embedder: Embedder
) -> None:
    cat, root = walked_catalog(tmp_path, 3)
    (root / "p00.jpg").write_bytes(b"not a jpeg at all")
    (root / "p01.jpg").unlink()  # a drive unplugged after the walk
    index = VectorIndex(embedder.dim)

    stats = embed_photos(cat, embedder, index, due(cat, embedder.model_id), batch_size=8)

    assert (stats.embedded, stats.failed) == (1, 2)
    reasons = dict(stats.failures)
    assert "cannot read file" in reasons[str(root / "p01.jpg")]
    assert reasons[str(root / "p00.jpg")]
    bad, gone = cat.photo_by_path(str(root / "p00.jpg")), cat.photo_by_path(str(root / "p01.jpg"))
    assert bad is not None and gone is not None
    assert (bad.status, gone.status) == ("failed", "failed")
    assert not index.contains(bad.id) and index.count == 1
    # the unplugged one is tried again by the next scan; the bad file only once it changes
    assert [j.path for j in due(cat, embedder.model_id)] == [str(root / "p01.jpg")]
    good = cat.photo_by_path(str(root / "p02.jpg"))
    assert good is not None and good.status == "ok"
    vector = cat.vector_of(good.id, embedder.model_id)
    assert vector is not None and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3
    cat.close()


class CountedJobs(list):
    """Jobs that count how many the pipeline has taken so far."""

    taken = 0

    def __iter__(self) -> Iterator[EmbedJob]:
        for job in super().__iter__():
            self.taken += 1
            yield job


def test_decoding_stays_a_few_batches_ahead_never_a_whole_folder(
    tmp_path: Path, embedder: Embedder
) -> None:
    path = draw_photo(tmp_path / "p.jpg", seed=1, size=(48, 36))
    jobs = CountedJobs(EmbedJob(i, str(path)) for i in range(200))
    taken_at_first_write: list[int] = []

    def store(ok: list[Prepared], vectors: np.ndarray, failed: list[Prepared]) -> None:
        taken_at_first_write.append(jobs.taken)

    cat = Catalog(tmp_path / "catalog.sqlite")  # not written: ``store`` takes the batches
    stats = embed_photos(
        cat, embedder, None, jobs,
        should_cancel=lambda: bool(taken_at_first_write),
        batch_size=4, workers=2, lookahead_batches=2, store=store,
    )  # fmt: skip
    assert stats.cancelled
    # the batch written, plus at most three batches decoding (this one and two ahead)
    assert taken_at_first_write[0] <= 4 + 4 * 3
    cat.close()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")
def test_a_photo_replaced_by_a_named_pipe_is_skipped_at_once(tmp_path: Path) -> None:
    pipe = tmp_path / "photo.jpg"
    os.mkfifo(pipe)
    started = time.monotonic()
    prepared = prepare(EmbedJob(1, str(pipe)), lambda image: image, min_side=32)
    assert time.monotonic() - started < 2
    assert prepared.error == "not a regular file (a named pipe): skipped"
    assert not prepared.io_error  # not retried by every scan


def test_preparing_a_corrupt_file_records_why_and_never_raises(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    draw_photo(path, seed=1)
    path.write_bytes(path.read_bytes()[:200])  # a copy cut short
    prepared = prepare(EmbedJob(1, str(path)), lambda image: image, min_side=32)
    assert prepared.error and prepared.tensor is None
    assert prepared.content_hash is not None and not prepared.io_error
