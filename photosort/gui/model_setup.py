"""First run without cached weights, or a model that will not load: one dialog, a way out.

The dialog downloads the weights with real progress (bytes from the core's downloader),
can cancel (the part stays; the next try resumes it), or lets the user pick a folder with
an open_clip model — the way out when the machine is offline. A window shows at most one
such dialog: later model problems update its message instead of stacking a second one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from photosort.core.embedder import LOCAL_PREFIX, ModelSpec, model_cache_dir, model_cached
from photosort.core.progress import Progress

if TYPE_CHECKING:
    from collections.abc import Callable

    from photosort.core.embedder import Embedder
    from photosort.core.library import Library
    from photosort.core.progress import ProgressCallback
    from photosort.gui.tasks import Task

NB_HYPHEN = "\u2011"  # keeps "hf-hub:..." on one line

#: Rough download sizes, for the text before the hub says the exact size.
EXPECTED_BYTES = {"ViT-B-32": 605_000_000, "ViT-B-16": 599_000_000, "ViT-L-14": 1_710_000_000}


def weights_cached(spec: ModelSpec) -> bool:
    """True when loading the model will not need the network (no model load)."""
    try:
        return model_cached(spec)
    except Exception:  # noqa: BLE001 - an unknown name: not cached; loading will explain
        return False


def is_checkpoint_folder(folder: Path) -> bool:
    return (folder / "open_clip_config.json").is_file() and any(
        (folder / name).is_file()
        for name in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
    )


def _size_text(spec: ModelSpec) -> str:
    size = EXPECTED_BYTES.get(spec.name)
    return f"about {size // 1_000_000} MB" if size else "a few hundred MB"


class ModelSetupDialog(QDialog):
    """``exec()`` is accepted when the model loaded or a model folder was chosen."""

    def __init__(
        self,
        spec: ModelSpec,
        error: str | None = None,
        parent: QWidget | None = None,
        library: Library | None = None,
    ):
        super().__init__(parent)
        self.spec = spec
        self.library = library
        self.chosen_model: str | None = None
        self.task: Task | None = None
        self.setWindowTitle("The CLIP model")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        self.intro = QLabel(
            "<b>photosort needs the CLIP model "
            f"<tt>{str(spec).replace('-', NB_HYPHEN)}</tt></b> to understand your photos."
            f"<p>Its weights ({_size_text(spec)}) are downloaded once into "
            f"<tt>{model_cache_dir()}</tt>; after that everything runs on this "
            "computer, offline.</p>"
            "<p>Without internet access, choose a folder holding an open_clip model "
            "(<tt>open_clip_config.json</tt> and its weights), e.g. copied from another "
            "computer.</p>"
        )
        self.intro.setWordWrap(True)
        self.intro.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.intro)
        self.message = QLabel(error or "")
        self.message.setWordWrap(True)
        self.message.setObjectName("model-message")
        self.message.setStyleSheet("color: #e07070")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.message.setVisible(bool(error))
        layout.addWidget(self.message)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        buttons = QHBoxLayout()
        self.download_button = QPushButton("Download now")
        self.download_button.setDefault(True)
        self.download_button.setVisible(library is not None and spec.local_dir is None)
        self.download_button.clicked.connect(self.download)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_download)
        self.folder_button = QPushButton("Choose a model folder…")
        self.folder_button.clicked.connect(self.choose_folder)
        self.later_button = QPushButton("Later")
        self.later_button.clicked.connect(self.reject)
        for button in (self.download_button, self.cancel_button, self.folder_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.later_button)
        layout.addLayout(buttons)
        layout.setSizeConstraint(QVBoxLayout.SizeConstraint.SetMinAndMaxSize)

    # -- a model folder -------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder with an open_clip model")
        if not folder:
            return
        if not is_checkpoint_folder(Path(folder)):
            self.show_error(
                f"{folder} holds no open_clip model: it needs open_clip_config.json and "
                "open_clip_model.safetensors (or open_clip_pytorch_model.bin)."
            )
            return
        self.chosen_model = LOCAL_PREFIX + folder
        self.cancel_download()
        self.accept()

    def show_error(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.adjustSize()

    # -- downloading ----------------------------------------------------------------------
    @property
    def downloading(self) -> bool:
        return self.task is not None

    def download(self) -> None:
        """Fetch the weights in the background with progress, then load the model."""
        from photosort.core.embedder import download_weights
        from photosort.gui import tasks

        if self.library is None or self.task is not None:
            return
        self.show_error("")
        self.download_button.setVisible(False)
        self.cancel_button.setVisible(True)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)  # busy until the hub says how much
        self.progress.setFormat("Connecting…")
        self.adjustSize()  # room for the bar: the wrapped text must not be squeezed
        library = self.library
        spec = self.spec

        def job(on_progress: ProgressCallback, should_cancel: Callable[[], bool]) -> Embedder:
            download_weights(spec, on_progress, should_cancel)
            return library.embedder  # loads it: the window can search at once

        self.task = tasks.run_task(
            job,
            self._loaded,
            self._failed,
            self._progress,
            pool_name="download",
            with_progress=True,
        )

    def _progress(self, report: Progress) -> None:
        if not shiboken6.isValid(self):  # closed and deleted meanwhile
            return
        if report.total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * report.done / report.total))
            eta = f", {report.eta_s:.0f} s left" if report.eta_s is not None else ""
            self.progress.setFormat(f"{report.done / 1e6:.1f} of {report.total / 1e6:.1f} MB{eta}")

    def cancel_download(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.cancel_button.setEnabled(False)
            self.progress.setFormat("Stopping…")

    def _loaded(self, _embedder: Embedder) -> None:
        if not shiboken6.isValid(self):  # closed and deleted meanwhile
            return
        self.task = None
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        from photosort.core.progress import Cancelled

        if not shiboken6.isValid(self):  # closed and deleted meanwhile
            return
        self.task = None
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.cancel_button.setEnabled(True)
        self.download_button.setVisible(True)
        self.download_button.setText("Try again")
        if isinstance(exc, Cancelled):
            self.show_error("Download stopped. It continues where it left off next time.")
            return
        reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
        if getattr(exc, "offline", False):
            reason += " Connect to the internet and try again, or choose a model folder."
        self.show_error(reason)

    def reject(self) -> None:
        self.cancel_download()
        super().reject()


def ask_for_model(window: QWidget, library: Library, error: str | None = None) -> str | None:
    """Show the window's one model dialog; returns a model folder the user chose, if any.

    While the dialog is open, another problem only updates its message (two stacked
    dialogs, only one able to download, was what a new user met on first launch).
    """
    current: ModelSetupDialog | None = getattr(window, "_model_dialog", None)
    if current is not None:
        if error and not current.downloading:
            current.show_error(error)
        return None
    dialog = ModelSetupDialog(library.model_spec, error, window, library=library)
    window._model_dialog = dialog  # type: ignore[attr-defined]
    try:
        accepted = dialog.exec()
    finally:
        window._model_dialog = None  # type: ignore[attr-defined]
        dialog.deleteLater()
    return dialog.chosen_model if accepted else None
