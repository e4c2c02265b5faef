"""Categories: named groups of labels the user defines in words, stored in the catalog.

A category is *exclusive* (each photo gets at most one of its labels, e.g. time of
day) or *free* (each label is an independent yes/no tag, e.g. "dog", "beach"). A
label is a tag name plus one or more prompts; a prompt may contain ``{label}``. Tag
names are unique across all categories, so a tag name alone says where it belongs.

Definitions travel as TOML (``[[category]]`` with ``[[category.label]]`` tables), the
same format as the defaults shipped in ``resources/categories.toml``.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import unicodedata
from dataclasses import dataclass, field
from importlib import resources as importlib_resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photosort.core import prompt_template
from photosort.core.errors import LibraryError, PhotosortError
from photosort.core.store import CategoryStore

if TYPE_CHECKING:
    from photosort.core.catalog import Catalog

KINDS = ("exclusive", "free")
DEFAULT_THRESHOLD = 0.5
#: Prompts used for a label that names none: the CLIP paper's plainest templates.
DEFAULT_TEMPLATES = ("a photo of {label}", "a picture of {label}")
DEFAULTS_FILE = "categories.toml"
FORMAT_VERSION = 1


class CategoryError(PhotosortError, ValueError):
    """A category definition that cannot be used; the message says what to fix."""


@dataclass
class Label:
    name: str
    prompts: list[str] = field(default_factory=list)
    threshold: float | None = None  # None: the category's threshold
    #: Sun keys (see core/sun.py): the sun elevation band in degrees, and whether the sun
    #: must be rising (before solar noon, True) or setting (False); None: either.
    sun_elevation: tuple[float, float] | None = None
    sun_rising: bool | None = None

    def prompt_texts(self, template: str | None = None) -> list[str]:
        """The prompts with ``{label}`` filled in; without prompts, the category's
        ``template`` or else the default templates."""
        if self.prompts:
            return [t.replace("{label}", self.name) for t in self.prompts]
        if template:
            return [prompt_template.fill(template, self.name)]
        return [t.replace("{label}", self.name) for t in DEFAULT_TEMPLATES]


@dataclass
class Category:
    name: str
    kind: str = "free"
    threshold: float = DEFAULT_THRESHOLD
    labels: list[Label] = field(default_factory=list)
    sun: bool = False  # fuse the image's probabilities with the sun's (core/sun.py)
    #: The category applies only to photos carrying this label of another category
    #: (e.g. time of day only where "outdoor" holds); None: to every photo.
    applies_if: str | None = None
    #: Prompt for labels without prompts, e.g. "a photo taken at {}" (core/prompt_template)
    template: str | None = None

    def label(self, name: str) -> Label:
        for label in self.labels:
            if label.name == name:
                return label
        raise CategoryError(f"category {self.name!r} has no label {name!r}")

    def threshold_of(self, label: Label) -> float:
        return self.threshold if label.threshold is None else label.threshold


def clean_tag(name: str) -> str:
    """A tag name as stored: trimmed, no control characters; raises when nothing is left."""
    text = unicodedata.normalize("NFC", str(name)).strip()
    if not text:
        raise CategoryError("a tag name cannot be empty")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise CategoryError(f"tag name {text!r} contains control characters")
    return text


def validate(category: Category) -> Category:
    """A cleaned copy of ``category``, or CategoryError saying what is wrong."""
    name = clean_tag(category.name)
    if category.kind not in KINDS:
        raise CategoryError(f"category {name!r}: kind must be 'exclusive' or 'free'")
    threshold = _threshold(category.threshold, name)
    labels: list[Label] = []
    seen: set[str] = set()
    for label in category.labels:
        label_name = clean_tag(label.name)
        if label_name in seen:
            raise CategoryError(f"category {name!r} names label {label_name!r} twice")
        seen.add(label_name)
        prompts = [str(p).strip() for p in label.prompts if str(p).strip()]
        label_threshold = (
            None if label.threshold is None else _threshold(label.threshold, label_name)
        )
        band, rising = _sun_keys(label, label_name)
        labels.append(Label(label_name, prompts, label_threshold, band, rising))
    if not labels:
        raise CategoryError(f"category {name!r} needs at least one label")
    if category.kind == "exclusive" and len(labels) < 2:
        raise CategoryError(f"exclusive category {name!r} needs at least two labels")
    applies_if = clean_tag(category.applies_if) if category.applies_if else None
    if applies_if and applies_if.casefold() in {lb.name.casefold() for lb in labels}:
        raise CategoryError(f"category {name!r} cannot depend on its own label {applies_if!r}")
    try:
        template = prompt_template.clean(category.template, name)
    except prompt_template.TemplateError as exc:
        raise CategoryError(str(exc)) from exc
    return Category(
        name,
        category.kind,
        threshold,
        labels,
        bool(category.sun),
        applies_if=applies_if,
        template=template,
    )


def _sun_keys(label: Label, owner: str) -> tuple[tuple[float, float] | None, bool | None]:
    """A label's sun band as (low, high) degrees within [-90, 90], and its direction."""
    rising = label.sun_rising
    if rising is not None and not isinstance(rising, bool):
        raise CategoryError(f"{owner!r}: sun_rising must be true or false")
    if label.sun_elevation is None:
        return None, rising
    try:
        low, high = (float(v) for v in label.sun_elevation)
    except (TypeError, ValueError) as exc:
        raise CategoryError(
            f"{owner!r}: sun_elevation must be two numbers [low, high] in degrees"
        ) from exc
    if not -90.0 <= low < high <= 90.0:
        raise CategoryError(f"{owner!r}: sun_elevation needs -90 <= low < high <= 90")
    return (low, high), rising


