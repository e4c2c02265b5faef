"""Issue 11's GUI findings: a None refcount leak, a panel acting on hidden photos,
accidental bulk tagging, undo lost on a model switch, and QObjects freed by the wrong thread."""

from __future__ import annotations

import gc
import random
import shutil
import sys
import threading
import time

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QStandardItem
from PySide6.QtWidgets import QApplication, QMessageBox, QTreeWidgetItem

from photosort.core.search import SearchQuery
from photosort.gui import library_data, tasks
from tests.gui.conftest import wait_idle


def on_tags(library, ids: list[int], name: str) -> set[int]:
    tags = library.photo_tags(ids)
    return {p for p, ts in tags.items() if any(t.name == name and t.state == "on" for t in ts)}


def panel_ids(window) -> list[int]:
    info = window.details.info
    return sorted(info.ids) if info is not None else []


def test_none_keeps_its_references_across_1000_gui_actions(make_window, library, qtbot):
    """PySide6-Essentials 6.12.0 on Python 3.11 dropped one reference to None per
    QTreeWidgetItem.setData/data and QStandardItem.setData: ~80 tag actions later the app
    died with "Fatal Python error: none_dealloc". (On 3.12+ None is immortal: the count
    cannot move, and the test passes trivially.)"""
    window = make_window(library)
    data = library_data.load_sidebar(library)
    ids = window.grid.photo_model.ids
    rng = random.Random(2)
    item = QTreeWidgetItem(["probe"])
    standard = QStandardItem("probe")
    gc.collect()
    before = sys.getrefcount(None)
    for step in range(1000):
        action = step % 5
        if action == 0:
            window.sidebar.populate(data)  # hundreds of setData calls
        elif action == 1:
            leaf = window.sidebar.item_for("tag", rng.choice(window.sidebar.label_tags))
            window.sidebar._clicked(leaf, 0)  # reads the item's data, filters the grid
        elif action == 2:
            window.grid.select_ids(rng.sample(ids, 3))
            window.toggle_tag("soak")
        elif action == 3:
            window.undo_stack.undo()
        else:
            item.setData(0, Qt.ItemDataRole.UserRole, None)
            item.data(0, Qt.ItemDataRole.UserRole)
            standard.setData(None, Qt.ItemDataRole.UserRole)
        QApplication.processEvents()
    wait_idle(qtbot, window)
    del item, standard
    gc.collect()
    after = sys.getrefcount(None)
    assert after >= before - 50, f"None lost {before - after} references in 1000 actions"


def test_a_filter_that_hides_selected_photos_updates_the_panel(make_window, library, qtbot):
    window = make_window(library)
    counts = {(t.category, t.name): t.count for t in library.tag_counts()}
    label = max(("dawn", "day", "dusk", "night"), key=lambda n: counts[("Time of day", n)])
    shown = set(library.browse(SearchQuery(tags=[label])))
    hidden = [p for p in window.grid.photo_model.ids if p not in shown]
    assert len(shown) >= 4 and len(hidden) >= 4
    chosen = sorted(shown)[:4] + hidden[:4]
    window.grid.select_ids(chosen)
    qtbot.waitUntil(lambda: panel_ids(window) == sorted(chosen), timeout=5000)
    assert "8 photos selected" in window.details.title.text()

    window.sidebar._clicked(window.sidebar.item_for("tag", label), 0)
    wait_idle(qtbot, window)
    visible = sorted(shown)[:4]
    assert sorted(window.grid.selected_ids()) == visible
    qtbot.waitUntil(lambda: panel_ids(window) == visible, timeout=5000)
    assert "4 photos selected" in window.details.title.text()
    qtbot.keyClicks(window.details.tag_edit, "seen")
    qtbot.keyClick(window.details.tag_edit, Qt.Key.Key_Return)
    assert on_tags(library, chosen, "seen") == set(visible)

    # a filter that hides all of them: nothing selected, the panel says so and tags nothing
    window.sidebar._clicked(window.sidebar.item_for("tag", label), 0)  # off again
    wait_idle(qtbot, window)
    window.grid.select_ids(hidden[:4])
    qtbot.waitUntil(lambda: panel_ids(window) == sorted(hidden[:4]), timeout=5000)
    window.sidebar._clicked(window.sidebar.item_for("tag", label), 0)
    wait_idle(qtbot, window)
    assert window.grid.selected_ids() == []
    assert window.details.info is None and not window.details.manual_box.isEnabled()
    window.details.tag_requested.emit(hidden[:4], ["stale"], [])  # a late click on old widgets
    assert on_tags(library, hidden[:4], "stale") == set()


