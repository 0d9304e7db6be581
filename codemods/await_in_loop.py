"""AM202 await-in-loop: one independent awaited call per item, one after another."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Iterator, Sequence

from .analysis.dependence import (
    AST_FORBIDDEN,
    Related,
    access_path,
    accesses,
    ast_accesses,
    ast_call_subject,
    ast_callee_name,
    ast_callee_receivers,
    ast_independent_call,
    ast_modelled,
    ast_receivers,
    await_statement,
    call_effects,
    never_suspends,
    call_subjects,
    callee_name,
    callee_receivers,
    contains,
    forbidden,
    is_ordering,
    is_precondition,
    names_in,
    ordering_entries,
    per_item,
    receivers,
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
    no_fix_reason,
    render,
)
from .analysis.names import DEFAULT_ORDERING_PRIMITIVES
from .findings import Safety
from .lazy import lazy_module
from .model.facts import split_root
from .rule import Rule
from .screen.facts import Facts, awaits
from .screen.facts import contains as screen_contains

if TYPE_CHECKING:
    import libcst as cst

    from .cst import toolkit
    from .cst.scope import Scope
    from .settings import Settings
else:
    cst = lazy_module("libcst")
    toolkit = lazy_module(".cst.toolkit", __package__)


class AwaitInLoop(CleanupDepth, Rule):
    """A loop that awaits one independent call per item runs them one at a time.

    ## Example

    ```diff
     import asyncio

     async def fetch_all(urls):
         results = []
    -    for url in urls:
    -        results.append(await fetch(url))
    +    results.extend(await asyncio.gather(*(fetch(url) for url in urls)))
    -    names = [await get_name(u) for u in urls]
    +    names = await asyncio.gather(*(get_name(u) for u in urls))
    -    for u in urls:
    -        await notify(u)
    +    await asyncio.gather(*(notify(u) for u in urls))
    ```

    ## Why is this bad

    `for url in urls: await fetch(url)` waits for each request
    before starting the next: n round trips instead of one.

    ## Fix

    Three shapes, and only these:

    ```python
    for url in urls:                       results.extend(await asyncio.gather(
        results.append(await fetch(url)) ->    *(fetch(url) for url in urls)))
    [await fetch(u) for u in urls]       ->  await asyncio.gather(*(fetch(u) for u in urls))
    for u in urls:                       ->  await asyncio.gather(*(notify(u) for u in urls))
        await notify(u)
    ```

    The results keep the order of the items.

    ## Everything at once

    `gather` starts every call before any finishes:
    over a large iterable that means thousands of connections or requests at
    the same moment, which a server may refuse or rate-limit. Bound it with a
    semaphore:

    ```python
    limit = asyncio.Semaphore(10)

    async def bounded(url):
        async with limit:
            return await fetch(url)

    results = await asyncio.gather(*(bounded(u) for u in urls))
    ```

    ## Fix safety

    Unsafe. The calls run concurrently: their side effects may
    interleave, the iterable is consumed before the first call runs, and when
    one call fails the others keep running and nothing is appended. Each
    call runs in a task with a copy of the caller's context, so a context
    variable a call sets is not seen by the caller. `sys.exit()` or a
    `KeyboardInterrupt` inside one of the calls no longer reaches the caller
    as it did: in a task it stops the event loop at once, and the caller's
    `except SystemExit` (or `except KeyboardInterrupt`, or `finally`) runs
    only while the loop shuts down, too late to recover: the program still
    exits, where before the handler caught it and the loop went on. Applied
    only with `--unsafe-fixes`.

    ## How it decides

    By the project model, as AM201 does (see the README's "The project
    model"): each item's call may run beside the others when what it
    writes is its own item's (the item, or an attribute of it), it holds no
    lock the items share, and it reads nothing another item's call writes.
    A call that changes its item after it suspends needs the items shown to
    be different objects (a set, a mapping's keys): a list may hold one
    object twice, whose two calls would change it at once.
    A library's call about each item by a verb that acts on one thing
    (`get`, `update`, `delete`) reaches that item's part of the remote
    side; an add, a create or a send keeps its order. A call the model
    cannot see to its end keeps the loop as it is. Where the awaited call
    is a library's function, the rule reads the call itself: a method of a
    shared object (`conn.execute(q)`), a method of the items or the items
    themselves (`await hook(response)`), a connection-like argument passed
    to every call, or a first argument that is one object for every item,
    keeps the order.

    ## Left alone

    A loop whose body is more than that one statement, with `break`,
    `continue` or `else`; `async for`; a call that reads the list being
    appended to (also under another name), a call given what the iterable
    is made of, or anything else the loop changes (`acc = await step(acc,
    i)`); bookkeeping calls, console prompts, and checks per item whose
    result is unused; ordering primitives (option `ordering-primitives`);
    a call that never suspends; a call containing `await`, `yield`, a
    lambda, `super()` or `locals()`; a comprehension in an `f"{...=}"`
    field, whose text is printed.

    Reported without a fix: a loop variable read after the loop, in a loop
    around it or by a generator expression made before it, or declared
    `global` or `nonlocal`, or in a coroutine that calls `locals()`,
    `vars()`, `eval` or `exec`; an `append` to a name not shown to hold a
    list created as `[]` earlier in the same block; comments inside the
    loop; a comment above it, or the function's docstring, that speaks of
    gathering or of order; a rewrite that would stand next to an
    independent await statement (AM201 would then find a new run); a loop
    inside a `try`, `with`, `except` or `finally` block that may hold
    cleanup (as AM201 tells it), or in a function that starts or connects
    something (or its private helper, as AM201 tells it); a command per item through one shared client (`await
    modem.delete_sms(sms_id)` for each id: what the device takes at a time
    is not seen); a module that
    imports trio or anyio, or imports no event loop's library in a project
    that does not run asyncio alone.

    A call may change shared state before it first suspends (an append to
    a shared log): the gather starts the calls in the items' order, each
    running to its first suspension before the next starts, so those
    changes keep their order, unless a call reads that state after it
    suspends or an item's arguments read it.

    ## Limits

    Cleanup in a caller that would run while a call still runs is not
    seen.
    """

    CODE = "AM202"
    SLUG = "await-in-loop"
    SAFETY = Safety.UNSAFE
    DESCRIPTION = "a loop awaits one independent call per item; gather them"
    OPTIONS = GATHER_OPTIONS
    PREFILTER = (b"await",)

    @classmethod
    def prefilter(cls, data: bytes) -> bool:
        # A for loop or a comprehension, and an await in it.
        return b"for" in data and awaits(data)

    @classmethod
    def screen(cls, facts: Facts, settings: Settings) -> bool:
        primitives = ordering_entries(settings.options.get("ordering-primitives", DEFAULT_ORDERING_PRIMITIVES))
        for loop, ctx in facts.loops:
            if isinstance(loop, ast.For):
                looped = _ast_for_call(loop)
                if looped is None:
                    continue
                call, appended = looped
                target, iterable = loop.target, loop.iter
            else:
                generators = loop.generators
                if len(generators) != 1 or generators[0].is_async or generators[0].ifs:
                    continue
                if not (isinstance(loop.elt, ast.Await) and isinstance(loop.elt.value, ast.Call)):
                    continue
                call, appended = loop.elt.value, None
                target, iterable = generators[0].target, generators[0].iter
                if screen_contains(iterable, (ast.NamedExpr,)):
                    continue
            names = _ast_target_names(target)
            if names is None or screen_contains(iterable, AST_FORBIDDEN):
                continue
            if screen_contains(call, (ast.NamedExpr,)) or not ast_independent_call(call, facts, primitives):
                continue
            # Shared receivers, or a call working on one object for every
            # item, are left alone unless the project model sees the call.
            shared = bool(ast_callee_receivers(call, facts, ctx)) or not ast_receivers(call, facts, ctx) <= names
            if appended is not None:
                reads = ast_accesses(call).read_roots | ast_accesses(iterable).read_roots
                if appended in reads or appended in names:
                    continue
            elif isinstance(loop, ast.For):
                # A check per item is left alone (see leave_For).
                if is_precondition(ast_callee_name(call)):
                    continue
                subject = ast_call_subject(call, facts)
                shared = shared or (subject is not None and subject not in names)
            # Where the project model sees the call, LibCST decides by it;
            # asked last, as asking may read the facts of many modules.
            if shared and not ast_modelled(facts, ctx, call, ast_accesses(call), items=names):
                continue
            return True
        return False

    def __init__(self, context: cst.codemod.CodemodContext) -> None:
        super().__init__(context)
        self._primitives = ordering_entries(self.option("ordering-primitives"))
        self._comments = FunctionComments()
        # Each statement's block and index in it: what the loop itself cannot
        # see (which names hold a fresh list, whether a neighbour is an await
        # statement the result could be gathered with) is worked out from there.
        self._places: dict[cst.CSTNode, tuple[Sequence[cst.BaseStatement], int]] = {}
        self._statements: list[cst.BaseStatement] = []
        self._primaries: set[cst.CSTNode] = set()
        # How many f-strings the current node is inside: a replacement field
        # may not span lines before Python 3.12.
        self._fstrings = 0
        # How many ``f"{expr=}"`` fields it is inside: their text is printed.
        self._echoed = 0
        self._module: cst.Module | None = None
        self._related: Related | None = None

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node

    # -- context ------------------------------------------------------------

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        super().visit_IndentedBlock(node)
        body = node.body
        for index, stmt in enumerate(body):
            self._places[stmt] = (body, index)

    def _neighbours(self, statement: cst.CSTNode) -> list[cst.BaseStatement]:
        if statement not in self._places:
            return []
        body, index = self._places[statement]
        return [body[i] for i in (index - 1, index + 1) if 0 <= i < len(body)]

    def _fresh_lists(self, statement: cst.CSTNode) -> frozenset[str]:
        """The names that hold a list created as ``[]`` earlier in the block
        of ``statement`` and not written since (worked out only for the
        loops that need it: the read/write sets cost a walk of the block)."""
        if statement not in self._places:
            return frozenset()
        body, index = self._places[statement]
        fresh: set[str] = set()
        for stmt in body[:index]:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    fresh -= accesses(small).writes
                    name = _fresh_list_name(small)
                    if name is not None:
                        fresh.add(name)
            else:
                # A compound statement may rebind anything.
                fresh -= accesses(stmt).writes
        return frozenset(fresh)

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._statements.append(node)

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        self._statements.pop()
        return updated_node

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._primaries.add(node.value)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        self._primaries.add(node.value)

    def visit_Call(self, node: cst.Call) -> None:
        self._primaries.add(node.func)

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self._fstrings += 1

    def leave_FormattedString(
        self, original_node: cst.FormattedString, updated_node: cst.FormattedString
    ) -> cst.FormattedString:
        self._fstrings -= 1
        return updated_node

    def visit_FormattedStringExpression(self, node: cst.FormattedStringExpression) -> None:
        if node.equal is not None:
            self._echoed += 1

    def leave_FormattedStringExpression(
        self, original_node: cst.FormattedStringExpression, updated_node: cst.FormattedStringExpression
    ) -> cst.FormattedStringExpression:
        if original_node.equal is not None:
            self._echoed -= 1
        return updated_node

    # -- for loops ----------------------------------------------------------

    def leave_For(self, original_node: cst.For, updated_node: cst.For) -> cst.BaseStatement:
        loop = original_node
        if self.scope(loop).kind is not toolkit.ScopeKind.ASYNC_FUNCTION or loop.asynchronous:
            return updated_node
        if loop.orelse is not None or not isinstance(loop.body, cst.IndentedBlock):
            return updated_node
        if len(loop.body.body) != 1 or not isinstance(loop.body.body[0], cst.SimpleStatementLine):
            return updated_node
        line = loop.body.body[0]
        if len(line.body) != 1 or not isinstance(line.body[0], cst.Expr):
            return updated_node
        expr = line.body[0].value
        appended: str | None = None
        if isinstance(expr, cst.Await):
            awaited = expr
        elif (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == "append"
            and isinstance(expr.func.value, cst.Name)
            and len(expr.args) == 1
            and not expr.args[0].star
            and expr.args[0].keyword is None
            and isinstance(expr.args[0].value, cst.Await)
        ):
            appended = expr.func.value.value
            awaited = expr.args[0].value
        else:
            return updated_node
        call = awaited.expression
        if awaited.lpar or not isinstance(call, cst.Call) or call.lpar:
            return updated_node
        loop_names = _target_names(loop.target)
        if loop_names is None or not self._independent(call, loop_names, self._distinct(loop.iter)):
            return updated_node
        if _given_the_iterable(call, loop.iter, loop_names, self._relations()):
            return updated_node
        if appended is None:
            if is_precondition(callee_name(call)):
                # A check per item, its result unused, stops at the first
                # item that fails it: gathered, the checks of the others run on.
                return updated_node
            if self._model_verdict(call, loop_names, self._distinct(loop.iter)) is None and call_subjects(call, self.scope(call)) - loop_names:
                # Awaited for its effect, each call works on its first
                # argument; when that is one object for every item
                # (``await update_pipeline(hass, pipeline)``), the calls
                # change it one after another.
                return updated_node
        # Report only what the rule could fix apart from the reasons below.
        reason = ""
        reads = accesses(call).read_roots | accesses(loop.iter).read_roots
        if contains(loop.iter, forbidden()):
            return updated_node
        if appended is not None:
            if appended in reads or appended in loop_names:
                return updated_node  # the loop reads what it builds
            related = self._relations()
            if any(related.same(appended, name) for name in reads):
                # ``seen = results`` or ``box.items = results`` before: the
                # call reads the list it builds under another name.
                return updated_node
            scope = self.scope(loop)
            if appended in scope.globals | scope.nonlocals or self._closure_reads(loop, appended):
                # A global or nonlocal list, or one a nested function or
                # lambda reads (``def progress(): return len(results)``
                # passed to each call): any call may read it, and gathered,
                # every call would see it empty.
                return updated_node
            if appended not in self._fresh_lists(loop):
                reason = f"`{appended}` is not shown to be a list"
        scope = self.scope(loop)
        if not reason and loop_names & (scope.globals | scope.nonlocals):
            # The loop assigns a global or a nonlocal, which others read;
            # the generator's variable is its own.
            reason = "the loop variable is declared global or nonlocal"
        if not reason and self._read_after(loop, loop_names):
            reason = "the loop variable is read after the loop"
        if not reason and toolkit.reads_frame(self.scope(loop).node):
            # ``locals()``, ``vars()``, ``eval`` or ``exec`` elsewhere in the
            # coroutine read the loop variable by name, which the rewrite no
            # longer binds.
            reason = "the coroutine calls `locals()`, `vars()`, `eval` or `exec`, which read the loop variable"
        if not reason and _has_comments(loop):
            reason = "comments inside the loop would be lost"
        if not reason and comments_speak_of_order(line_comments(loop)):
            reason = ORDER_COMMENT_REASON
        if not reason and self._comments.ask_for_order(self.scope(loop).function().node):
            reason = FUNCTION_ORDER_REASON
        if not reason and appended is None and self._next_to_await(loop, call, loop.iter, loop.target):
            reason = "the result would stand next to an independent await, a new AM201 run"
        replacement = self._report(loop, reason)
        if replacement is None:
            return updated_node
        alias = replacement
        body = updated_node.body
        assert isinstance(body, cst.IndentedBlock)
        new_line = body.body[0]
        assert isinstance(new_line, cst.SimpleStatementLine) and isinstance(new_line.body[0], cst.Expr)
        new_expr = new_line.body[0].value
        if appended is None:
            assert isinstance(new_expr, cst.Await)
            new_call = new_expr.expression
        else:
            assert isinstance(new_expr, cst.Call) and isinstance(new_expr.args[0].value, cst.Await)
            new_call = new_expr.args[0].value.expression
        iterable = updated_node.iter
        if not iterable.lpar and isinstance(iterable, (cst.Tuple, cst.IfExp, cst.Lambda)):
            # ``for x in a, b:`` or ``for x in a if c else b:``: a
            # comprehension's ``in`` takes neither without parentheses.
            iterable = iterable.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        generator = cst.GeneratorExp(
            elt=new_call,
            for_in=cst.CompFor(target=updated_node.target, iter=iterable),
        )
        column = self.get_metadata(toolkit.PositionProvider, loop).start.column

        def statement(wrap: bool) -> cst.SimpleStatementLine:
            gathered: cst.BaseExpression = cst.Await(
                expression=gather_call(alias, [cst.Arg(value=generator, star="*")], wrap=wrap)
            )
            if appended is not None:
                gathered = cst.Call(
                    func=cst.Attribute(value=cst.Name(appended), attr=cst.Name("extend")),
                    args=[cst.Arg(value=gathered)],
                )
            return cst.SimpleStatementLine(
                body=[cst.Expr(value=gathered)], leading_lines=updated_node.leading_lines
            )

        result = statement(False)
        text = render(result.with_changes(leading_lines=[])).rstrip("\r\n")
        if "\n" in text or column + len(text) > self.settings.line_length:
            result = statement(True)
        return result

    # -- comprehensions -----------------------------------------------------

    def leave_ListComp(
        self, original_node: cst.ListComp, updated_node: cst.ListComp
    ) -> cst.BaseExpression:
        comp = original_node
        if self.scope(comp).kind is not toolkit.ScopeKind.ASYNC_FUNCTION or self._echoed:
            # ``f"{[await f(x) for x in xs]=}"`` prints the expression's text.
            return updated_node
        for_in = comp.for_in
        if for_in.asynchronous is not None or for_in.ifs or for_in.inner_for_in is not None:
            return updated_node
        if not isinstance(comp.elt, cst.Await) or comp.elt.lpar:
            return updated_node
        call = comp.elt.expression
        if not isinstance(call, cst.Call) or call.lpar:
            return updated_node
        loop_names = _target_names(for_in.target)
        if loop_names is None or not self._independent(call, loop_names, self._distinct(for_in.iter)):
            return updated_node
        if _given_the_iterable(call, for_in.iter, loop_names, self._relations()):
            return updated_node
        if contains(for_in.iter, forbidden()) or contains(for_in.iter, (cst.NamedExpr,)):
            return updated_node
        reason = ""
        if _has_comments(comp):
            reason = "comments inside the comprehension would be lost"
        elif self._statements and comments_speak_of_order(line_comments(self._statements[-1])):
            reason = ORDER_COMMENT_REASON
        elif self._comments.ask_for_order(self.scope(comp).function().node):
            reason = FUNCTION_ORDER_REASON
        elif self._statements and self._next_to_await(self._statements[-1], call, for_in.iter, for_in.target, comp):
            reason = "the result would stand next to an independent await, a new AM201 run"
        alias = self._report(comp, reason)
        if alias is None:
            return updated_node
        assert isinstance(updated_node.elt, cst.Await)
        generator = cst.GeneratorExp(
            elt=updated_node.elt.expression,
            for_in=updated_node.for_in.with_changes(
                whitespace_before=cst.SimpleWhitespace(" "),
            ),
        )
        lpar, rpar = list(updated_node.lpar), list(updated_node.rpar)
        if comp in self._primaries and not lpar:
            # ``[...][0]`` -> ``(await gather(...))[0]``: await binds looser.
            lpar, rpar = [cst.LeftParen()], [cst.RightParen()]

        def gathered(wrap: bool) -> cst.Await:
            return cst.Await(
                expression=gather_call(alias, [cst.Arg(value=generator, star="*")], wrap=wrap),
                lpar=lpar,
                rpar=rpar,
            )

        result = gathered(False)
        if self._statements and not self._fstrings:
            # The statement as it will read, to measure it against the line length.
            statement = self._statements[-1]
            column = self.get_metadata(toolkit.PositionProvider, statement).start.column
            new_text = render(result)
            text = render(statement.with_changes(leading_lines=[])).replace(render(comp), new_text, 1)
            if "\n" in new_text or column + max(map(len, text.splitlines())) > self.settings.line_length:
                result = gathered(True)
        return result

    # -- shared -------------------------------------------------------------

    def _distinct(self, iterable: cst.BaseExpression) -> bool:
        """Whether the iterable's items are shown to be different objects: a
        set (a literal, a comprehension, ``set(...)``/``frozenset(...)``, a
        name, attribute or property declared a set) or a mapping's keys (``d.keys()``). A list may
        hold one object twice, which two gathered calls would then change
        at once."""
        if isinstance(iterable, (cst.Set, cst.SetComp)):
            return True
        if isinstance(iterable, cst.Call):
            func = iterable.func
            if isinstance(func, cst.Name) and func.value in ("set", "frozenset"):
                return self.scope(iterable).lookup(func.value) is toolkit.UNBOUND
            return isinstance(func, cst.Attribute) and func.attr.value == "keys" and not iterable.args
        path = access_path(iterable) if isinstance(iterable, (cst.Name, cst.Attribute)) else None
        return (
            path is not None and self.view is not None
            and self.view.holds_a_set(toolkit.function_qualname(self.scope(iterable)), path)
        )

    def _independent(self, call: cst.Call, loop_names: frozenset[str], distinct: bool = False) -> bool:
        """Whether each item's call can run beside the others (by the
        project model where it sees the call to its end, else by the
        call's receivers)."""
        if not self._movable(call):
            return False
        verdict = self._model_verdict(call, loop_names, distinct)
        if verdict is not None:
            return verdict
        # The awaited call must be a plain function of the module or an
        # import: a method of a shared object (``conn.execute(q)``) runs one
        # operation at a time on it, and the items' own methods or the items
        # themselves (``await hook(response)``, ``await trace.send(...)``,
        # ``await site.stop()``) are callbacks and resources whose order
        # their owners rely on.
        if callee_receivers(call, self.scope):
            return False
        # Inside the arguments, only the item's own methods and objects are
        # independent (``close(conn)`` for each ``conn``, not ``insert(conn, row)``).
        return receivers(call, self.scope) <= loop_names

    def _movable(self, call: cst.Call) -> bool:
        """Whether the call may be moved into a generator expression at all."""
        if contains(call, forbidden()) or contains(call, (cst.NamedExpr,)):
            return False
        # Zero-argument super() does not work inside a generator expression.
        if "super" in names_in(call):
            return False
        # ``locals()`` inside a generator expression holds its own variables.
        if toolkit.reads_frame(call):
            return False
        # A gather per item is already concurrent inside; gathering the
        # gathers is a different rewrite (and would not be idempotent).
        if self.scope(call).qualified_name(call.func) == "asyncio.gather":
            return False
        return not is_ordering(call, self.scope, self._primitives)

    def _model_verdict(self, call: cst.Call, loop_names: frozenset[str], distinct: bool = False) -> bool | None:
        """The project model's answer: whether the calls of the items are
        independent and each suspends (a call that never does gains
        nothing); ``None`` when the model cannot tell. ``distinct``: the
        items are shown to be different objects."""
        if never_suspends(self.view, self.scope(call), call):
            return False
        effects = call_effects(self.view, self.scope(call), call, accesses(call), items=loop_names)
        if effects is None:
            return None
        if effects.unknown:
            return False
        if effects.suspends is False:
            return False
        receiver = None
        shared = False
        if isinstance(call.func, cst.Attribute):
            path = access_path(call.func.value)
            if path is not None and split_root(path)[0] in loop_names:
                receiver = "@" + path
            else:
                shared = True
        return per_item(effects, loop_names, receiver, shared, distinct=distinct)

    def _report(self, node: cst.CSTNode, reason: str) -> str | None:
        scope = self.scope(node)
        alias = scope.module_alias("asyncio")
        reason = reason or no_fix_reason(scope, self.view, self.settings.async_backend)
        if not reason and self.in_cleanup_block:
            reason = CLEANUP_REASON
        if not reason and in_startup(scope, self.view):
            reason = STARTUP_REASON
        message = "awaits one call per item, one after another; `asyncio.gather()` would run them concurrently"
        if reason:
            message += f" (not fixed: {reason})"
        needs_import = "asyncio" if alias is not None and alias[1] else None
        if not self.report(node, message, fixable=not reason, needs_import=needs_import):
            return None
        assert alias is not None
        if needs_import:
            toolkit.AddImportsVisitor.add_needed_import(self.context, needs_import)
        return alias[0]

    def _read_after(self, loop: cst.For, names: frozenset[str]) -> bool:
        """Whether a loop variable is used after the loop, or by a nested
        function or lambda anywhere in the coroutine (which may run later),
        or anywhere in a loop around this one (its next pass, or a
        ``while`` test, reads what the last item left)."""
        function = self.scope(loop).node
        assert function is not None
        if any(
            node.value in names and (nested or after)
            for node, nested, after in _names_around(function, loop)
        ):
            return True
        return any(
            name in names
            for outer in _loops_around(function, loop)
            for name in _names_outside(outer, loop)
        )

    def _closure_reads(self, loop: cst.For, name: str) -> bool:
        """Whether a nested function, lambda or class of the coroutine
        uses ``name``."""
        function = self.scope(loop).node
        assert function is not None
        return any(node.value == name and nested for node, nested, _ in _names_around(function, loop))

    def _relations(self) -> Related:
        if self._related is None:
            assert self._module is not None
            self._related = Related(self._module, self.scope)
        return self._related

    def _next_to_await(
        self,
        statement: cst.CSTNode,
        call: cst.Call,
        iterable: cst.BaseExpression,
        target: cst.BaseExpression,
        comp: cst.ListComp | None = None,
    ) -> bool:
        """Whether the rewritten statement would be an await statement beside
        another one that AM201 would gather it with: the fix must not create
        a new finding."""
        probe = _probe(statement, call, iterable, target, comp)
        if probe is None:
            return False

        def scope_of(node: cst.CSTNode) -> Scope:
            # The probe's own nodes have no metadata; they stand where the
            # statement stands.
            try:
                return self.scope(node)
            except KeyError:
                return self.scope(statement)

        mine = await_statement(probe, scope_of, self._primitives, self.view)
        if mine is None:
            return False
        related = self._relations()
        for neighbour in self._neighbours(statement):
            # A neighbour this rule may rewrite too would become an await
            # statement only then: too uncertain to judge, so leave both.
            if _loop_candidate(neighbour):
                return True
            other = await_statement(neighbour, self.scope, self._primitives, self.view)
            if other is not None and not mine.depends_on(other, related) and not other.depends_on(mine, related):
                return True
        return False


def _probe(
    statement: cst.CSTNode,
    call: cst.Call,
    iterable: cst.BaseExpression,
    target: cst.BaseExpression,
    comp: cst.ListComp | None,
) -> cst.SimpleStatementLine | None:
    """A stand-in for the rewritten statement, as AM201 would see it: the
    same reads (call, iterable, loop target) and the same bindings."""
    value = cst.Await(
        expression=cst.Call(
            func=call.func,
            args=[cst.Arg(value=iterable), cst.Arg(value=target), *call.args],
        )
    )
    if comp is None:
        return cst.SimpleStatementLine(body=[cst.Expr(value=value)])
    # Only ``x = [...]`` and a bare ``[...]`` become await statements.
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if not isinstance(small, (cst.Expr, cst.Assign, cst.AnnAssign)) or small.value is not comp:
        return None
    return statement.with_changes(body=[small.with_changes(value=value)])

def _loop_candidate(statement: cst.BaseStatement) -> bool:
    """A loop or ``[await ...]`` statement this rule may rewrite into an await
    statement (a loop that appends becomes ``x.extend(...)``, which is none)."""
    if isinstance(statement, cst.For):
        body = statement.body.body
        return (
            len(body) == 1
            and isinstance(body[0], cst.SimpleStatementLine)
            and len(body[0].body) == 1
            and isinstance(body[0].body[0], cst.Expr)
            and isinstance(body[0].body[0].value, cst.Await)
        )
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        value = getattr(statement.body[0], "value", None)
        return isinstance(value, cst.ListComp) and isinstance(value.elt, cst.Await)
    return False


def _target_names(target: cst.BaseExpression) -> frozenset[str] | None:
    """Names a loop target binds, or ``None`` for a target that assigns
    attributes or items (the rewrite would stop assigning them)."""
    if isinstance(target, cst.Name):
        return frozenset({target.value})
    if isinstance(target, (cst.Tuple, cst.List)):
        names: set[str] = set()
        for element in target.elements:
            inner = _target_names(element.value)
            if inner is None:
                return None
            names |= inner
        return frozenset(names)
    return None


def _fresh_list_name(small: cst.BaseSmallStatement) -> str | None:
    """``x = []`` or ``x: list[T] = []`` -> "x". (Not ``list()``: the name
    ``list`` may be rebound.)"""
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target, value = small.targets[0].target, small.value
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        target, value = small.target, small.value
    else:
        return None
    if not isinstance(target, cst.Name):
        return None
    if isinstance(value, cst.List) and not value.elements:
        return target.value
    return None


def _names_around(root: cst.CSTNode, loop: cst.CSTNode) -> Iterator[tuple[cst.Name, bool, bool]]:
    """Every name under ``root`` in source order, with whether it is inside a
    nested function, lambda or class, or a generator expression outside
    ``loop`` (its body runs when iterated, maybe after the loop), and
    whether it comes after ``loop`` (the tree's order is the source's: no
    positions needed)."""
    after = False

    def walk(node: cst.CSTNode, nested: bool, inside: bool) -> Iterator[tuple[cst.Name, bool, bool]]:
        nonlocal after
        for child in toolkit.children(node):
            within = inside or child is loop
            inner = nested or isinstance(child, (cst.FunctionDef, cst.Lambda, cst.ClassDef))
            inner = inner or (not within and isinstance(child, cst.GeneratorExp))
            if isinstance(child, cst.Name):
                yield child, nested, after
            yield from walk(child, inner, within)
            if child is loop:
                after = True

    yield from walk(root, False, False)


def _given_the_iterable(
    call: cst.Call, iterable: cst.BaseExpression, loop_names: frozenset[str], related: Related
) -> bool:
    """Whether the call is given something the iterable is made of
    (``for key in tokens: await handle(key, tokens)``): it may advance the
    iterator or change the collection, which the rewrite consumes whole
    before the first call runs. An item taken out of it by subscript
    (``header[idx][0]``, ``rows[i]`` over ``range(len(rows))``) is not the
    iterable: only the names in its subscripts count then."""
    given: set[str] = set()
    for arg in call.args:
        given |= _passed_names(arg.value)
    made_of = accesses(iterable).read_roots
    if given & made_of:
        return True
    # Under another name: ``src = Source(it)`` before ``for tok in it:
    # await handle(tok, src)``. (The loop variables are related to the
    # iterable by the loop itself, a comprehension's in the call by it.)
    own = loop_names | frozenset(
        name for node in _walk(call) if isinstance(node, cst.CompFor) for name in names_in(node.target)
    )
    return any(related.same(name, root) for name in given - own for root in made_of)


def _passed_names(expr: cst.BaseExpression) -> frozenset[str]:
    """The names whose objects an argument may hand to the call."""
    slices: list[cst.CSTNode] = []
    value = expr
    while isinstance(value, (cst.Attribute, cst.Subscript)):
        if isinstance(value, cst.Subscript):
            slices.append(value)
        value = value.value
    if not slices or not isinstance(value, cst.Name):
        return accesses(expr).read_roots
    found: set[str] = set()
    for subscript in slices:
        assert isinstance(subscript, cst.Subscript)
        for element in subscript.slice:
            found |= accesses(element).read_roots
    return frozenset(found)


def _loops_around(root: cst.CSTNode, loop: cst.CSTNode) -> list[cst.For | cst.While]:
    """The ``for`` and ``while`` loops under ``root`` that contain ``loop``."""
    path: list[cst.CSTNode] = []

    def find(node: cst.CSTNode) -> bool:
        if node is loop:
            return True
        path.append(node)
        if any(find(child) for child in toolkit.children(node)):
            return True
        path.pop()
        return False

    find(root)
    return [node for node in path if isinstance(node, (cst.For, cst.While))]


def _names_outside(outer: cst.For | cst.While, loop: cst.CSTNode) -> Iterator[str]:
    """The names of what runs again on each pass of ``outer`` (a ``while``
    test, the body and ``else``), other than those inside ``loop``."""
    parts: list[cst.CSTNode] = [outer.body]
    if isinstance(outer, cst.While):
        parts.append(outer.test)
    if outer.orelse is not None:
        parts.append(outer.orelse)

    def walk(node: cst.CSTNode) -> Iterator[str]:
        if node is loop:
            return
        if isinstance(node, cst.Name):
            yield node.value
        for child in toolkit.children(node):
            yield from walk(child)

    for part in parts:
        yield from walk(part)


def _has_comments(node: cst.CSTNode) -> bool:
    """Whether a comment stands inside ``node`` (not in the lines above it)."""
    if isinstance(node, cst.For):
        node = node.with_changes(leading_lines=[])
    return any(isinstance(n, cst.Comment) for n in _walk(node))


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    yield node
    for child in toolkit.children(node):
        yield from _walk(child)


# -- helpers of the screen ---------------------------------------------------------


def _ast_for_call(loop: ast.For) -> tuple[ast.Call, str | None] | None:
    """The call a ``for`` loop awaits once per item, and the name of the list
    its results are appended to: ``for x in xs: await f(x)`` or ``for x in
    xs: r.append(await f(x))``."""
    if loop.orelse or len(loop.body) != 1 or not isinstance(loop.body[0], ast.Expr):
        return None
    value = loop.body[0].value
    appended: str | None = None
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "append"
        and isinstance(value.func.value, ast.Name)
        and len(value.args) == 1
        and not value.keywords
        and not isinstance(value.args[0], ast.Starred)
    ):
        appended, value = value.func.value.id, value.args[0]
    if isinstance(value, ast.Await) and isinstance(value.value, ast.Call):
        return value.value, appended
    return None


def _ast_target_names(target: ast.expr) -> frozenset[str] | None:
    """:func:`_target_names` on the stdlib ``ast``."""
    if isinstance(target, ast.Starred):
        target = target.value
    if isinstance(target, ast.Name):
        return frozenset({target.id})
    if isinstance(target, (ast.Tuple, ast.List)):
        names: set[str] = set()
        for element in target.elts:
            inner = _ast_target_names(element)
            if inner is None:
                return None
            names |= inner
        return frozenset(names)
    return None
