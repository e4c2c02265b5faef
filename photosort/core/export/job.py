"""An export of a library's photos, start to end: which files (a RAW+JPEG pair as one or
both), their tags for the sidecars, the run itself and the warnings after it.

The ``Library`` takes the write lock and settles half-done moves first; it hands in how a
destination folder becomes a root (``root_for``) and the warnings of that recovery.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from photosort.core import pairs as raw_pairs
from photosort.core import tagging
from photosort.core.catalog import Catalog
from photosort.core.export import run
from photosort.core.export.planning import Source, sources_for
from photosort.core.export.request import ExportRequest, ExportSummary
from photosort.core.progress import ProgressCallback
from photosort.core.xmp import SidecarTag


def export_photos(
    catalog: Catalog,
    request: ExportRequest,
    root_for: Callable[[str], int],
    recovered: list[str],
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ExportSummary:
    """Copy, link or move the requested photos; ``recovered``: warnings to put first."""
    sources = with_pairs(
        catalog, sources_for(catalog, request.tags, request.photo_ids), request.pair
    )

    def tags_of(photo_id: int) -> list[SidecarTag]:
        tags = tagging.photo_tags(catalog, [photo_id], include_rejected=False)[photo_id]
        return [SidecarTag(t.name, t.category) for t in tags]

    summary = run(catalog, request, sources, tags_of, root_for, on_progress, should_cancel)
    summary.warnings = recovered + summary.warnings
    dest = os.path.realpath(summary.dest)
    for root in catalog.roots():
        real_root = os.path.realpath(root["path"])
        if request.mode != "move" and os.path.commonpath([dest, real_root]) == real_root:
            summary.warnings.append(
                f"{summary.dest} is inside the library folder {root['path']}: "
                "the next scan will add the exported files as photos too"
            )
    return summary


def with_pairs(catalog: Catalog, sources: list[Source], choice: str) -> list[Source]:
    """A RAW+JPEG pair is exported as both files, or only the RAW or the JPEG."""
    companions = raw_pairs.companions_of(catalog, [s.photo_id for s in sources])
    out: list[Source] = []
    for src in sources:
        raws = [Source(cid, path, src.tags) for cid, path in companions.get(src.photo_id, [])]
        if not raws or choice == "jpeg":
            out.append(src)
        elif choice == "raw":
            out += raws
        else:
            out += [src, *raws]
    return out
