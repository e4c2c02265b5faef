"""``tags rename|merge|delete``, ``categories rename|remove-label`` and ``categories import``
of files with a byte-order mark, in UTF-16, binary, or with a misspelled key."""

from __future__ import annotations

import json

from tests.test_cli_tags import cli  # noqa: F401 - the scanned-library fixture


def _tag_counts(cli) -> dict[str, int]:  # noqa: F811
    code, out, _ = cli("tags", "--json")
    assert code == 0
    return {c["name"]: c["count"] for c in json.loads(out) if c["category"] is None}


def test_tags_are_case_insensitive_and_can_be_renamed_merged_deleted(cli, photo_tree):  # noqa: F811
    files = sorted(str(p) for p in photo_tree.rglob("*.*"))
    assert cli("tag", files[0], "--add", "Family trip")[0] == 0
    assert cli("tag", files[1], "--add", "family TRIP")[0] == 0
    assert _tag_counts(cli) == {"Family trip": 2}
    code, out, _ = cli("search", "--tag", "family trip", "--top", "50")
    assert code == 0 and len(out.strip().splitlines()) == 2
    assert "0.000" not in out  # a filter-only listing shows no made-up score
    assert sorted(line.split("  ")[0] for line in out.strip().splitlines()) == files[:2]
    assert cli("tag", files[2], "--add", "holiday")[0] == 0
    code, out, _ = cli("tags", "rename", "holiday", "Summer")
    assert code == 0 and "renamed 'holiday' to 'Summer'" in out
    code, out, _ = cli("tags", "merge", "summer", "family trip")
    assert code == 0 and "merged 'Summer' into 'Family trip'" in out
    assert _tag_counts(cli) == {"Family trip": 3}
    code, _, err = cli("tags", "merge", "Family trip", "nowhere")
    assert code == 2 and "no tag named 'nowhere'" in err
    code, out, _ = cli("tags", "delete", "FAMILY TRIP")
    assert code == 0 and "from 3 photos" in out
    assert _tag_counts(cli) == {}
    code, _, err = cli("tags", "delete", "dgo")
    assert code == 2 and "did you mean 'dog'" in err
    code, _, err = cli("tags", "rename", "dog")
    assert code == 2 and "OLD NEW" in err


def test_categories_rename_and_remove_label(cli):  # noqa: F811
    code, out, _ = cli("categories", "rename", "things", "Subjects")
    assert code == 0 and "renamed category 'Things' to 'Subjects'" in out
    code, _, err = cli("categories", "rename", "Subjects", "setting")
    assert code == 2 and "already exists" in err
    code, out, _ = cli("categories", "remove-label", "subjects", "Receipt")
    assert code == 0 and "removed label 'receipt'" in out
    code, out, _ = cli("categories", "list", "--json")
    subjects = next(c for c in json.loads(out) if c["name"] == "Subjects")
    assert "receipt" not in [lb["name"] for lb in subjects["labels"]]
    # "ball colour" is the same category as "Ball colour": no second one
    assert cli("categories", "add", "Ball colour", "--label", "red")[0] == 0
    assert cli("categories", "add", "ball colour", "--label", "blue")[0] == 0
    code, out, _ = cli("categories", "list", "--json")
    balls = [c for c in json.loads(out) if c["name"].casefold() == "ball colour"]
    assert len(balls) == 1 and [lb["name"] for lb in balls[0]["labels"]] == ["red", "blue"]


def test_categories_import_encodings_and_typos(cli, tmp_path):  # noqa: F811
    text = '[[category]]\nname = "Mood"\n[[category.label]]\nname = "calm"\n'
    bom = tmp_path / "bom.toml"
    bom.write_bytes(text.encode("utf-8-sig"))
    assert cli("categories", "import", str(bom))[0] == 0
    wide = tmp_path / "wide.toml"
    wide.write_bytes(text.replace("Mood", "Mood 2").replace("calm", "still").encode("utf-16"))
    code, out, err = cli("categories", "import", str(wide))
    assert code == 0, err
    binary = tmp_path / "photo.toml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    code, _, err = cli("categories", "import", str(binary))
    assert code == 2 and "is not a text file" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    typo = tmp_path / "typo.toml"
    typo.write_text(text.replace('name = "Mood"', 'name = "Mood 3"\ntreshold = 0.7'))
    code, _, err = cli("categories", "import", str(typo))
    assert code == 2 and "line 3: unknown key 'treshold'" in err and "'threshold'" in err
