"""File modes: the catalog, index and backups (paths, GPS) are private to the user; files
the user asked for (sidecars, exports) follow the umask like any file they create.

``tempfile.mkstemp`` always makes 0600 files, which is right for the former and wrong for
the latter, so both directions are set explicitly here.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process umask: from /proc on Linux, else by setting it and setting it back (under
    a lock; another thread creating a file in that instant would see 022)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def user_file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file."""
    return 0o666 & ~current_umask()


def follow_umask(fd_or_path: int | str | os.PathLike) -> None:
    """Give a file made by ``mkstemp`` the mode a user's own new file would have."""
    mode = user_file_mode()
    if isinstance(fd_or_path, int):
        os.fchmod(fd_or_path, mode)
    else:
        os.chmod(fd_or_path, mode)


def make_private(path: str | os.PathLike) -> None:
    """0600 for a file, 0700 for a folder, when it is ours; a no-op where modes can't be
    changed (a read-only disk, a file system without Unix modes, another user's file)."""
    with contextlib.suppress(OSError):
        info = os.stat(path)
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            return
        wanted = PRIVATE_DIR if stat.S_ISDIR(info.st_mode) else PRIVATE_FILE
        if stat.S_IMODE(info.st_mode) != wanted:
            os.chmod(path, wanted)


def private_dir(path: str | os.PathLike) -> None:
    """Create a folder only the user can enter (or make an existing one of ours so)."""
    os.makedirs(path, mode=PRIVATE_DIR, exist_ok=True)
    make_private(path)
