"""The store: every SQL statement of the core, behind intention-named methods.

One module per table family, one class per family (as rclip's ``db.py`` keeps its SQL in
one class): ``photos`` (photos, roots), ``vectors`` (embeddings, the prompt cache),
``tags`` (labels, auto and manual tags, the "manual wins" rule), ``categories``,
``tag_admin`` (tag and category renames, merges, their undo), ``taught`` (tags taught
by example), ``ocr`` (recognised text, its word index and gates), ``journal`` (the
move journal), ``duplicates`` (fingerprints, the trash journal), ``kept`` (manual
decisions kept by content) and ``health`` (doctor's checks). A store is made over a
``Handle`` (a ``Catalog``, or the connection of a transaction already open), so one call
can join the caller's transaction. ``Catalog`` stays the owner of connections,
transactions and migrations. ``core/_tests/test_sql_lives_in_the_store.py`` keeps SQL
from spreading.
"""

from __future__ import annotations

from photosort.core.store.categories import CategoryStore
from photosort.core.store.duplicates import FingerprintStore, TrashJournal
from photosort.core.store.health import CatalogHealth
from photosort.core.store.journal import MoveJournal
from photosort.core.store.kept import KeptTagStore
from photosort.core.store.ocr import OcrTextStore
from photosort.core.store.photos import PhotoStore, RootStore
from photosort.core.store.sql import IN_CHUNK, Handle, Store, in_chunks, under_folder_sql
from photosort.core.store.tag_admin import TagAdminStore
from photosort.core.store.tags import TagStore
from photosort.core.store.taught import TaughtTagStore
from photosort.core.store.vectors import TextVectorStore, VectorStore

__all__ = [
    "IN_CHUNK",
    "CatalogHealth",
    "CategoryStore",
    "FingerprintStore",
    "Handle",
    "KeptTagStore",
    "MoveJournal",
    "OcrTextStore",
    "PhotoStore",
    "RootStore",
    "Store",
    "TagAdminStore",
    "TagStore",
    "TaughtTagStore",
    "TextVectorStore",
    "TrashJournal",
    "VectorStore",
    "in_chunks",
    "under_folder_sql",
]
