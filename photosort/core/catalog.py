"""The SQLite catalog: the single source of truth for photos, vectors and (later) tags.

One ``Catalog`` owns one connection. Writers are serialised by a lock and by short
``BEGIN IMMEDIATE`` transactions; readers see a consistent snapshot thanks to WAL.
Schema changes are named migrations recorded in the ``migrations`` table, and the
database is backed up with SQLite's backup API before any migration runs on a
non-empty catalog.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
import operator
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import photosort
from photosort.core import backup, private, vector_codec
from photosort.core.errors import PhotosortError
from photosort.core.lazy_import import np

log = logging.getLogger(__name__)

#: Query parameters: positional (``?``) or named (``:name``).
Params = Sequence[Any] | Mapping[str, Any]

#: Page size of a new catalog; an existing one keeps the size it was made with.
PAGE_SIZE = 16384


class CatalogError(PhotosortError):
    """A catalog problem the user can act on (busy, corrupt, read-only)."""


@dataclass(frozen=True)
class Migration:
    """One named schema step: a function, or ``"module:function"`` under photosort.core.

    A named step is imported only when a catalog needs it, so opening an up-to-date
    catalog imports none of the feature modules that own the schema's parts (they were
    ~70 modules a no-change rescan imported for nothing, issue 13)."""

    name: str
    step: Callable[[sqlite3.Connection], None] | str

    def apply(self, conn: sqlite3.Connection) -> None:
        self.function()(conn)

    def function(self) -> Callable[[sqlite3.Connection], None]:
        if not isinstance(self.step, str):
            return self.step
        import importlib

        module, _, name = self.step.partition(":")
        found: Callable[[sqlite3.Connection], None] = getattr(
            importlib.import_module(f"photosort.core.{module}"), name
        )
        return found


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run DDL statements inside the caller's transaction (``executescript`` would commit)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _initial_schema(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE roots (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            added_at TEXT NOT NULL
        );
        CREATE TABLE photos (
            id INTEGER PRIMARY KEY,
            root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
            path TEXT NOT NULL UNIQUE,
            folder TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            content_hash TEXT,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'ok', 'failed')),
            error TEXT,
            width INTEGER,
            height INTEGER,
            taken_at TEXT,
            camera TEXT,
            gps_lat REAL,
            gps_lon REAL,
            added_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX photos_root ON photos(root_id);
        CREATE INDEX photos_folder ON photos(folder);
        CREATE INDEX photos_hash ON photos(content_hash);
        CREATE INDEX photos_status ON photos(status);
        CREATE INDEX photos_taken ON photos(taken_at);
        CREATE TABLE embeddings (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            vector BLOB NOT NULL
        );
        CREATE INDEX embeddings_model ON embeddings(model);
        """,
    )


#: Every schema change ever made, in the order it applies (name order), declared here and
#: nowhere else, as beets declares its migrations: a step lives beside the code that owns
#: its tables and is named here. Never edit, rename or reorder an entry; append.
MIGRATIONS: list[Migration] = [
    Migration("0001_initial", _initial_schema),
    Migration("0002_tags", "tagging.schema:_tags_schema"),
    Migration("0003_move_journal", "store.journal:_journal_schema"),
    Migration("0004_a_move_journal_owner", "store.journal:_journal_owner_schema"),
    Migration("0004_b_kept_manual_tags", "store.kept:_schema"),
    Migration("0004_c_root_follow_links", "store.photos:_follow_links_column"),
    Migration("0004_d_failure_kind", "store.photos:_failure_kind_column"),
    Migration("0005_a_tag_case", "store.tag_admin:_merge_case_duplicates"),
    Migration("0005_b_applies_if", "tag_admin:_applies_if_column"),
    Migration("0006_sun", "sun_store:_sun_schema"),
    Migration("0007_taught_tags", "store.taught:_taught_schema"),
    Migration("0008_duplicates", "store.duplicates:_schema"),
    Migration("0009_a_photo_pairs", "store.pairs:_pairs_schema"),
    Migration("0009_b_keyword_imports", "store.keywords:_schema"),
    Migration("0010_ocr", "store.ocr:_schema"),
    Migration("0010_ocr_b_learned_gates", "store.ocr:_learned_schema"),
    Migration("0012_category_template", "store.categories:_template_column"),
    Migration("0015_staged_vectors", "store.staging:_schema"),
    Migration("0016_fp16_vectors", "vector_migration:_to_fp16"),
    Migration("0017_browse_indexes", "store.photos:_browse_indexes"),
]


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


