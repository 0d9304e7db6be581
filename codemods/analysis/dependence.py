"""Which awaited calls may run at once: what a statement reads and writes,
the calls' receivers, and the words that make a call ordering, bookkeeping
or a precondition.

AM201 (sequential-awaits) and AM202 (await-in-loop) decide on LibCST which
awaits to gather; their screens ask the same questions of the stdlib ``ast``
before any file is parsed with LibCST. Both halves live here, the ``ast``
half first (functions named ``ast_*``), then the LibCST half, so that a
change to one is seen next to the other. A screen must pass every site its
rule would gather: where the halves differ, the ``ast`` half errs towards
passing.

Importing this module imports no LibCST: the LibCST half names it, and the
LibCST stage, only inside its functions (see :mod:`codemods.lazy`).
"""

from __future__ import annotations

import ast
import functools
import re
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

from ..lazy import lazy_module
from ..model.facts import NEW, call_parts, paths_overlap, split_root
from ..model.project import EXECUTOR_METHOD, REMOTE, THREAD_RUNNERS, Effects, gather_conflict, paths_meet
from ..screen.facts import Context, Facts, context_qualname, scope_statements
from ..screen.facts import call_root as screen_call_root
from ..screen.facts import contains as screen_contains
from ..screen.facts import walk as screen_walk

if TYPE_CHECKING:
    import libcst as cst

    from ..cst.scope import Scope
    from ..model.project import ModuleView

    ScopeOf = Callable[[cst.CSTNode], Scope]
else:
    cst = lazy_module("libcst")
cst_scope = lazy_module("..cst.scope", __package__)
cst_traversal = lazy_module("..cst.traversal", __package__)


# -- read and write sets ------------------------------------------------------
#
# (Of the LibCST tree in ``accesses`` below, of the ast in ``ast_accesses``.)


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


# The callees that run the function handed to them in a worker thread
# (``asyncio.to_thread(input, "Go on? ")``): the function's name says what
# the call does, as a callee's own would.
_THREAD_RUNNER_NAMES = frozenset({*(name.rsplit(".", 1)[-1] for name in THREAD_RUNNERS), EXECUTOR_METHOD})


def _keeps_order(callee: str, handed: Iterable[str]) -> bool:
    """Whether a call of ``callee`` (handed the functions named ``handed``,
    the last names of its arguments) is bookkeeping or console I/O."""
    names = [callee, *handed] if callee in _THREAD_RUNNER_NAMES else [callee]
    return any(is_bookkeeping(name) or is_console_io(name) for name in names if name)


# Preconditions: a check awaited for its own sake, its result unused
# (``await assert_mta()``, ``await check_config_schema(config)``), is there
# to stop what follows when it fails. Gathered, the next call starts before
# the check has passed, and runs on (and may hang) after it failed. Told by
# the first word of the callee's name; a check whose result is used
# (``stock = await check_stock(cart)``) is a query like any other.
# Annotations that bind a name where it is declared (``Final``): such an
# assignment cannot become a declaration and a combined assignment.
_QUALIFIERS = frozenset({"Final", "ClassVar"})
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


def _first_word(name: str) -> str:
    """The first word of a snake_case name, past an ``async_``."""
    words = [word for word in name.lower().split("_") if word]
    if words and words[0] == "async":
        words = words[1:]
    return words[0] if words else ""


def is_lifecycle(name: str) -> bool:
    return _first_word(name) in _LIFECYCLE_WORDS


# The first words of a function that brings something up: its steps run in
# the order that brings it up (``async_start``: the first call on a client
# may connect it, lazily, and two at once connect it twice).
_STARTUP_WORDS = frozenset(
    {
        "connect", "reconnect", "login", "logon", "authenticate", "auth", "open", "init", "initialize", "initialise",
        "start", "begin", "boot",
        # ``async with client:``: what ``__aenter__`` runs opens it.
        "aenter",
    }
)


