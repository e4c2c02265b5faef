"""A module imported on first attribute access, for heavy libraries a command may not need.

faiss takes ~0.1 s to import and a no-change rescan, ``status`` or ``tags`` never touch
the vector index; the modules that may need it name it once and pay only when they do.

numpy is the same for every core module a no-change rescan opens (0.1-0.2 s of a 0.7 s
rescan, issue 13): they write ``from photosort.core.lazy_import import np`` and use it as
usual; the first ``np.`` that runs imports numpy. Type checkers see plain numpy.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

__all__ = ["lazy_module", "np"]


class _LazyModule(ModuleType):
    def __init__(self, name: str):
        super().__init__(name)
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        module = self.__dict__.get("_module")
        if module is None:
            module = importlib.import_module(self.__name__)
            # Later lookups find the real module's names here, at plain attribute speed
            # (``np.float32`` in a loop must not pay a Python call each time).
            names = {k: v for k, v in vars(module).items() if not k.startswith("__")}
            self.__dict__.update(names)
            self.__dict__["_module"] = module
        return getattr(module, attr)


def lazy_module(name: str) -> ModuleType:
    """``name`` as a stand-in module that imports the real one when first used."""
    return _LazyModule(name)


if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_module("numpy")
