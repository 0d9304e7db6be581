"""Which calls of a module certainly create a coroutine: what AM302 (a
coroutine dropped inside ``async def``) and AM303 (a coroutine made in plain
code) both ask before they report a call.

A call creates a coroutine when it calls an ``async def`` of the module
(resolved by scope: bound once, not decorated), ``self.method()`` where
``method`` is such an ``async def`` of the enclosing class (or of its one
base of the same module), or an asyncio coroutine function. The project
model then says whether another module may turn that ``async def`` into
something else (:meth:`CoroutineCalls.replaced_unseen`).

:class:`CoroutineScreen` is the same question on the stdlib ``ast``, for
the screens: a call it drops is one :class:`CoroutineCalls` never describes.

Importing this module imports no LibCST (see :mod:`codemods.lazy`).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Callable

from ..lazy import lazy_module
from ..screen.facts import Context, Facts, scope_statements
from .names import ASYNCIO_COROUTINES, ASYNCIO_SCHEDULING

if TYPE_CHECKING:
    import libcst as cst

    from ..cst import toolkit
    from ..cst.scope import Scope
    from ..model.project import ModuleView
else:
    cst = lazy_module("libcst")
    toolkit = lazy_module("..cst.toolkit", __package__)


class CoroutineCalls:
    """The calls of one module (a LibCST tree) that certainly create a
    coroutine, asked call by call; what it needs is built on first need."""

    def __init__(
        self,
        module: cst.Module,
        scope_of: Callable[[cst.CSTNode], Scope],
        facts: Facts | None,
        view: ModuleView | None,
    ) -> None:
        self._module = module
        self._scope_of = scope_of
        self._facts = facts
        self._view = view
        self._definitions_cache: toolkit.ModuleDefinitions | None = None
        self._async_names: frozenset[str] | None = None

    @property
    def _definitions(self) -> toolkit.ModuleDefinitions:
        # Built on first need: most files have no candidate call at all.
        if self._definitions_cache is None:
            self._definitions_cache = toolkit.ModuleDefinitions(self._module, self._scope_of)
        return self._definitions_cache

    def may_be_async_def(self, name: str) -> bool:
        """False when no ``async def`` of the module has that name (the
        module's definitions cost a walk of their own to build)."""
        if self._async_names is None:
            facts = self._facts
            self._async_names = frozenset(node.name for node, _ in facts.async_defs) if facts else None
        return self._async_names is None or name in self._async_names

    def describe(self, call: cst.Call, *, across: bool = False) -> tuple[str, bool] | None:
        """What ``call`` creates, and whether it is a coroutine (awaiting it
        runs it) rather than a future that already runs; ``None`` when it
        does not certainly create either. With ``across``, an ``async def``
        of another module of the project, imported, counts too (see
        :meth:`imported_coroutine`)."""
        scope = self._scope_of(call)
        func = call.func
        qualified = scope.qualified_name(func)
        if qualified in ASYNCIO_COROUTINES:
            return f"`{public_asyncio_name(qualified)}()` is a coroutine function", True
        if qualified in ASYNCIO_SCHEDULING:
            return f"`{public_asyncio_name(qualified)}()` returns a future that nobody awaits", False
        if isinstance(func, cst.Name):
            if self.may_be_async_def(func.value) and self._definitions.coroutine_function(scope, func.value) is not None:
                return f"`{func.value}()` is an `async def`", True
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            receiver, name = func.value.value, func.attr.value
            if self.may_be_async_def(name) and self._definitions.coroutine_method(scope, receiver, name) is not None:
                return f"`{receiver}.{name}()` is an `async def` method", True
        if across:
            what = self.imported_coroutine(scope, func)
            if what is not None:
                return what, True
        return None

    def imported_coroutine(self, scope: Scope, func: cst.BaseExpression) -> str | None:
        """How a message names the ``async def`` of another module of the
        project that ``func`` certainly is: a name imported at module level
        (``from .api import fetch``) or a function of an imported module
        (``api.fetch``), as the project model resolves it, undecorated and
        not an async generator, and not replaced by an attribute store in
        any module. ``None`` otherwise (and without a project)."""
        view = self._view
        if view is None or not view.project.index.modules:
            return None
        dotted = toolkit.get_full_name_for_node(func)
        if not dotted:
            return None
        root, _, _ = dotted.partition(".")
        if not isinstance(scope.lookup(root), str) or toolkit.binding_kind(scope, root) is not toolkit.ScopeKind.MODULE:
            return None  # not bound by imports alone, at module level
        found = view.project.lookup(view.module, dotted)
        if found is None or found[0] != "function" or found[1] == view.module or "." in found[2]:
            return None
        function = view.project.function(found[1], found[2])
        if function is None or not function.is_async or function.decorators or function.generator:
            return None
        name = found[2]
        if name in view.facts.assigned or view.callers.replacing(name):
            return None
        return f"`{dotted}()` is an `async def` of `{found[1]}`"

    # -- what the project model shows -------------------------------------------

    def replaced_unseen(self, call: cst.Call, scope: toolkit.Scope) -> str | None:
        """Why the ``async def`` that ``call`` names in this module may be
        something else when it runs, as the project model shows it: a class
        it inherits from (in another module) with a metaclass,
        ``__init_subclass__``, ``__getattribute__`` or a decorator; the
        class bound again or handed to a function that may change it; a
        subclass that overrides the method with something else; another
        module that replaces an attribute of its name. ``None`` when the
        model shows none of these (or does not run: a codemod alone)."""
        view = self._view
        func = call.func
        if view is None or isinstance(func, cst.Name) and toolkit.binding_kind(scope, func.value) is not toolkit.ScopeKind.MODULE:
            return None  # a nested function: nothing outside reaches it
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            name = func.attr.value
            owner = self._class_of(scope, func.value.value)
            if owner is None:
                return None  # a class in a function: the model keeps no facts of it
            problem = self._class_problem(view, owner, name)
            if problem is not None:
                return problem
        elif isinstance(func, cst.Name):
            name = func.value
        else:
            return None
        elsewhere = view.callers.replacing(name)
        if elsewhere:
            more = f" and {len(elsewhere) - 1} more" if len(elsewhere) > 1 else ""
            return f"the module `{elsewhere[0]}`{more} may replace `{name}` (an attribute of a module, a class or an object)"
        return None

    def named_elsewhere(self, call: cst.Call, scope: toolkit.Scope) -> str | None:
        """Why the project may bind the ``async def`` that ``call`` names to
        something else by a route the model does not read: its name
        appears where no call of it is resolved (``mock.patch.multiple(mod,
        send=fake)``, ``vars(mod).update(...)``, ``setattr(obj, NAME,
        ...)`` with ``NAME = "send"``, a ``type()`` namespace), or another
        ``def`` of it may stand in (a mixin's plain method). ``None`` where
        every mention is a call the model resolves."""
        view = self._view
        func = call.func
        if view is None:
            return None
        if isinstance(func, cst.Name):
            found = view.project.lookup(view.module, func.value)
            if found is None or found[0] != "function":
                return None
            target = (found[1], found[2])
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            owner = self._class_of(scope, func.value.value)
            if owner is None:
                return None
            target = (view.module, f"{owner}.{func.attr.value}")
        else:
            return None
        named = view.callers.named_beyond_calls(*target, other_defs=True)
        if named is not None:
            return f"`{target[1].rsplit('.', 1)[-1]}` is named in `{named}` where the model resolves no call of it"
        computed = view.callers.setting_computed_names()
        if computed is not None:
            return (
                f"`{computed}` sets attributes by computed names (`setattr(obj, name, ...)`,"
                " `vars(module)[name] = ...`), which may be this one"
            )
        name = target[1].rsplit(".", 1)[-1]
        unseen = view.project.bound_unseen(name)
        if unseen is not None:
            return (
                f"`{unseen}` makes a class otherwise than by a class statement (`type()`, a metaclass, a hook),"
                f" which may bind `{name}` to something other than an `async def`"
            )
        return None

    def _class_problem(self, view: ModuleView, owner: str, name: str) -> str | None:
        project = view.project
        if owner in view.facts.assigned:
            return f"`{owner}` is bound again at module level, to what may replace its methods"
        if not project.as_written(view.module, owner):
            return (
                f"a class `{owner}` inherits from may not be what its body says: a metaclass,"
                " `__init_subclass__`, `__getattribute__` or a decorator may replace its methods"
            )
        handed = self._class_handed_on(view, owner)
        if handed is not None:
            return f"`{owner}` is handed to `{handed}()`, which may change its methods"
        for module, cls in view.callers.subclasses(view.module, owner):
            qualname = cls.methods.get(name)
            method = project.function(module, qualname) if qualname is not None else None
            if name in cls.assigned or (method is not None and not method.is_async) or not project.as_written(module, cls.name):
                return f"the subclass `{module}.{cls.name}` may bind `{name}` to something other than an `async def`"
        return None

    def _class_of(self, scope: toolkit.Scope, receiver: str) -> str | None:
        """The module-level class of the method whose first parameter is
        ``receiver``."""
        method = toolkit.binding_scope(scope, receiver)
        owner = method.parent if method is not None else None
        if owner is None or owner.kind is not toolkit.ScopeKind.CLASS or owner.parent is None:
            return None
        if owner.parent.kind is not toolkit.ScopeKind.MODULE or not isinstance(owner.node, cst.ClassDef):
            return None
        return owner.node.name.value

    def _class_handed_on(self, view: ModuleView, owner: str) -> str | None:
        """The project function this module hands the class ``owner`` to
        (``compat.make_sync(Greeter)``, at module level or in a function)
        that may change it: what it does is not known, or it writes to what
        it is given. A library's function is not followed."""
        project = view.project
        calls = toolkit.OwnCalls()
        toolkit.walk(self._module, calls)
        handed = [
            (None, toolkit.get_full_name_for_node(c.func))
            for c in calls.calls
            if any(isinstance(arg.value, cst.Name) and arg.value.value == owner for arg in c.args)
        ]
        for function in view.facts.functions.values():
            handed.extend((function, c.func) for c in function.calls if owner in c.args or owner in c.kwargs.values())
        for function, callee in handed:
            if not callee:
                continue
            if function is not None:
                target = project.resolve(view.module, function, function.call(callee, [owner], {}, False, False))
                found = (target.module, target.qualname) if target is not None else None
            else:
                looked = project.lookup(view.module, callee)
                found = (looked[1], looked[2]) if looked is not None and looked[0] == "function" else None
            if found is None:
                continue
            effects = project.effects(*found)
            if effects.unknown or any(path.startswith("$") for path in effects.writes):
                return callee
        return None


def public_asyncio_name(qualified: str) -> str:
    """``asyncio.tasks.sleep`` -> ``asyncio.sleep``: the name users know."""
    return "asyncio." + qualified.rsplit(".", 1)[1]


# -- the same question on the stdlib ast, for the screens -----------------------------


class CoroutineScreen:
    """Whether a call of a module (its stdlib ``ast``) may be one that
    :class:`CoroutineCalls` describes: a superset, never fewer."""

    def __init__(self, facts: Facts) -> None:
        self._facts = facts
        undecorated = [
            (node.name, where.class_node is not None) for node, where in facts.async_defs if not node.decorator_list
        ]
        self._methods = {name for name, in_class in undecorated if in_class}
        # A bare name called in a function never resolves to a method: a
        # class body's names are not visible from the functions inside it.
        self._functions = {name for name, in_class in undecorated if not in_class}
        self._in_class_bodies = self._functions | self._methods
        self._across: dict[str, bool] = {}
        self._async_def_names: frozenset[str] | None = None

    def may_create_across(self, call: ast.Call) -> bool:
        """Whether ``call`` may call an ``async def`` of another module of
        the project through the module's imports (what
        :meth:`CoroutineCalls.imported_coroutine` resolves), as the project
        model sees it."""
        facts = self._facts
        func = call.func
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name) or func.id not in facts.top_imports:
            return False
        dotted = ".".join([func.id, *reversed(parts)])
        known = self._across.get(dotted)
        if known is None:
            view = facts.view
            if view is None or not view.project.index.modules:
                return False
            if self._async_def_names is None:
                self._async_def_names = view.callers.async_def_names()
            # The byte scan first: the model parses the modules it follows.
            # (``from api import fetch as get``: the name ``api`` defines.)
            defined = {parts[0]} if parts else {origin.rsplit(".", 1)[-1] for origin in facts.top_imports[func.id]}
            found = view.project.lookup(view.module, dotted) if defined & self._async_def_names else None
            function = view.project.function(found[1], found[2]) if found is not None and found[0] == "function" else None
            known = self._across[dotted] = function is not None and function.is_async
        return known

    def may_create(self, call: ast.Call, ctx: Context, *, scheduling: bool = True) -> bool:
        """Whether ``call`` (in ``ctx``) may create a coroutine; with
        ``scheduling``, or a future of ``asyncio.gather``/``shield``."""
        facts = self._facts
        func = call.func
        asyncio_functions = ASYNCIO_COROUTINES | ASYNCIO_SCHEDULING if scheduling else ASYNCIO_COROUTINES
        if facts.qualnames(func) & asyncio_functions:
            return True
        if (
            isinstance(func, ast.Name)
            and func.id in (self._functions if ctx.class_node is None else self._in_class_bodies)
            and not _local_non_coroutine(facts, ctx, func.id)
        ):
            return True
        return (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.attr in self._methods
            and _method_of_self(facts, ctx, func.value.id, func.attr)
        )


