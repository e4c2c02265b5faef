"""The sun from EXIF: what is read, what is ignored and why, and the fusion rule."""

from __future__ import annotations

import datetime as dt
import io
import re

import numpy as np
import piexif
import pytest
from astral import Observer
from astral import sun as astral_sun
from PIL import Image

from photosort.core import sun
from photosort.core.categories import (
    Category,
    CategoryError,
    Label,
    default_categories,
    from_toml,
    to_toml,
)
from photosort.core.imaging import read_exif
from photosort.core.sun_fusion import SunFusion, decided_by, fuse, prior
from photosort.core.sun_store import SunEvidence

PARIS = (48.85, 2.35)
NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


def _dms(v: float):
    v = abs(v)
    d = int(v)
    m = int((v - d) * 60)
    return ((d, 1), (m, 1), (int(round((v - d - m / 60) * 360000)), 100))


def jpeg(
    clock: str | None = None,
    offset: str | None = None,
    position: tuple[float, float] | None = None,
    refs: tuple[bytes, bytes] | None = None,
    gps_time: dt.datetime | None = None,
) -> bytes:
    """A small JPEG carrying exactly the given metadata."""
    exif_ifd: dict = {}
    if clock:
        exif_ifd[piexif.ExifIFD.DateTimeOriginal] = clock.encode()
    if offset:
        exif_ifd[piexif.ExifIFD.OffsetTimeOriginal] = offset.encode()
    gps: dict = {}
    if position is not None:
        lat, lon = position
        ns, ew = refs or (b"N" if lat >= 0 else b"S", b"E" if lon >= 0 else b"W")
        gps = {piexif.GPSIFD.GPSLatitude: _dms(lat), piexif.GPSIFD.GPSLongitude: _dms(lon)}
        if ns:
            gps[piexif.GPSIFD.GPSLatitudeRef] = ns
        if ew:
            gps[piexif.GPSIFD.GPSLongitudeRef] = ew
    if gps_time is not None:
        gps[piexif.GPSIFD.GPSDateStamp] = gps_time.strftime("%Y:%m:%d").encode()
        gps[piexif.GPSIFD.GPSTimeStamp] = ((gps_time.hour, 1), (gps_time.minute, 1), (0, 1))
    out = io.BytesIO()
    exif = piexif.dump({"0th": {piexif.ImageIFD.Make: b"Test"}, "Exif": exif_ifd, "GPS": gps})
    Image.new("RGB", (8, 8), (90, 120, 200)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def capture(**meta) -> sun.Capture:
    return sun.read_capture(read_exif(jpeg(**meta)), now=NOW)


# -- reading ---------------------------------------------------------------------------------
def test_exif_time_with_offset_and_gps_gives_the_sun_astral_computes():
    cap = capture(clock="2023:06:14 06:10:00", offset="+02:00", position=PARIS)
    assert cap.instant == dt.datetime(2023, 6, 14, 4, 10, tzinfo=dt.UTC)
    fix = sun.sun_fix(cap)
    expected = astral_sun.elevation(Observer(*PARIS), cap.instant)
    assert fix.elevation == pytest.approx(expected, abs=0.05)
    assert fix.rising is True and fix.source == "EXIF time and GPS" and not fix.notes
    assert fix.trust_elevation == sun.TRUST_EXIF_OFFSET


def test_gps_time_stamps_are_utc():
    when = dt.datetime(2023, 12, 1, 16, 30, tzinfo=dt.UTC)
    fix = sun.sun_fix(capture(position=PARIS, gps_time=when))
    assert fix.capture.instant == when and fix.source == "GPS time and position"
    assert fix.rising is False


def test_local_time_is_read_in_the_zone_of_the_position():
    cap = capture(clock="2023:01:10 08:00:00", position=(35.68, 139.69))  # Tokyo, +09:00
    assert cap.instant == dt.datetime(2023, 1, 9, 23, 0, tzinfo=dt.UTC)
    assert cap.offset_min == 9 * 60 and "Asia/Tokyo" in cap.time_source


@pytest.mark.parametrize(
    ("place", "clock", "utc"),
    [
        ((-13.83, -171.76), "2023:06:01 06:30:00", dt.datetime(2023, 5, 31, 17, 30)),  # Apia +13
        ((1.87, -157.4), "2023:06:01 06:30:00", dt.datetime(2023, 5, 31, 16, 30)),  # +14
        ((27.72, 85.32), "2023:06:01 06:30:00", dt.datetime(2023, 6, 1, 0, 45)),  # +05:45
    ],
)
def test_the_date_line_and_odd_zones(place, clock, utc):
    cap = capture(clock=clock, position=place)
    assert cap.instant == utc.replace(tzinfo=dt.UTC)


def test_at_sea_the_nautical_zone_is_used_and_trusted_less(monkeypatch):
    atlantic = capture(clock="2023:06:01 06:30:00", position=(0.5, -30.0))
    assert atlantic.instant == dt.datetime(2023, 6, 1, 8, 30, tzinfo=dt.UTC)
    assert atlantic.trust == sun.TRUST_DOUBTFUL
    monkeypatch.setattr(sun, "zone_at", lambda lat, lon: None)  # no zone known at all
    nowhere = capture(clock="2023:06:01 06:30:00", position=(0.5, -30.0))
    assert nowhere.instant == atlantic.instant and "at sea" in nowhere.time_source


@pytest.mark.parametrize(
    ("clock", "word"), [("2023:03:26 02:30:00", "skipped"), ("2023:10:29 02:30:00", "repeated")]
)
def test_dst_changes_are_named_and_trusted_less(clock, word):
    cap = capture(clock=clock, position=PARIS)
    assert cap.instant is not None and cap.trust == sun.TRUST_DOUBTFUL
    assert any(word in note and "DST" in note for note in cap.notes)


@pytest.mark.parametrize(
    ("meta", "reason"),
    [
        ({"clock": "2023:06:14 06:10:00", "offset": "+15:00"}, "out of range"),
        ({"clock": "2023:06:14 06:10:00", "offset": "-13:00"}, "out of range"),
        ({"clock": "1900:01:01 00:00:00", "offset": "+01:00"}, "never set"),
        ({"clock": "2099:01:01 10:00:00", "offset": "+01:00"}, "future"),
        ({"clock": "yesterday at noon", "offset": "+01:00"}, "not a date"),
        ({"clock": "2023:02:30 10:00:00", "offset": "+01:00"}, "not a date"),
    ],
)
def test_bad_times_are_ignored_with_a_reason(meta, reason):
    fix = sun.sun_fix(capture(position=PARIS, **meta))
    assert any(reason in note for note in fix.notes), fix.notes
    if "offset" in reason or reason == "out of range":
        assert fix.source and "time zone Europe/Paris" in fix.source  # the zone fills in
    else:
        assert fix.elevation is None and fix.trust_elevation == 0


def test_gps_at_exactly_zero_zero_is_no_position():
    fix = sun.sun_fix(capture(clock="2023:06:14 06:10:00", offset="+00:00", position=(0.0, 0.0)))
    assert fix.elevation is None and any("0°, 0°" in n for n in fix.notes)
    assert fix.rising is True  # the clock still says morning


@pytest.mark.parametrize("refs", [(b"", b"E"), (b"N", b""), (b"X", b"E")])
def test_gps_without_its_reference_is_ignored(refs):
    fix = sun.sun_fix(
        capture(clock="2023:06:14 06:10:00", offset="+02:00", position=PARIS, refs=refs)
    )
    assert fix.capture.lat is None and any("reference" in n for n in fix.notes)


def test_a_camera_clock_far_from_the_gps_clock_is_doubted():
    true = dt.datetime(2023, 6, 14, 18, 0, tzinfo=dt.UTC)
    cap = capture(clock="2023:06:14 08:00:00", offset="+02:00", position=PARIS, gps_time=true)
    assert cap.instant == true and cap.trust == sun.TRUST_DOUBTFUL
    assert any("differs from the GPS clock by 12 h" in n for n in cap.notes)


def test_a_clock_without_position_still_says_morning_or_evening():
    morning = sun.sun_fix(capture(clock="2023:06:14 06:10:00", offset="+02:00"))
    evening = sun.sun_fix(capture(clock="2023:06:14 19:40:00"))
    noon = sun.sun_fix(capture(clock="2023:06:14 12:30:00"))
    assert (morning.rising, evening.rising, noon.rising) == (True, False, None)
    assert morning.elevation is None and morning.trust_elevation == 0
    assert morning.trust_direction == sun.TRUST_CLOCK_ONLY


def test_no_exif_at_all_is_no_evidence():
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "JPEG")
    fix = sun.sun_fix(sun.read_capture(read_exif(out.getvalue())))
    assert fix == sun.SunFix() and "no usable time and place" in sun.describe(fix)