def test_typing_into_the_grid_searches_and_never_tags(make_window, library, qtbot, monkeypatch):
    import photosort.gui.main_window as main_window

    prompts = []
    monkeypatch.setattr(main_window, "ask_tag", lambda *a, **k: prompts.append(a) or "dawn")
    window = make_window(library)
    # no single printable key is a shortcut anywhere in the window
    for action in window.findChildren(main_window.QAction):
        for seq in action.shortcuts():
            combo = seq[0] if seq.count() else None
            if combo is None:
                continue
            mods = combo.keyboardModifiers() & ~Qt.KeyboardModifier.ShiftModifier
            text = seq.toString()
            assert mods or len(text.replace("Shift+", "")) > 1, f"bare-key shortcut {text}"
    assert window.search_bar.edit.hasFocus() or QApplication.focusWidget() is None
    before = {pid: {t.name for t in ts} for pid, ts in library.photo_tags(library.browse()).items()}
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(window.grid.selected_ids()) == len(before)
    qtbot.keyClicks(window.grid, "t/home/me/Trips")
    qtbot.keyClick(window.search_bar.edit, Qt.Key.Key_Return)
    wait_idle(qtbot, window)
    assert prompts == []
    assert window.search_bar.edit.text() == "t/home/me/Trips"
    after = {pid: {t.name for t in ts} for pid, ts in library.photo_tags(library.browse()).items()}
    assert after == before


def test_add_tag_prompt_starts_empty(qtbot):
    from photosort.gui.tag_prompt import tag_dialog

    dialog = tag_dialog(None, "Add tag", "Tag for 328 photo(s):", ["dawn", "day"], editable=True)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.textValue() == ""
    qtbot.keyClick(dialog, Qt.Key.Key_Return)  # Enter alone accepts nothing to tag with
    assert dialog.textValue().strip() == ""


def test_tagging_many_photos_asks_first(make_window, library, qtbot, monkeypatch):
    import photosort.gui.main_window as main_window

    window = make_window(library)
    ids = window.grid.photo_model.ids
    asked = []
    answer = [QMessageBox.StandardButton.Cancel]
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or answer[0], raising=True
    )
    window.apply_tags(ids[: main_window.CONFIRM_OVER], ["few"], [])
    assert asked == [] and on_tags(library, ids, "few") == set(ids[: main_window.CONFIRM_OVER])
    monkeypatch.setattr(main_window, "CONFIRM_OVER", 20)
    window.apply_tags(ids[:21], ["many"], [])
    assert len(asked) == 1 and "21 photos" in asked[0]
    assert on_tags(library, ids, "many") == set()
    answer[0] = QMessageBox.StandardButton.Yes
    window.apply_tags(ids[:21], ["many"], [])
    assert on_tags(library, ids, "many") == set(ids[:21])
    wait_idle(qtbot, window)


def test_undo_survives_a_model_switch(make_window, library, qtbot, monkeypatch, tmp_path):
    from photosort.core.embedder import ModelSpec

    window = make_window(library)
    ids = window.grid.photo_model.ids[:3]
    window.apply_tags(ids, ["before-switch"], [])
    assert on_tags(library, ids, "before-switch") == set(ids)
    other = tmp_path / "other-model"
    shutil.copytree(ModelSpec.parse(str(library.model_spec)).local_dir, other)
    window.change_model(f"local-dir:{other}", "cpu")
    # the photos are re-indexed with it in the background, then the library switches to it
    qtbot.waitUntil(lambda: str(window.library.model_spec) == f"local-dir:{other}", timeout=60000)
    qtbot.waitUntil(lambda: not window.reindexing.running, timeout=60000)
    wait_idle(qtbot, window)
    assert window.undo_stack.canUndo()
    window.undo_stack.undo()
    assert on_tags(window.library, ids, "before-switch") == set()


