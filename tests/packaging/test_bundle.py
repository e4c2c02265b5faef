"""The PyInstaller bundle, run headless: ``--version``, ``--help``, a scan and a search.

Slow and opt-in: it checks a bundle already built with ``python packaging/build.py``
(about ten minutes, so never part of a test run) and skips when there is none.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
if sys.platform == "darwin":
    EXE = REPO / "dist" / "PhotoSort.app" / "Contents" / "MacOS" / "photosort"
elif sys.platform == "win32":
    EXE = REPO / "dist" / "photosort" / "photosort.exe"
else:
    EXE = REPO / "dist" / "photosort" / "photosort"


@pytest.fixture
def bundle(tmp_path: Path) -> tuple[str, dict[str, str]]:
    if not EXE.is_file():
        pytest.skip("no bundle: build it with python packaging/build.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOSORT_", "PYTHON"))}
    env.update(PHOTOSORT_LIBRARY=str(tmp_path / "library"), QT_QPA_PLATFORM="offscreen")
    return str(EXE), env


def run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=600)
    assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_bundle_version_and_help(bundle, tmp_path: Path):
    exe, env = bundle
    assert run([exe, "--version"], env, tmp_path).stdout.strip() == f"photosort {VERSION}"
    assert "scan" in run([exe, "--help"], env, tmp_path).stdout


def test_bundle_scans_and_searches(bundle, tmp_path: Path, photo_tree: Path, tiny_model: str):
    exe, env = bundle
    common = ["--model", tiny_model, "--device", "cpu"]
    scan = json.loads(run([exe, "scan", str(photo_tree), "--json", *common], env, tmp_path).stdout)
    assert scan["new"] == 12 and scan["failed"] == 0, scan
    found = run([exe, "search", "a red circle", "--top", "3", "--json"], env, tmp_path)
    results = json.loads(found.stdout)
    assert len(results) == 3
    assert all(Path(r["path"]).is_relative_to(photo_tree) for r in results)
