"""Checks on what a user typed into a search, before it reaches SQL or FAISS.

Dates compared as text let ``2022-13-40`` or ``yesterday`` through and silently match
nothing; a ``nan`` weight poisons every score; a huge ``top`` overflowed FAISS. Each is a
one-line ``SearchError`` naming what to type instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

from photosort.core import lookup
from photosort.core.catalog import Catalog
from photosort.core.search import SearchError, SearchQuery, Term
from photosort.core.store import PhotoStore

DATE_HELP = "write it as YYYY-MM-DD, e.g. 2022-03-20 (or YYYY-MM-DDTHH:MM)"


def parse_date(text: str, what: str = "date") -> str:
    """The ISO form of a date or date-time (``2022-03-20``, ``2022-03-20T14:30``)."""
    raw = str(text).strip()
    try:
        if len(raw) == 10:  # the usual case; fromisoformat alone would also take 20220320
            return dt.date.fromisoformat(raw).isoformat()
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise SearchError(f"{what} {text!r} is not a date: {DATE_HELP}") from None
    if "T" not in raw and " " not in raw:
        raise SearchError(f"{what} {text!r} is not a date: {DATE_HELP}")
    return parsed.replace(tzinfo=None).isoformat()


def check_term(term: Term, what: str = "term") -> Term:
    if not term.text:
        raise SearchError(f"{what} needs a text, e.g. 'dog' or 'dog:2'")
    if not math.isfinite(term.weight):
        raise SearchError(
            f"{what} {term.text!r} has weight {term.weight}: "
            f"use a finite number, e.g. {term.text}:2"
        )
    return term


def check_top(top: int, what: str = "the number of results") -> int:
    if not isinstance(top, int) or isinstance(top, bool) or top <= 0:
        raise SearchError(f"{what} must be a positive whole number")
    return top


def validate(query: SearchQuery, names: dict[str, str] | None = None) -> SearchQuery:
    """A copy of ``query`` with dates in ISO form; ``names`` says how the caller calls each
    field (the CLI: ``{"date_from": "--from", ...}``)."""
    names = {
        "date_from": "start date",
        "date_to": "end date",
        "also": "term",
        "exclude": "excluded term",
        "top": "the number of results",
        **(names or {}),
    }
    date_from = parse_date(query.date_from, names["date_from"]) if query.date_from else None
    date_to = parse_date(query.date_to, names["date_to"]) if query.date_to else None
    if date_from and date_to and date_from[:10] > date_to[:10]:
        raise SearchError(
            f"{names['date_from']} {date_from} is after {names['date_to']} {date_to}: "
            "nothing can match"
        )
    return dataclasses.replace(
        query,
        date_from=date_from,
        date_to=date_to,
        also=[check_term(t, names["also"]) for t in query.also],
        exclude=[check_term(t, names["exclude"]) for t in query.exclude],
        top=check_top(query.top, names["top"]),
    )


def check_query(
    catalog: Catalog,
    query: SearchQuery,
    names: dict[str, str] | None = None,
    check_tags: bool = True,
) -> SearchQuery:
    """Bad dates, weights, unknown tags or folders: one-line errors, not empty results
    (``names``: how the caller calls each field in messages)."""
    names = {"folder": "folder", "root": "root", "tags": "tag", **(names or {})}
    query = validate(query, names)
    for field_name in ("folder", "root"):
        value = getattr(query, field_name)
        if value:
            lookup.check_folder(catalog, value, names[field_name])
    if check_tags:
        lookup.check_tags(catalog, [*query.tags, *query.not_tags], names["tags"])
    photos = PhotoStore(catalog).count()
    query.top = min(query.top, max(photos, 1))  # "all of them", without overflowing FAISS
    return query
