"""AM302 missing-await: a coroutine or awaitable created and dropped."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from .analysis.names import ASYNCIO_COROUTINES, ASYNCIO_SCHEDULING
from .findings import Safety
from .lazy import lazy_module
from .rule import Rule
from .screen.facts import Context, Facts, has_async_def, scope_statements

if TYPE_CHECKING:
    import libcst as cst

    from .cst import toolkit
    from .model.project import ModuleView
    from .settings import Settings
else:
    cst = lazy_module("libcst")
    toolkit = lazy_module(".cst.toolkit", __package__)


class MissingAwait(Rule):
    """A coroutine created and never awaited does nothing.

    ## Example

    ```diff
     async def checkout(store, order):
         order.data["state"] = "paid"
    -    save(store, order)
    +    await save(store, order)
         return order
    ```

    ## Why is this bad

    Calling an `async def` function only creates a coroutine object;
    its body runs when something awaits it. `save(order)` on its own line
    builds the coroutine and drops it: nothing is saved, and Python only warns
    "coroutine was never awaited" when the object is collected.

    ## Fix

    Inside an `async def`, the call becomes `await save(order)`.
    Found: a call, as a statement of its own, of

    - an `async def` of the same module, resolved by scope (bound once, not
      decorated, not an async generator);
    - `self.method()` where `method` is such an `async def` of the
      enclosing class, or of its base class when that is defined in the same
      module (single inheritance);
    - an asyncio coroutine function: `asyncio.sleep`, `wait_for`,
      `to_thread`, `wait`, `open_connection`, `start_server`,
      `create_subprocess_exec` / `_shell` (any import form).

    ## Fix safety

    Safe. Without `await` the call does nothing at all; with it,
    the coroutine runs where the code says it should, and its result and
    exception reach the caller as in every other awaited call.

    ## Limits

    Reported without a fix: such a call in a plain function,
    `__init__` or a `@property` (make the caller `async def`, or run the
    coroutine with `asyncio.run(...)` at the top level); a dropped
    `asyncio.gather(...)` / `asyncio.shield(...)`, which already run their
    arguments in the background (await them, or keep a reference). Not
    reported: a method of an object whose type the module does not show
    (`conn.close()` may or may not be a coroutine), a name bound more than
    once, a decorated `async def`, a class with several bases, a metaclass
    (its own or a base's) or `__getattr__`, `self.method()` in a module
    where any class defines `__getattribute__`, a decorated class (the
    decorator may replace any of its methods), a method name that any class
    of the module binds to something else or that is assigned as an attribute
    anywhere (`setattr` and any `__setattr__` call included), a
    module-level name in a module that writes to `globals()`, has a
    `from ... import *` or stores an attribute of that name on any object
    (the module object may be one), any name in a module that calls `exec`
    or `eval`, touches a `__dict__` or `vars(obj)`, assigns a dunder
    attribute or spells the name in a string.

    Across files, the project model shows what other modules do to the
    `async def`, and the call is reported without a fix where a base class
    of another module (at any depth) has a metaclass, `__init_subclass__`,
    `__getattr__`, `__getattribute__` or a decorator (any of them may turn
    the `async def` into a plain function); where the class is bound again
    at module level (`Greeter = make_sync(Greeter)`, the decorator in all
    but syntax) or handed, in its module, to a function of the project that
    may change it (`compat.make_sync(Greeter)`: a function whose effects
    the model cannot see, or that writes to what it is given); where a
    subclass anywhere in the project binds the name to a plain method, to
    something else, or may not be what its body says; and where another
    module may replace an attribute of that name on some object:
    `greeter.Greeter.greet = ...`, `notifier.send_email = ...`,
    `job.on_done = ...`, `setattr(events, "log_event", ...)`,
    `mock.patch.object(Mailer, "send", ...)`, `mock.patch("app.Mailer.send")`
    (by the name alone: the object is not resolved). Unknown stays unknown:
    a base class of a library, and a class handed to a function of a
    library or by another module, are not followed.
    """

    CODE = "AM302"
    SLUG = "missing-await"
    SAFETY = Safety.SAFE
    DESCRIPTION = "a coroutine or awaitable is created and never awaited"
    PREFILTER = (b"async",)

    @classmethod
    def prefilter(cls, data: bytes) -> bool:
        # The call is of an async def of the module, or reached through an
        # import of asyncio.
        return b"asyncio" in data or has_async_def(data)

    @classmethod
    def screen(cls, facts: Facts, settings: Settings) -> bool:
        asyncio_functions = ASYNCIO_COROUTINES | ASYNCIO_SCHEDULING
        undecorated = [
            (node.name, where.class_node is not None) for node, where in facts.async_defs if not node.decorator_list
        ]
        methods = {name for name, in_class in undecorated if in_class}
        # A bare name called in a function never resolves to a method: a
        # class body's names are not visible from the functions inside it.
        functions = {name for name, in_class in undecorated if not in_class}
        in_class_bodies = functions | methods
        for statement, ctx in facts.call_statements:
            if not isinstance(statement, ast.Expr):
                continue
            assert isinstance(statement.value, ast.Call)
            func = statement.value.func
            if facts.qualnames(func) & asyncio_functions:
                return True
            if (
                isinstance(func, ast.Name)
                and func.id in (functions if ctx.class_node is None else in_class_bodies)
                and not _local_non_coroutine(facts, ctx, func.id)
            ):
                return True
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.attr in methods
                and _method_of_self(facts, ctx, func.value.id, func.attr)
            ):
                return True
        return False

    def __init__(self, context: cst.codemod.CodemodContext) -> None:
        super().__init__(context)
        self._module: cst.Module | None = None
        self._definitions_cache: toolkit.ModuleDefinitions | None = None
        self._async_names: frozenset[str] | None = None

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node

    @property
    def _definitions(self) -> toolkit.ModuleDefinitions:
        # Built on first need: most files have no candidate call at all.
        if self._definitions_cache is None:
            assert self._module is not None
            self._definitions_cache = toolkit.ModuleDefinitions(self._module, self.scope)
        return self._definitions_cache

    def _describe(self, call: cst.Call) -> tuple[str, bool] | None:
        """What the dropped call creates, and whether awaiting it is the fix."""
        scope = self.scope(call)
        func = call.func
        qualified = scope.qualified_name(func)
        if qualified in ASYNCIO_COROUTINES:
            return f"`{_public(qualified)}()` is a coroutine function", True
        if qualified in ASYNCIO_SCHEDULING:
            return f"`{_public(qualified)}()` returns a future that nobody awaits", False
        if isinstance(func, cst.Name):
            if self._may_be_async_def(func.value) and self._definitions.coroutine_function(scope, func.value) is not None:
                return f"`{func.value}()` is an `async def`", True
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            receiver, name = func.value.value, func.attr.value
            if self._may_be_async_def(name) and self._definitions.coroutine_method(scope, receiver, name) is not None:
                return f"`{receiver}.{name}()` is an `async def` method", True
        return None

    def _may_be_async_def(self, name: str) -> bool:
        """False when no ``async def`` of the module has that name (the
        module's definitions cost a walk of their own to build)."""
        if self._async_names is None:
            facts = self.facts
            self._async_names = frozenset(node.name for node, _ in facts.async_defs) if facts else None
        return self._async_names is None or name in self._async_names

    def leave_Expr(self, original_node: cst.Expr, updated_node: cst.Expr) -> cst.Expr:
        call = original_node.value
        if not isinstance(call, cst.Call):
            return updated_node
        described = self._describe(call)
        if described is None:
            return updated_node
        what, awaitable = described
        scope = self.scope(original_node)
        if not awaitable:
            # Coroutines created in the call run as tasks nobody holds; an
            # argument that is not a call (``*tasks``, a future) is the
            # caller's own, and only the result and errors are lost.
            if call.args and all(not arg.star and isinstance(arg.value, cst.Call) for arg in call.args):
                dropped = "its arguments run in the background unreferenced"
            else:
                dropped = "its result and its errors are dropped"
            self.report(
                call,
                f"{what}: {dropped}; `await` it, or keep a reference until it is done",
                fixable=False,
            )
            return updated_node
        unseen = self._replaced_unseen(call, scope) if scope.await_allowed else None
        if unseen is not None:
            self.report(
                call, f"{what}: calling it without `await` does nothing; add `await` (not fixed: {unseen})", fixable=False
            )
            return updated_node
        if scope.await_allowed:
            if self.report(call, f"{what}: calling it without `await` does nothing; add `await`"):
                return updated_node.with_changes(
                    value=cst.Await(expression=updated_node.value)
                )
            return updated_node
        if scope.function().kind is toolkit.ScopeKind.MODULE:
            advice = "run it with `asyncio.run(...)`"
        else:
            advice = "make the caller `async def` and `await` it, or run it with `asyncio.run(...)` at the top level"
        self.report(
            call,
            f"{what}: calling it without `await` does nothing; {advice} "
            "(not fixed here: `await` is not allowed in this position)",
            fixable=False,
        )
        return updated_node


    # -- what the project model shows -------------------------------------------

    def _replaced_unseen(self, call: cst.Call, scope: toolkit.Scope) -> str | None:
        """Why the ``async def`` that ``call`` names in this module may be
        something else when it runs, as the project model shows it: a class
        it inherits from (in another module) with a metaclass,
        ``__init_subclass__``, ``__getattribute__`` or a decorator; the
        class bound again or handed to a function that may change it; a
        subclass that overrides the method with something else; another
        module that replaces an attribute of its name. ``None`` when the
        model shows none of these (or does not run: a codemod alone)."""
        view = self.view
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
        assert self._module is not None
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


def _public(qualified: str) -> str:
    """``asyncio.tasks.sleep`` -> ``asyncio.sleep``: the name users know."""
    return "asyncio." + qualified.rsplit(".", 1)[1]


# -- helpers of the screen ---------------------------------------------------------


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
