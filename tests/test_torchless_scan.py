"""A scan without torch (issue 13): once a model's image tower is exported to ONNX, a
`photosort scan` on a CPU where ONNX Runtime is the engine imports neither torch nor
open_clip, and stores the vectors and auto tags a scan with the torch model stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from photosort.core import image_engine, text_onnx

HEAVY = ("torch", "open_clip", "torchvision")


def _scan_in_fresh_process(library: Path, photos: Path, model: str) -> tuple[dict, str]:
    """``photosort scan --json`` as a user runs it: (summary, heavy modules imported)."""
    code = (
        "import sys\n"
        "from photosort.cli import main\n"
        f"rc = main(['--library', {str(library)!r}, '--model', {model!r}, '--device', 'cpu',"
        f" 'scan', '--json', {str(photos)!r}])\n"
        "sys.stdout.flush()\n"
        f"print('\\nLOADED', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "PHOTOSORT_PRECISION": "fp32"}
    env.pop(image_engine.ENGINE_ENV, None)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    body, _, loaded = out.stdout.rpartition("\nLOADED ")
    return json.loads(body), loaded.strip()


def _by_path(lib) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """Each photo's stored vector and auto tags, by path."""
    vectors, path_of = {}, {}
    for ids, matrix in lib.catalog.vectors(lib.model_id):
        rows = lib.catalog.query(
            f"SELECT id, path FROM photos WHERE id IN ({','.join('?' * len(ids))}) ORDER BY id",
            ids.tolist(),
        )
        for (pid, path), vector in zip(rows, matrix, strict=True):
            vectors[path], path_of[pid] = vector, path
    tags = lib.photo_tags(list(path_of))
    return vectors, {path_of[i]: sorted(t.name for t in tags.get(i, [])) for i in path_of}


@pytest.fixture
def exported(make_library, tiny_model: str, tmp_path: Path) -> Path:
    """Photos, and the tiny model's towers exported as a first scan leaves them (the
    session's model cache usually has them already)."""
    from tests.fixtures.scenes import write_library

    photos = tmp_path / "photos"
    write_library(photos, 8, seed=3, size=(120, 80))
    embedder = make_library(tmp_path / "first").embedder
    assert image_engine.export(embedder) is not None
    assert text_onnx.export(embedder) is not None
    return photos


def test_a_scan_with_the_tower_exported_imports_no_torch(exported, tiny_model, tmp_path):
    summary, loaded = _scan_in_fresh_process(tmp_path / "fresh", exported, tiny_model)
    assert loaded == "[]"  # nor open_clip: embedding and the auto-tagging after it
    assert summary["embedded"] == 8 and summary["failed"] == 0 and not summary["warnings"]


@pytest.mark.slow  # a scan with the torch model as the reference (~5 s)
def test_it_stores_the_vectors_and_tags_of_a_scan_with_torch(
    exported, tiny_model, tmp_path, make_library, monkeypatch: pytest.MonkeyPatch
):
    _scan_in_fresh_process(tmp_path / "fresh", exported, tiny_model)
    monkeypatch.setenv(image_engine.ENGINE_ENV, "torch")  # open_clip's own, every step
    reference = make_library(tmp_path / "with-torch")
    reference.scan([exported])
    ours_vectors, ours_tags = _by_path(make_library(tmp_path / "fresh", read_only=True))
    theirs_vectors, theirs_tags = _by_path(reference)
    assert sorted(ours_vectors) == sorted(theirs_vectors)
    cosines = [float(ours_vectors[p] @ theirs_vectors[p]) for p in theirs_vectors]
    assert min(cosines) >= 0.999
    assert ours_tags == theirs_tags and any(ours_tags.values())
