"""Keywords other programs already gave the photos (digiKam, Lightroom, darktable, cameras).

On every scan, a photo whose sidecars (``IMG_1.jpg.xmp``, ``IMG_1.xmp``) or file changed
since the last look has its keywords read: from the sidecars and from the XMP and IPTC
embedded in the file. They become manual tags, so years of tagging elsewhere are there on
the first day. Hierarchies become "parent/child" tags, except a "Category|label" pair of
one of this library's categories, which is that label.

A keyword never overrides a decision made in photosort: a tag already set or rejected by
hand on that photo is left as it is. Keywords photosort wrote itself (its
``photosort:Keywords``) are imported only when the photo does not have them already, so an
auto tag written to a sidecar does not come back frozen as a manual one.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any

from photosort.core import xmp
from photosort.core.catalog import (
    Catalog,
    now_iso,
)
from photosort.core.progress import ProgressCallback, RateMeter
from photosort.core.store import TagStore
from photosort.core.store.keywords import KeywordImportStore

if TYPE_CHECKING:  # Pillow is imported by the photos whose keywords are read (imaging.py)
    from PIL import Image

__all__ = [
    "ImportSummary",
    "adopted_keywords",
    "embedded_keyword_paths",
    "import_keywords",
    "tag_for_path",
]


_IPTC_KEYWORDS = (2, 25)
_IPTC_CHARSET = (1, 90)
_UTF8_ESCAPE = b"\x1b%G"
_TIFF_XMP = 700

#: A string as JSON writes it (quoted, non-ASCII escaped), the C encoder json.dumps uses.
_json_string = encode_basestring_ascii


@dataclass
class ImportSummary:
    tags: int = 0
    sidecars: int = 0
    files: int = 0  # photos whose embedded XMP/IPTC gave keywords
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False

    def line(self) -> str:
        text = f"imported {self.tags:,} tags from {self.sidecars:,} sidecars"
        if self.files:
            text += f" and {self.files:,} files"
        return text

    def as_dict(self) -> dict:
        return {"tags": self.tags, "sidecars": self.sidecars, "files": self.files}


def tag_for_path(path: Sequence[str], labels: dict[str, str]) -> str:
    """The photosort tag for a keyword hierarchy (``labels``: label name -> category)."""
    if len(path) == 2 and labels.get(path[1]) == path[0]:
        return path[1]
    return "/".join(path)


def _iptc_keywords(im: Image.Image) -> list[str]:
    from PIL import IptcImagePlugin

    try:
        info = IptcImagePlugin.getiptcinfo(im) or {}  # type: ignore[arg-type]  # any image
    except Exception:
        return []
    raw = info.get(_IPTC_KEYWORDS)
    if raw is None:
        return []
    values = raw if isinstance(raw, list) else [raw]
    utf8 = info.get(_IPTC_CHARSET) == _UTF8_ESCAPE
    out: list[str] = []
    for value in values:
        if isinstance(value, bytes):
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                if utf8:
                    continue
                text = value.decode("latin-1")
        else:
            text = str(value)
        text = text.strip()
        if text:
            out.append(text)
    return out


def embedded_keyword_paths(path: str) -> list[tuple[str, ...]]:
    """Keyword hierarchies embedded in a photo (XMP packet and IPTC), read from its header."""
    from photosort.core.imaging import open_file, open_image

    with warnings.catch_warnings():  # a damaged TIFF header warns; it just has no keywords
        warnings.simplefilter("ignore")
        try:
            with open_file(path) as fh, open_image(fh) as im:
                packet = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
                if packet is None and hasattr(im, "tag_v2"):
                    packet = im.tag_v2.get(_TIFF_XMP)
                iptc = _iptc_keywords(im)
        except Exception:  # unreadable or damaged: no keywords, never a failed scan
            return []
    paths: list[tuple[str, ...]] = []
    if isinstance(packet, str):
        packet = packet.encode("utf-8")
    if isinstance(packet, bytes | bytearray) and packet:
        start = packet.find(b"<")
        with contextlib.suppress(xmp.XmpError):
            paths += xmp.keyword_paths(bytes(packet[start:]) if start >= 0 else b"")
    levels = {part for p in paths for part in p}
    paths += [(k,) for k in iptc if k not in levels]
    return list(dict.fromkeys(paths))


def _signature(path: str, sidecars: list[str], stamp: tuple[int, int] | None = None) -> str:
    """``[["IMG_1.jpg",size,mtime_ns],...]`` of the photo and its sidecars: what, when
    changed, means its keywords are read again. Written out by hand, byte for byte what
    ``json.dumps(parts, separators=(",", ":"))`` gave (signatures already stored stay
    valid), at a third of its cost: a rescan computes one per photo. ``stamp``: the
    photo's (size, mtime_ns) as a walk just found it, so the photo is not stat'ed again."""
    parts: list[str] = []
    if stamp is not None:
        parts.append(f"[{_json_string(os.path.basename(path))},{stamp[0]},{stamp[1]}]")
    for p in sidecars if stamp is not None else [path, *sidecars]:
        try:
            st = os.stat(p)
        except OSError:
            continue
        name = _json_string(os.path.basename(p))
        parts.append(f"[{name},{st.st_size},{st.st_mtime_ns}]")
    return "[" + ",".join(parts) + "]"


def _split_posix(path: str) -> tuple[str, str]:
    """``(folder + "/", name)``: what ``os.path.dirname``/``basename`` find (the folder
    keeps its slash) at a third of their cost; a rescan splits every photo's path."""
    cut = path.rfind("/") + 1
    return path[:cut], path[cut:]


