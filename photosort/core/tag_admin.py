"""Tag housekeeping: one spelling per tag whatever its case, rename/merge/delete a tag,
rename a category, remove a label, and snapshots so the app can undo each of them.

Tag names match case-insensitively and keep the case the user first typed: "favourite"
finds, and adds to, an existing "Favourite". Migration ``0005_a_tag_case`` merges the
duplicates older catalogs hold ("FAVOURITE" and "favourite" become one tag) and unique
NOCASE indexes keep new ones out. Manual decisions are never dropped by a rename or
merge: a photo that carried either name carries the new one. The SQL is in
``store/tag_admin.py``.
"""

from __future__ import annotations

import difflib
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

from photosort.core.categories import CategoryError, clean_tag
from photosort.core.store.tag_admin import TagAdminStore


def _key(name: str) -> str:
    return name.casefold()


# -- looking names up --------------------------------------------------------------------
def _labels(conn: sqlite3.Connection) -> dict[str, str]:
    return {_key(n): n for n in TagAdminStore(conn).label_names()}


def _manual(conn: sqlite3.Connection) -> dict[str, str]:
    return {_key(t): t for t in TagAdminStore(conn).manual_tag_names()}


def canonical_tags(conn: sqlite3.Connection, names: Iterable[str]) -> list[str]:
    """Cleaned names, each spelled as the existing tag it matches case-insensitively."""
    known = {**_manual(conn), **_labels(conn)}  # a label's spelling wins
    out = []
    for name in names:
        clean = clean_tag(name)
        out.append(known.get(_key(clean), clean))
    return out


def find_tag(conn: sqlite3.Connection, name: str) -> str:
    """The existing tag ``name`` means (any case); CategoryError with a suggestion if none."""
    known = {**_manual(conn), **_labels(conn)}
    clean = clean_tag(name)
    if _key(clean) in known:
        return known[_key(clean)]
    raise CategoryError(f"no tag named {clean!r}" + _suggest(clean, known.values()))


def find_category(conn: sqlite3.Connection, name: str) -> tuple[int, str]:
    rows = TagAdminStore(conn).categories()
    for cat_id, cat_name in rows:
        if _key(cat_name) == _key(name.strip()):
            return cat_id, cat_name
    raise CategoryError(f"no category named {name!r}" + _suggest(name, [r[1] for r in rows]))


def _suggest(name: str, choices: Iterable[str]) -> str:
    by_key = {_key(c): c for c in choices}
    close = difflib.get_close_matches(_key(name), list(by_key), n=1, cutoff=0.6)
    return f"; did you mean {by_key[close[0]]!r}?" if close else ""


def _label_row(conn: sqlite3.Connection, name: str) -> tuple[int, int, str, str] | None:
    return TagAdminStore(conn).label_row(name)


# -- operations (inside the caller's transaction) ----------------------------------------
def rename_tag(conn: sqlite3.Connection, old: str, new: str) -> str:
    """Rename a tag, or merge it into an existing one (any case); returns what happened.

    A label keeps its category; photos that carried either name carry the new one,
    and a manual decision wins over none ("on" over "off" when both exist).
    """
    store = TagAdminStore(conn)
    source = find_tag(conn, old)
    wanted = clean_tag(new)
    known = {**_manual(conn), **_labels(conn)}
    target = known.get(_key(wanted))
    merging = target is not None and _key(target) != _key(source)
    source_label = _label_row(conn, source)
    target_label = _label_row(conn, target) if merging and target else None
    if merging and source_label and target_label:
        raise CategoryError(
            f"{source!r} and {target!r} are both labels of categories; remove one with "
            f"'photosort categories remove-label {source_label[2]!r} {source!r}' first"
        )
    final = target if merging and target else wanted  # merging keeps the existing spelling
    names = (source, target) if merging and target else (source, source)
    rows = store.manual_rows_of(names)
    merged: dict[int, tuple[str, str]] = {}
    for pid, state, at in rows:
        if pid not in merged or (state == "on" and merged[pid][0] == "off"):
            merged[pid] = (state, at)
    store.forget_manual_of(names)
    if source_label:
        store.rename_label(source_label[0], final)
    keep_off = bool(source_label or target_label)  # a rejection means something for labels
    store.add_manual(
        [(pid, final, st, at) for pid, (st, at) in merged.items() if st == "on" or keep_off]
    )
    store.bump_auto_version()
    if merging:
        return f"merged {source!r} into {final!r} ({len(merged)} photos tagged by hand)"
    return f"renamed {source!r} to {final!r}"


