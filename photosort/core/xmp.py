"""XMP sidecars that carry tags with the files, readable by digiKam, darktable and Lightroom.

Tags go into ``dc:subject`` (a bag of keywords, which all of them read), plus the
hierarchical forms ``lr:hierarchicalSubject`` ("Time of day|dusk") and
``digiKam:TagsList`` ("Time of day/dusk"). A tag with "/" in its name is a hierarchy
("Places/France/Paris"), written the same way. The sidecar is named ``photo.jpg.xmp`` (the
darktable and digiKam default), so ``IMG_1.jpg`` and ``IMG_1.cr2`` never share one.

A sidecar is only ever written on request, and it is merged, never replaced: photosort
owns only the keywords it wrote itself (listed in its own ``photosort:Keywords``), so a
rating, colour label, title, darktable history or Lightroom develop setting, or a keyword
another program added, survives every ``photosort xmp``. A file that is not XMP is left
alone. Originals are never opened for writing.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from photosort.core.errors import PhotosortError
from photosort.core.private import follow_umask

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "photosort": "https://github.com/photosort/ns/1.0/",
    "MicrosoftPhoto": "http://ns.microsoft.com/photo/1.0/",
}
CREATOR = "photosort"
SUFFIX = ".xmp"
_PACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_PACKET_END = '\n<?xpacket end="w"?>\n'
_MAX_SIDECAR = 16 << 20  # a larger ".xmp" is not a sidecar we should parse

for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)
_ns_lock = threading.Lock()  # ElementTree's prefix registry is global


class XmpError(PhotosortError):
    """A sidecar that cannot be written or read."""


@dataclass(frozen=True)
class SidecarTag:
    name: str
    category: str | None = None

    def path(self) -> tuple[str, ...]:
        """The keyword hierarchy: (category, name), or the parts of "parent/child"."""
        if self.category:
            return (self.category.replace("/", "-").replace("|", "-"), self.name)
        parts = tuple(p.strip() for p in self.name.split("/") if p.strip())
        return parts or (self.name,)


# The three keyword lists photosort writes, and how a hierarchy is spelled in each.
_KEYWORD_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("dc", "subject", "Bag"),
    ("lr", "hierarchicalSubject", "Bag"),
    ("digiKam", "TagsList", "Seq"),
)


def _spell(field: str, path: Sequence[str]) -> str:
    if field == "subject":
        return path[-1]
    return ("|" if field == "hierarchicalSubject" else "/").join(path)


def sidecar_path(photo: str | os.PathLike) -> Path:
    """``photo.jpg.xmp``, or Lightroom's ``photo.xmp`` when only that one exists."""
    own = Path(os.fspath(photo) + SUFFIX)
    if own.exists() or own.is_symlink():
        return own
    stem = Path(os.path.splitext(os.fspath(photo))[0] + SUFFIX)
    return stem if stem.is_file() and not stem.is_symlink() else own


def sidecar_candidates(photo: str | os.PathLike) -> list[Path]:
    """Where other programs keep a photo's sidecar: digiKam/darktable's, then Lightroom's."""
    return [Path(os.fspath(photo) + SUFFIX), Path(os.path.splitext(os.fspath(photo))[0] + SUFFIX)]


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


# --------------------------------------------------------------------------- parsing


def _parse(data: bytes) -> tuple[ET.Element, list[tuple[str, str]]]:
    """The document (comments kept) and its namespace prefixes, so a merge keeps them."""
    prefixes: list[tuple[str, str]] = []
    for _event, (prefix, uri) in ET.iterparse(io.BytesIO(data), events=("start-ns",)):
        prefixes.append((prefix, uri))
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    parser.feed(data)
    return parser.close(), prefixes


def _rdf_root(root: ET.Element) -> ET.Element | None:
    if root.tag == _q("rdf", "RDF"):
        return root
    return root.find(_q("rdf", "RDF")) if root.tag == _q("x", "xmpmeta") else None


def _items(holder: ET.Element) -> list[str]:
    return [(li.text or "").strip() for li in holder.iter(_q("rdf", "li"))]


