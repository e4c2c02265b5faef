"""Prompt vectors: cached in the catalog per model, encoded only when new; ensembles."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from photosort.core.catalog import Catalog
from photosort.core.lazy_import import np
from photosort.core.store import TextVectorStore


def text_vectors(
    catalog: Catalog, model_id: str, prompts: Iterable[str], encode: Callable
) -> dict[str, np.ndarray]:
    """Prompt embeddings from the catalog cache; ``encode`` (the model) only for new ones."""
    wanted = list(dict.fromkeys(prompts))
    cache = TextVectorStore(catalog)
    out = cache.cached(model_id, wanted)
    missing = [p for p in wanted if p not in out]
    if missing:
        vecs = np.asarray(encode(missing), dtype=np.float32)
        if not catalog.read_only:  # a search on a read-only open computes, never stores
            cache.remember(model_id, zip(missing, vecs, strict=True))
        out.update(zip(missing, vecs, strict=True))
    return out


def ensemble(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """Mean of normalised prompt vectors, renormalised (the CLIP paper's prompt ensemble)."""
    mat = np.asarray(vectors, dtype=np.float32)
    mat = mat / np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12)
    mean = mat.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)
