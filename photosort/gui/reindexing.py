"""Re-indexing with another model in the background, search going on with the old one.

The job is ``Library.reindex`` (core/reindex.py) in its own one-thread pool, so a scan,
an export or a re-tag is not queued behind hours of embedding. Its progress and Cancel
sit in the status bar beside the other jobs'; a stopped re-index resumes at the next start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

from photosort.core.embedder import ModelError, ModelSpec
from photosort.core.progress import Progress
from photosort.core.reindex import ReindexSummary
from photosort.gui import tasks
from photosort.gui.activity import ActivityWidget

if TYPE_CHECKING:
    from photosort.gui.main_window import MainWindow


def short_name(spec: str) -> str:
    parsed = ModelSpec.parse(spec)
    return parsed.local_dir.name if parsed.local_dir is not None else parsed.name


class ReindexController:
    """Starts, shows, cancels and finishes the window's background re-index."""

    def __init__(self, window: MainWindow):
        self.window = window
        self.task: tasks.Task | None = None
        self.model: str | None = None  # the model being indexed with
        self.last: ReindexSummary | None = None
        self.activity = ActivityWidget()
        self.activity.cancel_requested.connect(self.cancel)
        window.statusBar().addPermanentWidget(self.activity)

    @property
    def running(self) -> bool:
        return self.task is not None

    def start(self, model: str | None = None) -> bool:
        """Re-index with ``model`` (default: the interrupted re-index's, else the library's)."""
        window = self.window
        if self.task is not None or window.closed:
            return False
        library = window.library
        unfinished = library.unfinished_reindex()
        model = model or (unfinished.spec if unfinished else str(library.model_spec))
        self.model = model
        old = short_name(str(library.model_spec))
        self.activity.start(f"Re-indexing with {short_name(model)}")
        window.status_note.setText(
            f"Re-indexing with {short_name(model)}; search uses {old} until it is done."
        )
        self.task = tasks.run_task(
            lambda on_progress, should_cancel: library.reindex(model, on_progress, should_cancel),
            self._done,
            self._failed,
            self._progress,
            pool_name="reindex",
            with_progress=True,
        )
        return True

    def resume_if_unfinished(self) -> bool:
        """A re-index stopped or killed last time goes on (its model loaded once already)."""
        from photosort.gui.model_setup import weights_cached

        target = self.window.library.unfinished_reindex()
        if target is None or not weights_cached(ModelSpec.parse(target.spec)):
            return False
        return self.start(target.spec)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _progress(self, progress: Progress) -> None:
        self.activity.update_progress(progress)
        if self.model is not None and progress.phase == "re-indexing":
            name = f"Re-indexing with {short_name(self.model)}"
            self.activity.label.setText(self.activity.label.text().replace("Re-indexing", name, 1))

    def _done(self, summary: ReindexSummary) -> None:
        self.task = None
        self.last = summary
        self.activity.finish()
        window = self.window
        name = short_name(summary.model)
        if summary.swapped:
            window.settings.setValue("model", summary.model)
            window.browse_bar.reindex_button.setVisible(False)
            window.status_note.setText("")
            window.statusBar().showMessage(f"Re-indexed with {name}: {summary.line()}", 20000)
            window.refresh_all()
        else:
            window.status_note.setText(
                f"Re-indexing with {name} stopped ({summary.embedded} done); it resumes at the "
                "next start. Search keeps the old model."
            )

    def _failed(self, exc: BaseException) -> None:
        self.task = None
        self.activity.finish()
        window = self.window
        window.status_note.setText("")
        if isinstance(exc, ModelError):
            QMessageBox.warning(
                window,
                "Cannot switch model",
                f"{self.model} could not be loaded, so photosort keeps using "
                f"{window.library.model_spec}.\n\n{str(exc).splitlines()[0] if str(exc) else exc}",
            )
        else:
            window._show_error(exc)
