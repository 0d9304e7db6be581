"""AM402 executor-context: ``loop.run_in_executor()`` drops context variables."""

from __future__ import annotations

import ast
import re
from collections import Counter
from typing import TYPE_CHECKING

from .analysis.event_loop import own_loop_class
from .analysis.names import EXECUTOR_LOOP_GETTERS
from .analysis.offload import is_pool_call
from .findings import Safety
from .lazy import lazy_module
from .model.facts import dotted, through_imports
from .rule import Rule
from .screen.facts import Facts

if TYPE_CHECKING:
    import libcst as cst

    from .cst import toolkit
    from .cst.scope import Scope
    from .model.callers import Callers
    from .model.facts import ModuleFacts
    from .model.project import ModuleView
    from .settings import Settings
else:
    cst = lazy_module("libcst")
    toolkit = lazy_module(".cst.toolkit", __package__)


_THREAD_POOLS = (
    "concurrent.futures.ThreadPoolExecutor",
    "concurrent.futures.thread.ThreadPoolExecutor",
)
_PROCESS_POOLS = (
    "concurrent.futures.ProcessPoolExecutor",
    "concurrent.futures.process.ProcessPoolExecutor",
    "concurrent.futures.InterpreterPoolExecutor",
)


class ExecutorContext(Rule):
    """`loop.run_in_executor()` runs the function without the caller's context.

    ## Example

    ```diff
     async def render(page):
         loop = asyncio.get_running_loop()
    -    html = await loop.run_in_executor(None, build, page)
    +    html = await asyncio.to_thread(build, page)
    -    later = loop.run_in_executor(POOL, build, page)
    +    later = loop.run_in_executor(POOL, contextvars.copy_context().run, build, page)
    ```

    ## Why is this bad

    A `contextvars.ContextVar` set by a task (a request id, the
    current user, a tracing span) is visible in everything that task awaits,
    but `loop.run_in_executor` hands the bare function to the executor: in
    the worker thread the variable has its default, or raises `LookupError`.
    `asyncio.to_thread` copies the context first.

    ## Fix

    `await loop.run_in_executor(None, fn, *args)` becomes
    `await asyncio.to_thread(fn, *args)` (target Python 3.9 or newer, and a
    loop obtained in the same function, so that it is the running loop that
    `to_thread` uses). A future kept for later, a loop from elsewhere, or an
    executor that is visibly a thread pool (`pool = ThreadPoolExecutor()` or
    `with ThreadPoolExecutor() as pool` in the same function or at module
    level) becomes `loop.run_in_executor(pool, contextvars.copy_context().run,
    fn, *args)`. A `loop = asyncio.get_running_loop()` line left unused
    (every use became `to_thread`) is removed, unless a comment sits on it
    or the function calls `locals()`, `vars()`, `eval` or `exec`.

    ## Fix safety

    Safe. The function runs on the same executor with the same
    arguments and returns the same result; it now also sees the context
    variables the caller had set, which is what the caller meant. The worker
    runs in a copy: what it sets does not flow back.

    Where the model cannot read the worker (a lambda, a registry's item, a
    callable handed in or held by an object of unknown class, a method of
    a module-level object such as a `ContextVar`'s `set`; a
    `functools.partial` is read as the function it wraps), it cannot show
    that the copy changes nothing the worker does
    (a decimal context shared with the caller, a per-thread cache in a
    context variable): the fix is then unsafe, applied with
    `--unsafe-fixes`. So is a worker of the project whose module uses
    `decimal` and that calls no `localcontext()` (its arithmetic would set
    the flags and meet the traps of the caller's decimal context, which
    the copy shares), and a library's function (`requests.get`, otherwise
    fixed) where a module of the project uses `decimal` (the caller may
    hand it decimals: `operator.truediv`). Where the project has an event
    loop class of its own (a `...EventLoop` subclass) that overrides
    `run_in_executor`, every fix is unsafe: that may be the one that runs.

    ## Limits

    Only a loop that is visibly the asyncio loop is considered:
    `asyncio.get_running_loop().run_in_executor(...)`, or a name bound once,
    in the same function or at module level, to `asyncio.get_running_loop()` /
    `asyncio.get_event_loop()`. A `run_in_executor` method of any other
    object is not reported. A process pool is left alone and not reported (a
    copied context cannot be pickled). An executor whose kind cannot be seen
    (a parameter, an attribute, a name bound more than once) is reported
    without a fix, and so are a pool made with an `initializer` (it may set
    context variables in the worker's own context, which the copy would
    hide), a default executor in a module whose `set_default_executor` is
    given anything but a plain thread pool, any call in a module where a
    plain `def` or lambda sets a module-level `ContextVar` (a worker
    thread keeps such a value for its next call, a per-thread cache; a copied
    context drops it), or where a `ContextVar` is made other than as a
    module-level `VAR = ContextVar(...)` or used other than by calling
    `VAR.get`/`set`/`reset` (its `set` calls are then out of sight; a
    `ContextVar` or a `set_default_executor` of
    another module is not seen), any call in a module that uses `decimal`
    (the copy shares the caller's decimal context object: a worker's
    `getcontext().prec = 3` would change the caller's), and a call in
    `f"{...=}"`, which prints the call's text; a call run at import time
    is fixed only with an `asyncio` / `contextvars` import above it. A
    call that already passes
    `something.run` as the function is taken as already carrying a
    context.

    Across files, the project model follows the worker (a function of the
    project, named or a method through `self` or a typed attribute) into
    its module, and every function of the project it calls, at any depth:
    a call is reported without a fix where one of them changes the decimal
    context (`getcontext().prec = 4`, `getcontext().traps[...] = True`,
    `setcontext(...)`; a `localcontext()` restores it and is fine), whose
    object the copy shares with the caller, or sets a module-level
    `ContextVar` of a module that imports `contextvars`, its own or one it
    imports (`state.SESSION.set(...)`), or one a class of such a module
    holds (`cls.current.set(...)`), or a module-level name of any module
    where another module of the project imports `contextvars` (a factory
    there may make the variable: `SESSION = ctxutil.make_var("s")`), unless
    the name is bound to a new object of another class (`threading.Event()`):
    a worker thread keeps the value for its next call, a copied context
    does not. A
    `run_in_executor(None, ...)` is reported without a fix where another
    module of the project gives `set_default_executor` anything but a
    plain thread pool made there or bound once to a name (a pool with an
    `initializer` may set what the worker reads, which a copied context
    would not show). Unknown stays unknown: a worker the model cannot
    resolve (a lambda, `functools.partial`, a parameter) is judged by its
    caller's module alone, and so is a function of a library; a
    `set_default_executor` at module level of another module is not
    seen. A module-level pool is reported without a fix where any module of
    the project sets an attribute of its name on an object
    (`workers.POOL = ProcessPoolExecutor()`, `setattr(workers, "POOL", ...)`):
    that may rebind it.
    """

    CODE = "AM402"
    SLUG = "executor-context"
    SAFETY = Safety.SAFE
    DESCRIPTION = "loop.run_in_executor() does not carry the caller's context variables"
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

    def __init__(self, context: cst.codemod.CodemodContext) -> None:
        super().__init__(context)
        self._parents: dict[cst.CSTNode, cst.CSTNode] = {}
        # (owning scope, name) -> the value of its one plain binding: ``x = v``
        # or ``with v as x``.
        self._values: dict[tuple[int, str], cst.BaseExpression] = {}
        self._globals: set[str] = set()
        # (owning scope, name) -> how many Name nodes refer to that binding,
        # its own target included.
        self._references: Counter[tuple[int, str]] = Counter()
        # (owning scope, name) -> loop calls rewritten to ``asyncio.to_thread``.
        self._replaced: Counter[tuple[int, str]] = Counter()
        # Why no call of the module is fixed, if one reason holds for all.
        self._module_problem: str | None = None
        # The kind of executor ``set_default_executor`` installs here, if
        # it is not visibly a plain thread pool.
        self._default_kind: str | None = None
        # Names bound at module level to ``contextvars.ContextVar(...)``.
        self._context_variables: set[str] = set()

    def visit_Module(self, node: cst.Module) -> None:
        self._parents = toolkit.ParentMap.of(node)
        # ``X.set_default_executor(...)`` and ``X.set(...)`` calls, judged
        # once every binding of the module is known.
        defaults: list[cst.Call] = []
        sets: list[cst.Call] = []
        for child in self._parents:
            if isinstance(child, cst.Call) and isinstance(child.func, cst.Attribute):
                method = child.func.attr.value
                if method == "set_default_executor" and child.args:
                    defaults.append(child)
                elif method == "set":
                    sets.append(child)
            elif isinstance(child, cst.Name):
                owner = toolkit.binding_scope(self.scope(child), child.value)
                if owner is not None:
                    self._references[(id(owner), child.value)] += 1
            if isinstance(child, cst.Assign) and len(child.targets) == 1:
                target = child.targets[0].target
                if isinstance(target, cst.Name):
                    self._values[(id(self.scope(child)), target.value)] = child.value
            elif isinstance(child, cst.WithItem) and child.asname is not None:
                target = child.asname.name
                if isinstance(target, cst.Name):
                    self._values[(id(self.scope(child)), target.value)] = child.item
            elif isinstance(child, cst.Global):
                self._globals.update(item.name.value for item in child.names)
            if (
                isinstance(child, (cst.Assign, cst.AnnAssign))
                and isinstance(child.value, cst.Call)
                and self.scope(child).kind is toolkit.ScopeKind.MODULE
                and self.scope(child).qualified_name(child.value.func) == "contextvars.ContextVar"
            ):
                # ``VAR = ContextVar(...)`` or ``VAR: ContextVar[int] = ...``
                targets = (
                    [t.target for t in child.targets]
                    if isinstance(child, cst.Assign)
                    else [child.target]
                )
                self._context_variables.update(t.value for t in targets if isinstance(t, cst.Name))
        # A ContextVar is made through an import of contextvars (any form):
        # without one, no call of the module needs resolving.
        if self.scope(node).imports_any(("contextvars",)) and self._untracked_context_variable():
            self._module_problem = (
                "a context variable is made or handed on where its `set` calls cannot be"
                " followed (a worker thread may keep the value, a copied context would not)"
            )
        for call in defaults:
            # ``run_in_executor(None, ...)`` then runs on this executor.
            kind = self._executor_kind(self.scope(call), call.args[0].value)
            if kind not in ("thread", "none"):
                self._default_kind = kind if kind == "initializer" else "unknown"
        for call in sets if self._context_variables else ():
            if self._sets_in_plain_function(call):
                self._module_problem = (
                    "a plain function of the module sets a context variable, which"
                    " a worker thread keeps for its next call but a copied context would not"
                )

    def _untracked_context_variable(self) -> bool:
        """Whether a ``ContextVar`` is made other than as ``VAR = ContextVar(...)``
        at module level (a class attribute, a tuple target, in a container or
        a function), or such a ``VAR`` is used other than by calling its
        ``get``, ``set`` or ``reset`` (``remember = VAR.set``, passed to a
        call): then a plain function may set it unseen."""
        for child in self._parents:
            if isinstance(child, cst.Call):
                scope = self.scope(child)
                if scope.qualified_name(child.func) != "contextvars.ContextVar":
                    continue
                holder = self._parents.get(child)
                if not (
                    isinstance(holder, (cst.Assign, cst.AnnAssign))
                    and holder.value is child
                    and scope.kind is toolkit.ScopeKind.MODULE
                    and (
                        isinstance(holder, cst.AnnAssign) and isinstance(holder.target, cst.Name)
                        or isinstance(holder, cst.Assign)
                        and all(isinstance(t.target, cst.Name) for t in holder.targets)
                    )
                ):
                    return True
            elif isinstance(child, cst.Name) and child.value in self._context_variables:
                parent = self._parents.get(child)
                if isinstance(parent, (cst.AssignTarget, cst.AnnAssign)):
                    continue  # the declaration (a rebinding leaves the name unknown)
                owner = toolkit.binding_scope(self.scope(child), child.value)
                if owner is None or owner.kind is not toolkit.ScopeKind.MODULE:
                    continue  # a local of the same name
                if (
                    isinstance(parent, cst.Attribute)
                    and parent.value is child
                    and parent.attr.value in ("get", "set", "reset")
                    and isinstance(self._parents.get(parent), cst.Call)
                    and self._parents[parent].func is parent  # type: ignore[attr-defined]
                ):
                    continue
                if isinstance(parent, cst.Attribute) and parent.attr is child:
                    continue  # ``other.VAR``
                return True
        return False

    def _sets_in_plain_function(self, call: cst.Call) -> bool:
        """Whether ``call`` is ``VAR.set(...)`` of a module-level
        ``VAR = contextvars.ContextVar(...)`` inside a plain ``def`` or a
        lambda: code that may run in a worker thread and set the variable in
        that thread's own context (a per-thread cache), where it stays for the
        next call on that thread; in a copied context it would not."""
        receiver = call.func.value  # type: ignore[attr-defined]
        if not isinstance(receiver, cst.Name):
            return False
        scope = self.scope(call)
        if scope.function().kind not in (toolkit.ScopeKind.FUNCTION, toolkit.ScopeKind.LAMBDA):
            return False
        owner = toolkit.binding_scope(scope, receiver.value)
        if owner is None or owner.kind is not toolkit.ScopeKind.MODULE:
            return False
        return receiver.value in self._context_variables

    # -- analysis -----------------------------------------------------------

    def _value_of(self, scope: Scope, name: cst.Name) -> tuple[cst.BaseExpression, Scope] | None:
        """The one value ``name`` was bound to, if that is visible, and its scope."""
        owner = toolkit.bound_once(scope, name.value)
        if owner is None or name.value in self._globals:
            return None
        # Only the same function or the module: a closure variable may be
        # rebound by the enclosing function after the inner one was made.
        if owner is not scope.function() and owner.kind is not toolkit.ScopeKind.MODULE:
            return None
        value = self._values.get((id(owner), name.value))
        return (value, owner) if value is not None else None

    def _loop_kind(self, scope: Scope, receiver: cst.BaseExpression) -> str | None:
        """"local" for a loop obtained in this function, "other" for one bound
        at module level, None when the receiver is not visibly the asyncio loop."""
        if isinstance(receiver, cst.Call) and not receiver.args:
            return "local" if scope.qualified_name(receiver.func) in EXECUTOR_LOOP_GETTERS else None
        if isinstance(receiver, cst.Name):
            found = self._value_of(scope, receiver)
            if found is None:
                return None
            value, owner = found
            if isinstance(value, cst.Call) and not value.args:
                if scope.qualified_name(value.func) in EXECUTOR_LOOP_GETTERS:
                    return "local" if owner is scope.function() else "other"
        return None

    def _executor_kind(self, scope: Scope, executor: cst.BaseExpression) -> str:
        """"none", "thread", "initializer" (a thread pool with one), "process",
        "rebound" (a module's pool another module may rebind)
        or "unknown"."""
        if isinstance(executor, cst.Name) and executor.value == "None":
            return "none"
        value: cst.BaseExpression | None = executor
        if isinstance(executor, cst.Name):
            found = self._value_of(scope, executor)
            value = found[0] if found is not None else None
            if found is not None and found[1].kind is toolkit.ScopeKind.MODULE and self._set_from_outside(executor.value):
                return "rebound"
        if is_pool_call(scope, executor):
            return "process"  # the pool AM103's fix adds
        if isinstance(value, cst.Call):
            name = scope.qualified_name(value.func)
            if name in _THREAD_POOLS:
                # ThreadPoolExecutor(max_workers, prefix, initializer, ...): an
                # initializer may set context variables in the worker's own
                # context, which a copied context would replace.
                if len(value.args) >= 3 or any(
                    a.star or (a.keyword is not None and a.keyword.value == "initializer")
                    for a in value.args
                ):
                    return "initializer"
                return "thread"
            if name in _PROCESS_POOLS:
                return "process"
        return "unknown"

    def _set_from_outside(self, name: str) -> bool:
        """Whether a module of the project sets an attribute ``name`` on an
        object (``svc.POOL = ProcessPoolExecutor()``, ``setattr(svc, "POOL",
        ...)``): the module's global of that name may be another pool."""
        view = getattr(self, "view", None)
        return view is not None and name in view.project.index.stored

    def _import_time_statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The statement of the module body holding ``node`` when ``node``
        runs as the module is imported (not inside a ``def`` or lambda)."""
        child, parent = node, self._parents.get(node)
        while parent is not None:
            if isinstance(parent, (cst.FunctionDef, cst.Lambda)):
                return None
            if isinstance(parent, cst.Module):
                return child
            child, parent = parent, self._parents.get(parent)
        return None

    def _awaited(self, node: cst.Call) -> bool:
        parent = self._parents.get(node)
        return isinstance(parent, cst.Await) and parent.expression is node

    # -- rewrite ------------------------------------------------------------

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "run_in_executor"):
            return updated_node
        scope = self.scope(original_node)
        loop = self._loop_kind(scope, func.value)
        if loop is None:
            return updated_node
        args = original_node.args
        if len(args) < 2 or any(a.keyword is not None for a in args) or any(
            a.star for a in args[:2]
        ):
            # run_in_executor takes no keywords; such a call already fails.
            return updated_node
        fn = args[1].value
        if isinstance(fn, cst.Attribute) and fn.attr.value == "run":
            return updated_node  # already runs in some context (ctx.run)
        executor = self._executor_kind(scope, args[0].value)
        if executor == "process":
            return updated_node  # a copied context cannot be pickled

        # A call that runs at import time sees only the imports above it.
        before = self._import_time_statement(original_node)
        asyncio_alias = scope.module_alias("asyncio", before=before)
        contextvars_alias = scope.module_alias("contextvars", before=before)
        to_thread = (
            executor == "none"
            and loop == "local"
            and self._awaited(original_node)
            and self.settings.target_version >= (3, 9)
            and asyncio_alias is not None
        )
        if to_thread:
            message = (
                "`run_in_executor` does not carry the caller's context variables;"
                " use `asyncio.to_thread()`"
            )
            needs, alias = "asyncio", asyncio_alias
        else:
            message = (
                "`run_in_executor` does not carry the caller's context variables;"
                " run the function in `contextvars.copy_context().run`"
            )
            needs, alias = "contextvars", contextvars_alias
        problem = None
        if self._module_problem is not None:
            problem = self._module_problem
        elif toolkit.in_self_documenting_fstring(original_node, self._parents):
            problem = "the call is in an f-string with `=`, which prints its text"
        elif executor == "none" and self._default_kind is not None:
            problem = (
                "the module's `set_default_executor` installs an executor that"
                " may not be a plain thread pool"
            )
        elif executor == "unknown":
            problem = "the executor may not be a thread pool"
        elif executor == "rebound":
            problem = (
                f"a module of the project sets an attribute `{args[0].value.value}`"  # type: ignore[attr-defined]
                " on an object, which may rebind the pool to one that is not a thread pool"
            )
        elif executor == "initializer":
            problem = "the pool's initializer may set context variables a copy would hide"
        elif scope.imports_any(("decimal",)):
            # The copy shares the caller's decimal context object: a worker's
            # getcontext().prec = 3 would change the caller's precision.
            problem = "the module uses `decimal`, whose context the copy would share"
        if problem is None:
            problem = _worker_problem(self.view, toolkit.function_qualname(scope), _partial_of(fn, scope), executor == "none")
        if problem is None and to_thread and not _droppable(original_node):
            problem = "a comment would be lost with the executor argument"
        fixable = problem is None and alias is not None
        unseen = _worker_unseen(self.view, scope, _partial_of(fn, scope)) if fixable else None
        if fixable and unseen is None:
            unseen = _loop_or_decimal_elsewhere(self.view, scope, _partial_of(fn, scope))
        if problem is not None:
            message += f" (not fixed: {problem})"
        elif unseen is not None:
            message += f" (an unsafe fix: {unseen})"
        if not self.report(
            original_node,
            message,
            fixable=fixable,
            needs_import=needs if alias is not None and alias[1] else None,
            unsafe=unseen is not None,
        ):
            return updated_node
        assert alias is not None
        name, needs_import = alias
        if needs_import:
            toolkit.AddImportsVisitor.add_needed_import(self.context, needs)
        if to_thread:
            if isinstance(func.value, cst.Name):
                owner = toolkit.binding_scope(scope, func.value.value)
                self._replaced[(id(owner), func.value.value)] += 1
            first = updated_node.args[0]
            before = updated_node.whitespace_before_args
            after = first.comma.whitespace_after if isinstance(first.comma, cst.Comma) else None
            if isinstance(after, cst.ParenthesizedWhitespace) and _has_comment(after):
                # ``(\n None,  # comment\n fn`` -> ``(  # comment\n fn``.
                before = after
            return updated_node.with_changes(
                func=cst.Attribute(value=cst.Name(name), attr=cst.Name("to_thread")),
                args=updated_node.args[1:],
                whitespace_before_args=before,
            )
        first, *rest = updated_node.args
        comma = first.comma
        if isinstance(comma, cst.Comma) and isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace):
            # The new argument takes the line break, not the comments after
            # the executor: those stay where they were, once.
            comma = comma.with_changes(
                whitespace_after=comma.whitespace_after.with_changes(
                    first_line=cst.TrailingWhitespace(), empty_lines=()
                )
            )
        runner = cst.Arg(
            value=cst.Attribute(
                value=cst.Call(
                    func=cst.Attribute(value=cst.Name(name), attr=cst.Name("copy_context"))
                ),
                attr=cst.Name("run"),
            ),
            comma=comma,
        )
        return updated_node.with_changes(args=[first, runner, *rest])

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        """Drop ``loop = asyncio.get_running_loop()`` once every use of
        ``loop`` became ``asyncio.to_thread``: getting the running loop inside
        a coroutine has no effect, and the name would be left unused."""
        if not self._replaced or not isinstance(original_node.body, cst.IndentedBlock):
            return updated_node
        original_body = original_node.body.body
        updated_body = list(updated_node.body.body)  # type: ignore[union-attr]
        if len(updated_body) != len(original_body):
            return updated_node  # another rule changed the shape of the block
        if toolkit.reads_frame(original_node.body):
            return updated_node  # they see the name; it stays
        scope = self.scope(original_node.body)
        for index in reversed(range(len(original_body))):
            line = original_body[index]
            name = _loop_assignment(line, self.scope(line))
            if name is None or not isinstance(updated_body[index], cst.SimpleStatementLine):
                continue
            owner = toolkit.binding_scope(self.scope(line), name)
            if owner is None or owner is not scope.function():
                continue
            key = (id(owner), name)
            # Every reference but the assignment's own target was replaced.
            if self._replaced[key] == 0 or self._replaced[key] != self._references[key] - 1:
                continue
            if line.trailing_whitespace.comment is not None:
                continue  # a comment on the loop's own line has nowhere to go
            del updated_body[index]
            if index < len(updated_body):
                following = updated_body[index]
                updated_body[index] = following.with_changes(
                    leading_lines=[*line.leading_lines, *following.leading_lines]
                )
        if len(updated_body) == len(original_body) or not updated_body:
            return updated_node
        return updated_node.with_changes(
            body=updated_node.body.with_changes(body=updated_body)
        )


# -- what the project model shows of the worker and the default executor ---------

# Functions that change the decimal context of the thread they run in (a
# ``localcontext()`` restores it on the way out).
_DECIMAL_SETTERS = frozenset({"decimal.getcontext", "decimal.setcontext"})


def _worker_problem(view: ModuleView | None, qualname: str | None, fn: cst.BaseExpression, default: bool) -> str | None:
    """Why running ``fn`` in a copy of the caller's context would change
    what the program does, as the project model shows it; ``None`` when it
    shows nothing (or cannot see the worker). ``default``: the call runs on
    the loop's default executor."""
    if view is None:
        return None
    callers: Callers = view.callers
    if default:
        installer = _default_installer(view)
        if installer is not None:
            return (
                f"the module `{installer}` installs a default executor that may not be a plain"
                " thread pool (an initializer may set what the worker reads)"
            )
    for target in _workers(view, qualname, toolkit.get_full_name_for_node(fn)) or ():
        problem = _one_worker_problem(view, callers, target)
        if problem is not None:
            return problem
    return None


