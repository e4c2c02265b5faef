"""Migration ``0002_tags``: the tag tables (``store/tags.py``) and the default categories."""

from __future__ import annotations

import sqlite3

from photosort.core import categories as cats
from photosort.core.store import tags as tag_store


def _tags_schema(conn: sqlite3.Connection) -> None:
    tag_store.create_schema(conn)
    for category in cats.default_categories():  # a new library starts with the defaults
        cats.store(conn, category)
