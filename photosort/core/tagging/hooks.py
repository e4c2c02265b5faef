"""The search hooks: tag filters on a query, and each result's tags."""

from __future__ import annotations

import sqlite3

from photosort.core.catalog import Catalog
from photosort.core.search import (
    SearchQuery,
    SearchResult,
    register_filter,
    register_result_hook,
)
from photosort.core.store import TagStore
from photosort.core.tagging.manual import photo_tags


def _tag_filter(query: SearchQuery) -> tuple[list[str], list]:
    """Every ``tags`` entry must be on the photo; no ``not_tags`` entry may be."""
    return TagStore.filter_clauses(query.tags, query.not_tags)


def _fill_result_tags(catalog: Catalog, results: list[SearchResult]) -> None:
    try:
        tags = photo_tags(catalog, [r.photo_id for r in results], include_rejected=False)
    except sqlite3.OperationalError:  # a catalog opened before the tags migration
        return
    for r in results:
        r.tags = [t.name for t in tags.get(r.photo_id, [])]


register_filter(_tag_filter)
register_result_hook(_fill_result_tags)
