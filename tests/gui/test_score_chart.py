"""The details panel's bar chart shows the selected photo's probability for every label
per category, the same numbers ``photosort scores`` writes and the auto tags follow."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")


def test_details_panel_charts_the_photos_scores(qtbot, library):
    from PySide6.QtGui import QImage

    from photosort.gui.details import DetailsPanel
    from photosort.gui.library_data import load_photo_info

    ids = library.browse()
    panel = DetailsPanel()
    qtbot.addWidget(panel)
    panel.resize(320, 900)
    panel.show()

    info = load_photo_info(library, ids[:1])
    panel.show_info(info)
    chart = panel.score_chart
    assert panel.scores_box.isVisibleTo(panel)
    by_cat = {c.category: c for c in chart.scores}
    cats = library.categories()
    assert set(by_cat) == {c.name for c in cats}
    tags = {t.name for t in info.tags[ids[0]] if t.source == "auto" and t.state == "on"}
    time_of_day = by_cat["Time of day"]
    assert sum(time_of_day.probabilities) == pytest.approx(1.0, abs=1e-4)  # CLIP: softmax
    # the heading names what the tagger chose: the auto tag, or "uncertain"
    heading = next(h for h in chart.headings() if h.startswith("Time of day: "))
    chosen = heading.split(": ", 1)[1]
    assert chosen in tags or (chosen == "uncertain" and not tags & set(time_of_day.labels))
    assert chart.height() >= 16 * sum(1 + len(c.labels) for c in chart.scores)

    image = QImage(chart.size(), QImage.Format.Format_ARGB32)
    image.fill(0)
    chart.render(image)
    painted = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, 60)}
    assert len(painted) > 3  # bars and text were drawn, not an empty box

    panel.show_info(load_photo_info(library, ids[:2]))  # a selection has no single chart
    assert not chart.scores and not panel.scores_box.isVisibleTo(panel)
