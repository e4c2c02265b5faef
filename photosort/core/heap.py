"""Handing memory freed between the phases of a scan back to the system (issue 13).

Walking and reconciling 100k new files builds a few hundred thousand short-lived objects
before the model is even loaded; once they are freed, glibc's allocator keeps most of the
pages (only the top of its heap shrinks on its own), and the decode threads and the model
take fresh pages beside them: the walk's size then stayed in the scan's peak memory.
``malloc_trim`` returns every free page, wherever it lies in the heap.
"""

from __future__ import annotations

import ctypes
import sys
from functools import cache
from typing import Any


@cache
def _trim() -> Any:
    if not sys.platform.startswith("linux"):
        return None  # other allocators give pages back themselves
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc; musl has none
    except (OSError, AttributeError):
        return None


def release_freed() -> None:
    """Give the pages of memory freed so far back to the system (a few ms; no-op off glibc)."""
    trim = _trim()
    if trim is not None:
        trim(0)
