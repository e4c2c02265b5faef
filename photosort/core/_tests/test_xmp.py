"""XMP sidecars: parse back to the same tags, never clobber another program's sidecar."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from photosort.core.xmp import (
    NS,
    SidecarTag,
    keyword_paths,
    read_tags,
    sidecar_path,
    write_sidecar,
)


def test_sidecar_parses_back_to_the_same_tags(tmp_path):
    photo = tmp_path / "IMG_1.jpg"
    photo.write_bytes(b"not touched")
    tags = [
        SidecarTag("dusk", "Time of day"),
        SidecarTag("dog", "Things"),
        SidecarTag("été 🌅 <&>", None),
    ]
    path, outcome = write_sidecar(photo, tags)
    assert (path, outcome) == (sidecar_path(photo), "written")
    assert path.name == "IMG_1.jpg.xmp"
    assert read_tags(path) == ["dusk", "dog", "été 🌅 <&>"]
    root = ET.parse(path).getroot()
    hier = [li.text for li in root.iter(f"{{{NS['rdf']}}}li")]
    assert "Time of day|dusk" in hier and "Time of day/dusk" in hier
    assert photo.read_bytes() == b"not touched"


def test_our_sidecar_is_refreshed_a_foreign_one_is_kept(tmp_path):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    write_sidecar(photo, [SidecarTag("one")])
    path, outcome = write_sidecar(photo, [SidecarTag("two")])
    assert outcome == "updated" and read_tags(path) == ["two"]

    other = tmp_path / "b.jpg"
    foreign = sidecar_path(other)
    foreign.write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'><!-- darktable edits --></x:xmpmeta>")
    before = foreign.read_bytes()
    assert write_sidecar(other, [SidecarTag("dog")])[1] == "kept-foreign"
    assert foreign.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".photosort-")]


# --------------------------------------------------------------------------- merging (issue 11.8)

FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "sidecars"
MANAGED = {
    f"{{{NS['dc']}}}subject",
    f"{{{NS['lr']}}}hierarchicalSubject",
    f"{{{NS['digiKam']}}}TagsList",
    f"{{{NS['photosort']}}}Keywords",
    f"{{{NS['MicrosoftPhoto']}}}LastKeywordXMP",  # digiKam's copy of TagsList
}


def _foreign_fields(path: Path) -> list[tuple]:
    """Everything in the sidecar except the keyword lists photosort manages."""
    out: list[tuple] = []

    def walk(element: ET.Element, where: str) -> None:
        for child in element:
            if child.tag in MANAGED or not isinstance(child.tag, str):
                continue
            here = f"{where}/{child.tag}"
            out.append((here, sorted(child.attrib.items()), (child.text or "").strip()))
            walk(child, here)

    root = ET.parse(path).getroot()
    out.append(("", sorted(root.attrib.items()), ""))
    walk(root, "")
    return sorted(out)


@pytest.mark.parametrize(
    "fixture, keywords_before",
    [
        ("digikam.xmp", {("Places", "France", "Paris"), ("People", "Anna")}),
        ("darktable.xmp", {("places", "France", "Paris"), ("sunset",)}),
        ("lightroom.xmp", {("Places", "France", "Paris"), ("People", "Anna"), ("sunset",)}),
    ],
)
def test_merging_keeps_every_field_of_the_other_program(tmp_path, fixture, keywords_before):
    photo = tmp_path / "IMG_0001.CR2"
    photo.write_bytes(b"raw")
    sidecar = tmp_path / "IMG_0001.CR2.xmp"
    shutil.copy(FIXTURES / fixture, sidecar)
    foreign = _foreign_fields(sidecar)
    assert set(keyword_paths(sidecar.read_bytes())) == keywords_before

    path, outcome = write_sidecar(photo, [SidecarTag("dog"), SidecarTag("dusk", "Time of day")])
    assert (path, outcome) == (sidecar, "updated")
    assert _foreign_fields(sidecar) == foreign  # rating, labels, title, history, crs:...
    assert set(keyword_paths(sidecar.read_bytes())) == keywords_before | {
        ("dog",),
        ("Time of day", "dusk"),
    }
    text = sidecar.read_text(encoding="utf-8")
    for prefix in ("darktable:", "crs:", "digiKam:ColorLabel", "mwg-rs:", "stEvt:"):
        if prefix.split(":")[0] + ":" in (FIXTURES / fixture).read_text(encoding="utf-8"):
            assert prefix.split(":")[0] + ":" in text  # the other program's prefixes stay

    # The other program edits the sidecar again (a new rating, one more keyword) ...
    edited = text.replace('xmp:Rating="', 'xmp:Rating="1').replace(
        "<rdf:li>dog</rdf:li>", "<rdf:li>dog</rdf:li><rdf:li>their keyword</rdf:li>", 1
    )
    sidecar.write_text(edited, encoding="utf-8")
    foreign = _foreign_fields(sidecar)
    # ... and photosort's tags change: only what photosort owned is replaced.
    write_sidecar(photo, [SidecarTag("cat")])
    assert _foreign_fields(sidecar) == foreign
    after = set(keyword_paths(sidecar.read_bytes()))
    assert after == keywords_before | {("cat",), ("their keyword",)}
    assert photo.read_bytes() == b"raw"


def test_a_lightroom_sidecar_named_after_the_stem_is_the_one_merged(tmp_path):
    photo = tmp_path / "IMG_0001.CR2"
    photo.write_bytes(b"raw")
    shutil.copy(FIXTURES / "lightroom.xmp", tmp_path / "IMG_0001.xmp")
    path, outcome = write_sidecar(photo, [SidecarTag("dog")])
    assert (path.name, outcome) == ("IMG_0001.xmp", "updated")
    assert not (tmp_path / "IMG_0001.CR2.xmp").exists()
    assert ("dog",) in keyword_paths(path.read_bytes())


def test_a_file_that_is_not_xmp_is_left_alone(tmp_path):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    sidecar = sidecar_path(photo)
    sidecar.write_bytes(b"\x00\x01 not xml at all")
    assert write_sidecar(photo, [SidecarTag("dog")])[1] == "kept-foreign"
    assert sidecar.read_bytes() == b"\x00\x01 not xml at all"


def test_hierarchical_tags_are_written_the_way_each_program_reads_them(tmp_path):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x")
    path, _ = write_sidecar(photo, [SidecarTag("Places/France/Paris")])
    root = ET.parse(path).getroot()

    def items(prefix: str, name: str) -> list[str]:
        return [li.text for e in root.iter(f"{{{NS[prefix]}}}{name}") for li in e.iter()
                if li.tag == f"{{{NS['rdf']}}}li"]  # fmt: skip

    assert items("dc", "subject") == ["Paris"]
    assert items("lr", "hierarchicalSubject") == ["Places|France|Paris"]
    assert items("digiKam", "TagsList") == ["Places/France/Paris"]
    assert keyword_paths(path.read_bytes()) == [("Places", "France", "Paris")]
