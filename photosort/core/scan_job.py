"""A scan, start to end: walk and reconcile, pair RAWs, embed, then what follows a scan
(sun, auto tags, imported keywords) and the text stage on its own thread.

The ``Library`` takes the write lock, resolves the roots and hands this module what a
scan needs as a ``ScanWiring`` (the catalog and callbacks into the model and the index);
nothing here knows the ``Library``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, MutableSequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from photosort.core import heap, kept_tags, ocr_store, sun_store
from photosort.core import keywords as keyword_import
from photosort.core import pairs as raw_pairs
from photosort.core.catalog import Catalog, CatalogError
from photosort.core.categories import CategoryError
from photosort.core.embedder import ModelError
from photosort.core.lazy_import import lazy_module
from photosort.core.pipeline import EmbedJob, EmbedStats, embed_photos
from photosort.core.progress import ProgressCallback
from photosort.core.reconcile import reconcile
from photosort.core.scanner import WalkIssue

if TYPE_CHECKING:
    from photosort.core import index as vector_index
    from photosort.core import ocr
    from photosort.core.pipeline import ImageEncoder
else:
    ocr = lazy_module("photosort.core.ocr")

log = logging.getLogger(__name__)

#: $PHOTOSORT_OCR values that turn the text stage of a scan off.
OFF = ("off", "0", "no", "false")


@dataclass
class ScanSummary:
    new: int = 0
    updated: int = 0
    moved: int = 0
    removed: int = 0
    failed: int = 0
    unchanged: int = 0
    embedded: int = 0
    cancelled: bool = False
    failures: list[tuple[str, str]] = field(default_factory=list)
    issues: list[WalkIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    sun: sun_store.SunUpdate = field(default_factory=sun_store.SunUpdate)
    #: Keywords read from sidecars and embedded XMP/IPTC (None when not run).
    keywords: keyword_import.ImportSummary | None = None
    pairs: int = 0  # RAW+JPEG pairs formed by this scan
    #: Photos whose vector or sun this scan wrote or dropped: the only ones it re-tags (8
    #: bytes each: a list of the 100k of a big scan was 3.6 MB, twice).
    changed_ids: MutableSequence[int] = field(default_factory=lambda: array("q"))
    #: The text stage (None when not run: cancelled before it, or turned off).
    ocr: ocr_store.OcrSummary | None = None

    def line(self) -> str:
        text = (
            f"{self.new} new, {self.updated} updated, {self.moved} moved, "
            f"{self.removed} removed, {self.failed} failed"
            f" ({self.embedded} embedded, {self.unchanged} unchanged)"
        )
        return ("cancelled: " if self.cancelled else "") + text

    def as_dict(self) -> dict:
        return {
            "new": self.new,
            "updated": self.updated,
            "moved": self.moved,
            "removed": self.removed,
            "failed": self.failed,
            "unchanged": self.unchanged,
            "embedded": self.embedded,
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
            "cancelled": self.cancelled,
            "failures": [{"path": p, "reason": r} for p, r in self.failures],
            "issues": [{"path": i.path, "reason": i.reason} for i in self.issues],
            "warnings": list(self.warnings),
            "sun": self.sun.as_dict(),
            "imported_tags": self.keywords.as_dict() if self.keywords else None,
            "pairs_formed": self.pairs,
            "text": self.ocr.as_dict() if self.ocr else None,
        }


@dataclass(frozen=True)
class ScanWiring:
    """What a scan needs from the library that runs it, as the catalog and callbacks.

    The model and the index are reached through callbacks because both load lazily: a
    rescan with nothing new never loads the model and never opens the index."""

    catalog: Catalog
    #: the library's model as the user names it (``str(ModelSpec)``)
    model_spec: str
    #: the model id when known without loading the model, else None
    known_model_id: Callable[[], str | None]
    #: the model id (loads the model only when it cannot be known otherwise)
    model_id: Callable[[], str]
    #: what embeds this many photos (None: not known): the model, or its ONNX image tower
    #: without torch (loads it)
    embedder: Callable[[int | None], ImageEncoder]
    #: make this model the library's (the next open uses it)
    record_model: Callable[[ImageEncoder], None]
    #: the vector index (opens it)
    index: Callable[[], vector_index.VectorIndex]
    #: drop the in-memory index (the model's weights were replaced: its vectors are void)
    forget_index: Callable[[], None]
    #: save a changed index (a failure only costs a rebuild)
    save_index: Callable[[], None]
    #: settle half-done moves of a killed ``export --mode move``; returns warnings
    recover_moves: Callable[[], list[str]]
    update_sun: Callable[[ProgressCallback | None, Callable[[], bool] | None], sun_store.SunUpdate]
    #: re-tag these photos (a scan's new and changed ones)
    autotag: Callable[[Iterable[int]], object]
    import_keywords: Callable[[list[int], ProgressCallback | None], keyword_import.ImportSummary]
    #: export the loaded model's text tower once, so later searches need no torch
    cache_text_encoder: Callable[[], None]
    #: export the loaded model's image tower once where small scans would load torch
    cache_image_encoder: Callable[[], None]
    #: the text stage (raises ocr.OcrError or ModelError when it cannot run)
    ocr_stage: Callable[[], ocr_store.OcrStage]


def run(
    wiring: ScanWiring,
    roots: list[tuple[int, str]],
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    batch_size: int = 32,
    retry_failed: bool = False,
    read_text: bool | None = None,
) -> ScanSummary:
    """Bring ``roots`` up to date; the caller holds the library's write lock."""
    started = time.monotonic()
    if read_text is None:
        read_text = os.environ.get("PHOTOSORT_OCR", "on").lower() not in OFF
    # The text stage reads on a low-priority thread once the photos are searchable
    # (or, with $PHOTOSORT_OCR_DURING_SCAN, photos already embedded meanwhile).
    reader = text_reader(wiring.ocr_stage, should_cancel) if read_text else None
    try:
        notes = wiring.recover_moves()  # a killed export --mode move
        raw_pairs.rescue_tags_of_vanishing_primaries(wiring.catalog)
        summary = scan_roots(wiring, roots, on_progress, should_cancel, batch_size, retry_failed)
        summary.warnings += notes
        if not summary.cancelled:
            summary.sun = wiring.update_sun(on_progress, should_cancel)
            summary.changed_ids.extend(summary.sun.photo_ids)
        autotag_after_scan(wiring, summary)
        if not summary.cancelled:  # after auto-tagging: see keywords.py
            summary.keywords = wiring.import_keywords([r[0] for r in roots], on_progress)
            summary.warnings += summary.keywords.warnings
        wiring.cache_text_encoder()  # once per model: later searches need no torch
        wiring.cache_image_encoder()  # once per model: later small scans need no torch
    except BaseException:
        if reader is not None:
            reader.abandon()
        raise
    summary.timings["searchable"] = time.monotonic() - started
    if reader is not None and summary.cancelled:
        reader.abandon()  # what it read meanwhile is kept; summary.ocr stays None
        reader = None
    if reader is not None:  # the text stage finishes what is left, then the scan
        text = finish_text(reader, on_progress)
        summary.timings["all text in"] = time.monotonic() - started
        if isinstance(text, str):
            summary.warnings.append(text)
        else:
            summary.ocr = text
            summary.cancelled = summary.cancelled or text.cancelled
    return summary


