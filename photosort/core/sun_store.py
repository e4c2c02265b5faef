"""The sun per photo in the catalog (``photo_sun``, migration 0006), read at scan time.

Each row remembers the file version (size, mtime) it was read from, so a rescan reads
only new and changed photos, and photos scanned before this feature are read once, from
their EXIF headers, by the next scan or ``autotag``. Re-tagging loads the rows as arrays.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from photosort.core.catalog import Catalog, run_script
from photosort.core.lazy_import import np
from photosort.core.progress import ProgressCallback, RateMeter
from photosort.core.store import CategoryStore
from photosort.core.store import sun as sun_rows
from photosort.core.store.sun import SunStore
from photosort.core.sun import Capture, SunFix, capture_from_file, sun_fix

SUN_VERSION = sun_rows.SUN_VERSION
#: The catalog's vectors_version when every photo's sun was last known current: photos
#: change only with it, so an unchanged library skips even the check.
SUN_CHECKED = "sun_checked_at_vectors_version"


# -- storage -------------------------------------------------------------------------------
def _sun_schema(conn: sqlite3.Connection) -> None:
    run_script(conn, sun_rows.SCHEMA_0006)
    # The shipped defaults' sun keys go onto the same-named groups whose labels match, so an
    # existing library's Time of day uses the sun too; groups the user changed are left alone.
    from photosort.core import categories as cats

    stored = {c.name: c for c in cats.load(conn)}
    for default in cats.default_categories():
        mine = stored.get(default.name)
        if not default.sun or mine is None or mine.kind != default.kind:
            continue
        if sorted(x.name for x in mine.labels) != sorted(x.name for x in default.labels):
            continue
        cat_id = CategoryStore(conn).id_of(mine.name)
        assert cat_id is not None  # just loaded
        cats.store_sun_keys(conn, cat_id, default)


@dataclass
class SunUpdate:
    """What a scan's sun step did: photos read, how many have the sun, metadata ignored."""

    read: int = 0
    with_sun: int = 0
    clock_only: int = 0
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    cancelled: bool = False
    #: The photos whose sun was read (their auto tags may change with it), 8 bytes each.
    photo_ids: array[int] = field(default_factory=lambda: array("q"))

    def as_dict(self) -> dict:
        return {
            "read": self.read,
            "with_sun": self.with_sun,
            "clock_only": self.clock_only,
            "ignored": [{"path": p, "reason": r} for p, r in self.ignored],
        }

    def line(self) -> str:
        return (
            f"sun: {self.read} photos read, {self.with_sun} with time and place, "
            f"{self.clock_only} with a clock only, "
            f"{len({path for path, _ in self.ignored})} with metadata ignored"
        )


def update_catalog(
    catalog: Catalog,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    read: Callable[[str], Capture] = capture_from_file,
    batch: int = 500,
) -> SunUpdate:
    """Read the sun for every photo without a current ``photo_sun`` row (new, changed, or
    scanned before this feature). Reads only EXIF headers; unchanged photos cost nothing."""
    version = str(catalog.vectors_version())
    if catalog.get_meta(SUN_CHECKED) == version:
        return SunUpdate()
    store = SunStore(catalog)
    total = store.count_stale()
    summary = SunUpdate()
    if not total:
        catalog.set_meta(SUN_CHECKED, version)
        return summary
    meter = RateMeter("reading the sun", total, on_progress)
    meter.report(0)
    after = 0
    # A batch at a time from the catalog: every stale photo at once was 20 MB at 100k.
    while rows := store.stale(after, batch):
        if should_cancel and should_cancel():
            summary.cancelled = True
            break
        values = []
        for row in rows:
            fix = sun_fix(read(row["path"]))
            values.append((row["id"], row["size"], row["mtime_ns"], *_row_of(fix)))
            summary.read += 1
            summary.photo_ids.append(row["id"])
            summary.with_sun += fix.elevation is not None
            summary.clock_only += fix.elevation is None and fix.rising is not None
            summary.ignored += [(row["path"], note) for note in fix.notes]
        store.put(values)
        meter.report(summary.read, rows[-1]["path"])
        after = rows[-1]["id"]
    if not summary.cancelled:
        catalog.set_meta(SUN_CHECKED, version)
    return summary


