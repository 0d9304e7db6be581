"""Each rule's prefilter and screen, which import nothing of LibCST.

A file reaches LibCST (a quarter of a second to import, and its parse) only
when some rule's prefilter passes its bytes and that rule's screen passes its
stdlib ``ast`` (see :mod:`codemods._screen`). Both live here, apart from the
rules, so that deciding it imports no rule: a run, a ``pre-commit`` hook or
an editor's check of files with no candidate never loads LibCST. Each rule
class takes ``PREFILTER``, ``prefilter`` and ``screen`` from its entry in
:data:`SCREENS`, by its code (see ``Rule.__init_subclass__``).
"""

from __future__ import annotations

import ast
from typing import ClassVar

from codemods._astgather import (
    AST_FORBIDDEN,
    AstRelated,
    ast_accesses,
    ast_await_statement,
    ast_call_subject,
    ast_callee_name,
    ast_callee_receivers,
    ast_has_run,
    ast_independent_call,
    ast_receivers,
    is_precondition,
    ordering_entries,
)
from codemods._config import Settings
from codemods._registry import DEFAULT_ORDERING_PRIMITIVES
from codemods._screen import Context, Facts, awaits, has_async_def, scope_statements
from codemods._screen import contains as screen_contains

# -- names the rules and their screens both know --------------------------------

TASK_FACTORIES = frozenset(
    {
        "asyncio.create_task",
        "asyncio.ensure_future",
        "asyncio.tasks.create_task",
        "asyncio.tasks.ensure_future",
    }
)
LOOP_GETTERS = frozenset(
    {
        "asyncio.get_event_loop",
        "asyncio.get_running_loop",
        "asyncio.events.get_event_loop",
        "asyncio.events.get_running_loop",
    }
)
# Coroutine functions of asyncio: calling one without ``await`` runs nothing.
ASYNCIO_COROUTINES = frozenset(
    f"asyncio.{name}"
    for name in (
        "sleep",
        "wait_for",
        "to_thread",
        "wait",
        "open_connection",
        "open_unix_connection",
        "start_server",
        "start_unix_server",
        "create_subprocess_exec",
        "create_subprocess_shell",
    )
)
ASYNCIO_COROUTINES |= {
    "asyncio.tasks.sleep",
    "asyncio.tasks.wait_for",
    "asyncio.tasks.wait",
    "asyncio.threads.to_thread",
    "asyncio.streams.open_connection",
    "asyncio.streams.start_server",
    "asyncio.subprocess.create_subprocess_exec",
    "asyncio.subprocess.create_subprocess_shell",
}
# These schedule their arguments as tasks at once, so a dropped result still
# runs them in the background: the code may mean that, so it is reported
# without a fix.
ASYNCIO_SCHEDULING = frozenset(
    {"asyncio.gather", "asyncio.shield", "asyncio.tasks.gather", "asyncio.tasks.shield"}
)
# The loop getters whose loop runs_in_executor is called on (AM402).
EXECUTOR_LOOP_GETTERS = ("asyncio.get_running_loop", "asyncio.get_event_loop")


class Screen:
    """The screening of one rule: what its class takes as ``PREFILTER``,
    ``prefilter`` and ``screen`` (see ``Rule.prefilter`` and ``Rule.screen``)."""

    CODE: ClassVar[str] = ""
    # A file none of whose bytes contain one of these cannot hold a finding.
    PREFILTER: ClassVar[tuple[bytes, ...]] = ()

    @classmethod
    def prefilter(cls, data: bytes) -> bool:
        """Whether a file's bytes may hold a finding: a scan at C speed,
        before anything is parsed. It must pass every file the screen does.
        The default: the file contains one of ``PREFILTER``."""
        return not cls.PREFILTER or any(token in data for token in cls.PREFILTER)

    @classmethod
    def screen(cls, facts: Facts, settings: Settings) -> bool:
        """Whether a file has a candidate site, judged on its stdlib ``ast``
        (see :mod:`codemods._screen`).

        It must be a superset of what the rule finds: ``False`` means the file
        is not parsed with LibCST for this rule at all. The default is ``True``.
        """
        return True


class BlockingSleepScreen(Screen):
    """Of :class:`codemods.blocking_sleep.BlockingSleep`."""

    CODE = "AM101"
    PREFILTER = (b"sleep",)

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


