"""A category's prompt template: the words around a label that names no prompts.

``template = "a photo taken at {}"`` in a category's TOML turns its label "dusk" into the
prompt "a photo taken at dusk" (``{label}`` works too). Labels with their own prompts keep
them; without a template the defaults (``DEFAULT_TEMPLATES`` in core/categories.py) apply.
Stored in ``categories.template`` (migration 0012); torch-free.
"""

from __future__ import annotations

import sqlite3

from photosort.core.errors import PhotosortError
from photosort.core.store import CategoryStore

PLACEHOLDERS = ("{}", "{label}")


class TemplateError(PhotosortError, ValueError):
    """A template without a place for the label."""


def fill(template: str, label: str) -> str:
    """The prompt for ``label``: every placeholder replaced by the label's name."""
    return template.replace("{label}", label).replace("{}", label)


def clean(template: object, owner: str) -> str | None:
    """A stored template (trimmed), None for none; it must have a place for the label."""
    if template is None:
        return None
    if not isinstance(template, str):
        raise TemplateError(f"category {owner!r}: template must be text, e.g. 'a photo of {{}}'")
    text = template.strip()
    if not text:
        return None
    if not any(mark in text for mark in PLACEHOLDERS):
        raise TemplateError(
            f"category {owner!r}: template {text!r} has no {{}} where the label goes, "
            "e.g. 'a photo taken at {}'"
        )
    return text


def has_column(conn: sqlite3.Connection) -> bool:
    """Before this migration (a new catalog storing its defaults) there is no column yet."""
    return "template" in CategoryStore(conn).columns()