def delete_tag(conn: sqlite3.Connection, name: str) -> int:
    """Forget a tag put on by hand; returns how many photos lost it. Labels stay (say how)."""
    tag = find_tag(conn, name)
    label = _label_row(conn, tag)
    if label is not None:
        raise CategoryError(
            f"{tag!r} is a label of category {label[2]!r}; remove it with "
            f"'photosort categories remove-label {label[2]!r} {tag!r}'"
        )
    return TagAdminStore(conn).forget_manual_tag(tag)


def rename_category(conn: sqlite3.Connection, old: str, new: str) -> str:
    store = TagAdminStore(conn)
    cat_id, current = find_category(conn, old)
    wanted = clean_tag(new)
    for other_id, other in store.categories():
        if other_id != cat_id and _key(other) == _key(wanted):
            raise CategoryError(f"a category named {other!r} already exists")
    store.rename_category(cat_id, wanted)
    return f"renamed category {current!r} to {wanted!r}"


def remove_label(conn: sqlite3.Connection, category: str, label: str) -> str:
    """Take a label out of its category: its auto tags go, photos tagged by hand keep it."""
    store = TagAdminStore(conn)
    cat_id, cat_name = find_category(conn, category)
    rows = store.labels_of(cat_id)
    match = [r for r in rows if _key(r[1]) == _key(label.strip())]
    if not match:
        raise CategoryError(
            f"category {cat_name!r} has no label {label!r}" + _suggest(label, [r[1] for r in rows])
        )
    kind = store.category_kind(cat_id)
    if len(rows) <= (2 if kind == "exclusive" else 1):
        raise CategoryError(
            f"{cat_name!r} would keep too few labels ({'two' if kind == 'exclusive' else 'one'} "
            f"at least); remove the category instead"
        )
    label_id, name = match[0]
    store.delete_label(label_id)  # its auto tags cascade
    store.forget_rejections(name)
    store.bump_auto_version()
    return f"removed label {name!r} from {cat_name!r} (photos tagged by hand keep it)"


# -- undo --------------------------------------------------------------------------------
@dataclass
class TagSnapshot:
    """Rows touched by an operation on these tags/categories, as they were before it."""

    tags: list[str]
    categories: list[tuple] = field(default_factory=list)
    labels: list[tuple] = field(default_factory=list)
    auto: list[tuple] = field(default_factory=list)
    manual: list[tuple] = field(default_factory=list)


def snapshot(
    conn: sqlite3.Connection, tags: Iterable[str], categories: Iterable[str] = ()
) -> TagSnapshot:
    store = TagAdminStore(conn)
    keys = {_key(t) for t in tags}
    snap = TagSnapshot(sorted(keys))
    cat_keys = {_key(c) for c in categories}
    snap.categories = [tuple(r) for r in store.categories() if _key(r[1]) in cat_keys]
    snap.labels = [tuple(r) for r in store.label_rows() if _key(r[2]) in keys]
    ids = [r[0] for r in snap.labels]
    if ids:
        snap.auto = [tuple(r) for r in store.auto_rows_of(ids)]
    names = [t for t in _manual(conn).values() if _key(t) in keys]
    for name in names:
        snap.manual += [tuple(r) for r in store.manual_rows_of_tag(name)]
    return snap


def restore(conn: sqlite3.Connection, snap: TagSnapshot, now_names: Iterable[str] = ()) -> None:
    """Put the snapshot's rows back; ``now_names`` are names the operation created."""
    store = TagAdminStore(conn)
    keys = set(snap.tags) | {_key(n) for n in now_names}
    for name in [t for t in _manual(conn).values() if _key(t) in keys]:
        store.forget_manual_tag(name)
    for cat_id, name in snap.categories:
        store.rename_category(cat_id, name)
    existing = store.label_ids()
    for row in snap.labels:
        store.put_label_back(row, row[0] in existing)
    store.put_auto_back(snap.auto)
    store.put_manual_back(snap.manual)
    store.bump_auto_version()


__all__ = [
    "TagSnapshot",
    "canonical_tags",
    "delete_tag",
    "find_category",
    "find_tag",
    "remove_label",
    "rename_category",
    "rename_tag",
    "restore",
    "snapshot",
]


# -- categories that apply only where another label holds -----------------------------------
def _applies_if_column(conn: sqlite3.Connection) -> None:
    """``categories.applies_if``; the shipped defaults get theirs (time of day: outdoor)."""
    from photosort.core.categories import default_categories

    defaults = {category.name: category.applies_if for category in default_categories()}
    TagAdminStore(conn).add_applies_if(defaults, _labels(conn))