def keep_sun_settings(new: Category, old: Category | None) -> Category:
    """``new`` with the sun keys of ``old`` where it has none (faces that edit only words)."""
    if old is None:
        return new
    new.sun = new.sun or old.sun
    new.template = new.template or old.template
    for label in new.labels:
        before = next((x for x in old.labels if x.name == label.name), None)
        if before is not None and label.sun_elevation is None and label.sun_rising is None:
            label.sun_elevation, label.sun_rising = before.sun_elevation, before.sun_rising
    return new


def _threshold(value: Any, owner: str) -> float:  # a value read from TOML
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise CategoryError(f"{owner!r}: threshold {value!r} is not a number") from exc
    if not 0.0 < number <= 1.0:
        raise CategoryError(f"{owner!r}: threshold must be above 0 and at most 1, not {number}")
    return number


# -- TOML ----------------------------------------------------------------------------------
#: The keys the format knows, per table: anything else is a typo worth a message.
TOP_KEYS = ("version", "category")
CATEGORY_KEYS = ("name", "kind", "threshold", "applies_if", "sun", "template", "label")
LABEL_KEYS = ("name", "prompts", "threshold", "sun_elevation", "sun_rising")


def _check_keys(table: dict, allowed: tuple[str, ...], where: str, text: str, source: str) -> None:
    for key in table:
        if key in allowed:
            continue
        import difflib  # a typo's suggestion only: a cold start never pays for it

        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
        line = _line_of(text, key)
        raise CategoryError(
            f"{source}{f', line {line}' if line else ''}: unknown key {key!r} in {where}"
            + (f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(allowed)})")
        )


