"""What AM201 (sequential-awaits) and AM202 (await-in-loop) share: which
awaited calls may run concurrently, and how an ``asyncio.gather(...)`` call is
written."""

from __future__ import annotations

import re
import weakref
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import libcst as cst

from codemods._analysis import AttributeHooksByTable, Scope, ScopeKind, accesses, binding_kind, children, reads_frame
from codemods._astgather import (  # the ast half, and what both halves share
    Access,
    depends_on,
    THREAD_CALLS,
    THREADS,
    _method_matches,
    _NameUnion,
    is_bookkeeping,
    is_console_io,
    is_lifecycle,
    is_precondition,
    looks_single_operation,
    receivers_meet,
)

ScopeOf = Callable[[cst.CSTNode], Scope]


def calls_in(node: cst.CSTNode) -> Iterator[cst.Call]:
    if isinstance(node, cst.Call):
        yield node
    for child in children(node):
        yield from calls_in(child)


def contains(node: cst.CSTNode, kinds: tuple[type[cst.CSTNode], ...]) -> bool:
    if isinstance(node, kinds):
        return True
    return any(contains(child, kinds) for child in children(node))


def names_in(node: cst.CSTNode) -> Iterator[str]:
    if isinstance(node, cst.Name):
        yield node.value
    for child in children(node):
        yield from names_in(child)


def is_ordering(
    expr: cst.CSTNode,
    scope_of: ScopeOf,
    primitives: tuple[frozenset[str], frozenset[str]],
) -> bool:
    """Whether any call in ``expr`` is an ordering primitive (so that
    ``asyncio.wait_for(event.wait(), 1)`` counts too)."""
    qualified, methods = primitives
    for call in calls_in(expr):
        func = call.func
        if isinstance(func, cst.Attribute) and _method_matches(func.attr.value, methods):
            return True
        callee = callee_name(call)
        if is_bookkeeping(callee) or is_console_io(callee):
            return True
        name = scope_of(call).qualified_name(func)
        if name is not None and name in qualified:
            return True
        if isinstance(func, cst.Name) and func.value in context_setters(scope_of(call).module):
            return True
    return False


# Where a module-level ``threading.local()`` or ``contextvars.ContextVar``
# is declared, and which of its functions set one.
_CONTEXT_STORES = frozenset({"threading.local", "contextvars.ContextVar"})
_CONTEXT_SETTERS: weakref.WeakKeyDictionary[Scope, frozenset[str]] = weakref.WeakKeyDictionary()


def context_setters(module: Scope) -> frozenset[str]:
    """The module-level functions that set a context variable or an
    attribute of a ``threading.local`` declared at module level, or call a
    function that does (by its plain name). Each call under
    ``asyncio.gather`` runs in a task with a copy of the caller's context:
    what such a function sets is no longer seen by the next call or by the
    caller. A ``threading.local`` counts too, since AM401 turns it into
    context variables in the same fix."""
    known = _CONTEXT_SETTERS.get(module)
    if known is not None:
        return known
    node = module.node
    stores: set[str] = set()
    functions: dict[str, list[cst.FunctionDef]] = {}
    if isinstance(node, cst.Module):
        for statement in node.body:
            if isinstance(statement, cst.FunctionDef):
                functions.setdefault(statement.name.value, []).append(statement)
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    value = getattr(small, "value", None)
                    if isinstance(small, (cst.Assign, cst.AnnAssign)) and isinstance(value, cst.Call):
                        if module.qualified_name(value.func) in _CONTEXT_STORES:
                            targets = (
                                [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                            )
                            stores.update(t.value for t in targets if isinstance(t, cst.Name))
    found: set[str] = set()
    calls: dict[str, set[str]] = {}
    if stores:
        for name, defs in functions.items():
            callees: set[str] = set()
            for definition in defs:
                for sub in _walk(definition):
                    if isinstance(sub, cst.Call):
                        func = sub.func
                        if isinstance(func, cst.Name):
                            callees.add(func.value)
                            if func.value == "setattr" and sub.args and _names_store(sub.args[0].value, stores):
                                found.add(name)
                        elif (
                            isinstance(func, cst.Attribute)
                            and func.attr.value in ("set", "reset")
                            and _names_store(func.value, stores)
                        ):
                            found.add(name)
                    elif isinstance(sub, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.Del)):
                        target = sub.target
                        if isinstance(target, cst.Attribute) and _names_store(target.value, stores):
                            found.add(name)
            calls[name] = callees
        changed = True
        while changed:
            changed = False
            for name, callees in calls.items():
                if name not in found and callees & found:
                    found.add(name)
                    changed = True
    known = _CONTEXT_SETTERS[module] = frozenset(found)
    return known


