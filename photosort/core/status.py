"""A library's counts for ``photosort status`` and the app's status line, from the catalog
alone: never loads the model (seconds, or a failure offline)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from photosort.core import pairs as raw_pairs
from photosort.core.catalog import Catalog
from photosort.core.store import PhotoStore


@dataclass(frozen=True)
class LibraryStatus:
    library: str
    model: str
    roots: int
    photos: int
    embedded: int
    failed: int
    pending: int
    #: RAW files shown through the JPEG beside them (counted once in ``photos``)
    raw_pairs: int = 0
    #: files not indexed, by extension (videos): {".mov": 12}
    skipped: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def library_status(catalog: Catalog, folder: str, model: str, model_id: str) -> LibraryStatus:
    """The counts of a library at ``folder`` whose model is ``model`` (``model_id``: its
    vectors; "" when unknown without loading it)."""
    photos, failed, _ = PhotoStore(catalog).counts()
    companions = len(raw_pairs.companion_ids(catalog))
    skipped: dict[str, int] = {}
    for root in catalog.roots():
        for ext, n in json.loads(catalog.get_meta(f"skipped_videos:{root['id']}") or "{}").items():
            skipped[ext] = skipped.get(ext, 0) + n
    return LibraryStatus(
        library=folder,
        model=model,
        roots=len(catalog.roots()),
        photos=photos - companions,
        embedded=catalog.count_vectors(model_id),
        failed=failed,
        pending=max(0, catalog.count_needing_embedding(model_id) - companions),
        raw_pairs=companions,
        skipped=dict(sorted(skipped.items())),
    )
