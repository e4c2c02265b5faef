"""photosort: a desktop photo organizer with CLIP search and user-defined auto-tagging."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("photosort")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
