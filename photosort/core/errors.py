"""The one root of every error a user can act on.

The CLI and the app each catch ``PhotosortError`` alone and show its one-line message;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class PhotosortError(Exception):
    """A problem the user can act on; ``str(exc)`` is the one line they see."""


class LibraryError(PhotosortError):
    """A user-facing problem with the library (bad path, busy, ...).

    Here rather than in ``library``: the feature modules the Library delegates to raise it
    too, and no feature may import the Library."""
