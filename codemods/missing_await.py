"""AM302 missing-await: a coroutine or awaitable created and dropped."""

from __future__ import annotations


import libcst as cst

from codemods._analysis import ModuleDefinitions, ScopeKind
from codemods._base import Rule
from codemods._rulescreens import ASYNCIO_COROUTINES, ASYNCIO_SCHEDULING


class MissingAwait(Rule):
    """A coroutine created and never awaited does nothing.

    **Why.** Calling an ``async def`` function only creates a coroutine object;
    its body runs when something awaits it. ``save(order)`` on its own line
    builds the coroutine and drops it: nothing is saved, and Python only warns
    "coroutine was never awaited" when the object is collected.

    **Fix.** Inside an ``async def``, the call becomes ``await save(order)``.
    Found: a call, as a statement of its own, of

    - an ``async def`` of the same module, resolved by scope (bound once, not
      decorated, not an async generator);
    - ``self.method()`` where ``method`` is such an ``async def`` of the
      enclosing class, or of its base class when that is defined in the same
      module (single inheritance);
    - an asyncio coroutine function: ``asyncio.sleep``, ``wait_for``,
      ``to_thread``, ``wait``, ``open_connection``, ``start_server``,
      ``create_subprocess_exec`` / ``_shell`` (any import form).

    **Safety: safe.** Without ``await`` the call does nothing at all; with it,
    the coroutine runs where the code says it should, and its result and
    exception reach the caller as in every other awaited call.

    **Limits.** Reported without a fix: such a call in a plain function,
    ``__init__`` or a ``@property`` (make the caller ``async def``, or run the
    coroutine with ``asyncio.run(...)`` at the top level); a dropped
    ``asyncio.gather(...)`` / ``asyncio.shield(...)``, which already run their
    arguments in the background (await them, or keep a reference). Not
    reported: a method of an object whose type the module does not show
    (``conn.close()`` may or may not be a coroutine), a name bound more than
    once, a decorated ``async def``, a class with several bases, a metaclass
    (its own or a base's) or ``__getattr__``, ``self.method()`` in a module
    where any class defines ``__getattribute__``, a decorated class (the
    decorator may replace any of its methods), a method name that any class
    of the module binds to something else or that is assigned as an attribute
    anywhere (``setattr`` and any ``__setattr__`` call included), a
    module-level name in a module that writes to ``globals()``, has a
    ``from ... import *`` or stores an attribute of that name on any object
    (the module object may be one), any name in a module that calls ``exec``
    or ``eval``, touches a ``__dict__`` or ``vars(obj)``, assigns a dunder
    attribute or spells the name in a string. Not seen: a
    subclass in another module that overrides the ``async def`` with a plain
    method (that breaks every awaiting caller of the base class as well).
    """

    # Slug, fix safety, summary and options: codemods/_registry.py; prefilter
    # and screen: codemods/_rulescreens.py.
    CODE = "AM302"

    def __init__(self, context: cst.codemod.CodemodContext) -> None:
        super().__init__(context)
        self._module: cst.Module | None = None
        self._definitions_cache: ModuleDefinitions | None = None
        self._async_names: frozenset[str] | None = None

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node

    @property
    def _definitions(self) -> ModuleDefinitions:
        # Built on first need: most files have no candidate call at all.
        if self._definitions_cache is None:
            assert self._module is not None
            self._definitions_cache = ModuleDefinitions(self._module, self.scope)
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
        if scope.await_allowed:
            if self.report(call, f"{what}: calling it without `await` does nothing; add `await`"):
                return updated_node.with_changes(
                    value=cst.Await(expression=updated_node.value)
                )
            return updated_node
        if scope.function().kind is ScopeKind.MODULE:
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


def _public(qualified: str) -> str:
    """``asyncio.tasks.sleep`` -> ``asyncio.sleep``: the name users know."""
    return "asyncio." + qualified.rsplit(".", 1)[1]
