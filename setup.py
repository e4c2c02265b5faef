"""Build hook: ship the top-level ``resources/`` folder as ``photosort/resources/``.

All metadata lives in pyproject.toml. A checkout may have ``photosort/resources`` as a
symlink to ``../resources`` (handy for editable installs) or, on a system without symlink
support, as a small text file; either way the wheel gets a real folder copied from
``resources/``, and the sdist carries ``resources/`` itself (MANIFEST.in).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class build_py_with_resources(build_py):  # noqa: N801 (setuptools command naming)
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads resources/ from the checkout
        source = HERE / "resources"
        if not (source / "categories.toml").is_file():
            raise SystemExit(f"resources/ is missing or incomplete: {source}")
        target = Path(self.build_lib) / "photosort" / "resources"
        if target.is_symlink() or target.is_file():
            target.unlink()
        shutil.copytree(source, target, ignore=IGNORE, dirs_exist_ok=True)


setup(cmdclass={"build_py": build_py_with_resources})
