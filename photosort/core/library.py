"""``Library``: the one place that wires catalog, index, model, scanning and search together.

The CLI and the GUI both hold a ``Library`` and call its methods; nothing else opens
the catalog or loads the model.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from photosort.core import index as vector_index
from photosort.core.catalog import Catalog
from photosort.core.embedder import DEFAULT_MODEL, Embedder, ModelSpec
from photosort.core.pipeline import EmbedJob, embed_photos
from photosort.core.progress import ProgressCallback
from photosort.core.reconcile import reconcile
from photosort.core.scanner import WalkIssue
from photosort.core.search import Searcher, SearchQuery, SearchResult


class LibraryError(Exception):
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
        self._scan_lock = FileLock(str(self.folder / "scan.lock"))

    # -- lazily loaded parts --------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        with self._load_lock:
            if self._embedder is None:
                self._embedder = Embedder(self.model_spec, self.device)
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
        if self._index is None:
            self._index = vector_index.open_or_rebuild(
                self.folder, self.catalog, self.model_id, self._dim()
            )
        return self._index

    def save_index(self) -> None:
        if self._index is not None and self._index.dirty:
            meta = vector_index.IndexMeta(
                self.model_id, self.catalog.vectors_version(), self._index.count, self._index.dim
            )
            self._index.save(self.folder, meta)

    # -- roots ------------------------------------------------------------------------
    def roots(self) -> list[dict]:
        return [dict(r) for r in self.catalog.roots()]

    def add_root(self, path: str | os.PathLike) -> tuple[int, str]:
        """Register a folder; a folder inside a known root resolves to that root."""
        folder = os.path.abspath(os.path.expanduser(os.fspath(path)))
        if not os.path.isdir(folder):
            raise LibraryError(f"not a folder: {path}")
        for root in self.catalog.roots():
            if folder == root["path"] or folder.startswith(root["path"].rstrip(os.sep) + os.sep):
                return root["id"], root["path"]
        root_id = self.catalog.add_root(folder)
        self._absorb_nested_roots(root_id, folder)
        return root_id, folder

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

    def remove_root(self, path: str | os.PathLike) -> int:
        """Forget a root and its photos (files on disk are untouched)."""
        folder = os.path.abspath(os.path.expanduser(os.fspath(path)))
        root_id = self.catalog.root_id(folder)
        if root_id is None:
            raise LibraryError(f"not a root of this library: {path}")
        ids = self.catalog.remove_root(root_id)
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
    ) -> ScanSummary:
        """Add ``paths`` as roots (all roots when None) and bring them up to date."""
        roots = (
            [self.add_root(p) for p in paths]
            if paths
            else [(r["id"], r["path"]) for r in self.catalog.roots()]
        )
        roots = list(dict.fromkeys(roots))
        try:
            self._scan_lock.acquire(timeout=0.5)
        except Timeout as exc:
            raise LibraryError(
                f"library is busy: another photosort process is scanning {self.folder}"
            ) from exc
        try:
            return self._scan_locked(roots, on_progress, should_cancel, batch_size)
        finally:
            self._scan_lock.release()

    def _scan_locked(self, roots, on_progress, should_cancel, batch_size) -> ScanSummary:
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
        rows = self.catalog.photos_needing_embedding(embedder.model_id, [r[0] for r in roots])
        jobs = [EmbedJob(r["id"], r["path"]) for r in rows]
        try:
            stats = embed_photos(
                self.catalog, embedder, self.index, jobs, on_progress, should_cancel, batch_size
            )
        finally:
            self.save_index()
        summary.embedded = stats.embedded
        summary.failed = stats.failed
        summary.failures = stats.failures
        summary.cancelled = stats.cancelled
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
            pending=len(self.catalog.photos_needing_embedding(model_id)),
        )

    def failures(self) -> list[dict]:
        rows = self.catalog.query(
            "SELECT path, error FROM photos WHERE status = 'failed' ORDER BY path"
        )
        return [{"path": r["path"], "reason": r["error"]} for r in rows]

    def close(self) -> None:
        self.save_index()
        self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
