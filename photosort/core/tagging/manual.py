"""Manual tags, and the effective tags a photo carries (manual wins: ``store/tags.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from photosort.core import categories as cats
from photosort.core import tag_admin
from photosort.core.catalog import Catalog, now_iso
from photosort.core.categories import CategoryError
from photosort.core.lazy_import import np
from photosort.core.store import TagStore
from photosort.core.tagging.results import PhotoTag


def label_names(catalog: Catalog) -> dict[str, str]:
    """Tag name -> category name for every label."""
    return TagStore(catalog).label_categories()


def set_manual(
    catalog: Catalog, photo_ids: Iterable[int], add: Iterable[str] = (), remove: Iterable[str] = ()
) -> None:
    """Record manual decisions. Removing a label rejects it ('off', wins over the tagger);
    removing a free-standing manual tag (no label of that name) just forgets it."""
    ids = sorted({int(i) for i in photo_ids})
    with catalog.transaction() as conn:  # "favourite" means the existing "Favourite"
        add = tag_admin.canonical_tags(conn, add)
        remove = tag_admin.canonical_tags(conn, remove)
    if set(add) & set(remove):
        raise CategoryError(f"cannot add and remove the same tag: {sorted(set(add) & set(remove))}")
    stamp = now_iso()
    with catalog.transaction() as conn:  # labels read inside: a label made meanwhile counts
        store = TagStore(conn)
        labels = store.label_names()
        for tag in add:
            store.set_manual(ids, tag, "on", stamp)
        for tag in remove:
            if tag in labels:
                store.set_manual(ids, tag, "off", stamp)
            else:
                store.forget_manual([(pid, tag) for pid in ids])


def clear_manual(catalog: Catalog, photo_ids: Iterable[int], tags: Iterable[str]) -> None:
    """Forget manual decisions so the tagger's view applies again (undo)."""
    TagStore(catalog).forget_manual([(int(pid), tag) for pid in photo_ids for tag in tags])


def photo_tags(
    catalog: Catalog, photo_ids: Iterable[int], include_rejected: bool = True
) -> dict[int, list[PhotoTag]]:
    """Effective tags per photo (manual wins); manual rejections come with state 'off'."""
    ids = [int(i) for i in photo_ids]
    out: dict[int, list[PhotoTag]] = {pid: [] for pid in ids}
    store = TagStore(catalog)
    order = {name: i for i, name in enumerate(store.labels_in_order())}
    for r in store.effective_of(ids):
        out[r[0]].append(PhotoTag(r[1], r[2], "on", r[3], r[4]))
    if include_rejected:
        for r in store.rejected_of(ids):
            out[r[0]].append(PhotoTag(r[1], "manual", "off", r[3], r[2]))
    for tags in out.values():
        tags.sort(key=lambda t: (order.get(t.name, len(order)), t.name, t.state))
    return out


def contrary_labels(catalog: Catalog, label: str) -> list[str] | None:
    """The other labels of ``label``'s exclusive group (indoor for outdoor), or None when
    ``label`` is a free tag."""
    key = label.strip().casefold()
    for category in cats.load(catalog):
        names = [lb.name for lb in category.labels]
        if category.kind == "exclusive" and key in {n.casefold() for n in names}:
            return [n for n in names if n.casefold() != key]
    return None


def photos_where_applies(catalog: Catalog, applies_if: str, ids: np.ndarray) -> np.ndarray:
    """Of ``ids``, the photos a category with ``applies_if`` may tag.

    Where the condition is a label of an exclusive group, only a contrary label rules a
    photo out: an outdoor night photo the model is unsure of still gets its time of day,
    an indoor one does not. A free tag as condition must hold.
    """
    return applies_filter(catalog, applies_if)(ids)


def applies_filter(catalog: Catalog, applies_if: str) -> Callable[[np.ndarray], np.ndarray]:
    """``photos_where_applies`` with the catalog read once, for one piece of ids at a time."""
    contrary = contrary_labels(catalog, applies_if)
    if contrary is None:
        holds = np.array(photos_with_tag(catalog, applies_if), np.int64)
        return lambda ids: np.asarray(ids, np.int64)[np.isin(ids, holds)]
    ruled_out = np.array(
        [pid for name in contrary for pid in photos_with_tag(catalog, name)], np.int64
    )
    return lambda ids: np.asarray(ids, np.int64)[~np.isin(ids, ruled_out)]


def photos_with_tag(catalog: Catalog, tag: str) -> list[int]:
    return TagStore(catalog).photos_with_tag(tag)