#: A path's folder (as ``_Sidecars.any_in`` takes it) and file name.
_split = _split_posix if os.sep == "/" and os.altsep is None else os.path.split


class _Sidecars:
    """The sidecars of each photo, asking the disk once per folder first: a folder with no
    ``.xmp`` file (most) needs no look for each photo's two candidates (before: two
    ``stat`` calls and two ``Path`` objects per photo on every rescan)."""

    def __init__(self) -> None:
        self._any_in: dict[str, bool] = {}

    def any_in(self, folder: str) -> bool:
        """Whether ``folder`` holds any ``.xmp`` file (True when it cannot be listed)."""
        found = self._any_in.get(folder)
        if found is None:
            try:
                found = any(name[-4:].lower() == xmp.SUFFIX for name in os.listdir(folder))
            except OSError:
                found = True  # cannot tell: look for each candidate
            self._any_in[folder] = found
        return found

    def __call__(self, path: str) -> list[str]:
        if not self.any_in(_split(path)[0]):
            return []
        return [str(c) for c in xmp.sidecar_candidates(path) if c.is_file()]


def _owned_paths(data: bytes) -> set[tuple[str, ...]]:
    try:
        import xml.etree.ElementTree as ET

        root = ET.fromstring(data)
    except Exception:
        return set()
    out = set()
    for element in root.iter(f"{{{xmp.NS['photosort']}}}Keywords"):
        for li in element.iter(f"{{{xmp.NS['rdf']}}}li"):
            if li.text:
                out.add(tuple(li.text.split("|")))
    return out


