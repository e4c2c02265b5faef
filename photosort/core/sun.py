"""Time of day from the photo's own clock and place: the sun as evidence beside the pixels.

Dawn and dusk look alike, and a model that sees only pixels guesses between them. Most
photos say when and where they were taken, and from that the sun's position follows.

What is read (once per photo, at scan time; stored in ``photo_sun``)
----------------------------------------------------------------------
The capture *instant* comes from, in this order: EXIF ``DateTimeOriginal`` with
``OffsetTimeOriginal``; the GPS date and time stamps (UTC); ``DateTimeOriginal`` read in
the time zone found offline from the GPS position (``timezonefinder``). With the GPS
position, ``astral`` gives the sun's elevation and azimuth; the sun is *rising* (before
solar noon) when it stands in the eastern half of the sky. A clock with no position
still tells morning from evening. Metadata that cannot be right (offsets beyond
-12:00..+14:00, GPS at exactly 0,0, a missing N/S or E/W reference, dates in 1900 or
the future, a camera clock that disagrees with the GPS clock) is ignored or trusted
less, and the reason is kept.

The fusion with the image is in ``sun_fusion``; storage and the scan step in
``sun_store``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any

#: Trust in the sun's elevation and direction, by where the instant came from.
TRUST_EXIF_OFFSET = 0.9  # DateTimeOriginal + OffsetTimeOriginal (+ GPS position)
TRUST_GPS_TIME = 0.9  # GPS date/time stamps (UTC, from the satellites)
TRUST_ZONE = 0.85  # local time read in the time zone of the GPS position
TRUST_DOUBTFUL = 0.6  # clocks disagree, a time skipped or repeated by a DST change, at sea
TRUST_CLOCK_ONLY = 0.7  # no position: the local clock says morning or evening only
#: Soft edges of an elevation band, in degrees (about 10 minutes of the sun near the horizon).
SOFTNESS = 1.5
#: The camera clock and the GPS clock may differ this much before one of them is doubted.
CLOCK_TOLERANCE = dt.timedelta(minutes=15)

_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATE_TIME_ORIGINAL, _OFFSET_TIME_ORIGINAL = 0x9003, 0x9011
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 0x0001, 0x0002, 0x0003, 0x0004
_GPS_TIME, _GPS_STATUS, _GPS_DATE = 0x0007, 0x0009, 0x001D
_DATE_RE = re.compile(
    r"^(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})[ T]+(\d{1,2}):(\d{1,2}):?(\d{1,2})?"
)
_OFFSET_RE = re.compile(r"^([+-])(\d{1,2}):?(\d{2})$")


# -- what the metadata says ----------------------------------------------------------------
@dataclass(frozen=True)
class Capture:
    """When and where a photo was taken, as far as its metadata can be believed."""

    instant: dt.datetime | None = None  # aware, UTC
    clock: dt.datetime | None = None  # the camera's local wall-clock time (naive)
    offset_min: int | None = None  # local offset from UTC in minutes, when known
    lat: float | None = None
    lon: float | None = None
    time_source: str | None = None  # "EXIF time", "GPS time", "EXIF time in Europe/Paris"
    trust: float = 0.0
    notes: tuple[str, ...] = ()  # metadata ignored or doubted, with the reason


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    return " ".join(str(value or "").split("\x00", 1)[0].split())


def _parse_clock(value: Any, name: str, notes: list[str], now: dt.datetime) -> dt.datetime | None:
    text = _text(value)
    if not text or set(text) <= set("0: -"):
        return None  # blank or zeroed: the camera wrote nothing
    match = _DATE_RE.match(text)
    if not match:
        notes.append(f"{name} {text!r} is not a date")
        return None
    try:
        y, mo, d, h, mi = (int(g) for g in match.groups()[:5])
        when = dt.datetime(y, mo, d, h, mi, min(int(match.group(6) or 0), 59))
    except ValueError:
        notes.append(f"{name} {text!r} is not a date")
        return None
    if y <= 1900:
        notes.append(f"{name} {when:%Y-%m-%d} is a camera clock that was never set")
        return None
    if when > now.replace(tzinfo=None) + dt.timedelta(days=1):
        notes.append(f"{name} {when:%Y-%m-%d} is in the future")
        return None
    return when


def _parse_offset(value: Any, notes: list[str]) -> int | None:
    text = _text(value)
    if not text or not any(ch.isdigit() for ch in text):
        return None
    match = _OFFSET_RE.match(text)
    if not match:
        notes.append(f"OffsetTimeOriginal {text!r} is not an offset")
        return None
    sign = -1 if match.group(1) == "-" else 1
    minutes = sign * (int(match.group(2)) * 60 + int(match.group(3)))
    if not -12 * 60 <= minutes <= 14 * 60 or int(match.group(3)) >= 60:
        notes.append(f"OffsetTimeOriginal {text} is out of range (-12:00..+14:00)")
        return None
    return minutes


def _number(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number


def _coordinate(
    gps: dict, key: int, ref_key: int, refs: str, limit: float, notes: list[str]
) -> float | None:
    axis = "latitude" if refs == "NS" else "longitude"
    value = gps.get(key)
    if value is None:
        return None
    ref = _text(gps.get(ref_key)).upper()[:1]
    if not ref or ref not in refs:
        notes.append(f"GPS {axis} has no {refs[0]}/{refs[1]} reference")
        return None
    try:
        parts = [_number(v) for v in (value if isinstance(value, tuple | list) else (value,))]
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        notes.append(f"GPS {axis} is not a number")
        return None
    degrees = sum(p / 60**i for i, p in enumerate(parts[:3]))
    if not parts or any(p < 0 for p in parts) or degrees > limit:
        notes.append(f"GPS {axis} {degrees:g} is out of range")
        return None
    return -degrees if ref == refs[1] else degrees


def _position(gps: dict, notes: list[str]) -> tuple[float | None, float | None]:
    if _GPS_LAT not in gps and _GPS_LON not in gps:
        return None, None
    if _text(gps.get(_GPS_STATUS)).upper().startswith("V"):
        notes.append("GPS fix is marked void")
        return None, None
    lat = _coordinate(gps, _GPS_LAT, _GPS_LAT_REF, "NS", 90.0, notes)
    lon = _coordinate(gps, _GPS_LON, _GPS_LON_REF, "EW", 180.0, notes)
    if lat is None or lon is None:
        return None, None
    if lat == 0.0 and lon == 0.0:
        notes.append("GPS position is exactly 0°, 0° (a missing fix written as zeros)")
        return None, None
    return lat, lon


def _gps_instant(gps: dict, notes: list[str], now: dt.datetime) -> dt.datetime | None:
    date, stamp = gps.get(_GPS_DATE), gps.get(_GPS_TIME)
    if date is None or stamp is None:
        return None
    try:
        h, m, s = (_number(v) for v in stamp)
        if not (0 <= h < 24 and 0 <= m < 60 and 0 <= s < 61):
            raise ValueError("out of range")
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        notes.append("GPS time stamp is not a time")
        return None
    day = _parse_clock(f"{_text(date)} 00:00:00", "GPS date", notes, now)
    if day is None:
        return None
    seconds = h * 3600 + m * 60 + min(s, 59.999)
    return (day + dt.timedelta(seconds=seconds)).replace(tzinfo=dt.UTC)


_finder_lock = threading.Lock()
_finder: Any = None


def zone_at(lat: float, lon: float) -> str | None:
    """The IANA time zone at a position, offline (``timezonefinder``; loaded once)."""
    global _finder
    with _finder_lock:
        if _finder is None:
            from timezonefinder import TimezoneFinder

            _finder = TimezoneFinder()
        return _finder.timezone_at(lng=lon, lat=lat)


def _in_zone(
    clock: dt.datetime, lat: float, lon: float, notes: list[str]
) -> tuple[dt.datetime, int, str | None, float]:
    """(instant, offset minutes, zone name, trust) for a wall-clock time at a position."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = zone_at(lat, lon)
    try:
        zone = ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    if zone is None:  # no zone found: the nautical zone of the longitude
        hours = round(lon / 15.0)
        instant = (clock - dt.timedelta(hours=hours)).replace(tzinfo=dt.UTC)
        return instant, hours * 60, f"UTC{hours:+d} (at sea)", TRUST_DOUBTFUL
    trust = TRUST_ZONE
    early, late = clock.replace(tzinfo=zone, fold=0), clock.replace(tzinfo=zone, fold=1)
    if early.utcoffset() != late.utcoffset():
        back = early.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
        kind = "skipped" if back != clock else "repeated"
        notes.append(f"{clock:%H:%M} local time was {kind} by a DST change in {name}")
        trust = TRUST_DOUBTFUL
    if (name or "").startswith("Etc/"):
        trust = TRUST_DOUBTFUL  # at sea
    offset = early.utcoffset() or dt.timedelta(0)
    return early.astimezone(dt.UTC), int(offset.total_seconds() // 60), name, trust


def read_capture(exif: Any, now: dt.datetime | None = None) -> Capture:
    """What a PIL ``Exif`` says about when and where; never raises on bad metadata."""
    now = now or dt.datetime.now(dt.UTC)
    notes: list[str] = []
    if exif is None:
        return Capture()

    def ifd(tag: int) -> dict:
        try:
            return dict(exif.get_ifd(tag) or {})
        except Exception:  # noqa: BLE001 - a corrupt IFD is only missing metadata
            return {}

    main, gps = ifd(_EXIF_IFD), ifd(_GPS_IFD)
    raw_clock = main.get(_DATE_TIME_ORIGINAL) or exif.get(_DATE_TIME_ORIGINAL)
    clock = _parse_clock(raw_clock, "DateTimeOriginal", notes, now)
    offset = _parse_offset(main.get(_OFFSET_TIME_ORIGINAL), notes) if clock else None
    lat, lon = _position(gps, notes)
    gps_time = _gps_instant(gps, notes, now) if lat is not None else None
    instant, source, trust = None, None, 0.0
    if clock is not None and offset is not None:
        instant = (clock - dt.timedelta(minutes=offset)).replace(tzinfo=dt.UTC)
        source, trust = "EXIF time", TRUST_EXIF_OFFSET
        if gps_time is not None and abs(gps_time - instant) > CLOCK_TOLERANCE:
            notes.append(
                f"camera clock differs from the GPS clock by {_duration(gps_time - instant)};"
                " GPS time used"
            )
            instant, source, trust = gps_time, "GPS time", TRUST_DOUBTFUL
    elif gps_time is not None:
        instant, source, trust = gps_time, "GPS time", TRUST_GPS_TIME
        if clock is not None:
            offset = round((clock - gps_time.replace(tzinfo=None)).total_seconds() / 900) * 15
            if not -12 * 60 <= offset <= 14 * 60:
                notes.append("camera clock is more than a day off the GPS clock")
                offset = None
    elif clock is not None and lat is not None and lon is not None:
        instant, offset, zone, trust = _in_zone(clock, lat, lon, notes)
        source = f"EXIF time in {zone}"
    elif clock is not None:
        source, trust = "EXIF time only, no GPS position", TRUST_CLOCK_ONLY
    if clock is None and instant is not None and offset is not None:
        clock = (instant + dt.timedelta(minutes=offset)).replace(tzinfo=None)
    return Capture(instant, clock, offset, lat, lon, source, trust, tuple(notes))


def capture_from_file(path: str | os.PathLike) -> Capture:
    """``read_capture`` of a file's EXIF; an unreadable file is a capture with a note."""
    from photosort.core.imaging import DecodeError, read_exif

    try:
        return read_capture(read_exif(path))
    except DecodeError as exc:
        return Capture(notes=(f"EXIF not readable: {exc}",))


# -- where the sun was ---------------------------------------------------------------------
@dataclass(frozen=True)
class SunFix:
    """The sun's evidence for one photo: what is stored and fused."""

    elevation: float | None = None  # degrees above the horizon (refraction included)
    azimuth: float | None = None  # degrees from north, clockwise
    rising: bool | None = None  # before solar noon (the sun in the eastern half of the sky)
    trust_elevation: float = 0.0
    trust_direction: float = 0.0
    source: str | None = None  # e.g. "EXIF time and GPS"
    notes: tuple[str, ...] = ()
    capture: Capture = field(default_factory=Capture)


_SOURCES = {"EXIF time": "EXIF time and GPS", "GPS time": "GPS time and position"}


def sun_fix(capture: Capture) -> SunFix:
    """The sun's elevation, azimuth and direction at the capture's instant and place."""
    notes = capture.notes
    if capture.instant is not None and capture.lat is not None and capture.lon is not None:
        from astral import Observer
        from astral import sun as astral_sun

        observer = Observer(capture.lat, capture.lon)
        try:
            elevation = float(astral_sun.elevation(observer, capture.instant))
            azimuth = float(astral_sun.azimuth(observer, capture.instant))
        except (ValueError, ArithmeticError) as exc:
            return SunFix(notes=(*notes, f"sun position not computable: {exc}"), capture=capture)
        rising = math.sin(math.radians(azimuth)) > 0
        source = _SOURCES.get(capture.time_source or "")
        if source is None:  # a local time read in the zone of the position
            zone = (capture.time_source or "").removeprefix("EXIF time in ")
            source = f"EXIF time and GPS, time zone {zone} from the position"
        trust = capture.trust
        return SunFix(elevation, azimuth, rising, trust, trust, source, notes, capture)
    if capture.clock is not None:
        hour = capture.clock.hour + capture.clock.minute / 60
        half = True if 3 <= hour < 11 else False if hour >= 14 else None
        if half is not None:
            source = capture.time_source or "EXIF time"
            if capture.lat is None and capture.time_source != "EXIF time only, no GPS position":
                source += ", no GPS position"
            return SunFix(None, None, half, 0.0, TRUST_CLOCK_ONLY, source, notes, capture)
    return SunFix(notes=notes, capture=capture)


# -- saying it -----------------------------------------------------------------------------
def _duration(delta: dt.timedelta) -> str:
    minutes = int(round(abs(delta.total_seconds()) / 60))
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def _events(lat: float, lon: float, instant: dt.datetime) -> list[tuple[dt.datetime, str]]:
    """Sunrises and sunsets from the day before to the day after (none in polar day/night)."""
    from astral import Observer
    from astral import sun as astral_sun

    observer = Observer(lat, lon)
    out = []
    for shift in (-1, 0, 1):
        day = (instant + dt.timedelta(days=shift)).date()
        for name, fn in (("sunrise", astral_sun.sunrise), ("sunset", astral_sun.sunset)):
            try:
                out.append((fn(observer, day), name))
            except ValueError:  # the sun does not rise or set that day
                continue
    return sorted(out)


def describe(fix: SunFix | None) -> str:
    """One line for people, e.g. "Sun 3° above the horizon, 14 minutes after sunrise
    (EXIF time and GPS)"; says why when there is no sun to tell."""
    if fix is None:
        return "Sun: not read yet (scan again)"
    if fix.elevation is None:
        if fix.rising is not None:
            half = "morning" if fix.rising else "afternoon or evening"
            text = f"Sun: {half} by the camera clock ({fix.source}); no position for the sun"
        else:
            text = "Sun: unknown, the photo has no usable time and place"
        return text + (f" — ignored: {'; '.join(fix.notes)}" if fix.notes else "")
    elevation, cap = fix.elevation, fix.capture
    degrees = f"{abs(elevation):.0f}°"
    text = f"Sun {degrees} {'above' if elevation >= 0 else 'below'} the horizon"
    if cap.instant is not None and cap.lat is not None and cap.lon is not None:
        text += _relative_to_events(cap.lat, cap.lon, cap.instant, elevation, fix.rising)
    text += f" ({fix.source})"
    if fix.notes:
        text += f" — {'; '.join(fix.notes)}"
    return text


def _relative_to_events(
    lat: float, lon: float, instant: dt.datetime, elevation: float, rising: bool | None
) -> str:
    events = _events(lat, lon, instant)
    up = elevation >= -0.833  # astral's sunrise: the sun's upper edge, with refraction
    if up:
        wanted, before = ("sunrise", False) if rising else ("sunset", True)
    else:
        wanted, before = ("sunrise", True) if rising else ("sunset", False)
    candidates = [
        t
        for t, name in events
        if name == wanted
        and (t >= instant if before else t <= instant)
        and abs(t - instant) < dt.timedelta(hours=20)
    ]
    if not candidates:
        return ", midnight sun" if up else ", polar night"
    when = min(candidates, key=lambda t: abs(t - instant))
    return f", {_duration(when - instant)} {'before' if before else 'after'} {wanted}"