@dataclass(slots=True)
class PhotoRow:
    """One photo's row as a rescan compares it (not frozen: a rescan makes one per photo,
    and a frozen dataclass's ``__init__`` costs several times as much)."""

    id: int
    root_id: int
    path: str
    folder: str
    size: int
    mtime_ns: int
    content_hash: str | None
    status: str
    error: str | None
    taken_at: str | None = None


class Catalog:
    """The catalog database of one library."""

    FILENAME = "catalog.sqlite"

    def __init__(
        self,
        path: Path,
        backup_dir: Path | None = None,
        busy_timeout_s: float = 10.0,
        read_only: bool = False,
    ):
        self.path = Path(path)
        self.backup_dir = backup_dir
        self.read_only = read_only
        self._immutable = False
        self._lock = threading.RLock()
        self._busy_timeout_s = busy_timeout_s
        self._writer: int | None = None  # thread id inside a write transaction
        # Read-only connections lent out one query at a time and put back after it. Not one
        # per thread: Qt's pool threads get a fresh Python thread state (so a fresh
        # threading.local) for every task, which left one open connection behind per
        # background read (276 after a 300-step GUI soak). A lent connection is closed by
        # the thread that holds it, never under its running query.
        self._readers_lock = threading.Lock()
        self._idle_readers: list[sqlite3.Connection] = []
        self._readers_made = 0  # connections ever opened for reading (tests, diagnostics)
        self._closed = False
        self._backup_due = False  # migrations take their own backup
        if read_only and self._open_read_only():
            return
        self.read_only = False
        self._refuse_emptied()
        try:
            self.conn = sqlite3.connect(
                self.path,
                timeout=busy_timeout_s,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,
            )
            # Paths and GPS positions are the user's business: 0600, before the WAL exists
            # (SQLite gives the -wal and -shm files the catalog's own mode).
            for suffix in ("", "-wal", "-shm"):
                private.make_private(f"{self.path}{suffix}")
            self.conn.execute("PRAGMA foreign_keys = ON")
            # A new catalog gets 16 KB pages (before WAL writes its header): an fp16 vector
            # row (1 KB) then shares a page with 14 others instead of 2 (issue 13).
            self.conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            self._refuse_newer()  # before anything is written (WAL included)
            self._enable_wal(busy_timeout_s)
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
            self._backup_due = True
        except sqlite3.OperationalError as exc:
            raise CatalogError(_explain(exc, self.path)) from exc
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            raise self._damaged(exc) from exc
        except CatalogError:
            self.conn.close()
            raise
        except backup.BackupError as exc:
            raise CatalogError(f"{exc}; the catalog was left as it was") from exc

    def _connect(self, read_only: bool) -> sqlite3.Connection:
        """A connection to the catalog; read-only ones never create or change a file."""
        if not read_only:
            return sqlite3.connect(
                self.path,
                timeout=self._busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
        uri = self.path.resolve().as_uri() + "?mode=ro"
        if self._immutable:
            uri += "&immutable=1"
        return sqlite3.connect(
            uri,
            uri=True,
            timeout=self._busy_timeout_s,
            isolation_level=None,
            check_same_thread=False,
        )

    def _open_read_only(self) -> bool:
        """Open for reading only (search, status on a read-only disk); False when the schema
        needs migrating and the disk allows it, so the caller opens it for writing instead.

        On a read-only disk a WAL catalog cannot make its -shm file; nobody can write there
        either, so SQLite may read it as immutable.
        """
        self._immutable = not os.access(self.path.parent, os.W_OK)
        try:
            self.conn = self._connect(read_only=True)
            self.conn.execute("PRAGMA query_only = ON")
            tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master")}
            done = (
                {r[0] for r in self.conn.execute("SELECT name FROM migrations")}
                if "migrations" in tables
                else set()
            )
        except sqlite3.OperationalError as exc:
            raise CatalogError(_explain(exc, self.path)) from exc
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            raise self._damaged(exc) from exc
        if all(m.name in done for m in MIGRATIONS):
            return True
        self.conn.close()
        if self._immutable:
            raise CatalogError(
                f"catalog {self.path} was written by an older photosort and needs an upgrade, "
                "which its read-only disk does not allow"
            )
        return False

    def _refuse_emptied(self) -> None:
        """A 0-byte catalog would silently become an empty library while backups with the
        user's photos and tags exist: refuse, and name the backup to restore."""
        try:
            if self.path.stat().st_size != 0 or self.backup_dir is None:
                return
        except OSError:
            return  # no catalog yet: a new library
        wal = Path(f"{self.path}-wal")
        if wal.exists() and wal.stat().st_size > 0:
            return  # SQLite rebuilds the database from its WAL
        found = newest_backup_with_photos(self.backup_dir)
        if found is not None:
            name, photos = found
            raise CatalogError(
                f"catalog {self.path} is empty (0 bytes) but the backup {name} holds "
                f"{photos} photos: 'photosort doctor --restore' puts it back"
            )

    def _refuse_newer(self) -> None:
        """A catalog a newer photosort migrated is never written by this one: its newer
        schema would be damaged by older code, and the user's newer install broken."""
        try:
            done = {r[0] for r in self.conn.execute("SELECT name FROM migrations")}
            row = self.conn.execute(
                "SELECT value FROM meta WHERE key = 'photosort_version'"
            ).fetchone()
        except sqlite3.OperationalError:
            return  # a new catalog (or one from before version stamps)
        unknown = sorted(done - {m.name for m in MIGRATIONS})
        writer = row[0] if row else None
        if unknown and writer and _version_key(writer) > _version_key(photosort.__version__):
            ours = photosort.__version__
            raise CatalogError(
                f"catalog {self.path} was written by photosort {writer}, newer than this "
                f"photosort {ours} (it has migration {unknown[-1]}); upgrade photosort "
                "to use it: nothing was changed"
            )

    def _damaged(self, exc: Exception) -> CatalogError:
        """One line for a catalog SQLite cannot read, after closing what was opened.

        A bad byte in the schema text reaches Python as UnicodeDecodeError."""
        if hasattr(self, "conn"):
            self.conn.close()
        reason = "unreadable schema text" if isinstance(exc, UnicodeDecodeError) else exc
        return CatalogError(
            f"catalog {self.path} is damaged: {reason}; "
            "'photosort doctor --restore' puts back the newest backup"
        )

    def _enable_wal(self, timeout_s: float) -> None:
        """Switch to WAL, retrying: SQLite answers "locked" at once (no busy wait) when two
        processes create the same new catalog together."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    # -- transactions -------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction; rolled back as a whole on any error."""
        if self.read_only:
            raise CatalogError(f"the catalog {self.path} is open for reading only")
        with self._lock:
            if self._backup_due:
                self._backup_due = False
                self._scheduled_backup()
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise CatalogError(_explain(exc, self.path)) from exc
            self._writer = threading.get_ident()
            try:
                yield self.conn
            except sqlite3.OperationalError as exc:
                # Disk full, read-only, I/O error inside the body: one line for the user.
                self._rollback()
                raise CatalogError(_explain(exc, self.path)) from exc
            except BaseException:
                self._rollback()
                raise
            else:
                try:
                    self.conn.execute("COMMIT")
                except sqlite3.OperationalError as exc:
                    self._rollback()
                    raise CatalogError(_explain(exc, self.path)) from exc
            finally:
                self._writer = None

    def _scheduled_backup(self) -> None:
        """The first write of a session backs a non-empty catalog up, at most once per
        ``backup_interval_h`` (meta, default 24), keeping the newest ``backup_keep``."""
        if self.backup_dir is None:
            return
        try:
            if not self.conn.execute("SELECT EXISTS (SELECT 1 FROM photos)").fetchone()[0]:
                return
            keep = int(self.get_meta("backup_keep") or backup.DEFAULT_KEEP)
            hours = float(self.get_meta("backup_interval_h") or backup.DEFAULT_INTERVAL_S / 3600)
            if backup.is_large(self.path):  # minutes of copying: never in the user's way
                backup.scheduled_backup_in_background(self.path, self.backup_dir, keep, hours)
            else:
                backup.scheduled_backup(self.conn, self.backup_dir, keep, hours * 3600)
        except (backup.BackupError, sqlite3.Error, ValueError) as exc:
            # A missed backup must not stop the user's work; the next session tries again.
            log.warning("scheduled catalog backup failed: %s", exc)

    def _rollback(self) -> None:
        """Roll back if SQLite has not already done so (it does itself on SQLITE_FULL)."""
        if self.conn.in_transaction:
            # A failing ROLLBACK is not news: the original error is the one worth reporting.
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    def _borrow_reader(self) -> sqlite3.Connection:
        """An idle read-only connection, or a new one when every one is busy.

        With WAL, readers on their own connections never wait for a writer: the GUI
        thread keeps reading while a scan writes, instead of queueing on one lock. The
        writer's lock is never taken here, so a first read never waits for a long write.
        """
        with self._readers_lock:
            if self._closed:
                raise CatalogError(f"The catalog {self.path} is closed.")
            if self._idle_readers:
                return self._idle_readers.pop()
            self._readers_made += 1
        try:
            conn = self._connect(self.read_only)
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.OperationalError as exc:
            raise CatalogError(_explain(exc, self.path)) from exc
        return conn

    def _return_reader(self, conn: sqlite3.Connection) -> None:
        with self._readers_lock:
            if not self._closed:
                self._idle_readers.append(conn)
                return
        conn.close()  # the catalog closed during this query: its last user closes it

    def idle_reader_count(self) -> int:
        """Read connections open and waiting for the next query (never more than the
        most queries that ever ran at once)."""
        with self._readers_lock:
            return len(self._idle_readers)

    def query(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return self._query(sql, params, sqlite3.Row)

    def _query(self, sql: str, params: Params, factory: Any) -> list[Any]:
        """Rows made by ``factory`` (None: plain tuples, for the few queries that read a
        whole root and index by position: a ``sqlite3.Row`` per row costs them a third)."""
        if self._writer == threading.get_ident():
            with self._lock:  # inside its own write transaction: see its own writes
                return _fetch_all(self.conn.execute(sql, params), factory)
        conn = self._borrow_reader()
        try:
            return _fetch_all(conn.execute(sql, params), factory)
        except sqlite3.OperationalError as exc:
            raise CatalogError(_explain(exc, self.path)) from exc
        finally:
            self._return_reader(conn)

    def column(self, sql: str, params: Params = ()) -> list[Any]:
        """The first column of every row: no ``sqlite3.Row`` per row, which made reading a
        million ids take 4.9 s instead of 1.0 s."""
        if self._writer == threading.get_ident():
            with self._lock:
                return _fetch_column(self.conn.execute(sql, params))
        conn = self._borrow_reader()
        try:
            return _fetch_column(conn.execute(sql, params))
        except sqlite3.OperationalError as exc:
            raise CatalogError(_explain(exc, self.path)) from exc
        finally:
            self._return_reader(conn)

    def backup_now(self, reason: str = "manual") -> Path:
        """A copy in ``backup_dir`` now (SQLite's online backup; writers wait), keeping the
        newest ``backup_keep`` (meta)."""
        if self.backup_dir is None:
            raise CatalogError(f"the catalog {self.path} has no backup folder")
        keep = int(self.get_meta("backup_keep") or backup.DEFAULT_KEEP)
        with self._lock:
            return backup.backup_database(self.conn, self.backup_dir, reason, keep)

    def scalar(self, sql: str, params: Params = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    @property
    def db(self) -> Any:
        """A ``sqlite_utils.Database`` over the writing connection, made on first use:
        importing sqlite_utils imports pandas where it is installed (2.4 s of a cold search)."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def close(self) -> None:
        with self._lock:
            with self._readers_lock:
                self._closed = True
                idle, self._idle_readers = self._idle_readers, []
            for conn in idle:  # busy ones are closed by their threads when the query ends
                conn.close()
            self.conn.close()

    # -- migrations ---------------------------------------------------------------
    def _migrate(self) -> None:
        with self._lock:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
            )
            done = {r[0] for r in self.conn.execute("SELECT name FROM migrations")}
            # Applied in name order, whatever order the feature modules were imported in.
            todo = sorted((m for m in MIGRATIONS if m.name not in done), key=lambda m: m.name)
            if not todo:
                return
            if done and self.backup_dir is not None:
                backup.backup_database(self.conn, self.backup_dir, reason=f"before-{todo[0].name}")
            for migration in todo:
                with self.transaction() as conn:
                    if conn.execute(
                        "SELECT 1 FROM migrations WHERE name = ?", (migration.name,)
                    ).fetchone():
                        continue  # another process opening the library applied it first
                    migration.apply(conn)
                    conn.execute(
                        "INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                        (migration.name, now_iso()),
                    )
            with self.transaction() as conn:  # the newest photosort that migrated it
                row = conn.execute(
                    "SELECT value FROM meta WHERE key = 'photosort_version'"
                ).fetchone()
                if row is None or _version_key(photosort.__version__) > _version_key(row[0]):
                    self.set_meta("photosort_version", photosort.__version__, conn)

    def applied_migrations(self) -> list[str]:
        return [r[0] for r in self.query("SELECT name FROM migrations ORDER BY rowid")]

    # -- meta ---------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        value = self.scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return default if value is None else value

    def set_meta(self, key: str, value: str, conn: sqlite3.Connection | None = None) -> None:
        sql = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?"
        if conn is not None:
            conn.execute(sql, (key, value, value))
        else:
            with self.transaction() as c:
                c.execute(sql, (key, value, value))

    def vectors_version(self) -> int:
        """A counter bumped by every change to the stored vectors; the index cache records it."""
        return int(self.get_meta("vectors_version", "0") or 0)

    def bump_vectors_version(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('vectors_version', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    # -- roots --------------------------------------------------------------------
    def add_root(self, path: str) -> int:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO roots (path, added_at) VALUES (?, ?)", (path, now_iso())
            )
            return conn.execute("SELECT id FROM roots WHERE path = ?", (path,)).fetchone()[0]

    def roots(self) -> list[sqlite3.Row]:
        return self.query(
            "SELECT r.id, r.path, r.added_at, COUNT(p.id) AS photos FROM roots r "
            "LEFT JOIN photos p ON p.root_id = r.id GROUP BY r.id ORDER BY r.path"
        )

    def root_id(self, path: str) -> int | None:
        return self.scalar("SELECT id FROM roots WHERE path = ?", (path,))

    def remove_root(
        self,
        root_id: int,
        before_delete: Callable[[sqlite3.Connection, list[int]], object] | None = None,
    ) -> list[int]:
        """Forget a root and its photos; returns the removed photo ids (for the index).

        ``before_delete(conn, ids)`` runs in the same transaction, before the rows go."""
        with self.transaction() as conn:
            ids = [
                r[0] for r in conn.execute("SELECT id FROM photos WHERE root_id = ?", (root_id,))
            ]
            if before_delete is not None:
                before_delete(conn, ids)
            conn.execute("DELETE FROM roots WHERE id = ?", (root_id,))
            self.bump_vectors_version(conn)
        return ids

    # -- photos -------------------------------------------------------------------
    def photos_in_root(self, root_id: int) -> dict[str, PhotoRow]:
        rows = self._query(
            "SELECT id, root_id, path, folder, size, mtime_ns, content_hash, status, error "
            "FROM photos WHERE root_id = ?",
            (root_id,),
            None,
        )
        # Positional, in the order selected: a rescan reads every row of a root, and the
        # dict per row of ``PhotoRow(**dict(r))`` was a third of that (10k rows: 40 ms).
        return {r[2]: PhotoRow(*r) for r in rows}

    def photo_stamps_in_root(self, root_id: int) -> dict[str, tuple[str, int, int, int]]:
        """path -> (path, id, size, mtime_ns) of every photo of a root: all a rescan
        compares for a file whose size and mtime match (most); the few that differ or
        vanished are read whole (``PhotoStore.rows_by_id``). Four columns and no
        ``PhotoRow`` per photo read a 10k-photo root in half the time (issue 13)."""
        rows = self._query(
            "SELECT path, id, size, mtime_ns FROM photos WHERE root_id = ?", (root_id,), None
        )
        return {r[0]: r for r in rows}

    def photo_by_path(self, path: str) -> PhotoRow | None:
        rows = self.query(
            "SELECT id, root_id, path, folder, size, mtime_ns, content_hash, status, error, "
            "taken_at FROM photos WHERE path = ?",
            (path,),
        )
        return PhotoRow(**dict(rows[0])) if rows else None

    def count_needing_embedding(self, model: str) -> int:
        return int(
            self.scalar(
                "SELECT COUNT(*) FROM photos p LEFT JOIN embeddings e ON e.photo_id = p.id "
                "WHERE p.status = 'pending' OR (p.status = 'ok' AND "
                "(e.model IS NULL OR e.model != ?))",
                (model,),
            )
        )

    def photos_needing_embedding(
        self,
        model: str,
        root_ids: Iterable[int] | None = None,
        retry_failed: bool = False,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[sqlite3.Row]:
        """Pending photos, embedded ones whose vector came from another model, and failed
        ones whose failure came from outside the file (an I/O error: a drive unplugged,
        a network share gone), or all failed ones with ``retry_failed``; by path, from
        the first path past ``after``, at most ``limit`` of them (a scan reads them a
        page at a time: 100k of them held at once cost 20 MB)."""
        sql, params = _needing_embedding(
            "p.id, p.path, p.size, p.mtime_ns", model, root_ids, retry_failed
        )
        return self.query(page_by_path(sql, params, after, limit), params)

    def photos_needing_embedding_count(
        self, model: str, root_ids: Iterable[int] | None = None, retry_failed: bool = False
    ) -> int:
        """How many photos ``photos_needing_embedding`` returns in all."""
        sql, params = _needing_embedding("COUNT(*)", model, root_ids, retry_failed)
        return int(self.query(sql, params)[0][0])

    # -- vectors ------------------------------------------------------------------
    def vectors(self, model: str, batch: int = 4096) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Stored vectors of one model, in batches of (ids, float32 matrix) (see
        core/vector_codec.py for the stored format).

        Batches stay small because joining a big batch is one C call holding the GIL
        (200 ms at 50k rows), which froze the GUI thread while a scan re-tagged.
        """
        last = -1
        while True:
            rows = self.query(
                "SELECT photo_id, vector FROM embeddings WHERE model = ? AND photo_id > ? "
                "ORDER BY photo_id LIMIT ?",
                (model, last, batch),
            )
            if not rows:
                return
            last = int(rows[-1][0])
            ids, matrix = vector_codec.decode_rows([r[0] for r in rows], [r[1] for r in rows])
            if len(ids):
                yield ids, matrix

    def sample_vectors(self, model: str, n: int) -> np.ndarray:
        """Up to ``n`` vectors picked at random (to train an IVF index on)."""
        rows = self.query(
            "SELECT vector FROM embeddings WHERE model = ? AND photo_id IN "
            "(SELECT photo_id FROM embeddings WHERE model = ? ORDER BY random() LIMIT ?)",
            (model, model, n),
        )
        if not rows:
            return np.empty((0, 0), np.float32)
        return vector_codec.decode_many([r[0] for r in rows])

    def vector_of(self, photo_id: int, model: str) -> np.ndarray | None:
        blob = self.scalar(
            "SELECT vector FROM embeddings WHERE photo_id = ? AND model = ?", (photo_id, model)
        )
        return None if blob is None else vector_codec.decode(blob)

    def count_vectors(self, model: str) -> int:
        return int(self.scalar("SELECT COUNT(*) FROM embeddings WHERE model = ?", (model,)))


def verify_backup(path: Path) -> None:
    """Raise BackupError unless ``path`` is an intact catalog (integrity check passes).

    Here, not in ``backup``: a backup is a catalog file, and its SQL lives with the
    catalog's (``backup`` only copies, names and prunes files)."""
    try:
        conn = _open_file_read_only(path)
        try:
            result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            conn.execute("SELECT COUNT(*) FROM migrations").fetchone()
        finally:
            conn.close()
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        raise backup.BackupError(f"backup {path.name} is not a usable catalog: {exc}") from exc
    if result != ["ok"]:
        raise backup.BackupError(f"backup {path.name} is damaged: {result[0]}")


def newest_backup_with_photos(folder: Path) -> tuple[str, int] | None:
    """(name, photo count) of the newest intact backup that holds photos, or None."""
    for path in backup.list_backups(folder):
        try:
            verify_backup(path)
            conn = _open_file_read_only(path)
            try:
                photos = conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
            finally:
                conn.close()
        except (backup.BackupError, sqlite3.Error, ValueError):
            continue
        if photos:
            return path.name, int(photos)
    return None


def _open_file_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to a catalog file that no ``Catalog`` has open (a backup)."""
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)


def _version_key(version: str) -> tuple[int, ...]:
    """``"1.10.2rc1"`` -> (1, 10, 2): enough to tell a newer release from an older one."""
    parts = []
    for part in version.split("+")[0].split(".")[:3]:
        digits = "".join(itertools.takewhile(str.isdigit, part))
        parts.append(int(digits or 0))
    return tuple(parts)


def _fetch_all(cursor: sqlite3.Cursor, factory: Any = sqlite3.Row, chunk: int = 256) -> list[Any]:
    """Fetch in chunks: one long ``fetchall`` holds the GIL and freezes the GUI thread."""
    cursor.row_factory = factory
    rows: list[Any] = []
    while batch := cursor.fetchmany(chunk):
        rows.extend(batch)
    return rows


_first = operator.itemgetter(0)


def _fetch_column(cursor: sqlite3.Cursor, chunk: int = 4096) -> list[Any]:
    """``_fetch_all``'s first column, as plain values, in chunks for the same reason."""
    values: list[Any] = []
    while batch := cursor.fetchmany(chunk):
        values.extend(map(_first, batch))
    return values


def _explain(exc: sqlite3.OperationalError, path: Path) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"library is busy: another photosort process is writing to {path.parent}"
    if "readonly" in text or "read-only" in text:
        return f"library folder is read-only: {path.parent}"
    if "unable to open" in text:
        if path.parent.is_dir() and not os.access(path.parent, os.W_OK):
            return f"library folder is read-only: {path.parent} (SQLite needs to write beside it)"
        return f"cannot open catalog {path}: {text}"
    if "disk" in text and "full" in text:
        return f"disk full while writing the catalog {path}"
    return f"catalog error in {path}: {text}"


def page_by_path(sql: str, params: list[Any], after: str | None, limit: int | None) -> str:
    """``sql`` (a query of photos ``p`` with a WHERE clause) ordered by path, from the first
    path past ``after``, at most ``limit`` rows; appends to ``params``. Keyset pages, so a
    job over every photo holds one page at a time, whatever the library's size."""
    if after is not None:
        sql += " AND p.path > ?"
        params.append(after)
    sql += " ORDER BY p.path"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql


def _needing_embedding(
    columns: str, model: str, root_ids: Iterable[int] | None, retry_failed: bool
) -> tuple[str, list]:
    """The query behind ``photos_needing_embedding`` and its count."""
    sql = (
        f"SELECT {columns} FROM photos p "
        "LEFT JOIN embeddings e ON e.photo_id = p.id "
        "WHERE (p.status = 'pending' OR (p.status = 'ok' AND "
        "(e.model IS NULL OR e.model != ?)) OR (p.status = 'failed' AND "
        "(p.failure_kind = 'io' OR ?)))"
    )
    params: list = [model, int(retry_failed)]
    if root_ids is not None:
        ids = list(root_ids)
        sql += f" AND p.root_id IN ({','.join('?' * len(ids))})"
        params += ids
    return sql, params
