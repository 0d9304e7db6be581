"""What the rules that move a call off the event loop share (AM102
blocking-call, AM103 cpu-bound): on the stdlib ``ast``, the names a call may
have and whether it stands in a coroutine; on LibCST, the names of the
module, the kinds of object its names hold as the code reads top to bottom,
the sites where ``await asyncio.to_thread(fn, *args)`` can stand, and that
rewrite.

Importing this module imports no LibCST (see :mod:`codemods.lazy`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..lazy import lazy_module
from ..screen.facts import Context, Facts
from .event_loop import FOREIGN_LOOPS, OWN_DRIVER, module_event_loop, runs_elsewhere

if TYPE_CHECKING:
    import libcst as cst

    from ..cst import toolkit
    from ..cst.scope import Scope
    from ..model.project import ModuleView
    from . import suspension
else:
    cst = lazy_module("libcst")
    toolkit = lazy_module("..cst.toolkit", __package__)
    suspension = lazy_module(".suspension", __package__)


# -- the ast half (screens) ---------------------------------------------------


def spelling(expr: ast.expr) -> str | None:
    """``a.b.c`` for the expression ``a.b.c``; None for anything else."""
    parts = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


def called_names(facts: Facts, expr: ast.expr) -> set[str]:
    """Every qualified name ``expr`` may have: through an import of the
    file, or as written (a superset of :func:`resolve`)."""
    names = set(facts.qualnames(expr))
    spelled = spelling(expr)
    if spelled is not None:
        names.add(spelled)
    return names


def last_parts(names: Iterable[str]) -> frozenset[str]:
    """The last part of each qualified name (``get`` of ``requests.get``)."""
    return frozenset(name.rsplit(".", 1)[-1] for name in names)


def may_name(func: ast.expr, last: frozenset[str]) -> bool:
    """Whether the callee ``func`` may have one of the qualified names whose
    last parts are ``last``: a cheap test before :func:`called_names`. An
    attribute ends with its own name; a bare name may be an alias
    (``from subprocess import run as sh``)."""
    return not isinstance(func, ast.Attribute) or func.attr in last


def in_coroutine(ctx: Context) -> bool:
    """Inside an ``async def`` (through comprehensions and class bodies), or
    in a lambda directly inside one."""
    if ctx.kind == "async":
        return True
    return ctx.kind == "lambda" and bool(ctx.defs) and isinstance(ctx.defs[-1][0], ast.AsyncFunctionDef)


def literal(expr: ast.expr) -> bool:
    """A constant, a constant's ``.encode()``, or a tuple, list or set of
    them: a value whose size the code shows to be small."""
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "encode":
        expr = expr.func.value
    if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
        return all(literal(element) for element in expr.elts)
    return isinstance(expr, ast.Constant)


# -- option entries (plain data) -------------------------------------------------
#
# AM102's ``blocking-calls`` and AM103's ``gil-releasing-calls`` /
# ``cpu-bound-calls`` extend a built-in list: ``"mylib.fetch"`` adds an
# entry, ``"!name"`` removes one, ``"!name.*"`` every entry under a name.

_ENTRY = re.compile(r"!?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(\.\*)?")


def entries(value: Iterable[str] | str) -> tuple[str, ...]:
    """The entries of such an option (a fixture or a test gives it as one
    string: ``"a.b, !c.d"``)."""
    if isinstance(value, str):
        return tuple(value.replace(",", " ").split())
    return tuple(entry.strip() for entry in value)


def entries_problem(value: Iterable[str]) -> str | None:
    """Why a list of entries is not valid (for ``Rule.check_option``)."""
    bad = [entry for entry in value if not _ENTRY.fullmatch(entry.strip())]
    return f"not a dotted name (or !name, !name.*): {', '.join(map(repr, bad))}" if bad else None


def removes(entry: str, key: str) -> bool:
    """Whether the removal ``entry`` (``!name`` or ``!name.*``) removes the
    entry ``key``."""
    name = entry[1:]
    if name.endswith(".*"):
        prefix = name[:-2]
        return key == prefix or key.startswith(prefix + ".")
    return key == name


# -- the LibCST half ----------------------------------------------------------

#: What a name holds when it is annotated or bound as something the rule
#: does not follow.
UNTYPED = "<untyped>"
_OPTIONAL = frozenset({"typing.Optional", "Optional", "typing_extensions.Optional"})
_UNION = frozenset({"typing.Union", "Union", "typing_extensions.Union"})
# Builtins that call a function given to them at once, on the loop: a lambda
# handed to them runs there (one handed to anything else may well run in an
# executor, which is the cure).
_EAGER_CALLERS = frozenset({"sorted", "min", "max", "map", "filter"})


def resolve(scope: Scope, expr: cst.BaseExpression) -> str | None:
    """The qualified name of ``expr`` through the module's imports; for a
    name the module never binds, as written (``os.system`` in a snippet
    without ``import os``, ``open``); None for a local, a parameter or a
    call result."""
    name = scope.qualified_name(expr)
    if name is not None:
        return name
    parts: list[str] = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if isinstance(expr, cst.Name) and scope.lookup(expr.value) is toolkit.UNBOUND:
        return ".".join([expr.value, *reversed(parts)])
    return None


def unwrap_optional(scope: Scope, annotation: cst.BaseExpression) -> cst.BaseExpression | None:
    """``X`` for ``X``, ``X | None``, ``None | X``, ``Optional[X]`` and
    ``Union[X, None]``; None for any other union."""
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
        left, right = annotation.left, annotation.right
        if _is_none(right) and not _is_none(left) and not isinstance(left, cst.BinaryOperation):
            return left
        if _is_none(left) and not _is_none(right) and not isinstance(right, cst.BinaryOperation):
            return right
        return None
    if isinstance(annotation, cst.Subscript):
        name = resolve(scope, annotation.value)
        elements = [element.slice.value for element in annotation.slice if isinstance(element.slice, cst.Index)]
        if name in _OPTIONAL and len(elements) == 1:
            return elements[0]
        if name in _UNION and len(elements) == 2:
            others = [element for element in elements if not _is_none(element)]
            return others[0] if len(others) == 1 else None
    return annotation


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def literal_node(expr: cst.BaseExpression) -> bool:
    """The LibCST twin of :func:`literal`."""
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "encode":
        expr = expr.func.value
    if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
        return all(
            isinstance(element, cst.Element) and literal_node(element.value) for element in expr.elements
        )
    if isinstance(expr, cst.Name):
        return expr.value in ("None", "True", "False")
    return isinstance(
        expr, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float, cst.Imaginary, cst.Ellipsis)
    )


@dataclass
class Site:
    """A call in a coroutine, and why no ``await`` can stand there (None
    where one can)."""

    problem: str | None


class ThreadOffload:
    """The LibCST half of a rule that moves a call in a coroutine to a
    thread: a mixin before :class:`~codemods.rule.Rule` among the rule's
    bases, whose visit hooks gather as the tree is visited what decides
    whether a call can become ``await asyncio.to_thread(fn, *args)``, and
    follow which kind of object each name holds.

    The rule says which classes it follows (:meth:`followed`), which calls
    make one (:meth:`made_by`) and what else yields one (:meth:`derived`),
    and calls :meth:`site`, :meth:`kind_of` and :meth:`offload` from its
    ``leave_Call``. A rule that defines one of these hooks itself calls the
    mixin's through ``super()``.
    """

    def __init__(self, context: Any) -> None:
        super().__init__(context)  # type: ignore[call-arg]
        # What each name holds, as the code reads top to bottom: one mapping
        # per def, lambda or class being visited, copied from the one around
        # it where it starts (qualified class names, or UNTYPED).
        self._kinds: list[dict[str, str]] = [{}]
        # Which of those mappings are a class body's (not visible from the
        # functions defined in it).
        self._class_frames: list[bool] = [False]
        # Calls that are the primary of a trailer (``requests.get(u).json()``):
        # ``await`` before them needs parentheses.
        self._primaries: set[cst.BaseExpression] = set()
        self._awaited: set[cst.Call] = set()
        self._new_await = suspension.NewAwait(self.scope, "call")  # type: ignore[attr-defined]
        # ``with`` items: the block works on what they open.
        self._with_items: set[cst.BaseExpression] = set()
        # Calls inside a plain ``with`` whose manager may be a thread lock, or
        # in a coroutine that calls ``.acquire()`` without ``await``.
        self._held: set[cst.Call] = set()
        self._fstring_equals = 0
        self._in_fstring_equals: set[cst.Call] = set()
        # Lambdas that a builtin calls at once (``sorted(xs, key=lambda x: ...)``).
        self._eager: set[cst.Lambda] = set()

    # -- what the rule says -----------------------------------------------------

    def followed(self, name: str) -> bool:
        """Whether the rule follows instances of the class ``name``."""
        return False

    def made_by(self, name: str) -> str | None:
        """The followed class a call of the function ``name`` returns."""
        return None

    def derived(self, expr: cst.BaseExpression) -> str | None:
        """The followed class of ``expr`` by the rule's own knowledge (a
        path's ``.parent``...), where no name or constructor tells it."""
        return None

    # -- what each name holds -----------------------------------------------------

    def kind_of(self, expr: cst.BaseExpression) -> str | None:
        """The followed class of the value of ``expr``, or None."""
        if isinstance(expr, cst.Name):
            kind = self._kinds[-1].get(expr.value)
            return kind if kind is not None and kind != UNTYPED else None
        if isinstance(expr, cst.Call):
            name = resolve(self.scope(expr), expr.func)  # type: ignore[attr-defined]
            if name is not None:
                if self.followed(name):
                    return name
                made = self.made_by(name)
                if made is not None and self.followed(made):
                    return made
        return self.derived(expr)

    def _annotated(self, annotation: cst.BaseExpression | None) -> str:
        """The followed class an annotation names (``X``, ``X | None``,
        ``Optional[X]``), or UNTYPED."""
        if annotation is None:
            return UNTYPED
        scope = self.scope(annotation)  # type: ignore[attr-defined]
        unwrapped = unwrap_optional(scope, annotation)
        name = resolve(scope, unwrapped) if unwrapped is not None else None
        return name if name is not None and self.followed(name) else UNTYPED

    def _push(self, kinds: dict[str, str], is_class: bool = False) -> None:
        self._kinds.append(kinds)
        self._class_frames.append(is_class)

    def _pop(self) -> None:
        self._kinds.pop()
        self._class_frames.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._held.update(calls_after_thread_acquire(node))
        # A class body's names are not visible from the functions inside it.
        outer = max(i for i, is_class in enumerate(self._class_frames) if not is_class)
        kinds = dict(self._kinds[outer])
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            annotation = param.annotation.annotation if param.annotation is not None else None
            kinds[param.name.value] = self._annotated(annotation)
        for param in (params.star_arg, params.star_kwarg):
            if isinstance(param, cst.Param):
                kinds[param.name.value] = UNTYPED
        self._push(kinds)

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        self._pop()
        return updated_node

    def visit_Lambda(self, node: cst.Lambda) -> None:
        kinds = dict(self._kinds[-1])
        params = node.params
        every = (*params.posonly_params, *params.params, *params.kwonly_params, params.star_arg, params.star_kwarg)
        for param in every:
            if isinstance(param, cst.Param):
                kinds[param.name.value] = UNTYPED
        self._push(kinds)

    def leave_Lambda(self, original_node: cst.Lambda, updated_node: cst.Lambda) -> cst.BaseExpression:
        self._pop()
        return updated_node

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._push(dict(self._kinds[-1]), is_class=True)

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        self._pop()
        return updated_node

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        if len(original_node.targets) == 1:
            target = original_node.targets[0].target
            if isinstance(target, cst.Name):
                kind = self.kind_of(original_node.value)
                # Bound to something else, a name keeps the kind it had, as
                # in flake8-async: such code is rare, and a fix that depends
                # on the object asks for a name bound once.
                if kind is not None:
                    self._kinds[-1][target.value] = kind
        return updated_node

    def leave_AnnAssign(self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign) -> cst.AnnAssign:
        target = original_node.target
        if isinstance(target, cst.Name):
            self._kinds[-1][target.value] = self._annotated(original_node.annotation.annotation)
        return updated_node

    def leave_WithItem(self, original_node: cst.WithItem, updated_node: cst.WithItem) -> cst.WithItem:
        if original_node.asname is not None and isinstance(original_node.asname.name, cst.Name):
            kind = self.kind_of(original_node.item)
            if kind is not None:
                self._kinds[-1][original_node.asname.name.value] = kind
        return updated_node

    # -- sites ----------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Call):
            self._primaries.add(node.func)
        if self._fstring_equals:
            self._in_fstring_equals.add(node)
        func = node.func
        eager = (
            isinstance(func, cst.Name)
            and func.value in _EAGER_CALLERS
            and self.scope(node).lookup(func.value) is toolkit.UNBOUND  # type: ignore[attr-defined]
        ) or (isinstance(func, cst.Attribute) and func.attr.value == "sort")
        if eager:
            self._eager.update(arg.value for arg in node.args if isinstance(arg.value, cst.Lambda))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Call):
            self._primaries.add(node.value)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if isinstance(node.value, cst.Call):
            self._primaries.add(node.value)

    def visit_Await(self, node: cst.Await) -> None:
        if isinstance(node.expression, cst.Call):
            self._awaited.add(node.expression)

    def visit_With(self, node: cst.With) -> None:
        self._with_items.update(item.item for item in node.items)
        if node.asynchronous is None and not all(self.not_a_lock(item.item) for item in node.items):
            calls = toolkit.OwnCalls()
            toolkit.walk(node.body, calls)
            self._held.update(calls.calls)

    def not_a_lock(self, item: cst.BaseExpression) -> bool:
        """Whether a ``with`` item is visibly no thread lock: an object of a
        class the rule follows."""
        return isinstance(item, cst.Call) and self.kind_of(item) is not None

    def visit_FormattedStringExpression(self, node: cst.FormattedStringExpression) -> None:
        if node.equal is not None:
            self._fstring_equals += 1

    def leave_FormattedStringExpression(
        self, original_node: cst.FormattedStringExpression, updated_node: cst.FormattedStringExpression
    ) -> cst.FormattedStringExpression:
        if original_node.equal is not None:
            self._fstring_equals -= 1
        return updated_node

    def site(self, call: cst.Call, scope: Scope) -> Site | None:
        """Where ``call`` stands if that is in a coroutine: its own body, a
        comprehension, generator expression or class body in it, or a lambda
        in it that a builtin calls at once; None elsewhere, and for a call
        under ``await``."""
        if call in self._awaited:
            return None
        skipped = (toolkit.ScopeKind.COMPREHENSION, toolkit.ScopeKind.GENERATOR, toolkit.ScopeKind.CLASS)
        owner = scope
        while owner.kind in skipped:
            assert owner.parent is not None
            owner = owner.parent
        problem = None
        if owner.kind is toolkit.ScopeKind.LAMBDA:
            if owner.node not in self._eager:
                return None
            problem = "`await` is not allowed in a lambda"
            assert owner.parent is not None
            owner = owner.parent
            while owner.kind in skipped:
                assert owner.parent is not None
                owner = owner.parent
        if owner.kind is not toolkit.ScopeKind.ASYNC_FUNCTION:
            return None
        if problem is None:
            if scope.kind is toolkit.ScopeKind.GENERATOR:
                problem = "`await` would make the generator expression asynchronous"
            elif scope.kind is toolkit.ScopeKind.CLASS:
                problem = "`await` is not allowed in a class body"
            elif scope.kind is toolkit.ScopeKind.COMPREHENSION:
                problem = (
                    "in a comprehension each item would wait for its thread in turn; run the whole"
                    " loop in one thread, or gather the calls"
                )
        return Site(problem)

    def suspension_problem(self, call: cst.Call, function: cst.FunctionDef) -> str | None:
        """Why the ``await`` the fix puts at ``call`` would show in what the
        coroutine does, as AM101 asks of a sleep (see
        :mod:`codemods.analysis.suspension`); ``None`` when it would not."""
        return self._new_await.problem(call, function)

    def site_problem(self, original: cst.Call, scope: Scope, site: Site, problem: str | None = None) -> str | None:
        """Why ``original`` (at ``site``) cannot become an awaited call in
        a worker, or None where it can (``problem``: the rule's own reason)."""
        backend = other_backend(scope, self.context.filename, self.view, self.settings.async_backend)  # type: ignore[attr-defined]
        problem = problem or site.problem
        if problem is not None:
            return problem
        if original in self._with_items:
            return (
                "a `with` block works on what the call returns; move the whole block into a"
                " function run with `asyncio.to_thread()`"
            )
        if backend is not None:
            return runs_elsewhere(backend, "`await {library}.to_thread.run_sync(...)`")
        if original in self._held:
            return (
                "inside a plain `with` or after a plain `.acquire()`, which may hold a thread lock"
                " that another task would then block on while this one waits"
            )
        if original in self._in_fstring_equals:
            return "the call is in an f-string with `=`, which prints its text"
        return None

    def offload(
        self,
        original: cst.Call,
        updated: cst.Call,
        scope: Scope,
        site: Site,
        message: str,
        problem: str | None,
        advice: str = ", or run it in a thread: `await asyncio.to_thread(...)`",
    ) -> cst.BaseExpression:
        """Report ``original`` with ``message`` and, where nothing stands
        against it (``problem`` is the rule's own reason), rewrite it to
        ``await asyncio.to_thread(...)``; ``advice`` ends the message of a
        finding that is fixed."""
        alias = scope.module_alias("asyncio")
        problem = self.site_problem(original, scope, site, problem)
        if problem is not None:
            pass
        elif self.settings.target_version < (3, 9):  # type: ignore[attr-defined]
            problem = "`asyncio.to_thread()` needs Python 3.9"
        elif alias is None:
            problem = "`asyncio` names something else here"
        else:
            function = scope.function().node
            if isinstance(function, cst.FunctionDef):
                problem = self.suspension_problem(original, function)
        name = report_fix(self, original, message if problem is not None else message + advice, problem, alias)
        if name is None:
            return updated
        return to_thread(updated, name, primary=original in self._primaries)


