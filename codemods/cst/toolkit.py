"""Everything a rule's LibCST half uses beside LibCST itself, in one place.

A rule module names it lazily (``toolkit = lazy_module(".cst.toolkit",
__package__)``, see :mod:`codemods.lazy`) and reads it inside its methods:
``toolkit.walk(node, visitor)``, ``toolkit.ScopeKind.ASYNC_FUNCTION``.
Its ``AddImportsVisitor`` and ``RemoveImportsVisitor`` take the requests
LibCST's take (``add_needed_import(self.context, "asyncio")``) without
importing LibCST's codemod package (see :mod:`.transformer`).
"""

from __future__ import annotations

from libcst.helpers import get_full_name_for_node
from libcst.metadata import PositionProvider

from ..analysis.names import FRAME_READERS
from .imports import insert_after_imports
from .scope import (
    UNBOUND,
    ModuleDefinitions,
    ParentMap,
    Scope,
    ScopeKind,
    binding_kind,
    binding_scope,
    bound_once,
    function_qualname,
    is_coroutine_function,
    typing_only_imports,
)
from .transformer import AddImportsVisitor, Context, RemoveImportsVisitor
from .traversal import (
    AttributeHooksByTable,
    OwnCalls,
    children,
    descendants,
    in_self_documenting_fstring,
    is_self_documenting,
    reads_frame,
    walk,
)

__all__ = [
    "FRAME_READERS",
    "UNBOUND",
    "AddImportsVisitor",
    "AttributeHooksByTable",
    "Context",
    "ModuleDefinitions",
    "OwnCalls",
    "ParentMap",
    "PositionProvider",
    "RemoveImportsVisitor",
    "Scope",
    "ScopeKind",
    "binding_kind",
    "binding_scope",
    "bound_once",
    "children",
    "descendants",
    "function_qualname",
    "get_full_name_for_node",
    "in_self_documenting_fstring",
    "insert_after_imports",
    "is_coroutine_function",
    "is_self_documenting",
    "reads_frame",
    "typing_only_imports",
    "walk",
]
