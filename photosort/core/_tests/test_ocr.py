"""Text recognition, the word store and its search: real OCR on rendered text, no torch."""

from __future__ import annotations

import os
import sys
import threading
import time

import numpy as np
import pytest

from photosort.core import ocr_store
from photosort.core.catalog import Catalog, now_iso
from photosort.core.ocr import Line, OcrResult, Recognizer, Word, fold
from photosort.core.ocr_gate import TextGate, calibrate, exemplars
from tests.fixtures.text_photos import render


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer()


def _recall(result: OcrResult, words) -> float:
    seen = {fold(t) for w in result.words for t in ocr_store.query_terms(w.text)}
    wanted = [fold(" ".join(ocr_store.query_terms(w))) for w in words]
    return sum(w in seen or w in fold(result.text) for w in wanted) / len(wanted)


def test_reads_the_words_of_a_rendered_receipt(recognizer):
    image, words = render("receipt", 3)
    result = recognizer.read(image)
    assert _recall(result, words) >= 0.9, (words, result.text)
    assert "TOTAL" in result.text


def test_word_boxes_are_where_the_words_are_drawn(recognizer):
    image, words = render("slide", 5)
    result = recognizer.read(image)
    title = words[0]
    boxes = [w.box for w in result.words if fold(w.text) == fold(title)]
    assert boxes, result.text
    x0, y0, x1, y1 = boxes[0]
    # the title is drawn at (24, 20) in 32 px type on a 480 x 360 slide
    assert x0 < 0.15 and y0 < 0.15 and y1 < 0.25 and x1 > x0


def test_an_image_without_text_reads_nothing(recognizer):
    rng = np.random.default_rng(1)
    arr = (np.linspace(40, 200, 320)[None, :, None] + rng.normal(0, 4, (240, 320, 3))).clip(0, 255)
    from PIL import Image

    assert recognizer.read(Image.fromarray(arr.astype(np.uint8))).lines == []


# -- the store ------------------------------------------------------------------------------
@pytest.fixture
def catalog(tmp_path):
    cat = Catalog(tmp_path / "catalog.sqlite")
    root = cat.add_root(str(tmp_path))
    with cat.transaction() as conn:
        for i in range(4):
            conn.execute(
                "INSERT INTO photos (root_id, path, folder, size, mtime_ns, status, added_at, "
                "updated_at) VALUES (?, ?, ?, 100, 1, 'ok', ?, ?)",
                (root, str(tmp_path / f"p{i}.jpg"), str(tmp_path), now_iso(), now_iso()),
            )
    yield cat
    cat.close()


def _result(*lines: str) -> OcrResult:
    return OcrResult(
        [
            Line(t, (0.1, 0.1 * i, 0.9, 0.1 * i + 0.05), 0.99, (Word(t, (0.1, 0.1, 0.5, 0.2)),))
            for i, t in enumerate(lines)
        ]
    )


def test_search_folds_case_and_diacritics(catalog):
    ocr_store.store_text(catalog, 1, "h1", _result("Café Crème", "TOTAL 42.50"))
    ocr_store.store_text(catalog, 2, "h2", _result("creme brulee", "total 42"))
    assert [h.photo_id for h in ocr_store.search(catalog, "CAFE creme")] == [1]
    assert {h.photo_id for h in ocr_store.search(catalog, "crème")} == {1, 2}
    assert [h.photo_id for h in ocr_store.search(catalog, "42.50")] == [1]
    assert ocr_store.photo_text(catalog, 1).text == "Café Crème\nTOTAL 42.50"


def test_hostile_text_is_stored_and_searched_safely(catalog):
    long_line = " ".join(f"word{i}" for i in range(5000)) + " needle"
    ocr_store.store_text(catalog, 1, "h1", _result(long_line))
    ocr_store.store_text(catalog, 2, "h2", _result("שלום עולם", "مرحبا بالعالم"))
    ocr_store.store_text(catalog, 3, "h3", _result('😀 pizza 🍕 "quoted" NEAR(a b) col:x *'))
    assert [h.photo_id for h in ocr_store.search(catalog, "needle")] == [1]
    assert [h.photo_id for h in ocr_store.search(catalog, "עולם")] == [2]
    assert [h.photo_id for h in ocr_store.search(catalog, "بالعالم")] == [2]
    assert [h.photo_id for h in ocr_store.search(catalog, "pizza 🍕")] == [3]
    for query in (
        '"quoted',
        "NEAR(a b)",
        "col:x",
        "AND OR NOT",
        "pizza*",
        "'; DROP TABLE photos; --",
    ):
        ocr_store.search(catalog, query)  # never an FTS5 syntax error
    assert catalog.scalar("SELECT COUNT(*) FROM photos") == 4
    for nothing in ("😀 !!", '"', "   "):
        with pytest.raises(ocr_store.TextSearchError):
            ocr_store.search(catalog, nothing)


def test_a_changed_file_has_no_text_until_read_again(catalog):
    ocr_store.store_text(catalog, 1, "h1", _result("harbour"))
    with catalog.transaction() as conn:
        conn.execute("UPDATE photos SET size = 200 WHERE id = 1")
    assert ocr_store.search(catalog, "harbour") == []
    assert ocr_store.photo_text(catalog, 1) is None


