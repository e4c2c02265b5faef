"""The explicit list of command modules beyond the core ones in ``photosort.cli``.

A new feature adds ``photosort/cli/<feature>.py`` (registering with ``@command``) and one
import line here.
"""

from __future__ import annotations

from photosort.cli import model  # noqa: F401  download-model
