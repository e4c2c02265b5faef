"""``photosort scores`` and ``photosort evaluate --tag-truth`` on a generated library
scanned with the repo's tiny CLIP: the export agrees with the auto tags, every format holds
the same rows, and evaluate's numbers follow from known manual decisions."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from photosort.cli import main
from photosort.core.library import Library
from tests.fixtures.scenes import write_library

N_PHOTOS = 40


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("scores")
    write_library(root / "photos", N_PHOTOS, seed=21)
    with Library(root / "library", model=tiny_model, device="cpu") as lib:
        summary = lib.scan([root / "photos"])
        assert summary.embedded == N_PHOTOS and not summary.warnings
    return root, tiny_model


@pytest.fixture
def cli(scanned, capsys):
    root, model = scanned
    base = ["--library", str(root / "library"), "--model", model, "--device", "cpu"]

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([*base, *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _auto_tags(root: Path, model: str) -> tuple[dict[int, dict[str, set[str]]], list]:
    """Per photo id, per category, the labels the auto tagger stored."""
    with Library(root / "library", model=model, device="cpu") as lib:
        cats = lib.categories()
        rows = lib.catalog.query(
            "SELECT a.photo_id, li.tag, li.category FROM auto_tags a "
            "JOIN label_info li ON li.label_id = a.label_id"
        )
    out: dict[int, dict[str, set[str]]] = {}
    for pid, tag, category in rows:
        out.setdefault(pid, {}).setdefault(category, set()).add(tag)
    return out, cats


def test_scores_csv_agrees_with_the_auto_tags(cli, scanned):
    code, out, err = cli("scores")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == N_PHOTOS and "40 photos" in err
    auto, cats = _auto_tags(*scanned)
    checked = 0
    for row in rows:
        tags = auto.get(int(row["photo_id"]), {})
        assert Path(row["path"]).is_file()
        for cat in cats:
            chosen = row[f"chosen:{cat.name}"]
            stored = tags.get(cat.name, set())
            probs = [float(row[lab.name]) for lab in cat.labels]
            assert all(0.0 <= p <= 1.0 for p in probs)
            if cat.kind == "exclusive" and not cat.applies_if:
                assert chosen == (next(iter(stored)) if stored else "uncertain")
                if stored:  # the chosen label is the most probable one
                    assert float(row[chosen]) == pytest.approx(max(probs))
            elif cat.kind == "free":
                assert set(filter(None, chosen.split(";"))) == stored
            else:  # applies only where its condition holds: "" elsewhere, never a stray label
                assert chosen in {"", "uncertain", *[lab.name for lab in cat.labels]}
                assert (chosen in stored) or not stored
            checked += 1
    assert checked == N_PHOTOS * len(cats)


def test_every_format_holds_the_same_rows(cli, tmp_path):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    code, out, _ = cli("scores", "--category", "time of day")  # any case, as elsewhere
    assert code == 0
    from_csv = list(csv.DictReader(io.StringIO(out)))
    header = list(from_csv[0])
    labels = header[2:-1]
    assert header[:2] == ["photo_id", "path"] and header[-1] == "chosen:Time of day"
    assert {"day", "night", "dusk"} <= set(labels)

    code, out, _ = cli("scores", "--category", "Time of day", "--format", "json")
    from_json = json.loads(out)
    target = tmp_path / "scores.parquet"
    code, out, _ = cli(
        "scores", "--category", "Time of day", "--format", "parquet", "--out", str(target)
    )
    assert code == 0 and str(target) in out
    from_parquet = pq.read_table(target).to_pylist()
    assert not list(tmp_path.glob(".*partial"))  # written beside, then renamed
    assert len(from_csv) == len(from_json) == len(from_parquet) == N_PHOTOS
    for a, b, c in zip(from_csv, from_json, from_parquet, strict=True):
        assert int(a["photo_id"]) == b["photo_id"] == c["photo_id"]
        assert a["chosen:Time of day"] == b["chosen:Time of day"] == c["chosen:Time of day"]
        for label in labels:
            assert float(a[label]) == pytest.approx(b[label], abs=1e-6)
            assert float(a[label]) == pytest.approx(c[label], abs=1e-6)


def test_scores_refuses_what_it_cannot_write(cli, tmp_path):
    code, _, err = cli("scores", "--category", "Tiem of day")
    assert code != 0 and "no category named 'Tiem of day'" in err and "'Time of day'" in err
    code, _, err = cli("scores", "--format", "parquet")
    assert code != 0 and "--out" in err
    code, _, err = cli("scores", "--out", str(tmp_path / "missing" / "x.csv"))
    assert code != 0 and "cannot write" in err and len(err.strip().splitlines()) == 1


def test_evaluate_gives_precision_and_recall_of_manual_decisions(cli, scanned):
    root, model = scanned
    auto, _ = _auto_tags(root, model)
    day = sorted(pid for pid, t in auto.items() if t.get("Time of day") == {"day"})
    others = sorted(pid for pid, t in auto.items() if t.get("Time of day", {"day"}) != {"day"})
    assert len(day) >= 5 and others, "the generated library has day photos and others"
    with Library(root / "library", model=model, device="cpu") as lib:
        lib.tag_photos(day[:3], add=["day"])  # accepted: auto said day, so does the user
        lib.tag_photos(day[3:5], remove=["day"])  # rejected: auto said day, wrongly
        lib.tag_photos(others[:1], add=["day"])  # added: auto missed it
        rows = {r.label: r for r in lib.evaluate_tags("Time of day")}
    got = rows["day"]
    assert (got.positives, got.accepted, got.added, got.rejected) == (4, 3, 1, 2)
    assert got.precision == pytest.approx(3 / 5) and got.recall == pytest.approx(3 / 4)
    assert got.best_threshold is not None and got.best_f1 >= 2 * 3 / (2 * 3 + 2 + 1) - 1e-9
    # the photo set to day counts against the label the tagger gave it
    wrong = next(iter(auto[others[0]].get("Time of day", {"uncertain"})))
    if wrong in rows:
        assert rows[wrong].negatives >= 1 and rows[wrong].positives == 0

    code, out, _ = cli("evaluate", "--tag-truth", "--category", "Time of day")
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("day "))
    assert "60%" in line and "75%" in line
    code, out, _ = cli("evaluate", "--tag-truth", "--json")
    assert any(r["label"] == "day" and r["positives"] == 4 for r in json.loads(out))
