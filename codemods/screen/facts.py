"""The stdlib-``ast`` side of the rules: one walk of a file, for their screens.

LibCST is exact but costs many times a parse with the stdlib ``ast``, and most
files that contain a rule's literal hold nothing the rule finds. Each rule's
``screen`` asks the :class:`Facts` of a file whether it has a candidate site;
only a file with one is parsed with LibCST, whose analysis decides.

A screen must never drop a file its rule would find something in. So every
fact here errs one way: a name counts as bound to an import wherever some
import binds it (shadowing is ignored), a receiver or a dependence is assumed
only where it is certain on the ``ast`` too, and a site is rejected only for a
reason the LibCST analysis also rejects it for.
"""

from __future__ import annotations
import __future__

import ast
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

# ``_fields`` of each node type that hold nodes, in the order of ``_fields``.
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(node_type: type[ast.AST]) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(node_type)
    if fields is None:
        # Fields holding plain values (names, constants, flags) never hold nodes.
        skip = {"id", "attr", "name", "names", "arg", "module", "level", "value_kind", "kind",
                "type_comment", "is_async", "n", "s", "ctx", "op", "conversion", "lineno"}
        fields = _CHILD_FIELDS[node_type] = tuple(f for f in node_type._fields if f not in skip)
    return fields


# ``async def`` and ``await`` in a file's bytes (a line continuation may
# stand between ``async`` and ``def``). The patterns begin with their literal,
# which the regex engine finds at memchr speed; a leading ``\b`` would make it
# try every position (ten times slower over the standard library). The word
# boundary before is checked by hand, as ``\b`` checks it for bytes: a word
# byte (ASCII letter, digit, underscore) on one side and not on the other.
_ASYNC_DEF = re.compile(rb"async(?:\s|\\)+def\b")
_AWAIT = re.compile(rb"await\b")
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def search_word(pattern: re.Pattern[bytes], data: bytes, position: int = 0) -> re.Match[bytes] | None:
    """The first match of ``pattern`` at or after ``position`` that starts a
    word: ``re.search(rb"\b" + pattern)``, at the speed of a literal search."""
    for found in pattern.finditer(data, position):
        start = found.start()
        before = start > 0 and data[start - 1] in _WORD_BYTES
        if before != (data[start] in _WORD_BYTES):
            return found
    return None


def has_async_def(data: bytes) -> bool:
    return b"async" in data and search_word(_ASYNC_DEF, data) is not None


def awaits(data: bytes, at_least: int = 1) -> bool:
    """Whether ``await`` occurs as a word at least ``at_least`` times."""
    if b"await" not in data:
        return False
    position = 0
    for _ in range(at_least):
        found = search_word(_AWAIT, data, position)
        if found is None:
            return False
        position = found.end()
    return True

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_COMPREHENSIONS = frozenset({ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp})
_SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda})
# Node types with facts of their own (see Facts._special), scopes and comprehensions.
_SPECIAL = _SCOPES | _COMPREHENSIONS | {
    ast.Expr, ast.Assign, ast.AnnAssign, ast.Import, ast.ImportFrom, ast.withitem, ast.Global,
    ast.Nonlocal, ast.arg, ast.MatchMapping, ast.ExceptHandler, ast.MatchAs, ast.MatchStar,
}
# Nodes the symbol pass may reject (Facts.symbol_pass_needed): anywhere, or
# (``yield``) inside a comprehension.
_SYMBOL_RISKS = frozenset(
    getattr(ast, name) for name in ("NamedExpr", "Yield", "YieldFrom", "TypeAlias") if hasattr(ast, name)
)
_IN_COMPREHENSIONS = frozenset({ast.Yield, ast.YieldFrom})
_SPECIAL |= _SYMBOL_RISKS
_ANNOTATION_RISKS = (ast.Yield, ast.YieldFrom, ast.Await, ast.NamedExpr)
_STATEMENTS = frozenset(
    value for value in vars(ast).values() if isinstance(value, type) and issubclass(value, ast.stmt)
)
# Statements whose fields hold blocks of statements.
_BLOCK_FIELDS = ("body", "orelse", "finalbody")


