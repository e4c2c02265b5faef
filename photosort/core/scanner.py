"""Finding photo files under a folder, and hashing their content.

Real photo folders are messy: NAS metadata folders, symlink loops, unreadable
subfolders, names that are not valid UTF-8. The walk reports those as issues and keeps
going, because one bad folder must not hide the rest of a library from the user.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from stat import S_ISREG

from photosort.core.folders import inside
from photosort.core.formats import SUPPORTED_EXTENSIONS, VIDEO_EXTENSIONS

__all__ = [
    "FoundFile",
    "WalkIssue",
    "content_hash",
    "hash_file",
    "is_ignored_name",
    "walk_photos",
]

_HASH_DIGEST_SIZE = 16
_HASH_CHUNK = 1 << 20


@dataclass(slots=True)
class FoundFile:
    """A candidate photo; ``path`` is absolute but symlinks are kept (not resolved).

    Not frozen: a rescan makes one per file, and a frozen dataclass's ``__init__`` cost
    eight times as much (18 ms of a 10k-file rescan)."""

    path: str
    size: int
    mtime_ns: int
    #: (device, inode) of the file, links followed: one file reached by two paths is one photo
    file_id: tuple[int, int] | None = field(default=None, compare=False)
    #: The path itself is a symlink (known from the listing, no ``lstat`` per file)
    link: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class WalkIssue:
    """Something the user may want to know about: a folder or file that was skipped."""

    path: str
    reason: str


# Compared case-insensitively: Windows and macOS volumes do not preserve a canonical case.
_IGNORED_NAMES = frozenset(
    name.casefold()
    for name in (
        "@eaDir",  # Synology thumbnails/metadata
        "#recycle",  # Synology recycle bin
        "#snapshot",
        "@Recycle",  # QNAP
        "@Recently-Snapshot",
        "@__thumb",
        "$RECYCLE.BIN",  # Windows
        "RECYCLER",
        "System Volume Information",
        "Thumbs.db",
        "ehthumbs.db",
        "ehthumbs_vista.db",
        "desktop.ini",
        "lost+found",
        "__MACOSX",  # zip extraction leftovers with AppleDouble files
        "Icon\r",  # macOS custom folder icon file
    )
)


def is_ignored_name(name: str) -> bool:
    """True for hidden entries and OS/NAS junk that never holds the user's own photos.

    Covers dot-files and dot-folders (".DS_Store", "._IMG.jpg" AppleDouble, ".thumbnails",
    ".Trash-1000"), Synology/QNAP helper folders, Windows recycle bins and thumbnail caches.
    """
    if not name or name.startswith("."):
        return True
    return name.casefold() in _IGNORED_NAMES


_name = attrgetter("name")  # a sort key in C: one call per file of every folder walked


def _displayable(path: str) -> str:
    """Path with undecodable bytes shown as U+FFFD, so issues can be logged and stored."""
    return os.fsencode(path).decode("utf-8", errors="replace")


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from os.fsdecode of non-UTF-8 bytes
        return False
    return True


def _folder_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "folder disappeared during the scan"
    return f"cannot read folder: {exc.strerror or exc}"


def _normalise_extensions(extensions: frozenset[str] | set[str]) -> frozenset[str]:
    return frozenset(
        (ext if ext.startswith(".") else "." + ext).lower() for ext in extensions if ext
    )


def walk_photos(
    root: str | os.PathLike[str],
    extensions: frozenset[str] = SUPPORTED_EXTENSIONS,
    on_issue: Callable[[WalkIssue], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    on_skipped: Callable[[str], None] | None = None,
    follow_links: bool = False,
) -> Iterator[FoundFile]:
    """Yield photo files under *root* in a deterministic (sorted, depth-first) order.

    Iterative, so deep trees cannot hit the recursion limit. Directory symlinks are followed,
    but each physical folder is entered once, so loops terminate (reported once per looping
    link). Problems go to *on_issue* and the walk continues; *should_cancel* is polled before
    every folder. *on_skipped* hears the extension of every video passed over. A symlink
    that leads outside *root* is not followed (reported once) unless *follow_links*: a link
    to ``/etc/shadow`` named ``shadow.jpg`` is no photo.
    """
    wanted = _normalise_extensions(extensions)

    def report(path: str, reason: str) -> None:
        if on_issue is not None:
            on_issue(WalkIssue(path=_displayable(path), reason=reason))

    root_path = os.path.abspath(os.fsdecode(os.fspath(root)))
    try:
        root_stat = os.stat(root_path)
    except OSError as exc:
        reason = "folder not found" if isinstance(exc, FileNotFoundError) else _folder_reason(exc)
        report(root_path, reason)
        return
    if not stat.S_ISDIR(root_stat.st_mode):
        report(root_path, "not a folder")
        return
    if not _is_utf8(root_path):
        report(root_path, "folder name is not valid UTF-8")
        return

    real_root = os.path.realpath(root_path)

    def leads_outside(entry: os.DirEntry) -> bool:
        if follow_links:
            return False
        real = os.path.realpath(entry.path)
        return not inside(real, real_root)

    root_key = (root_stat.st_dev, root_stat.st_ino)
    visited: set[tuple[int, int]] = {root_key}
    # Each pending folder carries its ancestors' keys to tell a loop from a mere duplicate.
    stack: list[tuple[str, frozenset[tuple[int, int]]]] = [(root_path, frozenset({root_key}))]

    while stack:
        if should_cancel is not None and should_cancel():
            return
        dir_path, ancestors = stack.pop()
        try:
            with os.scandir(dir_path) as it:
                entries = sorted(it, key=_name)
        except OSError as exc:
            report(dir_path, _folder_reason(exc))
            continue

        subdirs: list[tuple[str, frozenset[tuple[int, int]]]] = []
        # The loop runs once per file of the library on every rescan: the common case (a
        # plain file with an ASCII name) takes the cheap branch of each check.
        for entry in entries:
            name = entry.name
            if name[0] == "." or name.casefold() in _IGNORED_NAMES:  # is_ignored_name
                continue
            try:
                link = entry.is_symlink()  # from the listing: no system call
                outside = link and leads_outside(entry)
            except OSError:
                link = outside = True
            if outside:
                if os.path.splitext(name)[1].lower() in wanted or os.path.isdir(entry.path):
                    report(entry.path, "symlink leads outside the folder: not followed")
                continue
            try:
                is_dir = entry.is_dir()  # follows symlinks
            except OSError:
                is_dir = False
            if is_dir:
                if not name.isascii() and not _is_utf8(name):
                    report(entry.path, "folder name is not valid UTF-8")
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    report(entry.path, _folder_reason(exc))
                    continue
                key = (st.st_dev, st.st_ino)
                if key in ancestors:
                    report(entry.path, "symlink loop")
                elif key not in visited:
                    visited.add(key)
                    subdirs.append((entry.path, ancestors | {key}))
                # else: the same folder reached again through another link; already scanned
                continue

            dot = name.rfind(".")  # os.path.splitext's answer for a name not hidden
            ext = name[dot:].lower() if dot > 0 else ""
            if ext not in wanted:
                if on_skipped is not None and ext in VIDEO_EXTENSIONS:
                    on_skipped(ext)
                continue
            if not name.isascii() and not _is_utf8(name):
                report(entry.path, "file name is not valid UTF-8")
                continue
            try:
                st = entry.stat()
            except FileNotFoundError:
                continue  # vanished since listing, or a dangling symlink
            except OSError as exc:
                report(entry.path, f"cannot read file: {exc.strerror or exc}")
                continue
            if not S_ISREG(st.st_mode):
                continue  # fifos, sockets, devices
            yield FoundFile(entry.path, st.st_size, st.st_mtime_ns, (st.st_dev, st.st_ino), link)

        stack.extend(reversed(subdirs))  # pop order == sorted order


def content_hash(data: bytes) -> str:
    """Content identity of a photo (survives renames and moves): blake2b-128, hex."""
    return hashlib.blake2b(data, digest_size=_HASH_DIGEST_SIZE).hexdigest()


def hash_file(path: str | os.PathLike[str]) -> str:
    """Same value as ``content_hash`` of the whole file, streamed; raises OSError."""
    digest = hashlib.blake2b(digest_size=_HASH_DIGEST_SIZE)
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
