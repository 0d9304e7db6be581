"""AM101 blocking-sleep: ``time.sleep()`` inside ``async def``."""

from __future__ import annotations

import builtins
import functools
from typing import TYPE_CHECKING

from .analysis.event_loop import FOREIGN_LOOPS, describe, module_event_loop, runs_elsewhere
from .analysis.offload import calls_after_thread_acquire
from .findings import Safety
from .lazy import lazy_module
from .rule import Rule
from .screen.facts import Facts, has_async_def

if TYPE_CHECKING:
    import libcst as cst

    from .analysis import suspension
    from .cst import toolkit
    from .settings import Settings
else:
    cst = lazy_module("libcst")
    toolkit = lazy_module(".cst.toolkit", __package__)
    suspension = lazy_module(".analysis.suspension", __package__)


@functools.lru_cache(maxsize=None)
def _blocks() -> tuple[type[cst.CSTNode], ...]:
    """The nodes a ``def`` may stand in, down from a statement of the module."""
    return (
        cst.BaseCompoundStatement,
        cst.BaseSuite,
        cst.Else,
        cst.ExceptHandler,
        cst.ExceptStarHandler,
        cst.Finally,
        cst.MatchCase,
    )


class BlockingSleep(Rule):
    """`time.sleep()` inside a coroutine freezes the whole event loop.

    ## Example

    ```diff
    -import time
    +import asyncio

     async def poll(client):
         while not await client.ready():
    -        time.sleep(0.5)
    +        await asyncio.sleep(0.5)
    ```

    ## Why is this bad

    `time.sleep` blocks the thread, and every task of the loop runs
    on that thread: while one coroutine sleeps, no other task makes progress,
    no timeout fires, no connection is served.

    ## Fix

    `time.sleep(x)` becomes `await asyncio.sleep(x)`, or
    `await trio.sleep(x)` / `await anyio.sleep(x)` in a module that imports
    trio or anyio. A module that imports none of them gets asyncio's where
    the project runs asyncio alone: no module starts another loop, drives
    coroutines itself, or picks its loop by name (a string naming trio,
    anyio or curio, and an import by a computed name:
    `importlib.import_module(config.BACKEND)`). An existing `import asyncio as aio` is reused; `import
    time` is removed only when nothing else uses it (a string or a `# type:`
    comment that names `time.` counts as a use) and it carries no `# noqa`,
    which marks an import kept on purpose. The value of the
    expression stays `None`, so `x = time.sleep(0) or 5` keeps its meaning.

    ## Fix safety

    Safe where the new suspension point cannot be seen. The coroutine waits
    exactly as long as before and computes the same result; only the other
    tasks now run during the wait. But a blocking sleep also kept every other
    task out and no cancellation could land in it, so the `await` is a
    break where there was none. Where the coroutine itself shows that the
    break can be seen, the sleep is reported without a fix:

    - **check-then-act**: shared state read before the sleep and changed
      after it (`if balance >= amount: time.sleep(...); balance -= amount`).
      Shared state is a global or `nonlocal` name, an attribute or item of
      `self`, `cls`, another parameter or a module-level object, also
      through a local alias of one (`queue = self.pending`); a change is an
      assignment, a `del` or a call of a mutating method (`append`, `pop`,
      `add`, `update`...). In a loop, what comes after the sleep also comes
      before it. Two tasks could then both pass the check, and both act.
    - **cleanup**: a sleep in a `finally` block, in `__aexit__`, or in an
      `except` handler that may catch a cancellation (bare, `BaseException`,
      `CancelledError`) or that does more after the sleep (a rollback, a
      `raise`): a second cancellation would land in the `await` and skip
      the rest, which the blocking sleep always let finish. A retry's
      backoff, the last thing its handler does, is still fixed.
    - **a thread lock held**: a sleep inside a plain `with`, or in a
      coroutine that calls `.acquire()` without `await`: the lock would
      stay held across the `await` while another task of the same thread
      blocks on it for good (a deadlock), or re-enters it (an `RLock`).

    - **a deadline**: a sleep inside an `async with` that sets one
      (`asyncio.timeout()`, `anyio.fail_after()`...): a coroutine that never
      suspended could not be timed out, the fixed one would be.

    The callers see the new suspension too, and the project model finds
    them: every function of the project, in any module, whose call the
    model resolves to the coroutine (by name or a name an import gives it,
    `from work import step as fetch`; a method through `self`, a
    typed parameter or attribute, `super()`), and the wrapper of a decorator
    the project defines; then their callers, up through every caller that
    awaits (or gathers) the call. The sleep is reported without a fix where
    one of them

    - holds a thread lock across the call: a plain `with` (`with db.LOCK:`,
      an `RLock`, a `Semaphore`), a plain `.acquire()`, or a decorator whose
      wrapper does (`@synchronized(lock)`);
    - waits for it under a deadline: `asyncio.wait_for(coro(), ...)`, an
      `async with asyncio.timeout()` (or `anyio.fail_after()`) around it,
      also under another name a module of the project binds it to
      (`deadline = asyncio.timeout`) or entered on an exit stack
      (`await stack.enter_async_context(...)`), or a timer it arms
      (`loop.call_later(5, task.cancel)`, a watchdog), itself or through a
      plain function of the project it calls (`watchdog.arm(5)`), which
      may also take a lock with `.acquire()` (`locks.take()`);
    - hands the coroutine to a function of the project that drives it with
      `.send()` or `.throw()`, without an event loop;
    - awaits it in a `finally`, in `__aexit__` or in an `except` handler
      that is cleanup (as above);
    - reads shared state before the call (or anywhere in a loop around it)
      that the call changes (`if wallet.balance >= price: await
      wallet.debit(price)`);
    - catches, around the call, what `time.sleep` raises and
      `asyncio.sleep` does not (or raises otherwise), where the delay is not
      a non-negative number literal: `ValueError` (a negative delay, NaN),
      `OverflowError` (a huge one), `TypeError` (an odd type), also through
      `except Exception`, a bare `except`, `contextlib.suppress(...)` or
      `pytest.raises(...)`, or around the `asyncio.run(...)` of a plain
      function. An exception class of a library or of the
      project is not one of those (unless the module binds its name by
      assignment, an alias).

    The fix is safe only where every use of the coroutine is one the model
    followed: where it cannot be, the fix is unsafe (applied with
    `--unsafe-fixes`), and the message says why. That is a coroutine run
    by protocol (`__aenter__`, `__anext__`, an `async def __call__`), an
    async generator (its consumer's `async for` is not followed), one that
    a caller (at any depth up the awaiting callers) makes and keeps, or
    runs as a task, rather than awaiting it (a callback, `asyncio.wait()`
    or a timeout may wait for the task), and one named in a module more
    often than the model resolves calls of it there (a registry
    `ROUTES["/"] = slow`, `map(step, xs)`, a `staticmethod` alias, a call
    through a star import or `importlib`, a mention in a string), and one
    a caller runs under an async context manager of the project (a
    function, a class, or an object of one: `async with Budget(1)`, `async
    with GUARD`), whose `__aenter__` may set a deadline or take a lock, or
    one decorated, itself or a caller on the way, with an object of a class
    of the project (`@locks.Serialized()`), whose `__call__` makes the
    wrapper, or one of a module whose names another module lists
    (`inspect.getmembers(work)`, `vars(work)`: a registry that calls what it
    finds). A
    coroutine nothing in the project names, an entry point that a
    framework or a library's user calls, is fixed.

    Another file of the project that patches the sleep
    (`mock.patch("retry.time.sleep")`) or reaches the module's `import time`
    (`retry.time.monotonic()`, `from retry import time`) holds the fix, or
    the removal of the import, back: see the README's "Across files". One
    that replaces the sleep the fix calls with a value it gives
    (`mock.patch("asyncio.sleep", lambda s: None)`, `patch.object(asyncio,
    "sleep", fake)`) makes the fix unsafe: the new `await` would meet the
    replacement, which may not be awaitable. A patch that lets `mock` make
    the replacement (an `AsyncMock`) leaves it safe.

    ## Limits

    Left alone, and reported without a fix: a sleep in a generator
    expression (an `await` would make it an async generator) or in a class
    body; a module that imports both trio and asyncio (nothing says which loop
    runs the coroutine); a library bound only under `if TYPE_CHECKING:`
    (the name does not exist at run time) or imported only below the
    coroutine's `def` (it may run first); a call already under `await`;
    a delay that is not a non-negative number literal in the body of a
    `try` whose handlers may catch `ValueError`, `OverflowError` or
    `TypeError` (a negative delay raises `ValueError` in `time.sleep` and
    returns at once from `asyncio.sleep`); a sleep in a return annotation
    (an annotation is never rewritten) or in an f-string with `=`
    (`f"{time.sleep(0)=}"` prints the call's text); the sites of "Fix
    safety" above.

    Unknown stays unknown: a caller the model cannot resolve is not seen,
    and the sleep is fixed as if it were not there: a method called on an
    untyped parameter (`wallet.debit()` with `wallet` of no annotation), a
    coroutine reached through a dict or a callback, called from a function
    that imports its module inside its body, or from code at module level;
    a coroutine made and kept for later, or run as a task (whoever awaits
    the task is not followed); callers more than 8 calls up, or beyond the
    first 500 call sites. Not reported: a sleep in a nested plain
    `def` or a lambda (it may run in a worker thread), in an annotation that
    is never evaluated (a local variable's, or any under `from __future__
    import annotations`), a parameter or local named `time` or `sleep`, and
    the `sleep` method of any other object.
    """

    CODE = "AM101"
    SLUG = "blocking-sleep"
    SAFETY = Safety.SAFE
    DESCRIPTION = "time.sleep() in async def blocks the event loop"
    PREFILTER = (b"sleep",)
    EQUIVALENTS = ("ASYNC251",)
    REWRITES = ("time.sleep",)

    @classmethod
    def prefilter(cls, data: bytes) -> bool:
        # A call of time.sleep needs an import from time, inside an async def.
        return b"sleep" in data and b"time" in data and has_async_def(data)

    @classmethod
    def screen(cls, facts: Facts, settings: Settings) -> bool:
        return any(
            ctx.kind == "async" and "time.sleep" in facts.qualnames(call.func)
            for call, ctx in facts.calls
        )

    def __init__(self, context: cst.codemod.CodemodContext) -> None:
        super().__init__(context)
        # Calls that are the primary of a trailer (``time.sleep(1).x``) need
        # parentheses once ``await`` stands before them.
        self._primaries: set[cst.Call] = set()
        # Calls already under ``await`` (broken code: ``await time.sleep(0)``).
        self._awaited: set[cst.Call] = set()
        # Calls in the body of a ``try`` whose handlers may catch what
        # time.sleep raises and asyncio.sleep does not.
        self._catching: set[cst.Call] = set()
        # Calls in the body of an ``async with`` that sets a deadline
        # (``asyncio.timeout()``), which a blocking sleep never let fire.
        self._timed: set[cst.Call] = set()
        # Calls in the body of a plain ``with``: its context manager may be a
        # thread lock (``threading.Lock``), which an ``await`` would keep held
        # while another task of the same thread blocks on it for good.
        self._in_sync_with: set[cst.Call] = set()
        # Calls in ``f"{...=}"``, which prints the call's text.
        self._self_documenting: set[cst.Call] = set()
        # Calls in an annotation, which no fix may touch; those never
        # evaluated (a local variable's annotation) are not even reported.
        self._annotated: set[cst.Call] = set()
        self._unevaluated: set[cst.Call] = set()
        # What the await of a fixed sleep would let show (one parent map per
        # coroutine, made when one of its sleeps could be fixed).
        self._new_await = suspension.NewAwait(self.scope, "sleep")
        self._module: cst.Module | None = None
        self._deferred: bool | None = None
        self._typing_only: frozenset[str] | None = None
        self._tops: dict[cst.CSTNode, cst.BaseStatement] | None = None

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node

    def _is_typing_only(self, name: str) -> bool:
        # Computed on first need: most files never reach a fixable finding.
        if self._typing_only is None:
            assert self._module is not None
            self._typing_only = toolkit.typing_only_imports(self._module)
        return name in self._typing_only

    def _annotations_deferred(self) -> bool:
        """Whether the module has ``from __future__ import annotations``:
        then no annotation is evaluated."""
        if self._deferred is None:
            assert self._module is not None
            self._deferred = any(
                isinstance(small, cst.ImportFrom)
                and isinstance(small.module, cst.Name)
                and small.module.value == "__future__"
                and not isinstance(small.names, cst.ImportStar)
                and any(alias.evaluated_name == "annotations" for alias in small.names)
                for statement in self._module.body
                if isinstance(statement, cst.SimpleStatementLine)
                for small in statement.body
            )
        return self._deferred

    def visit_FormattedStringExpression(self, node: cst.FormattedStringExpression) -> None:
        if toolkit.is_self_documenting(node):
            calls = toolkit.OwnCalls()
            toolkit.walk(node.expression, calls)
            self._self_documenting.update(calls.calls)

    def visit_Annotation(self, node: cst.Annotation) -> None:
        calls = toolkit.OwnCalls()
        toolkit.walk(node.annotation, calls)
        self._annotated.update(calls.calls)
        if self._annotations_deferred():
            self._unevaluated.update(calls.calls)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        # The annotation of a name in a function is never evaluated.
        if self.scope(node).kind in (toolkit.ScopeKind.FUNCTION, toolkit.ScopeKind.ASYNC_FUNCTION):
            calls = toolkit.OwnCalls()
            toolkit.walk(node.annotation, calls)
            self._unevaluated.update(calls.calls)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Call):
            self._primaries.add(node.value)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if isinstance(node.value, cst.Call):
            self._primaries.add(node.value)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Call):
            self._primaries.add(node.func)

    def visit_Await(self, node: cst.Await) -> None:
        if isinstance(node.expression, cst.Call):
            self._awaited.add(node.expression)

    def visit_With(self, node: cst.With) -> None:
        timed = node.asynchronous is not None and any(
            isinstance(item.item, cst.Call)
            and suspension.is_timeout_manager(toolkit.get_full_name_for_node(item.item.func) or "")
            for item in node.items
        )
        if node.asynchronous is None or timed:
            calls = toolkit.OwnCalls()
            toolkit.walk(node.body, calls)
            (self._timed if timed else self._in_sync_with).update(calls.calls)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._in_sync_with.update(calls_after_thread_acquire(node))

    def visit_Try(self, node: cst.Try) -> None:
        self._visit_try(node)

    def visit_TryStar(self, node: cst.TryStar) -> None:
        self._visit_try(node)

    def _visit_try(self, node: cst.Try | cst.TryStar) -> None:
        # time.sleep raises ValueError for a negative delay, where
        # asyncio.sleep returns at once (and OverflowError, TypeError where
        # it returns or raises otherwise): a handler that may catch one
        # sees the difference.
        if any(self._may_catch_sleep_error(handler.type) for handler in node.handlers):
            calls = toolkit.OwnCalls()
            toolkit.walk(node.body, calls)
            self._catching.update(calls.calls)

    def _may_catch_sleep_error(self, handler: cst.BaseExpression | None) -> bool:
        if handler is None:
            return True
        if isinstance(handler, cst.Tuple):
            return any(self._may_catch_sleep_error(element.value) for element in handler.elements)
        if isinstance(handler, cst.Name) and self.scope(handler).lookup(handler.value) is toolkit.UNBOUND:
            known = getattr(builtins, handler.value, None)
            if isinstance(known, type) and issubclass(known, BaseException):
                return any(issubclass(error, known) for error in suspension.SLEEP_ERRORS)
        return True  # a type the module does not show

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        scope = self.scope(original_node)
        if scope.qualified_name(original_node.func) != "time.sleep":
            return updated_node
        # Only the body of the coroutine itself: a nested def or lambda may run
        # in a worker thread, where a blocking sleep is what it should do.
        owner = scope
        while owner.kind in (toolkit.ScopeKind.COMPREHENSION, toolkit.ScopeKind.GENERATOR, toolkit.ScopeKind.CLASS):
            assert owner.parent is not None
            owner = owner.parent
        if owner.kind is not toolkit.ScopeKind.ASYNC_FUNCTION or original_node in self._unevaluated:
            return updated_node

        # anyio.sleep works on every anyio backend, so anyio wins. A module
        # that imports both trio and asyncio (a bridge) gives no way to tell
        # which loop runs this coroutine: reported, not fixed.
        # A module that imports none of them runs under the project's loop;
        # with no project around, asyncio's. One of a project that also
        # runs trio or anyio may run under either: reported, not fixed.
        loop = module_event_loop(scope, self.view, self.settings.async_backend)
        # (Under Twisted's reactor or curio's kernel no sleep of these works.)
        foreign = loop.library if loop is not None and loop.library in FOREIGN_LOOPS else None
        library = loop.library if loop is not None and foreign is None else "asyncio"
        ambiguous = loop.ambiguous if loop is not None else False
        elsewhere = self.view.project.index.loops - {"asyncio"} if loop is None and self.view is not None else set()
        other_loop = foreign is not None or bool(elsewhere)
        alias = scope.module_alias(library)
        # An import of the module below the def of the coroutine may not have
        # run yet when it is called (``aio.run(main())`` above a late ``import
        # asyncio``): only one above the def is reused.
        late = False
        if alias is not None and not alias[1]:
            assert owner.node is not None
            top = self._top_statement(owner.node)
            placed = scope.module_alias(library, before=top) if top is not None else None
            late = placed is None
            alias = alias if late else placed
        # An import under ``if`` or ``try`` may not run (one under ``if
        # TYPE_CHECKING:`` never does): module_alias does not reuse it.
        conditional = alias is None and scope.lookup(library) == library
        typing_only = conditional and self._is_typing_only(library)
        # trio or anyio imported only inside a function is an optional
        # dependency: an import of it at the top would make it a hard one.
        lazy = alias is not None and alias[1] and library != "asyncio" and scope.imports_any((library,))
        args = original_node.args
        # time.sleep takes exactly one positional argument; anything else
        # already fails, and asyncio.sleep's second parameter means something else.
        simple_args = len(args) == 1 and args[0].keyword is None and not args[0].star
        awaited = original_node in self._awaited
        # A negative delay raises with time.sleep and returns at once with
        # asyncio.sleep: only a handler that may catch the error tells them apart.
        raises = simple_args and not _non_negative_literal(args[0].value)
        negative = raises and original_node in self._catching
        held = original_node in self._in_sync_with
        timed = original_node in self._timed
        annotated = original_node in self._annotated
        self_documenting = original_node in self._self_documenting
        patchers = self._patched_by(original_node.func)
        fixable = (
            scope.await_allowed and alias is not None and simple_args
            and not ambiguous and not other_loop and not lazy and not awaited and not negative and not late
            and not held and not timed and not annotated and not self_documenting and not patchers
        )
        # What a new suspension point would let other tasks see, asked last
        # (it maps the coroutine's nodes, then asks for its callers) and only
        # of a sleep otherwise fixable.
        assert isinstance(owner.node, cst.FunctionDef)
        visible = self._new_await.problem(original_node, owner.node) if fixable else None
        if fixable and visible is None:
            visible = suspension.seen_by_callers(self.view, toolkit.function_qualname(owner), raises)
        fixable = fixable and visible is None
        # Every use of the coroutine must be one the model followed for the
        # fix to be shown harmless; else it is applied with --unsafe-fixes.
        unseen = suspension.unseen_uses(self.view, toolkit.function_qualname(owner)) if fixable else None
        if fixable and unseen is None and self.view is not None:
            # (A test's ``mock.patch("asyncio.sleep", lambda s: None)``: the
            # new ``await`` would meet what replaced it, maybe no coroutine.)
            replacer = self.view.callers.replacing_in(library, "sleep")
            if replacer is not None:
                unseen = f"`{replacer}` replaces `{library}.sleep`, which the fix calls, with what may not be awaitable"
        message = f"`time.sleep()` blocks the event loop; use `await {library}.sleep()`"
        if unseen is not None:
            message += f" (an unsafe fix: {unseen})"
        if annotated:
            message += " (not fixed: an annotation is never rewritten)"
        elif self_documenting:
            message += " (not fixed: the call is in an f-string with `=`, which prints its text)"
        elif patchers:
            message += (
                f" (not fixed: {', '.join(patchers)} may replace this `time.sleep` as this"
                " module sees it, as a test's `mock.patch` does; after the fix it would not be called)"
            )
        elif visible is not None:
            message += f" (not fixed: {visible})"
        elif not scope.await_allowed:
            message += " (not fixed here: `await` is not allowed in this position)"
        elif awaited:
            message += " (not fixed: the call is already awaited, which fails at run time)"
        elif negative:
            message += (
                " (not fixed: a negative delay raises `ValueError` in `time.sleep()` (a huge one"
                " `OverflowError`, an odd type `TypeError`), which a handler here may catch,"
                f" but returns at once from `{library}.sleep()`)"
            )
        elif timed:
            message += (
                " (not fixed: inside an `async with` that sets a deadline, which the new `await`"
                " would let fire)"
            )
        elif held:
            message += (
                " (not fixed: inside a plain `with` or after a plain `.acquire()`, which may"
                " hold a thread lock that another task would then block on while this one waits)"
            )
        elif ambiguous:
            message += " or `await asyncio.sleep()` (not fixed: the module imports both)"
        elif foreign is not None:
            message += f" (not fixed: {runs_elsewhere(foreign, '')})"
        elif other_loop:
            message += (
                " (not fixed: the module imports no event loop's library, and the project runs"
                f" {' and '.join(describe(name) for name in sorted(elsewhere))} too)"
            )
        elif typing_only:
            message += f" (not fixed: `{library}` is imported only for type checking)"
        elif conditional:
            message += f" (not fixed: `{library}` is imported only under a condition here)"
        elif lazy:
            message += f" (not fixed: `{library}` is imported only inside a function here)"
        elif late:
            message += f" (not fixed: `{library}` is imported only below this coroutine's definition)"
        if not self.report(
            original_node,
            message,
            fixable=fixable,
            needs_import=library if alias is not None and alias[1] else None,
            unsafe=unseen is not None,
        ):
            return updated_node

        assert alias is not None
        name, needs_import = alias
        if needs_import:
            toolkit.AddImportsVisitor.add_needed_import(self.context, library)
        self._forget_sleep_import(original_node.func)

        call = updated_node.with_changes(
            func=cst.Attribute(value=cst.Name(name), attr=cst.Name("sleep")),
            lpar=(),
            rpar=(),
        )
        lpar, rpar = list(updated_node.lpar), list(updated_node.rpar)
        if original_node in self._primaries and not lpar:
            lpar, rpar = [cst.LeftParen()], [cst.RightParen()]
        return cst.Await(expression=call, lpar=lpar, rpar=rpar)

    def _patched_by(self, func: cst.BaseExpression) -> list[str]:
        """The other files of the project that replace the sleep ``func``
        calls as this module sees it (``mock.patch("retry.time.sleep")``,
        ``mock.patch("retry.sleep")``, or ``time.sleep`` itself in a test of
        this module): see :mod:`codemods.model.crossfile`."""
        filename = self.context.filename or ""
        if isinstance(func, cst.Name):
            # ``from time import sleep``: the module's own name for it.
            return self.settings.importers_of(filename, func.value)
        return self.settings.importers_of(filename, "time.sleep")

    def _top_statement(self, node: cst.CSTNode) -> cst.BaseStatement | None:
        """The statement of the module's own body that holds ``node``."""
        if self._tops is None:
            assert self._module is not None
            self._tops = {}
            for statement in self._module.body:
                stack: list[cst.CSTNode] = [statement]
                while stack:
                    current = stack.pop()
                    if isinstance(current, cst.FunctionDef):
                        self._tops[current] = statement
                    # A def stands only in a block of statements: the
                    # expressions in between (most of the tree) are skipped.
                    stack.extend(child for child in toolkit.children(current) if isinstance(child, _blocks()))
        return self._tops.get(node)

    def _forget_sleep_import(self, func: cst.BaseExpression) -> None:
        """Ask for the import that made ``func`` mean time.sleep to be removed
        if the rewrite left it unused (what counts as a use, a string or a
        ``# type:`` comment or a ``# noqa`` included: _remove_unused_imports
        in codemods/cst/imports.py)."""
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            alias = func.value.value
            toolkit.RemoveImportsVisitor.remove_unused_import(
                self.context, "time", asname=None if alias == "time" else alias
            )
        elif isinstance(func, cst.Name):
            toolkit.RemoveImportsVisitor.remove_unused_import(
                self.context, "time", "sleep", asname=None if func.value == "sleep" else func.value
            )


def _non_negative_literal(value: cst.BaseExpression) -> bool:
    if isinstance(value, (cst.Integer, cst.Float)):
        number = value.evaluated_value
        return isinstance(number, (int, float)) and number >= 0
    return False