def calls_after_thread_acquire(function: cst.FunctionDef) -> set[cst.Call]:
    """The calls of a coroutine that calls ``.acquire()`` without ``await``:
    that takes a thread lock (an asyncio lock's acquire is awaited), which
    the coroutine may hold at any of its calls, as inside a plain ``with``."""
    if function.asynchronous is None:
        return set()
    calls = toolkit.OwnCalls()
    toolkit.walk(function.body, calls)
    if any(
        isinstance(call.func, cst.Attribute) and call.func.attr.value == "acquire"
        for call in calls.calls - calls.awaited
    ):
        return set(calls.calls)
    return set()


def kept_names(function: cst.CSTNode) -> frozenset[str]:
    """Names of ``function`` whose object it never hands on: every use is a
    binding (``x = ...``, ``with ... as x``), ``await x``, or goes through an
    attribute that is called, read further, indexed or assigned
    (``x.get(u)``, ``x.headers.update(h)``, ``x.verify = False``), never
    the object or a bound method of it as an argument, a value, a return
    (``to_thread(x.get, u)``, ``add_writer(fd, x.set_result)``); not a
    parameter (the caller has the object too), nor used in a nested
    function (which may run as another task)."""
    parents = toolkit.ParentMap.of(function)
    seen: set[str] = set()
    handed_on: set[str] = set()
    for node, parent in parents.items():
        if not isinstance(node, cst.Name):
            continue
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            continue  # ``other.x``: not the name
        if isinstance(parent, (cst.FunctionDef, cst.ClassDef, cst.Arg, cst.ImportAlias)) and (
            getattr(parent, "name", None) is node or getattr(parent, "keyword", None) is node
        ):
            continue  # a def's name or a keyword's name
        if _in_nested_function(node, function, parents):
            handed_on.add(node.value)
        elif isinstance(parent, (cst.AssignTarget, cst.AsName)) or (
            isinstance(parent, cst.Await) and parent.expression is node
        ):
            seen.add(node.value)
        elif isinstance(parent, cst.Attribute) and _attribute_used_in_place(parent, parents):
            seen.add(node.value)
        else:
            handed_on.add(node.value)
    return frozenset(seen - handed_on)