def _line_of(text: str, key: str) -> int | None:
    match = re.search(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=", text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else None


def from_toml(text: str, source: str = "categories") -> list[Category]:
    """Parse the TOML format; every problem names the file and the category."""
    import tomllib  # on reading a file: opening a library reads no TOML (issue 13)

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CategoryError(f"{source} is not valid TOML: {exc}") from exc
    _check_keys(data, TOP_KEYS, "the file", text, source)
    raw = data.get("category", [])
    if not isinstance(raw, list):
        raise CategoryError(f"{source}: 'category' must be an array of tables ([[category]])")
    out: list[Category] = []
    for entry in raw:
        if not isinstance(entry, dict) or "name" not in entry:
            raise CategoryError(f"{source}: every [[category]] needs a name")
        _check_keys(entry, CATEGORY_KEYS, f"category {entry['name']!r}", text, source)
        labels = []
        for item in entry.get("label", []):
            if not isinstance(item, dict) or "name" not in item:
                raise CategoryError(f"{source}: a label of {entry['name']!r} has no name")
            _check_keys(item, LABEL_KEYS, f"label {item['name']!r}", text, source)
            prompts = item.get("prompts", [])
            if isinstance(prompts, str):
                prompts = [prompts]
            labels.append(
                Label(
                    item["name"],
                    list(prompts),
                    item.get("threshold"),
                    item.get("sun_elevation"),
                    item.get("sun_rising"),
                )
            )
        out.append(
            validate(
                Category(
                    entry["name"],
                    entry.get("kind", "free"),
                    entry.get("threshold", DEFAULT_THRESHOLD),
                    labels,
                    entry.get("sun", False),
                    entry.get("applies_if"),
                    entry.get("template"),
                )
            )
        )
    names = [c.name.casefold() for c in out]
    if len(set(names)) != len(names):
        raise CategoryError(f"{source} defines a category twice")
    check_unique_tags(out)
    return out


def to_toml(categories: list[Category]) -> str:
    import tomli_w

    doc: dict[str, Any] = {"version": FORMAT_VERSION, "category": []}
    for cat in categories:
        labels = []
        for label in cat.labels:
            item: dict = {"name": label.name, "prompts": list(label.prompts)}
            if label.threshold is not None:
                item["threshold"] = label.threshold
            if label.sun_elevation is not None:
                item["sun_elevation"] = list(label.sun_elevation)
            if label.sun_rising is not None:
                item["sun_rising"] = label.sun_rising
            labels.append(item)
        entry = {"name": cat.name, "kind": cat.kind, "threshold": cat.threshold}
        if cat.sun:
            entry["sun"] = True
        if cat.applies_if:
            entry["applies_if"] = cat.applies_if
        if cat.template:
            entry["template"] = cat.template
        doc["category"].append({**entry, "label": labels})
    return tomli_w.dumps(doc)


def read_toml_file(path: str | os.PathLike) -> list[Category]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CategoryError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return from_toml(decode_text(data, str(path)), str(path))


def decode_text(data: bytes, source: str) -> str:
    """Text of a file saved by any editor: UTF-8 with or without BOM, or UTF-16 with BOM.

    Anything else (a photo, a zip) is one line saying it is not a text file.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        raise CategoryError(
            f"{source} is not a text file; categories are imported from TOML "
            "(see 'photosort categories export -')"
        )
    return text


def check_unique_tags(categories: list[Category]) -> None:
    """A tag name must say which category it belongs to: no label in two categories."""
    owner: dict[str, str] = {}
    for cat in categories:
        for label in cat.labels:
            if label.name in owner and owner[label.name] != cat.name:
                raise CategoryError(
                    f"label {label.name!r} is in both {owner[label.name]!r} and {cat.name!r}; "
                    "tag names must be unique"
                )
            owner[label.name] = cat.name


def default_categories() -> list[Category]:
    """The shipped defaults (package data in a wheel, ``resources/`` in a checkout)."""
    return from_toml(_defaults_text(), DEFAULTS_FILE)


def _defaults_text() -> str:
    # A wheel carries photosort/resources/ (a symlink to ../resources in the repo, which
    # setuptools copies); a checkout without symlink support falls back to the repo folder.
    packaged = importlib_resources.files("photosort").joinpath("resources", DEFAULTS_FILE)
    try:
        return packaged.read_text(encoding="utf-8")
    except (OSError, NotADirectoryError):
        repo = Path(__file__).resolve().parents[2] / "resources" / DEFAULTS_FILE
        return repo.read_text(encoding="utf-8")


# -- catalog storage -------------------------------------------------------------------------
def load(source: Catalog | sqlite3.Connection) -> list[Category]:
    """All categories in their display order, from a Catalog or a connection."""
    rows = CategoryStore(source)
    labels: dict[int, list[Label]] = {}
    for cat_id, name, prompts, threshold, band, rising in rows.labels():
        band = tuple(json.loads(band)) if band else None
        rising = None if rising is None else bool(rising)
        labels.setdefault(cat_id, []).append(
            Label(name, json.loads(prompts), threshold, band, rising)
        )
    return [
        Category(name, kind, thr, labels.get(cid, []), bool(has_sun), cond, tmpl)
        for cid, name, kind, thr, has_sun, cond, tmpl in rows.categories()
    ]


def has_applies_if(conn: sqlite3.Connection) -> bool:
    """The column comes with migration 0005_b; the defaults are stored before it runs."""
    return "applies_if" in CategoryStore(conn).columns()


def store(conn: sqlite3.Connection, category: Category, old_name: str | None = None) -> int:
    """Create or update a category inside the caller's transaction; returns its id.

    Labels that keep their name keep their row (and so their auto tags until re-tagged);
    labels no longer listed are deleted with their auto tags. Manual tags are keyed by
    name and are never touched here.
    """
    category = validate(category)
    rows = CategoryStore(conn)
    columns = rows.columns()
    key = old_name if old_name is not None else category.name
    cat_id = rows.id_of(key)
    if old_name is not None and cat_id is None:
        raise CategoryError(f"no category named {old_name!r}")
    if category.name.casefold() != key.casefold() and rows.id_of(category.name) is not None:
        raise CategoryError(f"a category named {category.name!r} already exists")
    if category.applies_if and "applies_if" in columns:
        owner = rows.label_owner(category.applies_if)
        if owner is None or owner[0] == cat_id:
            raise CategoryError(
                f"category {category.name!r}: applies_if names {category.applies_if!r}, "
                "which is not a label of another category"
            )
        category.applies_if = owner[1]
    for label in category.labels:
        other = rows.other_owner(label.name, cat_id)
        if other:
            raise CategoryError(
                f"tag {label.name!r} already belongs to category {other!r}; "
                "tag names must be unique"
            )
    if cat_id is None:
        cat_id = rows.add(category.name, category.kind, category.threshold)
    else:
        rows.update(cat_id, category.name, category.kind, category.threshold)
    if "applies_if" in columns:
        rows.set_applies_if(cat_id, category.applies_if)
    if "template" in columns:
        rows.set_template(cat_id, category.template)
    existing = rows.label_ids(cat_id)
    keep = {label.name for label in category.labels}
    for name, lid in existing.items():
        if name not in keep:
            rows.delete_label(lid)  # auto tags by cascade
    for place, label in enumerate(category.labels):
        prompts = json.dumps(label.prompts, ensure_ascii=False)
        if label.name in existing:
            rows.update_label(existing[label.name], prompts, label.threshold, place)
        else:
            rows.add_label(cat_id, label.name, prompts, label.threshold, place)
    store_sun_keys(conn, int(cat_id), category)
    return cat_id


def store_sun_keys(conn: sqlite3.Connection, cat_id: int, category: Category) -> None:
    """Write the sun keys; before migration 0006 (a new catalog's defaults) there is nowhere
    to put them yet, and that migration applies the defaults' keys itself."""
    rows = CategoryStore(conn)
    if "sun" not in rows.columns():
        return
    rows.set_sun(
        cat_id,
        category.sun,
        [
            (
                lab.name,
                None if lab.sun_elevation is None else json.dumps(list(lab.sun_elevation)),
                None if lab.sun_rising is None else int(lab.sun_rising),
            )
            for lab in category.labels
        ],
    )


def delete(conn: sqlite3.Connection, name: str) -> None:
    """Remove a category; its labels and their auto tags go by cascade."""
    if not CategoryStore(conn).delete(name):
        raise CategoryError(f"no category named {name!r}")


def import_categories(
    conn: sqlite3.Connection, incoming: list[Category], source: str | os.PathLike, replace: bool
) -> None:
    """Store ``incoming`` (same names are updated); ``replace`` drops the others, else a
    label that moves into an imported category from one left alone is an error."""
    names = {c.name for c in incoming}
    if replace:
        for old in load(conn):
            if old.name not in names:
                delete(conn, old.name)
    else:  # drop labels that move into an imported category from the one they leave
        for old in load(conn):
            if old.name in names:
                continue
            moving = {lab.name for c in incoming for lab in c.labels}
            if any(lab.name in moving for lab in old.labels):
                raise CategoryError(
                    f"{source}: a label of {old.name!r} is also in the imported file; "
                    "remove it there first or import with replace"
                )
    # a category that depends on another's label is stored after it
    for category in sorted(incoming, key=lambda c: c.applies_if is not None):
        store(conn, category)


def write_toml_file(path: str | os.PathLike, categories: list[Category]) -> None:
    text = to_toml(categories)
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LibraryError(f"cannot write {path}: {exc.strerror or exc}") from exc
