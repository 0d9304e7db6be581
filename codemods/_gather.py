"""What AM201 (sequential-awaits) and AM202 (await-in-loop) share: which
awaited calls may run concurrently, and how an ``asyncio.gather(...)`` call is
written."""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import libcst as cst

from codemods._analysis import Access, AttributeHooksByTable, Scope, ScopeKind, accesses, binding_kind, children, depends_on
from codemods._screen import Context, Facts, scope_statements
from codemods._screen import call_root as screen_call_root
from codemods._screen import contains as screen_contains
from codemods._screen import walk as screen_walk

ScopeOf = Callable[[cst.CSTNode], Scope]


def ordering_entries(value: object) -> tuple[frozenset[str], frozenset[str]]:
    """(qualified names, method names) from the ``ordering-primitives`` option:
    a list from ``pyproject.toml``, or one string of entries separated by
    spaces, commas or ``|``."""
    if isinstance(value, str):
        entries: Iterable[str] = value.replace("|", " ").replace(",", " ").split()
    else:
        entries = [str(item).strip() for item in value]  # type: ignore[union-attr]
    qualified = frozenset(e for e in entries if e and not e.startswith("."))
    methods = frozenset(e[1:] for e in entries if e.startswith(".") and len(e) > 1)
    return qualified, methods


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
    return False


# Bookkeeping: metrics, counters, logs, audit trails. Such calls are quick
# (nothing to gain from running them at once) and their order is what they
# record: two counter updates gathered can leave the counts unbalanced when
# the caller is cancelled between them. Told by a word of the callee's name
# (``record_connection_count``, ``log_failure``, ``emit_event``).
_BOOKKEEPING_WORDS = frozenset(
    {
        "record", "log", "metric", "metrics", "emit", "track", "count", "counter", "incr",
        "increment", "decr", "decrement", "observe", "audit", "stat", "stats",
    }
)


def is_bookkeeping(name: str) -> bool:
    return any(word in _BOOKKEEPING_WORDS for word in name.lower().split("_"))


# Console I/O: a person answers each prompt after reading the one before it,
# and reads printed lines in the order they were written. Two prompts at once
# (``first = await ainput("First name: ")``, ``last = await ainput("Last
# name: ")``) race for the same keyboard, and which answer lands in which
# variable is chance. Told by a word of the callee's name.
_CONSOLE_WORDS = frozenset(
    {"input", "ainput", "prompt", "aprompt", "getpass", "ask", "confirm", "print", "aprint"}
)


def is_console_io(name: str) -> bool:
    return any(word in _CONSOLE_WORDS for word in name.lower().split("_"))


# Preconditions: a check awaited for its own sake, its result unused
# (``await assert_mta()``, ``await check_config_schema(config)``), is there
# to stop what follows when it fails. Gathered, the next call starts before
# the check has passed, and runs on (and may hang) after it failed. Told by
# the first word of the callee's name; a check whose result is used
# (``stock = await check_stock(cart)``) is a query like any other.
_PRECONDITION_WORDS = frozenset({"assert", "check", "ensure", "validate", "verify", "require", "expect"})


def is_precondition(name: str) -> bool:
    words = [word for word in name.lower().split("_") if word]
    if words and words[0] == "async":
        words = words[1:]
    return bool(words) and words[0] in _PRECONDITION_WORDS


def callee_name(call: cst.Call) -> str:
    """The last name of the callee (``fetch`` for ``api.fetch(...)``), or ``""``."""
    func = call.func
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return ""


def _method_matches(name: str, methods: frozenset[str]) -> bool:
    return name in methods or any(
        m.endswith("*") and name.startswith(m[:-1]) for m in methods
    )


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


# -- the same analysis on the stdlib ``ast``, for the rules' screens ------------
#
# A screen must pass every file its rule could find something in. So here a
# dependence or a receiver is assumed only where it is certain on the ``ast``
# (fewer of them can only let more runs through), and a statement is refused
# only for a reason the LibCST analysis refuses it for too. The read and
# write sets are those of ``codemods._analysis.accesses``, computed on the
# other tree (tests compare the two).

AST_FORBIDDEN = (ast.Await, ast.Yield, ast.YieldFrom, ast.Lambda)


