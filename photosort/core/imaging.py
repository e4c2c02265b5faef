"""Safe photo decoding and metadata extraction.

A photo library always contains some broken files (empty, truncated, mislabelled, hostile).
Every such failure surfaces here as a :class:`DecodeError` with a one-line reason, so the
indexer can record it and move on instead of dying on one bad file among thousands.
Images are decoded only as large as the embedding model needs, which keeps indexing of
12 MP JPEGs fast and memory use flat.
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
import re
import stat
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, TypeVar

from PIL import Image, ImageFile, UnidentifiedImageError

from photosort.core import raw as raw_files
from photosort.core.formats import (
    AVIF_AVAILABLE,
    HEIF_AVAILABLE,
    SUPPORTED_EXTENSIONS,
    VIDEO_EXTENSIONS,
)
from photosort.core.lazy_import import np

__all__ = [
    "MAX_PIXELS",
    "SUPPORTED_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "DecodeError",
    "DecodedPhoto",
    "PhotoMeta",
    "decode_photo",
    "load_thumbnail",
    "read_exif",
    "read_meta",
]

#: Largest accepted declared width*height; equals Pillow's own hard decompression-bomb limit.
MAX_PIXELS: int = 178_956_970

# Only formats we list as supported are tried: obscure Pillow plugins accept almost any bytes
# (and are a needless attack surface), which would turn "not an image" into odd decode errors.
_BASE_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF") + (
    ("AVIF",) if AVIF_AVAILABLE else ()
)

_ORIENTATION_TAG = 0x0112
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_TRANSPOSE_FOR_ORIENTATION: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Modes Image.reduce handles correctly (RGBA/LA are premultiplied by Pillow while reducing).
_REDUCIBLE_MODES = frozenset({"RGB", "L", "CMYK", "RGBA", "LA"})
_WIDE_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})

_T = TypeVar("_T")
Source = bytes | bytearray | memoryview | str | os.PathLike[str]


class DecodeError(Exception):
    """A file could not be turned into a photo; ``str(e)`` is a one-line human reason."""


@dataclass(frozen=True)
class PhotoMeta:
    """Size (as displayed, i.e. after EXIF orientation) and the EXIF facts the catalog keeps."""

    width: int
    height: int
    taken_at: str | None = None
    camera: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None


@dataclass(frozen=True)
class DecodedPhoto:
    """An upright RGB image sized for the model, plus the metadata of the original."""

    image: Image.Image
    meta: PhotoMeta


# --------------------------------------------------------------------------- HEIF plugin

_heif_lock = threading.Lock()
_heif_state: bool | None = None  # None: not tried yet


def _formats() -> tuple[str, ...]:
    """Formats to try; registers the HEIF opener on first use (once, thread-safe)."""
    global _heif_state
    if HEIF_AVAILABLE and _heif_state is None:
        with _heif_lock:
            if _heif_state is None:
                try:
                    import pillow_heif

                    pillow_heif.register_heif_opener()
                    _heif_state = True
                except Exception:  # broken native lib: HEIC files then fail individually
                    _heif_state = False
    return _BASE_FORMATS + ("HEIF",) if _heif_state else _BASE_FORMATS


# --------------------------------------------------------------------------- error handling


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reason(exc: Exception) -> str:
    """Turn whatever Pillow/libjpeg/zlib raised into a short human reason."""
    message = str(exc)
    lowered = message.lower()
    if isinstance(exc, EOFError) or "truncated" in lowered or "unexpected end" in lowered:
        return "truncated image data"
    if isinstance(exc, MemoryError):
        return "cannot decode: out of memory"
    if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
        return f"cannot read file: {exc.strerror}"  # a real I/O error, not a decoder complaint
    return "cannot decode: " + _one_line(message or type(exc).__name__)


def _too_large(
    size: tuple[int, int] | None, pixels: int | None = None, limit: int = MAX_PIXELS
) -> DecodeError:
    if size is not None:
        what = f"{size[0]}x{size[1]} px"
    elif pixels is not None:
        what = f"{pixels} px"
    else:
        what = "declared size"
    return DecodeError(f"image too large: {what} exceeds the {limit} px limit")


def _sniff_size(fp: BinaryIO) -> tuple[int, int] | None:
    """Declared (width, height) of a PNG or JPEG from its header, for error messages only."""
    try:
        fp.seek(0)
        head = fp.read(32)
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
            width, height = struct.unpack(">II", head[16:24])
            return width, height
        if not head.startswith(b"\xff\xd8"):
            return None
        pos = 2
        for _ in range(256):  # bounded walk over JPEG marker segments
            fp.seek(pos)
            marker = fp.read(4)
            if len(marker) < 4 or marker[0] != 0xFF:
                return None
            kind = marker[1]
            if kind == 0xFF:  # fill byte
                pos += 1
                continue
            length = struct.unpack(">H", marker[2:4])[0]
            if kind in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE):
                body = fp.read(5)
                if len(body) < 5:
                    return None
                height, width = struct.unpack(">HH", body[1:5])
                return width, height
            pos += 2 + length
    except Exception:
        return None
    return None


def _bomb_error(exc: Exception, size: tuple[int, int] | None) -> DecodeError:
    """DecodeError for Pillow's bomb check, quoting the limit Pillow actually applied."""
    pixels = re.search(r"\((\d+) pixels\)", str(exc))
    limit = re.search(r"limit of (\d+) pixels", str(exc))
    return _too_large(
        size,
        int(pixels.group(1)) if pixels else None,
        int(limit.group(1)) if limit else MAX_PIXELS,
    )


