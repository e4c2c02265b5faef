"""A module imported on first attribute access, for heavy libraries a command may not need.

faiss takes ~0.1 s to import and a no-change rescan, ``status`` or ``tags`` never touch
the vector index; the modules that may need it name it once and pay only when they do.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


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
            self.__dict__["_module"] = module
        return getattr(module, attr)


def lazy_module(name: str) -> ModuleType:
    """``name`` as a stand-in module that imports the real one when first used."""
    return _LazyModule(name)
