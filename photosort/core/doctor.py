"""``photosort doctor``: check a library, rebuild its index, report orphans, restore backups.

The catalog is the truth and the index a cache, so repair means: prove the catalog is
intact (SQLite's own checks), rebuild the cache from it, and point out rows that no
longer match the disk. Nothing the user made is deleted: photos under a missing root or
missing files are only reported (a scan forgets missing files once their root is there
again); ``fix`` removes only rows nobody can reach (vectors without a photo, photos
without a root). A damaged catalog is replaced by a verified backup, after the current
file has itself been saved.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from photosort.core import backup, kept_tags, vector_codec
from photosort.core import index as vector_index
from photosort.core.catalog import verify_backup
from photosort.core.errors import PhotosortError
from photosort.core.store import CatalogHealth, PhotoStore, VectorStore
from photosort.core.writelock import WriteLock

if TYPE_CHECKING:
    from photosort.core.catalog import Catalog
    from photosort.core.library import Library

CATALOG = "catalog.sqlite"
BACKUPS = "backups"


class DoctorError(PhotosortError):
    """Doctor cannot do what was asked (no backup, busy library); one line for the user."""


@dataclass
class DoctorReport:
    integrity: list[str] = field(default_factory=list)
    foreign_key_problems: int = 0
    photos: int = 0
    vectors: int = 0
    orphan_vectors: int = 0
    damaged_vectors: int = 0
    photos_without_root: int = 0
    missing_roots: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    failed: int = 0
    pending: int = 0
    index_before: str = "not checked"
    index_count: int = 0
    backups: list[str] = field(default_factory=list)
    partial_backups_removed: int = 0
    fixed: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """True when nothing needs the user: the catalog is intact and holds no orphans."""
        return (
            self.integrity == ["ok"]
            and self.foreign_key_problems == 0
            and self.orphan_vectors == 0
            and self.photos_without_root == 0
            and self.damaged_vectors == 0
        )

    def lines(self) -> list[str]:
        ok = self.integrity == ["ok"]
        out = [
            "catalog integrity: " + ("ok" if ok else "DAMAGED: " + "; ".join(self.integrity[:5])),
            f"photos: {self.photos} ({self.vectors} with a vector, {self.pending} pending, "
            f"{self.failed} failed)",
            f"vector index: {self.index_before}; now {self.index_count} vectors",
        ]
        if self.foreign_key_problems:
            out.append(f"broken references: {self.foreign_key_problems}")
        if self.orphan_vectors:
            out.append(f"orphan vectors (no photo): {self.orphan_vectors}")
        if self.damaged_vectors:
            out.append(f"vectors of the wrong length (--fix re-embeds): {self.damaged_vectors}")
        if self.photos_without_root:
            out.append(f"photos whose root is gone from the catalog: {self.photos_without_root}")
        for root in self.missing_roots:
            out.append(f"root missing or not mounted (its photos are kept): {root}")
        if self.missing_files:
            out.append(
                f"files missing on disk: {len(self.missing_files)} (photosort scan forgets them)"
            )
            out += [f"  {_printable(p)}" for p in self.missing_files[:20]]
            if len(self.missing_files) > 20:
                out.append(f"  … and {len(self.missing_files) - 20} more")
        if self.partial_backups_removed:
            out.append(f"removed {self.partial_backups_removed} half-written backup(s)")
        out += [f"fixed: {f}" for f in self.fixed]
        out.append(
            f"backups: {len(self.backups)}"
            + (f", newest {self.backups[0]}" if self.backups else "")
        )
        out.append("healthy" if self.healthy else "problems found: see above")
        return out

    def as_dict(self) -> dict:
        return {**asdict(self), "healthy": self.healthy}


def check(lib: Library, fix: bool = False) -> DoctorReport:
    """Check ``lib`` (a Library), rebuild its vector index, and with ``fix`` drop orphans.

    Under the library's write lock throughout: what it compares with the disk must not
    change under it, and ``fix`` changes the set of photos."""
    with lib.writing("repairing the catalog" if fix else "checking the library"):
        return _check_locked(lib, fix)


def _check_locked(lib: Library, fix: bool) -> DoctorReport:
    cat = lib.catalog
    report = DoctorReport()
    health, photos, vectors = CatalogHealth(cat), PhotoStore(cat), VectorStore(cat)
    report.integrity = health.integrity()
    report.foreign_key_problems = health.foreign_key_problems()
    report.orphan_vectors = vectors.count_orphans()
    report.photos_without_root = photos.count_rootless()
    if fix and (report.orphan_vectors or report.photos_without_root):
        with cat.transaction() as conn:
            VectorStore(conn).delete_orphans()
            kept_tags.keep(conn, PhotoStore(conn).rootless_ids(), {})
            PhotoStore(conn).delete_rootless()
            cat.bump_vectors_version(conn)
        report.fixed.append(
            f"removed {report.orphan_vectors} orphan vectors and "
            f"{report.photos_without_root} photos without a root"
        )
        report.orphan_vectors = report.photos_without_root = 0
        # the orphans were what SQLite's foreign key check found: "fixed" must read healthy
        report.foreign_key_problems = health.foreign_key_problems()

    model, dim = lib.model_id, lib.vector_dim()
    # Either format is sound: fp16 (today's) or float32 (an older catalog's, see vector_codec).
    lengths = (vector_codec.blob_length(dim), vector_codec.legacy_length(dim))
    report.damaged_vectors = vectors.count_damaged(model, lengths)
    if fix and report.damaged_vectors:
        with cat.transaction() as conn:  # the photos go back to pending: the next scan embeds
            VectorStore(conn).drop_damaged(model, lengths)
            cat.bump_vectors_version(conn)
        report.fixed.append(f"dropped {report.damaged_vectors} damaged vectors (photos pending)")
        report.damaged_vectors = 0

    present_roots = []
    for root in cat.roots():
        if os.path.isdir(root["path"]) and _has_entries(root["path"]):
            present_roots.append(root["id"])
        else:
            report.missing_roots.append(root["path"])
    for row in photos.paths_and_roots():
        if row["root_id"] in present_roots and not os.path.lexists(row["path"]):
            report.missing_files.append(row["path"])

    report.photos, report.failed, report.pending = photos.counts()
    report.vectors = cat.count_vectors(model)
    report.index_before = _index_state(lib.folder, cat, model)
    # a damaged vector is left out of the rebuild (vector_codec.decode_rows)
    report.index_count = lib.rebuild_index().count
    return _finish(report, lib)


def _finish(report: DoctorReport, lib: Library) -> DoctorReport:
    folder = lib.folder / BACKUPS
    report.partial_backups_removed = len(backup.remove_partials(folder))
    report.backups = [p.name for p in backup.list_backups(folder)]
    return report


def _index_state(folder: Path, cat: Catalog, model: str) -> str:
    try:
        index, meta = vector_index.VectorIndex.load(folder)
    except FileNotFoundError:
        return "was missing, rebuilt"
    except Exception as exc:  # noqa: BLE001 - any unreadable file is simply rebuilt
        return f"was unreadable ({_printable(str(exc))[:80]}), rebuilt"
    if (meta.model, meta.version, meta.count) != (
        model,
        cat.vectors_version(),
        cat.count_vectors(model),
    ):
        return "was stale, rebuilt"
    return "was up to date, rebuilt anyway"


def _has_entries(path: str) -> bool:
    try:
        with os.scandir(path) as it:
            return next(it, None) is not None
    except OSError:
        return False


def _printable(text: str) -> str:
    """Paths may hold newlines or undecodable bytes; keep every report entry on one line."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\n", "\\n")