def _names_store(expr: cst.BaseExpression, stores: set[str]) -> bool:
    return isinstance(expr, cst.Name) and expr.value in stores


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = list(children(node))
    while stack:
        child = stack.pop()
        yield child
        stack.extend(children(child))


def callee_name(call: cst.Call) -> str:
    """The last name of the callee (``fetch`` for ``api.fetch(...)``), or ``""``."""
    func = call.func
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return ""


def call_root(expr: cst.BaseExpression) -> cst.Name | None:
    """The name an access chain starts from: ``self`` in ``self.a().b[0].c``."""
    while True:
        if isinstance(expr, cst.Name):
            return expr
        if isinstance(expr, (cst.Attribute, cst.Subscript)):
            expr = expr.value
        elif isinstance(expr, cst.Call):
            expr = expr.func
        else:
            return None


def call_receivers(call: cst.Call, scope_of: ScopeOf) -> frozenset[str]:
    """The object whose method ``call`` is, by the name it is reached from
    (``conn`` for ``conn.cursor().execute()``, ``self`` for
    ``self.handlers[k](x)``). A module reached through an import is not a
    receiver: ``asyncio.to_thread`` twice shares nothing; nor is a function
    of the module. A callable held in a local variable or parameter may be a
    bound method of anything (``prepare = resp.prepare``), and so is an
    object not reached from a name (``(a or b).close()``): both get the
    marker ``"?"``, which conflicts with every other call. An argument
    that holds a single-operation object (``get_user(db, uid)``) adds the
    name it is reached from."""
    scope = scope_of(call)
    return callee_receivers(call, scope_of) | _resource_arguments(call, scope)


def callee_receivers(call: cst.Call, scope_of: ScopeOf) -> frozenset[str]:
    """The receivers of the callee alone (see :func:`call_receivers`)."""
    func = call.func
    scope = scope_of(call)
    if scope.qualified_name(func) in THREAD_CALLS or (
        isinstance(func, cst.Attribute) and func.attr.value == "run_in_executor"
    ):
        # Plain functions written to run one after another may not be
        # thread-safe together: two calls into worker threads share a receiver.
        return frozenset({THREADS}) | _root_receiver(func, scope)
    if isinstance(func, cst.Name):
        kind = binding_kind(scope, func.value)
        if kind is None or (kind is ScopeKind.MODULE and _defined_or_imported(scope, func.value)):
            return frozenset()
        # A local, or a module-level name bound by an assignment
        # (``send = channel.send``): it may be a bound method of anything.
        return frozenset({"?", func.value})
    root = call_root(func)
    if root is None:
        return frozenset({"?"})
    if not _attribute_chain(func):
        # ``getattr(doc, action)()``, ``partial(save, doc)()``,
        # ``self.handlers[k](x)``: which object's method is called, and what
        # it was bound to, is not seen.
        return frozenset({"?", root.value})
    # Only a module is no receiver: a name from ``from x import y`` may be a
    # class or an object (``Tortoise.init()``, ``database.connect()``).
    if scope.is_module(root.value):
        return frozenset()
    return frozenset({root.value})


def _attribute_chain(expr: cst.BaseExpression) -> bool:
    """``a.b.c``: attributes on a name, nothing called or subscripted."""
    while isinstance(expr, cst.Attribute):
        expr = expr.value
    return isinstance(expr, cst.Name)


# The module scope -> how many ``def`` and ``class`` statements of the module
# (outside functions and classes) bind each name.
_DEFINITIONS: weakref.WeakKeyDictionary[Scope, Counter[str]] = weakref.WeakKeyDictionary()


