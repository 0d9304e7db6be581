"""What the screens know of calls, awaits and names, on the stdlib ``ast``.

The LibCST rules of AM201 and AM202 (``codemods._gather``) decide which
awaits may run at once; their screens ask the same questions of the stdlib
``ast`` before any file is parsed with LibCST. This module holds the
screens' half and what both halves share (read and write sets, the words
that make a call ordering or bookkeeping), and imports nothing of LibCST:
a run in which no file passes a screen never imports it.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

from codemods._screen import Context, Facts, scope_statements
from codemods._screen import call_root as screen_call_root
from codemods._screen import contains as screen_contains
from codemods._screen import walk as screen_walk

# -- read and write sets ------------------------------------------------------
#
# (Of the LibCST tree in codemods._analysis.accesses, of the ast here.)


@dataclass(frozen=True)
class Access:
    reads: frozenset[str]
    writes: frozenset[str]

    @property
    def read_roots(self) -> frozenset[str]:
        return frozenset(_root(path) for path in self.reads)

    @property
    def write_roots(self) -> frozenset[str]:
        return frozenset(_root(path) for path in self.writes)

    def __or__(self, other: Access) -> Access:
        return Access(self.reads | other.reads, self.writes | other.writes)


def _root(path: str) -> str:
    end = len(path)
    for separator in (".", "["):
        index = path.find(separator)
        if index != -1:
            end = min(end, index)
    return path[:end]


def paths_overlap(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return long.startswith(short) and long[len(short)] in ".["


def depends_on(later: Access, earlier: Access) -> bool:
    """Whether ``later`` reads or rebinds anything ``earlier`` binds."""
    touched = later.reads | later.writes
    return any(paths_overlap(w, t) for w in earlier.writes for t in touched)


# -- what makes a call ordering, bookkeeping or a precondition ----------------


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


# Set-up and tear-down: a call awaited for its effect alone whose name's
# first word says it opens, starts, creates or closes something
# (``await db.connect()``, ``await init_schema()``, ``await close()``) is
# there to be done before the calls after it, or after the calls before it.
# Gathered, ``fetch(q)`` runs on a connection not yet made, and ``close()``
# under a query still running. Used by AM201 only: one such call per item
# of a loop (``await close(conn)`` for each) sets up or tears down each
# item on its own.
_LIFECYCLE_WORDS = frozenset(
    {
        "connect", "reconnect", "disconnect", "login", "logout", "logon", "logoff", "authenticate",
        "auth", "open", "close", "init", "initialize", "initialise", "setup", "start", "stop",
        "shutdown", "teardown", "create", "drop", "delete", "destroy", "migrate", "prepare",
        "begin", "commit", "rollback", "flush", "cleanup", "reset", "finalize", "register",
        "unregister", "subscribe", "unsubscribe", "bind", "listen", "release",
    }
)


def is_lifecycle(name: str) -> bool:
    words = [word for word in name.lower().split("_") if word]
    if words and words[0] == "async":
        words = words[1:]
    return bool(words) and words[0] in _LIFECYCLE_WORDS


def _method_matches(name: str, methods: frozenset[str]) -> bool:
    return name in methods or any(
        m.endswith("*") and name.startswith(m[:-1]) for m in methods
    )


# -- AM201 and AM202's analysis on the stdlib ``ast`` --------------------------
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
            # Given "?", LibCST finds a dependence whatever the other call;
            # without it, only an overlap: a dependence must hold either way.
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


THREADS = "<threads>"


THREAD_CALLS = frozenset({"asyncio.to_thread", "anyio.to_thread.run_sync", "trio.to_thread.run_sync"})


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
