"""What a new suspension point lets other tasks see, within one coroutine.

AM101 turns ``time.sleep(x)`` into ``await asyncio.sleep(x)``. Between two
awaits a coroutine runs without a break: no other task of the loop runs, no
cancellation arrives. The fix puts a break where there was none, and that can
be seen in the coroutine itself in two ways:

- **cleanup cut short**: in a ``finally``, an ``except`` handler or
  ``__aexit__``, a cancellation (a second ``Ctrl-C``, a ``TaskGroup`` shutting
  down) now lands in the sleep and skips the rest of the cleanup, which the
  blocking sleep always let finish;
- **check-then-act**: shared state (a global, a ``nonlocal``, an attribute
  or item of ``self``, ``cls``, another parameter or a module-level object,
  also through a local alias of one) read before the sleep and changed after
  it. Another task may now change it in between, and the coroutine acts on
  what it read (two withdrawals both pass ``if balance >= amount``).

The callers show it too, each one up to where the new ``await`` stops being
seen (:func:`seen_by_callers`, on the project model's reverse calls, at any
depth through the callers that await it): a caller that holds a thread lock
across the ``await`` (``with lock:``, ``lock.acquire()``, a decorator whose
wrapper does), waits for it under a timeout (``asyncio.wait_for``, ``async
with asyncio.timeout()``), which can now fire, drives it without a loop
(``coro.send(None)``), awaits it in its cleanup, or reads shared state before
the call that the call changes; and a caller that catches what
``time.sleep`` raises where ``asyncio.sleep`` does not.

Importing this module imports no LibCST (see :mod:`codemods.lazy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

from ..lazy import lazy_module
from ..model.facts import split_root, through_imports
from .dependence import access_path, accesses, paths_overlap

if TYPE_CHECKING:
    import libcst as cst

    from ..cst.scope import Scope
    from ..model.callers import CallSite
    from ..model.facts import FunctionFacts
    from ..model.project import ModuleView
else:
    cst = lazy_module("libcst")
cst_scope = lazy_module("..cst.scope", __package__)
cst_traversal = lazy_module("..cst.traversal", __package__)

# Methods that change the container they are called on: after the check,
# ``PENDING.pop(0)`` or ``registry.USERNAMES.add(name)`` is the act.
# (``set`` is left out: ``ContextVar.set`` changes nothing another task sees.)
MUTATORS = frozenset(
    {
        "append", "appendleft", "extend", "extendleft", "insert", "pop", "popleft", "popitem",
        "remove", "discard", "add", "update", "setdefault", "clear", "sort", "reverse",
        "put_nowait", "get_nowait",
    }
)


@dataclass(frozen=True)
class _Regions:
    """The parts of a coroutine that run before a site, after it, or both
    (the site's own statement, and every loop around it)."""

    before: tuple[cst.CSTNode, ...]
    after: tuple[cst.CSTNode, ...]


class NewAwait:
    """Why an ``await`` a fix puts at a call of a coroutine would show in
    what the coroutine does (:func:`visible`), asked by a rule of each call
    it would fix: one parent map per coroutine. ``what`` names the call in
    the reason ("sleep", "call")."""

    def __init__(self, scope_of: Callable[[cst.CSTNode], Scope], what: str) -> None:
        self._scope_of = scope_of
        self._what = what
        self._parents: dict[cst.FunctionDef, dict[cst.CSTNode, cst.CSTNode]] = {}

    def problem(self, call: cst.CSTNode, function: cst.FunctionDef) -> str | None:
        parents = self._parents.get(function)
        if parents is None:
            parents = self._parents[function] = cst_scope.ParentMap.of(function)
        return visible(call, function, parents, self._scope_of, self._what)


def visible(
    call: cst.CSTNode,
    function: cst.FunctionDef,
    parents: dict[cst.CSTNode, cst.CSTNode],
    scope_of: Callable[[cst.CSTNode], Scope],
    what: str,
) -> str | None:
    """Why an ``await`` at ``call`` (``what``: "sleep", "call") would show in
    what the coroutine does: cleanup a cancellation would cut short, or
    shared state read before it and changed after it; ``None`` when it
    would not."""
    cleanup = cleanup_around(call, function, parents)
    if cleanup is not None:
        return (
            f"the {what} is in {cleanup}, whose rest a cancellation arriving at the"
            f" `await` would skip; the blocking {what} always lets it finish"
        )
    conflict = check_then_act(call, function, parents, scope_of)
    if conflict is not None:
        read, written = (path.replace("[]", "[...]") for path in conflict)
        changed = "changed after it" if read == written else f"`{written}` changed after it"
        return (
            f"`{read}` is read before the {what} and {changed}: another task"
            " could change it during an `await` there (check-then-act)"
        )
    return None


def cleanup_around(
    call: cst.CSTNode, function: cst.FunctionDef, parents: dict[cst.CSTNode, cst.CSTNode]
) -> str | None:
    """The cleanup ``call`` stands in, as a reader would name it (``a
    `finally` block``), or ``None``.

    A ``finally`` and ``__aexit__`` are cleanup wherever the sleep stands in
    them. An ``except`` handler is when it may catch a cancellation (bare,
    ``BaseException``, ``CancelledError``: what runs there is the task's
    cleanup), or when more of the handler follows the sleep (a rollback, a
    ``raise`` that a ``CancelledError`` would replace). A retry's backoff,
    the last thing its handler does, is not: a cancellation during it only
    ends the task sooner, as at any other ``await``.
    """
    child: cst.CSTNode = call
    node = parents.get(call)
    while node is not None and node is not function:
        if isinstance(node, cst.Finally):
            return "a `finally` block"
        if isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler)):
            if child is node.body and (_may_catch_cancellation(node.type) or _followed(call, node, parents)):
                return "an `except` handler"
        child, node = node, parents.get(node)
    if function.name.value == "__aexit__":
        return "`__aexit__`"
    return None