def _definitions(module: Scope) -> Counter[str]:
    known = _DEFINITIONS.get(module)
    if known is None:
        known = Counter()

        def walk(node: cst.CSTNode) -> None:
            for child in children(node):
                if isinstance(child, (cst.FunctionDef, cst.ClassDef)):
                    known[child.name.value] += 1
                elif not isinstance(child, cst.Lambda):
                    walk(child)

        if module.node is not None:
            walk(module.node)
        _DEFINITIONS[module] = known
    return known


def _defined_or_imported(scope: Scope, name: str) -> bool:
    """Whether every module-level binding of ``name`` is a ``def``, a
    ``class`` or an import: a plain function, class or imported object, not
    a value assigned (``send = channel.send``, a global rebinding)."""
    module = scope.module
    origins = module.bindings.get(name, [])
    assigned = sum(origin is None for origin in origins)
    return assigned <= _definitions(module)[name]


def _resource_arguments(call: cst.Call, scope: Scope) -> frozenset[str]:
    """The receivers a call gets from its arguments: the name each
    single-operation object is reached from (``db`` for ``db``, ``self``
    for ``self.conn``)."""
    found: set[str] = set()
    for arg in call.args:
        value = arg.value
        last: str | None = None
        if isinstance(value, cst.Name):
            last = value.value
        elif isinstance(value, cst.Attribute):
            last = value.attr.value
        if last is None or not looks_single_operation(last):
            continue
        root = call_root(value)
        if root is not None and not scope.is_module(root.value):
            found.add(root.value)
    return frozenset(found)


def call_subjects(call: cst.Call, scope: Scope) -> frozenset[str]:
    """The names of the objects a call works on: the one passed first
    (``hass`` in ``async_setup_registry(hass)``, ``self`` in
    ``setup_devices(self)`` and in ``refresh(self.api)``). When what is
    passed first is not seen (a keyword argument, ``*args``), every
    argument may be it; a call into a worker thread
    (``asyncio.to_thread(save, path)``, ``run_in_executor``) hands its
    arguments on to the function, so every argument counts too. Constants
    (``DOMAIN``), ``None``/``True``/``False`` and imported modules are no
    object to work on."""
    if not call.args:
        return frozenset()
    first = call.args[0]
    if first.keyword is None and not first.star and not _thread_call(call, scope):
        name = _subject_name(first.value, scope)
        return frozenset() if name is None else frozenset({name})
    found = (_subject_name(arg.value, scope) for arg in call.args)
    return frozenset(name for name in found if name is not None)


def _thread_call(call: cst.Call, scope: Scope) -> bool:
    func = call.func
    return scope.qualified_name(func) in THREAD_CALLS or (
        isinstance(func, cst.Attribute) and func.attr.value == "run_in_executor"
    )


def _subject_name(value: cst.BaseExpression, scope: Scope) -> str | None:
    while isinstance(value, (cst.Attribute, cst.Subscript)):
        value = value.value
    if not isinstance(value, cst.Name):
        return None
    name = value.value
    if name in ("None", "True", "False") or name.isupper() or scope.is_module(name):
        return None
    return name


def _root_receiver(func: cst.BaseExpression, scope: Scope) -> frozenset[str]:
    root = call_root(func)
    if root is None or scope.is_module(root.value):
        return frozenset()
    return frozenset({root.value})


def receivers(expr: cst.CSTNode, scope_of: ScopeOf) -> frozenset[str]:
    """The receivers of every call in ``expr`` (see :func:`call_receivers`)."""
    found: set[str] = set()
    for call in calls_in(expr):
        found |= call_receivers(call, scope_of)
    return frozenset(found)


# ``reads_frame`` (codemods._analysis): a call of ``locals()``, ``eval``...
# reads the caller's variables by name, unseen by the read sets; gathered, it
# runs before the other calls have bound their results, or inside a generator
# expression, whose locals are its own.


# Constructs whose presence in an awaited call makes moving it unsafe: a nested
# await or yield suspends in the middle of building the call, a lambda may run
# at any time, and zero-argument super() needs the function's own frame.
FORBIDDEN = (cst.Await, cst.Yield, cst.Lambda)


