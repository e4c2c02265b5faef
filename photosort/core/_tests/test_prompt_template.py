"""A category's prompt template: from TOML into the prompts of labels without their own,
stored in the catalog (migration 0012) and written back out."""

from __future__ import annotations

import pytest

from photosort.core import categories as store
from photosort.core.catalog import Catalog
from photosort.core.categories import Category, CategoryError, Label, from_toml, to_toml
from photosort.core.tagging import Tagger

TOML = """
[[category]]
name = "When"
kind = "exclusive"
template = "a photo taken at {}"

[[category.label]]
name = "gloaming"

[[category.label]]
name = "zenith"
prompts = ["the sun high at {label}"]
"""


def test_the_template_words_labels_without_prompts():
    (cat,) = from_toml(TOML)
    assert cat.template == "a photo taken at {}"
    assert cat.labels[0].prompt_texts(cat.template) == ["a photo taken at gloaming"]
    assert cat.labels[1].prompt_texts(cat.template) == ["the sun high at zenith"]  # its own win
    assert Label("gloaming").prompt_texts() == ["a photo of gloaming", "a picture of gloaming"]
    assert "a photo taken at gloaming" in Tagger.prompts_needed([cat])
    assert "a photo of gloaming" not in Tagger.prompts_needed([cat])
    assert from_toml(to_toml([cat]))[0].template == cat.template


def test_a_template_needs_a_place_for_the_label():
    with pytest.raises(CategoryError, match=r"has no \{\} where the label goes"):
        from_toml(TOML.replace("a photo taken at {}", "a photo"))
    with pytest.raises(
        CategoryError, match="unknown key 'templat' in category 'When'; did you mean 'template'"
    ):
        from_toml(TOML.replace("template =", "templat ="))


def test_the_catalog_keeps_the_template(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    try:
        (cat,) = from_toml(TOML)
        with catalog.transaction() as conn:
            store.store(conn, cat)
        loaded = next(c for c in store.load(catalog) if c.name == "When")
        assert loaded.template == "a photo taken at {}"
        # the editor rebuilds a category from its fields: the template survives
        edited = Category("When", "exclusive", 0.6, [Label("gloaming"), Label("zenith")])
        kept = store.keep_sun_settings(edited, loaded)
        assert kept.template == "a photo taken at {}"
        with catalog.transaction() as conn:
            store.store(conn, Category("When", "exclusive", 0.5, [Label("a"), Label("b")]))
        assert next(c for c in store.load(catalog) if c.name == "When").template is None
    finally:
        catalog.close()