def _one_worker_problem(view: ModuleView, callers: Callers, target: tuple[str, str]) -> str | None:
    """Why running the project function ``target`` in a copied context
    would change what it does (see :func:`_worker_problem`)."""
    worker = f"the worker `{target[0]}.{target[1]}`"
    for module, function in callers.callees(*target):
        facts = view.project.facts(module)
        assert facts is not None
        who = worker if (module, function.qualname) == target else f"{worker} calls `{module}.{function.qualname}`, which"
        variables = _context_variables(view, facts)
        for call in function.calls:
            name = through_imports(facts.imports, call.func)
            if name in _DECIMAL_SETTERS:
                return (
                    f"{who} changes the decimal context through `{name.rpartition('.')[2]}()`: a"
                    " copied context shares the caller's decimal context, where the worker thread"
                    " had its own"
                )
            receiver, _, method = call.func.rpartition(".")
            if method == "set" and (
                receiver in variables
                or _other_modules_variable(view, facts, receiver)
                or _class_variable(view, facts, receiver)
            ):
                return (
                    f"{who} sets the context variable `{receiver}`: a worker thread keeps the value"
                    " for its next call, a copied context would not"
                )
    return None


def _class_variable(view: ModuleView, facts: ModuleFacts, receiver: str) -> bool:
    """Whether ``receiver`` (``cls.current``, ``Sessions.current``) names
    an attribute a class body of the module binds, in a module that
    imports ``contextvars``: a ``ContextVar`` held by a class."""
    if "." not in receiver or not _context_variables(view, facts):
        return False
    name = receiver.rpartition(".")[2]
    return any(name in cls.assigned for cls in facts.classes.values())