@dataclass(frozen=True)
class AwaitStatement:
    """One statement of shape ``await CALL``, ``T = await CALL`` or
    ``NAME: A = await CALL`` (original nodes)."""

    line: cst.SimpleStatementLine
    small: cst.Expr | cst.Assign | cst.AnnAssign
    call: cst.Call
    target: cst.BaseExpression | None
    access: Access
    receivers: frozenset[str]

    def depends_on(self, earlier: AwaitStatement, related: Related | None = None) -> bool:
        if depends_on(self.access, earlier.access):
            return True
        if _same_call(self.call, earlier.call):
            # ``await step()`` twice, ``a = await next_id()`` then ``b =
            # await next_id()``: one call made again with the same arguments
            # is made for what it changes, and the second works on what the
            # first left (two read-modify-writes gathered lose an update).
            return True
        if related is not None and _changes_alias(earlier.access, self.access, related):
            return True
        # Methods of one object share hidden state, and most drivers allow
        # one operation at a time on a connection. A callee of unknown
        # receiver (``prepare = resp.prepare``, a nested coroutine changing
        # a nonlocal) may change anything the other call reads, whether or
        # not that call has a receiver of its own.
        if "?" in self.receivers or "?" in earlier.receivers:
            return True
        return receivers_meet(self.receivers, self.access, earlier.receivers, earlier.access, related)


def _same_call(one: cst.Call, other: cst.Call) -> bool:
    return _EMPTY.code_for_node(one.func) == _EMPTY.code_for_node(other.func) and [
        _EMPTY.code_for_node(a.value) for a in one.args
    ] == [_EMPTY.code_for_node(a.value) for a in other.args] and [
        (a.keyword.value if a.keyword else None, a.star) for a in one.args
    ] == [(a.keyword.value if a.keyword else None, a.star) for a in other.args]


_EMPTY = cst.Module(body=[])


def _changes_alias(earlier: Access, later: Access, related: Related) -> bool:
    """Whether ``earlier`` assigns into an object (``box.value = ...``)
    that ``later`` may reach through another name (``view = box`` before:
    ``await render(view)``). Rebinding a name changes no object, so only
    attribute and item writes count."""
    changed = {_path_root(path) for path in earlier.writes if _path_root(path) != path}
    touched = later.read_roots | later.write_roots
    return any(related.same(root, name) for root in changed for name in touched)


def _path_root(path: str) -> str:
    return path.split(".")[0].split("[")[0]


class Related(_NameUnion):
    """Which local names may refer to one object, or to parts of one: a name
    is related to every local name its value was computed from (``cursor =
    await db.cursor()`` relates ``cursor`` and ``db``), transitively. Names
    of the module (imports, functions) do not relate anything. Built over a
    whole module, names of different functions are merged by spelling: an
    over-approximation, which only keeps more statements in order."""

    def __init__(self, root: cst.CSTNode, scope_of: ScopeOf) -> None:
        super().__init__()
        self._scope_of = scope_of
        self._visit(root)

    def _relate(self, node: cst.CSTNode, targets: frozenset[str], value: cst.CSTNode) -> None:
        scope = self._scope_of(node)
        self._join(
            targets, accesses(value).read_roots, lambda root: binding_kind(scope, root) not in (ScopeKind.MODULE, None)
        )

    def _visit(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Assign):
            targets = frozenset().union(*(accesses_target(t.target) for t in node.targets))
            self._relate(node, targets, node.value)
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)) and node.value is not None:
            self._relate(node, accesses_target(node.target), node.value)
        elif isinstance(node, cst.NamedExpr):
            self._relate(node, accesses_target(node.target), node.value)
        elif isinstance(node, (cst.For, cst.CompFor)):
            self._relate(node, accesses_target(node.target), node.iter)
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            self._relate(node, accesses_target(node.asname.name), node.item)
        for child in children(node):
            self._visit(child)