def _attribute_used_in_place(attribute: cst.Attribute, parents: Mapping[cst.CSTNode, cst.CSTNode]) -> bool:
    """``x.a`` called, read further, indexed or assigned to right there,
    rather than handed on as a value."""
    holder = parents.get(attribute)
    if isinstance(holder, cst.Call):
        return holder.func is attribute
    if isinstance(holder, (cst.Attribute, cst.Subscript)):
        return holder.value is attribute
    return isinstance(holder, (cst.AssignTarget, cst.AugAssign)) and holder.target is attribute


def _in_nested_function(
    node: cst.CSTNode, function: cst.CSTNode, parents: Mapping[cst.CSTNode, cst.CSTNode]
) -> bool:
    parent = parents.get(node)
    while parent is not None and parent is not function:
        if isinstance(parent, (cst.FunctionDef, cst.Lambda)):
            return True
        parent = parents.get(parent)
    return False


def other_backend(scope: Scope, filename: str | None, view: ModuleView | None = None, backend: str = "auto") -> str | None:
    """"anyio" or "trio" when the module may run on that library rather than
    on asyncio alone: it imports it, or it is part of it (its path lies in a
    package of that name: anyio's own modules import their siblings
    relatively), or it imports no event loop's library in a project that
    runs that one too (see :mod:`.event_loop`)."""
    parts = set(re.split(r"[\\/]", filename or "")[:-1])
    for library in ("anyio", "trio"):
        if scope.imports_any((library,)) or library in parts:
            return library
    loop = module_event_loop(scope, view, backend)
    if loop is not None and loop.library != "asyncio":
        return loop.library  # Twisted's, curio's, or the one the settings name
    if loop is None and view is not None:
        for library in ("anyio", "trio", *FOREIGN_LOOPS, OWN_DRIVER):
            if library in view.project.index.loops:
                return library
    return None


