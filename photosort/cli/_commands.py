"""The explicit, ordered list of ``photosort`` commands: the one place a command is added.

Each module under ``photosort/cli/`` holds one command (or two close ones) as a
``Command``; ``photosort --help`` lists them in this order. A module imports nothing heavy
at the top: what a command needs is imported when it runs, and what its options need
(choices from a core module) when its options are built, which ``main`` does for the
command being run only.
"""

from __future__ import annotations

from photosort.cli import (
    archive,  # issue 20: photosort import
    autotag,
    bench,  # issue 21: bench, models
    categories,
    doctor,
    duplicates,  # issue 17
    export,
    gui,
    model,  # issue 11: download-model
    ocr,  # issue 19: photosort ocr, search --text
    reindex,  # issue 14: photosort reindex
    roots,
    scan,
    scores,  # issue 21: scores, evaluate
    search,
    status,
    tag,
    tags,
    teach,  # issue 16: teach, discover
    watch,  # issue 18: photosort watch
    xmp,
)
from photosort.cli._base import Command

#: Every command, by name, in the order of ``photosort --help``.
COMMAND_LIST: tuple[tuple[str, Command], ...] = (
    ("scan", scan.SCAN),
    ("roots", roots.ROOTS),
    ("status", status.STATUS),
    ("search", search.SEARCH),
    ("categories", categories.CATEGORIES),
    ("autotag", autotag.AUTOTAG),
    ("tag", tag.TAG),
    ("tags", tags.TAGS),
    ("export", export.EXPORT),
    ("xmp", xmp.XMP),
    ("gui", gui.GUI),
    ("doctor", doctor.DOCTOR),
    ("import", archive.IMPORT),
    ("bench", bench.BENCH),
    ("models", bench.MODELS),
    ("duplicates", duplicates.DUPLICATES),
    ("download-model", model.DOWNLOAD_MODEL),
    ("ocr", ocr.OCR),
    ("reindex", reindex.REINDEX),
    ("scores", scores.SCORES),
    ("evaluate", scores.EVALUATE),
    ("teach", teach.TEACH),
    ("discover", teach.DISCOVER),
    ("watch", watch.WATCH),
)
