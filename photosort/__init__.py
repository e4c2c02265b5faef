"""photosort: a desktop photo organizer with CLIP search and user-defined auto-tagging."""

from __future__ import annotations

import functools


@functools.cache
def _version() -> str:
    # importlib.metadata costs a cold start tens of milliseconds: read it when asked for.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("photosort")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