def _other_modules_variable(view: ModuleView, facts: ModuleFacts, receiver: str) -> bool:
    """Whether ``receiver`` (``state.SESSION``, ``SESSION`` imported from
    ``state``) is a module-level name of another module of the project that
    may hold a ``ContextVar`` (see :func:`_context_variables`)."""
    source, _, name = through_imports(facts.imports, receiver).rpartition(".")
    other = view.project.facts(source) if source and source in view.project.index.modules else None
    return other is not None and name in _context_variables(view, other)


def _partial_of(fn: cst.BaseExpression, scope: Scope) -> cst.BaseExpression:
    """The function a ``functools.partial(function, ...)`` worker runs (its
    arguments are values made at the call); any other worker as it is."""
    if (
        isinstance(fn, cst.Call) and fn.args and not fn.args[0].star and fn.args[0].keyword is None
        and scope.qualified_name(fn.func) == "functools.partial"
    ):
        return fn.args[0].value
    return fn


def _loop_or_decimal_elsewhere(view: ModuleView | None, scope: Scope, fn: cst.BaseExpression) -> str | None:
    """Why a copied context may change what the project sees beyond what
    the worker is read to do: the project has an event loop class of its
    own (its ``run_in_executor`` may not be asyncio's, and ``to_thread``
    hands it a ``partial``), or decimals may meet the caller's context in
    the worker (the copy shares the caller's decimal context object: the
    worker's arithmetic sets its flags and meets its traps). A worker of
    the project does that where its module uses ``decimal`` and the worker
    calls no ``localcontext()``; a library's worker, where any module of
    the project uses ``decimal`` (the caller may hand it decimals)."""
    loop_class = own_loop_class(view, ("run_in_executor",))
    if loop_class is not None:
        return f"`{loop_class}` is an event loop of the project's, whose `run_in_executor` may not be asyncio's"
    if view is None:
        return None
    name = toolkit.get_full_name_for_node(fn) if isinstance(fn, (cst.Name, cst.Attribute)) else None
    targets = _workers(view, toolkit.function_qualname(scope), name) if name else None
    if targets:
        for module, qualname in targets:
            facts = view.project.facts(module)
            function = view.project.function(module, qualname)
            if facts is None or function is None:
                continue
            uses = any(target.split(":")[0].split(".")[0] == "decimal" for target in facts.imports.values())
            if uses and not any(call.func.rsplit(".", 1)[-1] == "localcontext" for call in function.calls):
                return f"the worker `{name}` may work on decimals in the caller's decimal context, which the copy shares"
        return None
    view.callers.scan("uses-decimal", _DECIMAL_IMPORT.pattern, (b"decimal",))
    users = view.project.mentions.get("uses-decimal", ())
    if users:
        return f"`{users[0]}` uses `decimal`, and the library's worker may get its decimals in the context the copy shares"
    return None


