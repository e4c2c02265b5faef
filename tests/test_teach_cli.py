"""Teaching a tag through the command line, over real files scanned with the tiny CLIP:
tag a few examples, teach, search --tag, review, reject, list, and survive a re-tag."""

from __future__ import annotations

import json

import pytest

from photosort.cli import main
from tests.fixtures.scenes import write_library


@pytest.fixture(scope="module")
def scenes(tmp_path_factory, tiny_model):
    folder = tmp_path_factory.mktemp("teach")
    photos = write_library(folder / "photos", 160, seed=3)
    base = ["--library", str(folder / "lib"), "--model", tiny_model, "--device", "cpu"]
    assert main([*base, "scan", str(folder / "photos"), "--no-progress"]) == 0
    truth = {str(p.path): p.truth for p in photos}
    return base, truth


@pytest.fixture
def cli(scenes, capsys):
    base, _ = scenes

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([*base, *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def evening(truth) -> bool:
    return truth.time_of_day in ("dusk", "night")


def test_teach_review_reject_list(cli, scenes):
    _, truth = scenes
    positives = sorted(p for p, t in truth.items() if evening(t))
    examples = positives[:10]
    code, _, err = cli("tag", *examples, "--add", "evening")
    assert code == 0, err

    code, out, err = cli("teach", "evening", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["positives"] == 10 and summary["suggested"] > 10
    assert summary["recall"] is not None and summary["precision"] is not None
    low, high = summary["precision_range"]  # 10 examples: a range, flagged
    assert summary["estimate_uncertain"] is True and low < summary["precision"] < high

    # search --tag returns the manual examples and the taught suggestions together
    code, out, _ = cli("search", "--tag", "evening", "--top", "500", "--json")
    found = [r["path"] for r in json.loads(out)]
    assert set(examples) <= set(found)
    taught = [p for p in found if p not in examples]
    assert len(taught) >= 10
    assert sum(evening(truth[p]) for p in taught) / len(taught) >= 0.8

    # review: undecided photos only, the least certain first
    code, out, _ = cli("teach", "evening", "--review", "6", "--json")
    items = json.loads(out)
    assert len(items) == 6 and not set(i["path"] for i in items) & set(examples)
    assert all(0.0 <= i["probability"] <= 1.0 for i in items)
    code, out, _ = cli("teach", "evening", "--review", "3")
    assert code == 0 and "--reject 'evening'" in out

    # a rejection wins over the taught tag, and survives retraining and re-tagging
    wrong = taught[0]
    code, out, _ = cli("tag", wrong, "--reject", "evening")
    assert code == 0 and "-evening" in out
    assert cli("teach", "evening")[0] == 0
    assert cli("autotag", "--no-progress")[0] == 0
    code, out, _ = cli("search", "--tag", "evening", "--top", "500", "--json")
    after = [r["path"] for r in json.loads(out)]
    assert wrong not in after and set(examples) <= set(after)
    assert len(after) >= len(examples) + 5  # the text tagger did not wipe the taught tags

    code, out, _ = cli("teach", "--list", "--json")
    (info,) = json.loads(out)
    assert info["tag"] == "evening" and info["positives"] == 10 and info["negatives"] == 1
    assert info["category"] == "Taught" and info["estimate_uncertain"] is True
    code, out, _ = cli("teach", "--list")
    assert "evening: 10 examples, 1 rejected" in out and "uncertain: precision between" in out

    # forgetting the taught tag drops its suggestions (and its label), not the examples
    assert cli("teach", "evening", "--forget")[0] == 0
    assert cli("autotag", "--no-progress")[0] == 0
    code, out, _ = cli("search", "--tag", "evening", "--top", "500", "--json")
    assert sorted(r["path"] for r in json.loads(out)) == sorted(examples)
    assert json.loads(cli("teach", "--list", "--json")[1]) == []


def test_teaching_needs_examples(cli):
    code, _, err = cli("teach", "nothing-tagged-yet")
    assert code == 2 and "at least 2" in err
    code, _, err = cli("teach", "dawn")  # a label of the exclusive time-of-day group
    assert code == 2 and "exclusive" in err


def test_discover_groups_and_teach_one(cli, scenes):
    _, truth = scenes
    code, out, err = cli("discover", "--groups", "6", "--json")
    assert code == 0, err
    groups = json.loads(out)
    assert len(groups) == 6 and sum(g["size"] for g in groups) == len(truth)
    assert [g["size"] for g in groups] == sorted((g["size"] for g in groups), reverse=True)
    # each group is shown by its central photos and named after the nearest labels
    assert all(g["photos"] and " · " in g["name"] for g in groups)
    # a group is mostly one kind of scene: its central photos share the setting/time
    for g in groups:
        kinds = [truth[p].time_of_day or "indoor" for p in g["photos"]]
        assert max(kinds.count(k) for k in set(kinds)) / len(kinds) >= 0.5, (g["name"], kinds)
    code, out, _ = cli("discover", "--groups", "6", "--teach", "1", "group one", "--json")
    assert code == 0 and json.loads(out)["positives"] == len(groups[0]["photos"])
    code, out, _ = cli("discover", "--groups", "6", "--teach", "9", "nope")
    assert code == 2
