"""AM301 dangling-task: a task whose only reference is dropped."""

from __future__ import annotations

import ast
import functools
import re
from collections import Counter
from typing import TYPE_CHECKING, Any, Callable

from .analysis.event_loop import own_loop_class
from .analysis.names import LOOP_GETTERS, TASK_FACTORIES
from .findings import Safety
from .lazy import lazy_module
from .rule import Rule
from .screen.facts import Facts
from .settings import ConfigError

if TYPE_CHECKING:
    import libcst as cst

    from .cst import toolkit
    from .cst.scope import Scope
    from .settings import Settings

    _Prescan = Any
else:
    cst = lazy_module("libcst")
    toolkit = lazy_module(".cst.toolkit", __package__)


_HELPER = '''\
# Tasks started here and not yet done: the event loop holds tasks only
# weakly, so a task that nothing else references can vanish mid-flight.
{tasks} = set()


def {keep}(task):
    """Hold a strong reference to ``task`` until it is done."""
    {tasks}.add(task)
    task.add_done_callback({tasks}.discard)
    return task
'''

_LOGGING_HELPER = '''\
# Tasks started here and not yet done: the event loop holds tasks only
# weakly, so a task that nothing else references can vanish mid-flight.
{tasks} = set()


def {keep}(task):
    """Hold a strong reference to ``task`` until it is done."""
    {tasks}.add(task)
    task.add_done_callback({done})
    return task


def {done}(task):
    # Nobody awaits a background task, so its failure is reported here.
    {tasks}.discard(task)
    if not task.cancelled() and task.exception() is not None:
        task.get_loop().call_exception_handler(
            {{
                "message": "background task failed",
                "exception": task.exception(),
                "future": task,
            }}
        )
'''


_HELPER_NAME = re.compile(r"_keep_task(?:_[0-9]+)?")
# The form of the ``task-helper`` option: empty, or ``package.module:function``.
_HELPER_OPTION = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*)?")
_HELPER_PARTS = re.compile(
    r"^[ \t]+(?P<tasks>\w+)\.add\(task\)$\s+^[ \t]+task\.add_done_callback\((?:(?P=tasks)\.discard|(?P<done>\w+))\)$",
    re.MULTILINE,
)


