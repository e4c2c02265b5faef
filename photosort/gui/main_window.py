"""The main window: search bar, sidebar filters, thumbnail grid, details panel, menus.

This is where the widgets are wired to the ``Library``: every read that can take time runs
through ``tasks.run_task`` and lands back here; writes that the user makes by clicking
(tags) are short and go through the undo stack.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QByteArray, QPoint, QSettings, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QImage,
    QKeySequence,
    QShowEvent,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from photosort.core.embedder import ModelError
from photosort.core.library import Library, LibraryError, ScanSummary
from photosort.core.model_check import ModelMismatchError
from photosort.core.search import SearchError, SearchQuery, relevant_count, sort_results
from photosort.gui import discover_view, library_data, photo_text, tasks, teach_dialog
from photosort.gui.activity import ActivityWidget
from photosort.gui.browse_bar import BrowseBar
from photosort.gui.details import DetailsPanel, pil_to_qimage
from photosort.gui.empty_state import EmptyState
from photosort.gui.grid import PhotoGrid, rows_by_id
from photosort.gui.library_data import PhotoInfo
from photosort.gui.reindexing import ReindexController
from photosort.gui.search_bar import SearchBar
from photosort.gui.sidebar import KIND_ROLE, Sidebar, SidebarData
from photosort.gui.spark_import import import_spark_index
from photosort.gui.tag_admin_commands import TagAdminActions
from photosort.gui.tag_commands import TagCommand
from photosort.gui.tag_prompt import TypeToSearch, ask_tag
from photosort.gui.thumbnails import ThumbnailLoader
from photosort.gui.watching import WatchController

SEARCH_TOP = 500  # results shown for a search; browsing shows everything
CONFIRM_OVER = 50  # tagging more photos than this at once asks first
FIRST_NAMES = 2000  # file names loaded before the grid shows (a few screens of it)
NAMES_STEP = 50_000  # then loaded in pieces of this many, in the background

#: A grid answer: ("search", query, results best first) or
#: ("browse", query, (ids, names, each id's row)); "browse-first" holds the first ids only.
GridAnswer = tuple[str, SearchQuery, Any]
#: Hands a loaded preview image (None when it cannot be shown) to whoever asked for it.
Deliver = Callable[[int, QImage | None], None]


class MainWindow(TagAdminActions, QMainWindow):
    def __init__(self, library: Library, settings: QSettings | None = None):
        super().__init__()
        self.library = library
        self.settings = settings or QSettings()
        self.setWindowTitle("photosort")
        self.undo_stack = QUndoStack(self)
        self.bulk_task: tasks.Task | None = None
        self.last_summary: ScanSummary | None = None
        self._query_generation = 0
        self._info_generation = 0
        self._sidebar_generation = 0
        self.loading = False  # a browse/search is running (tests wait on it)
        self.model_task: tasks.Task | None = None  # the background model preload
        self.total_photos: int | None = None  # from the last sidebar load
        self._has_roots = False
        self._shown_query: tuple | None = None  # what the grid shows: a new one scrolls to top
        self._last_results: tuple | None = None  # (kind, rows) of the last answer, for resorting
        self._search_key: tuple | None = None  # the query text/image "Show all" belongs to
        self.closed = False  # after closeEvent nothing may start reading the library

        self.thumbnails = ThumbnailLoader(
            library.folder / "thumbs",
            partial(library_data.photo_paths, library),
            size=160,
            parent=self,
        )
        self.search_bar = SearchBar()
        self.sidebar = Sidebar()
        self.grid = PhotoGrid(self.thumbnails)
        self.details = DetailsPanel()
        self.activity = ActivityWidget()
        self.library_label = QLabel()
        self.errors_button = QPushButton()
        self.errors_button.setFlat(True)
        self.errors_button.setVisible(False)
        self.errors_button.clicked.connect(self.show_errors)

        self.browse_bar = BrowseBar()
        self.empty_state = EmptyState()
        self.grid_stack = QStackedWidget()
        self.grid_stack.addWidget(self.grid)
        self.grid_stack.addWidget(self.empty_state)
        center = QWidget()
        center_layout = QVBoxLayout(center)
        center_layout.setContentsMargins(0, 0, 0, 0)
        center_layout.setSpacing(0)
        center_layout.addWidget(self.browse_bar)
        center_layout.addWidget(self.grid_stack, 1)
        self.setAcceptDrops(True)  # a folder dropped anywhere on the window is added

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.sidebar)
        splitter.addWidget(center)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([220, 780, 280])
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        self.setCentralWidget(splitter)

        toolbar = QToolBar("Search")
        toolbar.setObjectName("search-toolbar")
        toolbar.setMovable(False)
        toolbar.addWidget(self.search_bar)
        self.addToolBar(toolbar)
        self.status_note = QLabel()
        self.statusBar().addWidget(self.library_label)
        self.statusBar().addWidget(self.status_note, 1)
        self.statusBar().addPermanentWidget(self.errors_button)
        self.statusBar().addPermanentWidget(self.activity)
        self.reindexing = ReindexController(self)  # a new model's vectors, in the background

        self._build_menus()
        self.search_bar.changed.connect(self.refresh_grid)
        self.sidebar.filters_changed.connect(self.refresh_grid)
        self.sidebar.itemClicked.connect(self._sidebar_clicked)
        self.sidebar.tag_context.connect(self._sidebar_tag_menu)
        self.sidebar.category_context.connect(self._sidebar_category_menu)
        self.grid.selectionModel().selectionChanged.connect(self._selection_changed)
        self.grid.photo_activated.connect(self.open_preview)
        self.grid.customContextMenuRequested.connect(self._grid_menu)
        self.details.tag_requested.connect(self._details_tagged)
        self.details.find_similar.connect(self.find_similar)
        self.activity.cancel_requested.connect(self.cancel_bulk)
        self.empty_state.add_folder.connect(self.add_folder)
        self.browse_bar.changed.connect(self.refresh_grid)
        self.browse_bar.resort.connect(self._resort)
        self.browse_bar.show_all_changed.connect(self._resort)
        self.browse_bar.size_changed.connect(self.grid.set_thumb_size)
        self.browse_bar.reindex_button.clicked.connect(lambda: self.reindexing.start())
        self._selection_timer = QTimer(self)
        self._selection_timer.setSingleShot(True)
        self._selection_timer.setInterval(60)
        self._selection_timer.timeout.connect(self._load_selection)

        self.preload_on_show = True  # tests that want no model in memory turn it off
        self.type_to_search = TypeToSearch(self.grid, self.search_bar.edit)
        self._restore_geometry()
        self.search_bar.edit.setFocus()  # typing at launch searches; it never tags
        # The grid first, the sidebar once it shows: at 1M photos the sidebar's counts
        # (folders, tags) take seconds and would share the two cores with the grid's query.
        self._sidebar_waits_for_grid = True
        self.refresh_grid()
        self.watching = WatchController(self)  # issue 18: changes in the roots are indexed
        self.watching.start()

    # -- menus ----------------------------------------------------------------------------
    def _action(
        self,
        menu: QMenu,
        text: str,
        slot: Callable[[], object],
        shortcut: str | QKeySequence.StandardKey | None = None,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(
            file_menu,
            "&Add folder…",
            self.add_folder,
            QKeySequence.StandardKey.Open,
            "Add a photo folder to the library and index it",
        )
        self._action(  # issue 20: a cluster's index, browsed as if scanned here
            file_menu, "Import Spark index…", lambda: import_spark_index(self)
        )
        self.rescan_action = self._action(
            file_menu, "&Rescan", self.rescan, "F5", "Look for new, changed and removed photos"
        )
        self.export_action = self._action(file_menu, "&Export…", self.open_export, "Ctrl+E")
        self.export_selection_action = self._action(
            file_menu,
            "Export &selection…",
            self.export_selection,
            "Ctrl+Shift+E",
            "Copy, link or move the selected photos (or, with none selected, those shown)",
        )
        self._action(file_menu, "Remove folder…", self.remove_folder)
        file_menu.addSeparator()
        self._action(file_menu, "Files that could not be read…", self.show_errors)
        self._action(
            file_menu, "&Preferences…", self.open_preferences, QKeySequence.StandardKey.Preferences
        )
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit = bar.addMenu("&Edit")
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcut(QKeySequence.StandardKey.Redo)
        edit.addAction(undo)
        edit.addAction(redo)
        edit.addSeparator()
        self._action(edit, "Select &all", self.grid.selectAll, QKeySequence.StandardKey.SelectAll)
        self._action(
            edit,
            "&Find similar",
            self._find_similar_selected,
            "Ctrl+F",
            "Search for photos that look like the selected one",
        )
        self._action(edit, "Search", self.search_bar.edit.setFocus, "Ctrl+K")
        self._action(edit, "Find &duplicates…", self.open_duplicates, tip="Copies and bursts")
        self._action(edit, "Back to &browsing", self.back_to_browsing, "Escape")

        tags = bar.addMenu("&Tags")
        # never a bare letter: typing that lands in the grid must not tag (issue 11 #4)
        self._action(tags, "&Add tag to selection…", self.prompt_add_tag, "Ctrl+T")
        self._action(tags, "&Remove tag from selection…", self.prompt_remove_tag, "Ctrl+Shift+T")
        self.quick_menu = tags.addMenu("Quick tags")
        tags.addSeparator()
        teach_dialog.add_actions(self, tags)
        tags.addSeparator()
        self._action(tags, "&Categories…", self.open_category_editor, "Ctrl+Shift+C")
        self.retag_action = self._action(
            tags, "Re-&tag all photos", self.retag, tip="Apply the categories to every photo"
        )

        view = bar.addMenu("&View")
        self._action(view, "&Clear filters", self.sidebar.clear_filters, "Ctrl+Shift+A")
        self._action(view, "&Refresh", self.refresh_all, "Ctrl+R")
        self._action(view, "&Discover groups…", lambda: discover_view.open_discover(self))
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&About photosort", self.about)

    def _fill_quick_tags(self) -> None:
        """Ctrl+1..9 apply the first nine tags (labels, then manual tags) to the selection."""
        self.quick_menu.clear()
        names = list(dict.fromkeys(self.sidebar.label_tags + self.sidebar.manual_tags))[:9]
        for k, name in enumerate(names, start=1):
            self._action(
                self.quick_menu, f"Toggle “{name}”", partial(self.toggle_tag, name), f"Ctrl+{k}"
            )
        self.quick_menu.setEnabled(bool(names))

    # -- refreshing -----------------------------------------------------------------------
    def refresh_all(self) -> None:
        self.refresh_sidebar()
        self.refresh_grid()

    def refresh_sidebar(self) -> None:
        self._sidebar_waits_for_grid = False
        if self.closed:
            return
        # Two loads can run at once (two pool threads): only the newest may be shown, or an
        # older answer arriving last brings back stale counts.
        self._sidebar_generation += 1
        tasks.run_task(
            partial(library_data.load_sidebar, self.library),
            partial(self._sidebar_loaded, self._sidebar_generation),
            self._show_error,
        )

    def _sidebar_loaded(self, generation: int, data: SidebarData) -> None:
        if generation != self._sidebar_generation:
            return
        self.sidebar.populate(data)
        self.details.set_known_tags(self.sidebar.label_tags + self.sidebar.manual_tags)
        self._fill_quick_tags()
        self.total_photos = data.total
        self._has_roots = bool(data.roots)
        self.library_label.setText(self._library_line(data.total))
        self.errors_button.setText(f"⚠ {data.failed} unreadable")
        self.errors_button.setVisible(data.failed > 0)
        self._update_empty_state()
        self.browse_bar.set_date_span(*data.date_span)

    def _library_line(self, total: int) -> str:
        """The status bar's left part: how big the library is and which model it uses."""
        spec = self.library.model_spec
        model = spec.local_dir.name if spec.local_dir is not None else spec.name
        photos = "no photos" if not total else f"{total} photo{'s' if total != 1 else ''}"
        return f"{photos} · model {model}"

    def _update_empty_state(self) -> None:
        """An empty library with nothing being scanned shows the "Add a photo folder" page."""
        # from the sidebar's last load: no catalog read on the GUI thread (a scan may write)
        empty = self.total_photos == 0 and not self._has_roots and self.bulk_task is None
        self.grid_stack.setCurrentWidget(self.empty_state if empty else self.grid)
        self.browse_bar.setVisible(not empty)

    def current_query(self) -> SearchQuery:
        filters = self.sidebar.filters
        date_from, date_to = self.browse_bar.date_range
        return SearchQuery(
            text=self.search_bar.text or None,
            image=self.search_bar.image,
            folder=filters.folder,
            date_from=date_from,
            date_to=date_to,
            tags=list(filters.tags),
            not_tags=list(filters.not_tags),
            top=SEARCH_TOP,
        )

    def refresh_grid(self) -> None:
        """Browse (no search) or search, with the sidebar filters; late answers are dropped."""
        if self.closed:
            return
        self._query_generation += 1
        generation = self._query_generation
        query = self.current_query()
        self.loading = True
        self.browse_bar.set_search_mode(query.has_semantic_part)
        words_in_photos = self.search_bar.words_in_photos
        key = (query.text, query.image, words_in_photos)
        if key != self._search_key:
            self._search_key = key
            self.browse_bar.reset_show_all()  # a new search shows its relevant results first
        if query.has_semantic_part and not self.library.model_loaded:
            self.browse_bar.show_message("Loading the model…")
            self.status_note.setText("Loading the model… the search runs as soon as it is ready.")
        if query.has_semantic_part:
            job = partial(self._run_search, query, words_in_photos)
        elif self.grid.photo_model.rowCount() == 0:  # opening: the first screens first
            job = partial(self._run_browse, query, self.browse_bar.sort_key, FIRST_NAMES)
        else:  # a refresh: the grid stays as it is until the whole new list is in
            job = partial(self._run_browse, query, self.browse_bar.sort_key)
        tasks.run_task(
            job, partial(self._grid_loaded, generation), partial(self._grid_failed, generation)
        )

    def _run_search(self, query: SearchQuery, words_in_photos: bool = False) -> GridAnswer:
        # "quoted" words (all words with the toggle on): text in photos
        results = photo_text.search(self.library, query, words_in_photos)
        return ("search", query, results)

    def _run_browse(
        self, query: SearchQuery, order: str = "date", first: int | None = None
    ) -> GridAnswer:
        """Every matching id, but the names of the first screens only: a 1M library's
        grid shows after ~2,000 names, and the rest follow in the background. With
        ``first``, only that many ids ("browse-first": the rest are read next)."""
        found = self.library.browse(query, order, first)
        kind = "browse-first" if first is not None and len(found) >= first else "browse"
        names, row_of = self._names_of(found[:FIRST_NAMES]), rows_by_id(found)
        return (kind, query, (np.array(found, np.int64), names, row_of))  # no 1M-item list

    def _names_of(self, ids: Sequence[int] | np.ndarray) -> dict[int, str]:
        ids = ids.tolist() if isinstance(ids, np.ndarray) else list(ids)  # SQL takes ints
        names: dict[int, str] = {}
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            names.update(
                {
                    pid: os.path.basename(p)
                    for pid, p in library_data.photo_paths(self.library, chunk).items()
                }
            )
        return names

    def _grid_loaded(self, generation: int, answer: GridAnswer) -> None:
        if generation != self._query_generation:
            return
        self._last_results = answer
        self._show_results(answer)
        self.loading = False
        if answer[0] == "browse-first":  # the first screens show; every id follows
            self.loading = True
            self.browse_bar.show_message(f"{len(answer[2][0])}+ photos, loading the rest…")
            rest = partial(self._run_browse, answer[1], self.browse_bar.sort_key)
            tasks.run_task(
                rest,
                partial(self._rest_loaded, generation),
                partial(self._grid_failed, generation),
            )
        self._sidebar_after_first_grid()
        if answer[0] == "browse":
            self._load_more_names(generation, answer[2][0], FIRST_NAMES)

    def _rest_loaded(self, generation: int, answer: GridAnswer) -> None:
        """Every id of a browse whose first screens show: appended below them, so the
        scroll position and the selection stay (a reset when the list changed meanwhile)."""
        if generation != self._query_generation or self._last_results is None:
            return
        ids, names, row_of = answer[2]
        model = self.grid.photo_model
        shown = model.id_array
        if self._last_results[0] == "browse-first" and np.array_equal(ids[: len(shown)], shown):
            self._last_results = answer
            model.extend_photos(ids, row_of)
            self.browse_bar.show_count(len(ids), len(ids), "photos" if len(ids) != 1 else "photo")
            self.loading = False
            self._load_more_names(generation, ids, FIRST_NAMES)
        else:
            self._grid_loaded(generation, answer)

    def _sidebar_after_first_grid(self) -> None:
        """At open the sidebar loads once the grid has shown (or failed to)."""
        if self._sidebar_waits_for_grid:
            self.refresh_sidebar()

    def _load_more_names(self, generation: int, ids: np.ndarray, start: int) -> None:
        """The next piece of the grid's names, while the grid is in use; a new query
        (or closing) stops it."""
        if self.closed or generation != self._query_generation or start >= len(ids):
            return
        chunk = ids[start : start + NAMES_STEP]
        tasks.run_task(
            partial(self._names_of, chunk),
            partial(self._more_names_loaded, generation, ids, start + len(chunk)),
        )

    def _more_names_loaded(
        self, generation: int, ids: np.ndarray, next_start: int, names: dict[int, str]
    ) -> None:
        if self.closed or generation != self._query_generation:
            return
        if self._last_results is not None and self._last_results[0] == "browse":
            self._last_results[2][1].update(names)  # a re-sort of this answer keeps them
        self.grid.photo_model.set_labels(names)
        self._load_more_names(generation, ids, next_start)

    def _resort(self) -> None:
        """Same answer, new order or cutoff (sort box, "Show all"); browsing asks again."""
        if self._last_results is None or self._last_results[0] != "search":
            self.refresh_grid()
        else:
            self._show_results(self._last_results)

    def _show_results(self, answer: GridAnswer) -> None:
        kind, query, rows = answer
        filtered = " (filtered)" if self.sidebar.filters.active or query.date_from else ""
        if kind == "search":
            results = rows
            relevant = relevant_count(results)
            shown = results if self.browse_bar.show_all else [r for r in results if r.relevant]
            shown = sort_results(shown, self.browse_bar.sort_key)
            ids = [r.photo_id for r in shown]
            scores = [r.score for r in shown]
            names = {r.photo_id: os.path.basename(r.path) for r in shown}
            row_of = None  # a few hundred: made here
            self.browse_bar.show_count(
                len(shown), len(results), "results" if len(shown) != 1 else "result"
            )
            if not relevant and results:
                self.browse_bar.count_label.setText("No photo matches well")
            self.status_note.setText(
                f"{relevant} relevant of {len(results)} photos searched{filtered}"
            )
        else:
            ids, names, row_of = rows
            scores = None
            self.browse_bar.show_count(len(ids), len(ids), "photos" if len(ids) != 1 else "photo")
            self.status_note.setText(filtered.strip(" ()"))
        query_key = (query.text, query.image, kind, self.browse_bar.sort_key)
        new_view = query_key != self._shown_query
        self._shown_query = query_key
        keep = self.grid.selected_ids()
        self.grid.photo_model.set_labels(names)
        self.grid.photo_model.set_photos(ids, scores, row_of)
        self.grid.select_ids(keep)
        if new_view:  # new results start at the top, best first
            self.grid.scrollToTop()
        if self.grid.selected_ids() != keep:  # a reset drops the selection silently
            self._selection_timer.stop()
            self._load_selection()  # the panel shows what is still selected, at once
        self.loading = False

    def _grid_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._query_generation:
            return
        self.loading = False
        self.grid.photo_model.set_photos([], None)
        self._sidebar_after_first_grid()
        if isinstance(exc, ModelError):
            self.model_problem(exc)
        elif isinstance(exc, ModelMismatchError):  # one line, and the button that fixes it
            self.browse_bar.show_message("The photos were indexed with another model.")
            self.browse_bar.reindex_button.setVisible(not self.reindexing.running)
            self.status_note.setText(str(exc))
        elif isinstance(exc, SearchError | LibraryError):
            self.status_note.setText(str(exc))
        else:
            self._show_error(exc)

    # -- selection and details ----------------------------------------------------------------
    def _selection_changed(self, *_args: object) -> None:
        self._selection_timer.start()

    def _load_selection(self) -> None:
        if self.closed:
            return
        ids = self.grid.selected_ids()
        self._info_generation += 1
        generation = self._info_generation
        if not ids:
            self.details.show_info(None)
            return
        if self.details.info is not None and self.details.info.ids != ids[:5000]:
            self.details.show_info(None)  # never show (or act on) a selection that is gone
        tasks.run_task(
            partial(library_data.load_photo_info, self.library, ids[:5000]),
            partial(self._info_loaded, generation),
            self._show_error,
        )
        if len(ids) == 1:
            self._load_preview(ids[0], 640, self.details.show_preview)

    def _info_loaded(self, generation: int, info: PhotoInfo) -> None:
        if generation == self._info_generation:
            self.details.show_info(info)

    def _load_preview(self, photo_id: int, size: int, deliver: Deliver) -> None:
        bar = self.search_bar
        words = photo_text.words_of(bar.text, bar.words_in_photos)  # marked in the preview

        def job() -> QImage | None:
            from photosort.core.imaging import DecodeError, load_thumbnail

            paths = library_data.photo_paths(self.library, [photo_id])
            try:
                image = pil_to_qimage(load_thumbnail(paths[photo_id], size))
            except (DecodeError, KeyError):
                return None
            return photo_text.highlighted(self.library, photo_id, image, words)

        tasks.run_task(job, lambda image: deliver(photo_id, image), self._show_error)

    def open_preview(self, photo_id: int) -> None:
        from photosort.gui.preview_dialog import PreviewDialog

        dialog = PreviewDialog(self)
        dialog.show()
        dialog.activateWindow()  # ← → and Esc go to the preview, not the grid behind it
        self.preview_dialog = dialog

        def load(pid: int, deliver: Deliver) -> None:
            def guarded(shown: int, image: QImage | None) -> None:
                if shiboken6.isValid(dialog):  # closed (deleted) before its image arrived
                    deliver(shown, image)

            self._load_preview(pid, 1600, guarded)

        model = self.grid.photo_model
        row = model.row_of(photo_id)
        position = -1 if row is None else row
        dialog.set_sequence(model.id_array, photo_id, load, model.labels, position)

    # -- search ---------------------------------------------------------------------------
    def find_similar(self, photo_id: int) -> None:
        paths = library_data.photo_paths(self.library, [photo_id])
        if photo_id in paths:
            self.search_bar.set_image(paths[photo_id])

    def _find_similar_selected(self) -> None:
        photo_id = self.grid.current_id()
        if photo_id is not None:
            self.find_similar(photo_id)

    def back_to_browsing(self) -> None:
        self.search_bar.clear()

    # -- tagging --------------------------------------------------------------------------
    def _details_tagged(self, photo_ids: list[int], add: list[str], remove: list[str]) -> None:
        """The panel acts only on photos the grid still has selected."""
        selected = set(self.grid.selected_ids())
        self.apply_tags([pid for pid in photo_ids if pid in selected], add, remove)

    def confirm_many(self, count: int, what: str) -> bool:
        """Bulk tagging is easy to trigger by accident: above CONFIRM_OVER photos, ask."""
        if count <= CONFIRM_OVER:
            return True
        answer = QMessageBox.question(
            self,
            "Tag many photos?",
            f"{what} on {count} photos at once?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def apply_tags(self, photo_ids: list[int], add: list[str], remove: list[str]) -> None:
        """Tag or untag photos as one undoable step."""
        if not photo_ids or not (add or remove):
            return
        what = " and ".join(
            part
            for part in (
                f"Add {', '.join(add)}" if add else "",
                f"remove {', '.join(remove)}" if remove else "",
            )
            if part
        )
        if not self.confirm_many(len(photo_ids), what[:1].upper() + what[1:]):
            return
        try:
            command = TagCommand(lambda: self.library, photo_ids, add, remove, self._tags_changed)
            self.undo_stack.push(command)
        except Exception as exc:  # noqa: BLE001 - a bad tag name: tell the user
            QMessageBox.warning(self, "Cannot tag", str(exc))

    def _tags_changed(self, _photo_ids: list[int]) -> None:
        self.refresh_sidebar()
        self._load_selection()
        if self.sidebar.filters.tags:
            self.refresh_grid()

    def toggle_tag(self, name: str) -> None:
        """Quick tag: add it to the selection, or remove it if every selected photo has it."""
        ids = self.grid.selected_ids()
        if not ids:
            return
        tags = self.library.photo_tags(ids)
        everywhere = all(
            any(t.name == name and t.state == "on" for t in tags.get(pid, [])) for pid in ids
        )
        self.apply_tags(ids, [] if everywhere else [name], [name] if everywhere else [])

    def prompt_add_tag(self) -> None:
        ids = self.grid.selected_ids()
        if not ids:
            self.status_note.setText("Select photos first.")
            return
        names = list(dict.fromkeys(self.sidebar.label_tags + self.sidebar.manual_tags))
        name = ask_tag(self, "Add tag", f"Tag for {len(ids)} photo(s):", names, editable=True)
        if name:
            self.apply_tags(ids, [name], [])

    def prompt_remove_tag(self) -> None:
        ids = self.grid.selected_ids()
        if not ids:
            return
        names = list(dict.fromkeys(self.sidebar.label_tags + self.sidebar.manual_tags))
        name = ask_tag(self, "Remove tag", f"Remove from {len(ids)} photo(s):", names)
        if name:
            self.apply_tags(ids, [], [name])

    def _tag_menu(self, menu: QMenu, ids: list[int]) -> None:
        names = list(dict.fromkeys(self.sidebar.label_tags + self.sidebar.manual_tags))
        add = menu.addMenu("Add tag")
        remove = menu.addMenu("Remove tag")
        for name in names:
            add.addAction(name, partial(self.apply_tags, ids, [name], []))
            remove.addAction(name, partial(self.apply_tags, ids, [], [name]))
        add.addSeparator()
        add.addAction("New tag…", self.prompt_add_tag)
        remove.setEnabled(bool(names))

    def _grid_menu(self, pos: QPoint) -> None:
        ids = self.grid.selected_ids()
        if not ids:
            return
        menu = QMenu(self)
        self._tag_menu(menu, ids)
        teach_dialog.add_actions(self, menu)
        menu.addSeparator()
        similar = menu.addAction("Find similar", self._find_similar_selected)
        similar.setEnabled(len(ids) == 1)
        menu.addAction("Open preview", lambda: self.open_preview(ids[0]))
        menu.addAction("Export selection…", self.export_selection)
        menu.exec(self.grid.viewport().mapToGlobal(pos))

    def _sidebar_tag_menu(self, name: str, global_pos: QPoint) -> None:
        ids = self.grid.selected_ids()
        menu = QMenu(self)
        menu.addAction(f"Add “{name}” to selection", partial(self.apply_tags, ids, [name], []))
        menu.addAction(f"Remove “{name}” from selection", partial(self.apply_tags, ids, [], [name]))
        for action in menu.actions():
            action.setEnabled(bool(ids))
        menu.addSeparator()
        self._tag_admin_actions(menu, name)
        menu.exec(global_pos)

    def _sidebar_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.data(0, KIND_ROLE) == "failed":
            self.show_errors()

    # -- long jobs ------------------------------------------------------------------------
    def _start_bulk(
        self, title: str, func: Callable[..., Any], on_done: Callable[[Any], None]
    ) -> bool:
        if self.bulk_task is not None:
            QMessageBox.information(self, "Busy", "Another job is running; wait or cancel it.")
            return False
        self.activity.start(title)

        def done(result: object) -> None:
            self.bulk_task = None
            self.activity.finish()
            on_done(result)

        def failed(exc: BaseException) -> None:
            self.bulk_task = None
            self.activity.finish()
            if isinstance(exc, ModelError):
                self.model_problem(exc)
            else:
                self._show_error(exc)
            self.refresh_all()

        self.bulk_task = tasks.run_task(
            func, done, failed, self.activity.update_progress, pool_name="bulk", with_progress=True
        )
        return True

    def cancel_bulk(self) -> None:
        if self.bulk_task is not None:
            self.bulk_task.cancel()

    def add_folder(self, folder: str | None = None) -> None:
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if folder:
            self.scan([folder])

    def remove_folder(self, path: str | None = None) -> bool:
        """Forget a root after saying which manual tags go with it (issue 11 #5)."""
        from photosort.gui.remove_folder import confirm_removal, removal_impact

        roots = [r["path"] for r in self.library.roots()]
        if path is None:
            path = ask_tag(self, "Remove folder", "Folder to remove from the library:", roots)
        if not path or path not in roots or self.bulk_task is not None:
            return False
        if not confirm_removal(self, removal_impact(self.library, path)):
            return False
        return self._start_bulk(
            "Removing folder",
            lambda on_progress, should_cancel: self.library.remove_root(path),
            lambda _count: self.refresh_all(),
        )

    def rescan(self) -> None:
        self.scan(None)

    def scan(self, paths: list[str] | None) -> bool:
        """Index in the background; the grid refreshes when it is done."""
        # the text stage (OCR) is a job of its own after it: photos show without waiting
        scan = partial(self.library.scan, paths, read_text=False)
        started = self._start_bulk("Scanning", scan, self._scan_done)
        if started:
            self.status_note.setText("")  # "Start with File → Add folder…" is done
            self._update_empty_state()
            self.browse_bar.show_message("Scanning… the photos appear when indexing is done.")
        return started

    def _scan_done(self, summary: ScanSummary) -> None:
        self.last_summary = summary
        self.watching.start()  # a folder added by this scan is watched from now on
        self.thumbnails.invalidate()
        self.statusBar().showMessage(
            ("Scan: " if not summary.cancelled else "Scan stopped: ") + summary.line(), 20000
        )
        self.refresh_all()
        photo_text.read_text_after_scan(self, summary)

    def retag(self) -> None:
        self._start_bulk("Tagging", self.library.autotag, self._retag_done)

    def _retag_done(self, summary: object) -> None:
        line = summary.line() if hasattr(summary, "line") else str(summary)
        self.statusBar().showMessage(f"Tagging done: {line}", 20000)
        self.refresh_all()
        self._load_selection()

    # -- dialogs --------------------------------------------------------------------------
    def show_errors(self) -> None:
        from photosort.gui.errors_dialog import ErrorsDialog

        ErrorsDialog(self.library.failures(), self).exec()

    def open_category_editor(self) -> None:
        from photosort.gui.category_editor import CategoryEditor

        editor = CategoryEditor(self.library, self)
        editor.exec()
        if editor.changed:  # saving re-tagged what changed already: nothing to ask
            self.refresh_all()

    def open_export(self) -> None:
        from photosort.gui.export_dialog import ExportDialog

        ExportDialog(self.library, list(self.sidebar.filters.tags), self).exec()

    def export_selection(self) -> None:
        """The export dialog for the selected photos, or for every photo shown (a search's
        results) when none is selected."""
        from photosort.gui.export_dialog import ExportDialog

        ids = self.grid.selected_ids()
        what = f"{len(ids)} selected photo{'s' if len(ids) != 1 else ''}"
        if not ids:
            ids = list(self.grid.photo_model.ids)
            what = f"the {len(ids)} photo{'s' if len(ids) != 1 else ''} shown"
        if not ids:
            self.status_note.setText("Nothing to export: select photos or search first.")
            return
        dialog = ExportDialog(self.library, None, self, photo_ids=ids, what=what)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.export_dialog = dialog  # window-modal, not a nested event loop
        dialog.open()

    def open_duplicates(self) -> None:
        from photosort.gui.duplicates_view import DuplicatesDialog

        dialog = DuplicatesDialog(self.library, self)
        dialog.changed.connect(self.refresh_all)
        dialog.exec()

    def open_preferences(self) -> None:
        from photosort.gui.preferences import PreferencesDialog

        dialog = PreferencesDialog(
            str(self.library.model_spec), self.library.device, self, library=self.library
        )
        if dialog.exec():
            self.change_model(dialog.model(), dialog.device())

    def change_model(self, model: str, device: str) -> None:
        """Load the chosen model in the background; only once it loads is it saved and
        the library reopened with it (a model that cannot load changes nothing)."""
        if model == str(self.library.model_spec) and device == self.library.device:
            return
        if self.bulk_task is not None or self.model_task is not None or self.reindexing.running:
            QMessageBox.information(self, "Busy", "Wait for the running job before switching.")
            return
        if device == self.library.device and self.total_photos:
            # the photos' vectors are made with the new model while search keeps the old one
            self.reindexing.start(model)
            return
        try:
            new = Library(self.library.folder, model=model, device=device)
        except Exception as exc:  # noqa: BLE001
            QMessageBox.warning(self, "Cannot switch model", str(exc))
            return
        self.status_note.setText(f"Loading the model {model}…")

        def loaded(_result: object) -> None:
            self.model_task = None
            self._switch_library(new, model, device)

        def failed(exc: BaseException) -> None:
            self.model_task = None
            new.close()
            self.status_note.setText("")
            QMessageBox.warning(
                self,
                "Cannot switch model",
                f"{model} could not be loaded, so photosort keeps using "
                f"{self.library.model_spec}.\n\n{str(exc).splitlines()[0] if str(exc) else exc}",
            )

        self.model_task = tasks.run_task(new.preload_model, loaded, failed, pool_name="model")

    def _switch_library(self, new: Library, model: str, device: str) -> None:
        self.settings.setValue("model", model)
        self.settings.setValue("device", device)
        tasks.wait_for_all(10000)
        self.library.close()
        self.library = new
        self.thumbnails.resolve = partial(library_data.photo_paths, new)
        self.refresh_all()  # the undo history stays: its commands act on self.library
        if self.total_photos and (
            QMessageBox.question(
                self,
                "Index with the new model?",
                "Photos need vectors from the new model. Rescan now?",
            )
            == QMessageBox.StandardButton.Yes
        ):
            self.rescan()

    def model_problem(self, problem: str | BaseException | None = None) -> None:
        """The one model dialog (download, or choose a folder); a second call updates it."""
        from photosort.gui.model_setup import ask_for_model

        text = getattr(problem, "reason", None) or (str(problem) if problem else None)
        chosen = ask_for_model(self, self.library, text)
        if chosen:
            self.change_model(chosen, self.library.device)

    def about(self) -> None:
        from photosort import __version__

        QMessageBox.about(
            self,
            "About photosort",
            f"<b>photosort {__version__}</b><p>Local photo search and tagging "
            "with CLIP.</p><p>Library: " + str(self.library.folder) + "</p>",
        )

    def _show_error(self, exc: BaseException) -> None:
        if isinstance(exc, ModelError):
            self.model_problem(exc)
            return
        text = str(exc) or type(exc).__name__
        self.status_note.setText("Error: " + text.splitlines()[0][:200])
        tasks._report_unhandled(exc)

    # -- window state ---------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:  # fits a 1366×768 laptop screen, status bar and all
            screen = QGuiApplication.primaryScreen()
            avail = screen.availableGeometry() if screen is not None else None
            width, height = 1300, 820
            if avail is not None:
                width, height = min(width, avail.width() - 40), min(height, avail.height() - 40)
            self.resize(width, height)
        splitter = self.settings.value("window/splitter")
        if isinstance(splitter, QByteArray) and not splitter.isEmpty():
            self.splitter.restoreState(splitter)

    # -- a folder dropped on the window -----------------------------------------------------------
    @staticmethod
    def _dropped_folders(event: QDragEnterEvent | QDropEvent) -> list[str]:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        return [u.toLocalFile() for u in urls if u.isLocalFile() and os.path.isdir(u.toLocalFile())]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self._dropped_folders(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        folders = self._dropped_folders(event)
        if folders:
            event.acceptProposedAction()
            self.scan(folders)

    # -- the model, loaded before the first search needs it ----------------------------------------
    def preload_model(self) -> None:
        """Load the model in the background (only when that needs no download)."""
        from photosort.gui.model_setup import weights_cached

        if self.closed or self.library.model_loaded or self.model_task is not None:
            return
        if not weights_cached(self.library.model_spec):
            return  # a download is the first-run dialog's business, not a silent preload
        library = self.library

        def loaded(_result: object) -> None:
            self.model_task = None
            if self.search_bar.active and library is self.library:
                self.refresh_grid()

        def failed(exc: BaseException) -> None:
            self.model_task = None
            self.status_note.setText(f"The model could not load: {str(exc).splitlines()[0]}")

        self.model_task = tasks.run_task(library.preload_model, loaded, failed, pool_name="model")

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if self.preload_on_show:
            QTimer.singleShot(0, self.preload_model)
            QTimer.singleShot(0, self.reindexing.resume_if_unfinished)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.closed = True
        self.watching.stop()
        self._selection_timer.stop()
        if self.bulk_task is not None:
            self.bulk_task.cancel()
        self.reindexing.cancel()  # what it staged is kept: the next start resumes it
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.sync()
        self.thumbnails.stop()
        tasks.wait_for_all(60000)
        tasks.abandon_all()
        super().closeEvent(event)


def app_icon() -> QIcon:
    from photosort.gui.resources import icon_path

    icon = QIcon()
    for size in (16, 32, 48, 64, 128, 256):
        path = icon_path(f"photosort-{size}.png")
        if path is not None:
            icon.addFile(str(path))
    svg = icon_path("photosort.svg")
    if svg is not None:
        icon.addFile(str(svg))
    return icon


__all__ = ["MainWindow", "app_icon", "QWidget"]