_DECIMAL_IMPORT = re.compile(rb"(?m)^[ \t]*(?:import[ \t]+decimal\b|from[ \t]+decimal[ \t]+import\b)")


def _worker_unseen(view: ModuleView | None, scope: Scope, fn: cst.BaseExpression) -> str | None:
    """Why the model cannot read the worker ``fn`` to show that a copied
    context leaves what it does alone: a lambda, a ``partial``, an item of
    a registry, a callable handed in or stored on an object of unknown
    class, a method of one of the project's module-level objects (a
    ``ContextVar``'s ``set``). ``None`` for a project function the model
    reads and for a library's function (``requests.get``)."""
    if view is None:
        return None
    name = toolkit.get_full_name_for_node(fn) if isinstance(fn, (cst.Name, cst.Attribute)) else None
    if name is None:
        return "the worker is an expression (a lambda, a `partial`, an item) the model does not read"
    if _workers(view, toolkit.function_qualname(scope), name):
        return None
    origin = scope.qualified_name(fn)
    if origin is not None and origin.split(".")[0] not in view.project.index.packages:
        return None  # a library's function
    return f"the worker `{name}` is not a function of the project the model reads"


def _workers(view: ModuleView, qualname: str | None, fn: str | None) -> list[tuple[str, str]] | None:
    """(module, qualname) of each project function ``fn`` (as written in
    ``qualname``, or at module level) may run: one, or a method and its
    overrides in the project's subclasses; ``None`` when the model cannot
    tell."""
    if not fn:
        return None
    function = view.facts.functions.get(qualname) if qualname is not None else None
    if function is not None:
        targets = view.project.targets(view.module, function, function.call(fn, [], {}, False, False))
        return [(target.module, target.qualname) for target in targets] if targets else None
    found = view.project.lookup(view.module, fn)
    if found is None or found[0] != "function":
        return None
    return [(found[1], found[2])]