# -- backups ------------------------------------------------------------------------------
def make_backup(lib: Library, reason: str = "manual") -> Path:
    return lib.backup_catalog(reason)


def configure_backups(
    lib: Library, keep: int | None = None, every_hours: float | None = None
) -> None:
    """Remember how many backups to keep and how often to take one (catalog meta)."""
    if keep is not None:
        if keep < 1:
            raise DoctorError("--keep must be at least 1")
        lib.catalog.set_meta("backup_keep", str(keep))
    if every_hours is not None:
        if every_hours <= 0:
            raise DoctorError("--backup-every must be a positive number of hours")
        lib.catalog.set_meta("backup_interval_h", repr(float(every_hours)))


def restore(folder: Path, chosen: str | os.PathLike | None = None) -> tuple[Path, Path | None]:
    """Put a verified backup in place of the catalog; returns (restored, saved current).

    The current catalog is saved first (as a backup, or as raw files under
    ``backups/damaged-*`` when SQLite cannot read it). The index cache is deleted and the
    vectors version moved past every earlier one, so no process trusts an old index.
    """
    folder = Path(folder)
    backups_dir = folder / BACKUPS
    source = _choose_backup(backups_dir, chosen)
    with WriteLock(folder).hold("restoring a backup"):
        catalog = folder / CATALOG
        old_version = _version_of(catalog) or 0
        saved = _save_current(catalog, backups_dir) if catalog.exists() else None
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            try:
                _copy_into(src, catalog)
            except (sqlite3.Error, ValueError):  # beyond SQLite (saved above): start anew
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{catalog}{suffix}").unlink(missing_ok=True)
                _copy_into(src, catalog)
        finally:
            src.close()
        new_version = max(old_version, _version_of(catalog) or 0, _sidecar_version(folder)) + 1
        conn = sqlite3.connect(catalog)
        try:
            CatalogHealth(conn).set_vectors_version(new_version)
            conn.commit()
        finally:
            conn.close()
        for name in (vector_index.INDEX_FILENAME, vector_index.META_FILENAME):
            (folder / name).unlink(missing_ok=True)
        return source, saved