def _open_fp(source: Source) -> BinaryIO:
    """Open *source* for reading, refusing things that are not regular non-empty files."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if not data:
            raise DecodeError("empty file")
        return io.BytesIO(data)
    try:
        # O_NONBLOCK: opening a FIFO must not hang the indexer waiting for a writer.
        flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(source, flags)
    except OSError as exc:
        raise DecodeError(f"cannot read file: {exc.strerror or exc}") from None
    except (TypeError, ValueError) as exc:  # e.g. embedded NUL in the path
        raise DecodeError(f"cannot read file: {_one_line(str(exc))}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise DecodeError("cannot read file: Is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise DecodeError("not a regular file")
        if info.st_size == 0:
            raise DecodeError("empty file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_image(fp: BinaryIO) -> ImageFile.ImageFile:
    """Identify the image from its header, enforcing the pixel cap before any pixel is read."""
    try:
        im = Image.open(fp, formats=_formats())
    except UnidentifiedImageError:
        raise DecodeError("not an image (unrecognised format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning (lower limit) is only an exception when warnings are set to errors.
        raise _bomb_error(exc, _sniff_size(fp)) from None
    width, height = im.size
    if width <= 0 or height <= 0:
        im.close()
        raise DecodeError(f"invalid image size: {width}x{height} px")
    if width * height > MAX_PIXELS:
        im.close()
        raise _too_large((width, height))
    return im


def _with_image(source: Source, work: Callable[[ImageFile.ImageFile], _T]) -> _T:
    """Run *work* on the opened image; any failure becomes a DecodeError."""
    try:
        with _open_fp(source) as fp:
            im = _open_image(fp)
            with im:
                return work(im)
    except DecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb_error(exc, None) from None
    except Exception as exc:  # noqa: BLE001 - the contract is "DecodeError only"
        raise DecodeError(_reason(exc)) from None


# --------------------------------------------------------------------------- metadata


def _text(value: Any) -> str:
    """EXIF ASCII value as clean text: cut at the first NUL, whitespace collapsed."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    elif not isinstance(value, str):
        value = str(value)
    value = value.split("\x00", 1)[0]
    value = "".join(ch for ch in value if ch.isprintable() or ch.isspace())
    return " ".join(value.split())


