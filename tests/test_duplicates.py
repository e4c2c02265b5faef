"""Duplicates end to end: a generated set with known groups, scanned with the tiny CLIP.

The real pipeline computes the fingerprints; the CLI lists and acts. Trashing happens
only with confirmation, manual tags merge into the keeper, originals stay untouched
unless trashing was asked for.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from photosort.cli import main
from photosort.core.duplicates import DuplicatesError
from tests.fixtures.duplicates import evaluate, single_signal_baselines, write_duplicate_set


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture
def small_set(tmp_path, make_library):
    truth = write_duplicate_set(tmp_path / "photos", originals=4, bursts=1, negatives=2, singles=1)
    lib = make_library()
    summary = lib.scan([tmp_path / "photos"])
    assert summary.failed == 0
    lib.close()
    return tmp_path, truth


def run_cli(tmp_path: Path, tiny_model: str, *args: str) -> int:
    return main(["--library", str(tmp_path / "library"), "--model", tiny_model, *args])


def test_kinds_are_found_and_kept_apart(small_set, make_library):
    tmp_path, truth = small_set
    lib = make_library()
    groups = lib.find_duplicates()
    scores = evaluate(groups, truth)
    assert scores["exact"]["precision"] == scores["exact"]["recall"] == 1.0
    assert scores["near"]["precision"] == 1.0 and scores["near"]["recall"] >= 0.9
    assert scores["bursts"]["precision"] == 1.0 and scores["bursts"]["recall"] >= 0.9
    others = [m.photo_id for g in groups for m in g.others]
    assert len(others) == len(set(others)), "a photo is 'another' in two groups"
    near = [g for g in groups if g.kind == "near"]
    assert all(g.keeper.path in truth.originals for g in near), [g.as_dict() for g in near]


def test_photos_scanned_before_fingerprints_get_them_lazily(small_set, make_library):
    tmp_path, truth = small_set
    lib = make_library()
    expected = [sorted(m.path for m in g.members) for g in lib.find_duplicates(["near"])]
    with lib.catalog.transaction() as conn:
        conn.execute("DELETE FROM photo_fingerprints")  # as a library scanned before 0008
    again = [sorted(m.path for m in g.members) for g in lib.find_duplicates(["near"])]
    hashed = lib.catalog.scalar("SELECT COUNT(*) FROM photo_fingerprints")
    photos = lib.catalog.scalar("SELECT COUNT(*) FROM photos")
    # Grayscale copies are found by their pixels alone, which needs stored hashes: a
    # library scanned before gets them at its next scan of those files, or here via CLIP.
    assert again and all(any(set(g) <= set(e) for e in expected) for g in again)
    assert 0 < hashed < photos  # only the CLIP candidates were hashed


def test_empty_library_lists_nothing_without_a_model(tmp_path, capsys):
    lib_dir = tmp_path / "empty"
    assert main(["--library", str(lib_dir), "duplicates", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_json_lists_groups_with_paths_keeper_and_reasons(small_set, tiny_model, capsys):
    tmp_path, truth = small_set
    assert run_cli(tmp_path, tiny_model, "duplicates", "--near", "--json") == 0
    groups = json.loads(capsys.readouterr().out)
    assert groups and all(g["kind"] == "near" for g in groups)
    for g in groups:
        assert g["keeper"] in g["photos"] and g["reasons"]
        assert len({truth.family[p] for p in g["photos"]}) == 1


def test_trash_needs_confirmation_and_nothing_moves_without(small_set, tiny_model, capsys):
    tmp_path, _ = small_set
    before = _snapshot(tmp_path / "photos")
    assert run_cli(tmp_path, tiny_model, "duplicates", "--trash-others") == 2
    assert "--yes" in capsys.readouterr().err
    assert _snapshot(tmp_path / "photos") == before


def test_library_refuses_unconfirmed_trash(small_set, make_library):
    tmp_path, _ = small_set
    lib = make_library()
    groups = lib.find_duplicates(["exact"])
    moved: list[str] = []
    with pytest.raises(DuplicatesError):
        lib.trash_duplicates(groups, confirmed=False, send_to_trash=moved.append)
    assert moved == []


def test_tag_others_merges_manual_tags_and_leaves_files_alone(small_set, make_library, tiny_model):
    tmp_path, _ = small_set
    lib = make_library()
    group = next(g for g in lib.find_duplicates(["near"]))
    other = group.others[0]
    lib.tag_photos([other.photo_id], add=["holiday"])
    lib.close()
    before = _snapshot(tmp_path / "photos")
    assert run_cli(tmp_path, tiny_model, "duplicates", "--near", "--tag-others", "duplicate") == 0
    assert _snapshot(tmp_path / "photos") == before  # originals untouched
    lib = make_library()
    tags = lib.photo_tags([group.keeper_id, other.photo_id])
    keeper_tags = {t.name for t in tags[group.keeper_id] if t.source == "manual"}
    other_tags = {t.name for t in tags[other.photo_id] if t.source == "manual"}
    assert keeper_tags == {"holiday"}  # merged, and the keeper is not tagged duplicate
    assert other_tags == {"holiday", "duplicate"}  # the copy keeps its own tag too


def test_trash_with_yes_moves_only_the_others_and_journals(small_set, make_library, tiny_model):
    tmp_path, _ = small_set
    lib = make_library()
    groups = lib.find_duplicates(["near"])
    keepers = {g.keeper.path for g in groups}
    others = {m.path for g in groups for m in g.others}
    lib.tag_photos([groups[0].others[0].photo_id], add=["Mum"])
    keeper_id = groups[0].keeper_id
    lib.close()
    before = _snapshot(tmp_path / "photos")
    assert run_cli(tmp_path, tiny_model, "duplicates", "--near", "--trash-others", "--yes") == 0
    after = _snapshot(tmp_path / "photos")
    assert set(before) - set(after) == others  # only the others left the folder
    assert all(after[p] == before[p] for p in after)  # the rest untouched, byte for byte
    trash = Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files"
    trashed = {p.name for p in trash.iterdir()}
    assert {Path(p).name for p in others} <= trashed  # in the trash, not deleted
    lib = make_library()
    assert all(lib.catalog.photo_by_path(p) is None for p in others)
    assert all(lib.catalog.photo_by_path(p) is not None for p in keepers)
    rows = lib.catalog.query("SELECT path, state FROM trash_journal")
    assert {r[0] for r in rows} == others and {r[1] for r in rows} == {"trashed"}
    assert "Mum" in {t.name for t in lib.photo_tags([keeper_id])[keeper_id]}
    # Exact copies of a trashed photo (not listed with --near) stay, and may group again.
    again = {m.path for g in lib.find_duplicates(["near"]) for m in g.members}
    assert not again & others


def test_export_keepers_copies_only_keepers(small_set, make_library, tiny_model, capsys):
    tmp_path, _ = small_set
    lib = make_library()
    keepers = {Path(g.keeper.path).name for g in lib.find_duplicates()}
    lib.close()
    before = _snapshot(tmp_path / "photos")
    dest = tmp_path / "keepers"
    assert run_cli(tmp_path, tiny_model, "duplicates", "--export-keepers", str(dest)) == 0
    exported = {p.name for p in dest.iterdir() if p.name != "manifest.csv"}
    assert exported == keepers
    assert _snapshot(tmp_path / "photos") == before


@pytest.mark.slow
def test_evaluation_on_the_full_generated_set(tmp_path, make_library):
    """The README's table: precision and recall per kind on the full generated set."""
    truth = write_duplicate_set(tmp_path / "photos")
    lib = make_library()
    assert lib.scan([tmp_path / "photos"]).failed == 0
    scores = evaluate(lib.find_duplicates(), truth)
    scores["baselines"] = single_signal_baselines(lib, truth)
    print(json.dumps(scores, indent=2))
    assert scores["exact"]["precision"] == scores["exact"]["recall"] == 1.0
    assert scores["near"]["precision"] >= 0.95 and scores["near"]["recall"] >= 0.9
    assert scores["bursts"]["precision"] >= 0.9 and scores["bursts"]["recall"] >= 0.9
