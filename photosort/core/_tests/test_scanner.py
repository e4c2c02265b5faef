"""Walking real folder trees: what gets found, what gets skipped, what gets reported."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from photosort.core import scanner
from photosort.core.scanner import (
    FoundFile,
    WalkIssue,
    content_hash,
    hash_file,
    is_ignored_name,
    walk_photos,
)

needs_symlinks = pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges")


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def walk(root: Path, **kwargs: object) -> tuple[list[FoundFile], list[WalkIssue]]:
    issues: list[WalkIssue] = []
    found = list(walk_photos(root, on_issue=issues.append, **kwargs))  # type: ignore[arg-type]
    return found, issues


def rel(root: Path, found: list[FoundFile]) -> list[str]:
    return [os.path.relpath(f.path, root).replace(os.sep, "/") for f in found]


def test_finds_photos_in_nested_folders_in_sorted_order(tmp_path: Path) -> None:
    touch(tmp_path / "b.jpg")
    touch(tmp_path / "a.png")
    touch(tmp_path / "2021" / "summer" / "beach.webp")
    touch(tmp_path / "2020" / "x.gif")
    touch(tmp_path / "notes.txt")
    found, issues = walk(tmp_path)
    assert rel(tmp_path, found) == ["a.png", "b.jpg", "2020/x.gif", "2021/summer/beach.webp"]
    assert issues == []


def test_found_file_has_absolute_path_size_and_mtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = touch(tmp_path / "p.jpg", b"12345")
    os.utime(photo, ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789))
    monkeypatch.chdir(tmp_path)
    [found] = list(walk_photos("."))
    assert found == FoundFile(path=str(photo), size=5, mtime_ns=1_600_000_000_123_456_789)
    assert os.path.isabs(found.path)


def test_thirty_levels_of_nesting(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*[f"level{i:02d}" for i in range(35)])
    touch(deep / "deep.jpg")
    found, _ = walk(tmp_path)
    assert [f.path for f in found] == [str(deep / "deep.jpg")]


def test_extensions_are_case_insensitive(tmp_path: Path) -> None:
    for name in ("A.JPG", "b.JpEg", "c.PNG", "d.TIFF", "e.jpe", "f.Heic", "g.raw", "h"):
        touch(tmp_path / name)
    found = rel(tmp_path, walk(tmp_path)[0])
    assert {"A.JPG", "b.JpEg", "c.PNG", "d.TIFF", "e.jpe"} <= set(found)
    assert "g.raw" not in found and "h" not in found
    custom = rel(tmp_path, list(walk_photos(tmp_path, extensions=frozenset({"JPG", ".png"}))))
    assert custom == ["A.JPG", "c.PNG"]


def test_hidden_files_and_junk_folders_are_skipped(tmp_path: Path) -> None:
    keep = touch(tmp_path / "keep.jpg")
    for junk in (
        ".hidden.jpg",
        "._keep.jpg",
        ".thumbnails/t.jpg",
        ".hidden_dir/p.jpg",
        "@eaDir/keep.jpg/SYNOPHOTO_THUMB_XL.jpg",
        "$RECYCLE.BIN/deleted.jpg",
        "System Volume Information/x.jpg",
        "lost+found/found.jpg",
        "Thumbs.db",
        "sub/.DS_Store",
        "sub/#recycle/old.jpg",
    ):
        touch(tmp_path / junk)
    found, issues = walk(tmp_path)
    assert [f.path for f in found] == [str(keep)]
    assert issues == []


@pytest.mark.parametrize(
    ("name", "ignored"),
    [
        (".DS_Store", True),
        ("._IMG_0001.JPG", True),
        ("@eaDir", True),
        ("$RECYCLE.BIN", True),
        ("$Recycle.Bin", True),
        ("thumbs.db", True),
        ("Desktop.ini", True),
        ("lost+found", True),
        ("IMG_0001.JPG", False),
        ("Vacation 2020", False),
        ("eaDir", False),
    ],
)
def test_is_ignored_name(name: str, ignored: bool) -> None:
    assert is_ignored_name(name) is ignored


def test_non_ascii_names_and_newlines_are_found(tmp_path: Path) -> None:
    names = {"été.jpg", "日本/東京.png", "line\nbreak.jpg"}
    for name in names:
        touch(tmp_path / name)
    found, issues = walk(tmp_path)
    assert set(rel(tmp_path, found)) == names
    assert issues == []


@needs_symlinks
def test_symlink_loop_terminates_and_is_reported_once(tmp_path: Path) -> None:
    touch(tmp_path / "album" / "a.jpg")
    os.symlink(tmp_path, tmp_path / "album" / "back_to_root")
    os.symlink(tmp_path / "album", tmp_path / "album" / "self")
    found, issues = walk(tmp_path)
    assert rel(tmp_path, found) == ["album/a.jpg"]
    loops = [i for i in issues if i.reason == "symlink loop"]
    assert sorted(i.path for i in loops) == sorted(
        [str(tmp_path / "album" / "back_to_root"), str(tmp_path / "album" / "self")]
    )


@needs_symlinks
def test_directory_symlinks_are_followed_without_resolving_paths(tmp_path: Path) -> None:
    """Only when asked for: links that lead out of the root are not followed by default
    (issue 11, finding 13)."""
    outside = tmp_path / "outside"
    touch(outside / "o.jpg")
    library = tmp_path / "library"
    library.mkdir()
    os.symlink(outside, library / "linked")
    os.symlink(outside / "o.jpg", library / "file_link.jpg")
    found, issues = walk(library, follow_links=True)
    assert [f.path for f in found] == [
        str(library / "file_link.jpg"),
        str(library / "linked/o.jpg"),
    ]
    assert issues == []
    found, issues = walk(library)
    assert found == []
    assert sorted((os.path.basename(i.path), i.reason) for i in issues) == [
        ("file_link.jpg", "symlink leads outside the folder: not followed"),
        ("linked", "symlink leads outside the folder: not followed"),
    ]


@needs_symlinks
def test_symlinks_inside_the_root_are_followed(tmp_path: Path) -> None:
    touch(tmp_path / "real" / "a.jpg")
    os.symlink(tmp_path / "real", tmp_path / "alias")
    found, issues = walk(tmp_path)
    assert len(found) == 1  # same folder: entered once
    assert issues == []


@needs_symlinks
def test_dangling_symlink_is_skipped_silently(tmp_path: Path) -> None:
    os.symlink(tmp_path / "gone.jpg", tmp_path / "dangling.jpg")
    assert walk(tmp_path) == ([], [])


def test_unreadable_folder_is_reported_and_walk_continues_chmod(tmp_path: Path) -> None:
    touch(tmp_path / "a" / "1.jpg")
    locked = tmp_path / "b_locked"
    touch(locked / "2.jpg")
    touch(tmp_path / "c" / "3.jpg")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running with privileges that ignore folder permissions")
        found, issues = walk(tmp_path)
    finally:
        locked.chmod(0o755)
    assert rel(tmp_path, found) == ["a/1.jpg", "c/3.jpg"]
    assert issues == [WalkIssue(path=str(locked), reason="permission denied")]


def test_unreadable_folder_is_reported_and_walk_continues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same as above but independent of the user's privileges (root ignores chmod)."""
    touch(tmp_path / "a" / "1.jpg")
    locked = tmp_path / "b_locked"
    touch(locked / "2.jpg")
    touch(tmp_path / "c" / "3.jpg")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(scanner.os, "scandir", scandir)
    found, issues = walk(tmp_path)
    assert rel(tmp_path, found) == ["a/1.jpg", "c/3.jpg"]
    assert issues == [WalkIssue(path=str(locked), reason="permission denied")]


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="needs byte file names")
def test_non_utf8_file_name_is_reported_and_skipped(tmp_path: Path) -> None:
    touch(tmp_path / "ok.jpg")
    bad = os.path.join(os.fsencode(tmp_path), b"bad\xff.jpg")
    try:
        with open(bad, "wb") as f:
            f.write(b"x")
    except OSError:
        pytest.skip("file system refuses non-UTF-8 names")
    with open(os.path.join(os.fsencode(tmp_path), b"ignored\xff.txt"), "wb") as f:
        f.write(b"x")
    found, issues = walk(tmp_path)
    assert rel(tmp_path, found) == ["ok.jpg"]
    assert len(issues) == 1
    assert issues[0].reason == "file name is not valid UTF-8"
    assert issues[0].path == str(tmp_path / "bad\ufffd.jpg")  # printable, storable
    issues[0].path.encode("utf-8")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifos_are_skipped(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.jpg")
    touch(tmp_path / "real.jpg")
    found, issues = walk(tmp_path)
    assert rel(tmp_path, found) == ["real.jpg"]
    assert issues == []


def test_file_vanishing_between_listing_and_stat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    touch(tmp_path / "a.jpg")
    touch(tmp_path / "b.jpg")
    real_scandir = os.scandir

    class Listing:
        def __init__(self, path: str) -> None:
            self._it = real_scandir(path)
            self._entries = list(self._it)
            (tmp_path / "a.jpg").unlink()  # deleted right after the folder was listed

        def __enter__(self) -> list[os.DirEntry[str]]:
            return self._entries

        def __exit__(self, *exc: object) -> None:
            self._it.close()

    monkeypatch.setattr(scanner.os, "scandir", Listing)
    found, _ = walk(tmp_path)
    assert rel(tmp_path, found) == ["b.jpg"]


def test_missing_root_is_reported(tmp_path: Path) -> None:
    found, issues = walk(tmp_path / "nope")
    assert found == []
    assert issues == [WalkIssue(path=str(tmp_path / "nope"), reason="folder not found")]


def test_cancel_stops_between_folders(tmp_path: Path) -> None:
    for i in range(5):
        touch(tmp_path / f"d{i}" / "p.jpg")
    calls = 0

    def should_cancel() -> bool:
        nonlocal calls
        calls += 1
        return calls > 3  # root + two folders, then stop

    found, _ = walk(tmp_path, should_cancel=should_cancel)
    assert rel(tmp_path, found) == ["d0/p.jpg", "d1/p.jpg"]


def test_walk_is_lazy(tmp_path: Path) -> None:
    touch(tmp_path / "a.jpg")
    seen: list[str] = []

    def cancel() -> bool:
        seen.append("checked")
        return False

    iterator = walk_photos(tmp_path, should_cancel=cancel)
    assert seen == []
    next(iterator)
    assert seen == ["checked"]


def test_hash_file_equals_content_hash(tmp_path: Path) -> None:
    for size in (0, 1, 1 << 20, (3 << 20) + 17):
        data = os.urandom(size)
        path = touch(tmp_path / f"{size}.bin", data)
        assert hash_file(path) == content_hash(data)
        assert hash_file(str(path)) == content_hash(data)
    assert len(content_hash(b"abc")) == 32
    assert content_hash(b"abc") != content_hash(b"abd")
    with pytest.raises(OSError):
        hash_file(tmp_path / "missing")
