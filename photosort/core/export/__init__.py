"""Export tagged photos into folders: one folder per tag, safe names, nothing overwritten.

Safety rules, because the destination may be any disk and tag names are free text:

* folder and file names are sanitised for every OS (no separators, no ``..``, no
  Windows device names such as CON or LPT1 with any extension, no trailing dots or
  spaces, no control characters, at most ``MAX_NAME_BYTES`` UTF-8 bytes), and every
  resolved path is checked to be inside the destination;
* an existing file is never overwritten: names are claimed with exclusive operations
  (``os.link``/``os.symlink``/``open(..., "xb")``) and a taken name gets " (2)", " (3)" ...;
* ``copy`` writes to a temporary file first and keeps timestamps (``shutil.copy2``
  semantics); ``move`` is all-or-nothing per file: copy (or link) and fsync, update the
  catalog, then remove the original, undoing the earlier steps if a later one fails;
* a manifest CSV (source, destination, tag, mode) in the destination lists what was done,
  even when the disk fills up (the export stops there, with one line saying so); its cells
  cannot start a spreadsheet formula; a second export into the same folder appends to it;
* a photo already in the destination with identical content is skipped ("already there"),
  so running the same export twice copies nothing again;
* two different tags never share a folder, whatever their names sanitise to.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from photosort.core.catalog import Catalog
from photosort.core.export.moving import (
    move_one,
    recover_moves,
    remove_original,
    settle,
    update_catalog_path,
)
from photosort.core.export.names import (
    MAX_NAME_BYTES,
    candidates,
    inside,
    safe_filename,
    safe_name,
)
from photosort.core.export.placing import (
    MANIFEST,
    MANIFEST_HEADER,
    Manifest,
    _disk_full,
    _prepare_folder,
    _reason,
    _room_for,
    _sidecar,
    copy_exclusive,
    csv_cell,
    place,
)
from photosort.core.export.planning import (
    Source,
    check_request,
    not_a_photo,
    plan,
    sources_for,
    tag_folders,
)
from photosort.core.export.request import (
    LAYOUTS,
    MODES,
    PAIR_CHOICES,
    ExportError,
    ExportItem,
    ExportRequest,
    ExportSummary,
)
from photosort.core.progress import ProgressCallback, RateMeter
from photosort.core.xmp import SidecarTag

__all__ = [
    "LAYOUTS",
    "MANIFEST",
    "MANIFEST_HEADER",
    "MAX_NAME_BYTES",
    "MODES",
    "PAIR_CHOICES",
    "ExportError",
    "ExportItem",
    "ExportRequest",
    "ExportSummary",
    "Manifest",
    "Source",
    "candidates",
    "check_request",
    "copy_exclusive",
    "csv_cell",
    "inside",
    "move_one",
    "not_a_photo",
    "place",
    "plan",
    "recover_moves",
    "remove_original",
    "run",
    "safe_filename",
    "safe_name",
    "settle",
    "sources_for",
    "tag_folders",
    "update_catalog_path",
]


def run(
    catalog: Catalog,
    request: ExportRequest,
    sources: list[Source],
    tags_of: Callable[[int], list[SidecarTag]],
    root_for: Callable[[str], int],
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ExportSummary:
    """Export ``sources``; ``root_for(folder)`` gives the catalog root a moved photo joins."""
    check_request(request)
    base = os.path.abspath(os.path.expanduser(os.fspath(request.dest)))
    summary = ExportSummary(base, request.mode, request.dry_run)
    summary.items = plan(request, sources)
    if request.dry_run:
        return summary
    try:
        os.makedirs(base, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create {base}: {exc.strerror or exc}") from exc
    meter = RateMeter("exporting", len(summary.items), on_progress)
    meter.report(0)
    if all(i.status == "skipped" for i in summary.items):
        return summary  # all already there: not even a manifest to touch
    manifest = Manifest.open(base)
    summary.manifest = manifest.path
    root_id: int | None = None
    try:
        for n, item in enumerate(summary.items, 1):
            if item.status in ("skipped", "failed"):
                continue
            if should_cancel and should_cancel():
                summary.cancelled = True
                break
            try:
                _prepare_folder(os.path.dirname(item.destination), base)
                if request.mode == "move":
                    if root_id is None:
                        root_id = root_for(base)
                    item.destination = move_one(catalog, item, root_id)
                else:
                    item.destination = place(item.source, item.destination, request.mode)
                item.status = "done"
            except (OSError, ExportError) as exc:
                item.status = "failed"
                item.error = _reason(exc)
                if _disk_full(exc) and not _room_for(item.source, base):
                    summary.stopped = f"the disk of {base} is full"  # the rest would fail too
            if item.status == "done":
                manifest.add([item.source, item.destination, item.tag, request.mode])
                if request.xmp:
                    _sidecar(item, tags_of(item.photo_id), summary)
            meter.report(n, item.source)
            if summary.stopped:
                break
    finally:
        problem = manifest.close()
    if problem:
        summary.warnings.append(problem)
    summary.items = [i for i in summary.items if i.status != "planned"]
    return summary
