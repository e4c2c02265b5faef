"""The category editor: live counts and histograms follow the edits; saving re-tags."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from photosort.core.categories import Category, Label
from tests.gui.conftest import N_PHOTOS


def open_editor(qtbot, library):
    from photosort.gui.category_editor import CategoryEditor

    editor = CategoryEditor(library)
    editor.confirm_close = False  # a failing test must not hang on the unsaved-changes question
    qtbot.addWidget(editor)
    editor.show()
    qtbot.waitUntil(lambda: bool(editor.previews), timeout=10000)
    return editor


def test_editor_shows_live_counts_and_histogram(qtbot, library):
    editor = open_editor(qtbot, library)
    assert editor.category_list.count() == len(library.categories())
    category = library.categories()[editor.current]
    label = category.labels[0]
    expected = library.preview_label(category, label.name)
    assert editor.label_table.item(0, 2).text() == str(expected.count)
    # the first category (time of day) applies to outdoor photos only
    applies = len(library.photos_with_tag(category.applies_if)) if category.applies_if else None
    assert int(editor.histogram.counts.sum()) == len(expected.scores) == (applies or N_PHOTOS)
    assert 0 < len(expected.scores) <= N_PHOTOS
    # raising the label's threshold to the maximum: the count can only go down, live
    editor.label_table.setCurrentCell(0, 0)
    before = expected.count
    editor.label_threshold.setValue(1.0)
    qtbot.waitUntil(lambda: editor.previews[label.name].threshold == 1.0, timeout=10000)
    assert editor.previews[label.name].count <= before
    assert "1.00" in editor.count_label.text()
    editor.dirty.clear()  # nothing saved: close without the "unsaved changes" question
    editor.close()


def test_histogram_click_sets_threshold(qtbot):
    from photosort.gui.histogram import ScoreHistogram

    histogram = ScoreHistogram()
    qtbot.addWidget(histogram)
    histogram.resize(400, 200)
    histogram.set_scores(np.array([0.1, 0.2, 0.9], dtype=np.float32), 0.5)
    assert int(histogram.counts.sum()) == 3
    with qtbot.waitSignal(histogram.threshold_picked) as picked:
        plot = histogram._plot_rect()
        x = int(plot.left() + 0.75 * plot.width())
        qtbot.mouseClick(
            histogram, Qt.MouseButton.LeftButton, pos=histogram.rect().center().__class__(x, 50)
        )
    assert abs(picked.args[0] - 0.75) < 0.02


def test_new_category_is_saved_and_tags_photos(qtbot, library):
    editor = open_editor(qtbot, library)
    editor.new_category()
    editor.name_edit.setText("Vehicles")
    editor._edited()
    assert editor.label_table.rowCount() == 0  # no made-up label to start with
    editor.add_label()
    editor.label_table.item(0, 0).setText("automobile")
    editor.prompts_edit.setPlainText("a photo of a car\na car parked outside")
    editor.save_button.click()
    qtbot.waitUntil(lambda: editor.save_button.isEnabled(), timeout=15000)
    assert editor.error_label.text() == "" and editor.changed
    saved = {c.name: c for c in library.categories()}["Vehicles"]
    assert saved.labels == [Label("automobile", ["a photo of a car", "a car parked outside"], None)]
    assert isinstance(saved, Category)
    assert not editor.dirty
    editor.close()


def test_a_label_name_used_elsewhere_is_refused_with_a_message(qtbot, library):
    editor = open_editor(qtbot, library)
    editor.new_category()
    editor.add_label()
    editor.label_table.item(0, 0).setText("car")  # already a label of "Things"
    editor.save_button.click()
    qtbot.waitUntil(lambda: editor.save_button.isEnabled(), timeout=15000)
    assert "car" in editor.error_label.text()
    assert "New category" not in {c.name for c in library.categories()}


def test_editor_shows_how_the_label_fares_against_manual_tags(qtbot, library):
    """Next to the histogram: precision and recall of the label against the user's own
    decisions, and the threshold they suggest (photosort evaluate --tag-truth)."""
    category = library.categories()[0]
    label = category.labels[0].name
    ids = library.browse()
    library.tag_photos(ids[:2], add=[label])
    library.tag_photos(ids[2:3], remove=[label])
    expected = {r.label: r for r in library.evaluate_tags(category.name)}[label]
    assert (expected.positives, expected.negatives) == (2, 1)

    editor = open_editor(qtbot, library)
    editor.category_list.setCurrentRow(0)
    editor.label_table.setCurrentCell(0, 0)
    qtbot.waitUntil(lambda: "tagged" in editor.truth_label.text(), timeout=10000)
    text = editor.truth_label.text()
    assert text.startswith("2 tagged, 1 rejected by you") and "precision" in text
    editor.dirty.clear()
    editor.close()
