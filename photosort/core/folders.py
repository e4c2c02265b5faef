"""What "under a folder" means, written once (its SQL form: ``store.under_folder_sql``).

A path is under a folder when it is the folder or starts with the folder and a separator,
so ``/a/bc`` is not under ``/a/b``. The SQL form compares a prefix with ``substr`` rather
than ``LIKE``, whose ``_`` and ``%`` are common in file names, and stays exact for ``/``.
"""

from __future__ import annotations

import os


def inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """True when ``path`` is ``folder`` or lies below it (plain string test: pass both in
    the same form, e.g. both absolute or both real paths)."""
    path, folder = os.fspath(path), os.fspath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
