"""A cold text search without torch: the text tower exported to ONNX once, the same answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from photosort.core import text_onnx
from photosort.core.search import SearchQuery


def _search_in_fresh_process(library: Path, model: str, text: str, engine: str) -> tuple:
    """``photosort search --json`` as a user runs it: (results, heavy modules imported)."""
    code = (
        "import sys\n"
        "from photosort.cli import main\n"
        f"rc = main(['--library', {str(library)!r}, '--model', {model!r}, '--device', 'cpu',"
        f" 'search', {text!r}, '--json', '--top', '5'])\n"
        "sys.stdout.flush()\n"
        "print('\\nLOADED', sorted(m for m in ('torch', 'open_clip') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), text_onnx.ENGINE_ENV: engine}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    body, _, loaded = out.stdout.rpartition("\nLOADED ")
    return json.loads(body), loaded.strip()


@pytest.fixture
def scanned(make_library, tmp_path):
    from tests.fixtures.scenes import write_library

    photos = tmp_path / "photos"
    write_library(photos, 16, seed=5, size=(96, 72))
    lib = make_library()
    lib.scan([photos])  # a scan exports the text tower of the model it loaded
    lib.close()
    return lib


def test_a_cold_text_search_does_not_import_torch(scanned, tiny_model, make_library, monkeypatch):
    fast, loaded = _search_in_fresh_process(scanned.folder, tiny_model, "a red car", "auto")
    assert loaded == "[]"
    monkeypatch.setenv(text_onnx.ENGINE_ENV, "torch")  # the model itself, as before
    slow = make_library(scanned.folder, read_only=True).search(SearchQuery(text="a red car", top=5))
    assert [r["path"] for r in fast] == [r.path for r in slow]
    assert np.allclose([r["score"] for r in fast], [r.score for r in slow], atol=1e-4)


def test_the_export_gives_open_clips_vectors(scanned, make_library):
    lib = make_library(scanned.folder)
    encoder = text_onnx.OnnxTextEncoder.open(lib.model_id)
    assert encoder is not None
    texts = ["a dog on the beach at night", "Schnee & Berge – Café", "x" * 300]
    ours = encoder.encode_texts(texts)
    reference = lib.embedder.encode_texts(texts)
    assert (ours * reference).sum(axis=1).min() >= 0.999
    # A short query alone runs only its own tokens (the padding cut): the same vector.
    alone = encoder.encode_texts(texts[:1])
    assert encoder._trim and float((alone * reference[:1]).sum()) >= 0.999
    assert encoder.logit_scale == pytest.approx(lib.embedder.logit_scale)


def test_a_damaged_export_falls_back_to_the_model(scanned, make_library):
    lib = make_library(scanned.folder)
    folder = text_onnx.cache_folder(lib.model_id)
    (folder / text_onnx.MODEL_FILE).write_bytes(b"not a model")
    assert text_onnx.OnnxTextEncoder.open(lib.model_id) is None
    results = lib.search(SearchQuery(text="sky"))
    assert results and lib.model_loaded  # answered by the model
    lib.cache_text_encoder()  # and exported again for the next search
    assert text_onnx.OnnxTextEncoder.open(lib.model_id) is not None


def test_a_read_only_search_works_before_any_auto_tagging(scanned, make_library):
    """The search's relevance cutoff needs caption vectors and the logit scale, cached by
    auto-tagging; a read-only open (``photosort search``) computes them without storing."""
    writer = make_library(scanned.folder)
    with writer.catalog.transaction() as conn:
        conn.execute("DELETE FROM text_vectors")
        conn.execute("DELETE FROM meta WHERE key LIKE 'logit_scale:%'")
    writer.close()
    reader = make_library(scanned.folder, read_only=True)
    assert reader.search(SearchQuery(text="a red car", top=3))
    assert not reader.catalog.query("SELECT 1 FROM text_vectors")


def test_an_export_from_before_the_end_token_cut_is_made_again(scanned, make_library):
    """Such an export ran all 77 positions: a torch-free scan tagging with it stayed slow
    for ever, so it is not opened, and the model's next load makes it again."""
    lib = make_library(scanned.folder)
    meta_file = text_onnx.cache_folder(lib.model_id) / text_onnx.META_FILE
    meta = json.loads(meta_file.read_text())
    del meta["trim"]
    meta_file.write_text(json.dumps(meta))
    assert text_onnx.OnnxTextEncoder.open(lib.model_id) is None
    assert lib.search(SearchQuery(text="sky")) and lib.model_loaded  # the model answers
    lib.cache_text_encoder()
    encoder = text_onnx.OnnxTextEncoder.open(lib.model_id)
    assert encoder is not None and encoder._trim
