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

from photosort.core.catalog import Catalog
from photosort.core.errors import LibraryError
from photosort.core.folders import inside
from photosort.core.store import RootStore


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


def add(catalog: Catalog, path: str | os.PathLike, follow_links: bool = False) -> tuple[int, str]:
    """Register a folder by its real path; a folder inside a known root, or the same
    folder reached another way (a link, a bind mount), resolves to that root. Roots
    inside the new one join it.

    ``follow_links``: follow symlinks that lead out of the folder (remembered)."""
    folder = canonical(path)
    if not os.path.isdir(folder):
        raise LibraryError(f"not a folder: {path}")
    known = containing_root(folder, catalog.roots())
    if known is not None:
        if follow_links:
            RootStore(catalog).set_follow_links(known["id"])
        return known["id"], known["path"]
    root_id = catalog.add_root(folder)
    if follow_links:
        RootStore(catalog).set_follow_links(root_id)
    RootStore(catalog).absorb(root_id, lambda p: inside(p, folder))
    return root_id, folder


def known(catalog: Catalog, path: str | os.PathLike) -> tuple[int, str]:
    """(id, path) of the root named by ``path`` as typed or through a link."""
    folder = os.path.abspath(os.path.expanduser(os.fspath(path)))
    root_id = catalog.root_id(folder)
    if root_id is None:  # named through a link, or with extra slashes
        folder = canonical(path)
        root_id = catalog.root_id(folder)
    if root_id is None:
        raise LibraryError(f"not a root of this library: {path}")
    return root_id, folder