# The exceptions a cancellation raises: asyncio's and concurrent.futures'
# ``CancelledError``, trio's ``Cancelled``, and what catches them all.
_CANCELLATION = frozenset({"CancelledError", "Cancelled", "BaseException"})


def _may_catch_cancellation(handler: cst.BaseExpression | None) -> bool:
    if handler is None:
        return True
    if isinstance(handler, cst.Tuple):
        return any(_may_catch_cancellation(element.value) for element in handler.elements)
    if isinstance(handler, cst.Name):
        return handler.value in _CANCELLATION
    if isinstance(handler, cst.Attribute):
        return handler.attr.value in _CANCELLATION
    return True  # an expression: anything


def _followed(
    call: cst.CSTNode, handler: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode]
) -> bool:
    """Whether a statement of ``handler`` runs after the statement of
    ``call`` (other than ``continue`` or ``pass``, which show nothing)."""
    child: cst.CSTNode = call
    node = parents.get(call)
    while node is not None and child is not handler:
        if isinstance(node, (cst.IndentedBlock, cst.SimpleStatementSuite, cst.SimpleStatementLine)):
            rest = list(node.body)[_index(node.body, child) + 1 :]
            if any(not _shows_nothing(statement) for statement in rest):
                return True
        elif isinstance(node, (cst.While, cst.For)):
            return True  # the loop's next round runs after it
        child, node = node, parents.get(node)
    return False


def _shows_nothing(statement: cst.CSTNode) -> bool:
    small = statement.body if isinstance(statement, cst.SimpleStatementLine) else [statement]
    return all(isinstance(part, (cst.Continue, cst.Pass)) for part in small)


def check_then_act(
    call: cst.CSTNode,
    function: cst.FunctionDef,
    parents: dict[cst.CSTNode, cst.CSTNode],
    scope_of: Callable[[cst.CSTNode], Scope],
) -> tuple[str, str] | None:
    """A shared path the coroutine reads before ``call`` and one that
    overlaps it, changed after ``call`` (the same, an item or attribute of it,
    or what holds it); ``None`` when there is no such pair."""
    regions = _regions(call, function, parents)
    if regions is None:
        return None
    function_scope = scope_of(function.body).function()
    shared = _SharedRoots(function, function_scope)
    reads = {path for node in regions.before for path in _reads(node) if shared.counts(path)}
    if not reads:
        return None
    for node in regions.after:
        for written in sorted(_writes(node)):
            if not shared.counts(written):
                continue
            for read in sorted(reads):
                if paths_overlap(read, written):
                    return read, written
    return None


