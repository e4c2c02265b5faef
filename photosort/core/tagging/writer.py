"""The diff writer: ``auto_tags`` made equal to new decisions by writing only what changed,
against an in-memory copy so a re-tag never reads 100k rows back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from photosort.core.catalog import Catalog
from photosort.core.lazy_import import np
from photosort.core.store import TagStore
from photosort.core.store import tags as tag_store
from photosort.core.tagging.tagger import Decisions

#: Scores that differ by less than this are the same decision: no row is rewritten.
SCORE_TOLERANCE = 1e-5


AUTO_VERSION = tag_store.AUTO_VERSION


def bump_auto_version(conn: sqlite3.Connection) -> None:
    """Every change to ``auto_tags`` bumps this, so in-memory copies know they are stale."""
    TagStore(conn).bump_auto_version()


def _versions(conn: sqlite3.Connection) -> tuple[str | None, str | None]:
    return TagStore(conn).versions()


class StaleVectors(Exception):
    """Photos changed between loading the vectors and writing their tags; compute again."""


@dataclass
class AutoState:
    """All of ``auto_tags`` as sorted keys (photo_id << 24 | label_id) and their scores."""

    versions: tuple[str | None, str | None]
    keys: np.ndarray
    scores: np.ndarray


class AutoTagCache:
    """An in-memory copy of ``auto_tags``, so a re-tag diffs without reading 100k rows back.

    Valid while the catalog's auto-tag and vectors versions are the ones it was made at
    (another process re-tagging, or photos being deleted, bumps them).
    """

    def __init__(self) -> None:
        self.state: AutoState | None = None

    def current(self, conn: sqlite3.Connection) -> AutoState:
        versions = _versions(conn)
        if self.state is None or self.state.versions != versions:
            self.state = _read_state(conn, versions)
        return self.state


def _read_state(conn: sqlite3.Connection, versions: tuple[str | None, str | None]) -> AutoState:
    rows = [tuple(r) for r in TagStore(conn).all_auto_tags()]
    arr = np.array(rows, dtype=np.float64).reshape(-1, 3)
    keys = _keys(arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64))
    order = np.argsort(keys, kind="stable")
    return AutoState(versions, keys[order], arr[order, 2].astype(np.float32))


def write_decisions(
    catalog: Catalog,
    label_ids: Sequence[int],
    new: Decisions,
    vectors_version: int | None = None,
    cache: AutoTagCache | None = None,
    photo_ids: np.ndarray | None = None,
) -> tuple[int, int, int]:
    """Make ``auto_tags`` of these labels equal ``new``, writing only what changed; with
    ``photo_ids``, only for those photos (``new`` holds their decisions alone), the
    others' tags left as they are: a scan that added 1,000 photos re-tags 1,000.

    ``vectors_version`` is the catalog's vectors version the decisions were computed at;
    when photos changed since, nothing is written and StaleVectors is raised.
    Returns (added, removed, rescored).
    """
    wanted = np.asarray(list(label_ids), dtype=np.int64)
    if not len(wanted):
        return 0, 0, 0
    cache = cache or AutoTagCache()
    with catalog.transaction() as conn:
        state = cache.current(conn)
        if vectors_version is not None and str(vectors_version) != (state.versions[1] or "0"):
            raise StaleVectors
        store = TagStore(conn)
        if store.count_labels(wanted.tolist()) != len(
            wanted
        ):  # a category edit removed a label since they were read
            raise StaleVectors
        mine = np.isin(state.keys & 0xFFFFFF, wanted)
        if photo_ids is not None:
            mine &= np.isin(state.keys >> 24, np.asarray(photo_ids, np.int64))
        old_keys, old_scores = state.keys[mine], state.scores[mine]
        new_keys = _keys(new.photo_ids, new.label_ids)
        order = np.argsort(new_keys, kind="stable")
        new_keys, new_scores = new_keys[order], new.scores[order].astype(np.float32)
        pos = np.searchsorted(old_keys, new_keys)
        hit = pos < len(old_keys)
        hit[hit] = old_keys[pos[hit]] == new_keys[hit]
        rescored = hit.copy()
        rescored[hit] = np.abs(old_scores[pos[hit]] - new_scores[hit]) > SCORE_TOLERANCE
        added = ~hit
        gone = ~np.isin(old_keys, new_keys, assume_unique=True)

        ins, upd, rm = new_keys[added], new_keys[rescored], old_keys[gone]
        store.write_auto_changes(
            _rows(ins >> 24, ins & 0xFFFFFF, new_scores[added].astype(np.float64)),
            _rows(new_scores[rescored].astype(np.float64), upd >> 24, upd & 0xFFFFFF),
            _rows(rm >> 24, rm & 0xFFFFFF),
        )
        n_added, n_gone, n_rescored = int(added.sum()), int(gone.sum()), int(rescored.sum())
        if n_added or n_gone or n_rescored:
            bump_auto_version(conn)
            keys = np.concatenate([state.keys[~mine], new_keys])
            scores = np.concatenate([state.scores[~mine], new_scores])
            order = np.argsort(keys, kind="stable")
            cache.state = AutoState(_versions(conn), keys[order], scores[order])
    return n_added, n_gone, n_rescored


def _rows(*columns: np.ndarray, piece: int = 8192) -> Iterator[tuple]:
    """The rows of aligned columns as Python tuples, a piece at a time: the tags of a scan
    of 100k photos made Python lists of every one of them (tens of MB, issue 13)."""
    for start in range(0, len(columns[0]), piece):
        yield from zip(*(c[start : start + piece].tolist() for c in columns), strict=True)


def _keys(photo_ids: np.ndarray, label_ids: np.ndarray) -> np.ndarray:
    if len(label_ids) and int(np.max(label_ids)) >= 1 << 24:
        raise OverflowError("label id beyond 2**24")
    return (np.asarray(photo_ids, np.int64) << 24) | np.asarray(label_ids, np.int64)
