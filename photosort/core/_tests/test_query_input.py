"""Search input checks: dates, weights and counts typed by a user."""

from __future__ import annotations

import math

import pytest

from photosort.core.query_input import check_term, check_top, parse_date, validate
from photosort.core.search import SearchError, SearchQuery, Term


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2022-03-20", "2022-03-20"),
        ("2022-03-20T14:30", "2022-03-20T14:30:00"),
        ("2022-03-20 14:30:05", "2022-03-20T14:30:05"),
        ("2022-03-20T14:30:00+02:00", "2022-03-20T14:30:00"),
    ],
)
def test_good_dates(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    "raw", ["2022-13-40", "20.03.2022", "yesterday", "2022", "20220320", "2022-02-30", ""]
)
def test_bad_dates_name_the_format(raw):
    with pytest.raises(SearchError, match="is not a date: write it as YYYY-MM-DD"):
        parse_date(raw, "--from")


@pytest.mark.parametrize("weight", [math.nan, math.inf, -math.inf])
def test_weights_must_be_finite(weight):
    with pytest.raises(SearchError, match="finite"):
        check_term(Term("dog", weight))
    assert Term.parse("dog:nan").weight != Term.parse("dog:nan").weight  # what users typed


@pytest.mark.parametrize("top", [0, -3, True])
def test_top_must_be_positive(top):
    with pytest.raises(SearchError, match="positive"):
        check_top(top)


def test_validate_normalises_and_orders_dates():
    q = validate(SearchQuery(text="x", date_from="2022-01-01", date_to="2022-01-01T10:00"))
    assert (q.date_from, q.date_to) == ("2022-01-01", "2022-01-01T10:00:00")
    with pytest.raises(SearchError, match="--from 2023-01-01 is after --to 2022-01-01"):
        validate(
            SearchQuery(date_from="2023-01-01", date_to="2022-01-01"),
            {"date_from": "--from", "date_to": "--to"},
        )
