"""Shared analysis: lexical scopes, name resolution from a file's own imports.

LibCST's ``ScopeProvider`` and ``QualifiedNameProvider`` are exact but cost
many times a parse. asyncmend needs less: for a name at a site, is it bound by
an import of a known module (``time``, ``t`` from ``import time as t``, ``nap``
from ``from time import sleep as nap``), by anything else, or not at all; and may
an ``await`` stand there. One visitor pass answers both for every node.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterator

import libcst as cst
from libcst.metadata import VisitorMetadataProvider


class ScopeKind(enum.Enum):
    MODULE = "module"
    FUNCTION = "function"
    ASYNC_FUNCTION = "async function"
    LAMBDA = "lambda"
    CLASS = "class"
    COMPREHENSION = "comprehension"  # list, set and dict comprehensions
    GENERATOR = "generator expression"
    # Parameter defaults and annotations: evaluated in the enclosing scope, but
    # never a place asyncmend rewrites.
    HEADER = "header"


class _Unbound:
    def __repr__(self) -> str:
        return "UNBOUND"


#: ``Scope.lookup`` result for a name bound nowhere (a builtin, or a NameError).
UNBOUND = _Unbound()


@dataclass(eq=False)
class Scope:
    kind: ScopeKind
    node: cst.CSTNode | None
    parent: Scope | None
    # name -> the import origin of each binding ("time", "time.sleep"), or
    # None for a binding that is not an import (assignment, def, parameter...).
    bindings: dict[str, list[str | None]] = field(default_factory=dict)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    star_import: bool = False

    # -- structure ----------------------------------------------------------

    @property
    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def function(self) -> Scope:
        """The innermost scope that is not a comprehension, header or class."""
        scope = self
        while scope.kind in (
            ScopeKind.COMPREHENSION,
            ScopeKind.GENERATOR,
            ScopeKind.HEADER,
        ) and scope.parent is not None:
            scope = scope.parent
        return scope

    @property
    def await_allowed(self) -> bool:
        """Whether an ``await`` here is legal and means what it says.

        List, set and dict comprehensions inside ``async def`` may await. A
        generator expression may not: an ``await`` turns it into an async
        generator, which ``sum()`` or ``any()`` cannot consume. A nested plain
        ``def``, a lambda or a class body cannot contain ``await`` at all.
        """
        scope = self
        while scope.kind is ScopeKind.COMPREHENSION and scope.parent is not None:
            scope = scope.parent
        return scope.kind is ScopeKind.ASYNC_FUNCTION

    def enclosing_async_function(self) -> cst.FunctionDef | None:
        scope = self
        while scope is not None:
            if scope.kind is ScopeKind.ASYNC_FUNCTION:
                assert isinstance(scope.node, cst.FunctionDef)
                return scope.node
            if scope.kind not in (ScopeKind.COMPREHENSION,):
                return None
            scope = scope.parent
        return None

    # -- name resolution ----------------------------------------------------

    def _binding_scope(self, name: str) -> Scope | None:
        scope: Scope | None = self
        innermost = True
        while scope is not None:
            if scope.kind is ScopeKind.HEADER:
                scope = scope.parent
                continue
            # A class body's names are not visible from the functions inside it.
            if scope.kind is ScopeKind.CLASS and not innermost:
                scope = scope.parent
                continue
            if name in scope.globals:
                module = scope.module
                return module if name in module.bindings else None
            if name in scope.bindings and name not in scope.nonlocals:
                return scope
            innermost = False
            scope = scope.parent
        return None

    def lookup(self, name: str) -> str | None | _Unbound:
        """Resolve ``name`` as seen from this scope.

        Returns the import origin when every binding of the name in the scope
        that owns it is an import of that same origin; ``None`` when the name
        is bound some other way (or ambiguously); ``UNBOUND`` when nothing
        binds it (and no ``from x import *`` could).
        """
        owner = self._binding_scope(name)
        if owner is None:
            return None if self.module.star_import else UNBOUND
        origins = set(owner.bindings[name])
        if len(origins) == 1:
            return next(iter(origins))
        return None

    def qualified_name(self, expr: cst.BaseExpression) -> str | None:
        """``time.sleep`` for ``t.sleep`` after ``import time as t``, and so on.

        Only names that resolve to imports have a qualified name; anything
        else (a local, a parameter, a call result) is ``None``.
        """
        if isinstance(expr, cst.Name):
            origin = self.lookup(expr.value)
            return origin if isinstance(origin, str) else None
        if isinstance(expr, cst.Attribute):
            base = self.qualified_name(expr.value)
            return f"{base}.{expr.attr.value}" if base is not None else None
        return None

    def module_alias(self, module: str) -> tuple[str, bool] | None:
        """The name that refers to ``module`` here, and whether it must be imported.

        Reuses an existing module-level ``import module [as alias]``; otherwise
        offers ``module`` itself if that name is free here. ``None`` when the
        name is taken by something else.
        """
        top = self.module
        candidates = [
            name
            for name, origins in top.bindings.items()
            if set(origins) == {module}
        ]
        candidates.sort(key=lambda name: (name != module, name))
        for name in candidates:
            if self.lookup(name) == module:
                return name, False
        if self.lookup(module) is UNBOUND:
            return module, True
        return None

    def imports_any(self, prefixes: tuple[str, ...]) -> bool:
        """Whether the module imports any of these modules (or from them)."""
        for origins in self.module.bindings.values():
            for origin in origins:
                if origin is not None and origin.split(".")[0] in prefixes:
                    return True
        return False


def target_names(target: cst.BaseExpression) -> Iterator[cst.Name]:
    """The names an assignment target binds (``a, (b, *c) = ...`` -> a, b, c)."""
    if isinstance(target, cst.Name):
        yield target
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from target_names(target.value)


class LexicalScopeProvider(VisitorMetadataProvider[Scope]):
    """Maps every node to the :class:`Scope` it is evaluated in."""

    def __init__(self) -> None:
        super().__init__()
        self.current: Scope = Scope(ScopeKind.MODULE, None, None)
        self._pending: dict[cst.CSTNode, Scope] = {}
        self._header_return: list[Scope] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.set_metadata(node, self.current)
        return super().on_visit(node)

    # -- scope changes ------------------------------------------------------

    def _push(self, scope: Scope) -> None:
        self.current = scope

    def _pop(self) -> None:
        assert self.current.parent is not None
        self.current = self.current.parent

    def _new(self, kind: ScopeKind, node: cst.CSTNode) -> Scope:
        return Scope(kind, node, self.current)

    def visit_Module(self, node: cst.Module) -> None:
        self.current.node = node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._bind(node.name.value, None)
        kind = ScopeKind.ASYNC_FUNCTION if node.asynchronous else ScopeKind.FUNCTION
        self._pending[node] = self._new(kind, node)

    # Parameters and body share one scope; the return annotation between them
    # is evaluated outside it.
    def visit_FunctionDef_params(self, node: cst.FunctionDef) -> None:
        self._push(self._pending[node])

    def leave_FunctionDef_params(self, node: cst.FunctionDef) -> None:
        self._pop()

    def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self._push(self._pending.pop(node))

    def leave_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self._pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._pending[node] = self._new(ScopeKind.LAMBDA, node)

    def visit_Lambda_params(self, node: cst.Lambda) -> None:
        self._push(self._pending[node])

    def leave_Lambda_params(self, node: cst.Lambda) -> None:
        self._pop()

    def visit_Lambda_body(self, node: cst.Lambda) -> None:
        self._push(self._pending.pop(node))

    def leave_Lambda_body(self, node: cst.Lambda) -> None:
        self._pop()

    def _enter_header(self) -> None:
        self._header_return.append(self.current)
        # A default or annotation is evaluated outside the function it belongs to.
        self.current = Scope(ScopeKind.HEADER, None, self.current.parent or self.current)

    def _leave_header(self) -> None:
        self.current = self._header_return.pop()

    def visit_Param(self, node: cst.Param) -> None:
        self._bind(node.name.value, None)

    def visit_Param_default(self, node: cst.Param) -> None:
        self._enter_header()

    def leave_Param_default(self, node: cst.Param) -> None:
        self._leave_header()

    def visit_Param_annotation(self, node: cst.Param) -> None:
        self._enter_header()

    def leave_Param_annotation(self, node: cst.Param) -> None:
        self._leave_header()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bind(node.name.value, None)

    def visit_ClassDef_body(self, node: cst.ClassDef) -> None:
        self._push(self._new(ScopeKind.CLASS, node))

    def leave_ClassDef_body(self, node: cst.ClassDef) -> None:
        self._pop()

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._push(self._new(ScopeKind.COMPREHENSION, node))

    def leave_ListComp(self, node: cst.ListComp) -> None:
        self._pop()

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._push(self._new(ScopeKind.COMPREHENSION, node))

    def leave_SetComp(self, node: cst.SetComp) -> None:
        self._pop()

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._push(self._new(ScopeKind.COMPREHENSION, node))

    def leave_DictComp(self, node: cst.DictComp) -> None:
        self._pop()

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._push(self._new(ScopeKind.GENERATOR, node))

    def leave_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._pop()

    # -- bindings -----------------------------------------------------------

    def _bind(self, name: str, origin: str | None, scope: Scope | None = None) -> None:
        (scope or self.current).bindings.setdefault(name, []).append(origin)

    def _bind_target(self, target: cst.BaseExpression, scope: Scope | None = None) -> None:
        for name in target_names(target):
            self._bind(name.value, None, scope)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._bind_target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind_target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind_target(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._bind_target(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bind_target(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind_target(node.asname.name)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._bind_target(node.name.name)

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        if node.name is not None:
            self._bind_target(node.name.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        # A walrus in a comprehension binds in the enclosing function.
        self._bind_target(node.target, self.current.function())

    def visit_Del(self, node: cst.Del) -> None:
        self._bind_target(node.target)

    def visit_Global(self, node: cst.Global) -> None:
        self.current.globals.update(item.name.value for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.current.nonlocals.update(item.name.value for item in node.names)

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        if node.name is not None:
            self._bind(node.name.value, None)

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        if node.name is not None:
            self._bind(node.name.value, None)

    def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
        if node.rest is not None:
            self._bind(node.rest.value, None)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = _dotted(alias.name)
            if alias.asname is not None:
                if isinstance(alias.asname.name, cst.Name):
                    self._bind(alias.asname.name.value, dotted)
            else:
                # ``import a.b`` binds ``a``.
                top = dotted.split(".")[0]
                self._bind(top, top)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            self.current.star_import = True
            return
        base = "." * len(node.relative) + (_dotted(node.module) if node.module else "")
        for alias in node.names:
            imported = _dotted(alias.name)
            origin = f"{base}.{imported}" if not base.endswith(".") else base + imported
            target = alias.asname.name if alias.asname is not None else alias.name
            if isinstance(target, cst.Name):
                self._bind(target.value, origin)


def _dotted(expr: cst.BaseExpression) -> str:
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return f"{_dotted(expr.value)}.{expr.attr.value}"
    raise TypeError(f"not a dotted name: {expr!r}")


# ---------------------------------------------------------------------------
# Whole-module facts: parents, the scope that owns a name, single bindings.
# Used by rules that must see every use of a name before rewriting one
# (AM401 thread-local) or find the one value a name was bound to (AM402).
# ---------------------------------------------------------------------------


class ParentMap(cst.CSTVisitor):
    """Every node of a module mapped to its parent (original nodes)."""

    def __init__(self) -> None:
        super().__init__()
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self._stack: list[cst.CSTNode] = []

    @classmethod
    def of(cls, module: cst.Module) -> dict[cst.CSTNode, cst.CSTNode]:
        visitor = cls()
        module.visit(visitor)
        return visitor.parents

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._stack:
            self.parents[node] = self._stack[-1]
        self._stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self._stack.pop()


def binding_scope(scope: Scope, name: str) -> Scope | None:
    """The scope whose binding of ``name`` is seen from ``scope`` (None: unbound)."""
    return scope._binding_scope(name)


def bound_once(scope: Scope, name: str) -> Scope | None:
    """The owning scope of ``name`` if that scope binds it exactly once.

    A name rebound anywhere in its scope (a second assignment, ``global`` in a
    function, a loop target) cannot be traced to one value.
    """
    owner = binding_scope(scope, name)
    if owner is None or len(owner.bindings.get(name, ())) != 1:
        return None
    return owner
