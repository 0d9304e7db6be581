"""AM304 unbounded-wait: an ``await`` on a task, a future, an event or a
queue with no timeout around it (opt-in)."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Callable

from .analysis.names import TASK_FACTORIES
from .analysis.event_loop import runs_elsewhere
from .analysis.offload import called_names, kept_names, other_backend, report_fix, resolve, unwrap_optional
from .findings import Safety
from .lazy import lazy_module
from .rule import Rule
from .screen.facts import Facts, awaits

if TYPE_CHECKING:
    import libcst as cst

    from .cst import toolkit
    from .cst.scope import Scope
    from .settings import Settings
else:
    cst = lazy_module("libcst")
    toolkit = lazy_module(".cst.toolkit", __package__)


TASK, EVENT, QUEUE = "task", "event", "queue"

#: Calls that make a task or future, an event, a queue (by qualified name).
MAKERS: dict[str, str] = {
    **{name: TASK for name in TASK_FACTORIES},
    "asyncio.Future": TASK,
    "asyncio.futures.Future": TASK,
    "asyncio.wrap_future": TASK,
    "asyncio.Event": EVENT,
    "asyncio.locks.Event": EVENT,
    **{
        f"asyncio{module}.{name}": QUEUE
        for module in ("", ".queues")
        for name in ("Queue", "PriorityQueue", "LifoQueue")
    },
}
#: Methods that make a task or future on any object (a loop, a TaskGroup).
METHOD_MAKERS = frozenset({"create_task", "create_future", "run_in_executor"})
#: Annotations that say what a name holds.
ANNOTATIONS: dict[str, str] = {
    "asyncio.Task": TASK,
    "asyncio.Future": TASK,
    "asyncio.tasks.Task": TASK,
    "asyncio.futures.Future": TASK,
    "asyncio.Event": EVENT,
    **{f"asyncio.{name}": QUEUE for name in ("Queue", "PriorityQueue", "LifoQueue")},
}
# The wait each kind stands for: ``await task``, ``await event.wait()``,
# ``await queue.get()``.
_WAITS = {EVENT: "wait", QUEUE: "get"}
_GATHER = frozenset({"asyncio.gather", "asyncio.tasks.gather"})
# Context managers that bound what runs inside them.
_TIMEOUTS = frozenset(
    {
        "asyncio.timeout",
        "asyncio.timeout_at",
        "asyncio.timeouts.timeout",
        "async_timeout.timeout",
        "async_timeout.timeout_at",
        *(
            f"{library}.{name}"
            for library in ("anyio", "trio")
            for name in ("fail_after", "fail_at", "move_on_after", "move_on_at")
        ),
    }
)
_TIMEOUT_WORDS = ("timeout", "deadline", "fail_after", "fail_at", "move_on")


def _timeout_manager(name: str | None, spelled: str) -> bool:
    """A ``with`` item that bounds its block: a known timeout, or any
    callee whose name says so (``self.timeout(5)``, ``deadline(...)``)."""
    if name in _TIMEOUTS:
        return True
    last = spelled.rsplit(".", 1)[-1].lower()
    return any(word in last for word in _TIMEOUT_WORDS)


class UnboundedWait(Rule):
    """An `await` on a task, future, event or queue with no timeout can hang for ever.

    ## Example

    ```diff
     async def handle(request):
         job = asyncio.create_task(render(request))
    -    page = await job
    +    page = await asyncio.wait_for(job, timeout=30)
    ```

    (with `unbounded-wait-timeout = 30` in `[tool.asyncmend]`)

    ## Why is this bad

    A task that never finishes, an event nobody sets, a queue nobody fills:
    the coroutine waiting on it waits for ever, holding its request, its
    connection and whatever it acquired, and nothing reports it. A timeout
    turns the hang into an error the program can handle and log.

    Reported: `await X` inside `async def` where `X` is

    - a task or future: a name (or `self.attr`) bound only to
      `asyncio.create_task(...)`, `asyncio.ensure_future(...)`,
      `asyncio.Future()`, `asyncio.wrap_future(...)` or any
      `.create_task(...)`, `.create_future()`, `.run_in_executor(...)`, or
      annotated `asyncio.Task` / `asyncio.Future`;
    - `event.wait()` on an `asyncio.Event`, `queue.get()` on an
      `asyncio.Queue` (or `PriorityQueue`, `LifoQueue`), found the same way;
    - `asyncio.gather(...)` of such tasks (`gather(t1, t2)`, or
      `gather(*tasks)` with `tasks` a list of `create_task(...)` calls).

    A name counts only when it is bound once (in its function or at module
    level), and `self.attr` only when every assignment to it in the class
    makes the same kind. So `await some_coroutine()` is never reported, nor
    a gather of coroutine calls: its coroutines are as bounded as the
    coroutine around them, which the rule cannot judge.

    The rule is opt-in (`--select AM304`): a service has waits meant to last
    for ever (a worker's `await queue.get()`, a `await stop.wait()` until
    shutdown), and a timeout usually belongs to the caller, which one
    function's text does not show.

    ## Fix

    With `unbounded-wait-timeout` set to a number of seconds, `await X`
    becomes `await asyncio.wait_for(X, timeout=T)` (`import asyncio` added
    where missing, an `import asyncio as aio` reused). Without it the rule
    only reports: a timeout is a decision about the service, not a constant
    the tool can pick.

    ## Fix safety

    Unsafe. After `T` seconds `asyncio.TimeoutError` (`TimeoutError` from
    Python 3.11) is raised where the coroutine used to keep waiting, and `X`
    is cancelled: a task others also await is cancelled for them too (wrap
    it in `asyncio.shield` if it must survive); on Python before 3.12 a
    `queue.get()` cancelled by `wait_for` just as an item arrives may lose
    that item.

    ## Limits

    Not reported: an `await` inside `async with asyncio.timeout(...)`,
    `async_timeout.timeout`, `with anyio.fail_after(...)` /
    `move_on_after(...)` (trio's too), or any `with` whose manager's name
    says timeout or deadline; an `await` of a task or future the same
    function cancels (`task.cancel(); await task` is cleanup) or checks with
    `.done()`; a gather in a function that cancels anything. Reported
    without a fix: a task or future that others may hold (a parameter, an
    attribute, a global, one handed to a call or stored anywhere, its
    `set_result` given as a callback): `wait_for` would cancel it for them
    on timeout, and a future a function hands on is a wait it implements,
    whose timeout belongs to its caller; a `queue.get()` or `event.wait()`
    inside a `while` loop or an `__anext__` (a consumer waiting for work: a
    timeout there must be handled, not raised);
    any wait in a module that imports trio or anyio, or is part of one
    (`anyio.fail_after` is the cure there); where `asyncio` names something
    else. Tasks held in a
    dict, a set or another object's attribute are not followed.
    """

    CODE = "AM304"
    SLUG = "unbounded-wait"
    SAFETY = Safety.UNSAFE
    OPT_IN = True
    DESCRIPTION = "await on a task, future, event or queue with no timeout can hang for ever"
    OPTIONS = {"unbounded-wait-timeout": 0.0}

    @classmethod
    def prefilter(cls, data: bytes) -> bool:
        return awaits(data) and any(
            token in data
            for token in (b"create_task", b"ensure_future", b"Future", b"Event", b"Queue", b"Task",
                          b"create_future", b"run_in_executor", b"wrap_future")
        )

    @classmethod
    def screen(cls, facts: Facts, settings: Settings) -> bool:
        if not facts.has_async:
            return False
        roots = {origin.split(".")[0] for origins in facts.imports.values() for origin in origins}
        if "asyncio" in roots:
            return True  # annotations and makers reached through asyncio
        for call, _ in facts.calls:
            if not called_names(facts, call.func).isdisjoint(MAKERS):
                return True
            if isinstance(call.func, ast.Attribute) and call.func.attr in METHOD_MAKERS:
                return True
        return False

    @classmethod
    def check_option(cls, key: str, value: object) -> str | None:
        if isinstance(value, float) and value < 0:
            return f"expected a number of seconds (0: report only), got {value!r}"
        return None

    def __init__(self, context: cst.codemod.CodemodContext) -> None:
        super().__init__(context)
        # Per function being visited: how many ``with`` timeouts and
        # ``while`` loops stand around the current node, and what its own
        # calls cancel or check.
        self._frames: list[_Frame] = [_Frame()]
        # (owning scope's node, name) -> the one value or annotation bound.
        self._bindings: dict[cst.CSTNode | None, dict[str, cst.BaseExpression | None]] = {}
        self._attributes: dict[cst.ClassDef, dict[str, set[str | None]]] = {}
        self._kept: dict[cst.CSTNode, frozenset[str]] = {}

    # -- where the await stands -------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        frame = _Frame()
        if node.name.value == "__anext__":
            frame.loops = 1  # each call is one turn of the consumer's ``async for``
        calls = toolkit.OwnCalls()
        toolkit.walk(node.body, calls)
        for call in calls.calls:
            func = call.func
            if isinstance(func, cst.Attribute):
                receiver = _code(func.value)
                if func.attr.value == "cancel":
                    frame.cancelled.add(receiver)
                elif func.attr.value in ("done", "cancelled"):
                    frame.checked.add(receiver)
        self._frames.append(frame)

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        self._frames.pop()
        return updated_node

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._frames.append(_Frame())

    def leave_Lambda(self, original_node: cst.Lambda, updated_node: cst.Lambda) -> cst.BaseExpression:
        self._frames.pop()
        return updated_node

    def visit_With(self, node: cst.With) -> None:
        bounded = any(
            isinstance(item.item, cst.Call)
            and _timeout_manager(resolve(self.scope(item.item), item.item.func), _code(item.item.func))
            for item in node.items
        )
        self._frames[-1].timeouts.append(bounded)

    def leave_With(self, original_node: cst.With, updated_node: cst.With) -> cst.With:
        self._frames[-1].timeouts.pop()
        return updated_node

    def visit_While(self, node: cst.While) -> None:
        self._frames[-1].loops += 1

    def leave_While(self, original_node: cst.While, updated_node: cst.While) -> cst.While:
        self._frames[-1].loops -= 1
        return updated_node

    # -- the await --------------------------------------------------------------

    def leave_Await(self, original_node: cst.Await, updated_node: cst.Await) -> cst.BaseExpression:
        scope = self.scope(original_node)
        if scope.function().kind is not toolkit.ScopeKind.ASYNC_FUNCTION:
            return updated_node
        frame = self._frames[-1]
        if any(frame.timeouts):
            return updated_node
        found = self._unbounded(original_node.expression, scope, frame)
        if found is None:
            return updated_node
        kind, what, shared = found
        message = (
            f"`await {what}` has no timeout: if it never completes, this coroutine waits for ever;"
            " bound it with `asyncio.timeout()` or `asyncio.wait_for()`"
        )
        alias = scope.module_alias("asyncio")
        seconds = _seconds(self.option("unbounded-wait-timeout"))
        problem = None
        if kind in (EVENT, QUEUE) and frame.loops:
            problem = (
                "a consumer waiting for work (in a `while` loop or an `__anext__`): a timeout there"
                " must be handled, not raised"
            )
        elif shared:
            problem = (
                "the task or future is handed on or shared (a parameter, an attribute, a global, an"
                " argument): `wait_for` would cancel it for every other holder on timeout"
                " (`asyncio.shield` keeps it alive)"
            )
        elif (backend := other_backend(scope, self.context.filename, self.view, self.settings.async_backend)) is not None:
            problem = runs_elsewhere(backend, "`with {library}.fail_after(...)`")
        elif alias is None:
            problem = "`asyncio` names something else here"
        elif seconds <= 0:
            problem = "set `unbounded-wait-timeout` to a number of seconds to have it fixed"
        name = report_fix(self, original_node, message, problem, alias)
        if name is None:
            return updated_node
        timeout = str(int(seconds)) if seconds.is_integer() else repr(seconds)
        bounded = cst.Call(
            func=cst.Attribute(value=cst.Name(name), attr=cst.Name("wait_for")),
            args=[
                cst.Arg(value=updated_node.expression),
                cst.Arg(
                    keyword=cst.Name("timeout"),
                    value=cst.Float(timeout) if "." in timeout or "e" in timeout else cst.Integer(timeout),
                    equal=cst.AssignEqual(
                        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
                    ),
                ),
            ],
        )
        return updated_node.with_changes(expression=bounded)

    def _unbounded(self, expr: cst.BaseExpression, scope: Scope, frame: _Frame) -> tuple[str, str, bool] | None:
        """(kind, text, shared) of an awaited expression that waits without
        bound; ``shared``: a task or future others may hold, which a
        ``wait_for`` would cancel for them."""
        if isinstance(expr, (cst.Name, cst.Attribute)) and self._holds(expr, scope) == TASK:
            text = _code(expr)
            if text in frame.cancelled or text in frame.checked:
                return None
            return TASK, text, not self._kept_here(expr, scope)
        if not isinstance(expr, cst.Call):
            return None
        func = expr.func
        if isinstance(func, cst.Attribute) and not expr.args:
            kind = self._holds(func.value, scope)
            if kind in _WAITS and _WAITS[kind] == func.attr.value:
                return kind, f"{_code(func.value)}.{func.attr.value}()", False
            return None
        if resolve(scope, func) in _GATHER and not frame.cancelled:
            tasks = self._gathered_tasks(expr, scope)
            if tasks:
                # The gather was made for these tasks: only whether they were
                # made here matters (a timeout cancels the gather and them).
                shared = any(toolkit.bound_once(scope, task.value) is not scope.function() for task in tasks)
                return TASK, f"{_code(func)}(...)", shared
        return None

    def _gathered_tasks(self, call: cst.Call, scope: Scope) -> list[cst.Name]:
        """The names of the tasks (or lists of tasks) among a gather's
        arguments; empty when it gathers none."""
        found: list[cst.Name] = []
        for arg in call.args:
            if arg.keyword is not None or not isinstance(arg.value, cst.Name):
                continue
            if not arg.star and self._holds(arg.value, scope) == TASK:
                found.append(arg.value)
            elif arg.star == "*":
                value = self._value(arg.value, scope)
                if isinstance(value, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
                    if self._makes(value.elt, scope) == TASK:
                        found.append(arg.value)
                elif isinstance(value, (cst.List, cst.Tuple, cst.Set)):
                    if any(
                        isinstance(e, cst.Element)
                        and TASK in (self._makes(e.value, scope), self._holds(e.value, scope))
                        for e in value.elements
                    ):
                        found.append(arg.value)
        return found

    def _kept_here(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        """Whether ``expr`` is a name this coroutine binds and never hands on."""
        function = scope.function()
        if not isinstance(expr, cst.Name) or function.node is None:
            return False
        if toolkit.bound_once(scope, expr.value) is not function:
            return False
        kept = self._kept.get(function.node)
        if kept is None:
            kept = self._kept[function.node] = kept_names(function.node)
        return expr.value in kept

    # -- what a name or attribute holds -------------------------------------------

    def _holds(self, expr: cst.BaseExpression, scope: Scope) -> str | None:
        """TASK, EVENT or QUEUE for a name bound once, or a ``self.attr``
        every assignment of which in its class makes one kind."""
        if isinstance(expr, cst.Name):
            value = self._value(expr, scope)
            return self._makes(value, scope) if value is not None else None
        if (
            isinstance(expr, cst.Attribute)
            and isinstance(expr.value, cst.Name)
            and expr.value.value == "self"
        ):
            kinds = self._attribute_kinds(scope).get(expr.attr.value, set())
            if len(kinds) == 1:
                return next(iter(kinds))
        return None

    def _makes(self, value: cst.BaseExpression, scope: Scope) -> str | None:
        """The kind a bound value or annotation makes or names."""
        if isinstance(value, cst.Call):
            name = resolve(scope, value.func)
            if name in MAKERS:
                return MAKERS[name]
            if isinstance(value.func, cst.Attribute) and value.func.attr.value in METHOD_MAKERS:
                return TASK
            return None
        if isinstance(value, cst.Annotation):
            annotation = unwrap_optional(scope, value.annotation)
            if isinstance(annotation, cst.Subscript):
                annotation = annotation.value  # asyncio.Task[int]
            name = resolve(scope, annotation) if annotation is not None else None
            return ANNOTATIONS.get(name) if name is not None else None
        return None

    def _value(self, name: cst.Name, scope: Scope) -> cst.BaseExpression | None:
        """The value (or the ``cst.Annotation``) of the one binding of ``name``."""
        owner = toolkit.bound_once(scope, name.value)
        if owner is None or owner.kind not in (
            toolkit.ScopeKind.MODULE, toolkit.ScopeKind.FUNCTION, toolkit.ScopeKind.ASYNC_FUNCTION
        ):
            return None
        bindings = self._bindings.get(owner.node)
        if bindings is None and owner.node is not None:
            bindings = _bindings(owner.node)
            if isinstance(owner.node, cst.FunctionDef):
                for param in _params(owner.node):
                    bindings[param.name.value] = param.annotation
            self._bindings[owner.node] = bindings
        return (bindings or {}).get(name.value)

    def _attribute_kinds(self, scope: Scope) -> dict[str, set[str | None]]:
        """Per ``self.attr`` of the class around the method: the kinds its
        assignments make (None for anything else)."""
        method = scope.function()
        owner = method.parent
        if owner is None or owner.kind is not toolkit.ScopeKind.CLASS or not isinstance(owner.node, cst.ClassDef):
            return {}
        found = self._attributes.get(owner.node)
        if found is None:
            found = self._attributes[owner.node] = _self_attributes(
                owner.node, lambda value: self._makes(value, self.scope(value))
            )
        return found


class _Frame:
    """What stands around the node being visited, within one function."""

    def __init__(self) -> None:
        self.timeouts: list[bool] = []
        self.loops = 0
        self.cancelled: set[str] = set()
        self.checked: set[str] = set()


def _params(node: cst.FunctionDef) -> list[cst.Param]:
    params = node.params
    return [*params.posonly_params, *params.params, *params.kwonly_params]


# Nodes whose insides are another scope: their bindings are not the function's.
def _other_scope(node: cst.CSTNode) -> bool:
    return isinstance(
        node,
        (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp),
    )


def _bindings(root: cst.CSTNode) -> dict[str, cst.BaseExpression | None]:
    """What the plain bindings of ``root``'s own scope bind each name to: the
    value of ``name = value`` or ``with value as name``, the ``Annotation``
    of ``name: T = ...`` (None for a def or class). Where a name is bound
    more than once, the caller has already given up (``bound_once``)."""
    bound: dict[str, cst.BaseExpression | None] = {}
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        if node is not root and _other_scope(node):
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                bound[node.name.value] = None
            continue
        if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            bound[node.targets[0].target.value] = node.value
        elif isinstance(node, cst.AnnAssign) and isinstance(node.target, cst.Name):
            bound[node.target.value] = node.annotation
        elif isinstance(node, cst.WithItem) and node.asname is not None and isinstance(node.asname.name, cst.Name):
            bound[node.asname.name.value] = node.item
        stack.extend(toolkit.children(node))
    return bound


def _self_attributes(
    cls: cst.ClassDef, kind_of: Callable[[cst.BaseExpression], str | None]
) -> dict[str, set[str | None]]:
    """Per attribute of ``self``: the kinds every store to it in the class
    makes, None for a store of anything else (an augmented assignment or a
    ``del`` included)."""
    kinds: dict[str, set[str | None]] = {}
    for node in toolkit.descendants(cls.body):
        targets: list[tuple[cst.BaseExpression, str | None]] = []
        if isinstance(node, cst.Assign):
            kind = kind_of(node.value)
            targets = [(target.target, kind) for target in node.targets]
        elif isinstance(node, cst.AnnAssign):
            targets = [(node.target, kind_of(node.annotation))]
        elif isinstance(node, (cst.AugAssign, cst.Del)):
            targets = [(node.target, None)]
        for target, kind in targets:
            if (
                isinstance(target, cst.Attribute)
                and isinstance(target.value, cst.Name)
                and target.value.value == "self"
            ):
                kinds.setdefault(target.attr.value, set()).add(kind)
    return kinds


def _seconds(value: object) -> float:
    """The configured timeout (a fixture or the API may give it as text);
    0 when unset or not a number: the rule then only reports."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return seconds if seconds > 0 and seconds != float("inf") else 0.0


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)