def _context_variables(view: ModuleView, facts: ModuleFacts) -> frozenset[str]:
    """The module-level names of a module that may hold a ``ContextVar``:
    all it binds by assignment, if it imports ``contextvars``. If it does
    not, but another module of the project does (a factory there may make
    one: ``SESSION = ctxutil.make_var("session")``), all but those bound to
    a new object of a class the model can name: a library's (other than
    ``contextvars``'), or the project's (``ContextVar`` has no subclasses)."""
    if any(target.split(":")[0].split(".")[0] == "contextvars" for target in facts.imports.values()):
        return frozenset(facts.assigned)
    view.callers.scan("imports-contextvars", rb"\bcontextvars\b", (b"contextvars",))
    if not view.project.mentions.get("imports-contextvars"):
        return frozenset()
    project = view.project

    def made_of_other_class(name: str) -> bool:
        made = facts.singletons.get(name)
        typed = project.type_named(facts.name, made) if made is not None else None
        return typed is not None and (typed[0] != "library" or not typed[1].startswith("contextvars"))

    return frozenset(name for name in facts.assigned if not made_of_other_class(name))


def _default_installer(view: ModuleView) -> str | None:
    """Another module of the project that gives ``set_default_executor``
    anything but a plain thread pool (one made right there, without an
    initializer): its name."""
    for module in view.callers.calling("set_default_executor"):
        if module == view.module:
            continue  # the module's own call is read from its text
        facts = view.project.facts(module)
        imports = facts.imports if facts is not None else {}
        if view.callers.answer(module, "installs another executor", lambda tree: _installs_other(tree, imports)):
            return module
    return None


