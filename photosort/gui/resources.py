"""Where the app's files (icons, style sheet) live: ``resources/`` next to the package."""

from __future__ import annotations

from pathlib import Path

_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "resources",  # a source checkout
    Path(__file__).resolve().parent / "resources",  # a future packaged copy
)


def resource_path(name: str) -> Path | None:
    for folder in _CANDIDATES:
        path = folder / name
        if path.exists():
            return path
    return None


def icon_path(name: str) -> Path | None:
    return resource_path(f"icons/{name}")
