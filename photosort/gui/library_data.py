"""Reads the window needs, shaped for widgets; called in worker threads, returns plain data.

Each function takes the ``Library`` and returns dataclasses, so the widgets never query
the catalog themselves and these reads never run on the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from photosort.core.errors import PhotosortError
from photosort.core.library import Library
from photosort.core.ocr import OcrResult
from photosort.gui.sidebar import SidebarData


def load_sidebar(library: Library) -> SidebarData:
    folders, failed = library.folder_counts()
    return SidebarData(
        total=sum(folders.values()),
        failed=failed,
        roots=library.root_paths(),
        folders=folders,
        categories=library.categories(),
        tag_counts=library.tag_counts(),
        date_span=library.date_span(),
    )


@dataclass
class PhotoInfo:
    """What the details panel shows for the selection."""

    ids: list[int]
    details: dict[int, dict] = field(default_factory=dict)
    tags: dict[int, list] = field(default_factory=dict)  # id -> core PhotoTag list
    sun: str = ""  # one photo: where the sun was when it was taken (core/sun.py)
    scores: list = field(default_factory=list)  # one photo: core.scores.CategoryScores
    text: OcrResult | None = None  # one photo: the text recognised in it (core/ocr.py)


def load_photo_info(library: Library, photo_ids: list[int]) -> PhotoInfo:
    info = PhotoInfo(list(photo_ids))
    info.details = library.photo_details(photo_ids)
    info.tags = library.photo_tags(photo_ids)
    if len(photo_ids) == 1:
        info.sun = library.sun_text(photo_ids[0])
        try:  # the chart is extra: a model that cannot load (offline) only hides it
            info.scores = library.photo_scores(photo_ids[0])
        except PhotosortError:
            info.scores = []
        info.text = library.photo_text(photo_ids[0])
    return info


def photo_paths(library: Library, photo_ids: list[int]) -> dict[int, str]:
    return library.photo_paths(photo_ids)
