"""RAW decoding: embedded preview when large enough, half-size demosaic otherwise, EXIF from
the RAW, and one-line errors for broken files. The DNGs are written by tests/fixtures/dng.py."""

from __future__ import annotations

import pytest

from photosort.core import raw
from photosort.core.imaging import (
    SUPPORTED_EXTENSIONS,
    DecodeError,
    decode_photo,
    load_thumbnail,
    read_meta,
)
from tests.fixtures.dng import make_dng

pytestmark = pytest.mark.skipif(not raw.RAW_AVAILABLE, reason="rawpy not installed")

MAGENTA = (255, 0, 255)


def _is_magenta(pixel) -> bool:
    r, g, b = pixel
    return r > 200 and b > 200 and g < 60


def test_raw_extensions_are_scanned():
    for ext in (".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".pef"):
        assert ext in SUPPORTED_EXTENSIONS


def test_a_large_enough_preview_is_used_and_nothing_is_demosaiced():
    data = make_dng(preview=(640, 480), preview_color=MAGENTA)
    decoded = raw.decode_raw(data, 224)
    assert decoded.method == "preview"
    photo = decode_photo(data, min_side=224, name="IMG_1.DNG")
    assert min(photo.image.size) >= 224
    assert _is_magenta(photo.image.getpixel((10, 10)))


def test_a_preview_too_small_for_the_model_falls_back_to_a_demosaic():
    data = make_dng(preview=(160, 120), preview_color=MAGENTA)
    assert raw.decode_raw(data, 224).method == "demosaic"
    photo = decode_photo(data, min_side=224, name="IMG_1.dng")
    assert min(photo.image.size) >= 224
    assert not _is_magenta(photo.image.getpixel((10, 10)))  # the real scene: warm sky
    r, g, b = photo.image.getpixel((10, 10))
    assert r > b + 60


def test_without_preview_the_raw_data_is_demosaiced_at_half_size():
    data = make_dng(width=800, height=600, preview=None)
    decoded = raw.decode_raw(data, 224)
    assert decoded.method == "demosaic"
    assert decoded.image.size == (400, 300)
    green = decoded.image.getpixel((380, 290))  # the ground
    assert green[1] > green[0] + 40


@pytest.mark.parametrize("preview", [(640, 480), None])
def test_exif_comes_from_the_raw_and_orientation_is_applied(preview):
    data = make_dng(preview=preview, orientation=6, taken_at="2019:05:04 07:08:09")
    photo = decode_photo(data, min_side=224, name="x.nef")
    meta = photo.meta
    assert (meta.width, meta.height) == (480, 640)
    assert photo.image.size[1] > photo.image.size[0]  # portrait, as the camera was held
    assert meta.taken_at == "2019-05-04T07:08:09"
    assert meta.camera == "Canon EOS R5"
    assert meta.gps_lat == pytest.approx(48.8584, abs=1e-4)
    assert meta.gps_lon == pytest.approx(2.2945, abs=1e-4)
    top_left = photo.image.getpixel((5, 5))
    assert top_left[1] > top_left[2]  # rotated 90° clockwise: the ground is now on the left


def test_read_meta_and_thumbnail_of_a_raw_file(tmp_path):
    path = tmp_path / "DSC_0001.dng"
    make_dng(path, preview=None, gps=None)
    meta = read_meta(str(path))
    assert (meta.width, meta.height, meta.gps_lat) == (640, 480, None)
    thumb = load_thumbnail(str(path), 128)
    assert max(thumb.size) == 128


@pytest.mark.parametrize(
    "mangle, reason",
    [
        (lambda d: d[: len(d) // 2], "truncated or damaged RAW data"),
        (lambda d: d[:2000], "truncated or damaged RAW data"),
        (lambda d: b"II*\x00" + b"\x00" * 200, "not a supported RAW file"),
        (lambda d: b"this is not a raw file" * 20, "not a supported RAW file"),
    ],
)
def test_a_corrupt_raw_is_a_one_line_error(tmp_path, mangle, reason):
    path = tmp_path / "broken.cr2"
    path.write_bytes(mangle(make_dng()))
    with pytest.raises(DecodeError, match=reason):
        decode_photo(str(path))
    with pytest.raises(DecodeError, match=reason):
        load_thumbnail(str(path), 64)