def brings_up(function_name: str) -> bool:
    """Whether a function's name says it starts, connects or opens
    something (``start``, ``async_connect``, ``_open_session``)."""
    # (``asyncStart``, ``ConnectAll``: camelCase words too)
    return _first_word(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", function_name)) in _STARTUP_WORDS



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
# write sets are those of ``accesses`` (below), computed on the
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
    """``_AccessCollector`` (below) on the stdlib ``ast``."""

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
        handed = (arg.attr if isinstance(arg, ast.Attribute) else getattr(arg, "id", "") for arg in call.args)
        if _keeps_order(ast_callee_name(call), handed):
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
        isinstance(func, ast.Attribute) and func.attr == EXECUTOR_METHOD
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
    # Whether the project model may decide this statement's dependences on
    # LibCST (see AwaitStatement.effects): asked only when an answer could
    # matter, since asking may read the facts of many modules.
    ask_model: Callable[[], bool] | None = field(default=None, compare=False, repr=False)

    @functools.cached_property
    def modelled(self) -> bool:
        return self.ask_model is not None and self.ask_model()

    def depends_on(
        self, earlier: AstAwaitStatement, related: AstRelated | None = None, *, model: bool = True
    ) -> bool:
        """Whether LibCST certainly finds the dependence too: as
        AwaitStatement.depends_on, with names related only where LibCST's
        :class:`Related` certainly relates them too (without ``related``,
        each name only itself). ``model=False``: as if the project model
        knew neither statement, which finds a dependence wherever it
        finds one."""
        if depends_on(self.access, earlier.access):
            return True
        both = bool(self.receivers and earlier.receivers)
        if "?" in self.receivers or "?" in earlier.receivers:
            found = both
        else:
            overlap = receivers_meet(self.receivers, self.access, earlier.receivers, earlier.access, related)
            # Given "?", LibCST finds a dependence whatever the other call;
            # without it, only an overlap: a dependence must hold either way.
            found = both and overlap if self.uncertain or earlier.uncertain else overlap
        # Where the project model knows both, LibCST asks it, whose answer
        # may be that they are independent: the file must reach it.
        return found and not (model and self.modelled and earlier.modelled)


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
        if any(getattr(n, "id", getattr(n, "attr", None)) in _QUALIFIERS for n in ast.walk(statement.annotation)):
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
    access = ast_accesses(statement)
    return AstAwaitStatement(access, found, uncertain, functools.partial(ast_modelled, facts, ctx, call, access))


def ast_modelled(
    facts: Facts, ctx: Context, call: ast.Call, access: Access, items: frozenset[str] = frozenset()
) -> bool:
    """Whether the project model knows what the statement awaiting ``call``
    may do (so that LibCST may decide by it); ``items`` as in :func:`call_effects`."""
    view = facts.view
    if view is None:
        return False
    func, args, kwargs, star_kwargs, keys = call_parts(call)
    effects = view.statement_effects(
        context_qualname(ctx), func, args, kwargs, star_kwargs, keys, access.reads, access.writes, items=items
    )
    return effects is not None and not effects.unknown


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
    none depending on an earlier one of the group; that is, two neighbours
    the later of which does not depend on the earlier (the first two of a
    group are such a pair, and the grouping puts such a pair in one group
    unless a group of two or more ends before it)."""
    # What the model says only takes dependences away: a run found without
    # it is found with it, and the model (which may read the facts of many
    # modules) is asked only where none is.
    return _ast_has_pair(statements, related, model=False) or _ast_has_pair(statements, related, model=True)


def _ast_has_pair(statements: Sequence[AstAwaitStatement | None], related: AstRelated | None, *, model: bool) -> bool:
    previous: AstAwaitStatement | None = None
    for statement in statements:
        if statement is not None and previous is not None and not statement.depends_on(previous, related, model=model):
            return True
        previous = statement
    return False


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


# The functions that run a function in a worker thread (the model's list).
THREAD_CALLS = frozenset(THREAD_RUNNERS)


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

# =============================================================================
# The LibCST half
# =============================================================================

#
# What a statement reads and binds, as access paths: ``x`` for a name,
# ``self.token`` for an attribute chain rooted at a name, ``d[]`` for any item
# of ``d``. Two paths overlap when one is a prefix of the other, so writing
# ``self.token`` conflicts with reading ``self`` or ``self.token.value`` but
# not with reading ``self.other``. The sets over-approximate reads (a name in
# a lambda or comprehension counts as read), which only ever makes more
# statements look dependent.


def access_path(expr: cst.BaseExpression) -> str | None:
    """``self.a.b`` -> "self.a.b", ``d[k].x`` -> "d[].x"; ``None`` when the
    chain does not start at a name (``f().x``)."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        base = access_path(expr.value)
        return f"{base}.{expr.attr.value}" if base is not None else None
    if isinstance(expr, cst.Subscript):
        base = access_path(expr.value)
        return f"{base}[]" if base is not None else None
    return None


def _callee_text(func: cst.BaseExpression) -> str:
    """The callee as the project model's facts spell it (``self.m``,
    ``super().m``; "?" for anything but a chain of names)."""
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call):
        inner = func.value
        if isinstance(inner.func, cst.Name) and inner.func.value == "super" and not inner.args:
            return f"super().{func.attr.value}"
    if isinstance(func, cst.Attribute):
        receiver = access_path(func.value)
        if receiver is None:
            made = _constructor_name(func.value)
            receiver = NEW + made.replace(".", ":") if made is not None else "?"
        return f"{receiver}.{func.attr.value}"
    return func.value if isinstance(func, cst.Name) else "?"