def import_keywords(
    catalog: Catalog,
    root_ids: Sequence[int],
    redirect: Callable[[int], int] = lambda pid: pid,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    embedded: bool = True,
    walked: bool = False,
) -> ImportSummary:
    """Import the keywords of every photo in these roots whose sources changed.

    ``redirect`` maps a photo to the one that carries its tags (a RAW to its JPEG).
    ``walked``: a scan has just walked these roots, so the catalog's size and mtime of
    each photo are the file's own and the photo is not stat'ed again (a rescan of 10k
    files: 10k ``stat`` calls less); only sidecars are. A photo of a root the scan found
    missing keeps its signature, so it is read again only once its file changes.
    """
    summary = ImportSummary()
    if not root_ids:
        return summary
    store = KeywordImportStore(catalog)
    labels = TagStore(catalog).label_categories()
    meter = RateMeter("reading keywords", store.count_photos(root_ids), on_progress)
    # (photo, signature, [(tag, photosort wrote it)], keyword paths read from its sidecars)
    pending: list[tuple[int, str, list[tuple[str, bool]], list[tuple[str, ...]]]] = []
    sidecars_of = _Sidecars()
    for n, (pid, path, old_sig, size, mtime_ns) in enumerate(_photos(store, root_ids), 1):
        if should_cancel and should_cancel():
            summary.cancelled = True
            break
        folder, name = _split(path)
        if walked and not sidecars_of.any_in(folder):  # most photos: _signature, inlined
            sidecars = []
            sig = f"[[{_json_string(name)},{size},{mtime_ns}]]"
        else:
            sidecars = sidecars_of(path)
            sig = _signature(path, sidecars, (size, mtime_ns) if walked else None)
        if sig == old_sig:
            continue
        found: list[tuple[str, bool]] = []
        from_sidecars: list[tuple[str, ...]] = []
        for sidecar in sidecars:
            try:
                with open(sidecar, "rb") as fh:
                    data = fh.read(16 << 20)
                keyword_paths = xmp.keyword_paths(data)
            except (OSError, xmp.XmpError) as exc:
                summary.warnings.append(f"{sidecar}: {exc}")
                continue
            owned = _owned_paths(data)
            if keyword_paths:
                summary.sidecars += 1
            found += [(tag_for_path(p, labels), p in owned) for p in keyword_paths]
            from_sidecars += [p for p in keyword_paths if p not in owned]
        if embedded:
            inside = embedded_keyword_paths(path)
            if inside:
                summary.files += 1
            found += [(tag_for_path(p, labels), False) for p in inside]
        pending.append((pid, sig, found, from_sidecars))
        if len(pending) >= 256:
            summary.tags += _store(catalog, pending, redirect)
            pending.clear()
        meter.report(n, path)
    summary.tags += _store(catalog, pending, redirect)
    return summary


#: Photos read from the catalog at a time while importing keywords.
_PAGE = 2000


def _photos(store: KeywordImportStore, root_ids: Sequence[int]) -> Iterator[Any]:
    """The roots' photos (see ``photos_with_signatures``) a page at a time: all 100k of
    them at once were 20 MB at the end of a scan (issue 13)."""
    after: str | None = None
    while True:
        rows = store.photos_with_signatures(root_ids, after, _PAGE)
        yield from rows
        if len(rows) < _PAGE:
            return
        after = rows[-1][1]


def _store(
    catalog: Catalog,
    pending: list[tuple[int, str, list[tuple[str, bool]], list[tuple[str, ...]]]],
    redirect: Callable[[int], int],
) -> int:
    """Add the found keywords as manual tags where no decision exists; remember signatures."""
    if not pending:
        return 0
    from photosort.core.categories import CategoryError, clean_tag

    added = 0
    stamp = now_iso()
    with catalog.transaction() as conn:
        tags, imports = TagStore(conn), KeywordImportStore(conn)
        for pid, sig, found, from_sidecars in pending:
            target = redirect(pid)
            for tag, ours in dict.fromkeys(found):
                try:
                    tag = clean_tag(tag)
                except CategoryError:
                    continue  # a keyword photosort cannot hold as a tag (empty, too long)
                if tags.has_decision(target, tag):
                    continue
                if ours and tags.carries(target, tag):
                    continue
                added += tags.add_if_undecided(target, tag, stamp)
            # What was adopted stays adopted: photosort owns it from now on (see xmp.py).
            old = imports.adopted_json(pid)
            adopted = [tuple(p) for p in json.loads(old)] if old is not None else []
            adopted = list(dict.fromkeys(adopted + from_sidecars))
            imports.remember(pid, sig, json.dumps(adopted, ensure_ascii=False))
    return added


def adopted_keywords(
    catalog: Catalog, photo_ids: Sequence[int]
) -> dict[int, list[tuple[str, ...]]]:
    """Keyword paths photosort imported from each photo's sidecars (it owns them now)."""
    out: dict[int, list[tuple[str, ...]]] = {}
    rows = KeywordImportStore(catalog).adopted_of(photo_ids)
    out.update({r[0]: [tuple(p) for p in json.loads(r[1])] for r in rows})
    return out
