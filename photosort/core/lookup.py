"""Names the user typed (tags, categories, folders, commands) checked against the library,
with "did you mean …?".

A typo must end in an error that names the likely intent, never in a silent empty
result ("0 photos copied", "no matching photos").
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from photosort.core import pairs as raw_pairs
from photosort.core.catalog import Catalog
from photosort.core.errors import PhotosortError
from photosort.core.store import PhotoStore, TagStore


class UnknownNameError(PhotosortError):
    """A tag, category or folder the library does not have; the message suggests one."""


def closest(word: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Up to ``n`` choices that look like ``word``, best first, compared case-insensitively."""
    import difflib  # only for a name the library lacks: a cold start never pays for it

    by_key: dict[str, str] = {}
    for choice in choices:
        by_key.setdefault(choice.casefold(), choice)
    keys = difflib.get_close_matches(word.casefold(), list(by_key), n=n, cutoff=cutoff)
    return [by_key[k] for k in keys]


def did_you_mean(word: str, choices: Iterable[str], n: int = 3) -> str:
    """``"; did you mean 'dog'?"`` (or ``'dog' or 'dogs'``), or ``""`` when nothing is close."""
    found = closest(word, choices, n)
    if not found:
        return ""
    return "; did you mean " + " or ".join(repr(f) for f in found) + "?"


def similar_folder(path: str, folders: Iterable[str]) -> str:
    """A did-you-mean for a folder: a sibling with a close name first (full paths all
    look alike by their long common prefix), else the closest full path."""
    folders = [f.rstrip(os.sep) or os.sep for f in folders]
    path = path.rstrip(os.sep) or os.sep
    parent, name = os.path.split(path)
    siblings = {os.path.basename(f): f for f in folders if os.path.dirname(f) == parent}
    found = closest(name, siblings, n=2)
    if found:
        return "; did you mean " + " or ".join(repr(siblings[f]) for f in found) + "?"
    return did_you_mean(path, folders, n=1)


def known_tags(catalog: Catalog) -> list[str]:
    """Every tag a photo can have: category labels and tags set by hand."""
    return TagStore(catalog).known_tags()


def check_tags(catalog: Catalog, tags: Iterable[str], what: str = "tag") -> None:
    """Raise for the first tag no photo can have (compared case-insensitively)."""
    known = known_tags(catalog)
    folded = {k.casefold() for k in known}
    for tag in tags:
        if tag.strip().casefold() not in folded:
            hint = did_you_mean(tag.strip(), known) or (
                "; 'photosort tags' lists them" if known else "; this library has no tags yet"
            )
            raise UnknownNameError(f"unknown {what} {tag.strip()!r}{hint}")


def library_folders(catalog: Catalog) -> list[str]:
    """Roots and every folder that holds photos."""
    return PhotoStore(catalog).folders()


def check_folder(catalog: Catalog, path: str, what: str = "folder") -> str:
    """The absolute form of ``path``; raise when no photo of the library lies under it."""
    folder = os.path.abspath(os.path.expanduser(path)).rstrip(os.sep) or os.sep
    if PhotoStore(catalog).any_under(folder):
        return folder
    hint = similar_folder(folder, library_folders(catalog))
    if not os.path.isdir(folder):
        raise UnknownNameError(f"{what} {path} does not exist{hint}")
    raise UnknownNameError(f"{what} {path} holds no photo of this library{hint}")


def check_category(names: Iterable[str], name: str) -> None:
    names = list(names)
    if name.strip() not in names:
        hint = did_you_mean(name.strip(), names) or "; 'photosort categories list' lists them"
        raise UnknownNameError(f"no category named {name.strip()!r}{hint}")


def photo_ids_for_paths(
    catalog: Catalog, paths: Iterable[str | os.PathLike]
) -> tuple[list[int], list[str]]:
    """Catalog ids of files (or of every photo under folders), a RAW of a pair as its
    JPEG; and the paths that are no photo or folder of the library."""
    ids: list[int] = []
    unknown: list[str] = []
    for raw in paths:
        path = os.path.abspath(os.path.expanduser(os.fspath(raw)))
        row = catalog.photo_by_path(path)
        if row is not None:
            ids.append(row.id)
            continue
        under = PhotoStore(catalog).ids_under(path)
        if under:
            ids += under
        else:
            unknown.append(os.fspath(raw))
    return raw_pairs.primary_of(catalog, ids), unknown