class SequentialAwaitsScreen(Screen):
    """Of :class:`codemods.sequential_awaits.SequentialAwaits`."""

    CODE = "AM201"
    PREFILTER = (b"await",)

    @classmethod
    def prefilter(cls, data: bytes) -> bool:
        # A run is two await statements at least.
        return awaits(data, 2)

    @classmethod
    def screen(cls, facts: Facts, settings: Settings) -> bool:
        primitives = ordering_entries(settings.options.get("ordering-primitives", DEFAULT_ORDERING_PRIMITIVES))
        for block, ctx in facts.blocks:
            statements = [ast_await_statement(stmt, facts, ctx, primitives) for stmt in block]
            if sum(statement is not None for statement in statements) > 1 and ast_has_run(
                statements, AstRelated.of(facts)
            ):
                return True
        return False


class AwaitInLoopScreen(Screen):
    """Of :class:`codemods.await_in_loop.AwaitInLoop`."""

    CODE = "AM202"
    PREFILTER = (b"await",)

    @classmethod
    def prefilter(cls, data: bytes) -> bool:
        # A for loop or a comprehension, and an await in it.
        return b"for" in data and awaits(data)

    @classmethod
    def screen(cls, facts: Facts, settings: Settings) -> bool:
        primitives = ordering_entries(settings.options.get("ordering-primitives", DEFAULT_ORDERING_PRIMITIVES))
        for loop, ctx in facts.loops:
            if isinstance(loop, ast.For):
                looped = _ast_for_call(loop)
                if looped is None:
                    continue
                call, appended = looped
                target, iterable = loop.target, loop.iter
            else:
                generators = loop.generators
                if len(generators) != 1 or generators[0].is_async or generators[0].ifs:
                    continue
                if not (isinstance(loop.elt, ast.Await) and isinstance(loop.elt.value, ast.Call)):
                    continue
                call, appended = loop.elt.value, None
                target, iterable = generators[0].target, generators[0].iter
                if screen_contains(iterable, (ast.NamedExpr,)):
                    continue
            names = _ast_target_names(target)
            if names is None or screen_contains(iterable, AST_FORBIDDEN):
                continue
            if screen_contains(call, (ast.NamedExpr,)) or not ast_independent_call(call, facts, primitives):
                continue
            if ast_callee_receivers(call, facts, ctx) or not ast_receivers(call, facts, ctx) <= names:
                continue
            if appended is not None:
                reads = ast_accesses(call).read_roots | ast_accesses(iterable).read_roots
                if appended in reads or appended in names:
                    continue
            elif isinstance(loop, ast.For):
                # A check per item, or a call working on one object for
                # every item, is left alone (see leave_For).
                if is_precondition(ast_callee_name(call)):
                    continue
                subject = ast_call_subject(call, facts)
                if subject is not None and subject not in names:
                    continue
            return True
        return False


class DanglingTaskScreen(Screen):
    """Of :class:`codemods.dangling_task.DanglingTask`."""

    CODE = "AM301"
    PREFILTER = (b"create_task", b"ensure_future")

    @classmethod
    def screen(cls, facts: Facts, settings: Settings) -> bool:
        loops = {
            name
            for name, values in facts.assigned.items()
            if any(isinstance(v, ast.Call) and facts.qualnames(v.func) & LOOP_GETTERS for v in values)
        }

        def starts_task(call: ast.Call) -> bool:
            if facts.qualnames(call.func) & TASK_FACTORIES:
                return True
            func = call.func
            if not (isinstance(func, ast.Attribute) and func.attr == "create_task"):
                return False
            loop = func.value
            if isinstance(loop, ast.Call):
                return bool(facts.qualnames(loop.func) & LOOP_GETTERS)
            return isinstance(loop, ast.Name) and loop.id in loops

        for statement, ctx in facts.call_statements:
            assert isinstance(statement.value, ast.Call)
            if not starts_task(statement.value):
                continue
            if isinstance(statement, ast.Expr):
                return True
            # A binding is a site only when the name is a local of a
            # function, used nowhere else in it.
            target = statement.target if isinstance(statement, ast.AnnAssign) else (
                statement.targets[0] if len(statement.targets) == 1 else None
            )
            if isinstance(target, ast.Name) and ctx.defs:
                if facts.name_count(ctx.defs[-1][0], target.id) <= 1:
                    return True
        return False