def test_matching_words_marks_only_the_query_words():
    result = _result("Crème", "other")
    assert [w.text for w in ocr_store.matching_words(result, "creme")] == ["Crème"]


def test_split_query_and_fuse():
    assert ocr_store.split_query('receipt "ikea 42.50" blue') == ("ikea 42.50", "receipt blue")
    assert ocr_store.split_query("no quotes") == ("", "no quotes")
    fused = ocr_store.fuse([(1, 0.5), (2, 0.4)], [(3, 0.9), (1, 0.3)], top=3)
    assert [pid for pid, _ in fused][0] == 1  # in both lists: first


# -- the gate (no model here: vectors with a known text direction) ------------------------------
def test_gate_fit_separates_and_calibrates():
    rng = np.random.default_rng(0)
    direction = rng.normal(size=32)
    direction /= np.linalg.norm(direction)

    def vecs(n, text):
        v = rng.normal(size=(n, 32)) + (5.0 * direction if text else 0)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    gate = TextGate.fit(vecs(40, True), vecs(40, False), vecs(20, True), vecs(20, False))
    assert gate.passes(vecs(100, True)).mean() >= 0.9
    assert (~gate.passes(vecs(100, False))).mean() >= 0.9
    assert 0 < calibrate(np.array([0.9, 0.8]), np.array([0.1, 0.2])) <= 0.8


def test_exemplars_pair_text_and_plain_pictures():
    pictures = exemplars(seed=1, per_kind=1)
    assert sum(e.has_text for e in pictures) == len(pictures) // 2
    with_text, without = pictures[0].image, pictures[1].image
    assert with_text.size == without.size and with_text.tobytes() != without.tobytes()


# -- the quick look and the learned gate ---------------------------------------------------------
MODEL = "test-model"


def _photos_with_vectors(catalog, tmp_path, images, vectors):
    """Photos 1..n of the catalog fixture, written as ``images``, with stored ``vectors``."""
    rows = catalog.query("SELECT id, path FROM photos ORDER BY id")
    with catalog.transaction() as conn:
        for (pid, path), image, vec in zip(rows, images, vectors, strict=False):
            image.save(path, quality=92)
            size = (tmp_path / path).stat().st_size
            conn.execute("UPDATE photos SET size = ? WHERE id = ?", (size, pid))
            conn.execute(
                "INSERT INTO embeddings (photo_id, model, vector) VALUES (?, ?, ?)",
                (pid, MODEL, np.asarray(vec, np.float32).tobytes()),
            )
    return [r[0] for r in rows]


def _one_word():
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (320, 120), (245, 245, 240))
    ImageDraw.Draw(image).text((30, 35), "HARBOUR", (10, 10, 10), ImageFont.load_default(size=40))
    return image


def _plain(seed: int):
    from PIL import Image

    rng = np.random.default_rng(seed)
    arr = np.linspace(40, 200, 320)[None, :, None] + rng.normal(0, 4, (240, 320, 3))
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


def test_the_quick_look_skips_what_the_vectors_pass_without_text(catalog, tmp_path, recognizer):
    """The vectors pass every photo here; the quick look (detector only, 320 px) finds no
    text region in the plain ones, so only the text photo is read; a new gate later
    re-decides the vector skips but never redoes a quick-look skip."""
    text = _one_word()
    ids = _photos_with_vectors(
        catalog, tmp_path, [text, _plain(1), _plain(2)], np.eye(3, 8, dtype=np.float32)
    )
    assert recognizer.has_text(text) and not recognizer.has_text(_plain(3))
    passes_all = TextGate(np.zeros(8, np.float32), 1.0, threshold=0.5)
    stage = ocr_store.OcrStage(catalog, recognizer, MODEL, lambda: passes_all, learn=False)
    summary = stage.run()
    assert (summary.read, summary.looked, summary.skipped_by_look) == (1, 3, 2)
    assert summary.as_dict()["skipped_by_gate"] == 2
    assert [h.photo_id for h in ocr_store.search(catalog, "harbour")] == [ids[0]]
    assert ocr_store.counts(catalog) == {"read": 1, "skipped": 2, "failed": 0}
    other = TextGate(np.zeros(8, np.float32), 1.0, threshold=0.6)
    again = ocr_store.OcrStage(catalog, recognizer, MODEL, lambda: other, learn=False).run()
    assert (again.read, again.looked, again.skipped) == (0, 0, 0)


def _outcome(catalog, pid: int, has_text: bool) -> None:
    if has_text:
        ocr_store.store_text(catalog, pid, f"h{pid}", _result(f"word{pid}"))
    else:
        with catalog.transaction() as conn:
            conn.execute(
                "INSERT INTO ocr_photos (photo_id, size, mtime_ns, decision, gate_key) "
                "SELECT id, size, mtime_ns, 'skipped', ? FROM photos WHERE id = ?",
                (ocr_store.LOOK_KEY, pid),
            )


