"""Lexical scopes and name resolution from a file's own imports, on LibCST.

LibCST's ``ScopeProvider`` and ``QualifiedNameProvider`` are exact but cost
many times a parse. asyncmend needs less: for a name at a site, is it bound by
an import of a known module (``time``, ``t`` from ``import time as t``, ``nap``
from ``from time import sleep as nap``), by anything else, or not at all; and may
an ``await`` stand there. One visitor pass answers both for every node.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import VisitorMetadataProvider

from .traversal import AttributeHooksByTable, Dispatch, walk


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
    # Names bound by ``import a`` / ``import a.b as c``: certainly modules.
    # A ``from a import b`` may bind a module, a class or any object.
    module_imports: set[str] = field(default_factory=set)
    # Of the module scope: the first name of every module an import of the
    # file names, in any scope (``def main(): import trio`` included).
    imported_anywhere: set[str] = field(default_factory=set)
    # Of the module scope, built at its first use by module_alias (the
    # scopes are complete by then): what module_alias asks of every binding
    # and every statement, answered per finding without a walk.
    _aliases: _ModuleAliases | None = field(default=None, init=False, repr=False)

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

    def is_module(self, name: str) -> bool:
        """Whether ``name`` certainly is a module: every binding of it is an
        ``import`` statement (not ``from ... import``) of one module."""
        owner = self._binding_scope(name)
        return owner is not None and name in owner.module_imports and isinstance(self.lookup(name), str)

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

    def module_alias(self, module: str, before: cst.CSTNode | None = None) -> tuple[str, bool] | None:
        """The name that refers to ``module`` here, and whether it must be imported.

        Reuses a module-level ``import module [as alias]`` that certainly runs
        before any function of the module can: a statement of the module's
        own body, not one under ``if`` (``TYPE_CHECKING``, a platform test),
        ``try`` or any other block, and, with ``before`` (a statement of the
        module body), one that stands above it. Otherwise offers ``module``
        itself if that name is free here. ``None`` when the name is taken by
        something else, or bound to the module only where it may not run.
        """
        top = self.module
        aliases = top._aliases
        if aliases is None:
            aliases = top._aliases = _ModuleAliases(top)
        candidates = sorted(aliases.bound_only_to.get(module, ()), key=lambda name: (name != module, name))
        for name in candidates:
            if self.lookup(name) == module and aliases.imported_first(name, module, before):
                return name, False
        if self.lookup(module) is UNBOUND:
            return module, True
        return None

    def imports_any(self, prefixes: tuple[str, ...]) -> bool:
        """Whether the file imports any of these modules (or from them),
        anywhere: at module level or inside a function or class."""
        return not self.module.imported_anywhere.isdisjoint(prefixes)


class _ModuleAliases:
    """What :meth:`Scope.module_alias` asks of a module, found in one look:
    each module's names (those every binding of which imports it), and the
    first statement of the module's own body that runs ``import module``
    binding a name. Asked per finding, a walk of the bindings and of the
    body up to the finding made a file's cost grow with the square of its
    findings."""

    def __init__(self, scope: Scope) -> None:
        self.bound_only_to: dict[str, list[str]] = {}
        for name, origins in scope.bindings.items():
            distinct = set(origins)
            if len(distinct) == 1:
                (origin,) = distinct
                if origin is not None:
                    self.bound_only_to.setdefault(origin, []).append(name)
        self._index: dict[int, int] = {}
        self._first: dict[tuple[str, str], int] = {}
        body = scope.node.body if isinstance(scope.node, cst.Module) else None
        self._known = body is not None
        for index, statement in enumerate(body or ()):
            self._index[id(statement)] = index
            for line in _run_at_import(statement):
                for bound in _imported_names(line):
                    self._first.setdefault(bound, index)

    def imported_first(self, name: str, imported: str, before: cst.CSTNode | None) -> bool:
        """Whether a statement of the module's own body, above ``before``
        when given, is ``import imported`` binding ``name``."""
        first = self._first.get((name, imported))
        if not self._known or first is None:
            return False
        return before is None or first < self._index.get(id(before), len(self._index))


def _run_at_import(statement: cst.BaseStatement) -> Iterator[cst.SimpleStatementLine]:
    """The simple statements of a module-level statement that certainly run:
    itself, or the ``else:`` block of ``if TYPE_CHECKING:``."""
    if isinstance(statement, cst.SimpleStatementLine):
        yield statement
    elif (
        isinstance(statement, cst.If)
        and isinstance(statement.orelse, cst.Else)
        and _dotted_or_none(statement.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
    ):
        for inner in statement.orelse.body.body:
            if isinstance(inner, cst.SimpleStatementLine):
                yield inner


def _dotted_or_none(expr: cst.BaseExpression) -> str | None:
    try:
        return _dotted(expr)
    except TypeError:
        return None


def _imported_names(statement: cst.SimpleStatementLine) -> Iterator[tuple[str, str]]:
    """``(name, module)`` for each ``import module`` of ``statement`` that
    binds ``name`` to that module (``import a.b`` binds no name to ``a.b``)."""
    for small in statement.body:
        if not isinstance(small, cst.Import):
            continue
        for alias in small.names:
            dotted = _dotted(alias.name)
            if alias.asname is not None:
                if isinstance(alias.asname.name, cst.Name):
                    yield alias.asname.name.value, dotted
            elif "." not in dotted:
                yield dotted, dotted


def target_names(target: cst.BaseExpression) -> Iterator[cst.Name]:
    """The names an assignment target binds (``a, (b, *c) = ...`` -> a, b, c)."""
    if isinstance(target, cst.Name):
        yield target
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from target_names(target.value)


class LexicalScopeProvider(AttributeHooksByTable, VisitorMetadataProvider[Scope]):
    """Maps every node to the :class:`Scope` it is evaluated in."""

    def __init__(self) -> None:
        super().__init__()
        self.current: Scope = Scope(ScopeKind.MODULE, None, None)
        self._pending: dict[cst.CSTNode, Scope] = {}
        self._header_return: list[Scope] = []
        self._dispatch = Dispatch.of(type(self))
        self._visits = self._dispatch.visits
        # Bindings of names a nested scope declared ``nonlocal``: given to the
        # scope that owns the name once the whole module is seen (the
        # enclosing function may bind it only further down).
        self._nonlocal_bindings: list[tuple[Scope, str, str | None]] = []

    @classmethod
    def scopes_of(cls, module: cst.Module) -> Mapping[cst.CSTNode, Scope]:
        """Every node's scope, by one walk of ``module`` (as the provider
        gives them through a ``MetadataWrapper``, without the wrapper)."""
        provider = cls()
        walk(module, provider)
        return provider._computed

    def on_visit(self, node: cst.CSTNode) -> bool:
        # What set_metadata and CSTVisitor.on_visit do, with the hook found
        # in a table rather than by building its name (every node passes here).
        self._computed[node] = self.current
        node_type = type(node)
        visits = self._visits
        function = visits[node_type] if node_type in visits else self._dispatch.hook(
            visits, type(self), "visit", node_type
        )
        return function is None or function(self, node) is not False

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

    def leave_Module(self, original_node: cst.Module) -> None:
        for scope, name, origin in self._nonlocal_bindings:
            owner = scope.parent
            while owner is not None and (
                owner.kind not in (ScopeKind.FUNCTION, ScopeKind.ASYNC_FUNCTION, ScopeKind.LAMBDA)
                or name in owner.nonlocals
                or name not in owner.bindings
            ):
                owner = owner.parent
            if owner is not None:  # else not valid Python: the symbol pass rejects it
                owner.bindings[name].append(origin)

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
        scope = scope or self.current
        # A name declared ``global`` or ``nonlocal`` is bound in the scope it
        # belongs to: ``global sleep; sleep = fake`` in one function rebinds
        # the module's ``sleep`` for every other function too.
        if name in scope.globals:
            scope = scope.module
        elif name in scope.nonlocals:
            self._nonlocal_bindings.append((scope, name, origin))
            return
        scope.bindings.setdefault(name, []).append(origin)

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
            self.current.module.imported_anywhere.add(dotted.split(".")[0])
            if alias.asname is not None:
                if isinstance(alias.asname.name, cst.Name):
                    self._bind(alias.asname.name.value, dotted)
                    self.current.module_imports.add(alias.asname.name.value)
            else:
                # ``import a.b`` binds ``a``.
                top = dotted.split(".")[0]
                self._bind(top, top)
                self.current.module_imports.add(top)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if not node.relative and node.module is not None:
            self.current.module.imported_anywhere.add(_dotted(node.module).split(".")[0])
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


# ======================================================================


# Definitions of a module: which names are coroutine functions and methods.
# (Used by AM301 dangling-task and AM302 missing-await.)
# =============================================================================


def binding_scope(scope: Scope, name: str) -> Scope | None:
    """The scope that owns the binding of ``name`` as seen from ``scope``
    (``None``: bound nowhere, or only through a ``global`` of an unbound name)."""
    return scope._binding_scope(name)


def _decorator_names(node: cst.FunctionDef) -> set[str]:
    return {
        d.decorator.value for d in node.decorators if isinstance(d.decorator, cst.Name)
    }


class _YieldFinder(AttributeHooksByTable, cst.CSTVisitor):
    """Whether a function's own body yields (nested scopes do not count)."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def visit_Yield(self, node: cst.Yield) -> bool:
        self.found = True
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


