"""XMP sidecars: parse back to the same tags, never clobber another program's sidecar."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from photosort.core.xmp import NS, SidecarTag, read_tags, sidecar_path, write_sidecar


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
