"""Auto-tagging wired to one library: its categories, its vectors, its model's constants.

``tagging`` holds the rules (the tagger, the diff writer); this module feeds them what the
library knows: the text vectors of the prompts (cached in the catalog), the model's logit
scale and bias (remembered in the catalog, so re-tagging needs no model), the sun's
evidence and the stored vectors. The ``Library`` makes one ``AutoTagging`` per call with
callbacks into its lazily loaded model; nothing here knows the ``Library``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from photosort.core import categories as category_store
from photosort.core import scoring, sun_store, tagging
from photosort.core.catalog import Catalog
from photosort.core.categories import Category
from photosort.core.embedder import ModelError, ModelSpec
from photosort.core.errors import LibraryError
from photosort.core.lazy_import import lazy_module, np
from photosort.core.progress import ProgressCallback
from photosort.core.search import NEUTRAL_CAPTIONS, Relevance
from photosort.core.store import PhotoStore, TagStore, VectorStore

if TYPE_CHECKING:
    from photosort.core import sun_fusion as fusion
    from photosort.core import tag_truth, teaching
else:
    fusion = lazy_module("photosort.core.sun_fusion")
    tag_truth = lazy_module("photosort.core.tag_truth")
    teaching = lazy_module("photosort.core.teaching")

log = logging.getLogger(__name__)


class AutoTagging:
    """The categories' tagger over one library's vectors, and the constants it scores with.

    Every argument that needs the model is a callback, called only when the catalog does
    not remember the answer: re-tagging with a CLIP model never loads it."""

    def __init__(
        self,
        catalog: Catalog,
        model_spec: ModelSpec,
        model_id: Callable[[], str],
        encode_texts: Callable[[list[str]], np.ndarray],
        logit_scale: Callable[[], float],
        logit_bias: Callable[[], float | None],
        vector_chunks: Callable[[], tuple[int, tagging.Chunks]],
        auto_cache: tagging.AutoTagCache,
        sun_cache: sun_store.EvidenceCache,
        read_only: bool,
    ):
        self.catalog = catalog
        self.model_spec = model_spec
        self._model_id = model_id
        self._encode_texts = encode_texts
        self._logit_scale = logit_scale
        self._logit_bias = logit_bias
        self._vector_chunks = vector_chunks
        self._auto_cache = auto_cache
        self._sun_cache = sun_cache
        self._read_only = read_only

    # -- the model's constants, cached in the catalog ------------------------------------
    def logit_scale(self) -> float:
        """The model's exp(logit_scale), remembered in the catalog so re-tagging needs no model."""
        key = f"logit_scale:{self._model_id()}"
        stored = self.catalog.get_meta(key)
        if stored is not None:
            return float(stored)
        scale = float(self._logit_scale())
        if not self.catalog.read_only:
            self.catalog.set_meta(key, repr(scale))
        return scale

    def scoring(self) -> scoring.Scoring:
        """Scale and, for a SigLIP model, its sigmoid bias; from the catalog when known, so
        re-tagging with a CLIP model never loads it (its family shows in its config)."""
        scale = self.logit_scale()
        spec = self.model_spec
        if not scoring.is_sigmoid_model(spec.name, spec.local_dir):
            return scoring.Scoring(scale)
        key = f"logit_bias:{self._model_id()}"
        stored = self.catalog.get_meta(key)
        if stored is None:
            bias = self._logit_bias()
            stored = "none" if bias is None else repr(bias)
            if not self._read_only:
                self.catalog.set_meta(key, stored)
        return scoring.Scoring(scale, None if stored == "none" else float(stored))

    def text_vectors(self, cats: list[Category]) -> dict[str, np.ndarray]:
        return tagging.text_vectors(
            self.catalog, self._model_id(), tagging.Tagger.prompts_needed(cats), self._encode_texts
        )

    def relevance(self) -> Relevance:
        """Neutral captions (cached in the catalog) and the logit scale: search's cutoff."""
        vectors = tagging.text_vectors(
            self.catalog, self._model_id(), NEUTRAL_CAPTIONS, self._encode_texts
        )
        neutral = tagging.ensemble([vectors[p] for p in NEUTRAL_CAPTIONS])
        return Relevance(neutral, self.logit_scale())

    def sun_fusion(self) -> fusion.SunFusion:
        return fusion.SunFusion(self._sun_cache.current(self.catalog))

    # -- re-tagging -----------------------------------------------------------------------
    def run(
        self,
        cats: list[Category],
        on_progress: ProgressCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
        photo_ids: Iterable[int] | None = None,
    ) -> tagging.AutotagSummary:
        """Re-tag ``cats`` (and the categories that apply where one of their labels holds)
        over every stored vector, or over ``photo_ids`` only."""
        cats = teaching.without_taught(self.catalog, cats)  # their tags come from the probe
        if not cats:
            return tagging.AutotagSummary()
        started = time.monotonic()  # the whole wait, model load included ("0.00s" for 3 s)
        names = {c.name for c in cats}
        labels = {lb.name.casefold() for c in cats for lb in c.labels}
        cats = list(cats) + [  # categories that apply where one of these labels holds
            c
            for c in category_store.load(self.catalog)
            if c.name not in names and c.applies_if and c.applies_if.casefold() in labels
        ]
        load: tagging.VectorLoader = self._vector_chunks
        only = None
        if photo_ids is not None:
            only = np.unique(np.fromiter(photo_ids, dtype=np.int64))
            if not len(only):
                return tagging.AutotagSummary()
            model = self._model_id()

            def load() -> tuple[int, tagging.Chunks]:  # the version first: errs stale
                return self.catalog.vectors_version(), VectorStore(self.catalog).vectors_for(
                    model, only
                )

        vectors = self.text_vectors(cats)
        summary = tagging.run_autotag(
            self.catalog,
            cats,
            load,
            vectors,
            self.scoring(),
            on_progress,
            should_cancel,
            self._auto_cache,
            self.sun_fusion(),
            only,
        )
        summary.seconds = time.monotonic() - started
        return summary

    def retag_categories_of(
        self, tags: Iterable[str], categories: Iterable[str], has_vectors: Callable[[], bool]
    ) -> None:
        """Re-tag the categories holding these labels (a label's name is in its prompts);
        ``has_vectors``: whether there is anything to tag (checked only when one is held)."""
        keys = {t.casefold() for t in tags}
        cat_keys = {c.casefold() for c in categories}
        touched = [
            c
            for c in category_store.load(self.catalog)
            if c.name.casefold() in cat_keys or any(lb.name.casefold() in keys for lb in c.labels)
        ]
        if touched and has_vectors():
            try:
                self.run(touched)
            except ModelError as exc:
                log.warning("re-tagging after the change failed: %s", exc)

    # -- what the tagger would do, for the editor and the details panel -----------------
    def preview_label(self, category: Category, label_name: str) -> tagging.LabelPreview:
        """What ``label_name`` of the (unsaved) ``category`` would tag, for the editor."""
        category = category_store.validate(category)
        _, chunks = self._vector_chunks()
        if category.applies_if:  # only the photos it would apply to
            where = tagging.applies_filter(self.catalog, category.applies_if)
            chunks = _only(chunks, where)
        tagger = tagging.Tagger(
            [category], self.text_vectors([category]), self.scoring(), self.sun_fusion()
        )
        return tagging.preview(tagger, chunks, label_name.strip())

    def explain(self, path: str, photo_id: int) -> fusion.Explanation:
        """The image's probabilities, the sun's and the result, per category, for one photo."""
        vector = self.catalog.vector_of(photo_id, self._model_id())
        if vector is None:
            raise LibraryError(f"{path} has no vector yet; run 'photosort scan' first")
        cats = category_store.load(self.catalog)
        tagger = tagging.Tagger(cats, self.text_vectors(cats), self.scoring())
        image = [p[0] for p in tagger.probabilities(vector[None, :])]
        fix = sun_store.stored_fix(self.catalog, photo_id)
        row = PhotoStore(self.catalog).details([photo_id])[photo_id]
        return fusion.explain(row["path"], cats, image, fix)

    def score_tagger(self, cats: list[Category]) -> tagging.Tagger:
        """The auto tagger's own scoring (model family, sun), taught labels left out."""
        cats = teaching.without_taught(self.catalog, cats)
        return tagging.Tagger(cats, self.text_vectors(cats), self.scoring(), self.sun_fusion())

    def evaluate(
        self, tagger: tagging.Tagger, vector_dim: Callable[[], int]
    ) -> list[tag_truth.LabelTruth]:
        """Precision, recall and the best threshold per label of ``tagger``, from the
        manual decisions."""
        model_id = self._model_id()

        def vectors_of(ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
            found = [(i, v) for i in ids if (v := self.catalog.vector_of(i, model_id)) is not None]
            if not found:
                return np.empty(0, np.int64), np.empty((0, vector_dim()), np.float32)
            return np.array([i for i, _ in found], np.int64), np.stack([v for _, v in found])

        def auto_tagged(label: str, ids: list[int]) -> set[int]:
            return TagStore(self.catalog).auto_tagged_with(label) & set(ids)

        return tag_truth.evaluate(self.catalog, tagger, vectors_of, auto_tagged)


def _only(chunks: tagging.Chunks, where: Callable[[np.ndarray], np.ndarray]) -> tagging.Chunks:
    """The rows of each piece whose photo ``where`` keeps."""
    for ids, matrix in chunks:
        keep = np.isin(ids, where(ids))
        yield ids[keep], matrix[keep]