def text_reader(
    stage: Callable[[], ocr_store.OcrStage], should_cancel: Callable[[], bool] | None
) -> ocr_store.BackgroundReader | None:
    """The text stage's thread, started with the scan (None: it cannot start)."""
    try:
        ocr_stage = stage()
    except (ocr.OcrError, ModelError) as exc:
        log.warning("reading text in photos is off: %s", exc)
        return None
    # Reading while the scan embeds competes with it (the OCR thread's Python parts
    # share the GIL, whatever its nice; README: +10 % to searchable in the median, up
    # to +83 % in one run on two busy cores) for no earlier end: off unless asked.
    during = os.environ.get("PHOTOSORT_OCR_DURING_SCAN", "off").lower() not in OFF
    return ocr_store.BackgroundReader(
        ocr_stage, should_cancel=should_cancel, concurrent=during
    ).start()


def finish_text(
    reader: ocr_store.BackgroundReader, on_progress: ProgressCallback | None
) -> ocr_store.OcrSummary | str:
    """The text stage's result, or the warning it failed with (never a lost scan)."""
    try:
        return reader.finish(on_progress)
    except (ocr.OcrError, CatalogError, ModelError) as exc:
        return f"reading text in photos failed: {exc}"


def scan_roots(
    wiring: ScanWiring,
    roots: list[tuple[int, str]],
    on_progress: ProgressCallback | None,
    should_cancel: Callable[[], bool] | None,
    batch_size: int,
    retry_failed: bool = False,
) -> ScanSummary:
    """Walk, reconcile, pair and embed: the part of a scan that makes photos searchable."""
    catalog = wiring.catalog
    # The model (seconds to import and load) is loaded only when a photo needs it: a
    # rescan with nothing new is a walk and a compare. Another model than the library's
    # loads at once, so a mistyped one fails early and clearly.
    if catalog.get_meta("model") != wiring.model_spec or not wiring.known_model_id():
        # only its id and vector length so far (0 photos): the export where it stands in
        wiring.record_model(wiring.embedder(0))  # indexing with it makes it the library's
    rec = reconcile(catalog, roots, on_progress, should_cancel)
    summary = ScanSummary(
        new=rec.new,
        updated=rec.updated,
        moved=rec.moved,
        removed=rec.removed,
        unchanged=rec.unchanged,
        issues=rec.issues,
        warnings=rec.warnings,
    )
    if rec.removed_ids:  # else the index (and faiss) is not even opened
        wiring.index().remove(rec.removed_ids)
    if not (should_cancel and should_cancel()):
        with catalog.transaction() as conn:
            for root_id, videos in rec.skipped_videos.items():
                catalog.set_meta(f"skipped_videos:{root_id}", json.dumps(videos), conn)
    linked = raw_pairs.link(catalog, [r[0] for r in roots])
    if linked.companion_ids:
        wiring.index().remove(linked.companion_ids)
    summary.changed_ids.extend(linked.companion_ids or [])  # their vectors went
    summary.pairs = linked.formed
    if should_cancel and should_cancel():
        summary.cancelled = True
        wiring.save_index()
        return summary
    root_ids = [r[0] for r in roots]
    known_id = wiring.model_id()
    jobs = embed_jobs(catalog, known_id, root_ids, retry_failed)
    stats = EmbedStats()
    try:
        if jobs:
            heap.release_freed()  # the walk's objects, before the model and decoders take pages
            embedder = wiring.embedder(len(jobs))
            wiring.record_model(embedder)
            if embedder.model_id != known_id:  # the folder's weights were replaced
                wiring.forget_index()
                jobs = embed_jobs(catalog, embedder.model_id, root_ids, retry_failed)
            stats = embed_photos(
                catalog, embedder, wiring.index(), jobs, on_progress, should_cancel, batch_size
            )
    finally:
        wiring.save_index()
    with catalog.transaction() as conn:  # decisions kept when photos were forgotten
        kept_tags.restore(conn)
    summary.embedded = stats.embedded
    summary.changed_ids.extend(stats.photo_ids)
    summary.failed = stats.failed
    summary.failures = stats.failures
    summary.cancelled = stats.cancelled
    summary.timings = stats.timings
    return summary


