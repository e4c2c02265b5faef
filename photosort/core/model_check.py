"""Which model a library's vectors came from, and a clear message when a search uses another.

Vectors of different models live in different spaces: searching a library indexed with
ViT-B-32 with any other model finds nothing, silently. The library records the spec of
every model whose vectors it stores (meta ``spec:<model id>``); a query with a model that
has no vectors while another one has some is refused with one line saying what to do.
"""

from __future__ import annotations

from collections.abc import Callable

from photosort.core.catalog import Catalog
from photosort.core.embedder import ModelSpec, check_model_name
from photosort.core.search import SearchError
from photosort.core.store import VectorStore


class ModelMismatchError(SearchError):
    """The photos were indexed with another model than the one asked for."""


def remember_spec(catalog: Catalog, model_id: str, spec: str) -> None:
    """Record that ``model_id`` is what ``spec`` loads (so a message can name the spec)."""
    if catalog.get_meta(f"spec:{model_id}") != spec:
        catalog.set_meta(f"spec:{model_id}", spec)


def is_foreign(catalog: Catalog, model_id: str) -> bool:
    """True when the library holds vectors, none of them from ``model_id``."""
    counts = vector_models(catalog)
    return bool(counts) and not counts.get(model_id)


def vector_models(catalog: Catalog) -> dict[str, int]:
    """Stored vectors per model id."""
    return VectorStore(catalog).count_by_model()


def check(catalog: Catalog, model_id: str, spec: str) -> None:
    """Raise ModelMismatchError when only other models' vectors exist."""
    counts = vector_models(catalog)
    if counts.get(model_id) or not counts:
        return
    other = max(counts, key=lambda model: counts[model])
    other_spec = catalog.get_meta(f"spec:{other}") or other
    raise ModelMismatchError(
        f"the photos were indexed with the model {other_spec}, not {spec}: search with "
        f"--model {other_spec}, or re-index them with: photosort reindex --model {spec}"
    )


def check_for_search(
    catalog: Catalog, spec: ModelSpec, loaded: bool, model_id: Callable[[], str]
) -> None:
    """Before a search by meaning: a mistyped hub model is named first (not a mismatch),
    then another model's vectors are refused (``loaded``: the model is in memory)."""
    if spec.local_dir is None and not loaded and catalog.get_meta("model") != str(spec):
        check_model_name(spec)
    check(catalog, model_id(), str(spec))