def _field_items(rdf: ET.Element, prefix: str, name: str) -> list[str]:
    out: list[str] = []
    for desc in rdf.iter(_q("rdf", "Description")):
        for element in desc.findall(_q(prefix, name)):
            out += _items(element)
    return out


def keyword_paths(data: bytes) -> list[tuple[str, ...]]:
    """Keyword hierarchies in an XMP packet (sidecar or embedded), deepest forms only.

    ``lr:hierarchicalSubject`` ("a|b"), ``digiKam:TagsList`` and Windows'
    ``MicrosoftPhoto:LastKeywordXMP`` ("a/b") give hierarchies; an ancestor listed on its
    own (Lightroom and digiKam list "a" beside "a|b") is dropped. A ``dc:subject`` keyword
    that names a level of a hierarchy is the same keyword; the others are flat ones.
    Raises XmpError for text that is not XML.
    """
    try:
        root, _ = _parse(data)
    except ET.ParseError as exc:
        raise XmpError(f"not XMP: {exc}") from None
    rdf = root if root.tag == _q("rdf", "RDF") else root.find(f".//{_q('rdf', 'RDF')}")
    if rdf is None:
        return []
    paths: list[tuple[str, ...]] = []
    for prefix, name, sep in (
        ("lr", "hierarchicalSubject", "|"),
        ("digiKam", "TagsList", "/"),
        ("MicrosoftPhoto", "LastKeywordXMP", "/"),
    ):
        for item in _field_items(rdf, prefix, name):
            parts = tuple(p.strip() for p in item.split(sep) if p.strip())
            if parts:
                paths.append(parts)
    # darktable's own bookkeeping tags ("darktable|format|cr2") are not the user's keywords.
    paths = [p for p in dict.fromkeys(paths) if p[0].casefold() != "darktable"]
    deepest = [p for p in paths if not any(len(o) > len(p) and o[: len(p)] == p for o in paths)]
    levels = {part for p in paths for part in p}
    flat: list[tuple[str, ...]] = [
        (k,) for k in _field_items(rdf, "dc", "subject") if k and k not in levels
    ]
    return list(dict.fromkeys(deepest + flat))


def read_tags(path: str | os.PathLike) -> list[str]:
    """Keywords (``dc:subject``) of a sidecar, in document order."""
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError) as exc:
        raise XmpError(f"cannot read XMP {path}: {exc}") from exc
    out: list[str] = []
    for subject in tree.getroot().iter(_q("dc", "subject")):
        out += [li.text or "" for li in subject.iter(_q("rdf", "li"))]
    return out


def _owned(rdf: ET.Element) -> list[tuple[str, ...]] | None:
    """Keyword paths photosort wrote last time; None when it never wrote here."""
    found = False
    out: list[tuple[str, ...]] = []
    for desc in rdf.iter(_q("rdf", "Description")):
        for element in desc.findall(_q("photosort", "Keywords")):
            found = True
            out += [tuple(i.split("|")) for i in _items(element) if i]
    if found:
        return out
    if any(d.get(_q("xmp", "CreatorTool")) == CREATOR for d in rdf.iter(_q("rdf", "Description"))):
        # Written by an older photosort, which owned every keyword in the file.
        return [tuple(i.split("|")) for i in _field_items(rdf, "lr", "hierarchicalSubject")]
    return None


def written_by_us(path: str | os.PathLike) -> bool:
    """True when photosort has keywords of its own in this sidecar (so it may need a refresh)."""
    try:
        data = Path(path).read_bytes()
        rdf = _rdf_root(_parse(data)[0])
    except (OSError, ET.ParseError):
        return False
    return rdf is not None and bool(_owned(rdf))


# --------------------------------------------------------------------------- writing