def is_coroutine_function(node: cst.FunctionDef) -> bool:
    """Whether calling ``node`` certainly returns a coroutine.

    An ``async def`` with a ``yield`` is an async generator, which is not
    awaitable; any decorator may replace the function with something else
    (``@asynccontextmanager``, a task-queue wrapper), so only an undecorated
    ``async def`` counts.
    """
    if node.asynchronous is None or node.decorators:
        return False
    finder = _YieldFinder()
    walk(node.body, finder)
    return not finder.found


class _DefinitionCollector(AttributeHooksByTable, cst.CSTVisitor):
    def __init__(self, scope_of: Callable[[cst.CSTNode], Scope]) -> None:
        super().__init__()
        self.scope_of = scope_of
        self.defs: dict[Scope, dict[str, list[cst.CSTNode]]] = {}
        self.class_scopes: dict[cst.ClassDef, Scope] = {}
        self.rebound: set[str] = set()  # names in ``global`` / ``nonlocal``
        self.attribute_stores: set[str] = set()
        # Calls of ``globals()`` (or ``vars()``, the same dict at module
        # level), and those only read through a subscript: any other use
        # (``globals()["f"] = g``, ``.update``, a name bound to the dict) may
        # rebind any module-level name.
        self.namespace_calls = 0
        self.namespace_reads = 0
        # ``exec``/``eval``, a ``__dict__`` or ``vars(obj)``: code that may
        # bind any name of the module or of any object.
        self.dynamic = False
        # The last part of each string that reads as a dotted name
        # (``"flush"``, ``"app.flush"``): ``mock.patch``, ``setattr`` through
        # a variable or ``globals()[...]`` may bind the name it spells.
        self.string_names: set[str] = set()

    def _define(self, node: cst.FunctionDef | cst.ClassDef) -> None:
        scope = self.scope_of(node)
        self.defs.setdefault(scope, {}).setdefault(node.name.value, []).append(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._define(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._define(node)
        self.class_scopes[node] = self.scope_of(node.body)

    def visit_Global(self, node: cst.Global) -> None:
        self.rebound.update(item.name.value for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.rebound.update(item.name.value for item in node.names)

    def _store(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Attribute):
            self.attribute_stores.add(target.attr.value)
            if target.attr.value.startswith("__"):
                # ``f.__code__ = ...``, ``self.__class__ = Other``: what any
                # call of the module reaches may change.
                self.attribute_stores.add("*")
        elif isinstance(target, cst.Subscript) and _is_namespace_call(target.value):
            self.namespace_reads -= 1  # counted as a read by visit_Subscript
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._store(element.value)
        elif isinstance(target, cst.StarredElement):
            self._store(target.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._store(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._store(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._store(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._store(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._store(node.asname.name)

    def visit_Del(self, node: cst.Del) -> None:
        self._store(node.target)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if _is_namespace_call(node.value):
            self.namespace_reads += 1

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "__dict__":
            self.dynamic = True

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = node.evaluated_value
        if isinstance(value, str) and _DOTTED_NAME.fullmatch(value):
            self.string_names.add(value.rsplit(".", 1)[-1])

    def visit_Call(self, node: cst.Call) -> None:
        if _is_namespace_call(node):
            self.namespace_calls += 1
        if isinstance(node.func, cst.Name) and (
            node.func.value in ("exec", "eval") or (node.func.value == "vars" and node.args)
        ):
            self.dynamic = True
        # ``setattr(obj, "save", ...)``, ``type.__setattr__(cls, "save", ...)``
        # or ``self.__setattr__("save", ...)`` can replace a method as well:
        # any call of something named so counts, with the string among its
        # first two arguments as the name (any name when there is none).
        func = node.func
        if (isinstance(func, cst.Name) and func.value == "setattr") or (
            isinstance(func, cst.Attribute) and func.attr.value in ("setattr", "__setattr__")
        ):
            names = [
                arg.value.evaluated_value
                for arg in node.args[:2]
                if not arg.star and isinstance(arg.value, cst.SimpleString)
                and isinstance(arg.value.evaluated_value, str)
            ]
            if names and not any(arg.star for arg in node.args[:2]):
                self.attribute_stores.update(names)
            else:
                self.attribute_stores.add("*")


_DOTTED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def _is_namespace_call(node: cst.BaseExpression) -> bool:
    """Whether ``node`` is ``globals()`` or ``vars()``."""
    return (
        isinstance(node, cst.Call)
        and not node.args
        and isinstance(node.func, cst.Name)
        and node.func.value in ("globals", "vars")
    )


class ModuleDefinitions:
    """The functions and classes a module defines, to tell which calls
    certainly create a coroutine.

    Resolution is exact or nothing: a name bound twice, named in ``global`` or
    ``nonlocal``, a module-level name in a module that writes to
    ``globals()`` or has a star import, a decorated def, a class with several
    bases or a metaclass (its own or a base's), a ``__getattribute__`` in any
    class, an attribute of that name assigned anywhere in the module: each
    makes the answer "unknown" (``None``).
    """

    def __init__(self, module: cst.Module, scope_of: Callable[[cst.CSTNode], Scope]) -> None:
        collector = _DefinitionCollector(scope_of)
        walk(module, collector)
        self._scope_of = scope_of
        self._defs = collector.defs
        self._class_scopes = collector.class_scopes
        self._rebound = collector.rebound
        self._attribute_stores = collector.attribute_stores
        # ``globals()["flush"] = ...`` may rebind any module-level name.
        self._namespace_written = collector.namespace_calls > collector.namespace_reads
        self._dynamic = collector.dynamic
        self._string_names = collector.string_names
        # Attribute names some class of the module binds to anything but a
        # coroutine function: ``self.name()`` may reach that one in a subclass.
        self._other_class_attributes: set[str] = set()
        # A ``__getattribute__`` of any class of the module (a base, or a
        # subclass that ``self`` may be an instance of) sees every
        # ``self.name`` first and may return anything.
        self._getattribute = any(
            "__getattribute__" in class_scope.bindings for class_scope in self._class_scopes.values()
        )
        for class_scope in self._class_scopes.values():
            for name, origins in class_scope.bindings.items():
                nodes = self._defs.get(class_scope, {}).get(name, [])
                if not (
                    len(origins) == 1
                    and len(nodes) == 1
                    and isinstance(nodes[0], cst.FunctionDef)
                    and is_coroutine_function(nodes[0])
                ):
                    self._other_class_attributes.add(name)

    def _single_def(self, scope: Scope, name: str) -> cst.CSTNode | None:
        owner = binding_scope(scope, name)
        if owner is None or name in self._rebound or len(owner.bindings.get(name, ())) != 1:
            return None
        if self._dynamic or name in self._string_names:
            return None
        if owner.kind is ScopeKind.MODULE and (
            self._namespace_written
            or owner.star_import
            or name in self._attribute_stores
            or "*" in self._attribute_stores
        ):
            # ``from x import *`` may rebind any module-level name, below the
            # def as well as above it; so may an attribute store on the module
            # object (``sys.modules[__name__].f = g``, ``setattr(mod, "f", g)``).
            return None
        nodes = self._defs.get(owner, {}).get(name, [])
        return nodes[0] if len(nodes) == 1 else None

    def coroutine_function(self, scope: Scope, name: str) -> cst.FunctionDef | None:
        """The ``async def`` that ``name`` certainly is when called from ``scope``."""
        node = self._single_def(scope, name)
        if isinstance(node, cst.FunctionDef) and is_coroutine_function(node):
            return node
        return None

    def coroutine_method(self, scope: Scope, receiver: str, name: str) -> cst.FunctionDef | None:
        """The ``async def`` that ``receiver.name`` certainly is, seen from
        ``scope``, when ``receiver`` is the ``self`` of a method of a class
        of this module (and is never rebound)."""
        if name in self._attribute_stores or "*" in self._attribute_stores:
            return None
        if self._dynamic or name in self._string_names:
            return None
        if name in self._other_class_attributes or self._getattribute:
            return None
        method_scope = binding_scope(scope, receiver)
        if (
            method_scope is None
            or method_scope.kind not in (ScopeKind.FUNCTION, ScopeKind.ASYNC_FUNCTION)
            or len(method_scope.bindings.get(receiver, ())) != 1
            or receiver in self._rebound
            or method_scope.parent is None
            or method_scope.parent.kind is not ScopeKind.CLASS
        ):
            return None
        method = method_scope.node
        assert isinstance(method, cst.FunctionDef)
        if _decorator_names(method) & {"staticmethod", "classmethod"}:
            return None
        params = [*method.params.posonly_params, *method.params.params]
        if not params or params[0].name.value != receiver:
            return None
        owner = method_scope.parent.node
        assert isinstance(owner, cst.ClassDef)
        return self._class_lookup(owner, name, set())

    def _class_lookup(self, cls: cst.ClassDef, name: str, seen: set[cst.ClassDef]) -> cst.FunctionDef | None:
        if cls in seen or cls.keywords or cls.decorators:
            # A cycle cannot happen at run time; a metaclass may do anything,
            # and a class decorator may replace any method of the class.
            return None
        seen.add(cls)
        body = self._class_scopes.get(cls)
        if body is None or {"__getattr__", "__getattribute__"} & body.bindings.keys():
            return None
        if name in body.bindings:
            nodes = self._defs.get(body, {}).get(name, [])
            if len(body.bindings[name]) == 1 and len(nodes) == 1:
                node = nodes[0]
                if isinstance(node, cst.FunctionDef) and is_coroutine_function(node) and self._plain_ancestry(cls, set()):
                    return node
            return None
        # Several bases would need the MRO; one base of this module is exact.
        if len(cls.bases) != 1:
            return None
        base = cls.bases[0]
        if base.star or not isinstance(base.value, cst.Name):
            return None
        base_def = self._single_def(self._scope_of(cls), base.value.value)
        if not isinstance(base_def, cst.ClassDef):
            return None
        return self._class_lookup(base_def, name, seen)

    def _plain_ancestry(self, cls: cst.ClassDef, seen: set[cst.ClassDef]) -> bool:
        """Whether no base of ``cls`` defined in this module has a metaclass:
        a metaclass is inherited, and its ``__new__`` may replace any method
        of every subclass (``class Base(metaclass=M)`` above ``class A(Base)``)."""
        if cls in seen:
            return False
        seen.add(cls)
        for base in cls.bases:
            if base.star or not isinstance(base.value, cst.Name):
                continue
            base_def = self._single_def(self._scope_of(cls), base.value.value)
            if isinstance(base_def, cst.ClassDef) and (
                base_def.keywords or not self._plain_ancestry(base_def, seen)
            ):
                return False
        return True


# -- read and write sets of a statement ---------------------------------------

def function_qualname(scope: Scope) -> str | None:
    """The qualified name the project model gives the function ``scope``
    is in (``f``, ``Class.method``, ``f.<locals>.inner``); ``None`` where
    the model keeps no facts (a class inside a function, a lambda)."""
    chain: list[tuple[ScopeKind, str]] = []
    current: Scope | None = scope
    while current is not None and current.kind is not ScopeKind.MODULE:
        node = current.node
        if current.kind in (ScopeKind.FUNCTION, ScopeKind.ASYNC_FUNCTION) and isinstance(node, cst.FunctionDef):
            chain.append((current.kind, node.name.value))
        elif current.kind is ScopeKind.CLASS and isinstance(node, cst.ClassDef):
            chain.append((current.kind, node.name.value))
        elif current.kind in (ScopeKind.LAMBDA, ScopeKind.HEADER):
            return None
        current = current.parent
    return qualname_of(list(reversed(chain)))


def qualname_of(chain: list[tuple[ScopeKind, str]]) -> str | None:
    """``[(CLASS, "C"), (FUNCTION, "m")]`` -> "C.m" (see function_qualname)."""
    if not chain or chain[-1][0] is ScopeKind.CLASS:
        return None
    name = ""
    for index, (kind, part) in enumerate(chain):
        if kind is ScopeKind.CLASS:
            if index:
                return None  # a class inside a function
            name = part
        elif not name:
            name = part
        elif chain[index - 1][0] is ScopeKind.CLASS:
            name = f"{name}.{part}"
        else:
            name = f"{name}.<locals>.{part}"
    return name


def binding_kind(scope: Scope, name: str) -> ScopeKind | None:
    """The kind of scope that binds ``name`` as seen from ``scope`` (``None``
    when nothing in the file binds it): a name bound in a function is a
    local value, which may be any object, a bound method included."""
    owner = scope._binding_scope(name)
    return owner.kind if owner is not None else None


# ---------------------------------------------------------------------------
# Whole-module facts: parents, the scope that owns a name, single bindings.
# Used by rules that must see every use of a name before rewriting one
# (AM401 thread-local) or find the one value a name was bound to (AM402).
# ---------------------------------------------------------------------------


class ParentMap(AttributeHooksByTable, cst.CSTVisitor):
    """Every node of a module mapped to its parent (original nodes)."""

    def __init__(self) -> None:
        super().__init__()
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self._stack: list[cst.CSTNode] = []

    @classmethod
    def of(cls, module: cst.Module) -> dict[cst.CSTNode, cst.CSTNode]:
        visitor = cls()
        walk(module, visitor)
        return visitor.parents

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._stack:
            self.parents[node] = self._stack[-1]
        self._stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self._stack.pop()


def bound_once(scope: Scope, name: str) -> Scope | None:
    """The owning scope of ``name`` if that scope binds it exactly once.

    A name rebound anywhere in its scope (a second assignment, ``global`` in a
    function, a loop target) cannot be traced to one value.
    """
    owner = binding_scope(scope, name)
    if owner is None or len(owner.bindings.get(name, ())) != 1:
        return None
    return owner


# -- imports run only for type checking -------------------------------------------


def _is_type_checking(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.Name):
        return test.value == "TYPE_CHECKING"
    return isinstance(test, cst.Attribute) and test.attr.value == "TYPE_CHECKING"


class _ImportNames(AttributeHooksByTable, cst.CSTVisitor):
    """Names bound by ``import`` statements, split by whether they sit under
    ``if TYPE_CHECKING:`` (never run) or not."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.typing: set[str] = set()
        self.runtime: set[str] = set()

    def visit_If(self, node: cst.If) -> bool | None:
        if _is_type_checking(node.test):
            self.depth += 1
            # The else branch does run: visit it outside the typing-only depth.
            node.body.visit(self)
            self.depth -= 1
            if node.orelse is not None:
                node.orelse.visit(self)
            return False
        return None

    # Only module-level bindings matter (module_alias reuses nothing else):
    # function and class bodies need not be walked.
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def _add(self, name: str) -> None:
        (self.typing if self.depth else self.runtime).add(name)

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._add(alias.asname.name.value)
            else:
                self._add((get_full_name_for_node(alias.name) or "").split(".")[0])


def typing_only_imports(module: cst.Module) -> frozenset[str]:
    """The names the module binds by imports only under ``if TYPE_CHECKING:``
    (which never runs): a name bound that way does not exist at run time."""
    names = _ImportNames()
    module.visit(names)
    return frozenset(names.typing - names.runtime)
