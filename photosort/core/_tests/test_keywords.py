"""Keyword import and RAW+JPEG pairing on a bare catalog (no model needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import draw_photo
from photosort.core import keywords, pairs, tagging  # noqa: F401  (registers migrations)
from photosort.core.catalog import Catalog
from photosort.core.reconcile import reconcile

FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "sidecars"


def _catalog(tmp_path: Path, root: Path) -> tuple[Catalog, int]:
    catalog = Catalog(tmp_path / "catalog.sqlite")
    root_id = catalog.add_root(str(root))
    reconcile(catalog, [(root_id, str(root))])
    return catalog, root_id


def _manual(catalog: Catalog, name: str) -> set[str]:
    rows = catalog.query(
        "SELECT m.tag FROM manual_tags m JOIN photos p ON p.id = m.photo_id "
        "WHERE p.path LIKE ? AND m.state = 'on'",
        (f"%/{name}",),
    )
    return {r[0] for r in rows}


@pytest.mark.parametrize("page", [2000, 1])  # photos read a page at a time: none missed
def test_sidecar_keywords_become_manual_tags_once(tmp_path, monkeypatch, page):
    monkeypatch.setattr(keywords, "_PAGE", page)
    root = tmp_path / "photos"
    draw_photo(root / "a.jpg", seed=1)
    shutil.copy(FIXTURES / "digikam.xmp", root / "a.jpg.xmp")
    draw_photo(root / "b.jpg", seed=2)
    shutil.copy(FIXTURES / "lightroom.xmp", root / "b.xmp")
    draw_photo(root / "c.jpg", seed=3)
    catalog, root_id = _catalog(tmp_path, root)

    summary = keywords.import_keywords(catalog, [root_id])
    assert (summary.tags, summary.sidecars, summary.files) == (5, 2, 0)
    assert summary.line() == "imported 5 tags from 2 sidecars"
    assert _manual(catalog, "a.jpg") == {"Places/France/Paris", "People/Anna"}
    assert _manual(catalog, "b.jpg") == {"Places/France/Paris", "People/Anna", "sunset"}
    assert _manual(catalog, "c.jpg") == set()

    assert keywords.import_keywords(catalog, [root_id]).tags == 0  # nothing changed
    text = (root / "b.xmp").read_text(encoding="utf-8")
    (root / "b.xmp").write_text(text.replace("<rdf:li>sunset</rdf:li>", "<rdf:li>beach</rdf:li>"))
    again = keywords.import_keywords(catalog, [root_id])
    assert again.tags == 1 and "beach" in _manual(catalog, "b.jpg")
    catalog.close()


def test_a_label_of_a_category_is_imported_as_that_label(tmp_path):
    root = tmp_path / "photos"
    draw_photo(root / "a.jpg", seed=1)
    (root / "a.jpg.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        '22-rdf-syntax-ns#"><rdf:Description xmlns:lr="http://ns.adobe.com/lightroom/1.0/">'
        "<lr:hierarchicalSubject><rdf:Bag><rdf:li>Time of day|dusk</rdf:li>"
        "<rdf:li>Trips|Rome</rdf:li></rdf:Bag></lr:hierarchicalSubject>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    catalog, root_id = _catalog(tmp_path, root)
    keywords.import_keywords(catalog, [root_id])
    assert _manual(catalog, "a.jpg") == {"dusk", "Trips/Rome"}  # "Time of day" is a category
    catalog.close()


def test_a_raw_beside_its_jpeg_is_its_companion_and_hands_over_its_tags(tmp_path):
    root = tmp_path / "photos"
    draw_photo(root / "IMG_1.JPG", seed=1)
    (root / "IMG_1.CR2").write_bytes(b"raw bytes")
    (root / "IMG_1.xmp").write_text(
        (FIXTURES / "lightroom.xmp").read_text(encoding="utf-8"), encoding="utf-8"
    )
    draw_photo(root / "IMG_2.jpg", seed=2)
    catalog, root_id = _catalog(tmp_path, root)
    ids = {Path(r[1]).name: r[0] for r in catalog.query("SELECT id, path FROM photos")}

    update = pairs.link(catalog, [root_id])
    assert update.formed == 1 and update.companion_ids == [ids["IMG_1.CR2"]]
    assert pairs.primary_of(catalog, [ids["IMG_1.CR2"], ids["IMG_2.jpg"]]) == [
        ids["IMG_1.JPG"],
        ids["IMG_2.jpg"],
    ]
    # Lightroom's IMG_1.xmp belongs to both files; the tags land once, on the JPEG.
    keywords.import_keywords(catalog, [root_id], lambda p: pairs.primary_of(catalog, [p])[0])
    assert _manual(catalog, "IMG_1.JPG") == {"Places/France/Paris", "People/Anna", "sunset"}
    assert _manual(catalog, "IMG_1.CR2") == set()
    assert pairs.link(catalog, [root_id]).formed == 0  # stable

    (root / "IMG_1.JPG").unlink()
    pairs.rescue_tags_of_vanishing_primaries(catalog)
    reconcile(catalog, [(root_id, str(root))])
    pairs.link(catalog, [root_id])
    assert pairs.companion_ids(catalog) == set()  # the RAW stands alone now
    assert _manual(catalog, "IMG_1.CR2") == {"Places/France/Paris", "People/Anna", "sunset"}
    catalog.close()


def test_the_signature_is_the_json_it_always_was(tmp_path):
    """Signatures stored by earlier versions stay valid: no photo is read again after an
    upgrade just because the signature is now written out by hand."""
    import json
    import os

    photo = tmp_path / 'Café "ü" 1.jpg'
    photo.write_bytes(b"x" * 10)
    sidecar = tmp_path / 'Café "ü" 1.jpg.xmp'
    sidecar.write_bytes(b"<x/>")
    parts = [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in (photo, sidecar)]
    expected = json.dumps(parts, separators=(",", ":"))
    assert keywords._signature(str(photo), [str(sidecar)]) == expected
    os.remove(sidecar)
    assert keywords._signature(str(photo), [str(sidecar)]) == json.dumps(
        parts[:1], separators=(",", ":")
    )


def test_sidecars_are_found_in_folders_with_some_and_not_looked_for_elsewhere(tmp_path):
    with_xmp, without = tmp_path / "with", tmp_path / "without"
    for folder in (with_xmp, without):
        folder.mkdir()
        (folder / "a.jpg").write_bytes(b"x")
        (folder / "b.jpg").write_bytes(b"x")
    (with_xmp / "a.jpg.xmp").write_bytes(b"<x/>")
    (with_xmp / "b.XMP").write_bytes(b"<x/>")  # Lightroom's, upper case
    sidecars = keywords._Sidecars()
    assert sidecars(str(with_xmp / "a.jpg")) == [str(with_xmp / "a.jpg.xmp")]
    found_b = sidecars(str(with_xmp / "b.jpg"))
    assert found_b in ([], [str(with_xmp / "b.xmp")])  # case-sensitive disk or not
    assert sidecars(str(without / "a.jpg")) == []
    (without / "a.jpg.xmp").write_bytes(b"<x/>")  # listed once per folder and scan
    assert sidecars(str(without / "b.jpg")) == []
    assert keywords._Sidecars()(str(without / "a.jpg")) == [str(without / "a.jpg.xmp")]
