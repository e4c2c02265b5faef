"""Re-indexing with another model while search keeps using the old vectors.

The new model's vectors go to a staging table, ``staged_vectors``, one transaction per
batch: search, tagging and "find similar" keep reading ``embeddings`` (the old model)
meanwhile, and a re-index that is killed resumes where it stopped (the target model is
kept in ``meta``). At the end one transaction renames the staging table into place
(``staged_vectors`` has the columns of ``embeddings``) and makes the new model the
library's; the caller then rebuilds the vector index cache.

``staged_hashes`` records the content hash each staged vector was made from: a photo a
scan changed meanwhile is embedded again, never swapped in with its old content's vector.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field

import numpy as np

from photosort.core import model_check, vector_codec
from photosort.core.catalog import Catalog, CatalogError
from photosort.core.categories import CategoryError
from photosort.core.embedder import Embedder, ModelError, ModelSpec
from photosort.core.pipeline import EmbedJob, EmbedStats, Prepared, embed_photos
from photosort.core.progress import Progress, ProgressCallback
from photosort.core.store.staging import StagingStore
from photosort.core.writelock import LibraryBusy

TARGET_KEY = "reindex_target"  # meta: the model an unfinished re-index embeds with


@dataclass(frozen=True)
class Target:
    """The model a re-index embeds with: its spec (what the user typed), id and size."""

    spec: str
    model_id: str
    dim: int


@dataclass
class ReindexSummary:
    model: str
    embedded: int = 0
    kept: int = 0  # vectors an interrupted run had already staged
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
    swapped: bool = False  # the new model's vectors are the library's now
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        text = f"{self.embedded} embedded, {self.failed} failed"
        if self.kept:
            text += f", {self.kept} kept from the interrupted run"
        if self.cancelled:
            return f"stopped ({text}); run it again to resume, search uses the old model"
        return text

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "embedded": self.embedded,
            "kept": self.kept,
            "failed": self.failed,
            "failures": [{"path": p, "reason": r} for p, r in self.failures],
            "cancelled": self.cancelled,
            "swapped": self.swapped,
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 3),
        }


def pending_target(catalog: Catalog) -> Target | None:
    """The target of a re-index that was started and not finished (killed, cancelled)."""
    raw = catalog.get_meta(TARGET_KEY)
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return Target(str(data["spec"]), str(data["model_id"]), int(data["dim"]))
    except (ValueError, KeyError, TypeError):
        return None


def begin(catalog: Catalog, target: Target) -> int:
    """Record the target; keep what an interrupted run of the same model staged (returned),
    drop what a run with another model left."""
    with catalog.transaction() as conn:
        kept = StagingStore(conn).keep_only(target.model_id)
        value = json.dumps({"spec": target.spec, "model_id": target.model_id, "dim": target.dim})
        catalog.set_meta(TARGET_KEY, value, conn)
        return kept


def abandon(catalog: Catalog) -> None:
    """Forget an unfinished re-index (its staged vectors too)."""
    if pending_target(catalog) is None:
        return
    StagingStore(catalog).clear(TARGET_KEY)


def todo(catalog: Catalog, model_id: str) -> list[EmbedJob]:
    """Indexed photos without a staged vector of their current content."""
    return [EmbedJob(r[0], r[1]) for r in StagingStore(catalog).todo(model_id)]


def progress(catalog: Catalog) -> tuple[int, int]:
    """(staged, indexed photos) of the unfinished re-index, for ``status``."""
    target = pending_target(catalog)
    staging = StagingStore(catalog)
    total = staging.count_indexed()
    if target is None:
        return 0, total
    return staging.count_current(target.model_id), total


def stager(catalog: Catalog, model_id: str) -> Callable[[list[Prepared], np.ndarray, list], None]:
    """The batch writer ``embed_photos`` uses: staged vectors only, live ones untouched."""

    def store(ok: list[Prepared], vectors: np.ndarray, _failed: list[Prepared]) -> None:
        StagingStore(catalog).stage(
            model_id,
            [
                (p.job.photo_id, vector_codec.encode(v), p.content_hash)
                for p, v in zip(ok, vectors, strict=True)
            ],
        )

    return store


def swap(catalog: Catalog, target: Target) -> int:
    """In one transaction: the staged vectors (of photos whose content is unchanged) become
    the library's, other models' vectors go, and the target becomes the library's model.
    Returns the number of vectors swapped in.

    The staging table is renamed into place rather than copied: copying 100k vectors
    (200 MB) held the catalog's writer for tens of seconds, and a tag click waited on it.
    A photo left without a new vector is embedded by the next scan (status 'ok', no vector).
    """
    with catalog.transaction() as conn:
        swapped = StagingStore(conn).swap_in(target.model_id, TARGET_KEY)
        catalog.set_meta("model", target.spec, conn)
        catalog.set_meta("model_id", target.model_id, conn)
        catalog.set_meta("model_dim", str(target.dim), conn)
        catalog.set_meta(f"spec:{target.model_id}", target.spec, conn)
        catalog.bump_vectors_version(conn)
    return int(swapped)


def run(
    catalog: Catalog,
    embedder: Embedder,
    target: Target,
    exclusive: Callable[[], AbstractContextManager],
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    batch_size: int = 32,
    after_swap: Callable[[], None] | None = None,
) -> ReindexSummary:
    """Stage every indexed photo's vector of ``embedder``'s model, then swap them in.

    Staging holds no lock (a scan or tagging beside it goes on); ``exclusive()`` (the
    library's write lock) is held only for the photos a scan added meanwhile, the swap
    and ``after_swap`` (the index cache rebuilt before any other writer runs).
    """
    started = time.monotonic()
    summary = ReindexSummary(target.spec)
    summary.kept = begin(catalog, target)
    cancel = should_cancel or (lambda: False)

    def embed(jobs: list[EmbedJob]) -> EmbedStats:
        offset = summary.kept + summary.embedded + summary.failed
        total = offset + len(jobs)

        def report(p: Progress) -> None:
            if on_progress is not None:
                on_progress(
                    Progress("re-indexing", offset + p.done, total, p.current, p.rate, p.eta_s)
                )

        stats = embed_photos(
            catalog,
            embedder,
            None,
            jobs,
            report,
            cancel,
            batch_size,
            store=stager(catalog, target.model_id),
        )
        summary.embedded += stats.embedded
        summary.failed += stats.failed
        summary.failures += stats.failures
        summary.cancelled = stats.cancelled
        return stats

    embed(todo(catalog, target.model_id))
    with ExitStack() as held:
        while not summary.cancelled:  # a scan holding the lock: wait for it, cancellable
            try:
                held.enter_context(exclusive())
                break
            except LibraryBusy:
                summary.cancelled = cancel()
                time.sleep(0.25)
        if not summary.cancelled:
            rest = todo(catalog, target.model_id)
            failed = {path for path, _ in summary.failures}
            embed([job for job in rest if job.path not in failed])  # no second try
            summary.cancelled = summary.cancelled or cancel()
            if not summary.cancelled:
                swap(catalog, target)
                summary.swapped = True
                if after_swap is not None:
                    after_swap()
    summary.seconds = time.monotonic() - started
    return summary


def reindex_library(
    catalog: Catalog,
    spec: ModelSpec,
    unfinished: Target | None,
    embedder: Embedder,
    adopt: Callable[[], None],
    swap_index: Callable[[Target], None],
    exclusive: Callable[[], AbstractContextManager],
    autotag: Callable[[], object],
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    batch_size: int = 32,
) -> ReindexSummary:
    """Re-embed a library with ``embedder`` (the model of ``spec``) while search keeps the
    old vectors; at the end ``adopt()`` makes it the library's model, ``swap_index`` builds
    the index of the new vectors and ``autotag()`` re-tags (a failure there is a warning).
    ``unfinished``: the target of an interrupted re-index, resumed when it is this one."""
    target = Target(str(spec), embedder.model_id, embedder.dim)
    models = model_check.vector_models(catalog)
    if set(models) <= {target.model_id} and (
        unfinished is None or unfinished.model_id != target.model_id
    ):  # nothing to re-embed: already its vectors (a switch to another model is dropped)
        abandon(catalog)
        adopt()
        return ReindexSummary(target.spec, swapped=True)

    def swapped() -> None:
        adopt()
        swap_index(target)

    summary = run(
        catalog, embedder, target, exclusive, on_progress, should_cancel, batch_size, swapped
    )
    if summary.swapped:  # the tags follow the new model's vectors
        try:
            autotag()
        except (CategoryError, CatalogError, ModelError) as exc:
            summary.warnings.append(f"auto-tagging failed: {exc}")
    return summary