def _set_list(
    desc_list: list[ET.Element], prefix: str, name: str, kind: str, items: list[str]
) -> None:
    """Replace the items of one list property (wherever it is), creating or dropping it."""
    elements = [(d, e) for d in desc_list for e in d.findall(_q(prefix, name))]
    for desc, element in elements[1:]:
        desc.remove(element)
    if not items:
        if elements:
            elements[0][0].remove(elements[0][1])
        return
    if elements:
        element = elements[0][1]
        holder = next(iter(element), None)
        if holder is None or holder.tag not in (_q("rdf", "Bag"), _q("rdf", "Seq")):
            element.clear()
            holder = ET.SubElement(element, _q("rdf", kind))
        for li in list(holder):
            holder.remove(li)
    else:
        holder = ET.SubElement(ET.SubElement(desc_list[0], _q(prefix, name)), _q("rdf", kind))
    for item in items:
        ET.SubElement(holder, _q("rdf", "li")).text = item


def _merge(
    rdf: ET.Element, tags: list[SidecarTag], adopted: Iterable[tuple[str, ...]] = ()
) -> None:
    """Put *tags* into the document, replacing only the keywords photosort owns: those it
    wrote, and the *adopted* ones it imported from this file (now photosort tags)."""
    descs = list(rdf.iter(_q("rdf", "Description")))
    if not descs:
        descs = [ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})]
    new = [t.path() for t in tags]
    removed = {tuple(p) for p in [*(_owned(rdf) or []), *adopted]} - set(new)
    # Levels above a removed keyword, listed on their own by Lightroom and digiKam, go with
    # it unless a keyword that stays still lives under them.
    above = {p[:i] for p in removed for i in range(1, len(p))}
    fields = [*_KEYWORD_FIELDS]
    if any(d.findall(_q("MicrosoftPhoto", "LastKeywordXMP")) for d in descs):
        fields.append(("MicrosoftPhoto", "LastKeywordXMP", "Bag"))  # digiKam keeps it too
    results: dict[str, list[str]] = {}
    for prefix, name, _kind in fields:
        gone = {_spell(name, p) for p in removed}
        wanted = [_spell(name, p) for p in new]
        keep = [i for i in _field_items(rdf, prefix, name) if i not in gone or i in wanted]
        results[name] = list(dict.fromkeys(keep + wanted))
    staying = {
        tuple(x.strip() for x in item.split(sep))
        for name, sep in (("hierarchicalSubject", "|"), ("TagsList", "/"), ("LastKeywordXMP", "/"))
        for item in results.get(name, [])
    }

    def still_needed(path: tuple[str, ...]) -> bool:
        return any(len(o) > len(path) and o[: len(path)] == path for o in staying)

    orphans = {p for p in above if not still_needed(p)}
    levels = {part for p in staying - orphans for part in p}
    for prefix, name, kind in fields:
        items = results[name]
        if name == "subject":
            drop = {p[-1] for p in orphans} - levels - {p[-1] for p in new}
            items = [i for i in items if i not in drop]
        else:
            sep = "|" if name == "hierarchicalSubject" else "/"
            items = [i for i in items if tuple(x.strip() for x in i.split(sep)) not in orphans]
        _set_list(descs, prefix, name, kind, items)
    _set_list(descs, "photosort", "Keywords", "Bag", ["|".join(p) for p in new])


def _serialise(root: ET.Element, prefixes: list[tuple[str, str]]) -> str:
    with _ns_lock:
        for prefix, uri in prefixes:
            if not prefix or re.fullmatch(r"ns\d+", prefix) or prefix in ("xml",):
                continue
            if NS.get(prefix, uri) != uri:
                continue  # the file spells one of our prefixes differently: keep ours
            try:
                ET.register_namespace(prefix, uri)
            except ValueError:
                continue
        for prefix, uri in NS.items():
            ET.register_namespace(prefix, uri)
        ET.indent(root, space=" ")
        text = ET.tostring(root, encoding="unicode")
    return _PACKET_BEGIN + text + _PACKET_END


