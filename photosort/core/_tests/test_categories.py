"""Category definitions: validation, TOML round trip, the shipped defaults."""

from __future__ import annotations

import pytest

from photosort.core.categories import (
    Category,
    CategoryError,
    Label,
    default_categories,
    from_toml,
    to_toml,
    validate,
)


def test_defaults_load_and_cover_the_issue():
    cats = {c.name: c for c in default_categories()}
    assert [lab.name for lab in cats["Time of day"].labels] == ["dawn", "day", "dusk", "night"]
    assert cats["Time of day"].kind == cats["Setting"].kind == "exclusive"
    free = [lab.name for c in cats.values() if c.kind == "free" for lab in c.labels]
    assert len(free) >= 12
    assert {"beach", "snow", "dog", "cat", "food", "document", "receipt", "screenshot"} <= set(free)


def test_toml_round_trip_keeps_everything():
    cats = [
        Category("Time", "exclusive", 0.6, [Label("am", ["morning {label}"], 0.7), Label("pm")]),
        Category("Stuff ✨", "free", 0.8, [Label("dog", ["a dog", "a puppy"])]),
    ]
    assert from_toml(to_toml(cats)) == [validate(c) for c in cats]


def test_prompt_templates_and_defaults():
    assert Label("dog").prompt_texts() == ["a photo of dog", "a picture of dog"]
    assert Label("dog", ["a {label} on grass"]).prompt_texts() == ["a dog on grass"]


@pytest.mark.parametrize(
    "category, message",
    [
        (Category(" ", "free", 0.5, [Label("x")]), "empty"),
        (Category("c", "maybe", 0.5, [Label("x")]), "kind"),
        (Category("c", "free", 0.0, [Label("x")]), "threshold"),
        (Category("c", "free", 1.5, [Label("x")]), "threshold"),
        (Category("c", "free", 0.5, []), "at least one"),
        (Category("c", "exclusive", 0.5, [Label("x")]), "two labels"),
        (Category("c", "free", 0.5, [Label("x"), Label("x")]), "twice"),
        (Category("c", "free", 0.5, [Label("a\nb")]), "control"),
    ],
)
def test_invalid_categories_say_what_is_wrong(category, message):
    with pytest.raises(CategoryError, match=message):
        validate(category)


def test_a_tag_name_belongs_to_one_category_only():
    text = to_toml([Category("A", labels=[Label("dog")]), Category("B", labels=[Label("dog")])])
    with pytest.raises(CategoryError, match="unique"):
        from_toml(text)


def test_bad_toml_names_the_source():
    with pytest.raises(CategoryError, match="mine.toml"):
        from_toml("[[category]\nname=", "mine.toml")


# -- categories import: encodings and typos ------------------------------------------------------
def test_import_reads_utf8_with_bom_and_utf16(tmp_path):
    from photosort.core.categories import read_toml_file

    text = '[[category]]\nname = "Mood"\n[[category.label]]\nname = "calm"\n'
    for encoding in ("utf-8-sig", "utf-16", "utf-16-be"):
        path = tmp_path / f"{encoding}.toml"
        data = text.encode(encoding)
        if encoding == "utf-16-be":
            data = b"\xfe\xff" + data
        path.write_bytes(data)
        assert [c.name for c in read_toml_file(path)] == ["Mood"], encoding


def test_import_of_a_binary_file_is_one_line(tmp_path):
    import pytest

    from photosort.core.categories import CategoryError, read_toml_file

    path = tmp_path / "photo.toml"
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)))
    with pytest.raises(CategoryError, match="is not a text file") as info:
        read_toml_file(path)
    assert "\n" not in str(info.value)


def test_unknown_keys_are_rejected_with_the_line_and_a_suggestion():
    import pytest

    from photosort.core.categories import CategoryError, from_toml

    text = '[[category]]\nname = "Mood"\ntreshold = 0.6\n[[category.label]]\nname = "calm"\n'
    with pytest.raises(CategoryError, match=r"line 3: unknown key 'treshold'.*'threshold'"):
        from_toml(text, "mood.toml")
    text = '[[category]]\nname = "Mood"\n[[category.label]]\nname = "calm"\nprompt = "x"\n'
    with pytest.raises(CategoryError, match=r"line 5: unknown key 'prompt'.*'prompts'"):
        from_toml(text, "mood.toml")
