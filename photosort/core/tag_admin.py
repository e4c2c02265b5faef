"""Tag housekeeping: one spelling per tag whatever its case, rename/merge/delete a tag,
rename a category, remove a label, and snapshots so the app can undo each of them.

Tag names match case-insensitively and keep the case the user first typed: "favourite"
finds, and adds to, an existing "Favourite". Migration ``0005_a_tag_case`` merges the
duplicates older catalogs hold ("FAVOURITE" and "favourite" become one tag) and unique
NOCASE indexes keep new ones out. Manual decisions are never dropped by a rename or
merge: a photo that carried either name carries the new one.
"""

from __future__ import annotations

import difflib
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

from photosort.core.categories import CategoryError, clean_tag


def _key(name: str) -> str:
    return name.casefold()


# -- the migration -----------------------------------------------------------------------
def _merge_case_duplicates(conn: sqlite3.Connection) -> None:
    """One spelling per tag: a label's own, else the spelling most photos carry."""
    _dedupe_names(conn, "categories")
    _dedupe_names(conn, "labels")
    labels = {_key(n): n for (n,) in conn.execute("SELECT name FROM labels")}
    rows = conn.execute("SELECT photo_id, tag, state, updated_at FROM manual_tags").fetchall()
    spellings: dict[str, dict[str, int]] = {}
    for _pid, tag, _state, _at in rows:
        spellings.setdefault(_key(tag), {}).setdefault(tag, 0)
        spellings[_key(tag)][tag] += 1
    canonical = {
        key: labels.get(key) or max(counts, key=lambda t: (counts[t], t))
        for key, counts in spellings.items()
    }
    changed = {key for key, counts in spellings.items() if set(counts) != {canonical[key]}}
    merged: dict[tuple[int, str], tuple[str, str]] = {}
    for pid, tag, state, at in rows:
        if _key(tag) not in changed:
            continue
        slot = (pid, canonical[_key(tag)])
        if slot not in merged or at > merged[slot][1]:  # the newest decision wins
            merged[slot] = (state, at)
    for key in changed:
        for tag in spellings[key]:
            conn.execute("DELETE FROM manual_tags WHERE tag = ?", (tag,))
    conn.executemany(
        "INSERT INTO manual_tags (photo_id, tag, state, updated_at) VALUES (?, ?, ?, ?)",
        [(pid, tag, state, at) for (pid, tag), (state, at) in merged.items()],
    )
    conn.execute("CREATE UNIQUE INDEX categories_name_nocase ON categories(name COLLATE NOCASE)")
    conn.execute("CREATE UNIQUE INDEX labels_name_nocase ON labels(name COLLATE NOCASE)")
    conn.execute(
        "CREATE UNIQUE INDEX manual_tags_nocase ON manual_tags(photo_id, tag COLLATE NOCASE)"
    )


def _dedupe_names(conn: sqlite3.Connection, table: str) -> None:
    """Two categories (or labels) differing only in case: the later one gets a number."""
    seen: set[str] = set()
    for row_id, name in conn.execute(f"SELECT id, name FROM {table} ORDER BY id").fetchall():
        if _key(name) in seen:
            k = 2
            while _key(f"{name} {k}") in seen:
                k += 1
            name = f"{name} {k}"
            conn.execute(f"UPDATE {table} SET name = ? WHERE id = ?", (name, row_id))
        seen.add(_key(name))


# -- looking names up --------------------------------------------------------------------
def _labels(conn: sqlite3.Connection) -> dict[str, str]:
    return {_key(n): n for (n,) in conn.execute("SELECT name FROM labels")}


def _manual(conn: sqlite3.Connection) -> dict[str, str]:
    return {_key(t): t for (t,) in conn.execute("SELECT DISTINCT tag FROM manual_tags")}


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
    rows = conn.execute("SELECT id, name FROM categories").fetchall()
    for cat_id, cat_name in rows:
        if _key(cat_name) == _key(name.strip()):
            return cat_id, cat_name
    raise CategoryError(f"no category named {name!r}" + _suggest(name, [r[1] for r in rows]))