class _SharedRoots:
    """Which paths of a coroutine name state other tasks may hold too."""

    def __init__(self, function: cst.FunctionDef, scope: Scope) -> None:
        self._scope = scope
        params = function.params
        self._parameters = {
            param.name.value
            for param in (*params.posonly_params, *params.params, *params.kwonly_params)
        }
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                self._parameters.add(star.name.value)
        self._objects = set(self._parameters)
        # A local bound to shared state is an alias of it (``d = self.cache``,
        # ``for job in PENDING``); what it holds is shared, not the name.
        bindings = list(_local_bindings(function.body))
        changed = True
        while changed:
            changed = False
            for name, value in bindings:
                if name in self._objects or name in scope.globals or name in scope.nonlocals:
                    continue
                path = access_path(value)
                if path is not None and self._root_kind(_root(path)) is not None:
                    self._objects.add(name)
                    changed = True

    def _root_kind(self, root: str) -> str | None:
        """``"name"``: the name itself is shared (a global, a ``nonlocal``, a
        module-level object); ``"object"``: what it refers to may be (a
        parameter, an alias); ``None``: a local value, or a builtin."""
        scope = self._scope
        if root in scope.globals or root in scope.nonlocals:
            return "name"
        owner = cst_scope.binding_scope(scope, root)
        if owner is None:
            return None
        if owner is not scope:
            return "name"
        return "object" if root in self._objects else None

    def counts(self, path: str) -> bool:
        root = _root(path)
        if path == root and self._scope.is_module(root):
            return False  # a module itself (``os.remove(p)`` calls, not changes, ``os``)
        kind = self._root_kind(root)
        if kind == "name":
            return True
        # The object a parameter refers to may be shared, not the parameter:
        # passing ``self`` on reads none of its state. An alias exists to
        # reach the shared object (``if queue:`` tests it).
        return kind == "object" and (path != root or root not in self._parameters)


def _root(path: str) -> str:
    for index, char in enumerate(path):
        if char in ".[":
            return path[:index]
    return path


