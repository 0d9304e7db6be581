"""AM201 sequential-awaits: independent awaits in a row, run one after another."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from .analysis.dependence import (
    AstRelated,
    AwaitStatement,
    Related,
    ast_await_statement,
    ast_has_run,
    await_statement,
    ordering_entries,
    runs,
)
from .analysis.gather import (
    GATHER_OPTIONS,
    CLEANUP_REASON,
    STARTUP_REASON,
    ORDER_COMMENT_REASON,
    FUNCTION_ORDER_REASON,
    CleanupDepth,
    FunctionComments,
    comments_speak_of_order,
    gather_call,
    in_startup,
    line_comments,
    module_names,
    no_fix_reason,
    render,
    throwaway_name,
)
from .analysis.names import DEFAULT_ORDERING_PRIMITIVES
from .findings import Safety
from .lazy import lazy_module
from .rule import Rule
from .screen.facts import Facts, awaits

if TYPE_CHECKING:
    import libcst as cst

    from .cst import toolkit
    from .settings import Settings
else:
    cst = lazy_module("libcst")
    toolkit = lazy_module(".cst.toolkit", __package__)


# Comments that mean something to a tool on the line they stand on; moved
# above a new statement they would lose (or change) their meaning.
_PINNED_COMMENTS = ("noqa", "type:", "pragma", "fmt:", "pylint:", "nosec")


class SequentialAwaits(CleanupDepth, Rule):
    """Independent awaits in a row take the sum of their times instead of the longest.

    ## Example

    ```diff
     import asyncio

     async def profile(uid):
    -    user = await get_user(uid)
    -    orders = await get_orders(uid)
    +    user, orders = await asyncio.gather(get_user(uid), get_orders(uid))
    ```

    ## Why is this bad

    `await` waits for the call to finish before the next line
    starts. Five independent requests written one after another take five
    round trips; the same five under `asyncio.gather` take one.

    ## Fix

    A run of two or more consecutive statements `await CALL`,
    `x = await CALL`, `a, b = await CALL` or `x: T = await CALL` whose
    calls do not depend on each other becomes one statement:

    ```python
    user = await get_user(uid)        user, orders = await asyncio.gather(
    orders = await get_orders(uid)  ->     get_user(uid), get_orders(uid))
    ```

    A result nobody used is assigned to a fresh throwaway name; an annotated
    target is declared on its own line first; comments between the statements
    move above the new one; a statement longer than the line length is
    wrapped one argument per line. A run in which a later statement depends
    on an earlier one is split there, and each independent part is gathered.

    ## Fix safety

    Unsafe. The calls now run concurrently: their side effects
    may interleave in another order, and when several fail, the exception
    raised is that of the first to fail, not of the first in the source
    (the others keep running). The arguments of every call are evaluated
    before the first call starts: one that raises (`await g(d["key"])`
    after `await f()`) now raises before `f` has run. Each call runs in a task of its own, with a
    copy of the caller's context: a context variable one call sets is no
    longer seen by the next call or by the caller. A call that never
    suspends gains nothing and the gather adds a point where the caller can
    be cancelled. `sys.exit()` or a `KeyboardInterrupt` inside one of the
    calls no longer reaches the caller as it did: in a task it stops the event
    loop at once, and the caller's `except SystemExit` (or `except
    KeyboardInterrupt`, or `finally`) runs only while the loop shuts down,
    too late to recover: the program still exits, where before the handler
    caught it and the caller went on. Applied only with `--unsafe-fixes`.

    ## How it decides

    By the project model (see the README's "The project model"): for each
    awaited call, the functions it may run across the project (a method
    called on `self` or on a parameter is the class's or any override in
    the project's subclasses), what they read and write, what they do
    before they first suspend, and whether they suspend at all. Two calls
    are gathered when neither writes what the other reads or writes, with
    two allowances that keep the program's order: what a call does before
    it first suspends still runs before the next call starts, and the
    arguments of every call are read before any starts. A method called on
    an object of unknown class (`self.client` bound from a parameter with no
    annotation) may be a library's or that of any project class defining a
    method of its name: it is what all of those may do together. A
    function run in a worker thread (`asyncio.to_thread(fn, *args)`,
    `loop.run_in_executor(None, fn, *args)`) is what `fn` does, all of it
    beside the loop. A call the model cannot see to its end (a callable
    handed in, a class it cannot read, a method name a dozen files define,
    a class inside a function) keeps its place. Calls into libraries are
    judged by their verb (an awaited library function, or one run in a
    thread, reaches the server behind it): reads of a
    device or a server (`get_`, `fetch_`, `list_`) run together; any other
    call may change what the next one reads, unless it names a different
    thing (`delete(where={"id": item.id})` for each item); an add, a create
    or a send keeps its order. A receiver named or declared as one
    connection, stream, socket or serial port takes one operation at a time.
    The first words that make a read (option `read-verbs`) and the words
    of a receiver's name that make it one connection (option
    `single-operation-words`) are the model's, for AM201 and AM202 alike:
    a library whose getters are nouns (`client.prices(ids)`) is read by
    adding them, one whose `session` objects are pools by removing it.

    ## Left alone

    A statement that reads or rebinds a name or attribute path an earlier
    one binds (`self.token = await login()` then `await fetch(self.token)`),
    or an object an earlier one assigns into under another name; ordering
    primitives (`asyncio.sleep`, `asyncio.wait`, `Event.wait`,
    `Lock.acquire`, `Queue.get/put/join`, `drain`, `wait_closed` and the
    trio/anyio equivalents; option `ordering-primitives`); bookkeeping
    calls, console prompts and checks awaited for their own sake, told by a
    word of their name; a call that never suspends (it gains nothing);
    calls containing `await`, `yield`, a lambda, `super()` or `locals()`;
    targets annotated `Final`; statements carrying a tool comment such as
    `# type: ignore`. Where a library's function is awaited (the model does
    not see into it), the rule reads the call as before: two calls on one
    receiver, or sharing a connection-like argument, keep their order.

    Reported without a fix: runs inside a `try`, `with`, `except` or
    `finally` block (when one call fails, gather raises at once while the
    others keep running, so cleanup would run under them), except the body
    of a `try` with no `finally` whose handlers only log, set names and
    raise (`except ApiError as err: raise UpdateFailed from err`), and of
    `async with asyncio.timeout(...)`, which hold no cleanup (a handler
    that returns turns the failure into a result while the other calls
    still run); runs with a
    comment that speaks of gathering or of order, or in a function whose
    comments or docstring ask for order (`# one at a time`, "the requests
    are sent serially"); runs in a function that starts, connects or opens
    something (`async_start`, `connect`: the first calls on a client may
    connect it, lazily, and two at once would connect it twice), or in a
    private helper such a function of its module awaits (`_load_first`),
    or that helper's own helper; runs that assign a name a nested function
    reads;
    modules that import trio or anyio; and modules that import no event
    loop's library in a project that does not run asyncio alone.

    ## Limits

    Only runs in one block of the `async def` itself. Cleanup in a caller
    that would run while a call still runs is not seen. The model reads a
    library's calls by their names: a device that serializes its requests
    without saying so in a name, a type or a comment is taken to answer
    reads at once.
    """

    CODE = "AM201"
    SLUG = "sequential-awaits"
    SAFETY = Safety.UNSAFE
    DESCRIPTION = "independent awaits in a row run one after another; gather them"
    OPTIONS = GATHER_OPTIONS
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

    def __init__(self, context: cst.codemod.CodemodContext) -> None:
        super().__init__(context)
        self._primitives = ordering_entries(self.option("ordering-primitives"))
        self._module: cst.Module | None = None
        self._names: frozenset[str] | None = None
        self._relations: Related | None = None
        self._nested_names: dict[cst.CSTNode, frozenset[str]] = {}
        self._comments = FunctionComments()

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        # Gathered while still inside the block, so that a try or with body
        # is known as one; then the block is left.
        result = self._gather_block(original_node, updated_node)
        super().leave_IndentedBlock(original_node, updated_node)
        return result

    def _gather_block(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        body = original_node.body
        if len(body) < 2:
            return updated_node
        # Only a block of the coroutine itself: its statements are evaluated
        # in the async function's own scope.
        if self.scope(body[0]).kind is not toolkit.ScopeKind.ASYNC_FUNCTION:
            return updated_node
        statements = [await_statement(stmt, self.scope, self._primitives, self.view) for stmt in body]
        if sum(statement is not None for statement in statements) < 2:
            return updated_node
        groups = runs(statements, self._related())
        if not groups:
            return updated_node
        # The replacement is built from the updated statements at the same
        # indexes; if another rule changed the shape of the block, the
        # indexes no longer line up.
        same_shape = len(updated_node.body) == len(body)
        new_body = list(updated_node.body)
        for group in reversed(groups):
            members = [statements[i] for i in group]
            replacement = self._rewrite(members, [updated_node.body[i] for i in group] if same_shape else None)  # type: ignore[arg-type]
            if replacement is not None:
                new_body[group[0] : group[-1] + 1] = replacement
        if not same_shape:
            return updated_node
        return updated_node.with_changes(body=new_body)

    # -- one group ----------------------------------------------------------

    def _rewrite(
        self,
        members: list[AwaitStatement],
        updated: list[cst.BaseStatement] | None,
    ) -> list[cst.BaseStatement] | None:
        scope = self.scope(members[0].line)
        message = (
            f"{len(members)} independent awaits run one after another; "
            "`asyncio.gather()` would run them concurrently"
        )
        alias = scope.module_alias("asyncio")
        reason = no_fix_reason(scope, self.view, self.settings.async_backend)
        if reason:
            pass
        elif self.in_cleanup_block:
            reason = CLEANUP_REASON
        elif comments_speak_of_order(c for m in members for c in line_comments(m.line)):
            reason = ORDER_COMMENT_REASON
        elif self._comments.ask_for_order(scope.function().node):
            reason = FUNCTION_ORDER_REASON
        elif in_startup(scope, self.view):
            reason = STARTUP_REASON
        elif any(_pinned(m.line) for m in members):
            reason = "a statement carries a comment that must stay on its line"
        elif self._closure_reads(scope.node) & frozenset().union(*(m.access.write_roots for m in members)):
            # ``def user(): return config["user"]`` then ``config = await
            # load_config()`` and ``await greet(user())``: gathered, the
            # closure runs before the name is assigned.
            reason = "a nested function, lambda or generator expression reads a name the run assigns"
        elif updated is None or not all(
            isinstance(u, cst.SimpleStatementLine) and len(u.body) == 1 for u in updated
        ):
            reason = "another fix changed these statements"
        if reason:
            message += f" (not fixed: {reason})"
        needs_import = "asyncio" if alias is not None and alias[1] else None
        if not self.report(members[0].small, message, fixable=not reason, needs_import=needs_import):
            return None
        assert alias is not None and updated is not None
        name = alias[0]
        if needs_import:
            toolkit.AddImportsVisitor.add_needed_import(self.context, needs_import)
        lines = [u for u in updated if isinstance(u, cst.SimpleStatementLine)]
        return self._build(members, lines, name)

    def _build(
        self,
        members: list[AwaitStatement],
        lines: list[cst.SimpleStatementLine],
        alias: str,
    ) -> list[cst.BaseStatement]:
        calls: list[cst.Call] = []
        targets: list[cst.BaseExpression | None] = []
        declarations: list[cst.SimpleStatementLine] = []
        for line in lines:
            small = line.body[0]
            if isinstance(small, cst.Expr):
                value, target = small.value, None
            elif isinstance(small, cst.Assign):
                value, target = small.value, small.targets[0].target
            else:
                assert isinstance(small, cst.AnnAssign) and small.value is not None
                value, target = small.value, small.target
                # The annotation stays, declared before the combined assignment.
                declarations.append(
                    cst.SimpleStatementLine(
                        body=[small.with_changes(value=None, equal=cst.MaybeSentinel.DEFAULT)]
                    )
                )
            assert isinstance(value, cst.Await) and isinstance(value.expression, cst.Call)
            calls.append(value.expression)
            targets.append(target)

        leading = list(lines[0].leading_lines)
        moved: list[cst.EmptyLine] = []
        for line in lines[1:]:
            moved.extend(line.leading_lines)
        # The comment at the end of each statement's line ends the line of
        # its call in the gather (one line each), as a reader left it.
        comments = [line.trailing_whitespace.comment for line in lines]
        commented = any(comment is not None for comment in comments)
        trailing = lines[0].trailing_whitespace if not commented else cst.TrailingWhitespace(
            newline=lines[0].trailing_whitespace.newline
        )

        target: cst.BaseExpression | None = None
        if any(t is not None for t in targets):
            spare = throwaway_name(self._taken())
            elements = []
            for t in targets:
                if t is None:
                    t = cst.Name(spare)
                elif isinstance(t, (cst.Tuple, cst.List)):
                    t = t.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]) if isinstance(t, cst.Tuple) else t
                elements.append(cst.Element(value=t))
            target = cst.Tuple(elements=elements, lpar=[], rpar=[])

        column = self.get_metadata(toolkit.PositionProvider, members[0].small).start.column
        statement = self._statement(alias, calls, target, trailing, wrap=False)
        text = render(statement.with_changes(leading_lines=[])).rstrip("\r\n")
        if commented or "\n" in text or column + len(text) > self.settings.line_length:
            statement = self._statement(alias, calls, target, trailing, wrap=True, comments=comments)

        if declarations:
            declarations[0] = declarations[0].with_changes(leading_lines=leading)
            return [*declarations, statement.with_changes(leading_lines=moved)]
        return [statement.with_changes(leading_lines=leading + moved)]

    @staticmethod
    def _statement(
        alias: str,
        calls: list[cst.Call],
        target: cst.BaseExpression | None,
        trailing: cst.TrailingWhitespace,
        *,
        wrap: bool,
        comments: Sequence[cst.Comment | None] = (),
    ) -> cst.SimpleStatementLine:
        args = [cst.Arg(value=call) for call in calls]
        value = cst.Await(expression=gather_call(alias, args, wrap=wrap, comments=comments))
        small: cst.BaseSmallStatement
        if target is None:
            small = cst.Expr(value=value)
        else:
            small = cst.Assign(targets=[cst.AssignTarget(target=target)], value=value)
        return cst.SimpleStatementLine(body=[small], trailing_whitespace=trailing)

    def _related(self) -> Related:
        # The whole module: a nested coroutine's receivers are often
        # variables of the function around it (``power = Power(api)``).
        if self._relations is None:
            assert self._module is not None
            self._relations = Related(self._module, self.scope)
        return self._relations

    def _closure_reads(self, function: cst.CSTNode | None) -> frozenset[str]:
        """The names used inside the functions, lambdas, classes and
        generator expressions nested in ``function`` (which may run between
        the statements of a run)."""
        if function is None:
            return frozenset()
        known = self._nested_names.get(function)
        if known is None:
            found: set[str] = set()

            def walk(node: cst.CSTNode, nested: bool) -> None:
                for child in toolkit.children(node):
                    # A generator expression runs its body when iterated,
                    # which may be during a later call (``consume(gen)``).
                    inner = nested or isinstance(child, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.GeneratorExp))
                    if inner and isinstance(child, cst.Name):
                        found.add(child.value)
                    walk(child, inner)

            walk(function, False)
            known = self._nested_names[function] = frozenset(found)
        return known

    def _taken(self) -> frozenset[str]:
        if self._names is None:
            assert self._module is not None
            self._names = module_names(self._module)
        return self._names


def _pinned(line: cst.SimpleStatementLine) -> bool:
    comment = line.trailing_whitespace.comment
    return comment is not None and any(word in comment.value for word in _PINNED_COMMENTS)
