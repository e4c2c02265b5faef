"""Names valid and harmless on every OS: no separators, device names, controls or bidi
tricks, at most ``MAX_NAME_BYTES``; a taken name gets " (2)", " (3)" ..."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator

from photosort.core import folders as folder_rules

MAX_NAME_BYTES = 200  # under every file system's 255, with room for " (99999)"


#: Unicode categories never kept in a name: controls, format characters (bidi overrides
#: such as U+202E that make "‮gpj.exe" read as "exe.jpg", zero-width spaces and joiners),
#: line and paragraph separators, lone surrogates.
_DROPPED_CATEGORIES = ("Cc", "Cf", "Zl", "Zp", "Cs")


_ILLEGAL = set('<>:"/\\|?*')
_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{dev}{n}" for dev in ("COM", "LPT") for n in [*"0123456789", "¹", "²", "³"]
}


def safe_name(name: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """One path component that is valid and harmless on Windows, macOS and Linux."""
    text = unicodedata.normalize("NFC", str(name))
    text = "".join(
        "_" if ch in _ILLEGAL else ch
        for ch in text
        if unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )
    text = _trim(text)
    if text.split(".")[0].strip().upper() in _RESERVED:
        text = "_" + text
    encoded = text.encode("utf-8")
    if len(encoded) > max_bytes:
        text = _trim(encoded[:max_bytes].decode("utf-8", "ignore"))
    return text or "_"


def _trim(text: str) -> str:
    # Leading dots would hide the folder and "." / ".." are not names: dots are dropped,
    # and a name of dots alone becomes one "_" per dot, so ".", ".." and "..." stay three
    # names (tag_folders keeps any other two tags apart). Windows drops trailing dots and
    # spaces, which would make two names the same.
    text = text.strip()
    if text and not text.strip("."):
        return "_" * len(text)
    return text.lstrip(".").strip().rstrip(". ")


def safe_filename(name: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    stem, ext = os.path.splitext(name)
    ext = safe_name(ext.lstrip("."), 16) if ext.strip(". ") else ""
    stem = safe_name(stem, max_bytes - len(ext.encode()) - 1)
    return f"{stem}.{ext}" if ext else stem


def candidates(name: str) -> Iterator[str]:
    """``name``, then ``name (2)``, ``name (3)`` ... with the extension kept at the end."""
    yield name
    stem, ext = os.path.splitext(name)
    n = 2
    while True:
        yield f"{stem} ({n}){ext}"
        n += 1


def inside(folder: str | os.PathLike, base: str | os.PathLike) -> bool:
    """True when ``folder`` resolves (links followed) to ``base`` or somewhere below it."""
    return folder_rules.inside(os.path.realpath(folder), os.path.realpath(base))
