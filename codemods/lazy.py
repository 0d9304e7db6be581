"""A module imported on first use.

Rule modules, and the shared analysis their screens use, are imported for
every run; LibCST (a quarter of a second to import) only for the files that
reach it. Such a module names LibCST and the LibCST stage through
:func:`lazy_module`, and only inside functions and methods::

    cst = lazy_module("libcst")

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if isinstance(updated_node.func, cst.Attribute): ...

(With ``from __future__ import annotations``, annotations are never
evaluated.) Nothing at module level may touch such a module's attributes:
not a base class, a default argument or a constant.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any


class LazyModule(types.ModuleType):
    """Stands for the module ``__name__`` until an attribute is read; then
    imports it and takes its namespace."""

    def __getattr__(self, name: str) -> Any:
        module = importlib.import_module(self.__name__)
        # Later reads find the names here without coming back.
        self.__dict__.update(module.__dict__)
        return getattr(module, name)

    def __repr__(self) -> str:
        return f"<lazy module {self.__name__!r}>"


def lazy_module(name: str, package: str | None = None) -> types.ModuleType:
    """The module ``name`` (relative to ``package`` when it starts with a
    dot), imported when one of its attributes is first read."""
    absolute = importlib.util.resolve_name(name, package) if name.startswith(".") else name
    loaded = sys.modules.get(absolute)
    if loaded is not None:
        return loaded
    return LazyModule(absolute)


__all__ = ["LazyModule", "lazy_module"]
