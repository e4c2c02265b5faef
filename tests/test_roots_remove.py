"""Issue 11, finding 5: ``roots remove`` says what it forgets, asks, and keeps manual decisions
by content so that adding the folder back restores them."""

from __future__ import annotations

import shutil

import pytest

from tests.reliability.helpers import make_photos, run_cli


def _manual(lib) -> dict[str, set[tuple[str, str]]]:
    """Path -> {(tag, state)} of every manual decision."""
    rows = lib.catalog.query(
        "SELECT p.path, m.tag, m.state FROM manual_tags m JOIN photos p ON p.id = m.photo_id"
    )
    out: dict[str, set[tuple[str, str]]] = {}
    for path, tag, state in rows:
        out.setdefault(path, set()).add((tag, state))
    return out


@pytest.fixture
def garden(make_library, tmp_path):
    root = tmp_path / "photos"
    make_photos(root, 6, folders=2)
    lib = make_library()
    lib.scan([root])
    ids = [r[0] for r in lib.catalog.query("SELECT id FROM photos ORDER BY path")]
    lib.tag_photos(ids[:4], add=["garden"])
    label = lib.categories()[0].labels[0].name
    lib.tag_photos(ids[4:5], remove=[label])  # a rejection is a decision too
    return lib, root, _manual(lib)


def test_readding_the_folder_restores_every_manual_decision(garden):
    lib, root, before = garden
    impact = lib.root_removal(root)
    assert (impact.photos, impact.manual_decisions, impact.tagged_photos) == (6, 5, 5)
    assert impact.tags == {"garden": 4} and impact.unkeepable == 0
    assert lib.remove_root(root) == 6
    assert _manual(lib) == {}
    lib.scan([root])
    assert _manual(lib) == before
    assert lib.catalog.scalar("SELECT COUNT(*) FROM kept_manual_tags") == 0


def test_decisions_on_photos_never_embedded_are_kept_too(garden):
    lib, root, before = garden
    with lib.catalog.transaction() as conn:  # as if the scan was stopped before embedding
        conn.execute("UPDATE photos SET content_hash = NULL")
    lib.remove_root(root)
    lib.scan([root])
    assert _manual(lib) == before


def test_a_file_that_comes_back_gets_its_decisions_back(garden, tmp_path):
    lib, root, before = garden
    victim = next(p for p in before if ("garden", "on") in before[p])
    shutil.move(victim, tmp_path / "aside.jpg")
    assert lib.scan().removed == 1
    shutil.move(tmp_path / "aside.jpg", victim)
    lib.scan()
    assert _manual(lib) == before


def test_cli_says_what_goes_and_asks(garden, tiny_model, make_library):
    lib, root, before = garden
    folder = lib.folder
    lib.close()
    refused = run_cli(folder, tiny_model, "roots", "remove", str(root))
    assert refused.returncode == 2
    assert "forgets 6 photos" in refused.stderr and "garden (4)" in refused.stderr
    assert "nothing removed: confirm with --yes" in refused.stderr
    assert make_library(folder).status().photos == 6
    done = run_cli(folder, tiny_model, "roots", "remove", str(root), "--yes")
    assert done.returncode == 0, done.stderr
    assert "5 manual tag decisions" in done.stderr and "adding the folder back" in done.stderr
    assert "forgot 6 photos" in done.stdout
    again = make_library(folder)
    again.scan([root])
    assert _manual(again) == before
