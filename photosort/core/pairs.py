"""RAW+JPEG pairs: a camera set to RAW+JPEG writes ``IMG_1.CR2`` and ``IMG_1.JPG`` for one shot.

They are one photo to the user. The JPEG (the camera's own rendering, fast to decode) is
the *primary*: it is embedded, shown in the grid and search results, and carries the tags.
The RAW is its *companion*: kept in the catalog (so export and moves take it along) but
never embedded or shown on its own. Manual tags never stay on a companion: they move to
the primary when the pair forms, and back to the RAW when the JPEG is deleted.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from photosort.core.catalog import Catalog
from photosort.core.raw import RAW_EXTENSIONS, is_raw_name
from photosort.core.store import pairs as pair_store
from photosort.core.store.pairs import PairStore

# The rendering that represents a pair, best first.
_PRIMARY_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".heic", ".heif", ".hif", ".tif", ".tiff", ".png")


#: SQL condition on ``photos p``: the row is shown on its own (not the RAW of a pair).
SHOWN = pair_store.SHOWN


@dataclass
class PairUpdate:
    formed: int = 0
    broken: int = 0
    companion_ids: list[int] = field(default_factory=list)  # just became companions (drop vectors)


def _key(path: str) -> tuple[str, str]:
    folder, name = os.path.split(path)
    return folder, os.path.splitext(name)[0].casefold()


def _raw_paths(paths: Iterable[str]) -> list[str]:
    """The paths with a RAW extension. The text after the path's last dot is the
    extension whenever the name has one: a slice per path, and ``is_raw_name`` only for
    the few that look like a RAW."""
    return [p for p in paths if p[p.rfind(".") :].lower() in RAW_EXTENSIONS and is_raw_name(p)]


def _pairs_wanted(rows: Iterable[tuple[int, str]]) -> dict[int, int]:
    """companion id -> primary id for every RAW that has a rendering beside it."""
    rows = list(rows)
    # Only names beside a RAW can pair: a library without RAW files (most) is one pass
    # over the extensions, not a grouping of every path.
    with_raw = {_key(path) for path in _raw_paths(path for _, path in rows)}
    if not with_raw:
        return {}
    groups: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for pid, path in rows:
        key = _key(path)
        if key in with_raw:
            groups[key].append((pid, path))
    wanted: dict[int, int] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        raws = [pid for pid, path in members if is_raw_name(path)]
        rank = {ext: i for i, ext in enumerate(_PRIMARY_EXTENSIONS)}
        others = sorted(
            (rank[os.path.splitext(path)[1].lower()], path, pid)
            for pid, path in members
            if os.path.splitext(path)[1].lower() in rank
        )
        if raws and others:
            primary = others[0][2]
            wanted.update(dict.fromkeys(raws, primary))
    return wanted


def rescue_tags_of_vanishing_primaries(catalog: Catalog) -> int:
    """Before a rescan forgets a deleted JPEG, hand its manual tags to its RAW.

    Called ahead of reconcile: the JPEG's row (and its tags) is deleted there.
    """
    rows = PairStore(catalog).primaries_with_paths()
    gone = [(r[0], r[1]) for r in rows if not os.path.lexists(r[2])]
    if not gone:
        return 0
    with catalog.transaction() as conn:
        store = PairStore(conn)
        for companion, primary in gone:
            store.copy_manual_tags(primary, companion)
    return len(gone)


def link(catalog: Catalog, root_ids: Sequence[int]) -> PairUpdate:
    """Recompute the pairs of these roots from the catalog's paths."""
    update = PairUpdate()
    if not root_ids:
        return update
    # A library without RAW files (most) has nothing to pair: its paths alone, read as
    # plain values, tell; and without pairs to break it needs no write (issue 13).
    reader = PairStore(catalog)
    if not _raw_paths(reader.paths_of_roots(root_ids)) and not reader.pairs_in_roots(root_ids):
        return update
    rows = reader.paths_in_roots(root_ids)
    wanted = _pairs_wanted((r[0], r[1]) for r in rows)
    with catalog.transaction() as conn:
        store = PairStore(conn)
        current = store.pairs_in_roots(root_ids)
        for companion, primary in current.items():
            if wanted.get(companion) != primary:
                store.unpair(companion)
                update.broken += 1
        for companion, primary in wanted.items():
            if current.get(companion) == primary:
                continue
            store.pair(companion, primary)
            store.move_manual_tags(companion, primary)
            store.drop_companion_vector(companion)
            update.formed += 1
            update.companion_ids.append(companion)
        if update.companion_ids:
            catalog.bump_vectors_version(conn)
    return update


def companions_of(catalog: Catalog, photo_ids: Iterable[int]) -> dict[int, list[tuple[int, str]]]:
    """primary id -> [(companion id, path)] for the given primaries that have companions."""
    out: dict[int, list[tuple[int, str]]] = {}
    for primary, cid, path in PairStore(catalog).companions_of(photo_ids):
        out.setdefault(primary, []).append((cid, path))
    return out


def primary_of(catalog: Catalog, photo_ids: Iterable[int]) -> list[int]:
    """The ids with every companion replaced by its primary (order kept, no duplicates)."""
    ids = [int(i) for i in photo_ids]
    if not ids:
        return []
    mapping = PairStore(catalog).primaries(ids)
    return list(dict.fromkeys(mapping.get(i, i) for i in ids))


def companion_ids(catalog: Catalog) -> set[int]:
    return PairStore(catalog).companion_ids()
