"""Every photo a photographer has, through the real CLI: HEIC, AVIF, RAW (DNG written here),
RAW+JPEG pairs, keywords from digiKam/Lightroom/darktable sidecars and from embedded
XMP/IPTC, videos counted as skipped."""

from __future__ import annotations

import io
import json
import shutil
import struct
from pathlib import Path

import pytest
from PIL import Image

from conftest import draw_photo
from photosort.cli import main
from photosort.core import raw
from photosort.core.xmp import keyword_paths
from tests.fixtures.dng import make_dng

SIDECARS = Path(__file__).parent / "fixtures" / "sidecars"
needs_raw = pytest.mark.skipif(not raw.RAW_AVAILABLE, reason="rawpy not installed")


@pytest.fixture
def cli(tmp_path: Path, tiny_model: str, capsys):
    def run(*args: str, library: str = "lib") -> tuple[int, str, str]:
        base = ["--library", str(tmp_path / library), "--model", tiny_model, "--device", "cpu"]
        capsys.readouterr()
        code = main([*base, *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _search_paths(cli, *args: str, library: str = "lib") -> list[str]:
    code, out, err = cli("search", *args, "--top", "100", "--json", library=library)
    assert code == 0, err
    return [Path(r["path"]).name for r in json.loads(out)]


def _tags(cli, path: Path, library: str = "lib") -> set[str]:
    code, out, err = cli("tag", str(path), "--json", library=library)
    assert code == 0, err
    return {t["name"] for tags in json.loads(out).values() for t in tags if t["state"] == "on"}


def _jpeg_with_iptc_and_xmp(path: Path, keywords: list[str], xmp_packet: bytes) -> None:
    """A JPEG whose APP13 carries IPTC keywords (UTF-8) and whose APP1 carries XMP."""
    buf = io.BytesIO()
    draw_photo(path, seed=77)
    Image.open(path).save(buf, "JPEG", xmp=xmp_packet)
    data = buf.getvalue()
    iptc = b"\x1c\x01\x5a\x00\x03\x1b%G"
    for kw in keywords:
        raw_kw = kw.encode("utf-8")
        iptc += b"\x1c\x02\x19" + struct.pack(">H", len(raw_kw)) + raw_kw
    if len(iptc) % 2:
        iptc += b"\0"
    block = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    payload = b"Photoshop 3.0\x00" + block
    app13 = b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload
    path.write_bytes(data[:2] + app13 + data[2:])


def test_heic_avif_and_raw_are_indexed_and_found(cli, tmp_path):
    import pillow_heif

    pillow_heif.register_heif_opener()
    root = tmp_path / "photos"
    draw_photo(root / "phone" / "IMG_0001.HEIC", seed=1, size=(320, 240))
    draw_photo(root / "phone" / "IMG_0002.avif", seed=2, size=(320, 240))
    draw_photo(root / "plain.jpg", seed=3)
    if raw.RAW_AVAILABLE:
        make_dng(root / "camera" / "preview.dng", preview=(640, 480))
        make_dng(root / "camera" / "small_preview.nef", preview=(160, 120))
        make_dng(root / "camera" / "no_preview.dng", preview=None, orientation=6)
        (root / "camera" / "corrupt.cr2").write_bytes(make_dng()[:3000])
    (root / "phone" / "IMG_0003.MOV").write_bytes(b"\0" * 100)
    (root / "camera" / "clip.mp4").write_bytes(b"\0" * 100)
    (root / "camera" / "clip2.MP4").write_bytes(b"\0" * 100)

    code, out, err = cli("scan", str(root), "--no-progress")
    assert code == 0, err
    expected_ok = 6 if raw.RAW_AVAILABLE else 3
    found = _search_paths(cli, "a photo")
    assert len(found) == expected_ok
    assert {"IMG_0001.HEIC", "IMG_0002.avif", "plain.jpg"} <= set(found)
    if raw.RAW_AVAILABLE:
        assert {"preview.dng", "small_preview.nef", "no_preview.dng"} <= set(found)
        assert "failed: " in err and "corrupt.cr2: truncated or damaged RAW data" in err
        code, out, _ = cli("search", "a photo", "--json", "--top", "50")
        dates = {Path(r["path"]).name: r["taken_at"] for r in json.loads(out)}
        assert dates["no_preview.dng"] == "2021-07-14T18:30:05"  # EXIF read from the RAW

    code, out, _ = cli("status", "--json")
    status = json.loads(out)
    assert status["skipped"] == {".mov": 1, ".mp4": 2}
    code, out, _ = cli("status")
    assert "skipped:  3 videos (1 .mov, 2 .mp4), not indexed" in out


@needs_raw
def test_raw_jpeg_pair_is_one_photo_in_search_tags_and_export(cli, tmp_path):
    root = tmp_path / "photos"
    make_dng(root / "IMG_0001.CR2", preview=(640, 480))  # a DNG under a Canon name: LibRaw
    draw_photo(root / "IMG_0001.JPG", seed=5, size=(640, 480))
    draw_photo(root / "IMG_0002.jpg", seed=6)
    make_dng(root / "lonely.dng", preview=None)
    code, out, err = cli("scan", str(root), "--no-progress")
    assert code == 0, err

    found = _search_paths(cli, "a photo")
    assert sorted(found) == ["IMG_0001.JPG", "IMG_0002.jpg", "lonely.dng"]
    status = json.loads(cli("status", "--json")[1])
    assert (status["photos"], status["raw_pairs"], status["pending"]) == (3, 1, 0)

    # Tagging the RAW tags the pair; the tag is found once.
    assert cli("tag", str(root / "IMG_0001.CR2"), "--add", "keeper")[0] == 0
    assert _tags(cli, root / "IMG_0001.JPG") == {"keeper"} | (
        _tags(cli, root / "IMG_0001.JPG") - {"keeper"}
    )
    assert _search_paths(cli, "--tag", "keeper") == ["IMG_0001.JPG"]
    counts = {c["name"]: c["count"] for c in json.loads(cli("tags", "--json")[1])}
    assert counts["keeper"] == 1

    dest = tmp_path / "out"
    code, out, err = cli("export", "--tag", "keeper", "--to", str(dest), "--json")
    assert code == 0, err
    assert sorted(p.name for p in (dest / "keeper").iterdir()) == ["IMG_0001.CR2", "IMG_0001.JPG"]
    code, out, err = cli("export", "--tag", "keeper", "--to", str(tmp_path / "r"), "--pair", "raw")
    assert code == 0, err
    assert [p.name for p in (tmp_path / "r" / "keeper").iterdir()] == ["IMG_0001.CR2"]

    # xmp writes the same tags beside the RAW, where darktable and Lightroom look.
    assert cli("xmp", str(root / "IMG_0001.JPG"))[0] == 0
    assert ("keeper",) in keyword_paths((root / "IMG_0001.CR2.xmp").read_bytes())

    # The JPEG is deleted: the RAW stands alone, indexed, and keeps the pair's tags.
    (root / "IMG_0001.JPG").unlink()
    code, out, err = cli("scan", "--no-progress")
    assert code == 0, err
    assert sorted(_search_paths(cli, "a photo")) == ["IMG_0001.CR2", "IMG_0002.jpg", "lonely.dng"]
    assert "keeper" in _tags(cli, root / "IMG_0001.CR2")


def test_keywords_of_other_programs_become_tags_and_round_trip(cli, tmp_path):
    root = tmp_path / "photos"
    draw_photo(root / "digikam.jpg", seed=1)
    shutil.copy(SIDECARS / "digikam.xmp", root / "digikam.jpg.xmp")
    draw_photo(root / "darktable.png", seed=2)
    shutil.copy(SIDECARS / "darktable.xmp", root / "darktable.png.xmp")
    draw_photo(root / "IMG_0009.jpg", seed=3)
    shutil.copy(SIDECARS / "lightroom.xmp", root / "IMG_0009.xmp")  # Lightroom's naming
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        b'xmlns:lr="http://ns.adobe.com/lightroom/1.0/"><lr:hierarchicalSubject><rdf:Bag>'
        b"<rdf:li>Events|Wedding</rdf:li></rdf:Bag></lr:hierarchicalSubject>"
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    _jpeg_with_iptc_and_xmp(root / "camera.jpg", ["Zürich", "lake"], packet)
    draw_photo(root / "untagged.jpg", seed=4)

    code, out, err = cli("scan", str(root), "--no-progress")
    assert code == 0, err
    assert "imported 10 tags from 3 sidecars and 1 files" in out
    assert _tags(cli, root / "digikam.jpg") >= {"Places/France/Paris", "People/Anna"}
    assert _tags(cli, root / "darktable.png") >= {"places/France/Paris", "sunset"}
    assert not any(t.startswith("darktable") for t in _tags(cli, root / "darktable.png"))
    assert _tags(cli, root / "IMG_0009.jpg") >= {"Places/France/Paris", "People/Anna", "sunset"}
    assert _tags(cli, root / "camera.jpg") >= {"Events/Wedding", "Zürich", "lake"}
    assert _search_paths(cli, "--tag", "People/Anna") == ["IMG_0009.jpg", "digikam.jpg"]

    # A rescan with nothing changed imports nothing; a tag removed by hand stays removed.
    assert cli("tag", str(root / "digikam.jpg"), "--remove", "People/Anna")[0] == 0
    code, out, _ = cli("scan", "--no-progress")
    assert code == 0 and "imported" not in out
    assert "People/Anna" not in _tags(cli, root / "digikam.jpg")

    # photosort's own tags go into the sidecars, merged; a fresh library reads them back.
    assert cli("tag", str(root / "digikam.jpg"), "--add", "dog", "--add", "Pets/Rex")[0] == 0
    assert cli("tag", str(root / "untagged.jpg"), "--add", "cat")[0] == 0
    code, out, err = cli("xmp", "--json")
    assert code == 0, err
    sidecar = (root / "digikam.jpg.xmp").read_text(encoding="utf-8")
    assert 'digiKam:ColorLabel="3"' in sidecar and "Eiffel tower at dusk" in sidecar
    assert 'xmp:Rating="5"' in (root / "IMG_0009.xmp").read_text(encoding="utf-8")

    manual = {}
    for name in ("digikam.jpg", "darktable.png", "IMG_0009.jpg", "camera.jpg", "untagged.jpg"):
        manual[name] = _tags(cli, root / name)
    assert cli("scan", str(root), "--no-progress", library="fresh")[0] == 0
    for name, tags in manual.items():
        fresh = _tags(cli, root / name, library="fresh")
        assert {t for t in fresh if t not in _auto_names(cli)} == {
            t for t in tags if t not in _auto_names(cli)
        }, name


def _auto_names(cli) -> set[str]:
    code, out, _ = cli("categories", "list", "--json")
    return {lab["name"] for c in json.loads(out) for lab in c["labels"]}
