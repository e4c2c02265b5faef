"""The Duplicates view: groups side by side, click to change the keeper, act with confirmation."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from photosort.gui import tasks
from photosort.gui.duplicates_view import DuplicatesDialog
from tests.fixtures.duplicates import write_duplicate_set


@pytest.fixture
def dup_library(tmp_path, make_library):
    truth = write_duplicate_set(tmp_path / "photos", originals=2, bursts=1, negatives=1, singles=1)
    lib = make_library()
    assert lib.scan([tmp_path / "photos"]).failed == 0
    return lib, truth


def _idle(qtbot, dialog) -> None:
    def done() -> None:
        assert dialog.find_button.isEnabled()
        assert not tasks._RUNNING

    qtbot.waitUntil(done, timeout=30000)


def test_groups_shown_side_by_side_and_click_changes_keeper(qtbot, dup_library):
    lib, truth = dup_library
    dialog = DuplicatesDialog(lib)
    qtbot.addWidget(dialog)
    _idle(qtbot, dialog)
    assert dialog.views, dialog.status.text()
    kinds = {v.group.kind for v in dialog.views}
    assert {"near", "bursts"} <= kinds
    view = next(v for v in dialog.views if v.group.kind == "near")
    assert len(view.cards) == len(view.group.members) >= 2
    assert [c.isChecked() for c in view.cards].count(True) == 1
    assert "×" in view.cards[0].text()  # size shown under each photo
    other = view.cards[1]
    other.click()
    assert view.group.keeper_id == view.cards[1].photo_id
    assert [c.isChecked() for c in view.cards] == [False, True] + [False] * (len(view.cards) - 2)
    assert "chosen by you" in view.header.text()
    dialog.close()
    _idle(qtbot, dialog)


def test_trash_asks_first_and_declining_moves_nothing(qtbot, dup_library, monkeypatch):
    lib, _ = dup_library
    dialog = DuplicatesDialog(lib)
    qtbot.addWidget(dialog)
    _idle(qtbot, dialog)
    view = next(v for v in dialog.views if v.group.kind == "near")
    others = [Path(m.path) for m in view.group.others]
    asked: list[str] = []

    def answer(reply):
        def question(*args, **kwargs):
            asked.append(args[2])
            return reply

        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    view.trash_button.click()
    _idle(qtbot, dialog)
    assert asked and all(p.exists() for p in others)

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    keeper = Path(view.group.keeper.path)
    view.trash_button.click()
    _idle(qtbot, dialog)
    assert len(asked) == 2
    assert not any(p.exists() for p in others) and keeper.exists()
    dialog.close()
    _idle(qtbot, dialog)


def test_tag_others_of_one_group(qtbot, dup_library):
    lib, _ = dup_library
    dialog = DuplicatesDialog(lib)
    qtbot.addWidget(dialog)
    _idle(qtbot, dialog)
    view = dialog.views[0]
    view.tag_button.click()
    _idle(qtbot, dialog)
    ids = [m.photo_id for m in view.group.members]
    tags = lib.photo_tags(ids)
    tagged = {pid for pid, ts in tags.items() if any(t.name == "duplicate" for t in ts)}
    assert tagged == {m.photo_id for m in view.group.others}
    dialog.close()
    _idle(qtbot, dialog)


def test_screenshot(qtbot, dup_library, tmp_path):
    """The README's picture (``PHOTOSORT_SCREENSHOTS=1`` writes it into docs/screenshots)."""
    import os

    from PySide6.QtGui import QImage

    from tests.gui.screenshots import DOCS, grab

    lib, _ = dup_library
    dialog = DuplicatesDialog(lib)
    qtbot.addWidget(dialog)
    dialog.resize(1000, 760)
    dialog.show()
    _idle(qtbot, dialog)
    dialog.kind.setCurrentIndex(2)  # near-duplicates only: the interesting picture
    dialog.find_groups()
    _idle(qtbot, dialog)
    shown = [v for v in dialog.views if not v.isHidden()]
    assert shown and all(v.group.kind == "near" for v in shown)
    assert all(v.isHidden() for v in dialog.findChildren(type(shown[0])) if v not in shown)
    view = next(v for v in dialog.views if v.group.kind == "near")
    qtbot.waitUntil(lambda: all(not c.icon().isNull() for c in view.cards), timeout=15000)
    folder = DOCS if os.environ.get("PHOTOSORT_SCREENSHOTS") == "1" else tmp_path
    path = grab(dialog, folder / "duplicates.png")
    assert QImage(str(path)).width() >= 900
    dialog.close()
    _idle(qtbot, dialog)
