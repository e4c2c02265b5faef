"""The tagging commands through ``photosort.cli.main``: categories, autotag, tag, tags,
search --tag, export and xmp, with and without --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from photosort.cli import main
from photosort.core.xmp import read_tags


@pytest.fixture
def cli(tmp_path: Path, tiny_model: str, photo_tree: Path, capsys):
    """``cli(*args)`` -> (exit code, stdout, stderr) against a scanned temporary library."""
    base = ["--library", str(tmp_path / "lib"), "--model", tiny_model, "--device", "cpu"]

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([*base, *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, _, err = run("scan", str(photo_tree), "--no-progress")
    assert code == 0, err
    return run


def test_categories_list_add_remove(cli):
    code, out, _ = cli("categories", "list")
    assert code == 0 and "Time of day (exclusive" in out and "dusk:" in out
    code, out, _ = cli("categories", "list", "--json")
    names = [c["name"] for c in json.loads(out)]
    assert "Time of day" in names and "Setting" in names

    code, out, _ = cli(
        "categories",
        "add",
        "Mood",
        "--exclusive",
        "--threshold",
        "0.4",
        "--label",
        "calm=a calm photo|a quiet scene",
        "--label",
        "busy",
        "--json",
    )
    assert code == 0 and json.loads(out)["photos"] == 12
    mood = next(
        c for c in json.loads(cli("categories", "list", "--json")[1]) if c["name"] == "Mood"
    )
    assert mood["kind"] == "exclusive" and mood["threshold"] == 0.4
    assert mood["labels"][0] == {
        "name": "calm",
        "prompts": ["a calm photo", "a quiet scene"],
        "threshold": None,
    }
    # add to an existing category: labels merge
    assert cli("categories", "add", "Mood", "--label", "sad")[0] == 0
    labels = [
        lab["name"]
        for c in json.loads(cli("categories", "list", "--json")[1])
        if c["name"] == "Mood"
        for lab in c["labels"]
    ]
    assert labels == ["calm", "busy", "sad"]

    code, _, err = cli("categories", "add", "Other", "--label", "calm")
    assert code == 2 and "unique" in err
    assert cli("categories", "remove", "Mood")[0] == 0
    code, _, err = cli("categories", "remove", "Mood")
    assert code == 2 and "no category named 'Mood'" in err


def test_categories_import_export(cli, tmp_path):
    out_file = tmp_path / "mine.toml"
    assert cli("categories", "export", str(out_file))[0] == 0
    assert "[[category.label]]" in out_file.read_text()
    code, out, _ = cli("categories", "export", "-")
    assert out == out_file.read_text()
    (tmp_path / "new.toml").write_text(
        '[[category]]\nname = "Colour"\nkind = "free"\nthreshold = 0.6\n'
        '[[category.label]]\nname = "red"\nprompts = ["a red {label}", "something red"]\n'
    )
    code, out, _ = cli("categories", "import", str(tmp_path / "new.toml"), "--replace")
    assert code == 0 and "imported 1" in out
    assert [c["name"] for c in json.loads(cli("categories", "list", "--json")[1])] == ["Colour"]
    (tmp_path / "bad.toml").write_text("[[category]]\nname = 3 = 4\n")
    code, _, err = cli("categories", "import", str(tmp_path / "bad.toml"))
    assert code == 2 and "bad.toml" in err


def test_autotag_and_tags(cli):
    code, out, _ = cli("autotag", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["photos"] == 12 and summary["labels"] >= 18
    assert set(summary["uncertain"]) == {"Time of day", "Setting"}
    code, out, _ = cli("autotag")
    assert code == 0 and "12 photos" in out
    code, out, _ = cli("tags", "--json")
    counts = json.loads(out)
    time = [c for c in counts if c["category"] == "Time of day"]
    assert {c["name"] for c in time} == {"dawn", "day", "dusk", "night", "uncertain"}
    outdoor = next(c["count"] for c in counts if c["name"] == "outdoor")
    assert sum(c["count"] for c in time) == outdoor  # the time of day: outdoor photos only
    code, out, _ = cli("tags")
    assert code == 0 and "Time of day" in out and "uncertain" in out


def test_tag_search_export_xmp(cli, photo_tree, tmp_path):
    family = photo_tree / "family"
    one = photo_tree / "trips" / "img_01.png"
    code, out, _ = cli(
        "tag", str(family), str(one), "--add", "holiday", "--add", "evening", "--json"
    )
    tagged = json.loads(out)
    assert code == 0 and len(tagged) == 7
    assert all(
        {"holiday", "evening"} <= {t["name"] for t in tags if t["state"] == "on"}
        for tags in tagged.values()
    )
    code, out, _ = cli("tag", str(one), "--remove", "holiday")
    assert code == 0 and "holiday" not in out

    code, out, _ = cli("search", "--tag", "holiday", "--json", "--top", "50")
    found = json.loads(out)
    assert len(found) == 6 and all("holiday" in r["tags"] for r in found)
    code, out, _ = cli("search", "a photo", "--tag", "evening", "--not-tag", "holiday", "--json")
    assert [r["path"] for r in json.loads(out)] == [str(one)]

    code, out, err = cli("tag", str(tmp_path / "nowhere.jpg"), "--add", "x")
    assert code == 2 and "not in the library" in err

    dest = tmp_path / "out"
    code, out, _ = cli(
        "export", "--tag", "holiday", "--tag", "evening", "--to", str(dest), "--dry-run"
    )
    assert code == 0 and "dry run" in out and not dest.exists()
    code, out, _ = cli(
        "export", "--tag", "holiday", "--tag", "evening", "--to", str(dest), "--xmp", "--json"
    )
    summary = json.loads(out)
    assert code == 0 and summary["done"] == 6 + 7 and summary["failed"] == 0
    assert Path(summary["manifest"]).is_file()
    assert len(list((dest / "holiday").glob("*.xmp"))) == 6
    code, out, _ = cli("export", "--tag", "evening", "--to", str(dest), "--mode", "hardlink")
    assert code == 0 and "0 photos linked" in out and "7 already there" in out
    code, out, _ = cli("export", "--tag", "evening", "--to", str(dest / "l"), "--mode", "hardlink")
    assert code == 0 and "7 photos linked" in out

    code, out, _ = cli("xmp", str(family), "--json")
    assert code == 0 and json.loads(out)["written"] == 6
    assert "holiday" in read_tags(next(family.glob("*.xmp")))
    assert not list((photo_tree / "trips").glob("*.xmp"))


def test_export_needs_tag_and_destination(cli, capsys):
    code, _, err = cli("export", "--to", "/tmp/x")
    assert code == 2 and "nothing to export" in err and len(err.splitlines()) == 1
    with pytest.raises(SystemExit):
        cli("export", "--tag", "x")
