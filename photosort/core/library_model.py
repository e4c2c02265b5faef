"""A library's model: its spec and device, the model loaded on first use, and what the
catalog remembers of it (id, vector length, the ONNX text tower), so that status, counts,
re-tagging and a cold text search never load it.

The ``Library`` holds one and hands its callbacks to the jobs; nothing here knows the
``Library``.
"""

from __future__ import annotations

import gc
import logging
import threading
from typing import TYPE_CHECKING

from photosort.core.catalog import Catalog
from photosort.core.embedder import Embedder, ModelSpec
from photosort.core.lazy_import import lazy_module

if TYPE_CHECKING:
    from photosort.core import image_engine, model_check, text_onnx
    from photosort.core.pipeline import ImageEncoder
else:
    image_engine = lazy_module("photosort.core.image_engine")
    model_check = lazy_module("photosort.core.model_check")
    text_onnx = lazy_module("photosort.core.text_onnx")

log = logging.getLogger(__name__)


class LibraryModel:
    """The model of one library, loaded lazily under ``lock`` (one load per process)."""

    def __init__(self, catalog: Catalog, spec: ModelSpec, device: str, read_only: bool):
        self.catalog = catalog
        self.spec = spec
        self.device = device
        self.read_only = read_only
        #: the model once loaded (None until something needs it)
        self.loaded: Embedder | None = None
        self._text_encoder: text_onnx.OnnxTextEncoder | None = None
        self._image_encoder: image_engine.OnnxImageEncoder | None = None  # see image_encoder
        self.lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        with self.lock:
            if self.loaded is None:
                self.loaded = Embedder(self.spec, self.device)
                # torch and the model leave ~10^6 long-lived objects; a full GC pass over
                # them holds the GIL ~200 ms and froze the GUI mid-scan. Park them for good.
                gc.freeze()
                self._image_encoder = None  # the model runs its own export from now on
                self._note(self.loaded)
            return self.loaded

    @property
    def image_encoder(self) -> ImageEncoder:
        """What turns photos into vectors (see ``image_encoder_for``)."""
        return self.image_encoder_for(None)

    def image_encoder_for(self, photos: int | None) -> ImageEncoder:
        """What turns ``photos`` images (None: a number not known) into vectors: the model
        once loaded, else its cached ONNX image tower where that is this machine's engine,
        or the job is small enough for it to stand in for torch bf16 (a scan then imports
        neither torch nor open_clip: 27 of 45 s of a small scan from scratch), else the
        model."""
        if self.loaded is None:
            with self.lock:
                if self._image_encoder is None:
                    self._image_encoder = image_engine.OnnxImageEncoder.open(
                        self.spec, self.device, lambda: self.embedder, photos
                    )
                    if self._image_encoder is not None:
                        self._note(self._image_encoder)
                encoder = self._image_encoder
                if encoder is not None and not (
                    encoder.stand_in and photos is not None and not image_engine.small_job(photos)
                ):
                    return encoder
        return self.embedder  # a large job after a small one: torch bf16 is cheaper per photo

    def _note(self, model: ImageEncoder) -> None:
        """What loading a model records: its spec by id, and (unless a one-off --model
        whose vectors the library lacks) the library's model."""
        if not self.read_only:
            model_check.remember_spec(self.catalog, model.model_id, str(self.spec))
            if not model_check.is_foreign(self.catalog, model.model_id):
                self._remember(model)

    @property
    def text_encoder(self) -> Embedder | text_onnx.OnnxTextEncoder:
        """What turns text into vectors: the model once loaded, else its cached ONNX text
        tower (no torch: a cold text search in well under a second), else the model."""
        if self.loaded is None and text_onnx.enabled():
            with self.lock:
                if self._text_encoder is None:
                    model_id = self.known_model_id()
                    if model_id:
                        # A reader (a cold ``search``) encodes a query of a few tokens: one
                        # thread, as ONNX Runtime's spinning pool on busy cores made the
                        # run 2x slower in the median and up to 8x at worst (issue 13); a
                        # writer may encode every label's prompts and keeps the pool.
                        threads = 1 if self.read_only else 0
                        self._text_encoder = text_onnx.OnnxTextEncoder.open(model_id, threads)
                if self._text_encoder is not None:
                    return self._text_encoder
        return self.embedder

    def cache_text_encoder(self) -> None:
        """Export the loaded model's text tower for the next cold search (seconds, once per
        model); a failure only means the next search loads the model again."""
        if self.loaded is None or not text_onnx.enabled():
            return
        try:
            with self.loaded._lock:
                text_onnx.export(self.loaded)
        except Exception as exc:
            log.info("text tower not exported (%s); searches load the model", exc)

    def cache_image_encoder(self) -> None:
        """On a bf16 CPU, export the loaded model's image tower for the small jobs to come
        (``image_engine.stand_in_wanted``: seconds, once per model); elsewhere the first
        bulk embedding already made it. A failure only means small jobs load torch."""
        model = self.loaded
        if model is None or model.image_engine != "torch":
            return
        if not image_engine.stand_in_wanted(model.device, model.precision):
            return
        try:
            with model._lock:
                image_engine.export(model)
        except Exception as exc:
            log.info("image tower not exported (%s); small scans load the model", exc)

    def _remember(self, model: ImageEncoder) -> None:
        """Record the loaded model (``_note`` skips a reader), only when that changes
        something: a write would start the scheduled backup (minutes at 1M)."""
        known = {
            "model": str(self.spec),
            "model_id": model.model_id,
            "model_dim": str(model.dim),
        }
        if all(self.catalog.get_meta(k) == v for k, v in known.items()):
            return
        self.record(model)

    def record(self, embedder: ImageEncoder) -> None:
        """The library's model: the next open uses it (a scan or reindex makes it so)."""
        with self.catalog.transaction() as conn:
            self.catalog.set_meta("model", str(self.spec), conn)
            self.catalog.set_meta("model_id", embedder.model_id, conn)
            self.catalog.set_meta("model_dim", str(embedder.dim), conn)

    def adopt(self, spec: ModelSpec, embedder: Embedder) -> None:
        """Make a model loaded elsewhere (a re-index's) this library's model from now on."""
        with self.lock:
            self.spec = spec
            self.loaded = embedder

    @property
    def model_id(self) -> str:
        """The model id, known without loading the model when the spec is unchanged."""
        if self.loaded is None:
            known = self.known_model_id()
            if known:
                return known
        # the model's, without torch where it can be (0 photos: the stand-in knows it too)
        return self.image_encoder_for(0).model_id

    def known_model_id(self) -> str | None:
        """The model id if it is known without loading the model (status never loads it)."""
        if self.loaded is not None:
            return self.loaded.model_id
        if self.catalog.get_meta("model") == str(self.spec):
            stored = self.catalog.get_meta("model_id")
            if stored:
                return stored
        if self.spec.local_dir is None:
            return str(self.spec)  # a hub model's id is its name
        return None

    def recorded(self) -> bool:
        """Whether any model was ever recorded for this library (not on a first run)."""
        return self.catalog.get_meta("model_id") is not None

    def vector_dim(self) -> int:
        """The model's vector length, known without loading the model when recorded."""
        if self.loaded is None and self.catalog.get_meta("model") == str(self.spec):
            stored = self.catalog.get_meta("model_dim")
            if stored:
                return int(stored)
        return self.image_encoder_for(0).dim  # as model_id: without torch where it can be