def _suggest(name: str, choices: Iterable[str]) -> str:
    by_key = {_key(c): c for c in choices}
    close = difflib.get_close_matches(_key(name), list(by_key), n=1, cutoff=0.6)
    return f"; did you mean {by_key[close[0]]!r}?" if close else ""


def _label_row(conn: sqlite3.Connection, name: str) -> tuple[int, int, str, str] | None:
    return conn.execute(
        "SELECT l.id, l.category_id, c.name, c.kind FROM labels l "
        "JOIN categories c ON c.id = l.category_id WHERE l.name = ?",
        (name,),
    ).fetchone()


# -- operations (inside the caller's transaction) ----------------------------------------
def rename_tag(conn: sqlite3.Connection, old: str, new: str) -> str:
    """Rename a tag, or merge it into an existing one (any case); returns what happened.

    A label keeps its category; photos that carried either name carry the new one,
    and a manual decision wins over none ("on" over "off" when both exist).
    """
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
    names = (source, target) if merging else (source, source)
    rows = conn.execute(
        "SELECT photo_id, state, updated_at FROM manual_tags WHERE tag IN (?, ?)", names
    ).fetchall()
    merged: dict[int, tuple[str, str]] = {}
    for pid, state, at in rows:
        if pid not in merged or (state == "on" and merged[pid][0] == "off"):
            merged[pid] = (state, at)
    conn.execute("DELETE FROM manual_tags WHERE tag IN (?, ?)", names)
    if source_label:
        conn.execute("UPDATE labels SET name = ? WHERE id = ?", (final, source_label[0]))
    keep_off = bool(source_label or target_label)  # a rejection means something for labels
    conn.executemany(
        "INSERT INTO manual_tags (photo_id, tag, state, updated_at) VALUES (?, ?, ?, ?)",
        [(pid, final, st, at) for pid, (st, at) in merged.items() if st == "on" or keep_off],
    )
    _bump_auto(conn)
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
    return conn.execute("DELETE FROM manual_tags WHERE tag = ?", (tag,)).rowcount


def rename_category(conn: sqlite3.Connection, old: str, new: str) -> str:
    cat_id, current = find_category(conn, old)
    wanted = clean_tag(new)
    for other_id, other in conn.execute("SELECT id, name FROM categories").fetchall():
        if other_id != cat_id and _key(other) == _key(wanted):
            raise CategoryError(f"a category named {other!r} already exists")
    conn.execute("UPDATE categories SET name = ? WHERE id = ?", (wanted, cat_id))
    return f"renamed category {current!r} to {wanted!r}"


def remove_label(conn: sqlite3.Connection, category: str, label: str) -> str:
    """Take a label out of its category: its auto tags go, photos tagged by hand keep it."""
    cat_id, cat_name = find_category(conn, category)
    rows = conn.execute(
        "SELECT id, name FROM labels WHERE category_id = ? ORDER BY position, id", (cat_id,)
    ).fetchall()
    match = [r for r in rows if _key(r[1]) == _key(label.strip())]
    if not match:
        raise CategoryError(
            f"category {cat_name!r} has no label {label!r}" + _suggest(label, [r[1] for r in rows])
        )
    kind = conn.execute("SELECT kind FROM categories WHERE id = ?", (cat_id,)).fetchone()[0]
    if len(rows) <= (2 if kind == "exclusive" else 1):
        raise CategoryError(
            f"{cat_name!r} would keep too few labels ({'two' if kind == 'exclusive' else 'one'} "
            f"at least); remove the category instead"
        )
    label_id, name = match[0]
    conn.execute("DELETE FROM labels WHERE id = ?", (label_id,))  # its auto tags cascade
    conn.execute("DELETE FROM manual_tags WHERE tag = ? AND state = 'off'", (name,))
    _bump_auto(conn)
    return f"removed label {name!r} from {cat_name!r} (photos tagged by hand keep it)"


