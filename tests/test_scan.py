"""Scanning a real folder end to end: counts, failures, incremental rescans, cancel, index cache."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import piexif
import pytest
from PIL import Image

from conftest import draw_photo
from photosort.core.index import INDEX_FILENAME, META_FILENAME
from photosort.core.search import SearchQuery


def _exif(date: str, orientation: int = 1) -> bytes:
    return piexif.dump(
        {
            "0th": {
                piexif.ImageIFD.Orientation: orientation,
                piexif.ImageIFD.Make: b"Canon",
                piexif.ImageIFD.Model: b"Canon EOS 5D",
            },
            "Exif": {piexif.ExifIFD.DateTimeOriginal: date.encode()},
        }
    )


def _bomb_png(path: Path, side: int = 100_000) -> None:
    """A tiny PNG whose header declares side x side pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.fixture
def mixed_tree(tmp_path: Path) -> dict:
    """Good photos of every kind the issue names, and bad files that must fail cleanly."""
    root = tmp_path / "mixed"
    good: list[Path] = []
    good.append(draw_photo(root / "plain.jpg", 1, exif=_exif("2021:06:01 10:00:00")))
    good.append(draw_photo(root / "rotated.jpg", 2, exif=_exif("2022:01:15 18:30:00", 6)))
    good.append(draw_photo(root / "graphic.png", 3))
    good.append(draw_photo(root / "web.webp", 4))
    good.append(draw_photo(root / "été" / "плёнка 日本.jpg", 5))
    cmyk = root / "cmyk.jpg"
    Image.open(draw_photo(root / "tmp.png", 6)).convert("CMYK").save(cmyk)
    (root / "tmp.png").unlink()
    good.append(cmyk)
    deep = root / "deep16.png"
    grad = (np.linspace(0, 65535, 128 * 96, dtype=np.uint32).reshape(96, 128)).astype(np.uint16)
    Image.fromarray(grad).save(deep)
    good.append(deep)
    big = root / "big" / "12mp.jpg"
    big.parent.mkdir()
    rng = np.random.default_rng(7)
    arr = np.linspace(0, 255, 4000, dtype=np.float32)[None, :, None].repeat(3000, 0).repeat(3, 2)
    arr[:100, :100] += rng.normal(0, 5, (100, 100, 3))
    Image.fromarray(arr.clip(0, 255).astype(np.uint8)).save(big, quality=85)
    good.append(big)

    bad = {}
    (root / "empty.jpg").write_bytes(b"")
    bad["empty.jpg"] = "empty"
    full = (root / "plain.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(full[: len(full) // 2])
    bad["truncated.jpg"] = "truncated"
    (root / "notes.jpg").write_text("this is not a photo\n")
    bad["notes.jpg"] = "not an image"
    _bomb_png(root / "bomb.png")
    bad["bomb.png"] = "too large"
    # not photos at all: never counted
    (root / "readme.txt").write_text("hello")
    (root / ".hidden.jpg").write_bytes(full)
    (root / "@eaDir").mkdir()
    (root / "@eaDir" / "thumb.jpg").write_bytes(full)
    os.symlink(root, root / "loop")
    return {"root": root, "good": good, "bad": bad}


def test_scan_counts_and_failure_reasons(make_library, mixed_tree):
    lib = make_library()
    summary = lib.scan([mixed_tree["root"]])

    n_good, n_bad = len(mixed_tree["good"]), len(mixed_tree["bad"])
    assert summary.new == n_good + n_bad
    assert summary.embedded == n_good
    assert summary.failed == n_bad
    assert not summary.cancelled
    reasons = {Path(p).name: r for p, r in summary.failures}
    assert set(reasons) == set(mixed_tree["bad"])
    for name, word in mixed_tree["bad"].items():
        assert word in reasons[name].lower(), (name, reasons[name])
    assert any("loop" in i.reason for i in summary.issues)

    status = lib.status()
    assert (status.photos, status.embedded, status.failed, status.pending) == (
        n_good + n_bad,
        n_good,
        n_bad,
        0,
    )
    assert lib.index.count == n_good


def test_exif_metadata_reaches_the_catalog(make_library, mixed_tree):
    lib = make_library()
    lib.scan([mixed_tree["root"]])
    rows = {Path(r["path"]).name: r for r in lib.catalog.query("SELECT * FROM photos")}
    assert rows["plain.jpg"]["taken_at"] == "2021-06-01T10:00:00"
    assert rows["plain.jpg"]["camera"] and "EOS 5D" in rows["plain.jpg"]["camera"]
    # orientation 6: stored as the photo is seen, portrait
    assert (rows["rotated.jpg"]["width"], rows["rotated.jpg"]["height"]) == (120, 160)
    assert (rows["12mp.jpg"]["width"], rows["12mp.jpg"]["height"]) == (4000, 3000)


def test_failed_files_are_not_retried_until_they_change(make_library, mixed_tree):
    lib = make_library()
    lib.scan([mixed_tree["root"]])
    again = lib.scan([mixed_tree["root"]])
    assert (again.embedded, again.failed, again.new) == (0, 0, 0)
    assert lib.status().failed == len(mixed_tree["bad"])

    fixed = mixed_tree["root"] / "notes.jpg"
    draw_photo(fixed, 99, format="JPEG")
    third = lib.scan([mixed_tree["root"]])
    assert (third.updated, third.embedded, third.failed) == (1, 1, 0)
    assert lib.status().failed == len(mixed_tree["bad"]) - 1


def test_incremental_rescans(make_library, photo_tree: Path, tmp_path: Path):
    lib = make_library()
    first = lib.scan([photo_tree])
    assert (first.new, first.embedded) == (12, 12)

    unchanged = lib.scan([photo_tree])
    assert (unchanged.embedded, unchanged.unchanged, unchanged.new) == (0, 12, 0)

    target = photo_tree / "family" / "img_00.jpg"
    draw_photo(target, seed=1000)
    os.utime(target, ns=(1, 1_700_000_000_000_000_000))
    modified = lib.scan([photo_tree])
    assert (modified.updated, modified.embedded) == (1, 1)

    old = photo_tree / "trips" / "img_01.png"
    old_row = lib.catalog.photo_by_path(str(old))
    old_vector = lib.catalog.vector_of(old_row.id, lib.model_id)
    new = photo_tree / "renamed" / "holiday.png"
    new.parent.mkdir()
    old.rename(new)
    renamed = lib.scan([photo_tree])
    assert (renamed.moved, renamed.embedded, renamed.new, renamed.removed) == (1, 0, 0, 0)
    assert lib.catalog.photo_by_path(str(old)) is None
    moved_row = lib.catalog.photo_by_path(str(new))
    assert moved_row.id == old_row.id
    assert np.array_equal(lib.catalog.vector_of(moved_row.id, lib.model_id), old_vector)

    gone = photo_tree / "trips" / "img_03.jpg"
    gone_id = lib.catalog.photo_by_path(str(gone)).id
    gone.unlink()
    deleted = lib.scan([photo_tree])
    assert deleted.removed == 1
    assert lib.catalog.photo_by_path(str(gone)) is None
    assert not lib.index.contains(gone_id)
    assert lib.index.count == 11

    away = tmp_path / "unplugged"
    photo_tree.rename(away)
    missing = lib.scan()
    assert missing.removed == 0
    assert any("missing" in w for w in missing.warnings)
    assert lib.status().photos == 11

    photo_tree.mkdir()  # an empty mount point: also not a reason to forget photos
    empty = lib.scan()
    assert empty.removed == 0 and lib.status().photos == 11


def test_unreadable_file_is_reported_and_scan_goes_on(make_library, photo_tree, monkeypatch):
    from photosort.core import pipeline

    victim = str(photo_tree / "family" / "img_04.png")
    assert os.path.exists(victim)
    real_read = pipeline.read_regular_file

    def guarded_read(path):
        if os.fspath(path) == victim:
            raise PermissionError(13, "Permission denied", victim)
        return real_read(path)

    monkeypatch.setattr(pipeline, "read_regular_file", guarded_read)
    summary = make_library().scan([photo_tree])
    assert (summary.embedded, summary.failed) == (11, 1)
    assert summary.failures == [(victim, "cannot read file: Permission denied")]


def test_cancel_then_rescan_holds_every_photo_once(make_library, tmp_path):
    root = tmp_path / "many"
    for i in range(70):
        draw_photo(root / f"p{i:03d}.jpg", seed=200 + i)
    lib = make_library()
    reports = []

    def cancel_after_first_batch() -> bool:
        return any(p.phase == "embedding" and p.done > 0 for p in reports)

    first = lib.scan(
        [root], on_progress=reports.append, should_cancel=cancel_after_first_batch, batch_size=8
    )
    assert first.cancelled
    assert 0 < first.embedded < 70
    lib.close()

    lib = make_library()
    second = lib.scan([root], batch_size=8)
    assert not second.cancelled
    assert first.embedded + second.embedded == 70
    paths = [r[0] for r in lib.catalog.query("SELECT path FROM photos")]
    assert len(paths) == len(set(paths)) == 70
    assert lib.index.count == 70 == lib.status().embedded


def _top_paths(lib, text: str) -> list[str]:
    return [r.path for r in lib.search(SearchQuery(text=text, top=5))]


@pytest.mark.parametrize("damage", ["delete", "corrupt", "stale"])
def test_index_is_rebuilt_from_the_catalog(make_library, photo_tree, damage):
    lib = make_library()
    lib.scan([photo_tree])
    before = _top_paths(lib, "a red ball")
    folder = lib.folder
    lib.close()
    if damage == "delete":
        (folder / INDEX_FILENAME).unlink()
    elif damage == "corrupt":
        (folder / INDEX_FILENAME).write_bytes(b"garbage" * 100)
    else:
        (folder / META_FILENAME).write_text(
            (folder / META_FILENAME).read_text().replace('"version": ', '"version": 1000')
        )
    lib = make_library()
    assert lib.index.count == 12
    assert _top_paths(lib, "a red ball") == before


def test_switching_model_re_embeds(make_library, photo_tree, tmp_path, other_model):
    lib = make_library()
    lib.scan([photo_tree])
    lib.close()
    lib = make_library(model=other_model)
    assert lib.status().pending == 12
    summary = lib.scan()
    assert summary.embedded == 12
    assert lib.status().embedded == 12 and lib.index.dim == lib.embedder.dim


def test_removing_a_root_forgets_its_photos_but_not_the_files(make_library, photo_tree, tmp_path):
    other = tmp_path / "other"
    draw_photo(other / "x.jpg", 500)
    lib = make_library()
    lib.scan([photo_tree, other])
    assert len(lib.roots()) == 2
    assert lib.remove_root(other) == 1
    assert [r["path"] for r in lib.roots()] == [str(photo_tree)]
    assert (other / "x.jpg").exists()
    assert lib.index.count == 12


def test_nested_root_is_folded_into_its_parent(make_library, photo_tree):
    lib = make_library()
    lib.scan([photo_tree / "family"])
    lib.scan([photo_tree])
    assert [r["path"] for r in lib.roots()] == [str(photo_tree)]
    assert lib.status().photos == 12
    lib.scan([photo_tree / "trips"])  # inside a root: same root, no duplicates
    assert len(lib.roots()) == 1 and lib.status().photos == 12


def test_originals_are_never_written(make_library, mixed_tree):
    def snapshot() -> dict:
        out = {}
        for dirpath, _, files in os.walk(mixed_tree["root"]):
            for name in files:
                p = Path(dirpath) / name
                st = p.lstat()
                out[str(p)] = (st.st_size, st.st_mtime_ns, p.read_bytes() if p.is_file() else b"")
        return out

    before = snapshot()
    lib = make_library()
    lib.scan([mixed_tree["root"]])
    lib.search(SearchQuery(text="a photo"))
    assert snapshot() == before


@pytest.fixture(scope="session")
def other_model(tmp_path_factory) -> str:
    """A second, differently shaped open_clip model (random init) in local-dir format."""
    import json

    import open_clip
    import torch
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("other_model")
    cfg = {
        "embed_dim": 48,
        "vision_cfg": {
            "image_size": 32,
            "layers": 1,
            "width": 32,
            "patch_size": 16,
            "head_width": 16,
        },
        "text_cfg": {
            "context_length": 16,
            "vocab_size": 49408,
            "width": 16,
            "heads": 1,
            "layers": 1,
        },
    }
    torch.manual_seed(1)
    model = open_clip.CLIP(**cfg)
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg}))
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()},
        str(folder / "open_clip_model.safetensors"),
    )
    return f"local-dir:{folder}"
