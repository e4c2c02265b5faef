"""Free-text, image and weighted queries over the vector index, with catalog filters."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from photosort.core.catalog import Catalog
from photosort.core.errors import LibraryError, PhotosortError
from photosort.core.index import VectorIndex
from photosort.core.lazy_import import np
from photosort.core.pairs import SHOWN
from photosort.core.store import PhotoStore, VectorStore
from photosort.core.store import photos as photo_store


class SearchError(PhotosortError):
    """A query that cannot run (bad image, empty query); one line for the user."""


@dataclass(frozen=True)
class Term:
    text: str
    weight: float = 1.0

    @classmethod
    def parse(cls, raw: str) -> Term:
        """``"beach"`` or ``"beach:2.5"``: a trailing ``:number`` is the weight."""
        text, sep, weight = raw.rpartition(":")
        if sep and text.strip():
            try:
                return cls(text.strip(), float(weight))
            except ValueError:
                pass
        return cls(raw.strip())


@dataclass
class SearchQuery:
    text: str | None = None
    image: str | None = None
    also: list[Term] = field(default_factory=list)
    exclude: list[Term] = field(default_factory=list)
    root: str | None = None
    folder: str | None = None
    date_from: str | None = None  # ISO date or datetime, inclusive
    date_to: str | None = None  # ISO date or datetime, inclusive
    tags: list[str] = field(default_factory=list)
    not_tags: list[str] = field(default_factory=list)
    top: int = 20

    @property
    def has_semantic_part(self) -> bool:
        return bool(self.text or self.image or self.also or self.exclude)

    @property
    def has_filters(self) -> bool:
        return bool(
            self.root or self.folder or self.date_from or self.date_to or self.tags or self.not_tags
        )


@dataclass
class SearchResult:
    photo_id: int
    path: str
    score: float
    taken_at: str | None = None
    tags: list[str] = field(default_factory=list)
    #: Probability that the photo matches the query better than a neutral caption
    #: ("a photo", ...); None when not calibrated (image queries, filter-only listings).
    relevance: float | None = None

    @property
    def relevant(self) -> bool:
        return self.relevance is None or self.relevance >= RELEVANCE_THRESHOLD


#: Captions that say "a photo" and nothing else: a result must match the query better
#: than these to count as relevant (the same calibration as free tags, see tagging.py).
NEUTRAL_CAPTIONS = ("a photo", "a picture", "an image", "a photo of something", "a snapshot")
#: A result is relevant when this probability is reached (like a free tag's threshold).
RELEVANCE_THRESHOLD = 0.5


@dataclass(frozen=True)
class Relevance:
    """Turns a result's cosine into a probability against neutral captions.

    One fixed cosine cutoff fails across queries (the band of CLIP cosines moves with
    every text; immich-app/immich#5996). Like a free tag, a result is compared with a
    neutral caption ensemble: ``sigmoid(scale * (cos(photo, query) - cos(photo, neutral)))``,
    so the cutoff is a probability with the same meaning for every query.
    """

    neutral: np.ndarray  # normalised ensemble of NEUTRAL_CAPTIONS
    scale: float  # the model's exp(logit_scale)

    def probabilities(self, scores: np.ndarray, photo_vectors: np.ndarray) -> np.ndarray:
        neutral = photo_vectors @ self.neutral
        logits = self.scale * (np.asarray(scores, np.float64) - neutral)
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))


def relevant_count(results: list[SearchResult]) -> int:
    """How many of the (best-first) results are relevant."""
    return sum(1 for r in results if r.relevant)


#: Orders of a listing without a query (``Library.browse``).
BROWSE_ORDERS = photo_store.BROWSE_ORDERS


def sort_results(results: list[SearchResult], order: str) -> list[SearchResult]:
    """Search results re-ordered: "relevance" (as ranked), "date" (newest first), "name"."""
    if order == "date":
        dated = sorted(
            (r for r in results if r.taken_at), key=lambda r: r.taken_at or "", reverse=True
        )
        return dated + [r for r in results if not r.taken_at]
    if order == "name":
        return sorted(results, key=lambda r: (os.path.basename(r.path).lower(), r.path))
    return list(results)


#: Extra SQL filters contributed by feature modules (tags, ...): query -> (clauses, params).
FilterHook = Callable[[SearchQuery], tuple[list[str], list]]
_FILTER_HOOKS: list[FilterHook] = []
#: Fills result details contributed by feature modules (e.g. tags of each result).
ResultHook = Callable[[Catalog, list[SearchResult]], None]
_RESULT_HOOKS: list[ResultHook] = []


#: The feature modules that register hooks here, imported by the first query: a rescan
#: imports this module (pairs, the text stage) but never queries, and the tagging package
#: costs a cold start 20 ms (issue 13). The Library no longer imports it up front.
HOOK_MODULES = ("photosort.core.tagging.hooks",)
_hooks_loaded = False


def load_hooks() -> None:
    """Import the modules that register hooks (once; a query's filters need them)."""
    global _hooks_loaded
    if not _hooks_loaded:
        for name in HOOK_MODULES:
            importlib.import_module(name)
        _hooks_loaded = True


def register_filter(hook: FilterHook) -> None:
    if hook not in _FILTER_HOOKS:
        _FILTER_HOOKS.append(hook)


def register_result_hook(hook: ResultHook) -> None:
    if hook not in _RESULT_HOOKS:
        _RESULT_HOOKS.append(hook)


def filter_clauses(query: SearchQuery) -> tuple[list[str], list]:
    """SQL conditions on ``photos p`` for the query's filters."""
    folders = [  # a root is a folder too: same prefix test
        os.path.abspath(os.path.expanduser(prefix))
        for prefix in (query.root, query.folder)
        if prefix
    ]
    upper = query.date_to
    if upper and "T" not in upper:
        upper += "T99"
    clauses, params = PhotoStore.filter_clauses(folders, query.date_from, upper)
    load_hooks()
    for hook in _FILTER_HOOKS:
        more, more_params = hook(query)
        clauses += more
        params += more_params
    return clauses, params


class Searcher:
    """Runs queries; the model is asked for only when a query has text or a new image."""

    def __init__(
        self,
        catalog: Catalog,
        index: VectorIndex,
        embedder_factory: Callable,
        relevance: Callable[[], Relevance] | None = None,
        text_encoder: Callable | None = None,
        model_id: Callable[[], str] | None = None,
    ):
        self.catalog = catalog
        self.index = index
        self._embedder = embedder_factory
        self._relevance = relevance
        # a text query needs only a text encoder (no torch, see text_onnx.py) and the id
        self._text_encoder = text_encoder or embedder_factory
        self._model_id = model_id or (lambda: embedder_factory().model_id)

    def query_vector(self, query: SearchQuery) -> tuple[np.ndarray, int | None]:
        """The combined query vector, and the catalog id of the query image if it has one."""
        parts: list[tuple[np.ndarray, float]] = []
        own_id = None
        texts = ([Term(query.text)] if query.text else []) + list(query.also)
        texts += [Term(t.text, -abs(t.weight)) for t in query.exclude]
        if texts:
            vecs = self._text_encoder().encode_texts([t.text for t in texts])
            parts += [(v, t.weight) for v, t in zip(vecs, texts, strict=True)]
        if query.image:
            vec, own_id = self._image_vector(query.image)
            parts.append((vec, 1.0))
        if not parts or all(w <= 0 for _, w in parts):
            raise SearchError("nothing to search for: give a text, --image or a positive term")
        combined = np.sum([v * w for v, w in parts], axis=0).astype(np.float32)
        norm = float(np.linalg.norm(combined))
        if norm == 0:
            raise SearchError("the query terms cancel each other out")
        return combined / norm, own_id

    def _image_vector(self, image: str) -> tuple[np.ndarray, int | None]:
        path = os.path.abspath(os.path.expanduser(image))
        row = self.catalog.photo_by_path(path)
        if row is not None:  # a library photo: its stored vector, no model needed
            stored = self.catalog.vector_of(row.id, self._model_id())
            if stored is not None:
                return stored, row.id
        if not os.path.isfile(path):  # said before loading the model, not after
            raise SearchError(f"cannot use {image} as a query: no such file")
        embedder = self._embedder()
        from photosort.core.imaging import DecodeError, decode_photo

        try:
            decoded = decode_photo(path, min_side=embedder.image_size)
        except DecodeError as exc:
            raise SearchError(f"cannot use {image} as a query: {exc}") from exc
        return embedder.encode_pil([decoded.image])[0], row.id if row else None

    def search(self, query: SearchQuery) -> list[SearchResult]:
        clauses, params = filter_clauses(query)
        allowed = None
        if clauses:
            allowed = np.array(PhotoStore(self.catalog).ids_where(clauses, params), np.int64)
        if not query.has_semantic_part:
            return self._listing(clauses, params, query.top)
        vector, own_id = self.query_vector(query)
        if own_id is not None and allowed is not None:
            allowed = allowed[allowed != own_id]
        ids, scores = self.index.search(vector, query.top + (own_id is not None), allowed)
        hits = [(int(i), float(s)) for i, s in zip(ids, scores, strict=True) if i != own_id]
        results = self._results(hits[: query.top])
        if self._relevance is not None and not query.image and results:
            self._calibrate(results)
        return results

    def _calibrate(self, results: list[SearchResult]) -> None:
        """Fill each text result's relevance from its stored vector (one batched read)."""
        relevance = self._relevance() if self._relevance else None
        if relevance is None:
            return
        model = self._model_id()
        vectors = VectorStore(self.catalog).by_id(model, [r.photo_id for r in results])
        known = [r for r in results if r.photo_id in vectors]
        if not known:
            return
        probs = relevance.probabilities(
            np.array([r.score for r in known]), np.stack([vectors[r.photo_id] for r in known])
        )
        for r, p in zip(known, probs, strict=True):
            r.relevance = float(p)

    def _listing(self, clauses: list[str], params: list, top: int) -> list[SearchResult]:
        ids = PhotoStore(self.catalog).newest_ids_where(clauses, params, top)
        return self._results([(pid, 0.0) for pid in ids])

    def _results(self, hits: list[tuple[int, float]]) -> list[SearchResult]:
        if not hits:
            return []
        by_id = PhotoStore(self.catalog).paths_and_dates([h[0] for h in hits])
        results = [
            SearchResult(pid, by_id[pid]["path"], score, by_id[pid]["taken_at"])
            for pid, score in hits
            if pid in by_id
        ]
        load_hooks()
        for hook in _RESULT_HOOKS:
            hook(self.catalog, results)
        return results


def browse(
    catalog: Catalog, query: SearchQuery, order: str = "date", limit: int | None = None
) -> list[int]:
    """Ids of every photo matching the query's filters (the app's grid), in ``order``:
    "date" (newest taken first) or "name" (file name, case-insensitive); a RAW shown
    through its JPEG is left out; the first ``limit`` only, when given."""
    if order not in BROWSE_ORDERS:
        raise LibraryError(f"unknown order {order!r}: use {' or '.join(BROWSE_ORDERS)}")
    clauses, params = filter_clauses(query)
    store = PhotoStore(catalog)
    return store.readable_ids_where([SHOWN, *clauses], params, BROWSE_ORDERS[order], limit)
