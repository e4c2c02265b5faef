"""The explicit list of command modules beyond the core ones in ``photosort.cli``.

A new feature adds ``photosort/cli/<feature>.py`` (registering with ``@command``) and one
import line here.
"""

from __future__ import annotations

from photosort.cli import (
    archive,  # noqa: F401  (issue 20: photosort import)
    bench,  # noqa: F401  (issue 21: bench, models)
    duplicates,  # noqa: F401  (issue 17)
    model,  # noqa: F401  (issue 11: download-model)
    ocr,  # noqa: F401  (issue 19: photosort ocr, search --text)
    reindex,  # noqa: F401  (issue 14: photosort reindex)
    scores,  # noqa: F401  (issue 21: scores, evaluate)
    teach,  # noqa: F401  (issue 16: teach, discover)
    watch,  # noqa: E402,F401  (issue 18: photosort watch)
)
