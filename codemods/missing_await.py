"""AM302 missing-await: a coroutine or awaitable created and dropped."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from .analysis.coroutines import CoroutineCalls, CoroutineScreen
from .findings import Safety
from .lazy import lazy_module
from .rule import Rule
from .screen.facts import Facts, has_async_def

if TYPE_CHECKING:
    import libcst as cst

    from .settings import Settings
else:
    cst = lazy_module("libcst")


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

    Where the project names the coroutine other than in a call the model
    resolves (`mock.patch.multiple(notifier, send=fake)`,
    `vars(module).update(...)`, a string, a plain `def` of its name that a
    mixin may put in its place), or where a module of the project replaces
    attributes by names it computes (`setattr(obj, name, ...)`,
    `vars(module)[name] = ...`, a `__dict__` updated,
    `mock.patch.object(cls, name, ...)`) or makes a class otherwise than by
    a class statement that may bind its name (`type(name, (cls,), ns)`, a
    metaclass), a plain function may stand in for it and `await` of its
    result would fail: the fix is then unsafe, applied with
    `--unsafe-fixes`.

    ## Limits

    Left to AM303 coroutine-in-sync: such a call in plain code (a plain
    function, `__init__`, a `@property`, a class body, module level), where
    `await` cannot stand; one site is reported by one rule. Reported
    without a fix: a dropped `asyncio.gather(...)` / `asyncio.shield(...)`
    (inside `async def` or not), which already run their arguments in the
    background (await them, or keep a reference). Not
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
        coroutines = CoroutineScreen(facts)
        return any(
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Call)
            and coroutines.may_create(statement.value, ctx)
            for statement, ctx in facts.call_statements
        )

    def __init__(self, context: cst.codemod.CodemodContext) -> None:
        super().__init__(context)
        self._calls: CoroutineCalls | None = None

    def visit_Module(self, node: cst.Module) -> None:
        self._calls = CoroutineCalls(node, self.scope, self.facts, self.view)

    def leave_Expr(self, original_node: cst.Expr, updated_node: cst.Expr) -> cst.Expr:
        call = original_node.value
        if not isinstance(call, cst.Call):
            return updated_node
        assert self._calls is not None
        described = self._calls.describe(call)
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
        if not scope.await_allowed:
            # Plain code (a plain function, a class body, module level):
            # AM303 coroutine-in-sync reports it, and fixes it where no
            # event loop can be running.
            return updated_node
        unseen = self._calls.replaced_unseen(call, scope)
        if unseen is not None:
            self.report(
                call, f"{what}: calling it without `await` does nothing; add `await` (not fixed: {unseen})", fixable=False
            )
            return updated_node
        # Every mention of it must be a call the model reads for the fix to
        # be shown right; else it is applied with --unsafe-fixes.
        named = self._calls.named_elsewhere(call, scope)
        message = f"{what}: calling it without `await` does nothing; add `await`"
        if named is not None:
            message += f" (an unsafe fix: {named})"
        if self.report(call, message, unsafe=named is not None):
            return updated_node.with_changes(value=cst.Await(expression=updated_node.value))
        return updated_node
