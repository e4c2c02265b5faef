"""Hostile files and hostile disks: every one is a per-file error with a reason (or a walk
issue), the scan finishes, and the summary adds up: new == embedded + failed."""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from PIL import Image

from conftest import draw_photo
from tests.reliability.helpers import check_library, make_photos

AS_ROOT = os.geteuid() == 0


def _png_bomb(side: int = 100_000) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + chunk(b"IEND", b"")
    )


def _jpeg_bomb() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 90, 90)).save(buf, "JPEG")
    data = buf.getvalue()
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", 65_000, 65_000) + data[sof + 9 :]


def _assert_adds_up(summary, new: int, failed: int) -> None:
    assert not summary.cancelled
    assert summary.new == new
    assert summary.new == summary.embedded + summary.failed
    assert summary.failed == failed == len(summary.failures)
    assert all(reason and "\n" not in reason for _, reason in summary.failures)


def test_a_folder_of_hostile_files(make_library, tmp_path):
    root = tmp_path / "hostile"
    good = make_photos(root / "good", 3)
    real = good[0].read_bytes()
    bad = {
        "zero.jpg": (b"", "empty file"),
        "truncated.jpg": (real[: len(real) // 3], "truncated"),
        "text.jpg": (b"hello, not a photo\n" * 10, "not an image"),
        "bomb.png": (_png_bomb(), "too large"),
        "bomb.jpg": (_jpeg_bomb(), "too large"),
        "new\nline.jpg": (b"", "empty file"),
    }
    for name, (data, _) in bad.items():
        (root / name).write_bytes(data)
    png_as_jpg = root / "really-a-png.jpg"  # wrong extension: decoded by content
    draw_photo(png_as_jpg, 9, format="PNG")
    deep = root
    for level in range(30):
        deep = deep / f"level{level:02d}"
    draw_photo(deep / "deepest.jpg", 11)
    raw = os.fsencode(str(root)) + b"/caf\xe9-latin1.jpg"  # not UTF-8: a walk issue
    with open(raw, "wb") as fh:
        fh.write(real)
    os.symlink(root, root / "loop")
    os.symlink(root / "nowhere.jpg", root / "dangling.jpg")

    lib = make_library()
    summary = lib.scan([root])
    _assert_adds_up(summary, new=len(good) + 2 + len(bad), failed=len(bad))
    reasons = {Path(p).name: r for p, r in summary.failures}
    for name, (_, word) in bad.items():
        assert word in reasons[name].lower(), (name, reasons[name])
    issues = {Path(i.path).name: i.reason for i in summary.issues}
    assert issues["loop"] == "symlink loop"
    assert issues["caf\ufffd-latin1.jpg"] == "file name is not valid UTF-8"
    assert lib.catalog.photo_by_path(str(deep / "deepest.jpg")).status == "ok"
    check_library(lib)
    again = lib.scan([root])  # bad files are not retried until they change
    assert (again.new, again.embedded, again.failed) == (0, 0, 0)


@pytest.mark.slow
def test_ten_thousand_files_in_one_folder(make_library, tmp_path):
    root = tmp_path / "crowd"
    root.mkdir()
    for i in range(10_000):
        (root / f"f{i:05d}.jpg").write_bytes(b"x" if i % 2 else b"")
    make_photos(root, 4, folders=1)
    summary = make_library().scan([root], batch_size=64)
    _assert_adds_up(summary, new=10_004, failed=10_000)


def test_files_that_vanish_or_change_mid_scan(make_library, tmp_path, monkeypatch):
    root = tmp_path / "moving"
    photos = make_photos(root, 8, folders=1)
    vanishing, changing = photos[2], photos[5]
    from photosort.core import pipeline

    real_prepare = pipeline.prepare

    def racing_prepare(job, *args, **kwargs):  # the disk changes between walk and read
        if job.path == str(vanishing):
            vanishing.unlink(missing_ok=True)
        if job.path == str(changing) and changing.stat().st_size < 20_000:
            draw_photo(changing, 999, size=(300, 200))
        return real_prepare(job, *args, **kwargs)

    monkeypatch.setattr(pipeline, "prepare", racing_prepare)
    lib = make_library()
    summary = lib.scan([root])
    _assert_adds_up(summary, new=8, failed=1)
    assert summary.failures == [(str(vanishing), "cannot read file: No such file or directory")]
    row = lib.catalog.photo_by_path(str(changing))
    assert (row.status, row.size) == ("ok", changing.stat().st_size)  # what was embedded

    monkeypatch.setattr(pipeline, "prepare", real_prepare)
    later = lib.scan([root])
    assert (later.removed, later.updated, later.embedded) == (1, 0, 0)
    check_library(lib, root, complete=True)


def test_permission_denied_file_and_folder(make_library, tmp_path, monkeypatch):
    """Injected (root ignores mode bits): a denied folder keeps its known photos."""
    root = tmp_path / "perm"
    make_photos(root, 6, folders=2)
    lib = make_library()
    assert lib.scan([root]).embedded == 6
    denied_dir = str(root / "d1")
    denied_file = root / "d0" / "new.jpg"
    draw_photo(denied_file, 50)
    from photosort.core import pipeline

    real_scandir, real_read = os.scandir, pipeline.read_regular_file

    def scandir(path="."):
        if os.fspath(path) == denied_dir:
            raise PermissionError(13, "Permission denied", denied_dir)
        return real_scandir(path)

    def guarded_read(path):
        if os.fspath(path) == str(denied_file):
            raise PermissionError(13, "Permission denied", str(denied_file))
        return real_read(path)

    monkeypatch.setattr("photosort.core.scanner.os.scandir", scandir)
    monkeypatch.setattr(pipeline, "read_regular_file", guarded_read)
    summary = lib.scan([root])
    _assert_adds_up(summary, new=1, failed=1)
    assert summary.removed == 0 and lib.status().photos == 7  # d1's photos are kept
    assert [(i.path, i.reason) for i in summary.issues] == [(denied_dir, "permission denied")]
    assert summary.failures == [(str(denied_file), "cannot read file: Permission denied")]


@pytest.mark.skipif(AS_ROOT, reason="root ignores file mode bits; the injected test covers it")
def test_permission_denied_by_chmod(make_library, tmp_path):
    root = tmp_path / "perm"
    make_photos(root, 4, folders=2)
    (root / "d0").chmod(0)
    (root / "d1" / "p0001.jpg").chmod(0)
    try:
        summary = make_library().scan([root])
        _assert_adds_up(summary, new=2, failed=1)
        assert any(i.reason == "permission denied" for i in summary.issues)
    finally:
        (root / "d0").chmod(0o755)
        (root / "d1" / "p0001.jpg").chmod(0o644)


# -- the library's own disk -------------------------------------------------------------------
def _mount_tmpfs(path: Path, size: str, *options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    opts = ",".join([f"size={size}", *options])
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True
        ).returncode
        == 0
    )


@pytest.fixture
def tmpfs(tmp_path):
    mounted: list[Path] = []

    def mount(name: str, size: str, *options: str) -> Path:
        path = tmp_path / name
        if not AS_ROOT or shutil.which("mount") is None or not _mount_tmpfs(path, size, *options):
            pytest.skip("cannot mount a tmpfs here")
        mounted.append(path)
        return path

    yield mount
    for path in mounted:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_full_disk_under_the_library(make_library, tmp_path, tmpfs, capsys, tiny_model):
    """A real full disk (small tmpfs): one clear line, and what was committed survives."""
    from photosort import cli

    root = tmp_path / "photos"
    make_photos(root, 40)
    # A new catalog made elsewhere, then a disk with room for it and about a dozen of the
    # 40 photos (their vectors, rows and WAL frames): measured, since the schema's size
    # follows the page size and the number of tables.
    empty = make_library(tmp_path / "empty")
    empty.close()
    made = tmp_path / "empty" / "catalog.sqlite"
    library = tmpfs("small", str(made.stat().st_size + 768 * 1024))
    shutil.copy(made, library / "catalog.sqlite")
    code = cli.main(
        [
            "scan",
            str(root),
            "--library",
            str(library),
            "--model",
            tiny_model,
            "--device",
            "cpu",
            "--batch-size",
            "4",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    if code == 0:
        pytest.skip("700 KiB was enough for this catalog")
    assert code == 2 and len(err) == 1 and "disk full" in err[0], err
    lib = make_library(library)  # reads still work on the full disk
    done = lib.catalog.count_vectors(lib.model_id)
    assert 0 < done < 40
    with sqlite3.connect(library / "catalog.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    lib.close()
    subprocess.run(["mount", "-o", "remount,size=64m", str(library)], check=True)
    lib = make_library(library)
    assert lib.scan([root]).embedded == 40 - done
    check_library(lib, root, complete=True)


def test_full_disk_injected(make_library, tmp_path):
    """SQLite's page cap stands in for a full disk where mounting is not allowed."""
    from photosort.core.catalog import CatalogError

    root = tmp_path / "photos"
    make_photos(root, 200)  # more than the spare room of a new catalog's 16 KB pages
    lib = make_library()
    lib.scan([make_photos(tmp_path / "first", 1)[0].parent])
    pages = lib.catalog.scalar("PRAGMA page_count")
    lib.catalog.conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(CatalogError, match="^disk full while writing the catalog"):
        lib.scan([root], batch_size=8)
    lib.catalog.conn.execute("PRAGMA max_page_count = 1073741823")
    assert lib.scan([root]).failed == 0
    check_library(lib)
    assert (lib.status().photos, lib.status().pending, lib.index.count) == (201, 0, 201)


def test_read_only_library_folder(make_library, tmp_path, tmpfs, tiny_model):
    """A library on a read-only file system: every command says why, in one line."""
    from tests.reliability.helpers import run_cli

    root = tmp_path / "photos"
    make_photos(root, 4)
    library = tmpfs("ro", "16m")
    lib = make_library(library)
    lib.scan([root])
    lib.close()
    subprocess.run(["mount", "-o", "remount,ro", str(library)], check=True)
    status = run_cli(library, tiny_model, "status", "--json")
    scan = run_cli(library, tiny_model, "scan")
    assert scan.returncode != 0
    (line,) = scan.stderr.strip().splitlines()
    assert "read-only" in line, line
    assert status.returncode == 0 or "read-only" in status.stderr
