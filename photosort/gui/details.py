"""The right panel: preview, auto tags with accept/reject, manual tags, EXIF facts.

The panel only asks for changes (``tag_requested``); the window turns them into undoable
commands, so a click here and a menu action go through the same path.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QCompleter,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photosort.gui.library_data import PhotoInfo
from photosort.gui.score_chart import ScoreChart

if TYPE_CHECKING:
    from PIL import Image
from photosort.gui.photo_text import TextPanel


def pil_to_qimage(pil: Image.Image) -> QImage:
    """A Pillow RGB image as a QImage that owns its pixels (safe to pass between threads)."""
    data = pil.convert("RGB").tobytes("raw", "RGB")
    return QImage(data, pil.width, pil.height, pil.width * 3, QImage.Format.Format_RGB888).copy()


def _clear(layout: QLayout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        if item is None:
            break
        widget, inner = item.widget(), item.layout()
        if widget is not None:
            widget.deleteLater()
        elif inner is not None:
            _clear(inner)


def format_bytes(size: int) -> str:
    if size < 1_000_000:
        return f"{size / 1000:.0f} kB"
    return f"{size / 1e6:.1f} MB"


def format_gps(lat: float | None, lon: float | None) -> str:
    if lat is None or lon is None:
        return "—"
    return f"{abs(lat):.5f}° {'N' if lat >= 0 else 'S'}, {abs(lon):.5f}° {'E' if lon >= 0 else 'W'}"


class DetailsPanel(QScrollArea):
    tag_requested = Signal(list, list, list)  # photo ids, tags to add, tags to remove
    find_similar = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setMinimumWidth(260)
        # the panel fits its width: long paths are cut (full text on hover), never scrolled
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.info: PhotoInfo | None = None
        self._preview: tuple[int, QImage | None] | None = None  # may arrive before the info
        body = QWidget()
        self.setWidget(body)
        layout = QVBoxLayout(body)
        self.preview = QLabel("No photo selected")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(200)
        self.preview.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.preview.setFrameShape(QFrame.Shape.StyledPanel)
        layout.addWidget(self.preview)
        self.title = QLabel()
        self.title.setWordWrap(True)
        # a folder path has no place to wrap: its width must not set the panel's
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.title)
        self.similar_button = QPushButton("Find similar")
        self.similar_button.clicked.connect(self._similar)
        layout.addWidget(self.similar_button)

        facts = QGroupBox("Photo")
        form = QFormLayout(facts)
        self.date_label = QLabel("—")
        self.camera_label = QLabel("—")
        self.gps_label = QLabel("—")
        self.size_label = QLabel("—")
        self.sun_label = QLabel("—")
        self.sun_label.setWordWrap(True)
        for label in (self.date_label, self.camera_label, self.gps_label, self.size_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Date", self.date_label)
        form.addRow("Camera", self.camera_label)
        form.addRow("GPS", self.gps_label)
        form.addRow("Size", self.size_label)
        form.addRow("Sun", self.sun_label)
        layout.addWidget(facts)
        self.text_panel = TextPanel()  # the words read in the photo (issue 19)
        layout.addWidget(self.text_panel)

        self.auto_box = QGroupBox("Auto tags")
        self.auto_grid = QGridLayout(self.auto_box)
        layout.addWidget(self.auto_box)

        self.scores_box = QGroupBox("Scores")  # every label's probability (issue 21)
        self.score_chart = ScoreChart()
        QVBoxLayout(self.scores_box).addWidget(self.score_chart)
        layout.addWidget(self.scores_box)

        self.manual_box = QGroupBox("Tags")
        manual_layout = QVBoxLayout(self.manual_box)
        self.chips = QVBoxLayout()
        manual_layout.addLayout(self.chips)
        add_row = QHBoxLayout()
        self.tag_edit = QLineEdit()
        self.tag_edit.setPlaceholderText("Add a tag…")
        self.tag_edit.returnPressed.connect(self._add_typed)
        self.completer = QCompleter([])
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.tag_edit.setCompleter(self.completer)
        add_button = QPushButton("Add")
        add_button.clicked.connect(self._add_typed)
        add_row.addWidget(self.tag_edit, 1)
        add_row.addWidget(add_button)
        manual_layout.addLayout(add_row)
        layout.addWidget(self.manual_box)
        layout.addStretch(1)
        self.show_info(None)

    def set_known_tags(self, names: list[str]) -> None:
        model = self.completer.model()
        assert isinstance(model, QStringListModel)  # QCompleter(list) makes one
        model.setStringList(sorted(set(names), key=str.lower))

    # -- content --------------------------------------------------------------------------
    def show_info(self, info: PhotoInfo | None) -> None:
        self.info = info
        self.sun_label.setText("—")
        self.text_panel.show_text(info.text if info and len(info.ids) == 1 else None)
        _clear(self.auto_grid)
        _clear(self.chips)
        has = bool(info and info.ids)
        if not has:
            self.score_chart.set_scores([])
            self.scores_box.setVisible(False)
        for widget in (self.similar_button, self.auto_box, self.manual_box):
            widget.setEnabled(has)
        if not has:
            self.preview.setPixmap(QPixmap())
            self.preview.setText("No photo selected")
            self.title.setText("")
            for label in (self.date_label, self.camera_label, self.gps_label, self.size_label):
                label.setText("—")
            return
        assert info is not None
        ids = info.ids
        self.similar_button.setEnabled(len(ids) == 1)
        if len(ids) == 1:
            row = info.details.get(ids[0], {})
            if self._preview is not None and self._preview[0] == ids[0]:
                self._set_preview(self._preview[1])
            else:
                self.preview.setPixmap(QPixmap())
                self.preview.setText("Loading…")
            self.title.setText(
                f"<b>{os.path.basename(row.get('path', ''))}</b><br>"
                f"<small>{row.get('folder', '')}</small>"
            )
            self.title.setToolTip(row.get("path", ""))
            self.date_label.setText((row.get("taken_at") or "—").replace("T", " "))
            self.camera_label.setText(row.get("camera") or "—")
            self.gps_label.setText(format_gps(row.get("gps_lat"), row.get("gps_lon")))
            self.sun_label.setText(info.sun or "—")
            if row.get("width"):
                self.size_label.setText(
                    f"{row['width']} × {row['height']} px, {format_bytes(row.get('size') or 0)}"
                )
            else:
                self.size_label.setText("—")
        else:
            self.preview.setPixmap(QPixmap())
            self.preview.setText(f"{len(ids)} photos selected")
            self.title.setText(f"<b>{len(ids)} photos selected</b>")
            for label in (self.date_label, self.camera_label, self.gps_label, self.size_label):
                label.setText("—")
        self._fill_auto(info)
        self._fill_manual(info)
        self.score_chart.set_scores(info.scores if len(ids) == 1 else [])
        self.scores_box.setVisible(bool(self.score_chart.scores))

    def show_preview(self, photo_id: int, image: QImage | None) -> None:
        self._preview = (photo_id, image)
        if self.info is None or self.info.ids != [photo_id]:
            return  # the info is still on its way (or the selection moved on)
        self._set_preview(image)

    def _set_preview(self, image: QImage | None) -> None:
        if image is None:
            self.preview.setText("(cannot show this photo)")
            return
        pixmap = QPixmap.fromImage(image)
        width = max(self.preview.width() - 8, 200)
        self.preview.setPixmap(
            pixmap.scaled(
                width,
                320,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

    def _fill_auto(self, info: PhotoInfo) -> None:
        """Labels the model gave (single photo), with score and one-click accept / reject."""
        if len(info.ids) != 1:
            note = QLabel("Select one photo to review its auto tags.")
            note.setWordWrap(True)
            self.auto_grid.addWidget(note, 0, 0)
            return
        photo_id = info.ids[0]
        tags = [t for t in info.tags.get(photo_id, []) if t.category is not None]
        if not tags:
            self.auto_grid.addWidget(QLabel("None yet (define categories, then Re-tag)."), 0, 0)
            return
        tags.sort(key=lambda t: (t.category or "", -(t.score or 0)))
        for row, tag in enumerate(tags):
            on = tag.state == "on"
            name = QLabel(f"{tag.name} <span style='color:gray'>· {tag.category}</span>")
            if not on:
                name.setText(f"<s>{tag.name}</s> <span style='color:gray'>· {tag.category}</span>")
            name.setWordWrap(True)  # "golden hour · Light" wraps rather than widen the panel
            name.setToolTip(f"{tag.name} · {tag.category}")
            score = QLabel("" if tag.score is None else f"{tag.score:.3f}")
            score.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            source = QLabel("✎" if tag.source == "manual" else "")
            source.setToolTip("set by hand" if tag.source == "manual" else "")
            accept = QToolButton()
            accept.setText("✓")
            accept.setToolTip(f"Accept “{tag.name}” for this photo")
            accept.setCheckable(True)
            accept.setChecked(on and tag.source == "manual")
            accept.clicked.connect(
                lambda _=False, n=tag.name: self.tag_requested.emit([photo_id], [n], [])
            )
            reject = QToolButton()
            reject.setText("✗")
            reject.setToolTip(f"Reject “{tag.name}” for this photo")
            reject.setCheckable(True)
            reject.setChecked(not on and tag.source == "manual")
            reject.clicked.connect(
                lambda _=False, n=tag.name: self.tag_requested.emit([photo_id], [], [n])
            )
            self.auto_grid.addWidget(name, row, 0)
            self.auto_grid.setColumnStretch(0, 1)
            self.auto_grid.addWidget(score, row, 1)
            self.auto_grid.addWidget(source, row, 2)
            self.auto_grid.addWidget(accept, row, 3)
            self.auto_grid.addWidget(reject, row, 4)
        self.auto_grid.setColumnStretch(0, 1)

    def _fill_manual(self, info: PhotoInfo) -> None:
        """Manual tags on the selection: on all photos, or on some (shown with a count)."""
        counts: dict[str, int] = {}
        for photo_id in info.ids:
            for tag in info.tags.get(photo_id, []):
                if tag.category is None and tag.state == "on":
                    counts[tag.name] = counts.get(tag.name, 0) + 1
        if not counts:
            self.chips.addWidget(QLabel("No tags."))
        for name in sorted(counts, key=str.lower):
            row = QHBoxLayout()
            some = counts[name] < len(info.ids)
            label = QLabel(
                f"{name}" + (f"  <span style='color:gray'>({counts[name]})</span>" if some else "")
            )
            remove = QToolButton()
            remove.setText("✕")
            remove.setToolTip(f"Remove “{name}” from the selection")
            remove.clicked.connect(
                lambda _=False, n=name: self.tag_requested.emit(list(info.ids), [], [n])
            )
            row.addWidget(label, 1)
            if some:
                everywhere = QToolButton()
                everywhere.setText("+all")
                everywhere.setToolTip(f"Add “{name}” to every selected photo")
                everywhere.clicked.connect(
                    lambda _=False, n=name: self.tag_requested.emit(list(info.ids), [n], [])
                )
                row.addWidget(everywhere)
            row.addWidget(remove)
            self.chips.addLayout(row)

    def _add_typed(self) -> None:
        name = self.tag_edit.text().strip()
        if name and self.info and self.info.ids:
            self.tag_requested.emit(list(self.info.ids), [name], [])
            self.tag_edit.clear()

    def _similar(self) -> None:
        if self.info and len(self.info.ids) == 1:
            self.find_similar.emit(self.info.ids[0])