def _local_bindings(node: cst.CSTNode) -> Iterable[tuple[str, cst.BaseExpression]]:
    """(name, value) of each plain ``name = value`` and ``for name in value``
    of the coroutine, not of the functions and classes nested in it."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(current, cst.Assign):
            for target in current.targets:
                if isinstance(target.target, cst.Name):
                    yield target.target.value, current.value
        elif isinstance(current, (cst.AnnAssign, cst.NamedExpr)) and current.value is not None:
            if isinstance(current.target, cst.Name):
                yield current.target.value, current.value
        elif isinstance(current, (cst.For, cst.CompFor)) and isinstance(current.target, cst.Name):
            yield current.target.value, current.iter
        elif isinstance(current, cst.WithItem) and current.asname is not None:
            if isinstance(current.asname.name, cst.Name):
                yield current.asname.name.value, current.item
        stack.extend(cst_traversal.children(current))


def _reads(node: cst.CSTNode) -> set[str]:
    """What ``node`` reads, the object each method is called on included:
    ``CACHE.get(key)`` reads ``CACHE``, which ``CACHE[key] = value`` changes."""
    read = set(accesses(node).reads)
    for child in cst_traversal.descendants(node):
        if isinstance(child, cst.Call) and isinstance(child.func, cst.Attribute):
            path = access_path(child.func.value)
            if path is not None:
                read.add(path)
    return read


def _writes(node: cst.CSTNode) -> set[str]:
    """What ``node`` changes: assignment and ``del`` targets, and the
    containers a mutating method is called on."""
    written = set(accesses(node).writes)
    for child in cst_traversal.descendants(node):
        if (
            isinstance(child, cst.Call)
            and isinstance(child.func, cst.Attribute)
            and child.func.attr.value in MUTATORS
        ):
            path = access_path(child.func.value)
            if path is not None:
                written.add(path)
    return written


def _regions(
    call: cst.CSTNode, function: cst.FunctionDef, parents: dict[cst.CSTNode, cst.CSTNode]
) -> _Regions | None:
    """What of ``function`` may run before ``call`` and what after it,
    statement by statement: the statements before and after in each block
    around it, the headers of the statements around it (an ``if`` test is
    before its body), with the exclusive branches (the ``else`` of the
    ``if`` it is in, the other handlers of its ``try``) in neither. The
    call's own statement and every loop around it run both before and after
    (a loop comes round again)."""
    before: list[cst.CSTNode] = []
    after: list[cst.CSTNode] = []
    child: cst.CSTNode = call
    parent = parents.get(child)
    # The statement that holds the call: its parts are on both sides.
    while parent is not None and not isinstance(child, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        child, parent = parent, parents.get(parent)
    if parent is None or child is function:
        return None
    # (A call in the header of an ``if`` or a ``while``: its body counts as
    # on both sides too, an over-approximation that keeps this simple.)
    before.append(child)
    after.append(child)
    while parent is not None and child is not function:
        if isinstance(parent, (cst.IndentedBlock, cst.Module)):
            index = _index(parent.body, child)
            before.extend(parent.body[:index])
            after.extend(parent.body[index + 1 :])
        elif isinstance(parent, cst.SimpleStatementSuite):
            pass  # the statement line itself is on both sides already
        elif isinstance(parent, (cst.While, cst.For)):
            # A loop comes round again: all of it runs before and after.
            loop_parts = _parts(parent, exclude=parent.orelse)
            before.extend(loop_parts)
            after.extend(loop_parts)
            if parent.orelse is not None and child is not parent.orelse:
                after.append(parent.orelse)
        elif isinstance(parent, cst.If):
            before.append(parent.test)
        elif isinstance(parent, (cst.Try, cst.TryStar)):
            if child is parent.body:
                after.extend(parent.handlers)
                after.extend(_present(parent.orelse, parent.finalbody))
            elif child is parent.orelse:
                before.append(parent.body)
                after.extend(_present(parent.finalbody))
            elif child is parent.finalbody:
                before.extend(_present(parent.body, *parent.handlers, parent.orelse))
            else:  # a handler
                before.append(parent.body)
                after.extend(_present(parent.finalbody))
        elif isinstance(parent, (cst.With,)):
            before.extend(item for item in parent.items)
        elif isinstance(parent, cst.Match):
            before.append(parent.subject)
        elif isinstance(parent, (cst.FunctionDef, cst.ClassDef, cst.Lambda)) and parent is not function:
            return None  # not the coroutine's own code
        child, parent = parent, parents.get(parent)
    return _Regions(tuple(_own(before)), tuple(_own(after)))


def _index(body: Iterable[cst.CSTNode], child: cst.CSTNode) -> int:
    for index, statement in enumerate(body):
        if statement is child:
            return index
    raise ValueError("not a statement of the block")


def _present(*nodes: cst.CSTNode | None) -> list[cst.CSTNode]:
    return [node for node in nodes if node is not None]


def _parts(node: cst.CSTNode, exclude: cst.CSTNode | None) -> list[cst.CSTNode]:
    return [part for part in cst_traversal.children(node) if part is not exclude]


def _own(nodes: Iterable[cst.CSTNode]) -> Iterable[cst.CSTNode]:
    """The nodes, less the functions and classes defined among them (their
    bodies do not run here)."""
    return (node for node in nodes if not isinstance(node, (cst.FunctionDef, cst.ClassDef)))


# -- what the callers see -------------------------------------------------------

#: What ``time.sleep`` raises where ``asyncio.sleep`` does not (or raises
#: with another message): ValueError for a negative or NaN delay,
#: OverflowError for a huge one, TypeError for an odd type.
SLEEP_ERRORS: tuple[type[BaseException], ...] = (ValueError, OverflowError, TypeError)
# Calls that wait for a coroutine with a deadline, and context managers that
# set one: a coroutine that never suspended could not be stopped by it.
_TIMEOUT_CALLS = frozenset({"wait_for"})
# What runs a coroutine as the whole of a new event loop's work: nothing of
# that loop waits for it under a deadline or a lock the call site shows.
_LOOP_ENTRIES = frozenset({"run", "run_until_complete"})
_TIMEOUT_MANAGERS = frozenset({"timeout", "timeout_at", "fail_after", "fail_at", "move_on_after", "move_on_at", "CancelScope"})
# Calls that arm a timer whose callback runs while the caller waits (a
# watchdog: ``loop.call_later(5, task.cancel)``).
_TIMERS = frozenset({"call_later", "call_at"})
# Calls that run what they are given as the caller's own await does: what
# it raises reaches the caller there, and the caller waits there.
_AWAITED_WITH = frozenset({"gather", "shield"})


def is_timeout_manager(text: str) -> bool:
    """Whether a context manager (as :attr:`CallFact.withs` spells it, or
    its callee) sets a deadline for what runs in it."""
    name = text.removeprefix("async ").removesuffix("()").rsplit(".", 1)[-1]
    return name in _TIMEOUT_MANAGERS or "timeout" in name.lower()


def seen_by_callers(view: ModuleView | None, qualname: str | None, raises: bool) -> str | None:
    """Why a caller of the coroutine ``qualname`` (of the module ``view``
    analyses) would see a new suspension point in it, or, with ``raises``,
    that ``time.sleep`` raises what ``asyncio.sleep`` does not; ``None``
    when no caller the model resolves shows either. A caller that awaits it
    (or gathers it) is itself suspended there now: its callers are asked too."""
    if view is None or qualname is None:
        return None
    callers = view.callers

    def passes_on(site: CallSite) -> bool:
        return site.caller.is_async and _awaited(site)

    for site in callers.up(view.module, qualname, passes_on):
        reason = _shown_at(view, site, raises)
        if reason is not None:
            return reason
    return None


def unseen_uses(view: ModuleView | None, qualname: str | None) -> str | None:
    """Why the model cannot show every use of the coroutine ``qualname``
    (of the module ``view`` analyses): it runs by protocol (``__aenter__``,
    ``__anext__``, ``__call__``), is an async generator, is made and kept
    or run as a task by a caller (at any depth up the callers that await
    it), or is named where the model resolves no call of it (a registry,
    ``map()``, a string, a call it cannot resolve). A new suspension point in it is then
    not shown to be harmless: a fix of it is unsafe. ``None`` where every
    use is one the model followed (or there is none: an entry point that
    only something outside the project calls)."""
    if view is None or qualname is None:
        return None
    name = qualname.rsplit(".", 1)[-1]
    if name.startswith("__") and name.endswith("__"):
        return f"`{name}` runs by protocol, where the model does not see its callers"
    function = view.project.function(view.module, qualname)
    if function is not None and function.generator:
        return "an async generator runs under its consumer's `async for`, which the model does not follow"
    callers = view.callers
    if function is not None:
        decorator = _decorator_object(view, view.module, function)
        if decorator is not None:
            return f"it is decorated with `{decorator}` of the project, an object whose `__call__` may hold a lock or set a deadline around it"

    def passes_on(site: CallSite) -> bool:
        return site.caller.is_async and _awaited(site)

    for site in callers.up(view.module, qualname, passes_on):
        where = site.where(view.module)
        decorator = _decorator_object(view, site.module, site.caller) if not site.wrapper else None
        if decorator is not None:
            return (
                f"{where} is decorated with `{decorator}` of the project, an object whose `__call__`"
                " may hold a lock or set a deadline around it"
            )
        outer = _imported_as(view, site, site.call.outer).rsplit(".", 1)[-1] if site.call.outer else ""
        if not _awaited(site) and outer not in _TIMEOUT_CALLS and outer not in _LOOP_ENTRIES:
            return f"{where} keeps the coroutine or runs it as a task, where the model does not follow what waits for it"
        if outer == "gather" and any(
            other.line == site.call.line and "return_exceptions" in other.kwargs for other in site.caller.calls
        ):
            return f"{where} gathers it with `return_exceptions`, which hands what it raises on as a value"
        for manager in site.call.withs:
            if not manager.startswith("async "):
                continue
            bare = manager.removeprefix("async ")
            if bare.endswith("()"):
                # ``async with limits.budget(0.1)``, ``async with Budget(0.1)``
                found = view.project.lookup(site.module, bare.removesuffix("()"))
                ours = found is not None and found[0] in ("function", "class")
            else:
                # ``async with GUARD:``, an object of a class of the project
                typed = view.project.class_of(site.module, site.caller, bare)
                ours = typed is not None and typed[0] == "class"
            if ours:
                return f"{where} runs it under `{bare}` of the project, which may set a deadline or hold a lock"
    # (Its awaiting callers are asked how they are called, above; a use of
    # one by name elsewhere is that caller's entry, as ``asyncio.run(main())``.)
    named = callers.named_beyond_calls(view.module, qualname)
    if named is not None:
        return f"`{name}` is named in `{named}` where the model resolves no call of it"
    if "." not in qualname:
        # ``HANDLERS = dict(inspect.getmembers(work, iscoroutinefunction))``:
        # a registry that calls what it finds, under no name.
        lister = callers.lister_of(view.module)
        if lister is not None:
            return f"`{lister}` lists the names of `{view.module}`, and may call `{name}` through what it finds"
    return None


def _decorator_object(view: ModuleView, module: str, function: FunctionFacts) -> str | None:
    """A decorator of ``function`` that is a class of the project, or an
    object of one (``@locks.Serialized()``, ``@GUARD``): what runs around
    the function is that class's ``__call__`` or what ``__init__`` keeps,
    which the callers' reading of decorator wrappers (plain functions)
    does not follow."""
    for decorator in function.decorators:
        found = view.project.lookup(module, decorator)
        if found is not None and found[0] == "class":
            return decorator
        if found is None and decorator != "?":
            typed = view.project.class_of(module, function, decorator)
            if typed is not None and typed[0] == "class":
                return decorator
    return None


def _helper_that_arms_or_locks(view: ModuleView, site: CallSite) -> str | None:
    """A plain function of the project the caller calls (one level down:
    ``watchdog.arm(t)``, ``locks.take()``) that arms a timer or takes a
    lock with a plain ``.acquire()``, as the callee spells it."""
    for call in site.caller.calls:
        if call.awaited or call.func.startswith("<"):
            continue
        for target in view.project.targets(site.module, site.caller, call) or ():
            function = view.project.function(target.module, target.qualname)
            if function is None or function.is_async:
                continue
            for inner in function.calls:
                last = inner.func.rsplit(".", 1)[-1]
                if last in _TIMERS or (last == "acquire" and not inner.awaited):
                    return call.func
    return None


def _awaited(site: CallSite) -> bool:
    return site.call.awaited or site.call.outer.rsplit(".", 1)[-1] in _AWAITED_WITH


def _imported_as(view: ModuleView, site: CallSite, text: str) -> str:
    """``text`` (a callee or a context manager as the caller spells it) by
    the name it is imported or aliased as at module level: ``within`` of
    ``from asyncio import wait_for as within`` is ``asyncio.wait_for``,
    ``take`` of ``take = lock.acquire`` is ``lock.acquire``."""
    bare = text.removeprefix("async ")
    called = "()" if bare.endswith("()") else ""
    bare = bare.removesuffix("()")
    facts = view.project.facts(site.module)
    head = bare.split(".", 1)[0]
    if facts is not None and head in facts.aliases and head not in site.caller.aliases and head not in site.caller.imports:
        bare = facts.aliases[head] + bare[len(head):]
    imports = {**(facts.imports if facts is not None else {}), **site.caller.imports}
    found = through_imports(imports, bare)
    # One more step through a module of the project that binds the name to
    # another (``deadline = asyncio.timeout`` in ``limits``).
    source, _, name = found.rpartition(".")
    other = view.project.facts(source) if source in view.project.index.modules else None
    if other is not None and name in other.aliases:
        found = other.aliases[name]
    return found + called


def _shown_at(view: ModuleView, site: CallSite, raises: bool) -> str | None:
    call, caller = site.call, site.caller
    where = site.where(view.module)
    outer = _imported_as(view, site, call.outer).rsplit(".", 1)[-1] if call.outer else ""
    if outer in _AWAITED_WITH and any(
        _imported_as(view, site, other.func).rsplit(".", 1)[-1] in _TIMEOUT_CALLS
        for other in caller.calls if other.line == call.line
    ):
        # ``wait_for(shield(step()), t)``: the shield's caller times out.
        return f"{where} waits for it under `wait_for()` around `{call.outer}()`, whose timeout the new `await` would let fire"
    if outer in _TIMEOUT_CALLS:
        return f"{where} waits for it under `{call.outer}()`, whose timeout the new `await` would let fire"
    if call.outer and not _awaited(site) and _drives(view, site):
        return f"{where} hands it to `{call.outer}()`, which runs it with `.send()`, without an event loop"
    entry = outer in _LOOP_ENTRIES
    if not _awaited(site) and not entry:
        return None  # a task, or somewhere the model does not follow
    if raises:
        from ..model.callers import module_aliases

        for error in SLEEP_ERRORS:
            handler = site.catches(error, module_aliases(view, site.module))
            if handler is not None:
                named = "" if handler == f"`{error.__name__}`" else f" (with {handler})"
                return (
                    f"{where} catches `{error.__name__}` around the call{named}, which"
                    " `time.sleep()` and `asyncio.sleep()` raise differently for such a delay"
                )
    if entry:
        # ``asyncio.run(main())``: what it raises reaches the caller (asked
        # above); the new loop runs it alone, under nothing the caller holds.
        return None
    for manager in call.withs:
        if not manager.startswith("async "):
            return (
                f"{where} holds `{manager}` across the call: a thread lock would stay held"
                " while another task blocks on it"
            )
        if is_timeout_manager(manager) or is_timeout_manager(_imported_as(view, site, manager)):
            return f"{where} runs it under `{manager.removeprefix('async ')}`, whose timeout the new `await` would let fire"
    acquires = {name for name, path in caller.aliases.items() if path.rsplit(".", 1)[-1] in ("acquire", "enter_context")}
    if any(
        (_imported_as(view, site, c.func).rsplit(".", 1)[-1] in ("acquire", "enter_context") or c.func in acquires)
        and not c.awaited
        # (``await stack.enter_async_context(asyncio.timeout(1))``: a deadline.)
        or c.func.rsplit(".", 1)[-1] == "enter_async_context"
        for c in caller.calls
    ):
        return f"{where} takes a lock with a plain `.acquire()` (or enters a context without `with`), which may be held across the call"
    if any(_imported_as(view, site, c.func).rsplit(".", 1)[-1] in _TIMERS for c in caller.calls):
        return f"{where} arms a timer (`call_later()`), whose callback (a watchdog's `cancel`) the new `await` would let run"
    helper = _helper_that_arms_or_locks(view, site)
    if helper is not None:
        return f"{where} calls `{helper}`, which arms a timer or takes a lock without `with`, held across the call"
    if call.cleanup or caller.qualname.rsplit(".", 1)[-1] == "__aexit__":
        kind = {"finally": "a `finally` block", "except": "an `except` handler"}.get(call.cleanup, "`__aexit__`")
        return (
            f"{where} awaits it in {kind}, whose rest a cancellation arriving at the new"
            " `await` would skip"
        )
    if not site.wrapper:
        conflict = _checked_then_changed(view, site)
        if conflict is not None:
            return (
                f"{where} reads `{conflict}` before the call, which the call changes: another task"
                " could change it during the new `await` (check-then-act)"
            )
    return None


def _drives(view: ModuleView, site: CallSite) -> bool:
    """Whether the function the coroutine is handed to (``run_sync(coro)``)
    is one of the project's that calls ``.send()`` or ``.throw()`` on a
    parameter: it runs the coroutine itself, and one that suspends fails."""
    from ..model.facts import CallFact

    project = view.project
    target = project.resolve(site.module, site.caller, CallFact(site.call.outer, [], {}, False, False, 0))
    function = project.function(target.module, target.qualname) if target is not None else None
    if function is None:
        return False
    return any(
        c.func.rsplit(".", 1)[-1] in ("send", "throw") and split_root(c.func)[0] in function.params
        for c in function.calls
    )


def _checked_then_changed(view: ModuleView, site: CallSite) -> str | None:
    """A path of shared state the caller reads before the call (or
    anywhere in a loop around it) that the call may change, in the
    caller's terms; ``None`` when there is none or the model cannot tell
    what the call changes."""
    project = view.project
    caller, call = site.caller, site.call
    if site.maybe is not None:
        effects = project.effects_if_runs(site.module, caller, call, site.maybe)
    else:
        effects = project.call_effects(site.module, caller.qualname, call, caller)
    if effects.unknown or not effects.writes:
        return None
    last = call.until or call.line
    in_caller_terms = project.caller_terms(site.module, caller)
    for path, line in sorted(caller.read_lines.items()):
        # Passing an object on reads none of its state.
        if line > last or path in caller.params or path.startswith("?"):
            continue
        mapped = in_caller_terms(path)
        if mapped is None or mapped.startswith("?"):
            continue
        if any(paths_overlap(mapped, written) for written in effects.writes):
            return path.replace("[]", "[...]")
    return None


__all__ = [
    "MUTATORS", "SLEEP_ERRORS", "NewAwait", "check_then_act", "cleanup_around", "is_timeout_manager", "seen_by_callers", "unseen_uses",
    "visible",
]
