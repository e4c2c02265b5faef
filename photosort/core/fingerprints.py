"""Pixel fingerprints of a photo: a perceptual hash, a sharpness and a colour measure.

They are computed at scan time from the image the pipeline has already decoded for the
model (about a millisecond), and stored with the photo's content hash so a changed file
never keeps a stale fingerprint. Photos scanned before fingerprints existed get theirs
lazily, only when the duplicate finder needs them.

* ``phash``: imagehash's DCT hash (64 bits) of the grayscale image. It survives resizing,
  recompression, a few percent of cropping, format conversion and grayscale, while two
  different shots of one scene land far apart (measured: README, "Duplicates").
* ``sharpness``: variance of the Laplacian of the grayscale image at a fixed scale
  (``SHARP_SIDE`` on the short side), comparable between copies of one shot.
* ``colour``: mean channel spread (0 for a grayscale picture), so a colour original
  beats its grayscale copy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from photosort.core.catalog import Catalog, CatalogError
from photosort.core.lazy_import import lazy_module, np

# Pillow on first use: the scan imports this module, and one with nothing to embed never
# fingerprints a photo (issue 13).
if TYPE_CHECKING:
    from PIL import Image
else:
    Image = lazy_module("PIL.Image")
from photosort.core.store import FingerprintStore

#: Short side (px) sharpness is measured at; the pipeline decodes at least this for CLIP.
SHARP_SIDE = 224
#: Decode size for fingerprints computed lazily (matches a ViT-B-32 scan).
LAZY_DECODE_SIDE = 224


@dataclass(frozen=True)
class Fingerprint:
    phash: int  # signed 64-bit, as SQLite stores integers
    sharpness: float
    sharp_side: int  # the short side sharpness was measured at; compare like with like
    colour: float


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def perceptual_hash(gray: Image.Image) -> int:
    import imagehash

    return _signed(int(str(imagehash.phash(gray)), 16))


def fingerprint(image: Image.Image) -> Fingerprint:
    """Fingerprint of an upright decoded image (any mode)."""
    gray = image.convert("L")
    phash = perceptual_hash(gray)
    w, h = gray.size
    if min(w, h) > SHARP_SIDE:
        scale = SHARP_SIDE / min(w, h)
        gray = gray.resize(
            (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR
        )
    a = np.asarray(gray, dtype=np.float32)
    if min(a.shape) >= 3:
        lap = a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:] - 4 * a[1:-1, 1:-1]
        sharpness = float(lap.var())
    else:
        sharpness = 0.0
    rgb = image.convert("RGB")
    rgb.thumbnail((64, 64))
    c = np.asarray(rgb, dtype=np.int16)
    colour = float((c.max(axis=2) - c.min(axis=2)).mean() / 255.0)
    return Fingerprint(phash, sharpness, min(gray.size), colour)


def store(conn: sqlite3.Connection, rows: Iterable[tuple[int, str | None, Fingerprint]]) -> None:
    """Insert or replace fingerprints inside the caller's transaction."""
    FingerprintStore(conn).put(
        (pid, chash, f.phash, f.sharpness, f.sharp_side, f.colour) for pid, chash, f in rows
    )


def load(catalog: Catalog, photo_ids: Iterable[int] | None = None) -> dict[int, Fingerprint]:
    """Stored fingerprints still valid for the photo's current content."""
    out: dict[int, Fingerprint] = {}
    for r in FingerprintStore(catalog).valid(photo_ids):
        out[r[0]] = Fingerprint(r[1], r[2], r[3], r[4])
    return out


def ensure(catalog: Catalog, photos: dict[int, tuple[str, str | None]]) -> dict[int, Fingerprint]:
    """Fingerprints of ``photos`` (id -> (path, content hash)), computing missing ones from
    the files and caching them; an unreadable file simply has none."""
    from photosort.core.imaging import DecodeError, decode_photo

    have = load(catalog, photos)
    made: list[tuple[int, str | None, Fingerprint]] = []
    for pid, (path, chash) in photos.items():
        if pid in have:
            continue
        try:
            have[pid] = fingerprint(decode_photo(path, min_side=LAZY_DECODE_SIDE).image)
        except DecodeError:
            continue
        made.append((pid, chash, have[pid]))
    if made:
        try:
            with catalog.transaction() as conn:
                store(conn, made)
        except CatalogError:
            pass  # a read-only or busy library: computed again next time
    return have
