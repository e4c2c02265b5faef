"""Preferences lists the models with their published numbers and measures this machine:
after "Measure this machine" the library's model shows its speed here."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")


def test_preferences_lists_models_and_measures_this_machine(qtbot, library):
    from photosort.gui.preferences import PreferencesDialog

    dialog = PreferencesDialog(str(library.model_spec), "cpu", library=library)
    qtbot.addWidget(dialog)
    picker = dialog.picker
    qtbot.waitUntil(lambda: picker.table.rowCount() > 10, timeout=20_000)
    specs = [picker.table.item(r, 0).text() for r in range(picker.table.rowCount())]
    assert "ViT-B-32:laion2b_s34b_b79k" in specs and "ViT-B-16-SigLIP:webli" in specs
    row = specs.index("ViT-B-16-SigLIP:webli")
    assert picker.table.item(row, 1).text() == "SigLIP"
    assert picker.table.item(row, 2).text() == "76.0 %"

    picker.table.selectRow(row)  # picking a row fills the model box
    assert dialog.model() == "ViT-B-16-SigLIP:webli"

    library.bench = lambda on_progress=None, should_cancel=None: type(library).bench(
        library, 2.0, [1], on_progress, should_cancel
    )  # the real bench with a short budget (the suite has seconds, not a minute)
    mine = specs.index(str(library.model_spec))
    with qtbot.waitSignal(picker.measured, timeout=120_000):
        picker.bench_button.click()
    assert "images per second" in picker.report.toPlainText()
    qtbot.waitUntil(lambda: picker.table.item(mine, 6).text() != "—", timeout=20_000)
    assert float(picker.table.item(mine, 6).text().replace(",", "")) > 0