def _true(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


@functools.lru_cache(maxsize=None)
def _prescan_class() -> type[_Prescan]:
    """The visitor of :attr:`DanglingTask._scan` (made on first use: it
    derives from a LibCST class, imported only then)."""

    class Prescan(toolkit.AttributeHooksByTable, cst.CSTVisitor):
        """Every name of the module, the names used inside each function, the
        locals bound to an event loop, and the names in ``global``/``nonlocal``."""

        def __init__(self, scope_of: Callable[[cst.CSTNode], Scope]) -> None:
            super().__init__()
            self.scope_of = scope_of
            self.names: set[str] = set()
            self.uses: dict[cst.FunctionDef, Counter[str]] = {}
            self._open: list[Counter[str]] = []
            self.loops: set[tuple[Scope, str]] = set()
            self.rebound: set[str] = set()

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            counter: Counter[str] = Counter()
            self.uses[node] = counter
            self._open.append(counter)

        def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
            self._open.pop()

        def visit_Name(self, node: cst.Name) -> None:
            self.names.add(node.value)
            for counter in self._open:
                counter[node.value] += 1

        def visit_Global(self, node: cst.Global) -> None:
            self.rebound.update(item.name.value for item in node.names)

        def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
            self.rebound.update(item.name.value for item in node.names)

        def visit_Assign(self, node: cst.Assign) -> None:
            if (
                len(node.targets) == 1
                and isinstance(node.targets[0].target, cst.Name)
                and isinstance(node.value, cst.Call)
                and self.scope_of(node).qualified_name(node.value.func) in LOOP_GETTERS
            ):
                self.loops.add((self.scope_of(node), node.targets[0].target.value))

    return Prescan


class DanglingTask(Rule):
    """A task nobody holds can be garbage-collected before it finishes.

    ## Example

    ```diff
     import asyncio
    +
    +
    +# Tasks started here and not yet done: the event loop holds tasks only
    +# weakly, so a task that nothing else references can vanish mid-flight.
    +_background_tasks = set()
    +
    +
    +def _keep_task(task):
    +    \"\"\"Hold a strong reference to ``task`` until it is done.\"\"\"
    +    _background_tasks.add(task)
    +    task.add_done_callback(_background_tasks.discard)
    +    return task


     async def handle(user):
    -    asyncio.create_task(notify(user))
    +    _keep_task(asyncio.create_task(notify(user)))
         return "ok"
    ```

    ## Why is this bad

    The event loop keeps only a weak reference to a task. A task
    started with `asyncio.create_task(...)`, `asyncio.ensure_future(...)`
    or `loop.create_task(...)` whose result is dropped (or bound to a local
    that is never used again) can be collected while it waits on a future that
    nothing else references: it silently stops half-way, and its exception is
    never seen.

    ## Fix

    The task is handed to a small helper that keeps it in a
    module-level set until it is done:

    ```python
    _keep_task(asyncio.create_task(notify(user)))
    ```

    The helper (`_background_tasks` and `_keep_task`, renamed if those
    names are taken) is added once per module, after the imports; it calls
    `set()`, so a module that binds `set` (or has a star import) gets a
    report without a fix. With the
    option `task-helper = "myapp.tasks:spawn"` the project's own function is
    imported and called instead, with the task as its one argument; it must
    keep a strong reference until the task is done. With
    `log-task-exceptions = true` the generated helper also passes the
    exception of a failed background task to the loop's exception handler
    (which logs it).

    ## Fix safety

    Safe. The task starts at the same moment, with the same
    arguments, on the same loop; the only change is that it can no longer
    disappear before it finishes. That change is the point of the fix, and
    code that relied on the opposite sees it: a task that waits for ever on
    a future nobody else holds now stays pending instead of being
    collected (a test that asserts no task is left pending after
    `gc.collect()`, a `weakref.finalize` on an object only that task
    holds), and the module gains a set of pending tasks (a check that
    forbids module-level mutable state).

    The fix is unsafe where a module of the project

    - lists the module's names (`vars(jobs)`, `dir(jobs)`,
      `inspect.getmembers(jobs)`, `jobs.__dict__`), or imports modules by
      computed names and enumerates a namespace (a plugin registry:
      `inspect.getmembers(importlib.import_module(name))`): they then
      include the helper's two;
    - installs a task factory (`loop.set_task_factory(...)`), or defines
      an event loop class (a `...EventLoop` subclass, run with
      `asyncio.Runner(loop_factory=...)`) that overrides `create_task` or
      `call_soon`: the tasks it makes, or its `call_soon`, may watch the
      helper's `add_done_callback`;
    - replaces `create_task` or `ensure_future` (assigns the attribute, or
      patches it with `mock.patch`, `patch.multiple` or `setattr`): what
      it returns may not be a task, and the helper would fail on it.

    ## Limits

    `loop.create_task` is recognised only when `loop` is
    `asyncio.get_running_loop()` / `get_event_loop()` itself or a local
    bound once to one of them in the same function (or, for a module-level
    call, at module level): `tg.create_task` on a
    `TaskGroup`, a trio nursery or an anyio task group is left alone, as is
    any other object's `create_task`. Left alone: a task stored anywhere,
    returned, passed on, awaited, or bound to a name used again (or in a
    function that calls `locals()`, `vars()`, `eval` or `exec`). A
    module-level name keeps its task alive and is not reported. The wrapped
    call is not re-wrapped to the line length: run your formatter after
    `fix`. Same check as
    ruff `RUF006` and flake8-async `ASYNC300`.
    """

    CODE = "AM301"
    SLUG = "dangling-task"
    SAFETY = Safety.SAFE
    DESCRIPTION = "a task whose only reference is dropped can vanish before it finishes"
    OPTIONS = {"task-helper": "", "log-task-exceptions": False}
    EQUIVALENTS = ("RUF006", "ASYNC300")
    PREFILTER = (b"create_task", b"ensure_future")

    @classmethod
    def check_option(cls, key: str, value: object) -> str | None:
        if key == "task-helper" and isinstance(value, str) and not _HELPER_OPTION.fullmatch(value.strip()):
            return f"expected 'package.module:function' (or empty for the generated helper), got {value!r}"
        return None

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

    def __init__(self, context: cst.codemod.CodemodContext) -> None:
        super().__init__(context)
        self._module: cst.Module | None = None
        self._prescan: _Prescan | None = None
        self._helper: tuple[str, str] | None = None  # (module, name) of a project helper
        self._helper_names: dict[str, str] = {}
        self._insert_helper = False
        self._reuse_helper = False
        self._seen_elsewhere: str | None = None  # see _tasks_seen_elsewhere

    # -- analysis -------------------------------------------------------------

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        configured = str(self.option("task-helper") or "").strip()
        if configured:
            module, _, name = configured.partition(":")
            if not module or not name.isidentifier():
                raise ConfigError(
                    f"task-helper: expected 'package.module:function', got {configured!r}"
                )
            self._helper = (module, name)
        else:
            self._reuse_helper = self._find_generated_helper(node)

    @property
    def _scan(self) -> _Prescan:
        # A walk of the whole module, made on first need: most sites are
        # ``asyncio.create_task(...)`` statements, which need none of it.
        if self._prescan is None:
            assert self._module is not None
            self._prescan = _prescan_class()(self.scope)
            toolkit.walk(self._module, self._prescan)
        return self._prescan

    def _new_helper_names(self) -> None:
        """Names for the generated helper that collide with none of the module."""
        taken = set(self._scan.names)
        for role, base in (("tasks", "_background_tasks"), ("keep", "_keep_task"), ("done", "_task_done")):
            name, n = base, 1
            while name in taken:
                n += 1
                name = f"{base}_{n}"
            taken.add(name)
            self._helper_names[role] = name

    def _find_generated_helper(self, module: cst.Module) -> bool:
        """Reuse the helper an earlier run added, so that a later run with a
        new site does not add a second one."""
        top = self.scope(module)
        for statement in module.body:
            if not (isinstance(statement, cst.FunctionDef) and _HELPER_NAME.fullmatch(statement.name.value)):
                continue
            # Compared with LF endings: ``$`` in the pattern does not match before "\r\n".
            code = module.code_for_node(statement.with_changes(leading_lines=()))
            code = code.replace("\r\n", "\n").replace("\r", "\n")
            names = _HELPER_PARTS.search(code)
            if names is None:
                continue
            keep, tasks, done = statement.name.value, names.group("tasks"), names.group("done")
            rendered = (_HELPER if done is None else _LOGGING_HELPER).format(
                keep=keep, tasks=tasks, done=done
            )
            bound_once = all(
                len(top.bindings.get(name, ())) == 1 for name in (keep, tasks, done) if name
            )
            rendered = rendered.replace("    ", module.default_indent)
            if code in rendered and bound_once:
                self._helper_names = {"keep": keep, "tasks": tasks, "done": done or ""}
                self._reuse_helper = True
                return True
        return False

    def _task_factory(self, call: cst.Call) -> str | None:
        """How ``call`` starts a task (for the message), or ``None``."""
        scope = self.scope(call)
        qualified = scope.qualified_name(call.func)
        if qualified in TASK_FACTORIES:
            return f"`{qualified.replace('.tasks.', '.')}()`"
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "create_task"):
            return None
        loop = func.value
        if isinstance(loop, cst.Call) and scope.qualified_name(loop.func) in LOOP_GETTERS:
            return "`loop.create_task()`"
        if isinstance(loop, cst.Name):
            if not self._maybe_loop(loop.value):
                return None
            # Only a name bound once, in this very function (or at module
            # level for a module-level site), to the loop.
            owner = toolkit.binding_scope(scope, loop.value)
            if (
                owner is not None
                and owner is scope.function()
                and owner.kind in (toolkit.ScopeKind.FUNCTION, toolkit.ScopeKind.ASYNC_FUNCTION, toolkit.ScopeKind.MODULE)
                and len(owner.bindings[loop.value]) == 1
                and loop.value not in self._scan.rebound
                and (owner, loop.value) in self._scan.loops
            ):
                return f"`{loop.value}.create_task()`"
        return None

    def _maybe_loop(self, name: str) -> bool:
        """False when the file's ast shows no ``name = <loop getter>()``
        anywhere (the module walk would find none either)."""
        facts = self.facts
        if facts is None:
            return True
        return any(
            isinstance(value, ast.Call) and not facts.qualnames(value.func).isdisjoint(LOOP_GETTERS)
            for value in facts.assigned.get(name, ())
        )

    def _unused_local(self, target: cst.BaseExpression, statement: cst.CSTNode) -> bool:
        """Whether ``target`` is a local of a function, bound once and never read."""
        if not isinstance(target, cst.Name):
            return False
        scope = self.scope(statement)
        owner = toolkit.binding_scope(scope, target.value)
        if (
            owner is None
            or owner is not scope.function()
            or owner.kind not in (toolkit.ScopeKind.FUNCTION, toolkit.ScopeKind.ASYNC_FUNCTION)
            or len(owner.bindings[target.value]) != 1
        ):
            return False
        assert isinstance(owner.node, cst.FunctionDef)
        # The task is usually used again: counting the names of this one
        # function settles that without the walk of the whole module.
        if _count_names(owner.node, target.value) > 1:
            return False
        if target.value in self._scan.rebound:
            return False
        uses = self._scan.uses[owner.node]
        return uses[target.value] == 1 and not any(uses[name] for name in toolkit.FRAME_READERS)

    # -- rewriting ------------------------------------------------------------

    def _tasks_seen_elsewhere(self) -> str | None:
        """Why a module of the project may see the task the fix keeps
        otherwise than as a task held in a set: it replaces
        ``create_task``/``ensure_future`` (assigns the loop's attribute, or
        patches it: what it returns may have no ``add_done_callback``), or
        installs a task factory (which may make tasks whose callbacks it
        watches).
        ``None`` where no module does, or the model is not at hand."""
        if self._seen_elsewhere is None:
            view = self.view
            found = ""
            if view is not None:
                for question, pattern, words, reason in _TASKS_SEEN:
                    view.callers.scan(question, pattern, words)
                    hits = view.project.mentions.get(question, ())  # (the matching modules alone)
                    if hits:
                        found = reason.format(module=hits[0])
                        break
                loop_class = own_loop_class(view, ("create_task", "call_soon")) if not found else None
                if loop_class is not None:
                    found = f"`{loop_class}` is an event loop of the project's, whose `create_task` or `call_soon` may see the kept task"
                if not found and self._helper is None and not self._reuse_helper:
                    lister = view.callers.lister_of(view.module)
                    if lister is not None:
                        found = f"`{lister}` lists the names of this module, which gains the helper's two"
            self._seen_elsewhere = found
        return self._seen_elsewhere or None

    def _keep(self, original: cst.Call, updated: cst.BaseExpression, message: str) -> cst.BaseExpression:
        """Report the dropped task at ``original``; wrap it in the helper if fixing."""
        scope = self.scope(original)
        fixable, needs_import = True, None
        if self._helper is not None:
            module, name = self._helper
            seen = scope.lookup(name)
            if seen is toolkit.UNBOUND:
                needs_import = f"{module}.{name}"
            elif seen != f"{module}.{name}":
                fixable = False
                message += f" (not fixed here: `{name}` means something else in this scope)"
        elif self._reuse_helper:
            # The helper an earlier run added: only where its name still
            # means that module-level def (a parameter or local may shadow it).
            keep = self._helper_names["keep"]
            if toolkit.binding_scope(scope, keep) is not scope.module:
                fixable = False
                message += f" (not fixed here: `{keep}` means something else in this scope)"
        elif scope.module.lookup("set") is not toolkit.UNBOUND:
            # The generated helper starts with ``_background_tasks = set()``:
            # a module-level ``set`` (an import, a def, a star import, an
            # assignment through ``global set`` in a function, which the
            # scopes record at module level) would make that call something
            # else. Asked of the scopes rather than the module walk, which
            # most sites never need.
            fixable = False
            message += " (not fixed: `set` may mean something else in this module, and the helper calls `set()`)"
        unseen = self._tasks_seen_elsewhere() if fixable else None
        if unseen is not None:
            message += f" (an unsafe fix: {unseen})"
        if not self.report(original, message, fixable=fixable, needs_import=needs_import, unsafe=unseen is not None):
            return updated
        if self._helper is not None:
            module, name = self._helper
            if needs_import:
                toolkit.AddImportsVisitor.add_needed_import(self.context, module, name)
            helper = name
        else:
            self._insert_helper = not self._reuse_helper
            if not self._helper_names:
                self._new_helper_names()
            helper = self._helper_names["keep"]
        assert isinstance(updated, cst.Call)
        inner = updated.with_changes(lpar=(), rpar=())
        return cst.Call(
            func=cst.Name(helper),
            args=[cst.Arg(value=inner)],
            lpar=updated.lpar,
            rpar=updated.rpar,
        )

    def leave_Expr(self, original_node: cst.Expr, updated_node: cst.Expr) -> cst.Expr:
        call = original_node.value
        if not isinstance(call, cst.Call):
            return updated_node
        factory = self._task_factory(call)
        if factory is None:
            return updated_node
        message = f"the task from {factory} is dropped and can be garbage-collected before it finishes; keep a reference until it is done"
        return updated_node.with_changes(value=self._keep(call, updated_node.value, message))

    def _leave_binding(
        self,
        original: cst.Assign | cst.AnnAssign,
        updated: cst.Assign | cst.AnnAssign,
        target: cst.BaseExpression,
    ) -> cst.Assign | cst.AnnAssign:
        call = original.value
        if not isinstance(call, cst.Call) or not isinstance(updated.value, cst.Call):
            return updated
        factory = self._task_factory(call)
        if factory is None or not self._unused_local(target, original):
            return updated
        assert isinstance(target, cst.Name)
        message = (
            f"the task from {factory} is bound to `{target.value}`, which is never used again: "
            "it can be garbage-collected before it finishes; keep a reference until it is done"
        )
        return updated.with_changes(value=self._keep(call, updated.value, message))

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        if len(original_node.targets) != 1:
            return updated_node
        result = self._leave_binding(original_node, updated_node, original_node.targets[0].target)
        assert isinstance(result, cst.Assign)
        return result

    def leave_AnnAssign(self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign) -> cst.AnnAssign:
        result = self._leave_binding(original_node, updated_node, original_node.target)
        assert isinstance(result, cst.AnnAssign)
        return result

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self._insert_helper:
            return updated_node
        log = _true(self.option("log-task-exceptions"))
        text = (_LOGGING_HELPER if log else _HELPER).format(**self._helper_names)
        return toolkit.insert_after_imports(updated_node, text)


# The project's code that may see a kept task otherwise than as a task:
# (question, pattern, words that must appear, reason).
_TASKS_SEEN = (
    (
        "create-task-replaced",
        # (an assignment to the attribute; a string naming it to setattr,
        # mock.patch or monkeypatch.setattr)
        rb"\.(?:create_task|ensure_future)[ \t]*=(?!=)"
        rb"|\b(?:patch|setattr)\b[^\n]*(?:[\"'](?:[\w.]*\.)?(?:create_task|ensure_future)[\"']"
        rb"|\b(?:create_task|ensure_future)[ \t]*=(?!=))",
        (b"create_task", b"ensure_future"),
        "`{module}` replaces `create_task` or `ensure_future`, which may then return something other than a task",
    ),
    (
        "task-factory",
        rb"\bset_task_factory\(",
        (b"set_task_factory",),
        "`{module}` installs a task factory, which may make tasks whose callbacks it watches",
    ),
)


def _count_names(root: cst.CSTNode, name: str) -> int:
    """How many ``Name`` nodes under ``root`` spell ``name`` (as
    ``_Prescan.uses`` counts them for a function)."""
    count = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name) and node.value == name:
            count += 1
        stack.extend(toolkit.children(node))
    return count