def _row_of(fix: SunFix) -> tuple:
    cap = fix.capture
    return (
        cap.instant.isoformat() if cap.instant else None,
        cap.offset_min,
        cap.lat,
        cap.lon,
        fix.elevation,
        fix.azimuth,
        None if fix.rising is None else int(fix.rising),
        fix.trust_elevation,
        fix.trust_direction,
        fix.source,
        "; ".join(fix.notes) or None,
    )


def stored_fix(catalog: Catalog, photo_id: int) -> SunFix | None:
    """The stored sun of one photo (None before its first scan with this feature)."""
    r = SunStore(catalog).fix_of(photo_id)
    if r is None:
        return None
    instant = dt.datetime.fromisoformat(r["instant"]) if r["instant"] else None
    notes = tuple((r["notes"] or "").split("; ")) if r["notes"] else ()
    capture = Capture(instant, None, r["offset_min"], r["lat"], r["lon"], notes=notes)
    rising = None if r["rising"] is None else bool(r["rising"])
    return SunFix(
        r["elevation"],
        r["azimuth"],
        rising,
        r["trust_elevation"],
        r["trust_direction"],
        r["source"],
        notes,
        capture,
    )


# -- the evidence as arrays, for re-tagging ------------------------------------------------
@dataclass
class SunEvidence:
    """Every photo's sun as aligned arrays sorted by photo id (NaN: unknown)."""

    photo_ids: np.ndarray
    elevation: np.ndarray
    rising: np.ndarray  # 1.0, 0.0 or NaN
    trust_elevation: np.ndarray
    trust_direction: np.ndarray

    @classmethod
    def empty(cls) -> SunEvidence:
        f = np.empty(0, np.float32)
        return cls(np.empty(0, np.int64), f, f, f, f)

    @classmethod
    def of(cls, ids: Sequence[int], fixes: Sequence[SunFix]) -> SunEvidence:
        """Evidence from computed fixes (tests, the accuracy report)."""
        order = np.argsort(np.asarray(ids, np.int64), kind="stable")

        def col(get: Callable[[SunFix], float | None]) -> np.ndarray:
            values = [get(f) for f in fixes]
            return np.array([np.nan if v is None else v for v in values], np.float32)[order]

        return cls(
            np.asarray(ids, np.int64)[order],
            col(lambda f: f.elevation),
            col(lambda f: f.rising),
            col(lambda f: f.trust_elevation),
            col(lambda f: f.trust_direction),
        )

    def aligned(self, ids: np.ndarray) -> tuple[np.ndarray, ...]:
        """(elevation, rising, trust_elevation, trust_direction) for ``ids``; none where unknown."""
        n = len(ids)
        if not len(self.photo_ids):
            nan = np.full(n, np.nan, np.float32)
            return nan, nan.copy(), np.zeros(n, np.float32), np.zeros(n, np.float32)
        pos = np.clip(np.searchsorted(self.photo_ids, ids), 0, len(self.photo_ids) - 1)
        hit = self.photo_ids[pos] == ids
        out = []
        for arr, missing in (
            (self.elevation, np.nan),
            (self.rising, np.nan),
            (self.trust_elevation, 0.0),
            (self.trust_direction, 0.0),
        ):
            out.append(np.where(hit, arr[pos], np.float32(missing)).astype(np.float32))
        return tuple(out)


def load_evidence(catalog: Catalog) -> SunEvidence:
    rows = SunStore(catalog).evidence()
    if not rows:
        return SunEvidence.empty()
    arr = np.array([tuple(r) for r in rows], dtype=np.float64)
    f = arr[:, 1:].astype(np.float32)
    return SunEvidence(arr[:, 0].astype(np.int64), f[:, 0], f[:, 1], f[:, 2], f[:, 3])


class EvidenceCache:
    """The evidence, reloaded only when the catalog's sun version changes."""

    def __init__(self) -> None:
        self._state: tuple[str | None, SunEvidence] | None = None

    def current(self, catalog: Catalog) -> SunEvidence:
        version = catalog.get_meta(SUN_VERSION)
        if self._state is None or self._state[0] != version:
            self._state = (version, load_evidence(catalog))
        return self._state[1]