_DATE_RE = re.compile(
    r"^(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?"
)


def _parse_exif_date(value: Any) -> str | None:
    """'YYYY:MM:DD HH:MM:SS' -> ISO; None for the blank/zeroed junk cameras write."""
    match = _DATE_RE.match(_text(value))
    if not match:
        return None
    year, month, day, hour, minute = (int(g) for g in match.groups()[:5])
    second = min(int(match.group(6) or 0), 59)  # a leap second is still a valid capture time
    if year < 1800:
        return None
    try:
        return datetime(year, month, day, hour, minute, second).isoformat(timespec="seconds")
    except ValueError:
        return None


def _camera(make: Any, model: Any) -> str | None:
    """'Make Model' without repeating the make (Canon + 'Canon EOS R5' -> 'Canon EOS R5')."""
    make_s, model_s = _text(make), _text(model)
    if make_s and model_s:
        if model_s.lower().startswith(make_s.split()[0].lower()):
            return model_s
        return f"{make_s} {model_s}"
    return model_s or make_s or None


def _coordinate(value: Any, ref: Any, negative_ref: str, limit: float) -> float | None:
    """EXIF degrees/minutes/seconds rationals plus N/S/E/W ref -> signed decimal degrees."""
    if value is None:
        return None
    try:
        parts = list(value) if isinstance(value, tuple | list) else [value]
        numbers = [float(p) for p in parts[:3]]
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if not numbers or not all(math.isfinite(n) for n in numbers):
        return None
    if any(n < 0 for n in numbers[1:]):
        return None
    degrees = abs(numbers[0])
    if len(numbers) > 1:
        degrees += numbers[1] / 60.0
    if len(numbers) > 2:
        degrees += numbers[2] / 3600.0
    if degrees > limit:
        return None
    if numbers[0] < 0 or _text(ref).upper().startswith(negative_ref):
        degrees = -degrees
    return degrees


def _gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    """Both coordinates or neither: a lone latitude is useless for a map."""
    try:
        gps = exif.get_ifd(_GPS_IFD)
    except Exception:
        return None, None
    if not gps or _text(gps.get(0x0009)).upper().startswith("V"):  # GPSStatus V = void fix
        return None, None
    lat = _coordinate(gps.get(0x0002), gps.get(0x0001), "S", 90.0)
    lon = _coordinate(gps.get(0x0004), gps.get(0x0003), "W", 180.0)
    if lat is None or lon is None:
        return None, None
    return lat, lon


def _exif_of(im: Image.Image) -> Image.Exif | None:
    """EXIF block or None; corrupt EXIF must never cost us the image itself."""
    try:
        return im.getexif()
    except Exception:
        return None


def _orientation(exif: Image.Exif | None) -> int:
    if exif is None:
        return 1
    try:
        value = exif.get(_ORIENTATION_TAG)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _meta(size: tuple[int, int], exif: Image.Exif | None) -> PhotoMeta:
    width, height = size
    if _orientation(exif) >= 5:  # 5..8 rotate by 90 degrees
        width, height = height, width
    if exif is None:
        return PhotoMeta(width=width, height=height)
    try:
        exif_ifd = exif.get_ifd(_EXIF_IFD)
    except Exception:
        exif_ifd = {}
    taken_at = None
    for value in (
        exif_ifd.get(0x9003),  # DateTimeOriginal
        exif_ifd.get(0x9004),  # DateTimeDigitized
        exif.get(0x9003),  # some writers misplace it in IFD0
        exif.get(0x0132),  # DateTime (last modification; best remaining guess)
    ):
        taken_at = _parse_exif_date(value)
        if taken_at:
            break
    lat, lon = _gps(exif)
    return PhotoMeta(
        width=width,
        height=height,
        taken_at=taken_at,
        camera=_camera(exif.get(0x010F), exif.get(0x0110)),
        gps_lat=lat,
        gps_lon=lon,
    )


