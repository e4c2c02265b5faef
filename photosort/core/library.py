"""``Library``: the one place that wires catalog, index, model, scanning and search together.

The CLI and the GUI both hold a ``Library`` and call its methods; nothing else opens
the catalog or loads the model.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photosort.core import categories as category_store
from photosort.core import index as vector_index
from photosort.core import lookup, query_input
from photosort.core import pairs as raw_pairs
from photosort.core import roots as root_store
from photosort.core import search as search_module
from photosort.core.catalog import Catalog
from photosort.core.categories import Category
from photosort.core.embedder import (
    DEFAULT_MODEL,
    Embedder,
    ModelSpec,
    model_cached,
)
from photosort.core.errors import LibraryError
from photosort.core.lazy_import import lazy_module, np
from photosort.core.library_model import LibraryModel
from photosort.core.progress import ProgressCallback
from photosort.core.search import (
    Relevance,
    Searcher,
    SearchQuery,
    SearchResult,
)
from photosort.core.status import LibraryStatus as LibraryStatus
from photosort.core.status import library_status
from photosort.core.store import MoveJournal, PhotoStore, RootStore
from photosort.core.vector_matrix import VectorMatrix
from photosort.core.writelock import LibraryBusy, WriteLock

# Features a library opened for a scan or a search may never use are imported on first use:
# a no-change rescan and a cold search stay light (issue 13): a search imports nothing of
# scanning, a rescan nothing of tagging. Type checkers and import-linter see them here.
if TYPE_CHECKING:
    from photosort.core import archive_import as archives
    from photosort.core import (
        autotagging,
        kept_tags,
        known_models,
        model_check,
        ocr,
        ocr_store,  # text in photos (issue 19)
        scan_job,
        scores,
        scoring,
        sidecars,
        sun,
        sun_fusion,
        sun_store,
        tag_admin,
        tag_truth,
        tagging,
        teaching,
        text_onnx,
        xmp,
    )
    from photosort.core import bench as bench_speed
    from photosort.core import discover as discovery
    from photosort.core import duplicate_actions as dup_actions
    from photosort.core import duplicates as dup
    from photosort.core import export as exporter
    from photosort.core import keywords as keyword_import
    from photosort.core import reindex as reindexing
    from photosort.core import watch as watching
    from photosort.core.export import job as export_job
    from photosort.core.pipeline import ImageEncoder

    # a scan's summary and the switch of its text stage, named here for the faces
    from photosort.core.scan_job import OFF as OFF
    from photosort.core.scan_job import ScanSummary as ScanSummary
else:
    archives = lazy_module("photosort.core.archive_import")
    autotagging = lazy_module("photosort.core.autotagging")
    kept_tags = lazy_module("photosort.core.kept_tags")
    keyword_import = lazy_module("photosort.core.keywords")
    ocr_store = lazy_module("photosort.core.ocr_store")
    scan_job = lazy_module("photosort.core.scan_job")
    sun = lazy_module("photosort.core.sun")
    sun_store = lazy_module("photosort.core.sun_store")
    known_models = lazy_module("photosort.core.known_models")
    scoring = lazy_module("photosort.core.scoring")
    tag_admin = lazy_module("photosort.core.tag_admin")
    # search imports the tagging package (its filter and result hooks) at the first query
    tagging = lazy_module("photosort.core.tagging")
    watching = lazy_module("photosort.core.watch")
    bench_speed = lazy_module("photosort.core.bench")
    discovery = lazy_module("photosort.core.discover")
    dup_actions = lazy_module("photosort.core.duplicate_actions")
    dup = lazy_module("photosort.core.duplicates")
    exporter = lazy_module("photosort.core.export")
    export_job = lazy_module("photosort.core.export.job")
    sidecars = lazy_module("photosort.core.sidecars")
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

#: Names the faces import from here, from modules imported on first use (PEP 562).
_FROM_SCAN_JOB = ("OFF", "ScanSummary")


def __getattr__(name: str) -> Any:
    if name in _FROM_SCAN_JOB:
        return getattr(scan_job, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Another process holds the library's write lock; trying again later may work.
LibraryBusyError = LibraryBusy


def default_library_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(os.environ.get("PHOTOSORT_LIBRARY") or user_data_dir("photosort"))


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
        self._model = LibraryModel(
            self.catalog,
            ModelSpec.parse(model or os.environ.get("PHOTOSORT_MODEL") or stored or DEFAULT_MODEL),
            device or os.environ.get("PHOTOSORT_DEVICE") or "auto",
            read_only,
        )
        self._index: vector_index.VectorIndex | None = None
        self._load_lock = self._model.lock  # one load at a time, the OCR engine too
        self._matrix = VectorMatrix(self.catalog, lambda: self.model_id, self.vector_dim)
        # Caches made on first use (their modules too: a rescan or a search imports none
        # of them, issue 13): auto tags and the sun's evidence at the first re-tag,
        # whitening and nearest examples (fast retrain) when first taught.
        self._caches_lock = threading.Lock()
        self._made: dict[str, Any] = {}
        self._write_lock = WriteLock(self.folder)
        # The catalog vectors_version the in-memory index mirrors, and whether this process
        # holds the write lock (only then may it change vectors and save the index).
        self._index_version: int | None = None
        self._index_lock = threading.RLock()
        self._writing = False

    # -- the model, loaded lazily (core/library_model.py) ------------------------------
    @property
    def model_spec(self) -> ModelSpec:
        return self._model.spec

    @property
    def device(self) -> str:
        return self._model.device

    @property
    def _embedder(self) -> Embedder | None:
        """The model if it is loaded (nothing loads it here)."""
        return self._model.loaded

    @property
    def embedder(self) -> Embedder:
        return self._model.embedder

    @property
    def text_encoder(self) -> Embedder | text_onnx.OnnxTextEncoder:
        """What turns text into vectors: the model once loaded, else its cached ONNX text
        tower (no torch: a cold text search in well under a second), else the model."""
        return self._model.text_encoder

    def cache_text_encoder(self) -> None:
        """Export the loaded model's text tower for the next cold search (once per model)."""
        self._model.cache_text_encoder()

    def cache_image_encoder(self) -> None:
        """Export the loaded model's image tower for the next small scans where torch
        would otherwise load for them (a bf16 CPU; once per model)."""
        self._model.cache_image_encoder()

    @property
    def image_encoder(self) -> ImageEncoder:
        """What turns photos into vectors: the model, or its cached ONNX image tower."""
        return self._model.image_encoder

    def _record_model(self, embedder: ImageEncoder) -> None:
        """The library's model: the next open uses it (a scan or reindex makes it so)."""
        self._model.record(embedder)

    @property
    def model_id(self) -> str:
        """The model id, known without loading the model when the spec is unchanged."""
        return self._model.model_id

    def known_model_id(self) -> str | None:
        """The model id if it is known without loading the model (status never loads it)."""
        return self._model.known_model_id()

    def model_recorded(self) -> bool:
        """Whether any model was ever recorded for this library (not on a first run)."""
        return self._model.recorded()

    def vector_dim(self) -> int:
        """The model's vector length, known without loading the model when recorded."""
        return self._model.vector_dim()

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
                    self.folder,
                    self.catalog,
                    self.model_id,
                    self.vector_dim(),
                    # read in place: a cold search opens fast, a scan holds a few MB of
                    # vectors whatever the library's size (core/flat_file.py)
                    mapped=True,
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
                    vector_index.remove_leftovers(self.folder)  # of a writer killed mid-save
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

    def _recover_moves(self) -> list[str]:
        """Settle half-done moves of dead processes; only under the write lock."""
        if self._write_lock.held and not MoveJournal(self.catalog).owners():
            return []  # nothing half done (the usual case): no need to import export
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

    # issue 13 (open-million): the roots without their photo counts, for the GUI thread
    def root_paths(self) -> list[str]:
        return RootStore(self.catalog).paths()

    def photo_paths(self, photo_ids: Sequence[int]) -> dict[int, str]:
        """Path by photo id: the grid's names, a million of them in the background."""
        return PhotoStore(self.catalog).paths_of(photo_ids)

    # end of issue 13 (open-million)

    def add_root(self, path: str | os.PathLike, follow_links: bool = False) -> tuple[int, str]:
        """Register a folder by its real path; a folder inside a known root, or the same
        folder reached another way (a link, a bind mount), resolves to that root.

        ``follow_links``: follow symlinks that lead out of the folder (remembered)."""
        return root_store.add(self.catalog, path, follow_links)

    def root_removal(self, path: str | os.PathLike) -> kept_tags.RootRemoval:
        """What removing this root would forget (photos, manual tag decisions), to show
        the user before they confirm; nothing is changed."""
        root_id, folder = root_store.known(self.catalog, path)
        return kept_tags.removal_impact(self.catalog, root_id, folder)

    def remove_root(self, path: str | os.PathLike) -> int:
        """Forget a root and its photos (files on disk are untouched). Their manual tag
        decisions are kept by content hash: adding the folder back restores them."""
        root_id, _ = root_store.known(self.catalog, path)
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
            return scan_job.run(
                self._scan_wiring(),
                roots,
                on_progress,
                should_cancel,
                batch_size,
                retry_failed,
                read_text,
            )

    def _scan_wiring(self) -> scan_job.ScanWiring:
        """What a scan needs of this library: its catalog, and callbacks into the lazily
        loaded model and index."""

        def forget_index() -> None:
            with self._index_lock:
                self._index = None

        return scan_job.ScanWiring(
            catalog=self.catalog,
            model_spec=str(self.model_spec),
            known_model_id=self.known_model_id,
            model_id=lambda: self.model_id,
            embedder=self._model.image_encoder_for,
            record_model=self._record_model,
            index=lambda: self.index,
            forget_index=forget_index,
            save_index=self.save_index,
            recover_moves=self._recover_moves,
            update_sun=self.update_sun,
            autotag=lambda ids: self.autotag(photo_ids=ids),
            import_keywords=lambda ids, progress: self.import_keywords(ids, progress, walked=True),
            cache_text_encoder=self.cache_text_encoder,
            cache_image_encoder=self.cache_image_encoder,
            ocr_stage=self._ocr_stage,
        )

    def import_keywords(
        self,
        root_ids: list[int],
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
        walked: bool = False,
    ) -> keyword_import.ImportSummary:
        """Keywords from XMP sidecars and embedded XMP/IPTC become manual tags (``walked``:
        a scan just walked these roots; see keywords.import_keywords)."""
        return keyword_import.import_keywords(
            self.catalog,
            root_ids,
            lambda pid: raw_pairs.primary_of(self.catalog, [pid])[0],
            on_progress,
            should_cancel,
            walked=walked,
        )

    def watcher(self, **options: Any) -> watching.FolderWatcher:
        """A watcher of this library's roots (see core/watch.py); the caller starts it."""
        return watching.FolderWatcher(self.root_paths(), **options)

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
        return self._tags.relevance()

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
            model_check.check_for_search(
                self.catalog, self.model_spec, self._embedder is not None, lambda: self.model_id
            )
        return self.searcher().search(query)

    def check_query(
        self, query: SearchQuery, names: dict[str, str] | None = None, check_tags: bool = True
    ) -> SearchQuery:
        """Bad dates, weights, unknown tags or folders: one-line errors, not empty results."""
        return query_input.check_query(self.catalog, query, names, check_tags)

    def browse(
        self, query: SearchQuery | None = None, order: str = "date", limit: int | None = None
    ) -> list[int]:
        """Ids of every photo matching the query's filters (the GUI's grid), in ``order``:
        "date" (newest taken first) or "name" (file name, case-insensitive); the first
        ``limit`` only, when given (the app's first screens, issue 13)."""
        return search_module.browse(self.catalog, query or SearchQuery(), order, limit)

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
        return library_status(self.catalog, str(self.folder), str(self.model_spec), model_id)

    def folder_counts(self) -> tuple[dict[str, int], int]:
        """Photos per folder (failed ones left out), and how many failed: the sidebar's counts."""
        rows = PhotoStore(self.catalog).folder_counts(raw_pairs.SHOWN)
        return {r["folder"]: r["n"] for r in rows if r["n"]}, sum(r["bad"] for r in rows)

    def failures(self) -> list[dict]:
        rows = PhotoStore(self.catalog).failures()
        return [{"path": r["path"], "reason": r["error"]} for r in rows]

    def close(self) -> None:
        self._matrix.clear()
        if "auto" in self._made:
            self._auto_cache.state = None
        self._made.pop("teach", None)
        self.save_index()
        self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # =========================================================================================
    # Categories, auto-tagging, manual tags, export and XMP (issue 4). The logic lives in
    # core/categories.py, core/tagging/, core/autotagging.py, core/export/ and core/sidecars.py;
    # these methods only wire it to this library's catalog, vectors and model.
    # =========================================================================================
    # -- vectors and model constants, cached -----------------------------------------------
    def _vector_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """All stored vectors of the current model as (ids, N x D matrix)."""
        _, ids, matrix = self._matrix.versioned()
        return ids, matrix

    def _versioned_vectors(self) -> tuple[int, np.ndarray, np.ndarray]:
        return self._matrix.versioned()

    def _vector_chunks(self) -> tuple[int, tagging.Chunks]:
        """(vectors_version, the vectors in pieces) for tagging and label previews, without
        a second copy of all of them: from the matrix when another feature (discover,
        teach) already holds it, else straight from the vector index when it mirrors the
        catalog, else from the catalog a batch at a time."""
        key = self._matrix.key()
        held = self._matrix.held(key)
        if held is not None:
            return key[1], [held]
        with self._index_lock:
            index = self.index
            if not index.dirty and self._index_version == key[1]:
                return key[1], index.chunks()
        return key[1], self.catalog.vectors(key[0])

    def _made_once(self, name: str, make: Callable[[], Any]) -> Any:
        """This library's cache ``name``, made on first use (its module too, issue 13)."""
        with self._caches_lock:
            if name not in self._made:
                self._made[name] = make()
            return self._made[name]

    @property
    def _auto_cache(self) -> tagging.AutoTagCache:
        return self._made_once("auto", lambda: tagging.AutoTagCache())

    @property
    def _sun_cache(self) -> sun_store.EvidenceCache:
        return self._made_once("sun", lambda: sun_store.EvidenceCache())

    @property
    def _teach_cache(self) -> teaching.TeachCache:
        return self._made_once("teach", lambda: teaching.TeachCache())

    @_teach_cache.setter
    def _teach_cache(self, cache: teaching.TeachCache) -> None:
        self._made["teach"] = cache

    @property
    def _tags(self) -> autotagging.AutoTagging:
        """Auto-tagging over this library's vectors and model (made per call: the model may
        change under a re-index). The model is loaded only when the catalog lacks a constant."""
        return autotagging.AutoTagging(
            self.catalog,
            self.model_spec,
            lambda: self.model_id,
            lambda texts: self.text_encoder.encode_texts(texts),
            lambda: self.text_encoder.logit_scale,
            lambda: self.embedder.logit_bias,
            self._vector_chunks,
            self._auto_cache,
            self._sun_cache,
            self.read_only,
        )

    def _logit_scale(self) -> float:
        return self._tags.logit_scale()

    def _scoring(self) -> scoring.Scoring:
        return self._tags.scoring()

    def _text_vectors(self, cats: list[Category]) -> dict[str, np.ndarray]:
        return self._tags.text_vectors(cats)

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
        with self.catalog.transaction() as conn:
            category_store.import_categories(conn, incoming, path, replace)
        self._autotag(incoming)
        return incoming

    def export_categories(self, path: str | os.PathLike) -> None:
        category_store.write_toml_file(path, self.categories())

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
        return self._tags.run(cats, on_progress, should_cancel, photo_ids)

    def preview_label(self, category: Category, label_name: str) -> tagging.LabelPreview:
        """What ``label_name`` of the (unsaved) ``category`` would tag, for the editor."""
        return self._tags.preview_label(category, label_name)

    # -- the sun (core/sun.py) -----------------------------------------------------------------
    def update_sun(
        self,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> sun_store.SunUpdate:
        """Read the capture time and place of photos that have none stored yet."""
        return sun_store.update_catalog(self.catalog, on_progress, should_cancel)

    def _sun_fusion(self) -> sun_fusion.SunFusion:
        return self._tags.sun_fusion()

    def sun_text(self, photo_id: int) -> str:
        """The details panel's line, e.g. "Sun 3° above the horizon, 14 minutes after ..."."""
        return sun.describe(sun_store.stored_fix(self.catalog, photo_id))

    def explain_tags(self, path: str | os.PathLike) -> sun_fusion.Explanation:
        """The image's probabilities, the sun's and the result, per category, for one photo."""
        ids, unknown = self.photo_ids_for_paths([path])
        if unknown or len(ids) != 1:
            raise LibraryError(f"not a photo of this library: {path}")
        return self._tags.explain(str(path), ids[0])

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
        if "auto" in self._made:
            self._auto_cache.state = None

    def _retag_categories_of(self, tags: Iterable[str], categories: Iterable[str] = ()) -> None:
        """Re-tag the categories holding these labels (a label's name is in its prompts)."""
        self._tags.retag_categories_of(
            tags,
            categories,
            lambda: bool(self.known_model_id() and self.catalog.count_vectors(self.model_id)),
        )

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
        vector = teaching.more_like(self._matrix.rows_of, liked, disliked)
        hits = self.index.search(vector, top + len(liked) + len(disliked))
        skip = set(liked) | set(disliked)
        kept = [(int(i), float(s)) for i, s in zip(*hits, strict=True) if int(i) not in skip]
        return self.searcher()._results(kept[:top])

    def discover(
        self,
        groups: int | None = None,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> list[discovery.Group]:
        """Cluster the library's vectors into groups named after their nearest labels
        (``groups``: default ``discover.DEFAULT_GROUPS``; defaults that name a feature's
        constant would import the feature with this module)."""
        groups = discovery.DEFAULT_GROUPS if groups is None else groups
        _, ids, matrix = self._versioned_vectors()
        cats = teaching.without_taught(self.catalog, self.categories())
        names, vecs, neutral = discovery.label_directions(cats, self._text_vectors(cats))
        return discovery.cluster(
            ids, matrix, groups, names, vecs, neutral,
            on_progress=on_progress, should_cancel=should_cancel,
        )  # fmt: skip

    def photos_with_tag(self, tag: str) -> list[int]:
        return tagging.photos_with_tag(self.catalog, tag)

    def photo_ids_for_paths(
        self, paths: Iterable[str | os.PathLike]
    ) -> tuple[list[int], list[str]]:
        """Catalog ids of files (or of every photo under folders); and the unknown paths."""
        return lookup.photo_ids_for_paths(self.catalog, paths)

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

        def root_for(folder: str) -> int:  # where a moved photo lands becomes a root
            return self.add_root(folder)[0]

        if request.dry_run:  # writes nothing: no lock, no recovery
            return export_job.export_photos(
                self.catalog, request, root_for, [], on_progress, should_cancel
            )
        with self.writing("exporting"):
            return export_job.export_photos(
                self.catalog, request, root_for, self._recover_moves(), on_progress, should_cancel
            )

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
            return sidecars.write_sidecars(self.catalog, photo_ids, on_progress, should_cancel)

    # -- duplicates (issue 17): core/duplicates.py and core/duplicate_actions.py ---------
    def find_duplicates(
        self,
        kinds: Iterable[str] | None = None,
        threshold: float | None = None,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> list[dup.Group]:
        """Exact, near-duplicate and burst groups (``kinds``: default all of
        ``duplicates.KINDS``), each with a suggested keeper."""
        kinds = dup.KINDS if kinds is None else kinds
        finder = dup.DuplicateFinder(self.catalog, self._matrix.stored)
        return finder.find(kinds, threshold, on_progress, should_cancel)

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
        with self.writing("scanning"):  # what the lock has always named here (unchanged)
            summary = dup_actions.trash_others(
                self.catalog, groups, confirmed, send_to_trash, on_progress, should_cancel
            )
            self.index.remove(summary.removed_ids)
            self.save_index()
        return summary

    # -- scores as data and tags against the truth (issue 21: core/scores, core/tag_truth) ---
    def _score_tagger(self, category: str | None = None) -> tagging.Tagger:
        """The auto tagger's own scoring (model family, sun), taught labels left out."""
        return self._tags.score_tagger(scores.select(self.categories(), category))

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
        if isinstance(category, Category):
            tagger = self._tags.score_tagger([category_store.validate(category)])
        else:
            tagger = self._score_tagger(category)
        return self._tags.evaluate(tagger, self.vector_dim)

    # -- this machine's speed and the model picker (issue 21: core/bench, core/known_models) --
    def bench(
        self,
        budget_s: float | None = None,
        batch_sizes: Iterable[int] | None = None,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> bench_speed.BenchReport:
        """Images/s of this library's model on every device here, the decode rate of its
        photos and the time its pending photos would take; kept for ``known_models``
        (defaults: ``bench.DEFAULT_BUDGET_S`` and ``bench.BATCH_SIZES``)."""
        budget_s = bench_speed.DEFAULT_BUDGET_S if budget_s is None else budget_s
        batch_sizes = bench_speed.BATCH_SIZES if batch_sizes is None else batch_sizes
        return bench_speed.bench_library(
            self.model_spec,
            self.device,
            PhotoStore(self.catalog).sample_paths(bench_speed.DECODE_SAMPLE),
            self.status().pending,
            budget_s,
            list(batch_sizes),
            on_progress,
            should_cancel,
        )

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

        def swap_index(target: reindexing.Target) -> None:
            with self._index_lock:
                self._index = vector_index.rebuild(
                    self.folder, self.catalog, target.model_id, target.dim
                )
                self._index_version = self.catalog.vectors_version()

        return reindexing.reindex_library(
            self.catalog,
            spec,
            unfinished,
            embedder,
            lambda: self._adopt_model(spec, embedder),
            swap_index,
            lambda: self.writing("re-indexing"),
            lambda: self.autotag(on_progress, should_cancel),
            on_progress,
            should_cancel,
            batch_size,
        )

    def _adopt_model(self, spec: ModelSpec, embedder: Embedder) -> None:
        self._model.adopt(spec, embedder)
        self._matrix.clear()
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
        return ocr_store.stage_for(
            self.catalog, self.recognizer, self.model_id, lambda x: self.image_encoder.encode_pil(x)
        )

    def photo_text(self, photo_id: int) -> ocr.OcrResult | None:
        """The text recognised in a photo (None: not read, e.g. skipped by the gate)."""
        return ocr_store.photo_text(self.catalog, photo_id)

    def search_words(
        self, words: str, query: SearchQuery | None = None, names: dict[str, str] | None = None
    ) -> tuple[list[SearchResult], dict[int, str]]:
        """Photos whose text holds ``words``, ranked together with the query's meaning
        part when it has one; filters apply. Returns the results and each word hit's
        snippet (matches in [brackets])."""
        query = self.check_query(query or SearchQuery(), names)

        def meaning() -> list[tuple[int, float]]:
            return [(r.photo_id, r.score) for r in self.search(query, names)]

        return ocr_store.search_words(
            self.catalog, words, query, meaning, lambda hits: self.searcher()._results(hits)
        )

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
        wiring = archives.LibraryWiring(
            catalog=self.catalog,
            model_spec=str(self.model_spec),
            model_id=lambda: self.model_id,
            writing=lambda: self.writing("importing"),
            add_root=self.add_root,
            index=lambda: self.index,
            rebuild_index=self.rebuild_index,
            save_index=self.save_index,
            update_sun=self.update_sun,
            autotag=self.autotag,
            import_keywords=lambda ids, progress: self.import_keywords(ids, progress, walked=True),
        )
        return archives.import_into_library(wiring, path, mapping, on_progress, should_cancel)