def ast_path(expr: ast.expr) -> str | None:
    """``self.a.b`` -> "self.a.b", ``d[k].x`` -> "d[].x" (see ``access_path``)."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        base = ast_path(expr.value)
        return f"{base}.{expr.attr}" if base is not None else None
    if isinstance(expr, ast.Subscript):
        base = ast_path(expr.value)
        return f"{base}[]" if base is not None else None
    return None


class _AstAccess:
    """``codemods._analysis._AccessCollector`` on the stdlib ``ast``."""

    def __init__(self) -> None:
        self.reads: set[str] = set()
        self.writes: set[str] = set()

    def read(self, node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            self.reads.add(node.id)
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            path = ast_path(node)
            if path is not None:
                self.reads.add(path)
            self._read_parts(node)
        elif isinstance(node, ast.keyword):
            self.read(node.value)
        elif isinstance(node, ast.arg):
            # A lambda's parameter is a name in LibCST's tree, read like any.
            self.reads.add(node.arg)
        elif isinstance(node, ast.NamedExpr):
            self.write(node.target)
            self.read(node.value)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                self.write(target)
            self.read(node.value)
        elif isinstance(node, ast.AnnAssign):
            # A local variable annotation is never evaluated.
            self.write(node.target)
            if node.value is not None:
                self.read(node.value)
        elif isinstance(node, ast.AugAssign):
            self.read(node.target)
            self.write(node.target)
            self.read(node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.write(node.target)
            for child in (node.iter, *node.body, *node.orelse):
                self.read(child)
        elif isinstance(node, ast.withitem):
            self.read(node.context_expr)
            if node.optional_vars is not None:
                self.write(node.optional_vars)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                self.write(target)
        else:
            # A comprehension's own variable is read, as on the LibCST side.
            for child in ast.iter_child_nodes(node):
                self.read(child)

    def _read_parts(self, node: ast.Attribute | ast.Subscript) -> None:
        if isinstance(node, ast.Subscript):
            self.read(node.slice)
        value = node.value
        if isinstance(value, (ast.Attribute, ast.Subscript)):
            self._read_parts(value)
        elif not isinstance(value, ast.Name):
            self.read(value)

    def write(self, target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self.writes.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.write(element)
        elif isinstance(target, ast.Starred):
            self.write(target.value)
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            path = ast_path(target)
            if path is not None:
                self.writes.add(path)
            else:
                self.read(target)
            self._read_parts(target)
        else:
            self.read(target)


def ast_accesses(node: ast.AST) -> Access:
    collector = _AstAccess()
    collector.read(node)
    return Access(frozenset(collector.reads), frozenset(collector.writes))


def _ast_calls(node: ast.AST) -> Iterator[ast.Call]:
    return (n for n in screen_walk(node) if isinstance(n, ast.Call))


def ast_is_ordering(
    expr: ast.AST, facts: Facts, primitives: tuple[frozenset[str], frozenset[str]]
) -> bool:
    """:func:`is_ordering`, answering yes only where that is certain."""
    qualified, methods = primitives
    for call in _ast_calls(expr):
        func = call.func
        if isinstance(func, ast.Attribute) and _method_matches(func.attr, methods):
            return True
        callee = ast_callee_name(call)
        if is_bookkeeping(callee) or is_console_io(callee):
            return True
        if facts.certain_qualname(func) in qualified:
            return True
    return False


def ast_callee_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def ast_call_subject(call: ast.Call, facts: Facts) -> str | None:
    """:func:`call_subject`, only where it is certain."""
    if not call.args or isinstance(call.args[0], ast.Starred):
        return None
    value = call.args[0]
    while isinstance(value, (ast.Attribute, ast.Subscript)):
        value = value.value
    if not isinstance(value, ast.Name):
        return None
    name = value.id
    if name.isupper() or facts.possibly_module(name):
        return None
    return name


def _ast_root_receiver(func: ast.expr, facts: Facts) -> frozenset[str]:
    root = screen_call_root(func)
    if root is None or facts.possibly_module(root.id):
        return frozenset()
    return frozenset({root.id})


def ast_callee_receivers(call: ast.Call, facts: Facts, ctx: Context) -> frozenset[str]:
    """:func:`callee_receivers`, each receiver only where it is certain."""
    func = call.func
    if facts.certain_qualname(func) in THREAD_CALLS or (
        isinstance(func, ast.Attribute) and func.attr == "run_in_executor"
    ):
        return frozenset({THREADS}) | _ast_root_receiver(func, facts)
    if isinstance(func, ast.Name):
        # A local of this function or of one around it (a closure's callee).
        if facts.certainly_in_a_function(func.id, ctx):
            return frozenset({"?", func.id})
        return frozenset()
    root = screen_call_root(func)
    if root is None:
        return frozenset({"?"})
    if facts.possibly_module(root.id):
        return frozenset()
    return frozenset({root.id})


def ast_receivers(expr: ast.AST, facts: Facts, ctx: Context) -> frozenset[str]:
    """:func:`receivers`: those of every call in ``expr``, callee and
    single-operation arguments, each only where it is certain."""
    found: set[str] = set()
    for call in _ast_calls(expr):
        found |= ast_callee_receivers(call, facts, ctx)
        for value in (*call.args, *(keyword.value for keyword in call.keywords)):
            if isinstance(value, ast.Starred):
                value = value.value
            last = value.id if isinstance(value, ast.Name) else value.attr if isinstance(value, ast.Attribute) else None
            if last is None or not looks_single_operation(last):
                continue
            root = screen_call_root(value)
            if root is not None and not facts.possibly_module(root.id):
                found.add(root.id)
    return frozenset(found)


def _ast_simple_target(target: ast.expr, *, nested: bool = False) -> bool:
    if nested and isinstance(target, ast.Starred):
        target = target.value  # ``a, *b = ...``
    if isinstance(target, ast.Name):
        return True
    if isinstance(target, ast.Attribute):
        value = target.value
        while isinstance(value, ast.Attribute):
            value = value.value
        return isinstance(value, ast.Name)
    if isinstance(target, (ast.Tuple, ast.List)) and not nested:
        return all(_ast_simple_target(e, nested=True) for e in target.elts)
    return False


@dataclass(frozen=True)
class AstAwaitStatement:
    """:class:`AwaitStatement` on the stdlib ``ast``: the receivers certain
    here, and whether a callee may be a local of an enclosing function,
    which LibCST would give the receiver ``"?"``."""

    access: Access
    receivers: frozenset[str]
    uncertain: bool = False

    def depends_on(self, earlier: AstAwaitStatement, related: AstRelated | None = None) -> bool:
        """Whether LibCST certainly finds the dependence too: as
        AwaitStatement.depends_on, with names related only where LibCST's
        :class:`Related` certainly relates them too (without ``related``,
        each name only itself)."""
        if depends_on(self.access, earlier.access):
            return True
        both = bool(self.receivers and earlier.receivers)
        if "?" in self.receivers or "?" in earlier.receivers:
            return both
        overlap = receivers_meet(self.receivers, self.access, earlier.receivers, earlier.access, related)
        if self.uncertain or earlier.uncertain:
            # Given "?", LibCST asks only whether both have receivers, not
            # whether they overlap: a dependence must hold either way.
            return both and overlap
        return overlap


def ast_awaited_call(statement: ast.stmt) -> ast.Call | None:
    """The call of ``await CALL``, ``T = await CALL`` or ``NAME: A = await
    CALL`` (a simple target), else ``None``."""
    if isinstance(statement, ast.Expr):
        value = statement.value
    elif isinstance(statement, ast.Assign):
        if len(statement.targets) != 1 or not _ast_simple_target(statement.targets[0]):
            return None
        value = statement.value
    elif isinstance(statement, ast.AnnAssign):
        if statement.value is None or not isinstance(statement.target, ast.Name):
            return None
        value = statement.value
    else:
        return None
    if isinstance(value, ast.Await) and isinstance(value.value, ast.Call):
        return value.value
    return None


def ast_independent_call(
    call: ast.Call, facts: Facts, primitives: tuple[frozenset[str], frozenset[str]]
) -> bool:
    """Whether nothing that makes :func:`await_statement` and AM202 refuse
    a call outright is certainly there: a nested await, yield, lambda,
    ``super()``, a gather, an ordering primitive or a bookkeeping call."""
    if screen_contains(call, AST_FORBIDDEN):
        return False
    if any(isinstance(n, ast.Name) and n.id == "super" for n in screen_walk(call)):
        return False
    if facts.certain_qualname(call.func) == "asyncio.gather":
        return False
    return not ast_is_ordering(call, facts, primitives)


def ast_await_statement(
    statement: ast.stmt,
    facts: Facts,
    ctx: Context,
    primitives: tuple[frozenset[str], frozenset[str]],
) -> AstAwaitStatement | None:
    """:func:`await_statement` on the stdlib ``ast``."""
    call = ast_awaited_call(statement)
    if call is None or not ast_independent_call(call, facts, primitives):
        return None
    found = ast_receivers(call, facts, ctx)
    if isinstance(statement, ast.Expr):
        if is_precondition(ast_callee_name(call)):
            return None
        subject = ast_call_subject(call, facts)
        if subject is not None:
            found |= {subject}
    uncertain = any(
        isinstance(c.func, ast.Name)
        and facts.possibly_local(c.func.id)
        and not facts.certainly_in_a_function(c.func.id, ctx)
        for c in _ast_calls(call)
    )
    return AstAwaitStatement(ast_accesses(statement), found, uncertain)


class _NameUnion:
    """Names joined into classes (a union-find): what :class:`Related` and
    :class:`AstRelated` build, each from its own tree."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}

    def _join(self, targets: Iterable[str], roots: Iterable[str], local: Callable[[str], bool]) -> None:
        """Relate each target to each root read, other than itself, that is a local."""
        roots = tuple(roots)
        for target in targets:
            for root in roots:
                if root != target and local(root):
                    self._union(target, root)

    def _find(self, name: str) -> str:
        while self._parent.get(name, name) != name:
            name = self._parent[name]
        return name

    def _union(self, a: str, b: str) -> None:
        self._parent.setdefault(a, a)
        self._parent.setdefault(b, b)
        self._parent[self._find(a)] = self._find(b)

    def same(self, a: str, b: str) -> bool:
        return a == b or self._find(a) == self._find(b)