def accesses_target(target: cst.BaseExpression) -> frozenset[str]:
    """The roots of what an assignment target binds (``self`` for
    ``self.x``: the object is changed through it)."""
    probe = cst.Assign(targets=[cst.AssignTarget(target=target)], value=cst.Name("_"))
    return accesses(probe).write_roots


def _simple_target(target: cst.BaseExpression, *, nested: bool = False) -> bool:
    if isinstance(target, cst.Name):
        return True
    if isinstance(target, cst.Attribute):
        # ``self.a.b``: an attribute chain on a name, nothing evaluated.
        value = target.value
        while isinstance(value, cst.Attribute):
            value = value.value
        return isinstance(value, cst.Name)
    if isinstance(target, (cst.Tuple, cst.List)) and not nested:
        # ``a, *b = ...``: names and attribute chains, one level deep.
        return all(_simple_target(e.value, nested=True) for e in target.elements)
    return False


def await_statement(
    line: cst.BaseStatement,
    scope_of: ScopeOf,
    primitives: tuple[frozenset[str], frozenset[str]],
) -> AwaitStatement | None:
    """The statement as a candidate for gathering, or ``None`` when it is not
    of a gatherable shape or awaits an ordering primitive."""
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    small = line.body[0]
    target: cst.BaseExpression | None = None
    if isinstance(small, cst.Expr):
        value = small.value
    elif isinstance(small, cst.Assign):
        if len(small.targets) != 1 or not _simple_target(small.targets[0].target):
            return None
        target, value = small.targets[0].target, small.value
    elif isinstance(small, cst.AnnAssign):
        if small.value is None or not isinstance(small.target, cst.Name):
            return None
        target, value = small.target, small.value
    else:
        return None
    if not isinstance(value, cst.Await) or value.lpar or not isinstance(value.expression, cst.Call):
        return None
    call = value.expression
    if call.lpar or contains(call, FORBIDDEN):
        return None
    if "super" in names_in(call) or reads_frame(call) or is_ordering(call, scope_of, primitives):
        return None
    if isinstance(small, cst.Expr) and is_precondition(callee_name(call)):
        return None
    scope = scope_of(line)
    if scope.qualified_name(call.func) == "asyncio.gather":
        # Already concurrent; folding it into another gather would nest one
        # gather in the next and scatter its targets, for no time saved.
        return None
    access = accesses(small)
    for path in access.writes:
        root = path.split(".")[0].split("[")[0]
        # Any callee may read a global, a nonlocal, or an attribute of an
        # object that is not local to the coroutine: such a write is a
        # barrier that nothing is moved across.
        if root in scope.globals or root in scope.nonlocals:
            return None
        if path != root and binding_kind(scope, root) in (ScopeKind.MODULE, None):
            return None
        if path != root and (root in module_object_aliases(scope) or ".__class__." in path):
            # ``cfg = settings`` before: ``cfg.mode = ...`` writes into the
            # module-level object under another name.
            return None
    found = receivers(call, scope_of)
    if isinstance(small, cst.Expr):
        # Awaited for its effect alone, a call works on its first argument as
        # a method works on its receiver (``await async_setup_registry(hass)``
        # then ``await process_config(hass, config)``; ``await login(client)``
        # then ``await fetch(client)``): the other call may read what it did.
        # A call whose result is used is taken to be a query
        # (``fetch(client, "/a")`` twice is still gathered).
        found |= call_subjects(call, scope)
        if is_lifecycle(callee_name(call)):
            # ``await db.connect()`` then ``rows = await db.fetch(q)``;
            # ``await close()`` after them: set up or torn down for its own
            # sake, it must be done before what follows, or after what came
            # before, starts.
            return None
    if _passes_callback(call, scope):
        # ``await run_with(on_done)`` then ``await show(total)``: the callee
        # may call the function, which may change anything the other call
        # reads (a nonlocal, an object it closes over or is bound to).
        found |= {"?"}
    return AwaitStatement(line, small, call, target, access, found)


# Methods of builtin containers and futures that change their object: passed
# uncalled (``await run_with(acc.append)``), the callee may change it.
_MUTATING_METHODS = frozenset(
    {
        "append", "appendleft", "extend", "extendleft", "insert", "add", "update", "setdefault",
        "pop", "popitem", "popleft", "remove", "discard", "clear", "put_nowait", "set_result",
        "set_exception", "write", "send",
    }
)


