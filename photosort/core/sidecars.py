"""XMP sidecars for a library's photos: which photos get one, with which tags and which
imported keywords, written one file at a time (``xmp`` writes and reads one sidecar).

Only when the user asks; originals are never touched. The ``Library`` holds the write lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from photosort.core import keywords as keyword_import
from photosort.core import pairs as raw_pairs
from photosort.core import tagging, xmp
from photosort.core.catalog import Catalog
from photosort.core.progress import ProgressCallback, RateMeter
from photosort.core.store import PhotoStore, TagStore


def write_sidecars(
    catalog: Catalog,
    photo_ids: Iterable[int] | None,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> xmp.XmpSummary:
    """Write ``photo.ext.xmp`` with the tags next to originals.

    Without ``photo_ids``: every photo that has a tag or keywords imported from its
    sidecar. A photo without tags gets a sidecar only to refresh one photosort wrote or
    imported from before.
    """
    if photo_ids is None:  # tagged photos, and those whose imported keywords may be gone
        photo_ids = TagStore(catalog).tagged_or_keyworded()
    ids = raw_pairs.primary_of(catalog, photo_ids)  # a RAW's tags live on its JPEG
    # The RAW of a pair gets the same sidecar (darktable and Lightroom read the RAW's).
    companions = raw_pairs.companions_of(catalog, ids)
    carrier = {cid: pid for pid, rows in companions.items() for cid, _ in rows}
    ids = [x for pid in ids for x in [pid, *(cid for cid, _ in companions.get(pid, []))]]
    details = PhotoStore(catalog).details(list(ids))
    tags = tagging.photo_tags(catalog, [carrier.get(i, i) for i in ids], include_rejected=False)
    adopted = keyword_import.adopted_keywords(catalog, ids)
    summary = xmp.XmpSummary()
    meter = RateMeter("writing XMP", len(ids), on_progress)
    meter.report(0)
    for n, pid in enumerate(ids, 1):
        if should_cancel and should_cancel():
            summary.cancelled = True
            break
        if pid not in details:
            continue
        path = details[pid]["path"]
        have = [xmp.SidecarTag(t.name, t.category) for t in tags.get(carrier.get(pid, pid), [])]
        if not have and not adopted.get(pid) and not xmp.written_by_us(xmp.sidecar_path(path)):
            continue
        try:
            target, outcome = xmp.write_sidecar(path, have, adopted.get(pid, ()))
        except OSError as exc:
            summary.failures.append((path, exc.strerror or str(exc)))
            continue
        if outcome == "written":
            summary.written += 1
        elif outcome == "updated":
            summary.updated += 1
        else:
            summary.unchanged_foreign.append(str(target))
        meter.report(n, path)
    return summary