class MissingAwaitScreen(Screen):
    """Of :class:`codemods.missing_await.MissingAwait`."""

    CODE = "AM302"
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


class ThreadLocalScreen(Screen):
    """Of :class:`codemods.thread_local.ThreadLocal`."""

    CODE = "AM401"
    # Only modules that import threading are looked at (see screen); "local"
    # alone is in every file that says "locale" or "localhost".
    PREFILTER = (b"threading",)

    @classmethod
    def prefilter(cls, data: bytes) -> bool:
        # threading.local (any import form), in a module with a coroutine.
        return b"threading" in data and b"local" in data and has_async_def(data)

    @classmethod
    def screen(cls, facts: Facts, settings: Settings) -> bool:
        if not facts.has_async:
            return False
        if any(
            not call.args and not call.keywords and "threading.local" in facts.qualnames(call.func)
            for call, _ in facts.calls
        ):
            return True
        return any(
            "threading.local" in facts.qualnames(base)
            for classes in facts.classes.values()
            for node in classes
            for base in node.bases
        )


class ExecutorContextScreen(Screen):
    """Of :class:`codemods.executor_context.ExecutorContext`."""

    CODE = "AM402"
    PREFILTER = (b"run_in_executor",)

    @classmethod
    def screen(cls, facts: Facts, settings: Settings) -> bool:
        def loop_getter(value: ast.expr) -> bool:
            return (
                isinstance(value, ast.Call)
                and not value.args
                and not value.keywords
                and not facts.qualnames(value.func).isdisjoint(EXECUTOR_LOOP_GETTERS)
            )

        for call, _ in facts.calls:
            func = call.func
            if not (isinstance(func, ast.Attribute) and func.attr == "run_in_executor"):
                continue
            loop = func.value
            if not (
                loop_getter(loop)
                or (isinstance(loop, ast.Name) and any(map(loop_getter, facts.assigned.get(loop.id, ()))))
            ):
                continue
            # run_in_executor takes no keywords, and needs an executor and a function.
            if any(k.arg is not None for k in call.keywords) or len(call.args) + len(call.keywords) < 2:
                continue
            fn = call.args[1] if len(call.args) > 1 else None
            if isinstance(fn, ast.Attribute) and fn.attr == "run":
                continue  # already runs in some context (ctx.run)
            return True
        return False


#: Every rule's screening, by code.
SCREENS: dict[str, type[Screen]] = {
    screen.CODE: screen
    for screen in (
        BlockingSleepScreen,
        SequentialAwaitsScreen,
        AwaitInLoopScreen,
        DanglingTaskScreen,
        MissingAwaitScreen,
        ThreadLocalScreen,
        ExecutorContextScreen,
    )
}


# -- helpers of the screens -----------------------------------------------------


def _ast_for_call(loop: ast.For) -> tuple[ast.Call, str | None] | None:
    """The call a ``for`` loop awaits once per item, and the name of the list
    its results are appended to: ``for x in xs: await f(x)`` or ``for x in
    xs: r.append(await f(x))``."""
    if loop.orelse or len(loop.body) != 1 or not isinstance(loop.body[0], ast.Expr):
        return None
    value = loop.body[0].value
    appended: str | None = None
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "append"
        and isinstance(value.func.value, ast.Name)
        and len(value.args) == 1
        and not value.keywords
        and not isinstance(value.args[0], ast.Starred)
    ):
        appended, value = value.func.value.id, value.args[0]
    if isinstance(value, ast.Await) and isinstance(value.value, ast.Call):
        return value.value, appended
    return None


def _ast_target_names(target: ast.expr) -> frozenset[str] | None:
    """:func:`_target_names` on the stdlib ``ast``."""
    if isinstance(target, ast.Starred):
        target = target.value
    if isinstance(target, ast.Name):
        return frozenset({target.id})
    if isinstance(target, (ast.Tuple, ast.List)):
        names: set[str] = set()
        for element in target.elts:
            inner = _ast_target_names(element)
            if inner is None:
                return None
            names |= inner
        return frozenset(names)
    return None


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
