"""Text in photos end to end: ``photosort scan`` reads the text of the photos the gate
passes, ``photosort search --text`` finds them by a word, ``photosort ocr PATH`` reads
what the gate skipped; nothing is read twice. Real OCR, the repo's tiny CLIP for the gate.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import draw_photo
from photosort.cli import main
from tests.fixtures.text_photos import write


def _cli(_capsys, *args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def text_library(tmp_path_factory, tiny_model):
    """One library for the module (a scan with OCR takes a while on two cores); the tests
    run in file order and later ones add photos."""
    tmp_path = tmp_path_factory.mktemp("ocr")
    capsys = None
    patch = pytest.MonkeyPatch()
    patch.setenv("PHOTOSORT_OCR", "on")
    photos = tmp_path / "photos"
    texts = write(photos / "text", kinds=("screenshot", "receipt", "slide"), per_kind=1)
    for i in range(5):
        draw_photo(photos / "plain" / f"plain_{i}.jpg", seed=100 + i)
    lib = str(tmp_path / "library")
    code, out, err = _cli(
        capsys, "--library", lib, "--model", tiny_model, "--device", "cpu", "scan", str(photos),
        "--json",
    )  # fmt: skip
    assert code == 0, err
    yield lib, photos, texts, json.loads(out)
    patch.undo()


def _search(capsys, lib, words) -> list[dict]:
    code, out, err = _cli(capsys, "--library", lib, "search", "--text", words, "--json")
    assert code == 0, err
    return json.loads(out)


def test_scan_reads_text_photos_and_search_finds_them_by_a_word(text_library, capsys):
    lib, photos, texts, summary = text_library
    stage = summary["text"]
    assert stage["read"] + stage["skipped_by_gate"] == 8, stage  # every photo decided
    assert stage["read"] >= 2 and stage["with_text"] >= 2, stage  # of 3 text photos
    assert stage["skipped_by_gate"] >= 3, stage  # of 5 text-free photos
    # whatever the gate missed is read on request (a folder named explicitly)
    code, out, err = _cli(capsys, "--library", lib, "ocr", str(photos / "text"), "--json")
    assert code == 0, err
    for photo in texts:
        for word in photo.words[:4]:
            found = [os.path.basename(r["path"]) for r in _search(capsys, lib, word)][:3]
            assert photo.path.name in found, (word, found)
    hits = _search(capsys, lib, texts[1].words[0].lower())  # the receipt's shop, any case
    assert "[" in hits[0]["text"] and hits[0]["path"] == str(texts[1].path)


def test_nothing_is_read_twice_and_a_copy_costs_no_ocr(text_library, tiny_model, capsys):
    lib, photos, texts, _ = text_library
    shutil.copy(texts[0].path, photos / "text" / "copy_of_screenshot.jpg")
    code, out, err = _cli(capsys, "--library", lib, "--device", "cpu", "scan", "--json")
    assert code == 0, err
    stage = json.loads(out)["text"]
    assert stage["read"] == 0 and stage["reused"] == 1, stage  # same content: no OCR
    found = {os.path.basename(r["path"]) for r in _search(capsys, lib, texts[0].words[0])}
    assert {"copy_of_screenshot.jpg", texts[0].path.name} <= found
    code, out, err = _cli(capsys, "--library", lib, "--device", "cpu", "scan", "--json")
    assert json.loads(out)["text"]["read"] == 0


def test_ocr_path_reads_a_photo_the_gate_skipped(tmp_path, text_library, capsys):
    lib, photos, texts, _ = text_library
    code, out, _ = _cli(capsys, "--library", lib, "ocr", "--json")
    before = json.loads(out)["library"]
    assert before["skipped"] >= 3
    sign = write(photos / "more", kinds=("sign",), per_kind=1)[0]
    plain = photos / "plain" / "plain_0.jpg"
    code, out, err = _cli(
        capsys, "--library", lib, "--device", "cpu", "scan", str(photos), "--json"
    )
    assert code == 0, err
    code, out, err = _cli(
        capsys, "--library", lib, "ocr", str(sign.path), str(plain), "--only-paths", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["read"] + json.loads(out)["reused"] >= 1
    code, out, _ = _cli(capsys, "--library", lib, "ocr", "--show", str(sign.path))
    assert sign.words[0].lower() in out.lower()
    word = sign.words[0]
    assert str(sign.path) in [r["path"] for r in _search(capsys, lib, word)]


def test_search_text_errors_are_one_line(text_library, capsys):
    lib, *_ = text_library
    code, _, err = _cli(capsys, "--library", lib, "search", "--text", "🍕 !!")
    assert code == 2 and err.startswith("photosort: error: nothing to search for")
    for hostile in ('NEAR("a"', "col:x OR", "*", "'; DROP TABLE photos; --"):
        code, _, err = _cli(capsys, "--library", lib, "search", "--text", hostile)
        assert "Traceback" not in err and "fts5" not in err.lower()
    code, out, _ = _cli(capsys, "--library", lib, "search", "--text", "zzzqqq")
    assert code == 0


def test_opencv_headless_and_qt_share_one_process():
    """rapidocr pulls in OpenCV: its headless build must not clash with PySide6's Qt,
    whichever is imported first."""
    for order in ("import cv2, rapidocr\n" + "QT", "QT\n" + "import cv2, rapidocr"):
        code = (
            order.replace(
                "QT",
                "from PySide6.QtWidgets import QApplication, QLabel\n"
                "app = QApplication([])\nw = QLabel('x'); w.show(); app.processEvents()",
            )
            + "\nprint(cv2.__version__, 'ok')"
        )
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
        )
        assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-2000:]


def test_a_cancelled_stage_keeps_what_it_read_and_resumes(tmp_path, make_library):
    write(tmp_path / "photos", kinds=("screenshot", "slide"), per_kind=1)
    lib = make_library()
    lib.scan([tmp_path / "photos"], read_text=False)
    reports = []
    first = lib.read_text(
        [tmp_path / "photos"],
        gated=False,
        on_progress=reports.append,
        should_cancel=lambda: any(r.done >= 1 for r in reports),  # Cancel after one photo
    )
    assert first.cancelled and first.read == 1 and reports[0].phase == "reading text"
    assert lib.text_counts()["read"] == 1  # kept
    second = lib.read_text([tmp_path / "photos"], gated=False)
    assert (second.read, second.reused, second.cancelled) == (1, 0, False)
    assert lib.text_counts()["read"] == 2


@pytest.mark.slow
def test_the_gate_skips_text_free_photos_and_learns_from_the_library(tmp_path, tiny_model):
    """End to end through ``photosort scan``: text-free photos the vectors pass are skipped
    by the quick look, not read; once the library has outcomes (``ocr PATH`` read its text
    photos and its drawings), a later scan's gate is the library's own. Minutes on two
    loaded cores: the same rules run fast in photosort/core/_tests/test_ocr.py."""
    photos = tmp_path / "photos"
    write(photos / "text", per_kind=2)  # 10 text photos
    for i in range(12):
        draw_photo(photos / "plain" / f"plain_{i}.jpg", seed=300 + i)
    lib = str(tmp_path / "library")
    base = ("--library", lib, "--model", tiny_model, "--device", "cpu")
    env = pytest.MonkeyPatch()
    env.setenv("PHOTOSORT_OCR", "on")
    try:
        code, out, err = _cli(None, *base, "scan", str(photos), "--json")
        assert code == 0, err
        stage = json.loads(out)["text"]
        assert (
            stage["skipped_by_gate"] == stage["skipped_by_vectors"] + stage["skipped_by_quick_look"]
        )
        assert stage["quick_looks"] >= stage["skipped_by_quick_look"]
        code, out, err = _cli(
            None, *base, "ocr", str(photos / "text"), str(photos / "plain"), "--json"
        )
        assert code == 0, err
        assert json.loads(out)["gate_trained"]  # 10 photos with text, 12 without: enough
        code, out, err = _cli(None, *base, "ocr", "--show", str(photos / "plain" / "plain_0.jpg"))
        assert not out.strip()  # a drawing of balls and cars: no text read or stored
        for i in range(12, 16):
            draw_photo(photos / "plain" / f"plain_{i}.jpg", seed=300 + i)
        code, out, err = _cli(None, *base, "scan", "--json")
        assert code == 0, err
        later = json.loads(out)["text"]
        assert later["skipped_by_gate"] + later["read"] == 4 and later["with_text"] == 0, later
        assert later["learned_gate"], later  # the library's own gate decided
    finally:
        env.undo()


def test_a_cancelled_scan_leaves_the_text_stage_out(tmp_path, make_library, ocr_on):
    """Cancel during indexing: the text thread stops with the scan, nothing is read."""
    write(tmp_path / "photos", kinds=("screenshot",), per_kind=1)
    lib = make_library()
    summary = lib.scan([tmp_path / "photos"], should_cancel=lambda: True)
    assert summary.cancelled and summary.ocr is None
    assert "all text in" not in summary.timings
    assert lib.text_counts() == {"read": 0, "skipped": 0, "failed": 0}


def test_a_damaged_vector_costs_its_photo_not_the_text_stage(tmp_path, make_library):
    """A hand-broken catalog (one vector cut short) used to stop the gated text stage with a
    traceback; the damaged vector is left out with a warning and the stage goes on."""
    write(tmp_path / "photos", kinds=("screenshot", "slide"), per_kind=1)
    lib = make_library()
    lib.scan([tmp_path / "photos"], read_text=False)
    with lib.catalog.transaction() as conn:
        conn.execute("UPDATE embeddings SET vector = substr(vector, 1, 9) WHERE photo_id = 1")
    summary = lib.read_text()  # the gate judges every photo of the library
    assert (summary.failed, summary.cancelled) == ([], False)
    counts = lib.text_counts()  # the other photo was judged; the damaged one waits for its
    assert counts["failed"] == 0 and counts["read"] + counts["skipped"] == 1  # doctor --fix
