"""Preferences: which CLIP model and which device; kept in QSettings by the window."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from photosort.core.embedder import DEFAULT_MODEL, DEVICES, LOCAL_PREFIX, ModelError, ModelSpec

SUGGESTED_MODELS = (DEFAULT_MODEL, "ViT-B-16:laion2b_s34b_b88k", "ViT-L-14:laion2b_s32b_b82k")


class PreferencesDialog(QDialog):
    def __init__(self, model: str, device: str, parent: QWidget | None = None, library: Any = None):
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.model_box = QComboBox()
        self.model_box.setEditable(True)
        self.model_box.addItems(list(dict.fromkeys([model, *SUGGESTED_MODELS])))
        self.model_box.setCurrentText(model)
        browse = QPushButton("Local folder…")
        browse.setToolTip("Use an open_clip checkpoint folder (open_clip_config.json + weights)")
        browse.clicked.connect(self.choose_folder)
        row = QHBoxLayout()
        row.addWidget(self.model_box, 1)
        row.addWidget(browse)
        form.addRow("Model", row)
        self.device_box = QComboBox()
        self.device_box.addItems(list(DEVICES))
        self.device_box.setCurrentText(device if device in DEVICES else "auto")
        form.addRow("Device", self.device_box)
        layout.addLayout(form)
        self.picker = None
        if library is not None:  # the models with numbers, and "Measure this machine"
            from photosort.gui.model_picker import ModelPicker

            self.picker = ModelPicker(library)
            self.picker.picked.connect(self.model_box.setCurrentText)
            layout.addWidget(self.picker)
            self.setMinimumWidth(720)
        note = QLabel(
            "Changing the model re-indexes every photo with it in the background; search "
            "keeps the current model until that is done (vectors from different models are "
            "never mixed). <i>auto</i> picks CUDA, then Apple MPS, then CPU."
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        self.error = QLabel()
        self.error.setStyleSheet("color: #d66")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose an open_clip checkpoint folder")
        if folder:
            self.model_box.setCurrentText(LOCAL_PREFIX + folder)

    def model(self) -> str:
        return self.model_box.currentText().strip()

    def device(self) -> str:
        return self.device_box.currentText()

    def accept(self) -> None:
        try:
            ModelSpec.parse(self.model())
        except ModelError as exc:
            self.error.setText(str(exc))
            return
        super().accept()
