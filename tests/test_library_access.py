"""How a library is opened (issue 11 findings 16, 17, 19; issue 14's ``status`` bullet):
reading commands work on a read-only disk, never create a library, never load a model and
never start a backup; a large backup never blocks; the catalog is private, sidecars not."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photosort.cli import main
from photosort.core import backup, catalog
from photosort.core.search import SearchQuery


@pytest.fixture
def scanned(make_library, photo_tree):
    lib = make_library()
    lib.scan([photo_tree])
    return lib


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _userns_ok() -> bool:
    if not shutil.which("unshare") or sys.platform != "linux":
        return False
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True
    )
    return probe.returncode == 0


# -- finding 17 ------------------------------------------------------------------------------------
@pytest.mark.skipif(not _userns_ok(), reason="needs user namespaces for a read-only mount")
def test_a_library_on_a_read_only_disk_can_be_searched(scanned, tiny_model, tmp_path):
    folder = scanned.folder
    scanned.close()
    base = f"{sys.executable} -m photosort --library {folder} --model {tiny_model} --device cpu"
    script = " && ".join(
        [
            f"mount --bind {folder} {folder}",
            f"mount -o remount,bind,ro {folder}",
            f"! touch {folder}/probe 2>/dev/null",  # really read-only
            f"{base} search a red ball --top 3 --json > {tmp_path}/hits.json",
            f"{base} status --json > {tmp_path}/status.json",
            f"{base} tags > /dev/null",
            f"{base} roots > /dev/null",
            f"{base} categories list > /dev/null",
        ]
    )
    proc = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    import json

    assert len(json.loads((tmp_path / "hits.json").read_text())) == 3
    assert json.loads((tmp_path / "status.json").read_text())["photos"] == 12


# -- issue 14: reading commands create nothing, load nothing --------------------------------------
def test_status_and_search_on_a_new_library_create_nothing(tmp_path, capsys):
    folder = tmp_path / "new-library"
    # A hub model that cannot load offline: status must not even try (it took 7 s offline).
    env_model = ["--library", str(folder), "--model", "ViT-B-32:laion2b_s34b_b79k"]
    started = time.monotonic()
    assert main([*env_model, "status"]) == 0
    assert "no library at" in capsys.readouterr().err
    assert main([*env_model, "status", "--json"]) == 0
    assert '"exists": false' in capsys.readouterr().out
    assert main([*env_model, "search", "a dog"]) == 2
    assert "no library at" in capsys.readouterr().err
    assert main([*env_model, "tags"]) == 2
    assert time.monotonic() - started < 3
    assert not folder.exists()


def test_status_never_loads_the_model(scanned, capsys, monkeypatch):
    from photosort.core import library as library_module
    from photosort.core import library_model

    scanned.close()

    def no_model(*a, **k):
        raise AssertionError("status loaded the model")

    monkeypatch.setattr(library_module, "Embedder", no_model)
    monkeypatch.setattr(library_model, "Embedder", no_model)  # where the Library loads it
    assert main(["--library", str(scanned.folder), "status", "--json"]) == 0
    assert '"photos": 12' in capsys.readouterr().out


# -- finding 19 ------------------------------------------------------------------------------------
def test_a_read_never_triggers_a_backup(scanned, make_library):
    folder = scanned.folder
    scanned.close()
    shutil.rmtree(folder / "backups", ignore_errors=True)  # a backup is due
    lib = make_library(folder)  # opened for writing, as the app does
    assert lib.search(SearchQuery(text="a red ball", top=3))  # loads the model
    lib.status()
    lib.tag_counts()
    lib.close()
    assert not backup.list_backups(folder / "backups")
    lib = make_library(folder)
    lib.tag_photos([1], add=["keeper"])  # a real write still takes the day's backup
    assert len(backup.list_backups(folder / "backups")) == 1


def test_a_large_backup_runs_beside_the_user_not_in_their_way(scanned, make_library, monkeypatch):
    folder = scanned.folder
    scanned.close()
    shutil.rmtree(folder / "backups", ignore_errors=True)
    monkeypatch.setattr(backup, "BACKGROUND_ABOVE_BYTES", 0)  # every catalog counts as large

    def slow_backup(*a, **k):  # what blocking the user would cost at a million photos
        time.sleep(30)

    monkeypatch.setattr(backup, "backup_database", slow_backup)
    lib = make_library(folder)
    started = time.monotonic()
    lib.tag_photos([1], add=["keeper"])
    assert time.monotonic() - started < 5
    deadline = time.monotonic() + 60
    while not backup.list_backups(folder / "backups") and time.monotonic() < deadline:
        time.sleep(0.2)  # the backup process (not patched: its own interpreter) finishes
    (made,) = backup.list_backups(folder / "backups")
    catalog.verify_backup(made)
    assert _mode(made) == 0o600


# -- finding 16 ------------------------------------------------------------------------------------
def test_catalog_index_backups_private_sidecars_follow_the_umask(make_library, photo_tree):
    old = os.umask(0o022)
    try:
        lib = make_library()
        lib.scan([photo_tree])
        lib.tag_photos([1], add=["shared"])
        lib.write_xmp_sidecars([1])
        from photosort.core import doctor

        made = doctor.make_backup(lib)
        lib.close()
    finally:
        os.umask(old)
    folder = lib.folder
    for name in ("catalog.sqlite", "vectors.faiss", "vectors.json"):
        assert _mode(folder / name) == 0o600, name
    for extra in folder.glob("catalog.sqlite-*"):
        assert _mode(extra) == 0o600, extra
    assert _mode(folder) == 0o700 and _mode(folder / "backups") == 0o700
    assert _mode(made) == 0o600
    (sidecar,) = photo_tree.rglob("*.xmp")
    assert _mode(sidecar) == 0o644  # digiKam on a NAS, another user's viewer: readable


def test_an_old_world_readable_catalog_becomes_private_when_opened(scanned, make_library):
    folder = scanned.folder
    scanned.close()
    os.chmod(folder / "catalog.sqlite", 0o644)
    make_library(folder).close()
    assert _mode(folder / "catalog.sqlite") == 0o600