def report_fix(
    rule: Any, node: cst.CSTNode, message: str, problem: str | None, alias: tuple[str, bool] | None
) -> str | None:
    """Report ``node`` (why it is not fixed, if ``problem``); when its fix
    is to be applied, the name ``asyncio`` goes by there (``alias``, from
    ``Scope.module_alias``), its import requested where missing."""
    if problem is not None:
        message += f" (not fixed: {problem})"
    if not rule.report(
        node,
        message,
        fixable=problem is None,
        needs_import="asyncio" if alias is not None and alias[1] else None,
    ):
        return None
    assert alias is not None
    name, needs_import = alias
    if needs_import:
        toolkit.AddImportsVisitor.add_needed_import(rule.context, "asyncio")
    return name


def to_thread(call: cst.Call, asyncio_name: str, *, primary: bool) -> cst.Await:
    """``await asyncio.to_thread(fn, *args)`` for ``fn(*args)``; in
    parentheses where it is the primary of a trailer (``.json()``)."""
    before = call.whitespace_before_args
    if call.args:
        after: cst.BaseParenthesizableWhitespace = cst.SimpleWhitespace(" ")
        if isinstance(before, cst.ParenthesizedWhitespace):
            # One argument a line: the function on a line of its own, with no
            # copy of a comment that follows the parenthesis.
            after = before.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=())
        comma: cst.Comma | cst.MaybeSentinel = cst.Comma(whitespace_after=after)
    else:
        comma = cst.MaybeSentinel.DEFAULT
    offloaded = cst.Call(
        func=cst.Attribute(value=cst.Name(asyncio_name), attr=cst.Name("to_thread")),
        args=[cst.Arg(value=call.func, comma=comma), *call.args],
        whitespace_before_args=before,
    )
    lpar, rpar = list(call.lpar), list(call.rpar)
    if primary and not lpar:
        lpar, rpar = [cst.LeftParen()], [cst.RightParen()]
    return cst.Await(expression=offloaded, lpar=lpar, rpar=rpar)