def _constructor_name(value: cst.BaseExpression) -> str | None:
    """``Api`` for ``Api(...)`` (a name that looks like a class): the
    LibCST twin of ``codemods.model.facts._constructor``."""
    if not isinstance(value, cst.Call):
        return None
    parts: list[str] = []
    func = value.func
    while isinstance(func, cst.Attribute):
        parts.append(func.attr.value)
        func = func.value
    if not isinstance(func, cst.Name):
        return None
    parts.append(func.value)
    return ".".join(reversed(parts)) if parts[0][:1].isupper() else None


def _argument_path(value: cst.BaseExpression) -> str | None:
    """An argument as the model's facts see it: its access path, ``None``
    for a value made where it stands, "?" for an object of unknown origin."""
    if isinstance(value, (cst.Name, cst.Attribute, cst.Subscript)):
        return access_path(value) or "?"
    return None if isinstance(value, _fresh_values()) else "?"


@functools.lru_cache(maxsize=None)
def _fresh_values() -> tuple[type[cst.CSTNode], ...]:
    return (
        cst.BaseNumber, cst.BaseString, cst.List, cst.Tuple, cst.Dict, cst.Set, cst.ListComp,
        cst.SetComp, cst.DictComp, cst.GeneratorExp, cst.BinaryOperation, cst.UnaryOperation,
        cst.Comparison, cst.BooleanOperation, cst.Lambda,
    )


def described(call: cst.Call) -> tuple[str, list[str | None], dict[str, str | None], bool, list[str]]:
    """A call as the project model's facts spell one (see
    :func:`codemods.model.facts.call_parts`, its ``ast`` twin)."""
    keys = [
        path
        for arg in call.args
        for node in cst_traversal.descendants(arg.value)
        if isinstance(node, (cst.Name, cst.Attribute, cst.Subscript))
        for path in (access_path(node),)
        if path is not None
    ]
    args: list[str | None] = []
    kwargs: dict[str, str | None] = {}
    star_kwargs = False
    for arg in call.args:
        if arg.star == "**":
            star_kwargs = True
        elif arg.star == "*":
            args.append("*")
        elif arg.keyword is not None:
            kwargs[arg.keyword.value] = _argument_path(arg.value)
        else:
            args.append(_argument_path(arg.value))
    return _callee_text(call.func), args, kwargs, star_kwargs, keys


def call_effects(
    view: ModuleView | None,
    scope: Scope,
    call: cst.Call,
    access: Access,
    items: frozenset[str] = frozenset(),
) -> Effects | None:
    """What the statement awaiting ``call`` (its reads and writes ``access``)
    may do, by the project model: unknown effects when the model cannot
    tell; ``None`` for a library's function, left to the rule's reading of
    the call's arguments.
    ``items``: loop variables, a new object in each iteration (paths through
    them are spelled ``@name...``)."""
    if view is None:
        return None
    func, args, kwargs, star_kwargs, keys = described(call)
    return view.statement_effects(
        cst_scope.function_qualname(scope), func, args, kwargs, star_kwargs, keys,
        access.reads, access.writes, items=items,
    )