# -- saying it -------------------------------------------------------------------------------
def test_the_details_line_names_minutes_from_sunrise_and_the_source():
    rise = astral_sun.sunrise(Observer(*PARIS), dt.date(2023, 6, 14))
    local = rise + dt.timedelta(minutes=14, hours=2)
    cap = capture(clock=local.strftime("%Y:%m:%d %H:%M:%S"), offset="+02:00", position=PARIS)
    text = sun.describe(sun.sun_fix(cap))
    assert re.match(r"Sun [12]° above the horizon, 14 minutes after sunrise", text), text
    assert text.endswith("(EXIF time and GPS)")


def test_polar_night_and_midnight_sun_are_said_not_crashed():
    tromso = (69.65, 18.96)
    night = sun.sun_fix(capture(clock="2023:12:21 12:00:00", offset="+01:00", position=tromso))
    day = sun.sun_fix(capture(clock="2023:06:21 00:30:00", offset="+02:00", position=tromso))
    assert night.elevation < 0 and "polar night" in sun.describe(night)
    assert day.elevation > 0 and "midnight sun" in sun.describe(day)


# -- the fusion rule -------------------------------------------------------------------------
TIME = next(c for c in default_categories() if c.name == "Time of day")  # dawn day dusk night


def evidence(elevation, rising, a, b):
    return tuple(np.array([v], np.float32) for v in (elevation, rising, a, b))


