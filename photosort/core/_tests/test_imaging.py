"""Behaviour of photo decoding a user would notice: right colours, upright, no crashes."""

from __future__ import annotations

import contextlib
import io
import os
import struct
import sys
import time
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import piexif
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, JpegImagePlugin

from photosort.core.imaging import (
    MAX_PIXELS,
    SUPPORTED_EXTENSIONS,
    DecodedPhoto,
    DecodeError,
    PhotoMeta,
    decode_photo,
    load_thumbnail,
    read_meta,
)

RED = (220, 20, 20)
BLUE = (20, 20, 220)
GREY = (128, 128, 128)

# --------------------------------------------------------------------------- helpers


def encode(im: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()


def marked_image(size: tuple[int, int], marker: tuple[int, int, int] = RED) -> Image.Image:
    """Grey image with a coloured block in the stored top-left corner."""
    im = Image.new("RGB", size, GREY)
    w, h = size
    im.paste(marker, (0, 0, w // 4, h // 4))
    return im


def close_to(pixel: object, expected: tuple[int, ...], tol: int = 30) -> bool:
    assert isinstance(pixel, tuple), pixel  # an RGB(A) pixel, as getpixel gives it
    return all(abs(a - b) <= tol for a, b in zip(pixel[:3], expected, strict=True))


def exif_bytes(
    orientation: int | None = None,
    make: bytes | None = None,
    model: bytes | None = None,
    taken: bytes | None = None,
    modified: bytes | None = None,
    gps: tuple[float, float] | None = None,
) -> bytes:
    zeroth: dict[int, object] = {}
    exif: dict[int, object] = {}
    gps_ifd: dict[int, object] = {}
    if orientation is not None:
        zeroth[piexif.ImageIFD.Orientation] = orientation
    if make is not None:
        zeroth[piexif.ImageIFD.Make] = make
    if model is not None:
        zeroth[piexif.ImageIFD.Model] = model
    if modified is not None:
        zeroth[piexif.ImageIFD.DateTime] = modified
    if taken is not None:
        exif[piexif.ExifIFD.DateTimeOriginal] = taken
    if gps is not None:
        lat, lon = gps
        gps_ifd[piexif.GPSIFD.GPSLatitudeRef] = b"N" if lat >= 0 else b"S"
        gps_ifd[piexif.GPSIFD.GPSLatitude] = to_dms(abs(lat))
        gps_ifd[piexif.GPSIFD.GPSLongitudeRef] = b"E" if lon >= 0 else b"W"
        gps_ifd[piexif.GPSIFD.GPSLongitude] = to_dms(abs(lon))
    return piexif.dump({"0th": zeroth, "Exif": exif, "GPS": gps_ifd})


def to_dms(value: float) -> tuple[tuple[int, int], ...]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = Fraction((value - degrees - minutes / 60) * 3600).limit_denominator(10000)
    return ((degrees, 1), (minutes, 1), (seconds.numerator, seconds.denominator))


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("fmt", "suffix", "kwargs"),
    [
        ("JPEG", ".jpg", {"quality": 95}),
        ("PNG", ".png", {}),
        ("WEBP", ".webp", {"quality": 95}),
        ("TIFF", ".tif", {}),
        ("BMP", ".bmp", {}),
        ("GIF", ".gif", {}),
    ],
)
def test_common_formats_decode_to_rgb_with_right_colours(
    tmp_path: Path, fmt: str, suffix: str, kwargs: dict[str, object]
) -> None:
    path = write(tmp_path, "photo" + suffix, encode(marked_image((320, 240)), fmt, **kwargs))
    result = decode_photo(path)
    assert isinstance(result, DecodedPhoto)
    assert result.image.mode == "RGB"
    assert result.image.size == (320, 240)
    assert close_to(result.image.getpixel((5, 5)), RED)
    assert close_to(result.image.getpixel((300, 220)), GREY)
    assert result.meta == PhotoMeta(width=320, height=240)


def test_accepts_str_path_and_bytes(tmp_path: Path) -> None:
    data = encode(marked_image((300, 250)), "PNG")
    path = write(tmp_path, "a.png", data)
    for source in (str(path), path, data):
        assert decode_photo(source).image.size == (300, 250)


def test_file_extension_does_not_matter(tmp_path: Path) -> None:
    path = write(tmp_path, "really_a_png.jpg", encode(marked_image((300, 240)), "PNG"))
    assert close_to(decode_photo(path).image.getpixel((2, 2)), RED)


def test_gif_uses_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (240, 240), RED), Image.new("RGB", (240, 240), BLUE)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    image = decode_photo(write(tmp_path, "anim.gif", data)).image
    assert close_to(image.getpixel((100, 100)), RED)


def test_cmyk_jpeg_looks_right() -> None:
    cmyk = Image.new("CMYK", (300, 300), (0, 255, 255, 0))  # pure red in print colours
    result = decode_photo(encode(cmyk, "JPEG", quality=95))
    assert result.image.mode == "RGB"
    assert close_to(result.image.getpixel((150, 150)), (255, 0, 0))


def test_16bit_png_gradient_is_not_saturated() -> None:
    gradient = np.tile(np.linspace(0, 65535, 512).astype(np.uint16), (300, 1))
    im = Image.fromarray(gradient)
    assert im.mode.startswith("I;16")
    result = decode_photo(encode(im, "PNG"))
    row = np.asarray(result.image)[result.image.height // 2, :, 0].astype(int)
    assert row[0] < 10
    assert row[-1] > 245
    assert 110 < row[len(row) // 2] < 145
    assert np.all(np.diff(row) >= 0)  # still a gradient, not a white wall


def test_32bit_integer_tiff_is_scaled() -> None:
    arr = np.tile(np.linspace(0, 65535, 256).astype(np.int32), (256, 1))
    im = Image.fromarray(arr)
    assert im.mode == "I"
    pixels = np.asarray(decode_photo(encode(im, "TIFF")).image)[:, :, 0]
    assert pixels[:, 0].max() < 10 and pixels[:, -1].min() > 245


def test_palette_with_transparency_is_composited_on_white() -> None:
    im = Image.new("P", (300, 300), 0)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.paste(1, (0, 0, 150, 300))
    data = encode(im, "PNG", transparency=0)  # index 0 (black) is transparent
    image = decode_photo(data).image
    assert close_to(image.getpixel((50, 50)), (255, 0, 0), tol=2)
    assert image.getpixel((250, 250)) == (255, 255, 255)


def test_la_with_transparency_is_composited_on_white() -> None:
    im = Image.new("LA", (300, 300), (0, 255))
    im.paste((0, 0), (150, 0, 300, 300))  # right half: black but fully transparent
    image = decode_photo(encode(im, "PNG")).image
    assert image.getpixel((50, 50)) == (0, 0, 0)
    assert image.getpixel((250, 50)) == (255, 255, 255)


def test_rgba_large_is_reduced_and_composited() -> None:
    im = Image.new("RGBA", (2000, 1000), (0, 0, 255, 0))
    im.paste((255, 0, 0, 255), (0, 0, 1000, 1000))
    image = decode_photo(encode(im, "PNG")).image
    assert 224 <= min(image.size) < 448
    assert close_to(image.getpixel((10, 10)), (255, 0, 0), tol=2)
    assert image.getpixel((image.width - 10, 10)) == (255, 255, 255)


def test_one_bit_image() -> None:
    im = Image.new("1", (256, 256), 0)
    im.paste(1, (0, 0, 128, 256))
    image = decode_photo(encode(im, "PNG")).image
    assert image.mode == "RGB"
    assert image.getpixel((10, 10)) == (255, 255, 255)
    assert image.getpixel((200, 10)) == (0, 0, 0)


@pytest.mark.skipif(".heic" not in SUPPORTED_EXTENSIONS, reason="pillow-heif not installed")
def test_heic_decodes(tmp_path: Path) -> None:
    from photosort.core.imaging import _formats

    assert "HEIF" in _formats()  # registers the opener, also needed for saving below
    try:
        data = encode(marked_image((320, 240)), "HEIF", quality=90)
    except Exception as exc:  # pragma: no cover - build without an encoder
        pytest.skip(f"no HEIF encoder: {exc}")
    result = decode_photo(write(tmp_path, "photo.heic", data))
    assert result.image.size == (320, 240)
    assert close_to(result.image.getpixel((5, 5)), RED, tol=40)


# --------------------------------------------------------------------------- size + orientation


def test_exif_orientation_6_gives_rotated_portrait(tmp_path: Path) -> None:
    data = encode(marked_image((400, 300)), "JPEG", quality=95, exif=exif_bytes(orientation=6))
    result = decode_photo(write(tmp_path, "rotated.jpg", data))
    assert result.meta.width == 300 and result.meta.height == 400
    image = result.image
    assert image.size == (300, 400)
    # Orientation 6 means "rotate 90 degrees clockwise to display": stored top-left -> top-right.
    assert close_to(image.getpixel((image.width - 5, 5)), RED)
    assert close_to(image.getpixel((5, 5)), GREY)
    assert close_to(image.getpixel((5, image.height - 5)), GREY)


@pytest.mark.parametrize(
    ("orientation", "corner"),
    [(1, "tl"), (2, "tr"), (3, "br"), (4, "bl"), (5, "tl"), (6, "tr"), (7, "br"), (8, "bl")],
)
def test_all_exif_orientations(orientation: int, corner: str) -> None:
    data = encode(marked_image((400, 300)), "JPEG", quality=95, exif=exif_bytes(orientation))
    image = decode_photo(data).image
    w, h = image.size
    assert (w < h) == (orientation >= 5)
    points = {"tl": (5, 5), "tr": (w - 5, 5), "bl": (5, h - 5), "br": (w - 5, h - 5)}
    assert close_to(image.getpixel(points[corner]), RED), orientation


def test_12mp_jpeg_decodes_small_and_fast_using_draft(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = marked_image((4000, 3000))
    path = write(tmp_path, "big.jpg", encode(big, "JPEG", quality=90, exif=exif_bytes(6)))
    loaded_sizes: list[tuple[int, int]] = []
    original_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self: JpegImagePlugin.JpegImageFile, mode: str | None, size: object) -> object:
        result = original_draft(self, mode, size)  # type: ignore[arg-type]
        loaded_sizes.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    start = time.perf_counter()
    result = decode_photo(path, min_side=224)
    elapsed = time.perf_counter() - start
    assert loaded_sizes and max(loaded_sizes[0]) <= 1000  # decoded at 1/4 or 1/8 DCT scale
    assert 224 <= min(result.image.size) <= 448
    assert result.image.height > result.image.width  # orientation 6 still applied
    assert result.meta == PhotoMeta(width=3000, height=4000)
    assert close_to(result.image.getpixel((result.image.width - 3, 3)), RED)
    assert elapsed < 2.0


@pytest.mark.parametrize("min_side", [64, 224, 336, 512])
def test_result_shortest_side_is_between_min_side_and_double(min_side: int) -> None:
    data = encode(marked_image((3000, 2000)), "JPEG", quality=85)
    image = decode_photo(data, min_side=min_side).image
    assert min_side <= min(image.size) <= 2 * min_side
    assert abs(image.width / image.height - 1.5) < 0.02
    png_image = decode_photo(encode(marked_image((1500, 1000)), "PNG"), min_side=min_side).image
    assert min_side <= min(png_image.size) <= 2 * min_side


def test_small_images_are_not_enlarged() -> None:
    assert decode_photo(encode(marked_image((100, 60)), "PNG")).image.size == (100, 60)


def test_invalid_min_side_is_a_caller_error() -> None:
    with pytest.raises(ValueError):
        decode_photo(encode(marked_image((10, 10)), "PNG"), min_side=0)


def test_load_thumbnail_fits_box_and_is_upright(tmp_path: Path) -> None:
    landscape = write(tmp_path, "l.jpg", encode(marked_image((4000, 3000)), "JPEG"))
    assert load_thumbnail(landscape, 256).size == (256, 192)
    rotated = write(
        tmp_path, "r.jpg", encode(marked_image((4000, 3000)), "JPEG", exif=exif_bytes(6))
    )
    thumb = load_thumbnail(rotated, 256)
    assert thumb.size == (192, 256) and thumb.mode == "RGB"
    assert close_to(thumb.getpixel((thumb.width - 3, 3)), RED)
    small = write(tmp_path, "s.png", encode(marked_image((100, 50)), "PNG"))
    assert load_thumbnail(small, 256).size == (100, 50)
    la = write(tmp_path, "la.png", encode(Image.new("LA", (1000, 500), (0, 0)), "PNG"))
    assert load_thumbnail(la, 128).getpixel((10, 10)) == (255, 255, 255)
    with pytest.raises(DecodeError):
        load_thumbnail(write(tmp_path, "bad.jpg", b"nope"), 128)


# --------------------------------------------------------------------------- metadata


def test_exif_date_camera_and_gps_are_read(tmp_path: Path) -> None:
    exif = exif_bytes(
        make=b"Canon\x00\x00  ",
        model=b"Canon EOS 5D Mark IV  ",
        taken=b"2021:07:14 18:30:05",
        modified=b"2022:01:01 00:00:00",
        gps=(48.8582, 2.2945),
    )
    path = write(tmp_path, "meta.jpg", encode(marked_image((320, 240)), "JPEG", exif=exif))
    for meta in (decode_photo(path).meta, read_meta(path)):
        assert meta.taken_at == "2021-07-14T18:30:05"
        assert meta.camera == "Canon EOS 5D Mark IV"
        assert meta.gps_lat == pytest.approx(48.8582, abs=1e-4)
        assert meta.gps_lon == pytest.approx(2.2945, abs=1e-4)
        assert (meta.width, meta.height) == (320, 240)


def test_southern_western_gps_is_negative() -> None:
    data = encode(marked_image((64, 64)), "JPEG", exif=exif_bytes(gps=(-22.9519, -43.2105)))
    meta = read_meta(data)
    assert meta.gps_lat == pytest.approx(-22.9519, abs=1e-4)
    assert meta.gps_lon == pytest.approx(-43.2105, abs=1e-4)


@pytest.mark.parametrize(
    ("make", "model", "expected"),
    [
        (b"NIKON CORPORATION", b"NIKON D750", "NIKON D750"),
        (b"Apple", b"iPhone 12 Pro", "Apple iPhone 12 Pro"),
        (b"  FUJIFILM ", None, "FUJIFILM"),
        (None, b"X100V\x00", "X100V"),
        (b"\x00\x00", b"   ", None),
    ],
)
def test_camera_name_is_cleaned(make: bytes | None, model: bytes | None, expected: str) -> None:
    data = encode(marked_image((32, 32)), "JPEG", exif=exif_bytes(make=make, model=model))
    assert read_meta(data).camera == expected


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the 1-byte junk value
def test_date_falls_back_to_datetime_and_ignores_garbage() -> None:
    fallback = exif_bytes(modified=b"2019:03:02 01:02:03")
    assert read_meta(encode(marked_image((32, 32)), "JPEG", exif=fallback)).taken_at == (
        "2019-03-02T01:02:03"
    )
    for junk in (b"0000:00:00 00:00:00", b"    :  :     :  :  ", b"2020:13:45 99:00:00", b"x"):
        data = encode(marked_image((32, 32)), "JPEG", exif=exif_bytes(taken=junk))
        assert read_meta(data).taken_at is None, junk


def test_no_exif_gives_empty_meta() -> None:
    assert read_meta(encode(marked_image((40, 30)), "PNG")) == PhotoMeta(40, 30)


def test_read_meta_does_not_decode_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(
        marked_image((400, 300)), "JPEG", exif=exif_bytes(6, taken=b"2020:01:02 03:04:05")
    )

    def boom(self: object) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", boom)
    meta = read_meta(data)
    assert meta == PhotoMeta(width=300, height=400, taken_at="2020-01-02T03:04:05")


# --------------------------------------------------------------------------- broken files


def test_zero_byte_file(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match="^empty file$"):
        decode_photo(write(tmp_path, "empty.jpg", b""))
    with pytest.raises(DecodeError, match="^empty file$"):
        decode_photo(b"")


@pytest.mark.parametrize("keep", [0.3, 0.7, 0.97])
def test_truncated_jpeg(tmp_path: Path, keep: float) -> None:
    noisy = Image.fromarray(np.random.default_rng(1).integers(0, 255, (600, 800, 3), np.uint8))
    data = encode(noisy, "JPEG", quality=90)
    path = write(tmp_path, "cut.jpg", data[: int(len(data) * keep)])
    with pytest.raises(DecodeError, match="^truncated image data$"):
        decode_photo(path)


def test_truncated_png() -> None:
    noisy = Image.fromarray(np.random.default_rng(2).integers(0, 255, (300, 300, 3), np.uint8))
    data = encode(noisy, "PNG")
    with pytest.raises(DecodeError, match="truncated"):
        decode_photo(data[: len(data) // 2])


def test_text_file_named_jpg(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.jpg", b"Shopping list:\n- milk\n- eggs\n" * 20)
    with pytest.raises(DecodeError, match=r"^not an image \(unrecognised format\)$"):
        decode_photo(path)
    with pytest.raises(DecodeError, match="not an image"):
        read_meta(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match="^cannot read file: No such file"):
        decode_photo(tmp_path / "missing.jpg")
    with pytest.raises(DecodeError, match="^cannot read file: Is a directory$"):
        decode_photo(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(DecodeError, match="not a regular file"):
        decode_photo(fifo)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, "secret.jpg", encode(marked_image((32, 32)), "JPEG"))
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running with privileges that ignore file permissions")
        with pytest.raises(DecodeError, match="^cannot read file: Permission denied$"):
            decode_photo(path)
    finally:
        path.chmod(0o644)


def test_png_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + png_chunk(b"IEND", b"")
    )
    assert len(data) < 200
    path = write(tmp_path, "bomb.png", data)
    for call in (decode_photo, read_meta, lambda p: load_thumbnail(p, 128)):
        with pytest.raises(DecodeError, match=r"^image too large: 100000x100000 px exceeds"):
            call(path)


def test_jpeg_declaring_huge_size_is_refused() -> None:
    data = encode(marked_image((64, 48)), "JPEG")
    sof = data.index(b"\xff\xc0")
    bomb = data[: sof + 5] + struct.pack(">HH", 60_000, 60_000) + data[sof + 9 :]
    with pytest.raises(DecodeError, match=r"^image too large: 60000x60000 px exceeds"):
        decode_photo(bomb)


def test_own_pixel_cap_applies_even_if_pillow_limit_is_disabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    data = encode(marked_image((64, 48)), "JPEG")
    sof = data.index(b"\xff\xc0")
    bomb = data[: sof + 5] + struct.pack(">HH", 20_000, 20_000) + data[sof + 9 :]
    with pytest.raises(DecodeError, match=f"exceeds the {MAX_PIXELS} px limit"):
        decode_photo(bomb)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the corrupt EXIF
def test_corrupt_exif_does_not_lose_the_image() -> None:
    data = encode(marked_image((300, 240)), "JPEG", exif=b"Exif\x00\x00MM\x00*garbage-garbage")
    result = decode_photo(data)
    assert result.image.size == (300, 240)
    assert result.meta.taken_at is None


# --------------------------------------------------------------------------- fuzzing

_SEEDS = [
    encode(marked_image((40, 30)), "JPEG", exif=exif_bytes(6, make=b"X", gps=(1.5, 2.5))),
    encode(marked_image((40, 30)), "PNG"),
    encode(marked_image((40, 30)).convert("P"), "GIF"),
    encode(marked_image((40, 30)), "WEBP"),
    encode(marked_image((40, 30)), "TIFF"),
    encode(marked_image((40, 30)), "BMP"),
]


@st.composite
def mutated_images(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        # Bias mutations towards headers, where parsers make their decisions.
        pos = draw(st.integers(0, min(len(data) - 1, draw(st.sampled_from([64, 512, 100_000])))))
        data[pos] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def _decode_or_decode_error(data: bytes) -> None:
    try:
        result = decode_photo(data, min_side=16)
    except DecodeError as exc:
        reason = str(exc)
        assert reason and "\n" not in reason
        return
    assert result.image.mode == "RGB"
    assert result.image.width > 0 and result.image.height > 0


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about mangled headers
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=2048), mutated_images()))
def test_fuzzed_input_raises_only_decode_error(data: bytes) -> None:
    _decode_or_decode_error(data)
    with contextlib.suppress(DecodeError):
        read_meta(data)
