"""The SQL of the sun per photo (``photo_sun``, migration 0006): rows read at scan time,
each remembering the file version it was read from (rules in ``core/sun_store.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from photosort.core.store.sql import Store

#: Bumped by every change to ``photo_sun``, so in-memory evidence knows it is stale.
SUN_VERSION = "sun_version"

#: Migration 0006's tables and columns (the caller then gives the defaults their keys).
SCHEMA_0006 = """
    CREATE TABLE photo_sun (
        photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        instant TEXT,
        offset_min INTEGER,
        lat REAL,
        lon REAL,
        elevation REAL,
        azimuth REAL,
        rising INTEGER,
        trust_elevation REAL NOT NULL DEFAULT 0,
        trust_direction REAL NOT NULL DEFAULT 0,
        source TEXT,
        notes TEXT
    );
    ALTER TABLE categories ADD COLUMN sun INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE labels ADD COLUMN sun_elevation TEXT;
    ALTER TABLE labels ADD COLUMN sun_rising INTEGER
"""

#: The columns of one photo's fix, in ``photo_sun``'s order after (photo_id, size, mtime_ns).
FIX_COLUMNS = (
    "instant, offset_min, lat, lon, elevation, azimuth, rising, trust_elevation, "
    "trust_direction, source, notes"
)


#: Indexed photos whose sun is missing or was read from another version of the file.
_STALE = (
    "FROM photos p LEFT JOIN photo_sun s ON s.photo_id = p.id WHERE p.status = 'ok' AND "
    "(s.photo_id IS NULL OR s.size != p.size OR s.mtime_ns != p.mtime_ns)"
)


class SunStore(Store):
    """``photo_sun`` rows."""

    def stale(self, after: int = 0, limit: int = -1) -> list[Any]:
        """(id, path, size, mtime_ns) of indexed photos whose sun is missing or was read
        from another version of the file, by id, from the first past ``after``, at most
        ``limit`` of them (-1: all)."""
        return self.db.rows(
            f"SELECT p.id, p.path, p.size, p.mtime_ns {_STALE} AND p.id > ? ORDER BY p.id LIMIT ?",
            (after, limit),
        )

    def count_stale(self) -> int:
        """How many photos ``stale`` returns in all."""
        return int(self.db.scalar(f"SELECT COUNT(*) {_STALE}"))

    def put(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """(photo id, size, mtime_ns, then the ``FIX_COLUMNS``) rows, for photos still
        there; bumps the sun version."""
        with self.db.write() as conn:
            conn.executemany(
                f"INSERT OR REPLACE INTO photo_sun (photo_id, size, mtime_ns, {FIX_COLUMNS}) "
                "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? "
                "WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)",
                [(*v, v[0]) for v in rows],
            )
            conn.execute(
                f"INSERT INTO meta (key, value) VALUES ('{SUN_VERSION}', '1') "
                "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
            )

    def fix_of(self, photo_id: int) -> Any | None:
        """The ``FIX_COLUMNS`` row of one photo, or None."""
        return self.db.one(f"SELECT {FIX_COLUMNS} FROM photo_sun WHERE photo_id = ?", (photo_id,))

    def evidence(self) -> list[Any]:
        """(photo id, elevation, rising, trust elevation, trust direction) of the photos
        with any trusted sun, by id; unknown values read as 'NaN'."""
        return self.db.rows(
            "SELECT photo_id, IFNULL(elevation, 'NaN'), IFNULL(rising, 'NaN'), "
            "trust_elevation, trust_direction FROM photo_sun "
            "WHERE trust_elevation > 0 OR trust_direction > 0 ORDER BY photo_id"
        )
