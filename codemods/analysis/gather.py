"""Writing an ``asyncio.gather(...)``: what AM201 (sequential-awaits) and
AM202 (await-in-loop) share once they know which calls may run at once (see
:mod:`.dependence`), and the guards on where a gather may stand.

Importing this module imports no LibCST (see :mod:`codemods.lazy`).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

from ..lazy import lazy_module
from ..model.project import LOG_METHODS, READ_VERBS, SINGLE_OPERATION_WORDS
from .dependence import accesses, brings_up, call_effects, contains, names_in
from .event_loop import module_event_loop, runs_elsewhere
from .names import DEFAULT_ORDERING_PRIMITIVES

if TYPE_CHECKING:
    import libcst as cst

    from ..cst.scope import Scope
    from ..model.callers import CallSite
    from ..model.project import ModuleView
else:
    cst = lazy_module("libcst")
cst_scope = lazy_module("..cst.scope", __package__)
cst_traversal = lazy_module("..cst.traversal", __package__)

#: The options of AM201 and AM202: what orders the calls, and how the
#: project model reads a library's calls (a read by its first word; one
#: connection or stream by a word of the receiver's name).
GATHER_OPTIONS = {
    "ordering-primitives": DEFAULT_ORDERING_PRIMITIVES,
    "read-verbs": tuple(sorted(READ_VERBS)),
    "single-operation-words": tuple(sorted(SINGLE_OPERATION_WORDS)),
}


def gather_call(
    alias: str,
    args: Sequence[cst.Arg],
    *,
    wrap: bool,
    comments: Sequence[cst.Comment | None] = (),
) -> cst.Call:
    """``alias.gather(a, b)``, or with each argument on its own line, where
    ``comments`` (one per argument, wrapped only) end their lines."""
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

    def newline(indent: str, comment: cst.Comment | None = None) -> cst.ParenthesizedWhitespace:
        return cst.ParenthesizedWhitespace(
            first_line=cst.TrailingWhitespace(
                whitespace=cst.SimpleWhitespace("  " if comment is not None else ""), comment=comment
            ),
            empty_lines=[],
            indent=True,
            last_line=cst.SimpleWhitespace(indent),
        )

    comments = list(comments) or [None] * len(args)

    last = len(args) - 1
    return cst.Call(
        func=func,
        whitespace_before_args=newline("    "),
        args=[
            arg.with_changes(
                value=indented(arg.value),
                comma=cst.Comma(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=newline("" if i == last else "    ", comments[i]),
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


@functools.lru_cache(maxsize=None)
def _indent_class() -> type[cst.CSTTransformer]:
    """The transformer :func:`indented` runs (made on first use, as the
    LibCST classes it derives from are imported only then)."""

    class Indent(cst_traversal.AttributeHooksByTable, cst.CSTTransformer):
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

    return Indent


def indented(node: cst.BaseExpression) -> cst.BaseExpression:
    result = node.visit(_indent_class()())
    assert isinstance(result, cst.BaseExpression)
    return result


def render(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def no_fix_reason(scope: Scope, view: ModuleView | None = None, backend: str = "auto") -> str:
    """Why a gather cannot be written here, or ``""``.

    A module that imports no event loop's library may well run under trio
    (httpx, httpcore, starlette and anyio's own code reach their event loop
    only through relative imports): adding ``import asyncio`` and a gather
    there would tie it to one event loop, unless the project it belongs to
    runs asyncio alone (see :mod:`.event_loop`).
    """
    loop = module_event_loop(scope, view, backend)
    if loop is not None and loop.library in ("anyio", "trio"):
        return "gather is asyncio's; in trio or anyio code use a nursery or task group"
    if loop is not None and loop.library != "asyncio":
        return runs_elsewhere(loop.library, "")
    alias = scope.module_alias("asyncio")
    if alias is None and scope.lookup("asyncio") == "asyncio":
        return "`asyncio` is imported only under a condition here"
    if alias is None:
        return "the name `asyncio` is taken here"
    if alias[1] and loop is None:
        return "the module does not import asyncio, and may run under another event loop"
    return ""


def in_startup(scope: Scope, view: ModuleView | None = None) -> bool:
    """Whether the code stands in a function that starts, connects or opens
    something (see :func:`.dependence.brings_up`), or in a function nested
    in one, or in a function of the project that such a function runs as a
    step of its own (awaits it, or hands its coroutine to ``wait_for``,
    ``gather``, ``shield`` or a task), or in one such a step runs, as the
    project model resolves the calls: a library's client it reaches may
    connect on its first call then, and two first calls would connect
    twice."""
    function = scope.function()
    node = function.node
    if node is None or not isinstance(node, cst.FunctionDef):
        return False
    outer: Scope | None = function
    while outer is not None and outer.node is not None:
        if isinstance(outer.node, cst.FunctionDef) and brings_up(outer.node.name.value):
            return True
        outer = outer.parent.function() if outer.parent is not None else None
    qualname = cst_scope.function_qualname(function) if view is not None else None
    if view is None or qualname is None:
        return False

    def step(site: CallSite) -> bool:
        return site.maybe is None and site.caller.is_async and _run_as_step(site)

    # (A public function is a way in for code outside the project too; a
    # start of the project that runs it as a step is one of its callers
    # all the same, and the library it reaches may connect lazily then. A
    # private one may be imported by another module.)
    steps = [(view.module, qualname)]
    for site in view.callers.up(view.module, qualname, step):
        if step(site) and brings_up(site.caller.qualname.rsplit(".", 1)[-1]):
            return True
        if step(site):
            steps.append((site.module, site.caller.qualname))
    # A step handed to a start uncalled (``await self._run_step(self._load)``,
    # ``functools.partial(load, client)``): what it is handed to runs it.
    return any(_handed_to_a_start(view, module, name) for module, name in steps)


def _handed_to_a_start(view: ModuleView, module: str, qualname: str) -> bool:
    """Whether a function of the project that starts, connects or opens
    something hands the function ``qualname`` of ``module`` on, uncalled,
    as an argument of one of its calls (``self._load``, ``load``), as the
    project model resolves that name there (a method of an object of
    unknown class handed on, ``device.async_update``, is not taken for it:
    most such are callbacks registered for later)."""
    name = qualname.rsplit(".", 1)[-1]
    if "<locals>" in qualname:
        return False
    word = name.encode()
    project = view.project
    for where in view.callers.scan(f"word:{name}", rb"\b" + re.escape(word) + rb"\b", (word,)):
        facts = project.facts(where)
        if facts is None:
            continue
        for function in facts.functions.values():
            if not function.is_async or not brings_up(function.qualname.rsplit(".", 1)[-1]):
                continue
            for call in function.calls:
                for given in (*call.args, *call.kwargs.values()):
                    if given is None or not (given == name or given.endswith("." + name)):
                        continue
                    # (As if it were called there: which function it names.)
                    named = project.targets(where, function, dataclasses.replace(call, func=given, args=[], kwargs={}))
                    if named is not None and any((t.module, t.qualname) == (module, qualname) for t in named):
                        return True
    return False


# What a coroutine handed to runs as the caller's own step (it is awaited
# there, or runs beside the caller from then on).
_STEP_RUNNERS = frozenset({"wait_for", "gather", "shield", "create_task", "ensure_future"})


def _run_as_step(site: CallSite) -> bool:
    return site.call.awaited or site.call.outer.rsplit(".", 1)[-1] in _STEP_RUNNERS


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

    Two blocks hold no cleanup: the body of a ``try`` with no ``finally``
    whose every handler leaves the function with no step of its own (it
    logs, sets a flag, and raises: ``except ApiError as err: raise
    UpdateFailed from err``), as if no handler were there; and the
    body of a ``with`` of timeouts alone (``async with asyncio.timeout(10):``),
    whose exit cancels the gather, and the gather its calls.
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
        if isinstance(node, cst.With):
            if not all(self._is_timeout(item.item) and item.asname is None for item in node.items):
                self._guarded_blocks.add(id(node.body))
        elif node.finalbody is not None or not all(_leaves_plainly(handler.body, self._quiet) for handler in node.handlers):
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

    def _is_timeout(self, item: cst.BaseExpression) -> bool:
        """``asyncio.timeout(10)``, ``async_timeout.timeout(5)``, by what the
        names are bound to (not ``import guard as async_timeout``)."""
        if not isinstance(item, cst.Call):
            return False
        return self.scope(item).qualified_name(item.func) in _TIMEOUTS  # type: ignore[attr-defined]

    def _quiet(self, call: cst.Call) -> bool:
        """Whether a call in a handler (an exception made, a line logged)
        changes nothing the gathered calls may use: the project model sees
        it change nothing shared (a library's class or logger: nothing the
        project holds), and its arguments call nothing but builtins that
        make text or numbers."""
        if not _calls_only_plain(call.args) or contains(call.func, (cst.Call,)):
            return False
        view = getattr(self, "view", None)
        effects = call_effects(view, self.scope(call), call, accesses(call))  # type: ignore[attr-defined]
        if effects is None:
            return True
        return not effects.unknown and not effects.writes

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


# The context managers that only bound how long their body may take.
_TIMEOUTS = frozenset({"asyncio.timeout", "asyncio.timeout_at", "async_timeout.timeout", "async_timeout.timeout_at"})


def _leaves_plainly(block: cst.BaseSuite, quiet: Callable[[cst.Call], bool]) -> bool:
    """Whether an ``except`` block leaves the function as the exception
    would without it, with no step that could clean up: its statements
    log, assign what no call makes, or pass, and its last raises (no
    ``await`` anywhere)."""
    if not isinstance(block, cst.IndentedBlock) or not block.body:
        return False
    smalls: list[cst.BaseSmallStatement] = []
    for statement in block.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        smalls.extend(statement.body)
    if not isinstance(smalls[-1], cst.Raise):
        # (A handler that returns turns the failure into a result while the
        # other calls still run, their changes unseen by the caller.)
        return False
    for small in smalls:
        if contains(small, (cst.Await, cst.Lambda, cst.NamedExpr, cst.Yield)):
            return False
        if isinstance(small, cst.Pass):
            continue
        if isinstance(small, cst.Raise):
            if small.cause is not None and contains(small.cause.item, (cst.Call,)):
                return False  # ``raise X from close()``
            if small.exc is not None and not (
                quiet(small.exc) if isinstance(small.exc, cst.Call) else not contains(small.exc, (cst.Call,))
            ):
                return False
            continue
        if isinstance(small, cst.Return):
            if small.value is not None and contains(small.value, (cst.Call,)):
                return False  # a call on the way out may close what the others use
            continue
        if isinstance(small, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
            # A local set (``errors["base"] = "x"``), not an object the
            # other calls may use (``api.token = None``).
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
            if small.value is None or contains(small.value, (cst.Call,)) or not all(map(_local_target, targets)):
                return False
            continue
        if isinstance(small, cst.Expr) and _is_log_call(small.value) and quiet(small.value):  # type: ignore[arg-type]
            continue
        return False
    return True


# Builtins that only turn a value into text or a number.
_PLAIN_BUILTINS = frozenset({"str", "repr", "int", "float", "len", "type", "format"})


def _local_target(target: cst.BaseExpression) -> bool:
    """A name, or an item of a name (``errors["base"]``): not an attribute."""
    if isinstance(target, cst.Subscript):
        target = target.value
    return isinstance(target, cst.Name)


def _calls_only_plain(args: Sequence[cst.Arg]) -> bool:
    """Whether the arguments call nothing but the builtins that make text
    or numbers."""
    return all(
        not isinstance(inner, cst.Call)
        or (isinstance(inner.func, cst.Name) and inner.func.value in _PLAIN_BUILTINS)
        for arg in args
        for inner in cst_traversal.descendants(arg)
    )


def _is_log_call(node: cst.BaseExpression) -> bool:
    """``_LOGGER.warning(...)``, ``self.logger.exception(...)``: a logger's
    method, on a receiver whose last name says logger."""
    if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
        return False
    if node.func.attr.value not in LOG_METHODS:
        return False
    receiver = node.func.value
    last = receiver.attr.value if isinstance(receiver, cst.Attribute) else receiver.value if isinstance(receiver, cst.Name) else ""
    return last.lower().lstrip("_") in ("logger", "log", "logging", "_logger")


# A comment on the statements that speaks of gathering or of order ("No
# gather here because the overhead is not worth it", "one at a time: the
# server rate-limits us", "keep the order") means the author weighed running
# the calls at once and chose not to, often for a reason the code does not
# show. Rewritten, the comment would stand above a gather it argues against.
# A comment that asks for order, or against running things at once: it
# withholds every gather of its function (``# Avoid gather here since it
# will be I/O bound anyways`` stood three lines below the run it meant).
_AGAINST = re.compile(
    r"\b(?:avoid\w*|no|not|don'?t|do not|never|without|instead of|rather than|cannot|can'?t)\b"
    r"[^.;:]{0,40}?\b(?:gather\w*|concurren\w*|parallel\w*|simultaneous\w*|at (?:the same|one) time)"
    r"|\bserial(?:ly|i[sz]ed?)?\b|\bsequential(?:ly)?\b|\bone at a time\b|\bone by one\b"
    r"|\bin (?:this|that|the same|the right|strict|exactly this) order\b|\border (?:matters|is important)\b"
    r"|\bkeep(?:s|ing)? (?:the |their |its |this )?order\b|\bin turn\b"
    r"|\bmust\b[^.;:]{0,40}?\b(?:before|after|first|last)\b|\b(?:first|last)\b[^.;:]{0,40}?\b(?:before|after)\b",
    re.IGNORECASE,
)
# A comment at the run itself that speaks of gathering or of order at all,
# unless it says the steps are independent (``# Three independent queries,
# awaited one after the other``: it describes the pitfall).
_SPEAKS_OF_ORDER = re.compile(
    r"gather|concurren|\bparallel|\bone after (?:the )?(?:other|another)\b|\bin (?:this |that |the same )?order\b(?! to\b)",
    re.IGNORECASE,
)
_INDEPENDENT = re.compile(r"\bindependent(?:ly)?\b", re.IGNORECASE)

ORDER_COMMENT_REASON = "a comment here speaks of gathering or of order"
FUNCTION_ORDER_REASON = (
    "a comment or the docstring of this function asks for order, or against running things at once"
)


def comments_speak_of_order(comments: Iterable[cst.Comment | None]) -> bool:
    """Whether the comments of a run (its lines, the lines above it) ask for
    its order or speak of gathering without calling its steps independent."""
    for comment in comments:
        if comment is None:
            continue
        text = comment.value
        if _AGAINST.search(text) or (_SPEAKS_OF_ORDER.search(text) and not _INDEPENDENT.search(text)):
            return True
    return False


def comments_ask_for_order(comments: Iterable[cst.Comment | None]) -> bool:
    """Whether a comment elsewhere in the function asks for order or against
    running things at once."""
    return any(comment is not None and _AGAINST.search(comment.value) for comment in comments)


class FunctionComments:
    """Whether a comment anywhere in a function, or its docstring, asks for
    order (see :func:`comments_ask_for_order`): "Rainbird devices can only
    reliably handle a single request at a time, so the requests are sent
    serially." Found once per function."""

    def __init__(self) -> None:
        self._known: dict[int, bool] = {}

    def ask_for_order(self, function: cst.CSTNode | None) -> bool:
        if function is None:
            return False
        known = self._known.get(id(function))
        if known is None:
            comments = (node for node in cst_traversal.descendants(function) if isinstance(node, cst.Comment))
            docstring = function.get_docstring() if isinstance(function, cst.FunctionDef) else None
            known = self._known[id(function)] = bool(docstring and _AGAINST.search(docstring)) or comments_ask_for_order(
                comments
            )
        return known


def line_comments(line: cst.BaseStatement) -> Iterator[cst.Comment | None]:
    """The comments above a statement, and the one at the end of its line."""
    for empty in line.leading_lines:
        yield empty.comment
    if isinstance(line, cst.SimpleStatementLine):
        yield line.trailing_whitespace.comment


STARTUP_REASON = "the function starts or connects something, and its steps bring it up in order"
CLEANUP_REASON = (
    "inside a try, except, finally or with block: cleanup could run while the"
    " other calls still run, and cleanup steps keep their order"
)