def never_suspends(view: ModuleView | None, scope: Scope, call: cst.Call) -> bool:
    """Whether the project model shows that awaiting ``call`` never suspends
    (so that running it beside others gains nothing)."""
    if view is None:
        return False
    return view.statement_suspends(cst_scope.function_qualname(scope), *described(call)) is False


def per_item(
    effects: Effects, items: frozenset[str], call_receiver: str | None, shared_receiver: bool = False,
    *, distinct: bool = False,
) -> bool:
    """Whether one iteration's call (``effects``, with the loop variables
    ``items``) can run beside the others: it changes only its own item (the
    item, or an attribute of it: a deeper object may be shared between
    items), takes no lock shared between items, and is not a method of the
    item the model cannot see into (``call_receiver``: the awaited call's
    receiver, when it is a method of the item; ``shared_receiver``: it is a
    method of something else, one object for every item)."""
    own = {f"@{name}" for name in items}

    def root(path: str) -> str:
        return split_root(path.removeprefix(REMOTE))[0]

    # From its first suspension on, a call may run between the others'
    # steps: there it changes its own item alone. Before, the calls run one
    # after another in the items' order, as in the loop: a change of shared
    # state there keeps its order, unless a call reads that state after it
    # suspends, or an item's arguments (all read before the first call
    # starts) read it.
    late = effects.late
    for path in late.writes:
        inner = path.removeprefix(REMOTE)
        if root(path) not in own:
            return False
        if not distinct and not path.startswith(REMOTE):
            # Its own item, changed after it suspends: where the items may
            # hold one object twice, two calls would change it at once.
            return False
        if not path.startswith(REMOTE) and inner.count(".") + inner.count("[") > 1:
            return False
    shared = frozenset(path for path in effects.writes if root(path) not in own)
    if shared and (paths_meet(shared, late.reads | late.writes) or paths_meet(shared, effects.arguments)):
        return False
    if any(root(lock) not in own for lock in effects.locks):
        return False
    if REMOTE in effects.reads and any(path.startswith(REMOTE) for path in effects.writes):
        # One item's call changes its part of the remote side; another's
        # reads all of it.
        return False
    if any(path.startswith(REMOTE) for path in effects.writes) and (
        shared_receiver or any(split_root(receiver)[0] not in own for receiver, _ in effects.external)
    ):
        # A command per item through one client (a modem's web page, a
        # device, a server), all at once: what it takes at a time, and
        # what one failed command does to the others' session, the model
        # cannot see.
        return False
    if call_receiver is not None and any(receiver == call_receiver for receiver, _ in effects.external):
        return False
    return True


def accesses(node: cst.CSTNode) -> Access:
    """The paths ``node`` reads and the paths it binds (assignment targets,
    walrus targets, ``for`` and ``with`` targets, ``del``)."""
    collector = _AccessCollector()
    collector.read(node)
    return Access(frozenset(collector.reads), frozenset(collector.writes))


