"""``Library``: the one place that wires catalog, index, model, scanning and search together.

The CLI and the GUI both hold a ``Library`` and call its methods; nothing else opens
the catalog or loads the model.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from photosort.core import categories as category_store
from photosort.core import export as exporter
from photosort.core import index as vector_index
from photosort.core import (
    kept_tags,
    tagging,  # registers the 0002_tags migration before any Catalog opens
    xmp,
)
from photosort.core import roots as root_paths
from photosort.core.catalog import Catalog, CatalogError
from photosort.core.categories import Category, CategoryError
from photosort.core.embedder import DEFAULT_MODEL, Embedder, ModelError, ModelSpec
from photosort.core.errors import PhotosortError
from photosort.core.pipeline import EmbedJob, embed_photos
from photosort.core.progress import ProgressCallback, RateMeter
from photosort.core.reconcile import reconcile
from photosort.core.scanner import WalkIssue
from photosort.core.search import Searcher, SearchQuery, SearchResult
from photosort.core.writelock import WriteLock

log = logging.getLogger(__name__)


class LibraryError(PhotosortError):
    """A user-facing problem with the library (bad path, busy, ...)."""


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

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Library:
    """A photo library on disk: ``catalog.sqlite``, the vector index cache and backups."""

    def __init__(
        self,
        folder: str | os.PathLike | None = None,
        model: str | None = None,
        device: str | None = None,
    ):
        self.folder = Path(folder).expanduser() if folder else default_library_dir()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LibraryError(f"cannot create library folder {self.folder}: {exc}") from exc
        self.catalog = Catalog(self.folder / Catalog.FILENAME, backup_dir=self.folder / "backups")
        stored = self.catalog.get_meta("model")
        self.model_spec = ModelSpec.parse(
            model or os.environ.get("PHOTOSORT_MODEL") or stored or DEFAULT_MODEL
        )
        self.device = device or os.environ.get("PHOTOSORT_DEVICE") or "auto"
        self._embedder: Embedder | None = None
        self._index: vector_index.VectorIndex | None = None
        self._load_lock = threading.Lock()
        self._matrix_cache: tuple | None = None  # (model id, vectors_version), ids, matrix
        self._auto_cache = tagging.AutoTagCache()
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
                with self.catalog.transaction() as conn:
                    self.catalog.set_meta("model", str(self.model_spec), conn)
                    self.catalog.set_meta("model_id", self._embedder.model_id, conn)
                    self.catalog.set_meta("model_dim", str(self._embedder.dim), conn)
            return self._embedder

    @property
    def model_id(self) -> str:
        """The model id, known without loading the model when the spec is unchanged."""
        if self._embedder is None and self.catalog.get_meta("model") == str(self.model_spec):
            stored = self.catalog.get_meta("model_id")
            if stored:
                return stored
        return self.embedder.model_id

    def _dim(self) -> int:
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
                    self.folder, self.catalog, self.model_id, self._dim()
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
        with self.catalog.transaction() as conn:
            conn.execute("UPDATE roots SET follow_links = 1 WHERE id = ?", (root_id,))

    def _absorb_nested_roots(self, root_id: int, folder: str) -> None:
        prefix = folder.rstrip(os.sep) + os.sep
        with self.catalog.transaction() as conn:
            nested = [
                r[0]
                for r in conn.execute("SELECT id, path FROM roots WHERE id != ?", (root_id,))
                if r[1].startswith(prefix)
            ]
            for nested_id in nested:
                conn.execute(
                    "UPDATE photos SET root_id = ? WHERE root_id = ?", (root_id, nested_id)
                )
                conn.execute("DELETE FROM roots WHERE id = ?", (nested_id,))

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
            ids = [
                r[0]
                for r in self.catalog.query("SELECT id FROM photos WHERE root_id = ?", (root_id,))
            ]
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
    ) -> ScanSummary:
        """Add ``paths`` as roots (all roots when None) and bring them up to date.

        ``follow_links``: the given folders' symlinks that lead outside them are followed
        (remembered per folder). ``retry_failed``: every failed photo is tried again, not
        only those that failed for a reason outside the file (an I/O error)."""
        with self.writing("scanning"):
            roots = (
                [self.add_root(p, follow_links) for p in paths]
                if paths
                else [(r["id"], r["path"]) for r in self.catalog.roots()]
            )
            roots = list(dict.fromkeys(roots))
            notes = self._recover_moves()  # a killed export --mode move
            summary = self._scan_locked(roots, on_progress, should_cancel, batch_size, retry_failed)
            summary.warnings += notes
            self._autotag_after_scan(summary)
            return summary

    def _scan_locked(
        self, roots, on_progress, should_cancel, batch_size, retry_failed=False
    ) -> ScanSummary:
        embedder = self.embedder  # fail early (and clearly) if the model cannot load
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
        self.index.remove(rec.removed_ids)
        if should_cancel and should_cancel():
            summary.cancelled = True
            self.save_index()
            return summary
        rows = self.catalog.photos_needing_embedding(
            embedder.model_id, [r[0] for r in roots], retry_failed
        )
        jobs = [EmbedJob(r["id"], r["path"]) for r in rows]
        try:
            stats = embed_photos(
                self.catalog, embedder, self.index, jobs, on_progress, should_cancel, batch_size
            )
        finally:
            self.save_index()
        with self.catalog.transaction() as conn:  # decisions kept when photos were forgotten
            kept_tags.restore(conn)
        summary.embedded = stats.embedded
        summary.failed = stats.failed
        summary.failures = stats.failures
        summary.cancelled = stats.cancelled
        summary.timings = stats.timings
        return summary

    # -- search -------------------------------------------------------------------------
    def searcher(self) -> Searcher:
        return Searcher(self.catalog, self.index, lambda: self.embedder)

    def search(self, query: SearchQuery) -> list[SearchResult]:
        return self.searcher().search(query)

    def browse(self, query: SearchQuery | None = None) -> list[int]:
        """Ids of every photo matching the query's filters, newest first (the GUI's grid)."""
        from photosort.core.search import filter_clauses

        clauses, params = filter_clauses(query or SearchQuery())
        where = (" AND " + " AND ".join(clauses)) if clauses else ""
        rows = self.catalog.query(
            "SELECT p.id FROM photos p WHERE p.status != 'failed'"
            + where
            + " ORDER BY p.taken_at IS NULL, p.taken_at DESC, p.path",
            params,
        )
        return [r[0] for r in rows]

    def photo_details(self, photo_ids: Iterable[int]) -> dict[int, dict]:
        """Catalog rows (path, size, date, camera, GPS, status, error) by id."""
        ids = list(photo_ids)
        out: dict[int, dict] = {}
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            rows = self.catalog.query(
                "SELECT id, path, folder, size, width, height, taken_at, camera, gps_lat, "
                f"gps_lon, status, error FROM photos WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            out.update({r["id"]: dict(r) for r in rows})
        return out

    # -- status -------------------------------------------------------------------------
    def status(self) -> LibraryStatus:
        model_id = self.model_id
        counts = self.catalog.query(
            "SELECT COUNT(*) AS photos, SUM(status = 'failed') AS failed FROM photos"
        )[0]
        return LibraryStatus(
            library=str(self.folder),
            model=str(self.model_spec),
            roots=len(self.catalog.roots()),
            photos=counts["photos"] or 0,
            embedded=self.catalog.count_vectors(model_id),
            failed=counts["failed"] or 0,
            pending=self.catalog.count_needing_embedding(model_id),
        )

    def folder_counts(self) -> tuple[dict[str, int], int]:
        """Photos per folder (failed ones left out), and how many failed: the sidebar's counts."""
        rows = self.catalog.query(
            "SELECT folder, SUM(status != 'failed') AS n, SUM(status = 'failed') AS bad "
            "FROM photos GROUP BY folder"
        )
        return {r["folder"]: r["n"] for r in rows if r["n"]}, sum(r["bad"] for r in rows)

    def failures(self) -> list[dict]:
        rows = self.catalog.query(
            "SELECT path, error FROM photos WHERE status = 'failed' ORDER BY path"
        )
        return [{"path": r["path"], "reason": r["error"]} for r in rows]

    def close(self) -> None:
        self._matrix_cache = None
        self._auto_cache.state = None
        self.save_index()
        self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
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
            matrix = np.empty((0, self._dim()), np.float32)
        self._matrix_cache = (key, ids, matrix)
        return key[1], ids, matrix

    def _logit_scale(self) -> float:
        """The model's exp(logit_scale), remembered in the catalog so re-tagging needs no model."""
        key = f"logit_scale:{self.model_id}"
        stored = self.catalog.get_meta(key)
        if stored is not None:
            return float(stored)
        scale = float(self.embedder.logit_scale)
        self.catalog.set_meta(key, repr(scale))
        return scale

    def _text_vectors(self, cats: list[Category]) -> dict[str, np.ndarray]:
        return tagging.text_vectors(
            self.catalog,
            self.model_id,
            tagging.Tagger.prompts_needed(cats),
            lambda texts: self.embedder.encode_texts(texts),
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
            current = next((c for c in category_store.load(conn) if c.name == name), None)
            category = change(current)
            category_store.store(conn, category, None if current is None else name)
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
            for category in incoming:
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
    ) -> tagging.AutotagSummary:
        """Re-tag every photo with a vector of the current model for every category."""
        return self._autotag(self.categories(), on_progress, should_cancel)

    def _autotag(
        self, cats: list[Category], on_progress=None, should_cancel=None
    ) -> tagging.AutotagSummary:
        if not cats:
            return tagging.AutotagSummary()
        vectors = self._text_vectors(cats)
        return tagging.run_autotag(
            self.catalog,
            cats,
            self._versioned_vectors,
            vectors,
            self._logit_scale(),
            on_progress,
            should_cancel,
            self._auto_cache,
        )

    def _autotag_after_scan(self, summary: ScanSummary) -> None:
        """New photos get their tags at the end of a scan; a failure here is a warning."""
        try:
            if summary.embedded or summary.removed or summary.updated:
                self.autotag()
        except (CategoryError, CatalogError, ModelError) as exc:
            summary.warnings.append(f"auto-tagging failed: {exc}")

    def preview_label(self, category: Category, label_name: str) -> tagging.LabelPreview:
        """What ``label_name`` of the (unsaved) ``category`` would tag, for the editor."""
        category = category_store.validate(category)
        ids, matrix = self._vector_matrix()
        tagger = tagging.Tagger([category], self._text_vectors([category]), self._logit_scale())
        return tagging.preview(tagger, ids, matrix, label_name.strip())

    # -- manual tags ------------------------------------------------------------------------
    def tag_photos(
        self, photo_ids: Iterable[int], add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> None:
        """Manual decisions: they win over the tagger and survive re-tagging and moves."""
        tagging.set_manual(self.catalog, photo_ids, add, remove)

    def clear_manual(self, photo_ids: Iterable[int], tags: Iterable[str]) -> None:
        tagging.clear_manual(self.catalog, list(photo_ids), list(tags))

    def photo_tags(
        self, photo_ids: Iterable[int], include_rejected: bool = True
    ) -> dict[int, list[tagging.PhotoTag]]:
        return tagging.photo_tags(self.catalog, photo_ids, include_rejected)

    def tag_counts(self) -> list[tagging.TagCount]:
        return tagging.tag_counts(self.catalog, self.model_id)

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
            folder = path.rstrip(os.sep)
            rows = self.catalog.query(
                "SELECT id FROM photos WHERE folder = ? OR substr(folder, 1, ?) = ?",
                (folder, len(folder) + 1, folder + os.sep),
            )
            if rows:
                ids += [r[0] for r in rows]
            else:
                unknown.append(os.fspath(raw))
        return list(dict.fromkeys(ids)), unknown

    # -- export and sidecars ---------------------------------------------------------------
    def export(
        self,
        request: exporter.ExportRequest,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> exporter.ExportSummary:
        """Copy, link or move photos with the requested tags into folders under request.dest."""
        exporter.check_request(request)
        if request.dry_run:  # writes nothing: no lock, no recovery
            return self._export_locked(request, on_progress, should_cancel)
        with self.writing("exporting"):
            return self._export_locked(request, on_progress, should_cancel)

    def _export_locked(self, request, on_progress, should_cancel) -> exporter.ExportSummary:
        recovered = [] if request.dry_run else self._recover_moves()
        sources = exporter.sources_for(self.catalog, request.tags, request.photo_ids)

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

    def write_xmp_sidecars(
        self,
        photo_ids: Iterable[int] | None = None,
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> xmp.XmpSummary:
        """Write ``photo.ext.xmp`` with the tags next to originals (only when asked).

        Without ``photo_ids``: every photo that has a tag. A photo without tags gets a
        sidecar only to refresh one photosort wrote before. Originals are never touched.
        """
        with self.writing("writing XMP sidecars"):
            return self._write_xmp_locked(photo_ids, on_progress, should_cancel)

    def _write_xmp_locked(self, photo_ids, on_progress, should_cancel) -> xmp.XmpSummary:
        if photo_ids is None:
            ids = [
                r[0]
                for r in self.catalog.query(
                    "SELECT DISTINCT photo_id FROM effective_tags ORDER BY photo_id"
                )
            ]
        else:
            ids = list(dict.fromkeys(int(i) for i in photo_ids))
        details = self.photo_details(ids)
        tags = self.photo_tags(ids, include_rejected=False)
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
            have = [xmp.SidecarTag(t.name, t.category) for t in tags.get(pid, [])]
            if not have and not xmp.written_by_us(xmp.sidecar_path(path)):
                continue
            try:
                target, outcome = xmp.write_sidecar(path, have)
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
