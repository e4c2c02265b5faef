"""The sdist and wheel from ``python -m build``, installed into a fresh virtual environment.

Slow (a build and a pip install): run with ``pytest -m slow tests/packaging``. Nothing is
downloaded: the build runs without isolation and the venv reuses this environment's
torch and friends through ``--system-site-packages``; the wheel is installed with
``--no-index``, so a dependency that is not already here fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def shipped_resources() -> list[str]:
    """Every file under resources/, relative to it, as the wheel must carry them."""
    return sorted(
        p.relative_to(REPO / "resources").as_posix()
        for p in (REPO / "resources").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
    )


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build``: an sdist, then a wheel built from that sdist."""
    out = tmp_path_factory.mktemp("dist")
    run(
        [sys.executable, "-m", "build", "--no-isolation", "--skip-dependency-check"]
        + ["--outdir", str(out), str(REPO)]
    )
    return out


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv seeing this environment's packages, with the wheel installed into it.

    ``--without-pip``: the venv's own old setuptools would shadow the one torch needs;
    this environment's pip installs into the venv when run by the venv's python.
    """
    root = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(root)])
    python = bin_path(root, "python")
    (wheel,) = dist.glob("photosort-*.whl")
    run([str(python), "-m", "pip", "install", "--no-index", "--no-input", str(wheel)])
    return root


def bin_path(venv: Path, name: str) -> Path:
    if sys.platform == "win32":
        return venv / "Scripts" / f"{name}.exe"
    return venv / "bin" / name


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """Run outside the checkout, with a fresh library, so only the installed copy is used."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSORT_")}
    env.pop("PYTHONPATH", None)
    env.update(PHOTOSORT_LIBRARY=str(tmp_path / "library"), QT_QPA_PLATFORM="offscreen")
    return env


def test_sdist_carries_resources_and_build_files(dist: Path):
    (sdist,) = dist.glob("photosort-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for name in ["setup.py", "MANIFEST.in", "pyproject.toml", "README.md"]:
        assert name in names
    for name in shipped_resources():
        assert f"resources/{name}" in names
    assert "packaging/photosort.spec" in names
    assert not any(n.endswith((".pyc", "__pycache__")) for n in names)


def test_wheel_carries_resources(dist: Path):
    (wheel,) = dist.glob("photosort-*.whl")
    assert wheel.name == f"photosort-{VERSION}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"photosort/resources/{name}" for name in shipped_resources()}
    assert "photosort/resources/categories.toml" in expected
    assert "photosort/resources/photosort.desktop" in expected
    assert "photosort/resources/icons/photosort.svg" in expected
    assert expected <= names
    assert "photosort/py.typed" in names
    assert "photosort/cli/__init__.py" in names and "photosort/gui/app.py" in names
    entry_points = zipfile.ZipFile(wheel).read(f"photosort-{VERSION}.dist-info/entry_points.txt")
    assert b"photosort = photosort.cli:main" in entry_points


def test_installed_copy_finds_its_resources(venv: Path, user_env: dict, tmp_path: Path):
    script = """
import json, photosort
from photosort.core.categories import default_categories
from photosort.gui.resources import icon_path
print(json.dumps({
    "package": photosort.__file__,
    "version": photosort.__version__,
    "categories": [c.name for c in default_categories()],
    "icon": str(icon_path("photosort.svg")),
}))
"""
    out = run([str(bin_path(venv, "python")), "-c", script], env=user_env, cwd=tmp_path)
    found = json.loads(out.stdout)
    site = venv.resolve()
    assert Path(found["package"]).resolve().is_relative_to(site), found
    assert found["version"] == VERSION
    assert found["categories"], "no default categories"
    assert Path(found["icon"]).resolve().is_relative_to(site), found


def test_installed_command_version_and_help(venv: Path, user_env: dict, tmp_path: Path):
    exe = str(bin_path(venv, "photosort"))
    out = run([exe, "--version"], env=user_env, cwd=tmp_path)
    assert out.stdout.strip() == f"photosort {VERSION}"
    helptext = run([exe, "--help"], env=user_env, cwd=tmp_path).stdout
    for name in ["scan", "search", "status", "roots", "gui"]:
        assert name in helptext
        run([exe, name, "--help"], env=user_env, cwd=tmp_path)


def test_installed_command_scans_and_searches(
    venv: Path, user_env: dict, tmp_path: Path, photo_tree: Path, tiny_model: str
):
    exe = str(bin_path(venv, "photosort"))
    common = ["--model", tiny_model, "--device", "cpu"]
    scan = run([exe, "scan", str(photo_tree), "--json", *common], env=user_env, cwd=tmp_path)
    summary = json.loads(scan.stdout)
    assert summary["new"] == 12 and summary["failed"] == 0, summary
    found = run(
        [exe, "search", "a red circle", "--top", "5", "--json", *common],
        env=user_env,
        cwd=tmp_path,
    )
    results = json.loads(found.stdout)
    assert len(results) == 5
    assert all(Path(r["path"]).is_relative_to(photo_tree) for r in results)
    assert (tmp_path / "library" / "catalog.sqlite").is_file()