# --------------------------------------------------------------------------- pixels


def _wide_to_l(im: Image.Image) -> Image.Image:
    """16/32-bit grey -> 8-bit without saturating (Pillow's convert clips I;16 to white)."""
    arr = np.asarray(im)
    if im.mode.startswith("I;16"):
        return Image.fromarray((arr.astype(np.uint16) >> 8).astype(np.uint8))
    values = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if lo >= 0.0 and hi <= 1.0 and im.mode == "F":
        scaled = values * 255.0
    elif lo >= 0.0 and hi <= 255.0:
        scaled = values
    elif lo >= 0.0 and hi <= 65535.0:
        scaled = values / 257.0
    else:
        scaled = (values - lo) * (255.0 / (hi - lo))
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB that looks right; transparency is composited onto white."""
    if im.mode in _WIDE_MODES:
        return _wide_to_l(im).convert("RGB")
    if im.has_transparency_data:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if im.mode == "RGB":
        return im
    return im.convert("RGB")


def _shrunk_rgb(im: Image.Image, factor: int) -> Image.Image:
    """RGB image reduced by an integer box factor; reduce first where the mode allows it."""
    if factor >= 2 and im.mode in _REDUCIBLE_MODES:
        return _to_rgb(im.reduce(factor))
    rgb = _to_rgb(im)
    return rgb.reduce(factor) if factor >= 2 else rgb


def _upright(im: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE_FOR_ORIENTATION.get(orientation)
    return im.transpose(method) if method is not None else im


def _detach(result: Image.Image, source: Image.Image) -> Image.Image:
    """Closing the opened image destroys its core; never hand that object out."""
    return result.copy() if result is source else result


# --------------------------------------------------------------------------- RAW


def open_file(source: Source) -> BinaryIO:
    """Open a photo file for reading without ever blocking (a FIFO) or following a non-file."""
    return _open_fp(source)


def open_image(fp: BinaryIO) -> ImageFile.ImageFile:
    """Identify an image (an embedded RAW preview) with the same checks as a photo file."""
    return _open_image(fp)


def exif_of(im: Image.Image) -> Image.Exif | None:
    return _exif_of(im)


def orientation_of(exif: Image.Exif | None) -> int:
    return _orientation(exif)


def upright(im: Image.Image, orientation: int) -> Image.Image:
    return _upright(im, orientation)


def fit_rgb(im: Image.Image, min_side: int) -> Image.Image:
    """RGB with the shortest side between ``min_side`` and about twice that."""
    return _shrunk_rgb(im, min(im.size) // min_side)


def _is_raw(source: Source, name: str | os.PathLike[str] | None) -> bool:
    """By file name (a path's own, or the hint); bytes without a name by their magic."""
    if not raw_files.RAW_AVAILABLE:
        return False
    if isinstance(source, bytes | bytearray | memoryview):
        return raw_files.is_raw_name(name) or raw_files.looks_like_raw(bytes(source[:16]))
    return raw_files.is_raw_name(name if name is not None else source)


def _raw_work(
    source: Source, name: str | os.PathLike[str] | None, work: Callable[[bytes], _T]
) -> _T | None:
    """Run *work* on the RAW file's bytes when *source* is a RAW; None when it is not."""
    if not _is_raw(source, name):
        return None
    if isinstance(source, bytes):
        data = source
    else:
        with _open_fp(source) as fp:
            try:
                data = fp.read()
            except OSError as exc:
                raise DecodeError(_reason(exc)) from None
    try:
        return work(data)
    except raw_files.RawError as exc:
        raise DecodeError(str(exc)) from None


def _raw_meta(decoded: raw_files.RawDecoded) -> PhotoMeta:
    meta = _meta(decoded.size, decoded.exif)
    width, height = decoded.size
    if decoded.orientation >= 5:
        width, height = height, width
    return dataclasses.replace(
        meta, width=width, height=height, taken_at=meta.taken_at or decoded.timestamp
    )


# --------------------------------------------------------------------------- public API


def decode_photo(
    source: Source, min_side: int = 224, name: str | os.PathLike[str] | None = None
) -> DecodedPhoto:
    """Decode a photo for the embedding model.

    Returns an upright RGB image whose shortest side is between ``min_side`` and about
    ``2 * min_side`` (smaller only when the original is smaller). JPEGs are decoded at reduced
    DCT scale, so a 12 MP photo never materialises at full size; RAWs use their embedded
    preview when it is large enough. ``name`` tells the format of bytes by their file name.
    Raises DecodeError only (ValueError for a non-positive ``min_side``, a caller bug).
    """
    if min_side < 1:
        raise ValueError(f"min_side must be positive, got {min_side}")

    def raw_work(data: bytes) -> DecodedPhoto:
        decoded = raw_files.decode_raw(data, min_side)
        assert decoded.image is not None  # None only for meta_only
        return DecodedPhoto(image=decoded.image, meta=_raw_meta(decoded))

    result = _raw_work(source, name, raw_work)
    if result is not None:
        return result

    def work(im: ImageFile.ImageFile) -> DecodedPhoto:
        original_size = im.size
        # A square request keeps both sides >= min_side whatever the EXIF rotation is.
        im.draft("RGB", (min_side, min_side))
        im.load()
        exif = _exif_of(im)  # after load: PNG may carry eXIf behind the pixel data
        factor = min(im.size) // min_side
        rgb = _upright(_shrunk_rgb(im, factor), _orientation(exif))
        return DecodedPhoto(image=_detach(rgb, im), meta=_meta(original_size, exif))

    return _with_image(source, work)


def read_meta(source: Source, name: str | os.PathLike[str] | None = None) -> PhotoMeta:
    """Metadata from the header only (no pixel decode), for fast rescans.

    A PNG whose eXIf chunk sits after the pixel data is read without EXIF here (finding it
    would need a full decode); ``decode_photo`` still sees it.
    """
    result = _raw_work(
        source, name, lambda data: _raw_meta(raw_files.decode_raw(data, 1 << 20, meta_only=True))
    )
    if result is not None:
        return result

    def work(im: ImageFile.ImageFile) -> PhotoMeta:
        exif = None if im.format == "PNG" and "exif" not in im.info else _exif_of(im)
        return _meta(im.size, exif)

    return _with_image(source, work)


def read_exif(source: Source) -> Image.Exif | None:
    """The raw EXIF block from the header (no pixel decode), for readers of other tags
    (the sun's clock and place, core/sun.py); None when the file has none."""

    def work(im: ImageFile.ImageFile) -> Image.Exif | None:
        exif = None if im.format == "PNG" and "exif" not in im.info else _exif_of(im)
        return exif if exif else None

    return _with_image(source, work)


def load_thumbnail(path: Source, max_side: int) -> Image.Image:
    """Upright RGB thumbnail fitting in a ``max_side`` square (never enlarged), for the grid."""
    if max_side < 1:
        raise ValueError(f"max_side must be positive, got {max_side}")

    def raw_work(data: bytes) -> Image.Image:
        image = raw_files.decode_raw(data, max_side).image
        assert image is not None  # None only for meta_only
        if max(image.size) > max_side:
            image = image.copy()
            image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=2.0)
        return image

    result = _raw_work(path, None, raw_work)
    if result is not None:
        return result

    def work(im: ImageFile.ImageFile) -> Image.Image:
        width, height = im.size
        longest = max(width, height)
        if longest > max_side:
            scale = max_side / longest
            im.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
        im.load()
        exif = _exif_of(im)
        rgb = _shrunk_rgb(im, max(im.size) // (2 * max_side))
        if max(rgb.size) > max_side:
            rgb = _detach(rgb, im)
            rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=2.0)
        return _detach(_upright(rgb, _orientation(exif)), im)

    return _with_image(path, work)