def render(
    tags: Iterable[SidecarTag],
    existing: bytes | None = None,
    adopted: Iterable[tuple[str, ...]] = (),
) -> str:
    """The sidecar for these tags: a new document, or *existing* with the tags merged in.

    Raises XmpError when *existing* is not an XMP document (it is then left alone).
    """
    tags = list({t.name: t for t in tags}.values())
    if existing is None:
        root = ET.Element(_q("x", "xmpmeta"))
        rdf = ET.SubElement(root, _q("rdf", "RDF"))
        desc = ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})
        desc.set(_q("xmp", "CreatorTool"), CREATOR)
        prefixes: list[tuple[str, str]] = []
    else:
        try:
            root, prefixes = _parse(existing)
        except ET.ParseError as exc:
            raise XmpError(f"not XMP: {exc}") from None
        found = _rdf_root(root)
        if found is None:
            raise XmpError("not XMP: no rdf:RDF")
        rdf = found
    _merge(rdf, tags, adopted)
    return _serialise(root, prefixes)


def _snapshot(path: Path) -> tuple[bytes, tuple[int, int]] | None:
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if st.st_size > _MAX_SIDECAR:
                raise XmpError(f"{path} is too large to be a sidecar")
            return fh.read(), (st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        return None


def write_sidecar(
    photo: str | os.PathLike,
    tags: Iterable[SidecarTag],
    adopted: Iterable[tuple[str, ...]] = (),
) -> tuple[Path, str]:
    """Write or merge ``photo.ext.xmp``; returns (path, "written" | "updated" | "kept-foreign").

    *adopted*: keywords photosort imported from this sidecar; they are photosort tags now,
    so one the user removed in photosort leaves the sidecar too.

    "kept-foreign": the file there is not XMP (or is a symlink), so it was not touched.
    The text goes to a temporary file in the same folder first, so a reader never sees
    half a sidecar; a new name is claimed with an exclusive link, never overwriting, and
    an existing sidecar is replaced only if no other program changed it meanwhile.
    """
    tags = list(tags)
    adopted = list(adopted)
    target = sidecar_path(photo)
    if target.is_symlink() or (target.exists() and not target.is_file()):
        return target, "kept-foreign"  # a link or a FIFO: never followed, never blocked on
    for _attempt in range(5):
        before = _snapshot(target)
        try:
            text = render(tags, before[0] if before else None, adopted)
        except XmpError:
            return target, "kept-foreign"
        outcome = _put(target, text, before)
        if outcome is not None:
            return target, outcome
    raise XmpError(f"{target} keeps changing while photosort merges its tags; try again")


def _put(target: Path, text: str, before: tuple[bytes, tuple[int, int]] | None) -> str | None:
    """Install *text* at *target*; None when the sidecar changed since it was read."""
    fd, tmp = tempfile.mkstemp(prefix=".photosort-", suffix=".xmp.tmp", dir=target.parent)
    placed = False  # the temporary file became the sidecar (nothing left to clean up)
    try:
        follow_umask(fd)  # a sidecar is the user's file, for other apps and NAS services
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if before is not None:
            try:
                st = os.stat(target)
            except FileNotFoundError:
                return None
            if (st.st_mtime_ns, st.st_size) != before[1]:
                return None  # another program wrote it meanwhile: merge again
            os.chmod(tmp, st.st_mode & 0o7777)
            os.replace(tmp, target)
            placed = True
            return "updated"
        try:
            os.link(tmp, target)
        except FileExistsError:
            return None
        except OSError:  # no hard links here (FAT, some shares): claim the name, then fill it
            try:
                with open(target, "xb"):
                    pass
            except FileExistsError:
                return None
            os.replace(tmp, target)
            placed = True
        return "written"
    finally:
        if not placed and os.path.exists(tmp):
            os.unlink(tmp)


@dataclass
class XmpSummary:
    written: int = 0
    updated: int = 0
    unchanged_foreign: list[str] = field(default_factory=list)  # other programs' sidecars
    failures: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False

    def line(self) -> str:
        text = (
            f"{self.written} sidecars written, {self.updated} updated, "
            f"{len(self.unchanged_foreign)} left alone (not XMP), "
            f"{len(self.failures)} failed"
        )
        return ("cancelled: " if self.cancelled else "") + text

    def as_dict(self) -> dict:
        return {
            "written": self.written,
            "updated": self.updated,
            "left_alone": list(self.unchanged_foreign),
            "failures": [{"path": p, "reason": r} for p, r in self.failures],
            "cancelled": self.cancelled,
        }