def test_without_metadata_the_image_decides_exactly():
    probs = np.random.default_rng(0).dirichlet(np.ones(4), size=50).astype(np.float32)
    none = tuple(np.full(50, v, np.float32) for v in (np.nan, np.nan, 0.0, 0.0))
    assert np.allclose(fuse(TIME, probs, none), probs, atol=1e-6)


def test_mirror_twins_are_split_by_the_sun_whatever_the_pixels_say():
    looks_like_dusk = np.array([[0.01, 0.0, 0.99, 0.0]], np.float32)
    at_dawn = fuse(TIME, looks_like_dusk, evidence(2.0, 1.0, 0.9, 0.9))[0]
    at_dusk = fuse(TIME, looks_like_dusk, evidence(2.0, 0.0, 0.9, 0.9))[0]
    assert at_dawn.argmax() == 0 and at_dawn[0] >= 0.9
    assert at_dusk.argmax() == 2 and at_dusk[2] >= 0.9
    sun_prior = prior(TIME, evidence(2.0, 1.0, 0.9, 0.9))[0]
    assert "cannot tell dawn from dusk" in decided_by(
        TIME, looks_like_dusk[0], sun_prior, at_dawn, True
    )


def test_a_confident_image_outweighs_a_wrong_clock_and_an_unsure_one_does_not():
    clock_says_day = evidence(40.0, 1.0, 0.9, 0.9)
    sure_night = np.array([[0.0, 0.005, 0.0, 0.995]], np.float32)
    unsure_night = np.array([[0.05, 0.3, 0.05, 0.6]], np.float32)
    assert fuse(TIME, sure_night, clock_says_day)[0].argmax() == 3
    assert fuse(TIME, unsure_night, clock_says_day)[0].argmax() == 1


def test_the_direction_survives_when_the_image_disagrees_with_the_elevation():
    # A dusk picture dated when the sun is still 15 degrees up: the image wins the band,
    # the clock still says the sun was setting.
    fused = fuse(TIME, np.array([[0.5, 0.0, 0.5, 0.0]], np.float32), evidence(15, 0.0, 0.9, 0.9))
    assert fused[0].argmax() == 2 and fused[0, 2] > 0.8


def test_free_labels_fuse_as_a_two_way_choice():
    light = next(c for c in default_categories() if c.name == "Light")  # golden, blue hour
    probs = np.array([[0.4, 0.4]], np.float32)
    at_golden = fuse(light, probs, evidence(2.0, 1.0, 0.9, 0.9))[0]
    at_noon = fuse(light, probs, evidence(50.0, 1.0, 0.9, 0.9))[0]
    assert at_golden[0] > 0.75 > at_golden[1]
    assert at_noon.max() < 0.1
    assert np.allclose(fuse(light, probs, evidence(np.nan, np.nan, 0, 0)), probs)


def test_only_groups_with_sun_true_are_fused():
    ev = SunEvidence(
        np.array([5], np.int64), *(np.array([v], np.float32) for v in (2.0, 1.0, 0.9, 0.9))
    )
    hook = SunFusion(ev)
    probs = np.array([[0.1, 0.1, 0.7, 0.1], [0.1, 0.1, 0.7, 0.1]], np.float32)
    ids = np.array([5, 6], np.int64)
    plain = Category("Plain", "exclusive", 0.5, [Label(x.name) for x in TIME.labels])
    assert np.array_equal(hook(plain, ids, probs), probs)
    fused = hook(TIME, ids, probs)
    assert fused[0].argmax() == 0  # photo 5 has the sun: dawn
    assert np.allclose(fused[1], probs[1])  # photo 6 has none