#: The helper the process-pool fix adds to a module, once (a later run
#: reuses it: see is_pool_helper).
POOL = "_process_pool"
EXECUTOR = "_process_pool_executor"
_POOL_DOC = "This module's pool of worker processes, made on first use and shut down at exit."
POOL_HELPER = f'''# Worker processes for pure-Python CPU work: a thread would not help, as
# that work holds the GIL the event loop needs.
{EXECUTOR} = None


def {POOL}():
    """{_POOL_DOC}"""
    global {EXECUTOR}
    if {EXECUTOR} is None:
        import atexit
        import concurrent.futures

        {EXECUTOR} = concurrent.futures.ProcessPoolExecutor()
        atexit.register({EXECUTOR}.shutdown)
    return {EXECUTOR}
'''


def is_pool_helper(module: cst.Module, statement: cst.CSTNode) -> bool:
    """Whether ``statement`` is the pool helper an earlier run added."""
    if not (isinstance(statement, cst.FunctionDef) and statement.name.value == POOL):
        return False
    code = module.code_for_node(statement.with_changes(leading_lines=())).replace("\r\n", "\n").replace("\r", "\n")
    return code.strip() == POOL_HELPER.split("\n\n\n", 1)[1].strip()


def is_pool_call(scope: Scope, expr: cst.BaseExpression) -> bool:
    """Whether ``expr`` is ``_process_pool()``, the helper of AM103's fix,
    as the module defines it: a process pool."""
    if not (isinstance(expr, cst.Call) and not expr.args and isinstance(expr.func, cst.Name) and expr.func.value == POOL):
        return False
    module = scope.module.node
    if not isinstance(module, cst.Module) or toolkit.binding_scope(scope, POOL) is not scope.module:
        return False
    return any(is_pool_helper(module, statement) for statement in module.body)


def short(expr: cst.BaseExpression) -> str:
    """How a message names a callee or a receiver: its code, or only
    ``….method`` when that is long."""
    code = cst.Module([]).code_for_node(expr)
    if len(code) <= 40 and "\n" not in code:
        return code
    if isinstance(expr, cst.Attribute):
        return f"….{expr.attr.value}"
    return code.split("\n")[0][:37] + "…"


__all__ = [
    "EXECUTOR",
    "POOL",
    "POOL_HELPER",
    "UNTYPED",
    "Site",
    "ThreadOffload",
    "called_names",
    "entries",
    "entries_problem",
    "in_coroutine",
    "is_pool_call",
    "is_pool_helper",
    "kept_names",
    "last_parts",
    "may_name",
    "literal",
    "literal_node",
    "calls_after_thread_acquire",
    "other_backend",
    "removes",
    "report_fix",
    "resolve",
    "short",
    "spelling",
    "to_thread",
    "unwrap_optional",
]
