"""Screenshots for the README, taken by the walkthrough test (``test_walkthrough.py``) at
its steps: into a temporary folder, or into ``docs/screenshots`` with
``PHOTOSORT_SCREENSHOTS=1``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def grab(widget: QWidget, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(path))
    return path