def embed_jobs(
    catalog: Catalog, model_id: str, root_ids: list[int], retry_failed: bool
) -> PendingPhotos:
    """The photos of these roots that need a vector of ``model_id`` (a RAW beside its
    JPEG never does: the JPEG speaks for both)."""
    return PendingPhotos(catalog, model_id, root_ids, retry_failed)


class PendingPhotos:
    """The photos to embed, read from the catalog a page at a time as the scan goes (a
    list of 100k of them was 20 MB held through the whole scan); their number is the
    count when the scan came to them."""

    PAGE = 2000

    def __init__(self, catalog: Catalog, model_id: str, root_ids: list[int], retry_failed: bool):
        self._catalog, self._model_id = catalog, model_id
        self._root_ids, self._retry = root_ids, retry_failed
        count = catalog.photos_needing_embedding_count(model_id, root_ids, retry_failed)
        # a rescan with nothing new asks no more (no companion query)
        self._companions = raw_pairs.companion_ids(catalog) if count else frozenset()
        self._count = sum(1 for _ in self) if self._companions else count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[EmbedJob]:
        after: str | None = None
        while True:
            rows = self._catalog.photos_needing_embedding(
                self._model_id, self._root_ids, self._retry, after, self.PAGE
            )
            for r in rows:
                if r["id"] not in self._companions:
                    yield EmbedJob(r["id"], r["path"])
            if len(rows) < self.PAGE:
                return
            after = rows[-1]["path"]


def autotag_after_scan(wiring: ScanWiring, summary: ScanSummary) -> None:
    """New photos get their tags at the end of a scan; a failure here is a warning."""
    try:
        if summary.embedded or summary.removed or summary.updated or summary.sun.read:
            wiring.autotag(summary.changed_ids)
    except (CategoryError, CatalogError, ModelError) as exc:
        summary.warnings.append(f"auto-tagging failed: {exc}")