class _AccessCollector:
    def __init__(self) -> None:
        self.reads: set[str] = set()
        self.writes: set[str] = set()

    def read(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Name):
            self.reads.add(node.value)
        elif isinstance(node, cst.Attribute):
            path = access_path(node)
            if path is not None:
                self.reads.add(path)
            self._read_parts(node)
        elif isinstance(node, cst.Subscript):
            path = access_path(node)
            if path is not None:
                self.reads.add(path)
            self._read_parts(node)
        elif isinstance(node, cst.Arg):
            # ``keyword=`` names a parameter, it reads nothing.
            self.read(node.value)
        elif isinstance(node, cst.NamedExpr):
            self.write(node.target)
            self.read(node.value)
        elif isinstance(node, cst.Assign):
            for target in node.targets:
                self.write(target.target)
            self.read(node.value)
        elif isinstance(node, cst.AnnAssign):
            # A local variable annotation is never evaluated.
            self.write(node.target)
            if node.value is not None:
                self.read(node.value)
        elif isinstance(node, cst.AugAssign):
            self.read(node.target)
            self.write(node.target)
            self.read(node.value)
        elif isinstance(node, (cst.For, cst.CompFor)):
            # A comprehension's own variable is local to it; reading it is
            # harmless over-approximation, binding it outside would be wrong.
            if isinstance(node, cst.For):
                self.write(node.target)
            else:
                self.read(node.target)
            for child in cst_traversal.children(node):
                if child is not node.target:
                    self.read(child)
        elif isinstance(node, cst.WithItem):
            self.read(node.item)
            if node.asname is not None:
                self.write(node.asname.name)
        elif isinstance(node, cst.Del):
            self.write(node.target)
        else:
            for child in cst_traversal.children(node):
                self.read(child)

    def _read_parts(self, node: cst.Attribute | cst.Subscript) -> None:
        """The reads inside an access chain that are not the chain itself:
        call arguments, subscript indexes."""
        if isinstance(node, cst.Subscript):
            for element in node.slice:
                self.read(element)
        value = node.value
        if isinstance(value, (cst.Attribute, cst.Subscript)):
            self._read_parts(value)
        elif not isinstance(value, cst.Name):
            self.read(value)

    def write(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.writes.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.write(element.value)
        elif isinstance(target, cst.StarredElement):
            self.write(target.value)
        elif isinstance(target, (cst.Attribute, cst.Subscript)):
            path = access_path(target)
            if path is not None:
                self.writes.add(path)
            else:
                # An unknown object changes: count its whole expression.
                self.read(target)
            self._read_parts(target)
        else:
            self.read(target)





def calls_in(node: cst.CSTNode) -> Iterator[cst.Call]:
    if isinstance(node, cst.Call):
        yield node
    for child in cst_traversal.children(node):
        yield from calls_in(child)


def contains(node: cst.CSTNode, kinds: tuple[type[cst.CSTNode], ...]) -> bool:
    if isinstance(node, kinds):
        return True
    return any(contains(child, kinds) for child in cst_traversal.children(node))


def names_in(node: cst.CSTNode) -> Iterator[str]:
    if isinstance(node, cst.Name):
        yield node.value
    for child in cst_traversal.children(node):
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
        handed = (
            arg.value.attr.value if isinstance(arg.value, cst.Attribute)
            else arg.value.value if isinstance(arg.value, cst.Name) else ""
            for arg in call.args
        )
        if _keeps_order(callee_name(call), handed):
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
    stack = list(cst_traversal.children(node))
    while stack:
        child = stack.pop()
        yield child
        stack.extend(cst_traversal.children(child))


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
    if _thread_call(call, scope):
        # Plain functions written to run one after another may not be
        # thread-safe together: two calls into worker threads share a receiver.
        return frozenset({THREADS}) | _root_receiver(func, scope)
    if isinstance(func, cst.Name):
        kind = cst_scope.binding_kind(scope, func.value)
        if kind is None or (kind is cst_scope.ScopeKind.MODULE and _defined_or_imported(scope, func.value)):
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
            for child in cst_traversal.children(node):
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
        isinstance(func, cst.Attribute) and func.attr.value == EXECUTOR_METHOD
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


# ``reads_frame`` (codemods.cst.traversal): a call of ``locals()``, ``eval``...
# reads the caller's variables by name, unseen by the read sets; gathered, it
# runs before the other calls have bound their results, or inside a generator
# expression, whose locals are its own.


# Constructs whose presence in an awaited call makes moving it unsafe: a nested
# await or yield suspends in the middle of building the call, a lambda may run
# at any time, and zero-argument super() needs the function's own frame.
def forbidden() -> tuple[type[cst.CSTNode], ...]:
    return (cst.Await, cst.Yield, cst.Lambda)


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
    # What the statement may do by the project model (None: not known).
    effects: Effects | None = None

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
        if any(effects is not None and effects.unknown for effects in (self.effects, earlier.effects)):
            # The model cannot tell what one of them does: in order.
            return True
        if self.effects is not None and earlier.effects is not None:
            # The model sees both calls to their ends: what each reads and
            # writes decides, not the names of their receivers. Gathered,
            # what the earlier does before it first suspends still runs
            # before the later starts; what it does after may not.
            return gather_conflict(earlier.effects, self.effects)
        # Methods of one object share hidden state, and most drivers allow
        # one operation at a time on a connection. A callee of unknown
        # receiver (``prepare = resp.prepare``, a nested coroutine changing
        # a nonlocal) may change anything the other call reads, whether or
        # not that call has a receiver of its own.
        if "?" in self.receivers or "?" in earlier.receivers:
            return True
        return receivers_meet(self.receivers, self.access, earlier.receivers, earlier.access, related)


def _same_call(one: cst.Call, other: cst.Call) -> bool:
    return _empty_module().code_for_node(one.func) == _empty_module().code_for_node(other.func) and [
        _empty_module().code_for_node(a.value) for a in one.args
    ] == [_empty_module().code_for_node(a.value) for a in other.args] and [
        (a.keyword.value if a.keyword else None, a.star) for a in one.args
    ] == [(a.keyword.value if a.keyword else None, a.star) for a in other.args]


@functools.lru_cache(maxsize=None)
def _empty_module() -> cst.Module:
    return cst.Module(body=[])


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
            targets, accesses(value).read_roots, lambda root: cst_scope.binding_kind(scope, root) not in (cst_scope.ScopeKind.MODULE, None)
        )

    def _part_of(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        """A name bound to a part of a module's object (``device :=
        devices[address]`` of ``from pyinsteon import devices``) is that
        object's: a call on one may change what a call on the other sees.
        (A bare name only: ``self.cls = p.Puppet`` in one method and
        ``self.user = u.User`` in another would join two modules.)"""
        path = access_path(value) if isinstance(value, (cst.Name, cst.Attribute, cst.Subscript)) else None
        if isinstance(target, cst.Name) and path is not None:
            self._join((target.value,), (split_root(path)[0],), lambda root: True)

    def _visit(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Assign):
            targets = frozenset().union(*(accesses_target(t.target) for t in node.targets))
            self._relate(node, targets, node.value)
            for target in node.targets:
                self._part_of(target.target, node.value)
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)) and node.value is not None:
            self._relate(node, accesses_target(node.target), node.value)
            self._part_of(node.target, node.value)
        elif isinstance(node, cst.NamedExpr):
            self._relate(node, accesses_target(node.target), node.value)
            self._part_of(node.target, node.value)
        elif isinstance(node, (cst.For, cst.CompFor)):
            self._relate(node, accesses_target(node.target), node.iter)
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            self._relate(node, accesses_target(node.asname.name), node.item)
        for child in cst_traversal.children(node):
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
    view: ModuleView | None = None,
) -> AwaitStatement | None:
    """The statement as a candidate for gathering, or ``None`` when it is not
    of a gatherable shape, awaits an ordering primitive, or (by the project
    model) awaits a call that never suspends: run at once with others, it
    would gain nothing."""
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
        if any(name in _QUALIFIERS for name in names_in(small.annotation.annotation)):
            # ``x: Final = await f()``: a ``Final`` name must be bound where
            # it is declared; the declaration cannot stand apart.
            return None
        target, value = small.target, small.value
    else:
        return None
    if not isinstance(value, cst.Await) or value.lpar or not isinstance(value.expression, cst.Call):
        return None
    call = value.expression
    if call.lpar or contains(call, forbidden()):
        return None
    if "super" in names_in(call) or cst_traversal.reads_frame(call) or is_ordering(call, scope_of, primitives):
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
        if path != root and cst_scope.binding_kind(scope, root) in (cst_scope.ScopeKind.MODULE, None):
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
    effects = call_effects(view, scope, call, access)
    if (effects is not None and effects.suspends is False) or never_suspends(view, scope, call):
        return None
    return AwaitStatement(line, small, call, target, access, found, effects)


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
            if value.value in nested and cst_scope.binding_kind(scope, value.value) is function.kind:
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
                and owner.kind is cst_scope.ScopeKind.CLASS
                and attr in owner.bindings
            ):
                return True
    return False


def _nested_defs(function: cst.CSTNode | None) -> frozenset[str]:
    found: set[str] = set()

    def walk(node: cst.CSTNode) -> None:
        for child in cst_traversal.children(node):
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
        for child in cst_traversal.children(node):
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
            if root in found or cst_scope.binding_kind(scope, root) in (cst_scope.ScopeKind.MODULE, None) or root in scope.globals:
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