class AstRelated(_NameUnion):
    """:class:`Related` on the stdlib ``ast``, for the screens: the names
    related by assignments in the bodies of the module's coroutines (not in
    functions or classes within them), each relation made only where the
    name read is certainly a local of that coroutine or of a function
    around it. LibCST's relation,
    built over the whole module, holds every one of these, so a run of
    awaits this keeps apart LibCST keeps apart too: a group LibCST gathers
    needs two neighbours that it finds independent, and so does this.
    """

    def __init__(self, facts: Facts) -> None:
        super().__init__()
        for function, where in facts.async_defs:
            # The coroutine's own statements, seen from its body.
            inside = Context("async", True, None, (*where.defs, (function, where.class_node)))
            local = functools.partial(facts.certainly_in_a_function, ctx=inside)
            for statement in scope_statements(function.body):
                self._statement(statement, local)

    @classmethod
    def of(cls, facts: Facts) -> AstRelated:
        """Built once per file's facts."""
        known = facts.memo.get("related")
        if not isinstance(known, cls):
            known = facts.memo["related"] = cls(facts)
        return known

    def _statement(self, statement: ast.stmt, local: Callable[[str], bool]) -> None:
        # As Related._visit: the target's roots with the local roots read by the value.
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                self._relate(target, statement.value, local)
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)) and statement.value is not None:
            self._relate(statement.target, statement.value, local)
        elif isinstance(statement, (ast.For, ast.AsyncFor)):
            self._relate(statement.target, statement.iter, local)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            for item in statement.items:
                if item.optional_vars is not None:
                    self._relate(item.optional_vars, item.context_expr, local)

    def _relate(self, target: ast.expr, value: ast.expr, local: Callable[[str], bool]) -> None:
        probe = ast.Assign(targets=[target], value=ast.Constant(None))
        self._join(ast_accesses(probe).write_roots, ast_accesses(value).read_roots, local)


