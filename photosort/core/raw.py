"""Camera RAW files (DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2, PEF, ...) through LibRaw (rawpy).

Demosaicing a 24 MP RAW takes about a second; the model needs 224 px. Almost every camera
embeds a full-size or large JPEG preview, which decodes in milliseconds at reduced DCT
scale, so it is used whenever it is large enough; only RAWs without a usable preview are
demosaiced, at half size. EXIF comes from the RAW's own TIFF structure where it has one
(DNG, CR2, NEF, ARW, PEF), else from the embedded preview, else from LibRaw's timestamp.
"""

from __future__ import annotations

import importlib.util
import io
import os
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

# Pillow is imported by the functions that decode: pairing RAWs with their JPEGs (every
# rescan) needs only the extensions, and Pillow costs a cold start 15-20 ms (issue 13).
if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "RAW_AVAILABLE",
    "RAW_EXTENSIONS",
    "RawDecoded",
    "decode_raw",
    "is_raw_name",
    "looks_like_raw",
]

RAW_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf",
        ".orf", ".rw2", ".rwl", ".pef", ".srw", ".x3f", ".3fr", ".iiq", ".erf", ".mef",
        ".mos", ".mrw", ".kdc", ".dcr",
    }
)  # fmt: skip
RAW_AVAILABLE = importlib.util.find_spec("rawpy") is not None

# LibRaw's "flip" (from dcraw) -> the EXIF orientation that shows the image upright.
_FLIP_TO_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}


def is_raw_name(name: str | os.PathLike[str] | None) -> bool:
    """True when the file name has a RAW extension."""
    if name is None:
        return False
    return os.path.splitext(os.fspath(name))[1].lower() in RAW_EXTENSIONS


def looks_like_raw(head: bytes) -> bool:
    """RAW formats that Pillow cannot mistake for TIFF, recognised from their first bytes."""
    return (
        head[4:12] in (b"ftypcrx ",)  # Canon CR3
        or head.startswith(b"FUJIFILMCCD-RAW")
        or head[:4] in (b"IIRO", b"MMOR", b"IIRS", b"IIU\x00")  # Olympus ORF, Panasonic RW2
    )


@dataclass(frozen=True)
class RawDecoded:
    """The upright RGB image, the EXIF source, and which path made it (for benchmarks)."""

    image: Image.Image | None
    exif: Image.Exif | None
    orientation: int  # already applied to ``image``; kept for the metadata's width/height
    size: tuple[int, int]  # the RAW's own size before rotation
    method: str  # "preview" | "demosaic"
    timestamp: str | None = None


class RawError(Exception):
    """Raised with a one-line reason; imaging turns it into a DecodeError."""


def _tiff_exif(data: bytes) -> Image.Exif | None:
    """EXIF of a TIFF-structured RAW (DNG, CR2, NEF, ARW, PEF), read from IFD0 only."""
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    from PIL import Image

    exif = Image.Exif()
    try:
        exif.load(data)
    except Exception:
        return None
    return exif if len(exif) else None


def _preview(raw: Any, min_side: int) -> tuple[Image.Image | None, Image.Exif | None]:
    """The embedded preview (decoded at a reduced scale) and its EXIF, or (None, None)."""
    import rawpy
    from PIL import Image, UnidentifiedImageError

    from photosort.core import imaging

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None, None
    except rawpy.LibRawError:
        return None, None  # a damaged preview: the RAW data itself may still be fine
    if thumb.format == rawpy.ThumbFormat.BITMAP:
        return Image.fromarray(thumb.data).convert("RGB"), None
    try:
        im = imaging.open_image(io.BytesIO(bytes(thumb.data)))
        im.draft("RGB", (min_side, min_side))
        im.load()
    except (imaging.DecodeError, OSError, UnidentifiedImageError, SyntaxError, ValueError):
        return None, None
    exif = imaging.exif_of(im)
    return im, exif


def _timestamp(raw: Any) -> str | None:  # raw: a rawpy.RawPy
    try:
        stamp = raw.other.timestamp
    except Exception:
        return None
    if isinstance(stamp, datetime):
        return stamp.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(stamp, int | float) and stamp > 0:
        return datetime.fromtimestamp(stamp).isoformat(timespec="seconds")
    return None


def decode_raw(
    data: bytes, min_side: int, use_preview: bool = True, meta_only: bool = False
) -> RawDecoded:
    """Decode a RAW for a ``min_side`` request: the embedded preview when its short side
    reaches ``min_side``, else a half-size demosaic (``use_preview=False``: always).
    ``meta_only`` decodes no pixels (``image`` is then None). Raises RawError."""
    if not RAW_AVAILABLE:
        raise RawError("RAW support needs the rawpy package (pip install rawpy)")
    import rawpy
    from PIL import Image

    from photosort.core import imaging

    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            sizes = raw.sizes
            width, height = int(sizes.width), int(sizes.height)
            if width <= 0 or height <= 0:
                raise RawError("cannot decode RAW: no image in the file")
            if int(sizes.raw_width) * int(sizes.raw_height) > imaging.MAX_PIXELS:
                raise RawError(
                    f"image too large: {sizes.raw_width}x{sizes.raw_height} px exceeds the "
                    f"{imaging.MAX_PIXELS} px limit"
                )
            flip_orientation = _FLIP_TO_ORIENTATION.get(int(sizes.flip), 1)
            stamp = _timestamp(raw)
            if meta_only:
                exif = _tiff_exif(data)
                if exif is None and use_preview:
                    exif = _preview(raw, 1 << 20)[1]
                return RawDecoded(None, exif, flip_orientation, (width, height), "meta", stamp)
            preview, preview_exif = _preview(raw, min_side) if use_preview else (None, None)
            if preview is not None and min(preview.size) >= min_side:
                # A preview with its own orientation tag says how to show it; else the RAW's.
                own = imaging.orientation_of(preview_exif) if preview_exif else 1
                orientation = own if own != 1 else flip_orientation
                image = imaging.upright(imaging.fit_rgb(preview, min_side), orientation)
                method = "preview"
            else:
                rgb = raw.postprocess(
                    half_size=True, use_camera_wb=True, output_bps=8, no_auto_bright=False
                )  # LibRaw applies the flip itself
                image = imaging.fit_rgb(Image.fromarray(rgb), min_side)
                method = "demosaic"
            # EXIF last: a file too damaged to decode is not worth parsing (nor its warnings).
            exif = _tiff_exif(data) or preview_exif
            return RawDecoded(image, exif, flip_orientation, (width, height), method, stamp)
    except RawError:
        raise
    except rawpy.LibRawFileUnsupportedError:
        raise RawError("not a supported RAW file") from None
    except rawpy.LibRawIOError:
        raise RawError("truncated or damaged RAW data") from None
    except (rawpy.LibRawError, rawpy.NotSupportedError) as exc:
        raise RawError(f"cannot decode RAW: {type(exc).__name__.removeprefix('LibRaw')}") from None
    except MemoryError:
        raise RawError("cannot decode: out of memory") from None
