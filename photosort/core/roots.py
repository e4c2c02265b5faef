"""Which folder a root really is: one canonical path and one file identity per folder.

The same folder reached by another path (a symlink to a root, ``//home/me/Pictures``, a
bind mount) must not be indexed again, or every result shows up twice. Roots are stored
as real paths (links resolved, slashes normalised) and compared by (device, inode) as
well, which also catches bind mounts, where no path comparison can.

A root also remembers whether the user asked to follow symlinks that lead out of it;
by default they are not followed (``shadow.jpg -> /etc/shadow`` is not a photo of theirs).
"""

from __future__ import annotations

import os
import sqlite3

from photosort.core.folders import inside


def canonical(path: str | os.PathLike) -> str:
    """The real, absolute path of a folder (``~`` expanded, links resolved)."""
    return os.path.realpath(os.path.abspath(os.path.expanduser(os.fspath(path))))


def identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def containing_root(folder: str, roots: list[sqlite3.Row]) -> sqlite3.Row | None:
    """The known root that is ``folder`` or holds it: by path, or by file identity."""
    for root in roots:
        if inside(folder, root["path"]):
            return root
    here = identity(folder)
    if here is None:
        return None
    for root in roots:
        if identity(root["path"]) == here:  # a bind mount or another mount of the same folder
            return root
    return None


def link_target_inside(path: str, root: str) -> bool:
    """True when ``path`` (a symlink, or a path through one) resolves inside ``root``."""
    return inside(os.path.realpath(path), os.path.realpath(root))