def test_tasks_make_no_qobject_a_pool_thread_could_free(qtbot):
    """Finding 20 and the soak's heap corruption: a per-task QObject, deleted by the GUI
    thread while a pool thread still dropped its last reference, crashed on quit and
    corrupted the heap now and then. Now 1,500 tasks create no QObject at all, and every
    answer is delivered on the GUI thread."""
    app = QCoreApplication.instance()
    tasks.run_task(lambda: None)  # the one dispatcher exists from the first task on
    tasks.wait_for_all()
    QCoreApplication.processEvents()
    before = len(app.findChildren(QObject))
    where: list[bool] = []

    def record(_value) -> None:
        where.append(threading.current_thread() is threading.main_thread())

    count = 1500
    for i in range(count):
        tasks.run_task(lambda i=i: time.sleep(0.0002) or i, record)
    assert len(app.findChildren(QObject)) == before, "a task made a QObject"
    deadline = time.monotonic() + 30
    while len(where) < count and time.monotonic() < deadline:
        QCoreApplication.processEvents()  # busy: deliver while workers are still returning
    tasks.wait_for_all()
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert len(where) == count and all(where)
    assert len(app.findChildren(QObject)) == before


class _Witness:
    """Records on which thread it was destroyed."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def __del__(self) -> None:
        self.log.append(threading.current_thread().name)


def test_what_a_task_held_is_destroyed_on_the_gui_thread(qtbot):
    """A job's closure, its callbacks and its answer die on the GUI thread, never on the
    worker: a worker that dropped the last reference to a closure over a closed dialog
    destroyed the dialog's QPixmaps off the GUI thread, racing the GUI's painting (the
    soak's heap corruption). Before the fix every job closure died on the worker."""
    log: list[str] = []
    got: list[object] = []

    def start(fail: bool) -> None:
        held_by_job = _Witness(log)
        held_by_callback = _Witness(log)

        def job():
            assert held_by_job is not None
            if fail:
                raise RuntimeError("on purpose")
            return _Witness(log)  # the answer itself

        tasks.run_task(
            job,
            lambda answer: got.append(held_by_callback and type(answer)),
            lambda exc: got.append(held_by_callback and type(exc)),
        )

    for i in range(40):
        start(fail=i % 4 == 0)  # the caller keeps no reference to anything
    qtbot.waitUntil(lambda: len(got) == 40, timeout=20000)
    assert tasks.wait_for_all(10000)
    qtbot.waitUntil(lambda: not tasks._RUNNING and not len(tasks._MAILBOX), timeout=5000)
    gc.collect()
    assert len(log) == 40 * 2 + 30
    assert set(log) == {threading.main_thread().name}, sorted(set(log))


@pytest.fixture(autouse=True)
def _no_qt_warnings(qtbot):
    """Any Qt warning during these tests is a failure (pytest-qt captures them)."""
    yield


def test_a_late_answer_to_a_closed_dialog_is_dropped(qtbot):
    """A dialog closed (deleted) before its background answer came: the answer is dropped,
    not delivered into a deleted widget (which raised in the event loop)."""
    from PySide6.QtWidgets import QLabel

    got: list = []

    class Picker(QLabel):
        def show_rows(self, rows: list) -> None:
            got.append(rows)
            self.setText(str(rows))

    picker = Picker()
    answer = threading.Event()
    tasks.run_task(lambda: answer.wait(10) and [1, 2], picker.show_rows)
    picker.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    answer.set()
    assert tasks.wait_for_all(10000)
    qtbot.waitUntil(lambda: not tasks._RUNNING, timeout=5000)
    assert got == []