def _choose_backup(backups_dir: Path, chosen: str | os.PathLike | None) -> Path:
    if chosen is not None:
        path = Path(chosen).expanduser()
        if not path.exists() and (backups_dir / path).exists():
            path = backups_dir / path
        if not path.is_file():
            raise DoctorError(f"no such backup: {chosen}")
        try:
            verify_backup(path)
        except backup.BackupError as exc:
            raise DoctorError(str(exc)) from exc
        return path
    problems = []
    for path in backup.list_backups(backups_dir):
        try:
            verify_backup(path)
            return path
        except backup.BackupError as exc:
            problems.append(str(exc))
    detail = f" ({'; '.join(problems[:3])})" if problems else ""
    raise DoctorError(f"no usable backup in {backups_dir}{detail}")


def _save_current(catalog: Path, backups_dir: Path) -> Path | None:
    """Keep what is being replaced: a backup if SQLite can read it, else the raw files.

    Whatever is wrong with it (a bad byte in its schema text reaches Python as a
    UnicodeDecodeError), this never stops the restore; an empty file holds nothing."""
    if catalog.stat().st_size == 0:
        return None
    try:
        conn = sqlite3.connect(f"{catalog.resolve().as_uri()}?mode=ro", uri=True)
        try:
            if CatalogHealth(conn).integrity() == ["ok"]:
                return backup.backup_database(conn, backups_dir, "before-restore", keep=10**6)
        finally:
            conn.close()
    except (sqlite3.Error, ValueError, backup.BackupError):
        pass
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    damaged = backups_dir / f"damaged-{stamp}"
    damaged.mkdir(parents=True)
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{catalog}{suffix}")
        if part.exists():
            shutil.copy2(part, damaged / part.name)
    return damaged


def _copy_into(src: sqlite3.Connection, catalog: Path) -> None:
    dest = sqlite3.connect(catalog, timeout=10)
    try:
        src.backup(dest)
        if CatalogHealth(dest).integrity() != ["ok"]:
            raise sqlite3.DatabaseError("restored catalog fails its integrity check")
    finally:
        dest.close()


def _version_of(catalog: Path) -> int | None:
    if not catalog.exists():
        return None
    try:
        conn = sqlite3.connect(f"{catalog.resolve().as_uri()}?mode=ro", uri=True)
        try:
            version = CatalogHealth(conn).vectors_version()
        finally:
            conn.close()
        return version or 0
    except (sqlite3.Error, ValueError):
        return None


def _sidecar_version(folder: Path) -> int:
    try:
        return int(json.loads((folder / vector_index.META_FILENAME).read_text())["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0
