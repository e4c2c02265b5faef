"""``Library``: the one place that wires catalog, index, model, scanning and search together.

The CLI and the GUI both hold a ``Library`` and call its methods; nothing else opens
the catalog or loads the model.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from photosort.core import categories as category_store
from photosort.core import (
    image_engine,  # a scan without torch (issue 13)
    kept_tags,
    known_models,
    lookup,
    ocr_store,  # text in photos (issue 19)
    query_input,
    scoring,
    sun,
    sun_store,
    tag_admin,
    tagging,  # registers the search filter and result hook for tags
)
from photosort.core import index as vector_index
from photosort.core import keywords as keyword_import
from photosort.core import pairs as raw_pairs
from photosort.core import roots as root_paths
from photosort.core import watch as watching
from photosort.core.catalog import Catalog, CatalogError
from photosort.core.categories import Category, CategoryError
from photosort.core.embedder import (
    DEFAULT_MODEL,
    Embedder,
    ModelError,
    ModelSpec,
    check_model_name,
    model_cached,
    resolve_device,
)
from photosort.core.errors import PhotosortError
from photosort.core.folders import inside
from photosort.core.lazy_import import lazy_module
from photosort.core.pipeline import EmbedJob, EmbedStats, embed_photos
from photosort.core.progress import ProgressCallback, RateMeter
from photosort.core.reconcile import reconcile
from photosort.core.scanner import WalkIssue
from photosort.core.search import (
    NEUTRAL_CAPTIONS,
    Relevance,
    Searcher,
    SearchQuery,
    SearchResult,
)
from photosort.core.store import PhotoStore, RootStore, TagStore, VectorStore
from photosort.core.writelock import LibraryBusy, WriteLock

# Features a library opened for a scan or a search may never use are imported on first use:
# a no-change rescan stays light (issue 13). Type checkers and import-linter see them here.
if TYPE_CHECKING:
    from photosort.core import archive_import as archives
    from photosort.core import bench as bench_speed
    from photosort.core import discover as discovery
    from photosort.core import duplicate_actions as dup_actions
    from photosort.core import duplicates as dup
    from photosort.core import export as exporter
    from photosort.core import (
        model_check,
        ocr,
        scores,
        sun_fusion,
        tag_truth,
        teaching,
        text_onnx,
        xmp,
    )
    from photosort.core import reindex as reindexing
else:
    archives = lazy_module("photosort.core.archive_import")
    bench_speed = lazy_module("photosort.core.bench")
    discovery = lazy_module("photosort.core.discover")
    dup_actions = lazy_module("photosort.core.duplicate_actions")
    dup = lazy_module("photosort.core.duplicates")
    exporter = lazy_module("photosort.core.export")
    reindexing = lazy_module("photosort.core.reindex")
    teaching = lazy_module("photosort.core.teaching")
    xmp = lazy_module("photosort.core.xmp")
    scores = lazy_module("photosort.core.scores")
    tag_truth = lazy_module("photosort.core.tag_truth")
    text_onnx = lazy_module("photosort.core.text_onnx")
    model_check = lazy_module("photosort.core.model_check")
    sun_fusion = lazy_module("photosort.core.sun_fusion")
    ocr = lazy_module("photosort.core.ocr")

log = logging.getLogger(__name__)


class LibraryError(PhotosortError):
    """A user-facing problem with the library (bad path, busy, ...)."""


#: $PHOTOSORT_OCR values that turn the text stage of a scan off.
OFF = ("off", "0", "no", "false")

#: Another process holds the library's write lock; trying again later may work.
LibraryBusyError = LibraryBusy


def default_library_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(os.environ.get("PHOTOSORT_LIBRARY") or user_data_dir("photosort"))


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
    #: Photos whose vector or sun this scan wrote or dropped: the only ones it re-tags.
    changed_ids: list[int] = field(default_factory=list)
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
class LibraryStatus:
    library: str
    model: str
    roots: int
    photos: int
    embedded: int
    failed: int
    pending: int
    #: RAW files shown through the JPEG beside them (counted once in ``photos``)
    raw_pairs: int = 0
    #: files not indexed, by extension (videos): {".mov": 12}
    skipped: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Library:
    """A photo library on disk: ``catalog.sqlite``, the vector index cache and backups."""

    def __init__(
        self,
        folder: str | os.PathLike | None = None,
        model: str | None = None,
        device: str | None = None,
        read_only: bool = False,
    ):
        self.folder = Path(folder).expanduser() if folder else default_library_dir()
        self.read_only = read_only
        if self.folder.exists() and not self.folder.is_dir():
            raise LibraryError(f"the library must be a folder, and {self.folder} is a file")
        if read_only:  # reading commands (search, status) never create a library
            if not (self.folder / Catalog.FILENAME).is_file():
                raise LibraryError(
                    f"no library at {self.folder} yet: add photos with photosort scan PATH"
                )
        else:
            try:
                if not self.folder.is_dir():  # a new library is private to the user
                    self.folder.mkdir(mode=0o700, parents=True)
            except OSError as exc:
                raise LibraryError(
                    f"cannot create library folder {self.folder}: {exc.strerror or exc}"
                ) from exc
        self.catalog = Catalog(
            self.folder / Catalog.FILENAME, backup_dir=self.folder / "backups", read_only=read_only
        )
        stored = self.catalog.get_meta("model")
        self.model_spec = ModelSpec.parse(
            model or os.environ.get("PHOTOSORT_MODEL") or stored or DEFAULT_MODEL
        )
        self.device = device or os.environ.get("PHOTOSORT_DEVICE") or "auto"
        self._embedder: Embedder | None = None
        self._text_encoder: text_onnx.OnnxTextEncoder | None = None
        self._image_encoder: image_engine.OnnxImageEncoder | None = None  # see image_encoder
        self._index: vector_index.VectorIndex | None = None
        self._load_lock = threading.Lock()
        self._matrix_cache: tuple | None = None  # (model id, vectors_version), ids, matrix
        self._auto_cache = tagging.AutoTagCache()
        self._teach_cache = teaching.TeachCache()  # whitening, nearest examples: fast retrain
        self._sun_cache = sun_store.EvidenceCache()
        self._write_lock = WriteLock(self.folder)
        # The catalog vectors_version the in-memory index mirrors, and whether this process
        # holds the write lock (only then may it change vectors and save the index).
        self._index_version: int | None = None
        self._index_lock = threading.RLock()
        self._writing = False

    # -- lazily loaded parts --------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        with self._load_lock:
            if self._embedder is None:
                self._embedder = Embedder(self.model_spec, self.device)
                # torch and the model leave ~10^6 long-lived objects; a full GC pass over
                # them holds the GIL ~200 ms and froze the GUI mid-scan. Park them for good.
                gc.freeze()
                self._image_encoder = None  # the model runs its own export from now on
                self._note_model(self._embedder)
            return self._embedder

    def _note_model(self, model: Embedder | image_engine.OnnxImageEncoder) -> None:
        """What loading a model records: its spec by id, and (unless a one-off --model
        whose vectors the library lacks) the library's model."""
        if not self.read_only:
            model_check.remember_spec(self.catalog, model.model_id, str(self.model_spec))
            if not model_check.is_foreign(self.catalog, model.model_id):
                self._remember_model(model)

    # -- issue 13: a scan without torch (image_engine.OnnxImageEncoder) -------------------
    @property
    def image_encoder(self) -> Embedder | image_engine.OnnxImageEncoder:
        """What turns photos into vectors: the model once loaded, else its cached ONNX
        image tower where that is this machine's engine (a scan then imports neither
        torch nor open_clip: 27 of 45 s of a small scan from scratch), else the model."""
        if self._embedder is None:
            with self._load_lock:
                if self._image_encoder is None:
                    self._image_encoder = image_engine.OnnxImageEncoder.open(
                        self.model_spec, self.device, lambda: self.embedder
                    )
                    if self._image_encoder is not None:
                        self._note_model(self._image_encoder)
                if self._image_encoder is not None:
                    return self._image_encoder
        return self.embedder

    # -- end of issue 13's torch-free scan ---------------------------------------------------

    @property
    def text_encoder(self) -> Embedder | text_onnx.OnnxTextEncoder:
        """What turns text into vectors: the model once loaded, else its cached ONNX text
        tower (no torch: a cold text search in well under a second), else the model."""
        if self._embedder is None and text_onnx.enabled():
            with self._load_lock:
                if self._text_encoder is None:
                    model_id = self.known_model_id()
                    if model_id:
                        self._text_encoder = text_onnx.OnnxTextEncoder.open(model_id)
                if self._text_encoder is not None:
                    return self._text_encoder
        return self.embedder

    def cache_text_encoder(self) -> None:
        """Export the loaded model's text tower for the next cold search (seconds, once per
        model); a failure only means the next search loads the model again."""
        if self._embedder is None or not text_onnx.enabled():
            return
        try:
            with self._embedder._lock:
                text_onnx.export(self._embedder)
        except Exception as exc:
            log.info("text tower not exported (%s); searches load the model", exc)

    def _remember_model(self, model: Embedder | image_engine.OnnxImageEncoder) -> None:
        """Record the loaded model, only when that changes something: loading a model for a
        search is a read, and a write would start the scheduled backup (minutes at 1M)."""
        known = {
            "model": str(self.model_spec),
            "model_id": model.model_id,
            "model_dim": str(model.dim),
        }
        if self.read_only or all(self.catalog.get_meta(k) == v for k, v in known.items()):
            return
        self._record_model(model)

    def _record_model(self, embedder: Embedder | image_engine.OnnxImageEncoder) -> None:
        """The library's model: the next open uses it (a scan or reindex makes it so)."""
        with self.catalog.transaction() as conn:
            self.catalog.set_meta("model", str(self.model_spec), conn)
            self.catalog.set_meta("model_id", embedder.model_id, conn)
            self.catalog.set_meta("model_dim", str(embedder.dim), conn)

    @property
    def model_id(self) -> str:
        """The model id, known without loading the model when the spec is unchanged."""
        if self._embedder is None:
            known = self.known_model_id()
            if known:
                return known
        return self.image_encoder.model_id  # the model's, without torch where it can be

    def known_model_id(self) -> str | None:
        """The model id if it is known without loading the model (status never loads it)."""
        if self._embedder is not None:
            return self._embedder.model_id
        if self.catalog.get_meta("model") == str(self.model_spec):
            stored = self.catalog.get_meta("model_id")
            if stored:
                return stored
        if self.model_spec.local_dir is None:
            return str(self.model_spec)  # a hub model's id is its name
        return None

    def model_recorded(self) -> bool:
        """Whether any model was ever recorded for this library (not on a first run)."""
        return self.catalog.get_meta("model_id") is not None

    def vector_dim(self) -> int:
        """The model's vector length, known without loading the model when recorded."""
        if self._embedder is None and self.catalog.get_meta("model") == str(self.model_spec):
            stored = self.catalog.get_meta("model_dim")
            if stored:
                return int(stored)
        return self.embedder.dim

    @property
    def index(self) -> vector_index.VectorIndex:
        """The vector index, reloaded when another process (a CLI scan beside the GUI)
        has changed the catalog's vectors since this one was loaded."""
        with self._index_lock:
            if (
                self._index is not None
                and not self._writing
                and not self._index.dirty
                and self._index_version != self.catalog.vectors_version()
            ):
                self._index = None
            if self._index is None:
                self._index_version = self.catalog.vectors_version()  # before: errs stale
                self._index = vector_index.open_or_rebuild(
                    self.folder, self.catalog, self.model_id, self.vector_dim()
                )
            return self._index

    @contextmanager
    def writing(self, activity: str, wait_s: float = 0.5) -> Iterator[None]:
        """Hold the library's write lock (see core/writelock.py) while ``activity`` runs.

        Every change to files or to the set of photos goes through here; it is also the
        one writer of vectors and of the index file. An in-memory index another process
        made stale is dropped first: saving it under the new catalog version would hide
        that process's changes from every later open.
        """
        with self._write_lock.hold(activity, wait_s):
            outer = not self._writing
            if outer:
                with self._index_lock:
                    if self._index is not None and (
                        self._index_version != self.catalog.vectors_version()
                    ):
                        self._index = None
                    self._writing = True
            try:
                yield
            finally:
                if outer:
                    self._writing = False

    def rebuild_index(self) -> vector_index.VectorIndex:
        """Rebuild the vector index from the catalog's vectors, save it and use it from now
        on (doctor's repair). Under the write lock, like every writer of the index."""
        if not self._writing:
            raise LibraryError("rebuilding the index needs the write lock (Library.writing)")
        with self._index_lock:
            version = self.catalog.vectors_version()
            self._index = vector_index.rebuild(
                self.folder, self.catalog, self.model_id, self.vector_dim()
            )
            self._index_version = version
            return self._index

    def backup_catalog(self, reason: str = "manual") -> Path:
        """A copy of the catalog in ``backups/`` now, keeping the configured number."""
        return self.catalog.backup_now(reason)

    def _exclusive(self, activity: str = "scanning") -> contextlib.AbstractContextManager:
        return self.writing(activity)

    def _recover_moves(self) -> list[str]:
        """Settle half-done moves of dead processes; only under the write lock."""
        return exporter.recover_moves(self.catalog, lock_held=self._write_lock.held)

    def save_index(self) -> None:
        """Save a changed index. It is only a cache: a failure (a full disk) must not hide
        the real error or lose work, and costs no more than a rebuild at the next open."""
        if self._index is not None and self._index.dirty:
            version = self.catalog.vectors_version()
            self._index_version = version
            try:
                self._index.save(self.folder, self._index.meta(self.model_id, version))
            except (OSError, RuntimeError) as exc:  # FAISS reports ENOSPC as RuntimeError
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][-160:]
                log.info("could not save the vector index (%s); it is rebuilt later", reason)

    # -- roots ------------------------------------------------------------------------
    def roots(self) -> list[dict]:
        return [dict(r) for r in self.catalog.roots()]

    def add_root(self, path: str | os.PathLike, follow_links: bool = False) -> tuple[int, str]:
        """Register a folder by its real path; a folder inside a known root, or the same
        folder reached another way (a link, a bind mount), resolves to that root.

        ``follow_links``: follow symlinks that lead out of the folder (remembered)."""
        folder = root_paths.canonical(path)
        if not os.path.isdir(folder):
            raise LibraryError(f"not a folder: {path}")
        known = root_paths.containing_root(folder, self.catalog.roots())
        if known is not None:
            if follow_links:
                self._follow_links(known["id"])
            return known["id"], known["path"]
        root_id = self.catalog.add_root(folder)
        if follow_links:
            self._follow_links(root_id)
        self._absorb_nested_roots(root_id, folder)
        return root_id, folder

    def _follow_links(self, root_id: int) -> None:
        RootStore(self.catalog).set_follow_links(root_id)

    def _absorb_nested_roots(self, root_id: int, folder: str) -> None:
        RootStore(self.catalog).absorb(root_id, lambda path: inside(path, folder))

    def _known_root(self, path: str | os.PathLike) -> tuple[int, str]:
        folder = os.path.abspath(os.path.expanduser(os.fspath(path)))
        root_id = self.catalog.root_id(folder)
        if root_id is None:  # named through a link, or with extra slashes
            folder = root_paths.canonical(path)
            root_id = self.catalog.root_id(folder)
        if root_id is None:
            raise LibraryError(f"not a root of this library: {path}")
        return root_id, folder

    def root_removal(self, path: str | os.PathLike) -> kept_tags.RootRemoval:
        """What removing this root would forget (photos, manual tag decisions), to show
        the user before they confirm; nothing is changed."""
        root_id, folder = self._known_root(path)
        return kept_tags.removal_impact(self.catalog, root_id, folder)

    def remove_root(self, path: str | os.PathLike) -> int:
        """Forget a root and its photos (files on disk are untouched). Their manual tag
        decisions are kept by content hash: adding the folder back restores them."""
        root_id, _ = self._known_root(path)
        with self.writing("removing a folder"):
            ids = PhotoStore(self.catalog).ids_in_root(root_id)
            hashes = kept_tags.fill_missing_hashes(self.catalog, ids)
            ids = self.catalog.remove_root(
                root_id, lambda conn, gone: kept_tags.keep(conn, gone, hashes)
            )
            self.index.remove(ids)
            self.save_index()
        return len(ids)

    # -- scanning -----------------------------------------------------------------------
    def scan(
        self,
        paths: Iterable[str | os.PathLike] | None = None,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
        batch_size: int = 32,
        follow_links: bool = False,
        retry_failed: bool = False,
        read_text: bool | None = None,
    ) -> ScanSummary:
        """Add ``paths`` as roots (all roots when None) and bring them up to date.

        ``follow_links``: the given folders' symlinks that lead outside them are followed
        (remembered per folder). ``retry_failed``: every failed photo is tried again, not
        only those that failed for a reason outside the file (an I/O error).
        ``read_text``: run the text stage (OCR of photos the gate passes) at the end
        (default: yes, unless $PHOTOSORT_OCR is "off")."""
        with self.writing("scanning"):
            roots = (
                [self.add_root(p, follow_links) for p in paths]
                if paths
                else [(r["id"], r["path"]) for r in self.catalog.roots()]
            )
            roots = list(dict.fromkeys(roots))
            started = time.monotonic()
            if read_text is None:
                read_text = os.environ.get("PHOTOSORT_OCR", "on").lower() not in OFF
            # The text stage reads on a low-priority thread once the photos are searchable
            # (or, with $PHOTOSORT_OCR_DURING_SCAN, photos already embedded meanwhile).
            reader = self._text_reader(should_cancel) if read_text else None
            try:
                notes = self._recover_moves()  # a killed export --mode move
                raw_pairs.rescue_tags_of_vanishing_primaries(self.catalog)
                summary = self._scan_locked(
                    roots, on_progress, should_cancel, batch_size, retry_failed
                )
                summary.warnings += notes
                if not summary.cancelled:
                    summary.sun = self.update_sun(on_progress, should_cancel)
                    summary.changed_ids += summary.sun.photo_ids
                self._autotag_after_scan(summary)
                if not summary.cancelled:  # after auto-tagging: see keywords.py
                    summary.keywords = self.import_keywords([r[0] for r in roots], on_progress)
                    summary.warnings += summary.keywords.warnings
                self.cache_text_encoder()  # once per model: later searches need no torch
            except BaseException:
                if reader is not None:
                    reader.abandon()
                raise
            summary.timings["searchable"] = time.monotonic() - started
            if reader is not None and summary.cancelled:
                reader.abandon()  # what it read meanwhile is kept; summary.ocr stays None
                reader = None
            if reader is not None:  # the text stage finishes what is left, then the scan
                text = self._finish_text(reader, on_progress)
                summary.timings["all text in"] = time.monotonic() - started
                if isinstance(text, str):
                    summary.warnings.append(text)
                else:
                    summary.ocr = text
                    summary.cancelled = summary.cancelled or text.cancelled
            return summary

    def _text_reader(
        self, should_cancel: Callable[[], bool] | None
    ) -> ocr_store.BackgroundReader | None:
        """The text stage's thread, started with the scan (None: it cannot start)."""
        try:
            stage = self._ocr_stage()
        except (ocr.OcrError, ModelError) as exc:
            log.warning("reading text in photos is off: %s", exc)
            return None
        # Reading while the scan embeds competes with it (the OCR thread's Python parts
        # share the GIL, whatever its nice; README: +10 % to searchable in the median, up
        # to +83 % in one run on two busy cores) for no earlier end: off unless asked.
        during = os.environ.get("PHOTOSORT_OCR_DURING_SCAN", "off").lower() not in OFF
        return ocr_store.BackgroundReader(
            stage, should_cancel=should_cancel, concurrent=during
        ).start()

    def _finish_text(
        self, reader: ocr_store.BackgroundReader, on_progress: ProgressCallback | None
    ) -> ocr_store.OcrSummary | str:
        """The text stage's result, or the warning it failed with (never a lost scan)."""
        try:
            return reader.finish(on_progress)
        except (ocr.OcrError, CatalogError, ModelError) as exc:
            return f"reading text in photos failed: {exc}"

    def import_keywords(
        self,
        root_ids: list[int],
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> keyword_import.ImportSummary:
        """Keywords from XMP sidecars and embedded XMP/IPTC become manual tags."""
        return keyword_import.import_keywords(
            self.catalog,
            root_ids,
            lambda pid: raw_pairs.primary_of(self.catalog, [pid])[0],
            on_progress,
            should_cancel,
        )

    def _scan_locked(
        self,
        roots: list[tuple[int, str]],
        on_progress: ProgressCallback | None,
        should_cancel: Callable[[], bool] | None,
        batch_size: int,
        retry_failed: bool = False,
    ) -> ScanSummary:
        # The model (seconds to import and load) is loaded only when a photo needs it: a
        # rescan with nothing new is a walk and a compare. Another model than the library's
        # loads at once, so a mistyped one fails early and clearly.
        if self.catalog.get_meta("model") != str(self.model_spec) or not self.known_model_id():
            self._record_model(self.image_encoder)  # indexing with it makes it the library's model
        rec = reconcile(self.catalog, roots, on_progress, should_cancel)
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
            self.index.remove(rec.removed_ids)
        if not (should_cancel and should_cancel()):
            with self.catalog.transaction() as conn:
                for root_id, videos in rec.skipped_videos.items():
                    self.catalog.set_meta(f"skipped_videos:{root_id}", json.dumps(videos), conn)
        linked = raw_pairs.link(self.catalog, [r[0] for r in roots])
        if linked.companion_ids:
            self.index.remove(linked.companion_ids)
        summary.changed_ids += linked.companion_ids or []  # their vectors went
        summary.pairs = linked.formed
        if should_cancel and should_cancel():
            summary.cancelled = True
            self.save_index()
            return summary
        root_ids = [r[0] for r in roots]
        known_id = self.model_id
        jobs = self._embed_jobs(known_id, root_ids, retry_failed)
        stats = EmbedStats()
        try:
            if jobs:
                embedder = self.image_encoder
                self._record_model(embedder)
                if embedder.model_id != known_id:  # the folder's weights were replaced
                    with self._index_lock:
                        self._index = None
                    jobs = self._embed_jobs(embedder.model_id, root_ids, retry_failed)
                stats = embed_photos(
                    self.catalog, embedder, self.index, jobs, on_progress, should_cancel, batch_size
                )
        finally:
            self.save_index()
        with self.catalog.transaction() as conn:  # decisions kept when photos were forgotten
            kept_tags.restore(conn)
        summary.embedded = stats.embedded
        summary.changed_ids += stats.photo_ids
        summary.failed = stats.failed
        summary.failures = stats.failures
        summary.cancelled = stats.cancelled
        summary.timings = stats.timings
        return summary

    def _embed_jobs(self, model_id: str, root_ids: list[int], retry_failed: bool) -> list[EmbedJob]:
        rows = self.catalog.photos_needing_embedding(model_id, root_ids, retry_failed)
        companions = raw_pairs.companion_ids(self.catalog)  # a RAW beside its JPEG
        return [EmbedJob(r["id"], r["path"]) for r in rows if r["id"] not in companions]

    def watcher(self, **options: Any) -> watching.FolderWatcher:
        """A watcher of this library's roots (see core/watch.py); the caller starts it."""
        return watching.FolderWatcher([r["path"] for r in self.catalog.roots()], **options)

    # -- search -------------------------------------------------------------------------
    def searcher(self) -> Searcher:
        return Searcher(
            self.catalog,
            self.index,
            lambda: self.embedder,
            self._relevance,
            text_encoder=lambda: self.text_encoder,
            model_id=lambda: self.model_id,
        )

    def _relevance(self) -> Relevance:
        """Neutral captions (cached in the catalog) and the logit scale: search's cutoff."""
        vectors = tagging.text_vectors(
            self.catalog,
            self.model_id,
            NEUTRAL_CAPTIONS,
            lambda texts: self.text_encoder.encode_texts(texts),
        )
        neutral = tagging.ensemble([vectors[p] for p in NEUTRAL_CAPTIONS])
        return Relevance(neutral, self._logit_scale())

    @property
    def model_loaded(self) -> bool:
        """True once the model is in memory (a search then answers without waiting)."""
        return self._embedder is not None

    def preload_model(self) -> None:
        """Load the model now (the app calls this in the background after its window shows)."""
        _ = self.embedder

    def search(
        self, query: SearchQuery, names: dict[str, str] | None = None, check_tags: bool = True
    ) -> list[SearchResult]:
        """Run a query; what the user typed is checked first (``names``: how the caller
        calls each field in messages, e.g. ``{"date_from": "--from"}``).

        ``check_tags=False`` is for filters the user clicked rather than typed (the app's
        sidebar): a tag undone meanwhile simply matches no photo instead of failing.
        """
        query = self.check_query(query, names, check_tags)
        if query.has_semantic_part:  # another model's vectors: say so, not "no results"
            if (
                self.model_spec.local_dir is None
                and self._embedder is None
                and self.catalog.get_meta("model") != str(self.model_spec)
            ):
                check_model_name(self.model_spec)  # a typo is named first, not a mismatch
            model_check.check(self.catalog, self.model_id, str(self.model_spec))
        return self.searcher().search(query)

    def check_query(
        self, query: SearchQuery, names: dict[str, str] | None = None, check_tags: bool = True
    ) -> SearchQuery:
        """Bad dates, weights, unknown tags or folders: one-line errors, not empty results."""
        names = {"folder": "folder", "root": "root", "tags": "tag", **(names or {})}
        query = query_input.validate(query, names)
        for field_name in ("folder", "root"):
            value = getattr(query, field_name)
            if value:
                lookup.check_folder(self.catalog, value, names[field_name])
        if check_tags:
            lookup.check_tags(self.catalog, [*query.tags, *query.not_tags], names["tags"])
        photos = PhotoStore(self.catalog).count()
        query.top = min(query.top, max(photos, 1))  # "all of them", without overflowing FAISS
        return query

    def browse(self, query: SearchQuery | None = None, order: str = "date") -> list[int]:
        """Ids of every photo matching the query's filters (the GUI's grid), in ``order``:
        "date" (newest taken first) or "name" (file name, case-insensitive)."""
        from photosort.core.search import BROWSE_ORDERS, filter_clauses

        if order not in BROWSE_ORDERS:
            raise LibraryError(f"unknown order {order!r}: use {' or '.join(BROWSE_ORDERS)}")
        clauses, params = filter_clauses(query or SearchQuery())
        shown = [raw_pairs.SHOWN, *clauses]
        return PhotoStore(self.catalog).readable_ids_where(shown, params, BROWSE_ORDERS[order])

    def date_span(self) -> tuple[str | None, str | None]:
        """The first and last date a photo was taken (for the app's date-range filter)."""
        return PhotoStore(self.catalog).date_span()

    def photo_details(self, photo_ids: Iterable[int]) -> dict[int, dict]:
        """Catalog rows (path, size, date, camera, GPS, status, error) by id."""
        return PhotoStore(self.catalog).details(list(photo_ids))

    # -- status -------------------------------------------------------------------------
    def status(self) -> LibraryStatus:
        """Counts from the catalog alone: never loads the model (7 s, or a failure offline)."""
        model_id = self.known_model_id() or ""
        photos, failed, _ = PhotoStore(self.catalog).counts()
        companions = len(raw_pairs.companion_ids(self.catalog))
        skipped: dict[str, int] = {}
        for root in self.catalog.roots():
            for ext, n in json.loads(
                self.catalog.get_meta(f"skipped_videos:{root['id']}") or "{}"
            ).items():
                skipped[ext] = skipped.get(ext, 0) + n
        return LibraryStatus(
            library=str(self.folder),
            model=str(self.model_spec),
            roots=len(self.catalog.roots()),
            photos=photos - companions,
            embedded=self.catalog.count_vectors(model_id),
            failed=failed,
            pending=max(0, self.catalog.count_needing_embedding(model_id) - companions),
            raw_pairs=companions,
            skipped=dict(sorted(skipped.items())),
        )

    def folder_counts(self) -> tuple[dict[str, int], int]:
        """Photos per folder (failed ones left out), and how many failed: the sidebar's counts."""
        rows = PhotoStore(self.catalog).folder_counts(raw_pairs.SHOWN)
        return {r["folder"]: r["n"] for r in rows if r["n"]}, sum(r["bad"] for r in rows)

    def failures(self) -> list[dict]:
        rows = PhotoStore(self.catalog).failures()
        return [{"path": r["path"], "reason": r["error"]} for r in rows]

    def close(self) -> None:
        self._matrix_cache = None
        self._auto_cache.state = None
        self._teach_cache = teaching.TeachCache()
        self.save_index()
        self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # =========================================================================================
    # Categories, auto-tagging, manual tags, export and XMP (issue 4).
    # The logic lives in core/categories.py, core/tagging.py, core/export.py and core/xmp.py;
    # these methods only wire it to this library's catalog, vectors and model.
    # =========================================================================================
    # -- vectors and model constants, cached -----------------------------------------------
    def _vector_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """All stored vectors of the current model as (ids, N x D matrix)."""
        _, ids, matrix = self._versioned_vectors()
        return ids, matrix

    def _versioned_vectors(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(vectors_version, ids, matrix), loaded once and reloaded only when the catalog's
        vectors_version or the model changes."""
        key = (self.model_id, self.catalog.vectors_version())
        cached = self._matrix_cache
        if cached is not None and cached[0] == key:
            return key[1], cached[1], cached[2]
        ids_parts, mat_parts = [], []
        for ids, mat in self.catalog.vectors(key[0]):
            ids_parts.append(ids)
            mat_parts.append(mat)
        if ids_parts:
            ids = np.concatenate(ids_parts)
            matrix = np.ascontiguousarray(np.concatenate(mat_parts), dtype=np.float32)
        else:
            ids = np.empty(0, np.int64)
            matrix = np.empty((0, self.vector_dim()), np.float32)
        self._matrix_cache = (key, ids, matrix)
        return key[1], ids, matrix

    def _vector_chunks(self) -> tuple[int, tagging.Chunks]:
        """(vectors_version, the vectors in pieces) for tagging and label previews, without
        a second copy of all of them: from the matrix when another feature (discover,
        teach) already holds it, else straight from the vector index when it mirrors the
        catalog, else from the catalog a batch at a time."""
        key = (self.model_id, self.catalog.vectors_version())
        cached = self._matrix_cache
        if cached is not None and cached[0] == key:
            return key[1], [(cached[1], cached[2])]
        with self._index_lock:
            index = self.index
            if not index.dirty and self._index_version == key[1]:
                return key[1], index.chunks()
        return key[1], self.catalog.vectors(key[0])

    def _logit_scale(self) -> float:
        """The model's exp(logit_scale), remembered in the catalog so re-tagging needs no model."""
        key = f"logit_scale:{self.model_id}"
        stored = self.catalog.get_meta(key)
        if stored is not None:
            return float(stored)
        scale = float(self.text_encoder.logit_scale)
        if not self.catalog.read_only:
            self.catalog.set_meta(key, repr(scale))
        return scale

    def _scoring(self) -> scoring.Scoring:
        """Scale and, for a SigLIP model, its sigmoid bias; from the catalog when known, so
        re-tagging with a CLIP model never loads it (its family shows in its config)."""
        scale = self._logit_scale()
        spec = self.model_spec
        if not scoring.is_sigmoid_model(spec.name, spec.local_dir):
            return scoring.Scoring(scale)
        key = f"logit_bias:{self.model_id}"
        stored = self.catalog.get_meta(key)
        if stored is None:
            bias = self.embedder.logit_bias
            stored = "none" if bias is None else repr(bias)
            if not self.read_only:
                self.catalog.set_meta(key, stored)
        return scoring.Scoring(scale, None if stored == "none" else float(stored))

    def _text_vectors(self, cats: list[Category]) -> dict[str, np.ndarray]:
        return tagging.text_vectors(
            self.catalog,
            self.model_id,
            tagging.Tagger.prompts_needed(cats),
            lambda texts: self.text_encoder.encode_texts(texts),
        )

    # -- categories -------------------------------------------------------------------------
    def categories(self) -> list[Category]:
        return category_store.load(self.catalog)

    def save_category(
        self, category: Category, old_name: str | None = None
    ) -> tagging.AutotagSummary:
        """Create or update (rename via ``old_name``) a category, then re-tag it."""
        with self.catalog.transaction() as conn:
            category_store.store(conn, category, old_name)
        saved = next(c for c in self.categories() if c.name == category.name.strip())
        return self._autotag([saved])

    def update_category(
        self, name: str, change: Callable[[Category | None], Category]
    ) -> tagging.AutotagSummary:
        """Read, change and store one category inside one transaction, then re-tag it.

        ``change`` gets the stored category (None when there is none) and returns the new
        one. Two processes adding labels at once both keep theirs: the read happens under
        the catalog's write transaction, never before it.
        """
        with self.catalog.transaction() as conn:
            key = name.strip().casefold()  # category names match in any case
            current = next((c for c in category_store.load(conn) if c.name.casefold() == key), None)
            category = change(current)
            category_store.store(conn, category, None if current is None else current.name)
        saved = next(c for c in self.categories() if c.name == category.name.strip())
        return self._autotag([saved])

    def remove_category(self, name: str) -> None:
        """Forget a category; its auto tags go with it, manual tags (keyed by name) stay."""
        with self.catalog.transaction() as conn:
            category_store.delete(conn, name)

    def import_categories(self, path: str | os.PathLike, replace: bool = False) -> list[Category]:
        """Add categories from TOML (same names are updated); ``replace`` drops the others."""
        incoming = category_store.read_toml_file(path)
        names = {c.name for c in incoming}
        with self.catalog.transaction() as conn:
            if replace:
                for old in category_store.load(conn):
                    if old.name not in names:
                        category_store.delete(conn, old.name)
            else:  # drop labels that move into an imported category from the one they leave
                for old in category_store.load(conn):
                    if old.name in names:
                        continue
                    moving = {lab.name for c in incoming for lab in c.labels}
                    if any(lab.name in moving for lab in old.labels):
                        raise CategoryError(
                            f"{path}: a label of {old.name!r} is also in the imported file; "
                            "remove it there first or import with replace"
                        )
            # a category that depends on another's label is stored after it
            for category in sorted(incoming, key=lambda c: c.applies_if is not None):
                category_store.store(conn, category)
        self._autotag(incoming)
        return incoming

    def export_categories(self, path: str | os.PathLike) -> None:
        text = category_store.to_toml(self.categories())
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise LibraryError(f"cannot write {path}: {exc.strerror or exc}") from exc

    # -- auto tags --------------------------------------------------------------------------
    def autotag(
        self,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
        photo_ids: Iterable[int] | None = None,
    ) -> tagging.AutotagSummary:
        """Re-tag every photo with a vector of the current model for every category (first
        reading the sun of photos scanned before it was kept: EXIF headers only), then
        retrain and re-apply the taught tags. ``photo_ids``: re-tag only these (a scan's
        new and changed photos; the others' tags cannot have changed)."""
        self.update_sun(on_progress, should_cancel)
        summary = self._autotag(self.categories(), on_progress, should_cancel, photo_ids)
        if not summary.cancelled:
            self.teacher.apply_all()
        return summary

    def _autotag(
        self,
        cats: list[Category],
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
        photo_ids: Iterable[int] | None = None,
    ) -> tagging.AutotagSummary:
        cats = teaching.without_taught(self.catalog, cats)  # their tags come from the probe
        if not cats:
            return tagging.AutotagSummary()
        started = time.monotonic()  # the whole wait, model load included ("0.00s" for 3 s)
        names = {c.name for c in cats}
        labels = {lb.name.casefold() for c in cats for lb in c.labels}
        cats = list(cats) + [  # categories that apply where one of these labels holds
            c
            for c in self.categories()
            if c.name not in names and c.applies_if and c.applies_if.casefold() in labels
        ]
        load: tagging.VectorLoader = self._vector_chunks
        only = None
        if photo_ids is not None:
            only = np.unique(np.fromiter(photo_ids, dtype=np.int64))
            if not len(only):
                return tagging.AutotagSummary()
            model = self.model_id

            def load() -> tuple[int, tagging.Chunks]:  # the version first: errs stale
                return self.catalog.vectors_version(), VectorStore(self.catalog).vectors_for(
                    model, only
                )

        vectors = self._text_vectors(cats)
        summary = tagging.run_autotag(
            self.catalog,
            cats,
            load,
            vectors,
            self._scoring(),
            on_progress,
            should_cancel,
            self._auto_cache,
            self._sun_fusion(),
            only,
        )
        summary.seconds = time.monotonic() - started
        return summary

    def _autotag_after_scan(self, summary: ScanSummary) -> None:
        """New photos get their tags at the end of a scan; a failure here is a warning."""
        try:
            if summary.embedded or summary.removed or summary.updated or summary.sun.read:
                self.autotag(photo_ids=summary.changed_ids)
        except (CategoryError, CatalogError, ModelError) as exc:
            summary.warnings.append(f"auto-tagging failed: {exc}")

    def preview_label(self, category: Category, label_name: str) -> tagging.LabelPreview:
        """What ``label_name`` of the (unsaved) ``category`` would tag, for the editor."""
        category = category_store.validate(category)
        _, chunks = self._vector_chunks()
        if category.applies_if:  # only the photos it would apply to
            where = tagging.applies_filter(self.catalog, category.applies_if)
            chunks = _only(chunks, where)
        tagger = tagging.Tagger(
            [category], self._text_vectors([category]), self._scoring(), self._sun_fusion()
        )
        return tagging.preview(tagger, chunks, label_name.strip())

    # -- the sun (core/sun.py) -----------------------------------------------------------------
    def update_sun(
        self,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> sun_store.SunUpdate:
        """Read the capture time and place of photos that have none stored yet."""
        return sun_store.update_catalog(self.catalog, on_progress, should_cancel)

    def _sun_fusion(self) -> sun_fusion.SunFusion:
        return sun_fusion.SunFusion(self._sun_cache.current(self.catalog))

    def sun_text(self, photo_id: int) -> str:
        """The details panel's line, e.g. "Sun 3° above the horizon, 14 minutes after ..."."""
        return sun.describe(sun_store.stored_fix(self.catalog, photo_id))

    def explain_tags(self, path: str | os.PathLike) -> sun_fusion.Explanation:
        """The image's probabilities, the sun's and the result, per category, for one photo."""
        ids, unknown = self.photo_ids_for_paths([path])
        if unknown or len(ids) != 1:
            raise LibraryError(f"not a photo of this library: {path}")
        vector = self.catalog.vector_of(ids[0], self.model_id)
        if vector is None:
            raise LibraryError(f"{path} has no vector yet; run 'photosort scan' first")
        cats = self.categories()
        tagger = tagging.Tagger(cats, self._text_vectors(cats), self._scoring())
        image = [p[0] for p in tagger.probabilities(vector[None, :])]
        fix = sun_store.stored_fix(self.catalog, ids[0])
        row = self.photo_details(ids)[ids[0]]
        return sun_fusion.explain(row["path"], cats, image, fix)

    # -- manual tags ------------------------------------------------------------------------
    def check_tag_names(self, tags: Iterable[str]) -> None:
        """Raise UnknownNameError (with a "did you mean") for the first tag no photo can have."""
        lookup.check_tags(self.catalog, tags)

    def tag_photos(
        self, photo_ids: Iterable[int], add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> None:
        """Manual decisions: they win over the tagger and survive re-tagging and moves.
        A RAW that has a JPEG beside it is tagged through the JPEG (one photo)."""
        ids = raw_pairs.primary_of(self.catalog, photo_ids)
        tagging.set_manual(self.catalog, ids, add, remove)

    def clear_manual(self, photo_ids: Iterable[int], tags: Iterable[str]) -> None:
        ids = raw_pairs.primary_of(self.catalog, photo_ids)
        tagging.clear_manual(self.catalog, ids, list(tags))

    def photo_tags(
        self, photo_ids: Iterable[int], include_rejected: bool = True
    ) -> dict[int, list[tagging.PhotoTag]]:
        return tagging.photo_tags(self.catalog, photo_ids, include_rejected)

    def tag_counts(self) -> list[tagging.TagCount]:
        """Counts from the catalog alone: never loads the model (the sidebar waits on them)."""
        return tagging.tag_counts(self.catalog, self.known_model_id() or "")

    # -- tag housekeeping (core/tag_admin.py) ------------------------------------------------
    def rename_tag(self, old: str, new: str) -> str:
        """Rename a tag or merge it into another (any case); a label is re-tagged after."""
        with self.catalog.transaction() as conn:
            message = tag_admin.rename_tag(conn, old, new)
        self._retag_categories_of([new])
        return message

    def delete_tag(self, name: str) -> int:
        with self.catalog.transaction() as conn:
            return tag_admin.delete_tag(conn, name)

    def rename_category(self, old: str, new: str) -> str:
        with self.catalog.transaction() as conn:
            return tag_admin.rename_category(conn, old, new)

    def remove_label(self, category: str, label: str) -> str:
        with self.catalog.transaction() as conn:
            message = tag_admin.remove_label(conn, category, label)
        self._retag_categories_of([], [category])
        return message

    def tag_snapshot(
        self, tags: Iterable[str], categories: Iterable[str] = ()
    ) -> tag_admin.TagSnapshot:
        """The rows an operation on these names will touch, for undo (``restore_tags``)."""
        with self.catalog.transaction() as conn:
            return tag_admin.snapshot(conn, tags, categories)

    def restore_tags(self, snapshot: tag_admin.TagSnapshot, created: Iterable[str] = ()) -> None:
        with self.catalog.transaction() as conn:
            tag_admin.restore(conn, snapshot, created)
        self._auto_cache.state = None

    def _retag_categories_of(self, tags: Iterable[str], categories: Iterable[str] = ()) -> None:
        """Re-tag the categories holding these labels (a label's name is in its prompts)."""
        keys = {t.casefold() for t in tags}
        cat_keys = {c.casefold() for c in categories}
        touched = [
            c
            for c in self.categories()
            if c.name.casefold() in cat_keys or any(lb.name.casefold() in keys for lb in c.labels)
        ]
        if touched and self.known_model_id() and self.catalog.count_vectors(self.model_id):
            try:
                self._autotag(touched)
            except ModelError as exc:
                log.warning("re-tagging after the change failed: %s", exc)

    # -- taught tags (core/teaching.py) -----------------------------------------------------
    @property
    def teacher(self) -> teaching.Teacher:
        return teaching.Teacher(
            self.catalog,
            self._versioned_vectors,
            self.model_id,
            self._auto_cache,
            self._teach_cache,
        )

    def reject_tags(self, photo_ids: Iterable[int], tags: Iterable[str]) -> None:
        teaching.reject(self.catalog, photo_ids, tags)

    def more_like(
        self, photo_ids: Iterable[int], unlike: Iterable[int] = (), top: int = 50
    ) -> list[SearchResult]:
        """ "Find more like these": the mean of the photos' vectors minus the rejected."""
        liked, disliked = list(photo_ids), list(unlike)
        vector = teaching.more_like(self._vectors_of, liked, disliked)
        hits = self.index.search(vector, top + len(liked) + len(disliked))
        skip = set(liked) | set(disliked)
        kept = [(int(i), float(s)) for i, s in zip(*hits, strict=True) if int(i) not in skip]
        return self.searcher()._results(kept[:top])

    def discover(
        self,
        groups: int = discovery.DEFAULT_GROUPS,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> list[discovery.Group]:
        """Cluster the library's vectors into groups named after their nearest labels."""
        _, ids, matrix = self._versioned_vectors()
        cats = teaching.without_taught(self.catalog, self.categories())
        names, vecs, neutral = discovery.label_directions(cats, self._text_vectors(cats))
        return discovery.cluster(
            ids, matrix, groups, names, vecs, neutral,
            on_progress=on_progress, should_cancel=should_cancel,
        )  # fmt: skip

    def _vectors_of(self, photo_ids: Sequence[int]) -> np.ndarray:
        _, ids, matrix = self._versioned_vectors()
        return matrix[np.isin(ids, np.asarray(photo_ids, np.int64))]

    def photos_with_tag(self, tag: str) -> list[int]:
        return tagging.photos_with_tag(self.catalog, tag)

    def photo_ids_for_paths(
        self, paths: Iterable[str | os.PathLike]
    ) -> tuple[list[int], list[str]]:
        """Catalog ids of files (or of every photo under folders); and the unknown paths."""
        ids: list[int] = []
        unknown: list[str] = []
        for raw in paths:
            path = os.path.abspath(os.path.expanduser(os.fspath(raw)))
            row = self.catalog.photo_by_path(path)
            if row is not None:
                ids.append(row.id)
                continue
            under = PhotoStore(self.catalog).ids_under(path)
            if under:
                ids += under
            else:
                unknown.append(os.fspath(raw))
        return raw_pairs.primary_of(self.catalog, ids), unknown

    # -- export and sidecars ---------------------------------------------------------------
    def export(
        self,
        request: exporter.ExportRequest,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> exporter.ExportSummary:
        """Copy, link or move photos with the requested tags into folders under request.dest."""
        exporter.check_request(request)
        lookup.check_tags(self.catalog, request.tags)  # a typo is an error, not "0 copied"
        if request.dry_run:  # writes nothing: no lock, no recovery
            return self._export_locked(request, on_progress, should_cancel)
        with self.writing("exporting"):
            return self._export_locked(request, on_progress, should_cancel)

    def _export_locked(
        self,
        request: exporter.ExportRequest,
        on_progress: ProgressCallback | None,
        should_cancel: Callable[[], bool] | None,
    ) -> exporter.ExportSummary:
        recovered = [] if request.dry_run else self._recover_moves()
        sources = exporter.sources_for(self.catalog, request.tags, request.photo_ids)
        sources = self._with_pairs(sources, request.pair)

        def tags_of(photo_id: int) -> list[xmp.SidecarTag]:
            tags = self.photo_tags([photo_id], include_rejected=False)[photo_id]
            return [xmp.SidecarTag(t.name, t.category) for t in tags]

        summary = exporter.run(
            self.catalog,
            request,
            sources,
            tags_of,
            lambda folder: self.add_root(folder)[0],
            on_progress,
            should_cancel,
        )
        summary.warnings = recovered + summary.warnings
        dest = os.path.realpath(summary.dest)
        for root in self.catalog.roots():
            real_root = os.path.realpath(root["path"])
            if request.mode != "move" and os.path.commonpath([dest, real_root]) == real_root:
                summary.warnings.append(
                    f"{summary.dest} is inside the library folder {root['path']}: "
                    "the next scan will add the exported files as photos too"
                )
        return summary

    def _with_pairs(self, sources: list[exporter.Source], choice: str) -> list[exporter.Source]:
        """A RAW+JPEG pair is exported as both files, or only the RAW or the JPEG."""
        companions = raw_pairs.companions_of(self.catalog, [s.photo_id for s in sources])
        out: list[exporter.Source] = []
        for src in sources:
            raws = [
                exporter.Source(cid, path, src.tags)
                for cid, path in companions.get(src.photo_id, [])
            ]
            if not raws or choice == "jpeg":
                out.append(src)
            elif choice == "raw":
                out += raws
            else:
                out += [src, *raws]
        return out

    def write_xmp_sidecars(
        self,
        photo_ids: Iterable[int] | None = None,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> xmp.XmpSummary:
        """Write ``photo.ext.xmp`` with the tags next to originals (only when asked).

        Without ``photo_ids``: every photo that has a tag or keywords imported from its
        sidecar. A photo without tags gets a sidecar only to refresh one photosort wrote or
        imported from before. Originals are never touched.
        """
        with self.writing("writing XMP sidecars"):
            return self._write_xmp_locked(photo_ids, on_progress, should_cancel)

    def _write_xmp_locked(
        self,
        photo_ids: Iterable[int] | None,
        on_progress: ProgressCallback | None,
        should_cancel: Callable[[], bool] | None,
    ) -> xmp.XmpSummary:
        if photo_ids is None:  # tagged photos, and those whose imported keywords may be gone
            photo_ids = TagStore(self.catalog).tagged_or_keyworded()
        ids = raw_pairs.primary_of(self.catalog, photo_ids)  # a RAW's tags live on its JPEG
        # The RAW of a pair gets the same sidecar (darktable and Lightroom read the RAW's).
        companions = raw_pairs.companions_of(self.catalog, ids)
        carrier = {cid: pid for pid, rows in companions.items() for cid, _ in rows}
        ids = [x for pid in ids for x in [pid, *(cid for cid, _ in companions.get(pid, []))]]
        details = self.photo_details(ids)
        tags = self.photo_tags([carrier.get(i, i) for i in ids], include_rejected=False)
        adopted = keyword_import.adopted_keywords(self.catalog, ids)
        summary = xmp.XmpSummary()
        meter = RateMeter("writing XMP", len(ids), on_progress)
        meter.report(0)
        for n, pid in enumerate(ids, 1):
            if should_cancel and should_cancel():
                summary.cancelled = True
                break
            if pid not in details:
                continue
            path = details[pid]["path"]
            have = [xmp.SidecarTag(t.name, t.category) for t in tags.get(carrier.get(pid, pid), [])]
            if not have and not adopted.get(pid) and not xmp.written_by_us(xmp.sidecar_path(path)):
                continue
            try:
                target, outcome = xmp.write_sidecar(path, have, adopted.get(pid, ()))
            except OSError as exc:
                summary.failures.append((path, exc.strerror or str(exc)))
                continue
            if outcome == "written":
                summary.written += 1
            elif outcome == "updated":
                summary.updated += 1
            else:
                summary.unchanged_foreign.append(str(target))
            meter.report(n, path)
        return summary

    # -- duplicates (issue 17): core/duplicates.py and core/duplicate_actions.py ---------
    def find_duplicates(
        self,
        kinds: Iterable[str] = dup.KINDS,
        threshold: float | None = None,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> list[dup.Group]:
        """Exact, near-duplicate and burst groups, each with a suggested keeper."""
        finder = dup.DuplicateFinder(self.catalog, self._stored_vectors)
        return finder.find(kinds, threshold, on_progress, should_cancel)

    def _stored_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """The vector matrix, or nothing when no photo has one yet (never loads a model)."""
        if not VectorStore(self.catalog).any_vector():
            return np.empty(0, np.int64), np.empty((0, 1), np.float32)
        return self._vector_matrix()

    def tag_duplicates(self, groups: list[dup.Group], tag: str) -> dup_actions.ActionSummary:
        return dup_actions.tag_others(self.catalog, groups, tag)

    def export_keepers(
        self,
        groups: list[dup.Group],
        dest: str | os.PathLike,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> dup_actions.ActionSummary:
        return dup_actions.export_keepers(self.catalog, groups, dest, on_progress, should_cancel)

    def trash_duplicates(
        self,
        groups: list[dup.Group],
        confirmed: bool,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
        send_to_trash: Callable[[str], None] | None = None,
    ) -> dup_actions.ActionSummary:
        """Others to the system trash, only when confirmed; the catalog and index forget them."""
        with self._exclusive():
            summary = dup_actions.trash_others(
                self.catalog, groups, confirmed, send_to_trash, on_progress, should_cancel
            )
            self.index.remove(summary.removed_ids)
            self.save_index()
        return summary

    # -- scores as data and tags against the truth (issue 21: core/scores, core/tag_truth) ---
    def _score_tagger(self, category: str | None = None) -> tagging.Tagger:
        """The auto tagger's own scoring (model family, sun), taught labels left out."""
        cats = teaching.without_taught(self.catalog, scores.select(self.categories(), category))
        return tagging.Tagger(cats, self._text_vectors(cats), self._scoring(), self._sun_fusion())

    def export_scores(
        self,
        out: str | os.PathLike | None = None,
        fmt: str = "csv",
        category: str | None = None,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> scores.ScoresSummary:
        """Every label's probability and the chosen label per photo, streamed to ``out``."""
        tagger = self._score_tagger(category)
        return scores.export(
            self.catalog, self.model_id, tagger, out, fmt, on_progress, should_cancel
        )

    def photo_scores(self, photo_id: int) -> list[scores.CategoryScores]:
        """One photo's probabilities per category (the details panel's chart); [] without
        a vector."""
        vector = self.catalog.vector_of(int(photo_id), self.model_id)
        if vector is None:
            return []
        return scores.photo_scores(self.catalog, self._score_tagger(), int(photo_id), vector)

    def evaluate_tags(self, category: str | Category | None = None) -> list[tag_truth.LabelTruth]:
        """Precision, recall and the best threshold per label, from manual decisions; a
        ``Category`` object is evaluated as given (the editor's unsaved form)."""
        model_id = self.model_id
        if isinstance(category, Category):
            cats = teaching.without_taught(self.catalog, [category_store.validate(category)])
            tagger = tagging.Tagger(
                cats, self._text_vectors(cats), self._scoring(), self._sun_fusion()
            )
        else:
            tagger = self._score_tagger(category)

        def vectors_of(ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
            found = [(i, v) for i in ids if (v := self.catalog.vector_of(i, model_id)) is not None]
            if not found:
                return np.empty(0, np.int64), np.empty((0, self.vector_dim()), np.float32)
            return np.array([i for i, _ in found], np.int64), np.stack([v for _, v in found])

        def auto_tagged(label: str, ids: list[int]) -> set[int]:
            return TagStore(self.catalog).auto_tagged_with(label) & set(ids)

        return tag_truth.evaluate(self.catalog, tagger, vectors_of, auto_tagged)

    # -- this machine's speed and the model picker (issue 21: core/bench, core/known_models) --
    def bench(
        self,
        budget_s: float = bench_speed.DEFAULT_BUDGET_S,
        batch_sizes: Iterable[int] = bench_speed.BATCH_SIZES,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> bench_speed.BenchReport:
        """Images/s of this library's model on every device here, the decode rate of its
        photos and the time its pending photos would take; kept for ``known_models``."""
        cuda, mps = bench_speed.accelerators()
        sample = PhotoStore(self.catalog).sample_paths(bench_speed.DECODE_SAMPLE)
        report = bench_speed.run(
            str(self.model_spec),
            lambda device, precision: Embedder(self.model_spec, device, precision=precision),
            bench_speed.configurations(cuda, mps),
            sample,
            self.status().pending,
            resolve_device(self.device),
            list(batch_sizes),
            budget_s,
            on_progress=on_progress,
            should_cancel=should_cancel,
        )
        if not report.cancelled:
            bench_speed.save(report)
        return report

    def known_models(self) -> list[known_models.ModelRow]:
        """The model picker's rows: published accuracy and size, cached here, speed here."""
        current = str(self.model_spec)
        specs = [m.spec for m in known_models.KNOWN] + [current]
        cached = {s: model_cached(ModelSpec.parse(s)) for s in specs}
        return known_models.rows(current, cached)

    # -- re-indexing with another model (core/reindex.py) ---------------------------------
    def unfinished_reindex(self) -> reindexing.Target | None:
        """The model of a re-index that was stopped or killed before its end."""
        return reindexing.pending_target(self.catalog)

    def reindex_progress(self) -> tuple[str, int, int] | None:
        """(model, photos staged, photos) of an interrupted re-index, or None."""
        target = self.unfinished_reindex()
        if target is None:
            return None
        done, total = reindexing.progress(self.catalog)
        return target.spec, done, total

    def reindex(
        self,
        model: str | None = None,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
        batch_size: int = 32,
    ) -> reindexing.ReindexSummary:
        """Embed every photo with ``model`` (default: the interrupted re-index's, else this
        library's) while search keeps the old vectors; at the end they are swapped in and
        it becomes this library's model."""
        unfinished = self.unfinished_reindex()
        if model:
            spec = ModelSpec.parse(model)
        else:
            spec = ModelSpec.parse(unfinished.spec) if unfinished else self.model_spec
        if str(spec) == str(self.model_spec):
            embedder = self.embedder
        else:  # the library's own model keeps answering searches meanwhile
            embedder = Embedder(spec, self.device)
            gc.freeze()  # see the embedder property
        target = reindexing.Target(str(spec), embedder.model_id, embedder.dim)
        models = model_check.vector_models(self.catalog)
        if set(models) <= {target.model_id} and (
            unfinished is None or unfinished.model_id != target.model_id
        ):  # nothing to re-embed: already its vectors (a switch to another model is dropped)
            reindexing.abandon(self.catalog)
            self._adopt_model(spec, embedder)
            return reindexing.ReindexSummary(target.spec, swapped=True)

        def swapped() -> None:
            self._adopt_model(spec, embedder)
            with self._index_lock:
                self._index = vector_index.rebuild(
                    self.folder, self.catalog, target.model_id, target.dim
                )
                self._index_version = self.catalog.vectors_version()

        summary = reindexing.run(
            self.catalog,
            embedder,
            target,
            lambda: self.writing("re-indexing"),
            on_progress,
            should_cancel,
            batch_size,
            swapped,
        )
        if summary.swapped:  # the tags follow the new model's vectors
            try:
                self.autotag(on_progress, should_cancel)
            except (CategoryError, CatalogError, ModelError) as exc:
                summary.warnings.append(f"auto-tagging failed: {exc}")
        return summary

    def _adopt_model(self, spec: ModelSpec, embedder: Embedder) -> None:
        with self._load_lock:
            self.model_spec = spec
            self._embedder = embedder
        self._matrix_cache = None
        self._record_model(embedder)

    # -- text in photos (issue 19): core/ocr.py, core/ocr_gate.py, core/ocr_store.py ----------
    @property
    def recognizer(self) -> ocr.Recognizer:
        with self._load_lock:
            if getattr(self, "_recognizer", None) is None:
                self._recognizer = ocr.Recognizer()
            return self._recognizer

    def read_text(
        self,
        paths: Iterable[str | os.PathLike] = (),
        gated: bool = True,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> ocr_store.OcrSummary:
        """OCR of the photos the gate passes (``gated``) and of every photo under ``paths``."""
        forced: list[int] = []
        if paths:
            forced, unknown = self.photo_ids_for_paths(paths)
            if unknown:
                raise LibraryError(f"not a photo or folder of this library: {unknown[0]}")
        with self.writing("reading text in photos"):
            reader = ocr_store.BackgroundReader(
                self._ocr_stage(), forced, gated, should_cancel, on_progress=on_progress
            )
            return reader.start().finish()  # on a low-priority thread

    def _ocr_stage(self) -> ocr_store.OcrStage:
        model_id = self.model_id

        def gate() -> ocr_store.TextGate:
            stored = ocr_store.load_gate(self.catalog, model_id)
            if stored is not None:
                return stored
            return ocr_store.train_gate(self.catalog, model_id, self.image_encoder.encode_pil)

        return ocr_store.OcrStage(self.catalog, self.recognizer, model_id, gate)

    def photo_text(self, photo_id: int) -> ocr.OcrResult | None:
        """The text recognised in a photo (None: not read, e.g. skipped by the gate)."""
        return ocr_store.photo_text(self.catalog, photo_id)

    def search_words(
        self, words: str, query: SearchQuery | None = None, names: dict[str, str] | None = None
    ) -> tuple[list[SearchResult], dict[int, str]]:
        """Photos whose text holds ``words``, ranked together with the query's meaning
        part when it has one; filters apply. Returns the results and each word hit's
        snippet (matches in [brackets])."""
        from photosort.core.search import filter_clauses

        query = self.check_query(query or SearchQuery(), names)
        clauses, params = filter_clauses(query)
        allowed = None
        if clauses:
            allowed = PhotoStore(self.catalog).ids_where(clauses, params)
        hits = ocr_store.search(self.catalog, words, query.top * 3, allowed)
        snippets = {h.photo_id: h.snippet for h in hits}
        word_hits = [(h.photo_id, h.score) for h in hits]
        if query.has_semantic_part:
            meaning = self.search(query, names)
            fused = ocr_store.fuse(word_hits, [(r.photo_id, r.score) for r in meaning], query.top)
            results = self.searcher()._results(fused)
        else:
            results = self.searcher()._results(word_hits[: query.top])
        return results, snippets

    def text_counts(self) -> dict[str, int]:
        """Photos read, skipped by the gate, failed (current file versions)."""
        return ocr_store.counts(self.catalog)

    # -- a Spark index (core/archive_import.py, issue 20) ----------------------------------
    def import_archive(
        self,
        path: str | os.PathLike,
        mapping: Iterable[str] = (),
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> archives.ImportSummary:
        """Merge a ``photosort.spark`` Parquet output (its vectors: nothing is embedded
        again), then do what a scan does after embedding: sun, auto tags, keywords."""
        started = time.monotonic()
        pairs = archives.parse_mapping(list(mapping))
        dataset = archives.open_dataset(path)
        models = archives.dataset_models(dataset)
        if models and models != [self.model_id]:
            hint = models[0] if not models[0].startswith("local:") else "SPEC (its local-dir:)"
            raise LibraryError(
                f"{path} holds vectors of {models[0]}, this library uses {self.model_id}: "
                f"import into a library of that model (--model {hint})"
            )
        with self.writing("importing"):
            if models:
                with self.catalog.transaction() as conn:
                    self.catalog.set_meta("model", str(self.model_spec), conn)
                    self.catalog.set_meta("model_id", models[0], conn)
                    self.catalog.set_meta("model_dim", str(archives.vector_dim(dataset)), conn)
            roots: dict[str, tuple[int, str]] = {}

            def root_for(local: str, hint: str | None) -> tuple[int, str]:
                folder = archives.root_folder(local, hint, pairs)
                if folder not in roots:
                    roots[folder] = self.add_root(folder)
                return roots[folder]

            newest = archives.newest_rows(dataset)
            at_end = archives.index_at_end(newest.rows, self.catalog.count_vectors(self.model_id))
            try:
                summary = archives.import_dataset(
                    self.catalog,
                    None if at_end else self.index,
                    dataset,
                    models[0] if models else self.model_id,
                    pairs,
                    root_for,
                    on_progress,
                    should_cancel,
                    newest=newest,
                )
            finally:
                if at_end:  # one build (IVF where the library is now large enough)
                    self.rebuild_index()
                self.save_index()
            root_ids = sorted({r[0] for r in roots.values()})
            with self.catalog.transaction() as conn:
                kept_tags.restore(conn)
            self.index.remove(raw_pairs.link(self.catalog, root_ids).companion_ids or [])
            self.save_index()
            if not summary.cancelled:
                self.update_sun(on_progress, should_cancel)
                try:  # as after a scan: tags missing now are a warning, not a lost import
                    self.autotag(on_progress, should_cancel)
                except (CategoryError, CatalogError, ModelError) as exc:
                    summary.warnings.append(f"auto-tagging failed: {exc}")
                summary.warnings += self.import_keywords(root_ids, on_progress).warnings
        summary.seconds = time.monotonic() - started
        return summary


def _only(chunks: tagging.Chunks, where: Callable[[np.ndarray], np.ndarray]) -> tagging.Chunks:
    """The rows of each piece whose photo ``where`` keeps."""
    for ids, matrix in chunks:
        keep = np.isin(ids, where(ids))
        yield ids[keep], matrix[keep]
