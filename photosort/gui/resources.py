"""Where the app's files (icons, style sheet) live: ``resources/`` next to the package."""

from __future__ import annotations

from pathlib import Path

_CANDIDATES = (
    # photosort/resources/: the copy in a wheel or a PyInstaller bundle (a symlink to
    # ../resources in a checkout)
    Path(__file__).resolve().parents[1] / "resources",
    Path(__file__).resolve().parents[2] / "resources",  # a source checkout
)


def resource_path(name: str) -> Path | None:
    for folder in _CANDIDATES:
        path = folder / name
        if path.exists():
            return path
    return None


def icon_path(name: str) -> Path | None:
    return resource_path(f"icons/{name}")