# -- the TOML keys ---------------------------------------------------------------------------
def test_sun_keys_round_trip_through_toml():
    cats = default_categories()
    again = from_toml(to_toml(cats))
    assert again == cats
    dawn = next(c for c in again if c.name == "Time of day").labels[0]
    assert (dawn.sun_elevation, dawn.sun_rising) == ((-6.0, 6.0), True)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("sun_elevation = [10, 5]", "low < high"),
        ("sun_elevation = [-100, 5]", "low < high"),
        ("sun_elevation = [1]", "two numbers"),
        ('sun_elevation = ["low", "high"]', "two numbers"),
        ('sun_rising = "yes"', "true or false"),
    ],
)
def test_bad_sun_keys_say_what_to_fix(keys, message):
    text = f"""
[[category]]
name = "T"
kind = "exclusive"
sun = true
[[category.label]]
name = "a"
{keys}
[[category.label]]
name = "b"
"""
    with pytest.raises(CategoryError, match=message):
        from_toml(text)


# -- an existing library ---------------------------------------------------------------------
def _as_before_0006(path) -> None:
    """Turn a catalog back into one made before the sun was kept."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE photo_sun")
        conn.execute("ALTER TABLE categories DROP COLUMN sun")
        conn.execute("ALTER TABLE labels DROP COLUMN sun_elevation")
        conn.execute("ALTER TABLE labels DROP COLUMN sun_rising")
        conn.execute("DELETE FROM migrations WHERE name = '0006_sun'")


@pytest.mark.parametrize("renamed", [False, True])
def test_migration_gives_an_existing_default_time_of_day_the_sun(tmp_path, renamed):
    import sqlite3

    from photosort.core import categories, sun_store  # noqa: F401 - registers 0006
    from photosort.core.catalog import Catalog

    path = tmp_path / "catalog.sqlite"
    Catalog(path).close()
    _as_before_0006(path)
    if renamed:  # the user made the group their own: it is left as it is
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE labels SET name = 'sunrise' WHERE name = 'dawn'")
    catalog = Catalog(path, backup_dir=tmp_path / "backups")
    try:
        time_of_day = next(c for c in categories.load(catalog) if c.name == "Time of day")
        assert time_of_day.sun is not renamed
        assert (time_of_day.labels[0].sun_elevation is None) is renamed
        assert "0006_sun" in catalog.applied_migrations()
        assert any((tmp_path / "backups").iterdir())  # backed up before migrating
    finally:
        catalog.close()


def test_faces_that_edit_only_words_keep_the_sun_keys():
    from photosort.core.categories import keep_sun_settings

    stored = next(c for c in default_categories() if c.name == "Time of day")
    edited = Category("Time of day", "exclusive", 0.6, [Label("dawn", ["sunrise"]), Label("noon")])
    kept = keep_sun_settings(edited, stored)
    assert kept.sun and kept.labels[0].sun_elevation == (-6.0, 6.0)
    assert kept.labels[0].sun_rising is True and kept.labels[0].prompts == ["sunrise"]
    assert kept.labels[1].sun_elevation is None  # a new label: the whole sky


def test_the_sun_of_a_big_scan_is_read_a_batch_at_a_time_once_each(tmp_path):
    """The photos whose sun is read come from the catalog a batch at a time (all 100k at
    once were held to the end of a scan, issue 13): each is read once, none is missed."""
    from photosort.core import categories, sun_store  # noqa: F401 - registers the tables
    from photosort.core._tests.test_catalog import add_photo
    from photosort.core.catalog import Catalog

    catalog = Catalog(tmp_path / "catalog.sqlite")
    with catalog.transaction() as conn:
        ids = [add_photo(conn, f"/p/{i}.jpg", "ok") for i in range(7)]
        add_photo(conn, "/p/pending.jpg")  # not indexed yet: no sun
    read: list[str] = []

    def capture(path: str) -> sun.Capture:
        read.append(path)
        return sun.Capture()

    done = sun_store.update_catalog(catalog, read=capture, batch=2)
    assert sorted(read) == sorted(f"/p/{i}.jpg" for i in range(7)) and len(read) == 7
    assert list(done.photo_ids) == ids and done.read == 7
    assert sun_store.update_catalog(catalog, read=capture, batch=2).read == 0  # all stored
    catalog.close()
