"""``--mode move``: all or nothing per photo, even across a kill -9, through the move
journal (``store/journal.py``); ``settle`` brings disk and catalog back to one copy."""

from __future__ import annotations

import os
import uuid

from photosort.core.catalog import Catalog
from photosort.core.export.placing import _claim, _copy_to_new, _fsync_dir, _identical, _same
from photosort.core.export.request import ExportError, ExportItem
from photosort.core.owner import Owner, is_gone, this_process
from photosort.core.store import MoveJournal, PhotoStore


def move_one(catalog: Catalog, item: ExportItem, root_id: int) -> str:
    """Move one photo, all or nothing, even across a kill -9.

    A journal row (written first) names a temporary file; the photo is linked (or copied
    and fsynced) to it, the final name is claimed from it, then the catalog is pointed at
    the new path, and only then is the original removed. Whatever step fails or is
    killed, ``settle`` brings disk and catalog back to one copy where the catalog says.
    """
    folder, name = os.path.split(item.destination)
    tmp = os.path.join(folder, f".photosort-move-{item.photo_id}-{uuid.uuid4().hex[:8]}.part")
    me = this_process()
    journal = MoveJournal(catalog)
    journal.begin(item.photo_id, item.source, tmp, me.host, me.pid, me.started)
    committed = False

    try:
        try:
            os.link(item.source, tmp)  # same disk: no copy
        except OSError:
            _copy_to_new(item.source, tmp)

        def claim(dst: str) -> None:
            journal.claimed(item.photo_id, dst)
            try:
                os.link(tmp, dst)
            except FileExistsError:
                raise
            except OSError:  # no hard links here: reserve the name, note it, then fill it
                with open(dst, "xb"):
                    pass
                journal.placeholder(item.photo_id)
                os.replace(tmp, dst)

        dst = _claim(folder, name, claim)
        _fsync_dir(folder)
        update_catalog_path(catalog, item.photo_id, item.source, dst, root_id)
        committed = True
        try:
            remove_original(item.source)
        except BaseException:
            update_catalog_path(catalog, item.photo_id, dst, item.source, None)
            committed = False
            raise
        _fsync_dir(os.path.dirname(item.source))
        return dst
    finally:
        settle(catalog, item.photo_id)
        if not committed and os.path.exists(tmp):
            os.unlink(tmp)


def settle(catalog: Catalog, photo_id: int) -> str | None:
    """Finish or undo one journalled move from what the catalog says; returns a note.

    The catalog is the arbiter: still at the source means the move did not happen (every
    file the move made is removed); at the new path means it did (the original goes, if
    it is still there and identical).
    """
    journal = MoveJournal(catalog)
    entry = journal.entry(photo_id)
    if entry is None:
        return None
    source, temp, destination, placeholder, current = entry
    note = None
    if current == source:
        # Not committed: remove the name this move claimed, recognised as the same file as
        # its (uniquely named) temp, or as the placeholder it reserved. Never the source.
        if (
            destination
            and destination != source
            and os.path.lexists(destination)
            and (_same(destination, temp) or placeholder)
        ):
            os.unlink(destination)
            note = f"undid an unfinished move of {source}"
    elif (
        current is not None
        and source != current
        and os.path.exists(source)
        and _identical(source, current)
    ):
        os.unlink(source)
        note = f"finished moving {source} to {current}"
    if os.path.lexists(temp):
        os.unlink(temp)
    journal.done(photo_id)
    return note


def recover_moves(catalog: Catalog, lock_held: bool) -> list[str]:
    """Settle moves a killed process left half done (run before export and scan).

    Only the holder of the library's write lock may recover, and only journals whose owner
    process is provably gone: a live export's journal is its own business (settling it
    from outside deleted originals). Rows from before owners were recorded (NULL owner)
    are settled under the lock: no older photosort can still be running a move, since
    opening the catalog with this version migrated it.
    """
    if not lock_held:
        raise ExportError("internal error: move recovery needs the library's write lock")
    notes = []
    for photo_id, host, pid, started in MoveJournal(catalog).owners():
        if host is not None and not is_gone(Owner(host, int(pid), started)):
            continue
        note = settle(catalog, photo_id)
        if note:
            notes.append(note)
    return notes


def update_catalog_path(
    catalog: Catalog, photo_id: int, old: str, new: str, root_id: int | None
) -> None:
    if not PhotoStore(catalog).move(photo_id, old, new, root_id):
        raise ExportError(f"the catalog no longer holds {old}")


def remove_original(path: str) -> None:
    os.unlink(path)