def _local_non_coroutine(facts: Facts, ctx: Context, name: str) -> bool:
    """Whether ``name``, called in the function scope of ``ctx``, is certainly
    a local of that function that no undecorated ``async def`` of its own
    scope binds (``def f(): ...`` in one test, ``async def f(): ...`` in
    another): the rule resolves the name there, by scope, and finds no
    coroutine function."""
    if not (ctx.own and ctx.defs and facts.certainly_local(name, ctx)):
        return False
    function = ctx.defs[-1][0]
    return not any(
        node.name == name
        and not node.decorator_list
        and where.own
        and where.defs
        and where.defs[-1][0] is function
        for node, where in facts.async_defs
    )


def _method_of_self(facts: Facts, ctx: Context, receiver: str, name: str) -> bool:
    """Whether ``receiver.name()`` may call an ``async def`` of the class of an
    enclosing method whose first parameter is ``receiver`` (or of that
    class's one base, when the module defines it)."""
    for function, owner in reversed(ctx.defs):
        if owner is None:
            continue
        params = [*function.args.posonlyargs, *function.args.args]
        if params and params[0].arg == receiver and _class_defines(facts, owner, name, set()):
            return True
    return False


def _class_defines(facts: Facts, cls: ast.ClassDef, name: str, seen: set[int]) -> bool:
    if id(cls) in seen:
        return False
    seen.add(id(cls))
    # The class body's own statements, and those of the if/try/with blocks in
    # it (all bind in the class), not those of functions or classes in it.
    if any(
        isinstance(statement, ast.AsyncFunctionDef) and statement.name == name
        for statement in scope_statements(cls.body)
    ):
        return True
    if len(cls.bases) != 1 or not isinstance(cls.bases[0], ast.Name):
        return False
    return any(
        _class_defines(facts, base, name, seen) for base in facts.classes.get(cls.bases[0].id, ())
    )


def is_main_guard(test: cst.BaseExpression) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    target = test.comparisons[0]
    if not isinstance(target.operator, cst.Equal):
        return False
    sides = [test.left, target.comparator]
    names = [side for side in sides if isinstance(side, cst.Name) and side.value == "__name__"]
    strings = [side for side in sides if isinstance(side, cst.SimpleString) and side.evaluated_value == "__main__"]
    return len(names) == 1 and len(strings) == 1


__all__ = ["CoroutineCalls", "CoroutineScreen", "is_main_guard", "public_asyncio_name"]
