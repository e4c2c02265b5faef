"""XMP sidecars that carry tags with the files, readable by digiKam, darktable and Lightroom.

Tags go into ``dc:subject`` (a bag of keywords, which all of them read), plus the
hierarchical forms ``lr:hierarchicalSubject`` ("Time of day|dusk") and
``digiKam:TagsList`` ("Time of day/dusk"). The sidecar is named ``photo.jpg.xmp`` (the
darktable and digiKam default), so ``IMG_1.jpg`` and ``IMG_1.cr2`` never share one.

A sidecar is only ever written on request, never over a sidecar another program wrote
(it may hold edits): an existing file is replaced only when its ``xmp:CreatorTool`` says
photosort wrote it. Originals are never opened for writing.
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
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
}
CREATOR = "photosort"
SUFFIX = ".xmp"
_PACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_PACKET_END = '\n<?xpacket end="w"?>\n'

for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)


class XmpError(PhotosortError):
    """A sidecar that cannot be written or read."""


@dataclass(frozen=True)
class SidecarTag:
    name: str
    category: str | None = None


def sidecar_path(photo: str | os.PathLike) -> Path:
    return Path(os.fspath(photo) + SUFFIX)


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def render(tags: Iterable[SidecarTag]) -> str:
    """The sidecar document for these tags (keywords in the given order, no duplicates)."""
    tags = list({t.name: t for t in tags}.values())
    root = ET.Element(_q("x", "xmpmeta"))
    rdf = ET.SubElement(root, _q("rdf", "RDF"))
    desc = ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): ""})
    desc.set(_q("xmp", "CreatorTool"), CREATOR)

    def container(prefix: str, name: str, kind: str, items: list[str]) -> None:
        holder = ET.SubElement(ET.SubElement(desc, _q(prefix, name)), _q("rdf", kind))
        for item in items:
            ET.SubElement(holder, _q("rdf", "li")).text = item

    container("dc", "subject", "Bag", [t.name for t in tags])
    container(
        "lr",
        "hierarchicalSubject",
        "Bag",
        [f"{t.category}|{t.name}" if t.category else t.name for t in tags],
    )
    container(
        "digiKam",
        "TagsList",
        "Seq",
        [f"{t.category.replace('/', '-')}/{t.name}" if t.category else t.name for t in tags],
    )
    ET.indent(root, space=" ")
    return _PACKET_BEGIN + ET.tostring(root, encoding="unicode") + _PACKET_END


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


def written_by_us(path: str | os.PathLike) -> bool:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return False
    return any(
        d.get(_q("xmp", "CreatorTool")) == CREATOR for d in root.iter(_q("rdf", "Description"))
    )


def write_sidecar(photo: str | os.PathLike, tags: Iterable[SidecarTag]) -> tuple[Path, str]:
    """Write ``photo.ext.xmp``; returns (path, "written" | "updated" | "kept-foreign").

    The text goes to a temporary file in the same folder first, so a reader never sees
    half a sidecar; a new name is claimed with an exclusive link, never overwriting.
    """
    target = sidecar_path(photo)
    text = render(tags)
    exists = target.exists() or target.is_symlink()
    if exists and not written_by_us(target):
        return target, "kept-foreign"
    fd, tmp = tempfile.mkstemp(prefix=".photosort-", suffix=".xmp.tmp", dir=target.parent)
    try:
        follow_umask(fd)  # a sidecar is the user's file, for other apps and NAS services
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if exists:
            os.replace(tmp, target)  # our own earlier sidecar: safe to refresh
            return target, "updated"
        try:
            os.link(tmp, target)
        except FileExistsError:
            return target, "kept-foreign"
        except OSError:  # no hard links here (FAT, some shares): claim the name, then fill it
            try:
                with open(target, "xb"):
                    pass
            except FileExistsError:
                return target, "kept-foreign"
            os.replace(tmp, target)
            tmp = None
        return target, "written"
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


@dataclass
class XmpSummary:
    written: int = 0
    updated: int = 0
    unchanged_foreign: list[str] | None = None  # sidecars of other programs, left alone
    failures: list[tuple[str, str]] | None = None
    cancelled: bool = False

    def __post_init__(self) -> None:
        self.unchanged_foreign = self.unchanged_foreign or []
        self.failures = self.failures or []

    def line(self) -> str:
        text = (
            f"{self.written} sidecars written, {self.updated} updated, "
            f"{len(self.unchanged_foreign)} left alone (written by another program), "
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