def _passes_callback(call: cst.Call, scope: Scope) -> bool:
    """Whether ``call`` is given a function defined in the coroutine
    (``on_done``), a mutating method of an object (``acc.append``) or a
    method of ``self`` or ``cls`` defined in the class (``self.on_done``)."""
    function = scope.function()
    nested = _nested_defs(function.node)
    for arg in call.args:
        value = arg.value
        if isinstance(value, cst.Name):
            if value.value in nested and binding_kind(scope, value.value) is function.kind:
                return True
        elif isinstance(value, cst.Attribute):
            attr = value.attr.value
            if attr in _MUTATING_METHODS:
                return True
            owner = function.parent
            if (
                isinstance(value.value, cst.Name)
                and value.value.value in ("self", "cls")
                and owner is not None
                and owner.kind is ScopeKind.CLASS
                and attr in owner.bindings
            ):
                return True
    return False


def _nested_defs(function: cst.CSTNode | None) -> frozenset[str]:
    found: set[str] = set()

    def walk(node: cst.CSTNode) -> None:
        for child in children(node):
            if isinstance(child, cst.FunctionDef):
                found.add(child.name.value)
                continue
            if isinstance(child, (cst.Lambda, cst.ClassDef)):
                continue
            walk(child)

    if function is not None:
        walk(function)
    return frozenset(found)


# The coroutine's scope -> its locals bound to a module-level object or a
# part of one (``cfg = settings``, ``state = app.state``).
_MODULE_ALIASES: weakref.WeakKeyDictionary[Scope, frozenset[str]] = weakref.WeakKeyDictionary()


def _chain_root(expr: cst.BaseExpression) -> str | None:
    """``a`` for ``a``, ``a.b`` or ``a.b[0]``: a value reached, not computed."""
    while isinstance(expr, (cst.Attribute, cst.Subscript)):
        expr = expr.value
    return expr.value if isinstance(expr, cst.Name) else None


