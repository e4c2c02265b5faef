"""Which files are photos, by extension, known without importing Pillow.

The walk of every scan needs only these sets; Pillow (and its EXIF tables) costs a cold
start 15-20 ms, so a no-change rescan must not import it (issue 13). ``imaging`` decodes
what is listed here and re-exports the sets.
"""

from __future__ import annotations

import importlib.util

from photosort.core.raw import RAW_AVAILABLE, RAW_EXTENSIONS

__all__ = ["AVIF_AVAILABLE", "HEIF_AVAILABLE", "SUPPORTED_EXTENSIONS", "VIDEO_EXTENSIONS"]

_BASE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
)
_HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif"})
# find_spec instead of importing: loading libheif costs time at startup, registration is lazy.
# pillow-heif is a normal dependency; the check only keeps a broken install usable.
HEIF_AVAILABLE = importlib.util.find_spec("pillow_heif") is not None
# AVIF is built into Pillow (11.3+) when its wheel carries libavif: the module Pillow's
# ``features.check("avif")`` imports, looked up without loading it.
AVIF_AVAILABLE = importlib.util.find_spec("PIL._avif") is not None

SUPPORTED_EXTENSIONS: frozenset[str] = (
    _BASE_EXTENSIONS
    | (_HEIF_EXTENSIONS if HEIF_AVAILABLE else frozenset())
    | (frozenset({".avif"}) if AVIF_AVAILABLE else frozenset())
    | (RAW_EXTENSIONS if RAW_AVAILABLE else frozenset())
)

#: Files a photo folder often holds that photosort does not index (counted by ``status``).
VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {".mov", ".mp4", ".m4v", ".avi", ".mts", ".m2ts", ".3gp", ".mkv", ".webm", ".wmv", ".mpg"}
)