def test_a_library_learns_its_own_gate_from_its_outcomes(tmp_path):
    """Photos read with text and photos the quick look found empty train a probe on the
    library's vectors; it then decides instead of the drawn one (a new gate key)."""
    from photosort.core.ocr_gate import MIN_OUTCOMES

    rng = np.random.default_rng(3)
    direction = rng.normal(size=16)
    n = 2 * MIN_OUTCOMES + 4
    cat = Catalog(tmp_path / "catalog.sqlite")
    root = cat.add_root(str(tmp_path))
    labels = [i % 2 == 0 for i in range(n)]
    with cat.transaction() as conn:
        for i, has_text in enumerate(labels):
            cur = conn.execute(
                "INSERT INTO photos (root_id, path, folder, size, mtime_ns, status, added_at, "
                "updated_at) VALUES (?, ?, ?, 100, 1, 'ok', ?, ?)",
                (root, str(tmp_path / f"q{i}.jpg"), str(tmp_path), now_iso(), now_iso()),
            )
            vec = rng.normal(size=16) + (3.0 * direction if has_text else 0.0)
            conn.execute(
                "INSERT INTO embeddings (photo_id, model, vector) VALUES (?, ?, ?)",
                (cur.lastrowid, MODEL, vec.astype(np.float32).tobytes()),
            )
    assert ocr_store.learn_gate(cat, MODEL) is None  # no outcomes yet
    for pid, has_text in enumerate(labels[:-2], 1):
        _outcome(cat, pid, has_text)
    gate = ocr_store.learn_gate(cat, MODEL)
    assert gate is not None
    assert ocr_store.learn_gate(cat, MODEL) is None  # nothing new: not retrained
    vectors, has_text = ocr_store.outcomes(cat, MODEL)
    assert len(has_text) == n - 2 and has_text.sum() == (n - 2) // 2
    assert (gate.passes(vectors) == has_text).mean() >= 0.9
    drawn = TextGate(np.zeros(16, np.float32), 0.0)
    stage = ocr_store.OcrStage(cat, Recognizer(), MODEL, lambda: drawn, learn=False)
    used, key, learned = stage.current_gate()
    assert learned and key.startswith(ocr_store.GATE_VERSION + ":learned-")
    cat.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_ocr_runs_on_a_lower_priority_thread_and_the_app_keeps_its_own(monkeypatch):
    """$PHOTOSORT_OCR_NICE lowers the OCR thread only: indexing keeps its priority."""
    monkeypatch.setenv("PHOTOSORT_OCR_NICE", "5")
    monkeypatch.setenv("PHOTOSORT_OCR_THREADS", "3")
    before = os.nice(0)
    seen = []

    def worker():
        seen.append(ocr_store.lower_this_thread())
        seen.append(os.nice(0))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [5, min(before + 5, 19)]
    assert os.nice(0) == before
    assert Recognizer().threads == 3
    monkeypatch.setenv("PHOTOSORT_OCR_THREADS", "many")
    assert Recognizer().threads == 1  # a bad value: the default, not a crash


def test_the_background_reader_waits_for_indexing_unless_asked_to_read_meanwhile(
    catalog, tmp_path, recognizer, monkeypatch
):
    """A scan's text thread reads nothing until the photos are searchable (``finish``);
    with ``concurrent`` it reads the photos already embedded while the scan goes on."""
    passes_all = TextGate(np.zeros(8, np.float32), 1.0, threshold=0.5)
    stage = ocr_store.OcrStage(catalog, recognizer, MODEL, lambda: passes_all, learn=False)
    images = [_one_word(), _plain(1), _plain(2), _one_word().rotate(180)]
    _photos_with_vectors(catalog, tmp_path, images[:2], np.eye(2, 8, dtype=np.float32))
    reader = ocr_store.BackgroundReader(stage).start()
    time.sleep(0.3)
    assert ocr_store.counts(catalog) == {"read": 0, "skipped": 0, "failed": 0}
    summary = reader.finish()
    assert (summary.read, summary.skipped_by_look, summary.waiting) == (1, 1, 2)

    rows = catalog.query("SELECT id, path FROM photos WHERE id > 2 ORDER BY id")
    with catalog.transaction() as conn:
        for (pid, path), image in zip(rows, images[2:], strict=True):
            image.save(path, quality=92)
            conn.execute("UPDATE photos SET size = ? WHERE id = ?", (os.path.getsize(path), pid))
            conn.execute(
                "INSERT INTO embeddings (photo_id, model, vector) VALUES (?, ?, ?)",
                (pid, MODEL, np.eye(8, dtype=np.float32)[pid].tobytes()),
            )
    monkeypatch.setitem(ocr_store._GATE_CACHE, MODEL, passes_all)  # the model's gate is known
    reader = ocr_store.BackgroundReader(stage, concurrent=True)
    reader.POLL_S = 0.05
    reader.start()
    deadline = time.monotonic() + 30
    while sum(ocr_store.counts(catalog).values()) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ocr_store.counts(catalog) == {"read": 2, "skipped": 2, "failed": 0}  # meanwhile
    assert reader.finish().read == 1