def _installs_other(tree: ast.Module | None, imports: dict[str, str]) -> bool:
    """Whether a module gives ``set_default_executor`` anything but a plain
    thread pool: one made there, or bound once to a name in the same
    function or at module level, without an initializer. A module that does
    not parse may."""
    if tree is None:
        return True
    module_values = _bound_once(tree)
    for scope in ast.walk(tree):
        if not isinstance(scope, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        values = module_values if isinstance(scope, ast.Module) else _bound_once(scope)
        for node in _own_nodes(scope):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "set_default_executor"):
                continue
            pool = node.args[0] if len(node.args) == 1 and not node.keywords else None
            if isinstance(pool, ast.Name):
                pool = values.get(pool.id, module_values.get(pool.id))
            if not (
                isinstance(pool, ast.Call)
                and through_imports(imports, dotted(pool.func) or "") in _THREAD_POOLS
                and len(pool.args) < 3
                and not any(isinstance(arg, ast.Starred) for arg in pool.args)
                and all(keyword.arg not in (None, "initializer") for keyword in pool.keywords)
            ):
                return True
    return False


def _own_nodes(scope: ast.AST) -> list[ast.AST]:
    """The nodes of a module or function, not of the functions in it."""
    found: list[ast.AST] = []
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        found.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return found