def module_object_aliases(scope: Scope) -> frozenset[str]:
    """The locals of the coroutine of ``scope`` that name a module-level
    object, or an object reached from one, under another name: writing
    into them (``cfg.mode = ...`` after ``cfg = settings``; ``cls.token =
    ...`` in a classmethod) changes what any callee may read."""
    known = _MODULE_ALIASES.get(scope)
    if known is not None:
        return known
    pairs: list[tuple[frozenset[str], str]] = []

    def walk(node: cst.CSTNode) -> None:
        for child in children(node):
            if isinstance(child, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                continue
            value: cst.BaseExpression | None = None
            targets: frozenset[str] = frozenset()
            if isinstance(child, cst.Assign):
                value = child.value
                targets = frozenset().union(*(accesses_target(t.target) for t in child.targets))
            elif isinstance(child, (cst.AnnAssign, cst.NamedExpr)) and child.value is not None:
                value, targets = child.value, accesses_target(child.target)
            elif isinstance(child, (cst.For, cst.CompFor)):
                value, targets = child.iter, accesses_target(child.target)
            elif isinstance(child, cst.WithItem) and child.asname is not None:
                value, targets = child.item, accesses_target(child.asname.name)
            root = _chain_root(value) if value is not None else None
            if root is not None and root not in ("None", "True", "False"):
                pairs.append((targets, root))
            walk(child)

    found: set[str] = set()
    function = scope.node
    if isinstance(function, cst.FunctionDef):
        params = function.params
        positional = [*params.posonly_params, *params.params]
        if positional and any(
            isinstance(d.decorator, cst.Name) and d.decorator.value == "classmethod" for d in function.decorators
        ):
            # ``cls`` of a classmethod is the class itself, a module-level
            # object whose attributes any callee may read (``Api.token``).
            found.add(positional[0].name.value)
    if function is not None:
        walk(function)
    changed = True
    while changed:
        changed = False
        for targets, root in pairs:
            if root in found or binding_kind(scope, root) in (ScopeKind.MODULE, None) or root in scope.globals:
                new = targets - found
                if new:
                    found |= new
                    changed = True
    known = _MODULE_ALIASES[scope] = frozenset(found)
    return known


def runs(
    statements: Sequence[AwaitStatement | None], related: Related | None = None
) -> list[list[int]]:
    """Indexes of the groups to gather: consecutive candidates, each group
    extended while the next statement depends on none of it (so a group is
    closed exactly where a dependence, or a statement of another shape,
    forces an order)."""
    groups: list[list[int]] = []
    current: list[int] = []
    for index, statement in enumerate(statements):
        if statement is None:
            if len(current) > 1:
                groups.append(current)
            current = []
            continue
        if any(statement.depends_on(statements[i], related) for i in current):  # type: ignore[arg-type]
            if len(current) > 1:
                groups.append(current)
            current = []
        current.append(index)
    if len(current) > 1:
        groups.append(current)
    return groups


def gather_call(
    alias: str,
    args: Sequence[cst.Arg],
    *,
    wrap: bool,
) -> cst.Call:
    """``alias.gather(a, b)``, or with each argument on its own line."""
    func = cst.Attribute(value=cst.Name(alias), attr=cst.Name("gather"))
    if not wrap:
        last = len(args) - 1
        return cst.Call(
            func=func,
            args=[
                arg.with_changes(comma=cst.MaybeSentinel.DEFAULT if i == last else cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                for i, arg in enumerate(args)
            ],
        )

    def newline(indent: str) -> cst.ParenthesizedWhitespace:
        return cst.ParenthesizedWhitespace(
            first_line=cst.TrailingWhitespace(),
            empty_lines=[],
            indent=True,
            last_line=cst.SimpleWhitespace(indent),
        )

    last = len(args) - 1
    return cst.Call(
        func=func,
        whitespace_before_args=newline("    "),
        args=[
            arg.with_changes(
                value=indented(arg.value),
                comma=cst.Comma(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=newline("" if i == last else "    "),
                )
            )
            for i, arg in enumerate(args)
        ],
    )


def module_names(module: cst.Module) -> frozenset[str]:
    """Every identifier of the module (names, attributes, parameters, imports):
    a new name must collide with none of them."""
    return frozenset(names_in(module))


def throwaway_name(taken: frozenset[str]) -> str:
    # ``_`` is often gettext; a fresh name is never wrong.
    candidate, counter = "_unused", 0
    while candidate in taken:
        counter += 1
        candidate = f"_unused{counter}"
    return candidate


class _Indent(AttributeHooksByTable, cst.CSTTransformer):
    """Shift the continuation lines of a multi-line expression one level
    deeper, for an expression that moves into a wrapped argument list."""

    def leave_ParenthesizedWhitespace(
        self, original_node: cst.ParenthesizedWhitespace, updated_node: cst.ParenthesizedWhitespace
    ) -> cst.ParenthesizedWhitespace:
        if not updated_node.indent:
            return updated_node
        return updated_node.with_changes(
            last_line=cst.SimpleWhitespace("    " + updated_node.last_line.value)
        )


def indented(node: cst.BaseExpression) -> cst.BaseExpression:
    result = node.visit(_Indent())
    assert isinstance(result, cst.BaseExpression)
    return result


def render(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def no_fix_reason(scope: Scope) -> str:
    """Why a gather cannot be written here, or ``""``.

    A module that does not import asyncio itself may well run under trio
    (httpx, httpcore, starlette and anyio's own code reach their event loop
    only through relative imports): adding ``import asyncio`` and a gather
    there would tie it to one event loop, so such a module is reported only.
    """
    if scope.imports_any(("trio", "anyio")):
        return "gather is asyncio's; in trio or anyio code use a nursery or task group"
    alias = scope.module_alias("asyncio")
    if alias is None and scope.lookup("asyncio") == "asyncio":
        return "`asyncio` is imported only under a condition here"
    if alias is None:
        return "the name `asyncio` is taken here"
    if alias[1]:
        return "the module does not import asyncio, and may run under another event loop"
    return ""


class CleanupDepth:
    """Tracks whether the current statement is inside a ``try`` (body,
    handler, ``else`` or ``finally``) or ``with`` block of the function it belongs to
    (a mixin for the gather rules).

    When one gathered call fails, ``gather`` raises at once and the other
    calls keep running: an ``except``, ``finally`` or ``__exit__`` around
    them would then clean up (close the file, release the lease) while they
    still use it. Handlers and ``finally`` blocks are cleanup themselves,
    whose steps keep their order. Code with no such block in sight is not
    guarded: a caller's cleanup cannot be seen from here.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self._cleanup: list[int] = [0]
        # The guarded blocks (of try, except, finally and with) met so far.
        self._guarded_blocks: set[int] = set()

    @property
    def in_cleanup_block(self) -> bool:
        return self._cleanup[-1] > 0

    # Plain hooks, not ``on_visit``: the engine calls a rule's hooks from a
    # table by node type, which an ``on_visit`` of its own would defeat. A
    # rule that defines one of these hooks too must call this one (super()).

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._cleanup.append(0)

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._cleanup.pop()
        return updated_node

    def _guard(self, node: cst.Try | cst.TryStar | cst.With) -> None:
        self._guarded_blocks.add(id(node.body))
        if isinstance(node, (cst.Try, cst.TryStar)):
            # The ``else`` block runs before the ``finally`` block too: a call
            # still running there when another fails outlives the cleanup.
            if node.orelse is not None:
                self._guarded_blocks.add(id(node.orelse.body))
            # Handlers and finally blocks hold cleanup steps, written in the
            # order they must run (release, then close).
            self._guarded_blocks.update(id(handler.body) for handler in node.handlers)
            if node.finalbody is not None:
                self._guarded_blocks.add(id(node.finalbody.body))

    def visit_Try(self, node: cst.Try) -> None:
        self._guard(node)

    def visit_TryStar(self, node: cst.TryStar) -> None:
        self._guard(node)

    def visit_With(self, node: cst.With) -> None:
        self._guard(node)

    def _enter_block(self, node: cst.BaseSuite) -> None:
        if id(node) in self._guarded_blocks:
            self._cleanup[-1] += 1

    def _leave_block(self, node: cst.BaseSuite) -> None:
        if id(node) in self._guarded_blocks:
            self._guarded_blocks.discard(id(node))
            self._cleanup[-1] -= 1

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._enter_block(node)

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        self._leave_block(original_node)
        return updated_node

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self._enter_block(node)

    def leave_SimpleStatementSuite(
        self, original_node: cst.SimpleStatementSuite, updated_node: cst.SimpleStatementSuite
    ) -> cst.SimpleStatementSuite:
        self._leave_block(original_node)
        return updated_node


# A comment on the statements that speaks of gathering or of order ("No
# gather here because the overhead is not worth it", "one at a time: the
# server rate-limits us", "keep the order") means the author weighed running
# the calls at once and chose not to, often for a reason the code does not
# show. Rewritten, the comment would stand above a gather it argues against.
_ORDER_COMMENT = re.compile(
    r"gather|concurren|\bparallel|\bsequential|\bserial(?:ly)?\b"
    r"|\bone (?:at a time|by one|after (?:the )?(?:other|another))\b"
    r"|\bin (?:this |that |the same )?order\b(?! to\b)|\border (?:matters|is important)\b"
    r"|\bkeep(?:s|ing)? (?:the |their |its |this )?order\b|\bin turn\b",
    re.IGNORECASE,
)

ORDER_COMMENT_REASON = "a comment here speaks of gathering or of order"


def comments_speak_of_order(comments: Iterable[cst.Comment | None]) -> bool:
    return any(c is not None and _ORDER_COMMENT.search(c.value) for c in comments)


def line_comments(line: cst.BaseStatement) -> Iterator[cst.Comment | None]:
    """The comments above a statement, and the one at the end of its line."""
    for empty in line.leading_lines:
        yield empty.comment
    if isinstance(line, cst.SimpleStatementLine):
        yield line.trailing_whitespace.comment


CLEANUP_REASON = (
    "inside a try, except, finally or with block: cleanup could run while the"
    " other calls still run, and cleanup steps keep their order"
)