def _bump_auto(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('auto_tags_version', '1') "
        "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )


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
    keys = {_key(t) for t in tags}
    snap = TagSnapshot(sorted(keys))
    cat_keys = {_key(c) for c in categories}
    snap.categories = [
        tuple(r)
        for r in conn.execute("SELECT id, name FROM categories").fetchall()
        if _key(r[1]) in cat_keys
    ]
    snap.labels = [
        tuple(r)
        for r in conn.execute(
            "SELECT id, category_id, name, prompts, threshold, position FROM labels"
        ).fetchall()
        if _key(r[2]) in keys
    ]
    ids = [r[0] for r in snap.labels]
    if ids:
        snap.auto = [
            tuple(r)
            for r in conn.execute(
                f"SELECT photo_id, label_id, score FROM auto_tags WHERE label_id IN "
                f"({','.join('?' * len(ids))})",
                ids,
            ).fetchall()
        ]
    names = [t for t in _manual(conn).values() if _key(t) in keys]
    for name in names:
        snap.manual += [
            tuple(r)
            for r in conn.execute(
                "SELECT photo_id, tag, state, updated_at FROM manual_tags WHERE tag = ?", (name,)
            ).fetchall()
        ]
    return snap


def restore(conn: sqlite3.Connection, snap: TagSnapshot, now_names: Iterable[str] = ()) -> None:
    """Put the snapshot's rows back; ``now_names`` are names the operation created."""
    keys = set(snap.tags) | {_key(n) for n in now_names}
    for name in [t for t in _manual(conn).values() if _key(t) in keys]:
        conn.execute("DELETE FROM manual_tags WHERE tag = ?", (name,))
    for cat_id, name in snap.categories:
        conn.execute("UPDATE categories SET name = ? WHERE id = ?", (name, cat_id))
    existing = {r[0] for r in conn.execute("SELECT id FROM labels")}
    for lid, cid, name, prompts, threshold, position in snap.labels:
        if lid in existing:
            conn.execute(
                "UPDATE labels SET name = ?, prompts = ?, threshold = ?, position = ? WHERE id = ?",
                (name, prompts, threshold, position, lid),
            )
        else:
            conn.execute(
                "INSERT INTO labels (id, category_id, name, prompts, threshold, position) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (lid, cid, name, prompts, threshold, position),
            )
    conn.executemany(
        "INSERT OR REPLACE INTO auto_tags (photo_id, label_id, score) VALUES (?, ?, ?)", snap.auto
    )
    conn.executemany(
        "INSERT OR REPLACE INTO manual_tags (photo_id, tag, state, updated_at) "
        "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?)",
        [(*row, row[0]) for row in snap.manual],
    )
    _bump_auto(conn)


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

    conn.execute("ALTER TABLE categories ADD COLUMN applies_if TEXT")
    labels = _labels(conn)
    for category in default_categories():
        if category.applies_if and _key(category.applies_if) in labels:
            conn.execute(
                "UPDATE categories SET applies_if = ? WHERE name = ? COLLATE NOCASE "
                "AND applies_if IS NULL",
                (labels[_key(category.applies_if)], category.name),
            )
    # auto tags the condition now rules out go at once (a re-tag would drop them too)
    for name, label in conn.execute(
        "SELECT name, applies_if FROM categories WHERE applies_if IS NOT NULL"
    ).fetchall():
        conn.execute(
            "DELETE FROM auto_tags WHERE label_id IN (SELECT l.id FROM labels l "
            "JOIN categories c ON c.id = l.category_id WHERE c.name = ?) "
            "AND photo_id NOT IN (SELECT photo_id FROM effective_tags WHERE tag = ?)",
            (name, label),
        )
    _bump_auto(conn)
