"""GUI soak (issue 11): thousands of random user actions without a crash, a Qt warning or
a fall in None's reference count.

Actions: search (text, similar, back), select (some, all, none), sidebar filters, tag and
untag (menus, quick tags, the details panel), accept/reject auto tags, undo/redo, typing
into the grid, dialogs opened and closed (export, categories, errors, preferences,
preview), and a background scan now and then — without waiting for answers in between,
so late answers race new actions the way a quick user makes them race.
"""

from __future__ import annotations

import gc
import random
import sys

import pytest
from PySide6.QtCore import Qt, QTimer, QtMsgType
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.gui.conftest import wait_idle

QUERIES = ["a red ball", "a car at night", "sunset", "dog", "flowers", "a blue sky", "zzz"]
TAGS = ["keep", "family", "best", "Best", "to print", "été"]
BAD = (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
#: Platform-plugin chatter that says nothing about the app.
HARMLESS = ("This plugin does not support propagateSizeHints()",)


def close_modal_soon(tries: int = 200) -> None:
    """Reject the next modal dialog as soon as it is up (dialogs run with exec())."""

    def close(left: int = tries) -> None:
        modal = QApplication.activeModalWidget()
        if modal is not None:
            modal.reject()
        elif left:
            QTimer.singleShot(5, lambda: close(left - 1))

    QTimer.singleShot(0, close)


class Soak:
    def __init__(self, window, library, rng: random.Random, monkeypatch, new_photos):
        self.window = window
        self.library = library
        self.rng = rng
        self.new_photos = new_photos
        self.counts: dict[str, int] = {}
        import photosort.gui.main_window as main_window

        monkeypatch.setattr(main_window, "ask_tag", lambda *a, **k: rng.choice([*TAGS, None]))
        for name in ("information", "warning", "critical"):
            monkeypatch.setattr(QMessageBox, name, lambda *a, **k: QMessageBox.StandardButton.Ok)
        monkeypatch.setattr(
            QMessageBox,
            "question",
            lambda *a, **k: rng.choice(
                [QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No]
            ),
        )
        self.actions = [
            (self.search, 6),
            (self.select, 10),
            (self.filter, 8),
            (self.tag, 8),
            (self.details_tag, 4),
            (self.accept_reject, 4),
            (self.undo_redo, 8),
            (self.type_in_grid, 2),
            (self.dialog, 2),
            (self.scan, 1),
        ]

    def step(self) -> None:
        funcs, weights = zip(*self.actions, strict=True)
        action = self.rng.choices(funcs, weights)[0]
        self.counts[action.__name__] = self.counts.get(action.__name__, 0) + 1
        action()
        QApplication.processEvents()

    # -- actions --------------------------------------------------------------------------
    def ids(self) -> list[int]:
        return self.window.grid.photo_model.ids

    def search(self) -> None:
        bar = self.window.search_bar
        choice = self.rng.random()
        if choice < 0.5:
            bar.set_text(self.rng.choice(QUERIES))
        elif choice < 0.7 and self.ids():
            self.window.find_similar(self.rng.choice(self.ids()))
        else:
            self.window.back_to_browsing()

    def select(self) -> None:
        ids = self.ids()
        choice = self.rng.random()
        if choice < 0.15:
            self.window.grid.selectAll()
        elif choice < 0.3 or not ids:
            self.window.grid.clearSelection()
        else:
            self.window.grid.select_ids(self.rng.sample(ids, min(len(ids), self.rng.randint(1, 8))))

    def filter(self) -> None:
        sidebar = self.window.sidebar
        if self.rng.random() < 0.15:
            sidebar.clear_filters()
            return
        keys = [k for k in sidebar._items if k[0] in ("all", "folder", "tag", "uncertain")]
        if keys:
            sidebar._clicked(sidebar._items[self.rng.choice(keys)], 0)

    def tag(self) -> None:
        window = self.window
        choice = self.rng.random()
        if choice < 0.3:
            window.prompt_add_tag()
        elif choice < 0.45:
            window.prompt_remove_tag()
        elif choice < 0.7 and window.quick_menu.actions():
            self.rng.choice(window.quick_menu.actions()).trigger()
        else:
            ids = window.grid.selected_ids()
            window.apply_tags(ids, [self.rng.choice(TAGS)], [])

    def details_tag(self) -> None:
        details = self.window.details
        details.tag_edit.setText(self.rng.choice(TAGS))
        details._add_typed()

    def accept_reject(self) -> None:
        info = self.window.details.info
        if info is None or len(info.ids) != 1:
            return
        auto = [t for t in info.tags.get(info.ids[0], []) if t.category is not None]
        if auto:
            name = self.rng.choice(auto).name
            on = self.rng.random() < 0.5
            self.window.details.tag_requested.emit(
                list(info.ids), [name] if on else [], [] if on else [name]
            )

    def undo_redo(self) -> None:
        stack = self.window.undo_stack
        if self.rng.random() < 0.7:
            stack.undo()
        else:
            stack.redo()

    def type_in_grid(self) -> None:
        grid = self.window.grid
        grid.setFocus()
        for ch in self.rng.choice(["t", "T", "/home/me", "red"]):
            QApplication.sendEvent(grid, _key(ch))

    def dialog(self) -> None:
        window = self.window
        choice = self.rng.randrange(5)
        if choice == 0:
            close_modal_soon()
            window.open_export()
        elif choice == 1:
            close_modal_soon()
            window.open_category_editor()
        elif choice == 2:
            close_modal_soon()
            window.show_errors()
        elif choice == 3:
            close_modal_soon()
            window.open_preferences()
        elif self.ids():
            window.open_preview(self.rng.choice(self.ids()))
            for widget in QApplication.topLevelWidgets():
                if type(widget).__name__ == "PreviewDialog" and widget.isVisible():
                    QTimer.singleShot(self.rng.randint(0, 50), widget.close)

    def scan(self) -> None:
        if self.new_photos and self.rng.random() < 0.5:
            self.window.add_folder(str(self.new_photos))
        else:
            self.window.rescan()


def _key(ch: str):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent

    key = Qt.Key.Key_Slash if ch == "/" else getattr(Qt.Key, f"Key_{ch.upper()}")
    mods = Qt.KeyboardModifier.ShiftModifier if ch.isupper() else Qt.KeyboardModifier.NoModifier
    return QKeyEvent(QEvent.Type.KeyPress, key, mods, ch)


def run_soak(make_window, library, qtbot, qtlog, monkeypatch, tmp_path, steps: int, seed: int):
    from conftest import draw_photo

    new_photos = tmp_path / "more-photos"
    for i in range(6):
        draw_photo(new_photos / f"new_{i}.jpg", seed=1000 + i)
    window = make_window(library)
    soak = Soak(window, library, random.Random(seed), monkeypatch, new_photos)
    gc.collect()
    none_before = sys.getrefcount(None)
    for step in range(steps):
        soak.step()
        if step % 200 == 199:
            wait_idle(qtbot, window, timeout=60000)
    wait_idle(qtbot, window, timeout=60000)
    qtbot.waitUntil(lambda: window.bulk_task is None, timeout=60000)
    wait_idle(qtbot, window, timeout=60000)
    gc.collect()
    none_after = sys.getrefcount(None)
    warnings = [
        r.message
        for r in qtlog.records
        if r.type in BAD and not any(h in r.message for h in HARMLESS)
    ]
    assert warnings == [], warnings
    assert none_after >= none_before - 50, f"None lost {none_before - none_after} references"
    assert sum(soak.counts.values()) == steps
    assert len(soak.counts) == len(soak.actions), soak.counts  # every kind of action ran
    # the window still works: a search answers and the catalog is sound
    window.search_bar.set_text("a red ball")
    wait_idle(qtbot, window)
    assert window.grid.photo_model.has_scores
    with library.catalog.transaction() as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    window.close()
    return soak


# Back in the default run: about one run in five here ended in a heap corruption in Qt's
# painting until pool threads stopped destroying what background tasks held (a closed
# preview's QPixmap; tests/gui/test_trust.py pins it). 15 of 15 runs passed after the fix.
def test_gui_soak_short(make_window, library, qtbot, qtlog, monkeypatch, tmp_path):
    run_soak(make_window, library, qtbot, qtlog, monkeypatch, tmp_path, steps=300, seed=11)


@pytest.mark.slow
def test_gui_soak_long(make_window, library, qtbot, qtlog, monkeypatch, tmp_path):
    run_soak(make_window, library, qtbot, qtlog, monkeypatch, tmp_path, steps=5000, seed=12)
