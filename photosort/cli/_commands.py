"""The explicit list of command modules beyond the core ones in ``photosort.cli``.

A new feature adds ``photosort/cli/<feature>.py`` (registering with ``@command``) and one
import line here.
"""

from __future__ import annotations

from photosort.cli import reindex  # noqa: F401, E402  (gui-ux: photosort reindex)