def _bound_once(scope: ast.AST) -> dict[str, ast.expr]:
    """The names a module or function binds once, by ``name = value``, to
    their value (a name bound otherwise or again is left out)."""
    stores: Counter[str] = Counter()
    values: dict[str, ast.expr] = {}
    for node in _own_nodes(scope):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            stores[node.id] += 1
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            stores.update({name: 2 for name in node.names})
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = node.value
    return {name: value for name, value in values.items() if stores[name] == 1}


def _loop_assignment(line: cst.BaseStatement, scope: Scope) -> str | None:
    """``loop`` for a line ``loop = asyncio.get_running_loop()`` (or
    ``get_event_loop()``, any import form); None for anything else."""
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    small = line.body[0]
    if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
        return None
    target, value = small.targets[0].target, small.value
    if not (isinstance(target, cst.Name) and isinstance(value, cst.Call) and not value.args):
        return None
    return target.value if scope.qualified_name(value.func) in EXECUTOR_LOOP_GETTERS else None


def _has_comment(node: cst.CSTNode) -> bool:
    return any(isinstance(n, cst.Comment) for n in toolkit.descendants(node))


def _droppable(call: cst.Call) -> bool:
    """Whether the executor argument of ``call`` can go without losing a
    comment: none in it, or only after its comma (which moves to the
    parenthesis) when none follows the parenthesis already."""
    first = call.args[0]
    if _has_comment(first.with_changes(comma=cst.MaybeSentinel.DEFAULT)):
        return False
    comma = first.comma
    if not isinstance(comma, cst.Comma) or not _has_comment(comma):
        return True
    return (
        not _has_comment(comma.whitespace_before)
        and isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace)
        and not _has_comment(call.whitespace_before_args)
    )
