"""First run without cached weights, or a model that will not load: explain and offer a way out.

The dialog can download the weights (loading the model does that) while showing how much
has arrived in the cache folder, or let the user pick a local open_clip checkpoint folder
— the way out when the machine is offline.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from photosort.core.embedder import LOCAL_PREFIX, ModelSpec, model_cache_dir

#: Rough download sizes, for the progress bar (unknown models show bytes only).
EXPECTED_BYTES = {"ViT-B-32": 605_000_000, "ViT-B-16": 599_000_000, "ViT-L-14": 1_710_000_000}


def folder_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.path.getsize(os.path.join(dirpath, name))
    return total


def weights_cached(spec: ModelSpec) -> bool:
    """True when loading the model will not need the network (best effort, no model load)."""
    if spec.local_dir is not None:
        return spec.local_dir.is_dir()
    cache = model_cache_dir()
    if not cache.is_dir():
        return False
    for _dirpath, _dirs, files in os.walk(cache):
        if any(f.endswith((".safetensors", ".bin", ".pt")) for f in files):
            return True
    return False


def is_checkpoint_folder(folder: Path) -> bool:
    return (folder / "open_clip_config.json").is_file() and any(
        (folder / name).is_file()
        for name in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
    )


class ModelSetupDialog(QDialog):
    """``exec()`` returns accepted when the model loaded or a local folder was chosen."""

    def __init__(
        self, spec: ModelSpec, error: str | None = None, parent: QWidget | None = None, library=None
    ):
        super().__init__(parent)
        self.spec = spec
        self.library = library
        self.chosen_model: str | None = None
        self.task = None
        self.setWindowTitle("The CLIP model")
        self.setMinimumWidth(600)
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"<b>photosort needs the CLIP model <tt>{spec}</tt></b> to understand your photos."
            f"<p>Its weights (about {EXPECTED_BYTES.get(spec.name, 0) // 1_000_000 or '?'} MB) "
            f"are downloaded once into<br><tt>{model_cache_dir()}</tt><br>"
            "and everything after that runs on this computer, offline.</p>"
            "<p>Without internet access, choose a folder holding an open_clip checkpoint "
            "(<tt>open_clip_config.json</tt> and the weights), e.g. copied from another "
            "computer.</p>"
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.message = QLabel(error or "")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #e07070")
        self.message.setVisible(bool(error))
        layout.addWidget(self.message)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        self.buttons = QDialogButtonBox()
        self.download_button = self.buttons.addButton(
            "Download now", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.download_button.setEnabled(library is not None and spec.local_dir is None)
        self.download_button.setVisible(library is not None)
        folder_button = self.buttons.addButton(
            "Choose local checkpoint folder…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.buttons.addButton("Later", QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.accepted.connect(self.download)
        folder_button.clicked.connect(self.choose_folder)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._poll)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose an open_clip checkpoint folder")
        if not folder:
            return
        if not is_checkpoint_folder(Path(folder)):
            self.show_error(
                f"{folder} has no open_clip_config.json with "
                "open_clip_model.safetensors (or open_clip_pytorch_model.bin)."
            )
            return
        self.chosen_model = LOCAL_PREFIX + folder
        self.accept()

    def show_error(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(True)

    def download(self) -> None:
        """Load the model in the background (that downloads it); show bytes arriving."""
        from photosort.gui import tasks

        if self.library is None or self.task is not None:
            return
        self.download_button.setEnabled(False)
        self.message.setVisible(False)
        self.progress.setVisible(True)
        expected = EXPECTED_BYTES.get(self.spec.name)
        self.progress.setRange(0, expected // 1_000_000 if expected else 0)
        self._start_bytes = folder_bytes(model_cache_dir())
        self._timer.start()
        library = self.library
        self.task = tasks.run_task(
            lambda: library.embedder, self._loaded, self._failed, pool_name="bulk"
        )

    def _poll(self) -> None:
        arrived = max(folder_bytes(model_cache_dir()) - self._start_bytes, 0) // 1_000_000
        if self.progress.maximum():
            self.progress.setValue(min(arrived, self.progress.maximum()))
        self.progress.setFormat(f"{arrived} MB downloaded")

    def _loaded(self, _embedder) -> None:
        self._timer.stop()
        self.task = None
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self._timer.stop()
        self.task = None
        self.progress.setVisible(False)
        self.download_button.setEnabled(True)
        self.show_error(
            f"{exc}\n\nYou seem to be offline or the download failed. Connect to "
            "the internet and try again, or choose a local checkpoint folder."
        )