def blocks_of(statement: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists a compound statement holds: its body, ``else``
    and ``finally`` blocks, ``except`` handlers and ``match`` cases."""
    for name in _BLOCK_FIELDS:
        block = getattr(statement, name, None)
        if isinstance(block, list):
            yield block
    for part in (*getattr(statement, "handlers", ()), *getattr(statement, "cases", ())):
        yield part.body


def scope_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of ``body`` and of the blocks in it: those of one
    scope. A function or class definition is given, not what it holds (its
    own scope)."""
    stack = list(body)
    while stack:
        statement = stack.pop()
        yield statement
        if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for block in blocks_of(statement):
                stack.extend(block)


class Context:
    """Where a node is evaluated.

    ``kind`` is the innermost function-like scope, looking through class
    bodies, comprehensions and generator expressions (where ``time.sleep``
    still blocks the coroutine around them): "module", "def", "async" or
    "lambda". ``own`` is true where the node is in that scope itself, not in
    a class body or a comprehension inside it. ``defs`` are the enclosing
    function definitions, innermost last, each with the class whose body it
    is directly in (or ``None``). ``coroutine_body``: directly in the scope
    of an ``async def`` (not in a class body, comprehension, lambda or nested
    function inside it).
    """

    __slots__ = ("kind", "own", "class_node", "defs", "coroutine_body")

    def __init__(
        self,
        kind: str = "module",
        own: bool = True,
        class_node: ast.ClassDef | None = None,
        defs: tuple[tuple[ast.FunctionDef | ast.AsyncFunctionDef, ast.ClassDef | None], ...] = (),
    ) -> None:
        self.kind = kind
        self.own = own
        self.class_node = class_node
        self.defs = defs
        self.coroutine_body = kind == "async" and own


_MODULE = Context()


def context_qualname(ctx: Context) -> str | None:
    """The qualified name the project model gives the function ``ctx`` is
    in (see :func:`codemods.cst.scope.function_qualname`)."""
    if not ctx.defs:
        return None
    name = ""
    for index, (function, owner) in enumerate(ctx.defs):
        if owner is not None:
            if index:
                return None  # a class inside a function
            name = f"{owner.name}.{function.name}"
        elif not name:
            name = function.name
        else:
            name = f"{name}.<locals>.{function.name}"
    return name


@dataclass
class Facts:
    """What the screens ask about one file, gathered in one walk of its ``ast``."""

    tree: ast.Module
    # name -> origins of every import that binds it, in any scope
    # (``time`` for ``import time``, ``time.sleep`` for ``from time import sleep``).
    imports: dict[str, set[str]] = field(default_factory=dict)
    # names some ``import x`` (not ``from``) binds: possibly modules
    import_modules: set[str] = field(default_factory=set)
    # name -> origins of the imports binding it at module level
    top_imports: dict[str, set[str]] = field(default_factory=dict)
    # names bound any other way, anywhere (assignments, defs, parameters,
    # nested imports...), and names declared ``global`` or ``nonlocal``
    other_bindings: set[str] = field(default_factory=set)
    # names bound in some scope that is not the module's (a function, lambda,
    # class body or comprehension): possibly a local wherever they are used
    nested_bindings: set[str] = field(default_factory=set)
    star_import: bool = False
    has_async: bool = False
    calls: list[tuple[ast.Call, Context]] = field(default_factory=list)
    # ``CALL``, ``T = CALL`` and ``T: A = CALL`` statements
    call_statements: list[tuple[ast.Expr | ast.Assign | ast.AnnAssign, Context]] = field(default_factory=list)
    # name -> the values of ``name = VALUE`` and ``with VALUE as name``, any scope
    assigned: dict[str, list[ast.expr]] = field(default_factory=dict)
    async_defs: list[tuple[ast.AsyncFunctionDef, Context]] = field(default_factory=list)
    classes: dict[str, list[ast.ClassDef]] = field(default_factory=dict)
    # statement lists of ``async def`` bodies (and of the compound statements
    # in them) with at least two statements, with their context
    blocks: list[tuple[list[ast.stmt], Context]] = field(default_factory=list)
    # ``for`` statements and list comprehensions directly in an ``async def``
    loops: list[tuple[ast.For | ast.ListComp, Context]] = field(default_factory=list)
    # per function definition: the names it binds in its own scope
    locals: dict[ast.AST, set[str]] = field(default_factory=dict)
    # per function definition: the names it declares ``global``
    globals: dict[ast.AST, set[str]] = field(default_factory=dict)
    # what the screens derive from these once per file (codemods.analysis.dependence.AstRelated)
    memo: dict[str, object] = field(default_factory=dict)
    # Makes the project model as this file's analysis asks it
    # (codemods.model.project.ModuleView): built on first use, as most
    # files never ask.
    view_factory: Callable[[], Any] | None = None
    _view: Any = None
    # Whether the file holds a construct that CPython's symbol pass may
    # reject though its parser accepts it (see symbol_pass_needed).
    symbol_risk: bool = False
    _futures: list[ast.ImportFrom] = field(default_factory=list)

    @classmethod
    def of(cls, tree: ast.Module) -> Facts:
        facts = cls(tree)
        facts._walk()
        if facts._futures and not _futures_in_place(tree, facts._futures):
            facts.symbol_risk = True
        return facts

    @property
    def view(self) -> Any:
        """The project model for this file (``None`` when the engine has none)."""
        if self._view is None and self.view_factory is not None:
            self._view = self.view_factory()
        return self._view

    @property
    def symbol_pass_needed(self) -> bool:
        """Whether the file must still go through ``symtable`` to be known
        valid, its ``ast`` being built. CPython's symbol pass rejects some
        code its parser accepts, and only where the tree holds one of: a
        ``global`` or ``nonlocal`` declaration, an assignment expression, a
        ``yield`` in a comprehension, a ``yield``, ``await`` or assignment
        expression in an annotation, a repeated parameter name, a star
        import outside the module level, a ``__future__`` import out of
        place or of an unknown feature, type parameters or a ``type``
        alias. (The errors of every snippet of CPython's own test suite that
        the parser accepts fall under these: tests/test_engine_speed.py.)
        Elsewhere than Python 3.11 to 3.13, where that was checked, it is
        always needed; on 3.10, the symbol pass also gives up on nesting the
        tree builder accepts."""
        return self.symbol_risk or not (3, 11) <= sys.version_info[:2] <= (3, 13)

    # -- the walk -----------------------------------------------------------

    def _walk(self) -> None:
        stack: list[tuple[ast.AST, Context]] = [(self.tree, _MODULE)]
        push = stack.append
        pop = stack.pop
        calls = self.calls.append
        fields_of = _CHILD_FIELDS
        while stack:
            node, ctx = pop()
            node_type = type(node)
            if node_type is ast.Name:
                if type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                    self._bind(node.id, ctx)  # type: ignore[attr-defined]
                continue
            if node_type is ast.Call:
                calls((node, ctx))  # type: ignore[arg-type]
            elif node_type in _SPECIAL:
                if node_type in _SCOPES:
                    self._enter_scope(node, ctx, push)
                    continue
                if node_type in _COMPREHENSIONS:
                    if node_type is ast.ListComp and ctx.coroutine_body:
                        self.loops.append((node, ctx))  # type: ignore[arg-type]
                    ctx = Context(ctx.kind, False, None, ctx.defs)
                else:
                    self._special(node, node_type, ctx)
            if ctx.coroutine_body and node_type in _STATEMENTS:
                if node_type is ast.For:
                    self.loops.append((node, ctx))  # type: ignore[arg-type]
                self._blocks_of(node, ctx)  # type: ignore[arg-type]
            fields = fields_of.get(node_type)
            if fields is None:
                fields = _child_fields(node_type)
            for name in fields:
                value = getattr(node, name, None)
                if type(value) is list:
                    for item in value:
                        # Constants have no children; lists may hold None
                        # (dict keys) or strings (match class attributes).
                        if item is not None and type(item) is not str and type(item) is not ast.Constant:
                            push((item, ctx))
                elif value is not None and type(value) is not ast.Constant and isinstance(value, ast.AST):
                    push((value, ctx))

    def _special(self, node: ast.AST, node_type: type[ast.AST], ctx: Context) -> None:
        """The facts of a node that is neither a name, a call nor a scope."""
        if node_type is ast.Expr or node_type is ast.Assign or node_type is ast.AnnAssign:
            if node_type is ast.AnnAssign and _risky_annotation(node.annotation):  # type: ignore[attr-defined]
                self.symbol_risk = True
            self._statement(node, ctx)  # type: ignore[arg-type]
        elif node_type is ast.Import:
            self._import(node, ctx)  # type: ignore[arg-type]
        elif node_type is ast.ImportFrom:
            self._import_from(node, ctx)  # type: ignore[arg-type]
        elif node_type is ast.withitem:
            var = node.optional_vars  # type: ignore[attr-defined]
            if isinstance(var, ast.Name):
                self.assigned.setdefault(var.id, []).append(node.context_expr)  # type: ignore[attr-defined]
        elif node_type in _SYMBOL_RISKS:
            if node_type not in _IN_COMPREHENSIONS or not ctx.own:
                self.symbol_risk = True
        elif node_type is ast.Global or node_type is ast.Nonlocal:
            self.symbol_risk = True
            self.other_bindings.update(node.names)  # type: ignore[attr-defined]
            if node_type is ast.Global and ctx.defs:
                self.globals.setdefault(ctx.defs[-1][0], set()).update(node.names)  # type: ignore[attr-defined]
        elif node_type is ast.arg:
            # A lambda's parameter (a def's are bound with the def).
            self.other_bindings.add(node.arg)  # type: ignore[attr-defined]
            self.nested_bindings.add(node.arg)  # type: ignore[attr-defined]
        elif node_type is ast.MatchMapping:
            if node.rest:  # type: ignore[attr-defined]
                self._bind(node.rest, ctx)  # type: ignore[attr-defined]
        else:  # ExceptHandler, MatchAs, MatchStar
            name = getattr(node, "name", None)
            if name:
                self._bind(name, ctx)

    def _bind(self, name: str, ctx: Context) -> None:
        self.other_bindings.add(name)
        if ctx.defs or ctx.class_node is not None or not ctx.own:
            self.nested_bindings.add(name)
        if ctx.defs and ctx.own:
            self.locals.setdefault(ctx.defs[-1][0], set()).add(name)

    def _enter_scope(self, node: ast.AST, ctx: Context, push: object) -> None:
        """Push a scope's parts: the header (decorators, defaults,
        annotations, bases) where the definition stands, the body inside."""
        add = push  # a bound list.append
        if getattr(node, "type_params", None):
            self.symbol_risk = True
        params = [] if isinstance(node, ast.ClassDef) else _parameters(node.args)
        if len({param.arg for param in params}) != len(params):
            self.symbol_risk = True  # a repeated parameter name
        if isinstance(node, ast.Lambda):
            for child in _children(node.args):
                add((child, ctx))  # type: ignore[operator]
            # A lambda's names (a walrus in it included) are its own, not
            # the enclosing function's.
            add((node.body, Context("lambda", False, None, ctx.defs)))  # type: ignore[operator]
            return
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        self._bind(node.name, ctx)
        header: list[ast.AST] = list(node.decorator_list)
        if isinstance(node, ast.ClassDef):
            self.classes.setdefault(node.name, []).append(node)
            header += [*node.bases, *node.keywords]
            inner = Context(ctx.kind, False, node, ctx.defs)
        else:
            kind = "async" if isinstance(node, ast.AsyncFunctionDef) else "def"
            if isinstance(node, ast.AsyncFunctionDef):
                self.has_async = True
                self.async_defs.append((node, ctx))
            inner = Context(kind, True, None, (*ctx.defs, (node, ctx.class_node)))
            args = node.args
            own = self.locals.setdefault(node, set())
            for arg in params:
                own.add(arg.arg)
                self.other_bindings.add(arg.arg)
                self.nested_bindings.add(arg.arg)
                if arg.annotation is not None:
                    header.append(arg.annotation)
                    if _risky_annotation(arg.annotation):
                        self.symbol_risk = True
            header += [d for d in (*args.defaults, *args.kw_defaults) if d is not None]
            if node.returns is not None:
                header.append(node.returns)
                if _risky_annotation(node.returns):
                    self.symbol_risk = True
            if kind == "async" and len(node.body) > 1:
                self.blocks.append((node.body, inner))
        for child in header:
            add((child, ctx))  # type: ignore[operator]
        for statement in node.body:
            add((statement, inner))  # type: ignore[operator]

    def _blocks_of(self, node: ast.stmt, ctx: Context) -> None:
        for block in blocks_of(node):
            if len(block) > 1:
                self.blocks.append((block, ctx))

    def _statement(self, node: ast.Expr | ast.Assign | ast.AnnAssign, ctx: Context) -> None:
        value = node.value
        if isinstance(value, ast.Call):
            self.call_statements.append((node, ctx))
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and value is not None:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                self.assigned.setdefault(target.id, []).append(value)

    def _import(self, node: ast.Import, ctx: Context) -> None:
        for alias in node.names:
            if alias.asname:
                name, origin = alias.asname, alias.name
            else:
                # ``import a.b`` binds ``a``.
                name = origin = alias.name.split(".")[0]
            self._import_binding(name, origin, ctx)
            self.import_modules.add(name)

    def _import_from(self, node: ast.ImportFrom, ctx: Context) -> None:
        if node.module == "__future__" and not node.level:
            self._futures.append(node)
        base = "." * (node.level or 0) + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                self.star_import = True
                if ctx.kind != "module" or not ctx.own:
                    self.symbol_risk = True
                continue
            origin = base + alias.name if base.endswith(".") else f"{base}.{alias.name}"
            self._import_binding(alias.asname or alias.name, origin, ctx)

    def _import_binding(self, name: str, origin: str, ctx: Context) -> None:
        self.imports.setdefault(name, set()).add(origin)
        if ctx.defs or ctx.class_node is not None:
            # Bound in a function or class: not the module's import.
            self._bind(name, ctx)
        else:
            self.top_imports.setdefault(name, set()).add(origin)

    # -- names --------------------------------------------------------------

    def qualnames(self, expr: ast.expr) -> set[str]:
        """Every qualified name ``expr`` may have through an import of the
        file (``time.sleep`` for ``t.sleep`` after ``import time as t``),
        shadowing ignored: a superset of what LibCST's scope analysis gives."""
        if isinstance(expr, ast.Name):
            return self.imports.get(expr.id, set())
        if isinstance(expr, ast.Attribute):
            bases = self.qualnames(expr.value)
            return {f"{base}.{expr.attr}" for base in bases} if bases else set()
        return set()

    def certain_qualname(self, expr: ast.expr) -> str | None:
        """The qualified name ``expr`` has wherever it stands: its root name
        is bound by module-level imports of one origin and in no other way,
        and no star import could rebind it."""
        root = expr
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name) or self.star_import:
            return None
        origins = self.top_imports.get(root.id)
        if not origins or len(origins) != 1 or root.id in self.other_bindings:
            return None
        names = self.qualnames(expr)
        return next(iter(names)) if len(names) == 1 else None

    def possibly_local(self, name: str) -> bool:
        """Whether some scope other than the module's binds ``name``."""
        return name in self.nested_bindings

    def possibly_module(self, name: str) -> bool:
        """Whether some ``import`` statement binds ``name`` (LibCST counts a
        name as a module only then)."""
        return name in self.import_modules

    def certainly_local(self, name: str, ctx: Context) -> bool:
        """Whether ``name`` is bound in the scope of the innermost function
        around ``ctx`` (and not declared ``global`` there)."""
        if not ctx.defs:
            return False
        function = ctx.defs[-1][0]
        return name in self.locals.get(function, ()) and name not in self.globals.get(function, ())

    def certainly_in_a_function(self, name: str, ctx: Context) -> bool:
        """Whether the innermost function around ``ctx``, or a function
        around that, binds ``name``, with no ``global`` of it on the way:
        LibCST resolves the name to a function's scope, never the module's."""
        for function, _ in reversed(ctx.defs):
            if name in self.globals.get(function, ()):
                return False
            if name in self.locals.get(function, ()):
                return True
        return False

    def name_count(self, root: ast.AST, name: str) -> int:
        """How many ``Name`` nodes under ``root`` spell ``name`` (LibCST,
        which also counts parameters, attribute and keyword names, counts at
        least as many)."""
        return sum(1 for node in ast.walk(root) if isinstance(node, ast.Name) and node.id == name)