def ast_has_run(statements: Sequence[AstAwaitStatement | None], related: AstRelated | None = None) -> bool:
    """Whether :func:`runs` finds a group: two or more candidates in a row,
    none depending on an earlier one of the group."""
    current: list[AstAwaitStatement] = []
    for statement in statements:
        if statement is None:
            if len(current) > 1:
                return True
            current = []
            continue
        if any(statement.depends_on(earlier, related) for earlier in current):
            if len(current) > 1:
                return True
            current = []
        current.append(statement)
    return len(current) > 1


def call_receivers(call: cst.Call, scope_of: ScopeOf) -> frozenset[str]:
    """The object whose method ``call`` is, by the name it is reached from
    (``conn`` for ``conn.cursor().execute()``, ``self`` for
    ``self.handlers[k](x)``). A module reached through an import is not a
    receiver: ``asyncio.to_thread`` twice shares nothing; nor is a function
    of the module. A callable held in a local variable or parameter may be a
    bound method of anything (``prepare = resp.prepare``), and so is an
    object not reached from a name (``(a or b).close()``): both get the
    marker ``"?"``, which conflicts with every other receiver. An argument
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
        if binding_kind(scope, func.value) in (ScopeKind.MODULE, None):
            return frozenset()
        return frozenset({"?", func.value})
    root = call_root(func)
    if root is None:
        return frozenset({"?"})
    # Only a module is no receiver: a name from ``from x import y`` may be a
    # class or an object (``Tortoise.init()``, ``database.connect()``).
    if scope.is_module(root.value):
        return frozenset()
    return frozenset({root.value})


# Objects that allow one operation at a time, told by their names: a
# database connection, cursor, session or transaction, a socket, websocket or
# stream. Passed to two calls (``get_user(db, uid)``, ``get_orders(db, uid)``),
# such an object is a receiver both calls share. A shared client or pool
# (``fetch(client, "/a")``) is not one of them: that is the common good case.
_RESOURCE_PARTS = re.compile(r"conn|cursor|session|transaction|socket", re.IGNORECASE)
_RESOURCE_WORDS = frozenset(
    {"db", "database", "con", "cur", "tx", "txn", "ws", "sock", "stream", "reader", "writer", "channel", "chan"}
)


def looks_single_operation(name: str) -> bool:
    """Whether a variable named ``name`` likely holds an object that allows
    one operation at a time (``conn``, ``db_session``, ``pg_cursor``, ``ws``)."""
    if _RESOURCE_PARTS.search(name):
        return True
    return any(word.lower() in _RESOURCE_WORDS for word in re.split(r"[_\d]+", name) if word)


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


def call_subject(call: cst.Call, scope: Scope) -> str | None:
    """The name of the object a call works on, when it is passed first:
    ``hass`` in ``async_setup_registry(hass)``, ``self`` in
    ``setup_devices(self)`` and in ``refresh(self.api)``. Constants
    (``DOMAIN``), ``None``/``True``/``False`` and imported modules are no
    object to work on."""
    if not call.args:
        return None
    first = call.args[0]
    if first.keyword is not None or first.star:
        return None
    value: cst.BaseExpression = first.value
    while isinstance(value, (cst.Attribute, cst.Subscript)):
        value = value.value
    if not isinstance(value, cst.Name):
        return None
    name = value.value
    if name in ("None", "True", "False") or name.isupper() or scope.is_module(name):
        return None
    return name


THREADS = "<threads>"
THREAD_CALLS = frozenset({"asyncio.to_thread", "anyio.to_thread.run_sync", "trio.to_thread.run_sync"})


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
        # Methods of one object share hidden state, and most drivers allow
        # one operation at a time on a connection.
        if "?" in self.receivers or "?" in earlier.receivers:
            return bool(self.receivers and earlier.receivers)
        return receivers_meet(self.receivers, self.access, earlier.receivers, earlier.access, related)


def receivers_meet(
    receivers: frozenset[str],
    access: Access,
    other_receivers: frozenset[str],
    other_access: Access,
    related: _NameUnion | None = None,
) -> bool:
    """Whether two statements meet on an object: a receiver in common, or a
    receiver of one that is (or, with ``related``, is related to) a name the
    other reads or writes (``self.token = await login()`` then ``await
    self.fetch()``: the method may read what the assignment changed)."""
    if receivers & other_receivers:
        return True
    same = related.same if related is not None else (lambda a, b: a == b)
    return any(
        same(receiver, name)
        for mine, theirs in (
            (receivers, other_access.read_roots | other_access.write_roots),
            (other_receivers, access.read_roots | access.write_roots),
        )
        for receiver in mine
        for name in theirs
    )


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
    if "super" in names_in(call) or is_ordering(call, scope_of, primitives):
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
    found = receivers(call, scope_of)
    if isinstance(small, cst.Expr):
        # Awaited for its effect alone, a call works on its first argument as
        # a method works on its receiver (``await async_setup_registry(hass)``
        # then ``await process_config(hass, config)``; ``await login(client)``
        # then ``await fetch(client)``): the other call may read what it did.
        # A call whose result is used is taken to be a query
        # (``fetch(client, "/a")`` twice is still gathered).
        subject = call_subject(call, scope)
        if subject is not None:
            found |= {subject}
    return AwaitStatement(line, small, call, target, access, found)


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
    if alias is None:
        return "the name `asyncio` is taken here"
    if alias[1]:
        return "the module does not import asyncio, and may run under another event loop"
    return ""


class CleanupDepth:
    """Tracks whether the current statement is inside a ``try`` (body,
    handler or ``finally``) or ``with`` block of the function it belongs to
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
