"""Text in photos in the app: "quoted" words in the search bar find the photo that says
them, the preview marks the words, the details panel shows the text with Copy."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QGuiApplication

from conftest import draw_photo
from tests.fixtures.text_photos import write
from tests.gui.conftest import wait_idle


@pytest.fixture
def text_library(tmp_path, make_library):
    photos = tmp_path / "photos"
    texts = write(photos / "text", kinds=("screenshot", "receipt"), per_kind=1)
    for i in range(3):
        draw_photo(photos / "plain" / f"plain_{i}.jpg", seed=200 + i)
    lib = make_library()
    lib.scan([photos], read_text=False)
    lib.read_text([photos / "text"], gated=False)  # OCR of the two text photos only
    return lib, texts


def _id(lib, path) -> int:
    return lib.photo_ids_for_paths([path])[0][0]


def test_quoted_words_find_the_photo_and_the_panel_shows_its_text(text_library, make_window, qtbot):
    """Also the search bar's "Words in photos" toggle (one library: its OCR takes a while)."""
    lib, texts = text_library
    receipt = texts[1]
    window = make_window(lib)
    shop, item = receipt.words[0], receipt.words[1]
    window.search_bar.set_text(f'"{shop.lower()} {item}"')
    qtbot.waitUntil(lambda: window.grid.photo_model.ids == [_id(lib, receipt.path)], timeout=30000)
    wait_idle(qtbot, window)

    window.grid.select_ids([_id(lib, receipt.path)])
    panel = window.details.text_panel
    qtbot.waitUntil(lambda: panel.isVisibleTo(window) and shop in panel.text_view.toPlainText(),
                    timeout=15000)  # fmt: skip
    panel.copy_button.click()
    assert shop in QGuiApplication.clipboard().text()
    assert item in QGuiApplication.clipboard().text()

    window.search_bar.clear()  # browsing again: another photo shows its own text
    wait_idle(qtbot, window)
    window.grid.select_ids([_id(lib, texts[0].path)])
    word = texts[0].words[2]
    qtbot.waitUntil(lambda: word in panel.text_view.toPlainText().lower(), timeout=15000)
    window.grid.select_ids([_id(lib, next(p for p in lib.roots())["path"] + "/plain/plain_0.jpg")])
    qtbot.waitUntil(lambda: not panel.isVisibleTo(window), timeout=15000)  # no text: no panel
    wait_idle(qtbot, window)
    _words_in_photos_toggle(lib, texts, window, qtbot)


def _words_in_photos_toggle(lib, texts, window, qtbot) -> None:
    """Typed without quotes, a word the receipt holds is searched by meaning only; with
    "Words in photos" on, the same words also go to the photos' text: the receipt comes
    first and shows in the grid, the photos found by meaning still follow."""
    receipt = _id(lib, texts[1].path)
    shop = texts[1].words[0].lower()
    bar = window.search_bar
    assert bar.words_toggle.text() == "Words in photos" and not bar.words_in_photos

    def ranked() -> list[int] | None:
        answer = None if window.loading else window._last_results
        if answer is None or answer[0] != "search" or answer[1].text != shop:
            return None
        return [r.photo_id for r in answer[2]]

    bar.set_text(shop)
    meaning = [r.photo_id for r in lib.search(window.current_query(), check_tags=False)]
    qtbot.waitUntil(lambda: ranked() == meaning, timeout=30000)
    wait_idle(qtbot, window)

    bar.words_toggle.click()  # the same text, searched in the photos' words too
    qtbot.waitUntil(lambda: (ranked() or [None])[0] == receipt, timeout=30000)
    assert set(meaning) <= set(ranked())  # ranked together: none of the meaning hits lost
    assert receipt in window.grid.photo_model.ids
    wait_idle(qtbot, window)
    bar.words_toggle.click()
    qtbot.waitUntil(lambda: ranked() == meaning, timeout=30000)
    wait_idle(qtbot, window)


def test_the_preview_marks_the_matching_words(text_library, make_window, qtbot):
    lib, texts = text_library
    shot = texts[0]
    pid = _id(lib, shot.path)
    word = shot.words[2]  # a word in the body of the screenshot
    window = make_window(lib)
    window.search_bar.set_text(f'"{word}"')
    qtbot.waitUntil(lambda: pid in window.grid.photo_model.ids, timeout=30000)
    wait_idle(qtbot, window)
    window.open_preview(pid)
    dialog = window.preview_dialog
    qtbot.waitUntil(lambda: dialog.shown_id == pid and dialog.pixmap is not None, timeout=15000)
    marked = dialog.pixmap.toImage()
    from photosort.core.imaging import load_thumbnail
    from photosort.gui.details import pil_to_qimage

    plain = pil_to_qimage(load_thumbnail(str(shot.path), 1600))  # what the loader shows
    assert (plain.width(), plain.height()) == (marked.width(), marked.height())
    words = lib.photo_text(pid).words
    boxes = [w.box for w in words if w.text.lower() == word.lower()]
    others = [w.box for w in words if w.text.lower() != word.lower()][:3]
    assert boxes and others

    def blue(image, box) -> float:
        x0, y0, x1, y1 = box
        w, h = image.width(), image.height()
        xs = np.linspace(x0 * w + 1, x1 * w - 1, 8).astype(int)
        ys = np.linspace(y0 * h + 1, y1 * h - 1, 4).astype(int)
        return float(np.mean([image.pixelColor(x, y).blue() for x in xs for y in ys]))

    # yellow over the word takes blue out of it; the other words keep theirs
    assert blue(marked, boxes[0]) < 0.8 * blue(plain, boxes[0])
    assert all(abs(blue(marked, b) - blue(plain, b)) < 3 for b in others)
    dialog.close()
    wait_idle(qtbot, window)


@pytest.mark.slow
def test_after_a_scan_the_app_reads_text_in_the_background(
    tmp_path, make_library, make_window, qtbot, ocr_on
):
    photos = tmp_path / "new"
    shot = write(photos, kinds=("screenshot",), per_kind=1)[0]
    lib = make_library()
    window = make_window(lib)
    assert window.scan([str(photos)])
    qtbot.waitUntil(lambda: lib.text_counts()["read"] + lib.text_counts()["skipped"] == 1,
                    timeout=240000)  # fmt: skip
    qtbot.waitUntil(lambda: window.bulk_task is None, timeout=60000)
    wait_idle(qtbot, window)
    lib.read_text([photos])  # whatever the tiny model's gate said
    window.search_bar.set_text(f'"{shot.words[2]}"')
    qtbot.waitUntil(lambda: window.grid.photo_model.ids == [_id(lib, shot.path)], timeout=30000)
    wait_idle(qtbot, window)