def _children(node: ast.AST) -> Iterator[ast.AST]:
    for name in _child_fields(type(node)):
        value = getattr(node, name, None)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, ast.AST):
                    yield item
        elif isinstance(value, ast.AST):
            yield value


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """``node`` and everything under it (order not specified)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(_children(current))


def contains(node: ast.AST, kinds: tuple[type[ast.AST], ...]) -> bool:
    return any(isinstance(n, kinds) for n in walk(node))


def _risky_annotation(annotation: ast.expr) -> bool:
    """An annotation the symbol pass may reject (with ``from __future__
    import annotations``, it takes no ``yield``, ``await`` or walrus)."""
    if type(annotation) is ast.Name or type(annotation) is ast.Constant:
        return False
    return contains(annotation, _ANNOTATION_RISKS)


def _parameters(args: ast.arguments) -> list[ast.arg]:
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *(a for a in (args.vararg, args.kwarg) if a is not None)]


def _futures_in_place(tree: ast.Module, futures: list[ast.ImportFrom]) -> bool:
    """Whether every ``__future__`` import of the module stands where the
    compiler takes one (after the docstring, before any other statement) and
    names a known feature."""
    start = 0 if ast.get_docstring(tree, clean=False) is None else 1
    leading = 0
    for statement in tree.body[start:]:
        if not (isinstance(statement, ast.ImportFrom) and statement.module == "__future__" and not statement.level):
            break
        leading += 1
    if leading != len(futures):
        return False
    return all(alias.name in __future__.all_feature_names for node in futures for alias in node.names)


def call_root(expr: ast.expr) -> ast.Name | None:
    """The name an access chain starts from: ``self`` in ``self.a().b[0].c``."""
    while True:
        if isinstance(expr, ast.Name):
            return expr
        if isinstance(expr, (ast.Attribute, ast.Subscript)):
            expr = expr.value
        elif isinstance(expr, ast.Call):
            expr = expr.func
        else:
            return None


__all__ = ["Context", "Facts", "call_root", "contains", "walk"]
