"""What one module says about itself, read from its stdlib ``ast``: its
imports, classes and functions, and per function what it reads, writes,
calls and awaits, in its own names (nothing here looks at another module).

The project model (:mod:`.project`) resolves these names across modules and
folds the facts of callees into summaries. The facts are plain data, kept
in JSON in the cache by the module's bytes, so an unchanged module is never
parsed again for them.

Access paths: ``self.token`` for an attribute chain rooted at a name,
``items[]`` for any item of ``items``. A path's root is a parameter, a
module-level name, or an import; locals are followed only where they alias
one of those (``client = self._client``).

Each call also keeps where it stands in its function (:class:`CallFact`):
the handlers an exception it raises meets, the context managers held around
it, whether it is cleanup, the call it is an argument of. That is what a
caller shows a callee (:mod:`.callers`): a ``with lock:`` held across an
``await``, an ``except ValueError`` around it.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import re
import string
import warnings
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterable, Iterator, Mapping

#: Bumped when the facts change shape: the cache keys include it.
FACTS_FORMAT = 28
#: The root of a callee ``new:pkg:Class.method``: a method of an object
#: the call's own receiver expression makes (``Class(...).method()``).
NEW = "new:"
#: The root ``#i`` of a path through the value ``calls[i]`` returned
#: (``_table(client).update(...)``, ``table = _table(client)``).
RESULT = "#"

# Methods that change the object they are called on (lists, dicts, sets).
MUTATING_METHODS = frozenset(
    {
        "append", "extend", "insert", "remove", "pop", "clear", "update", "add", "discard",
        "setdefault", "popitem", "sort", "reverse", "appendleft", "extendleft", "popleft",
        "rotate", "difference_update", "intersection_update", "symmetric_difference_update",
    }
)
# Builtins that read the caller's variables or run code: the function's
# effects cannot be seen.
_OPAQUE_CALLS = frozenset({"exec", "eval", "locals", "vars", "globals", "setattr", "delattr", "__import__"})


@dataclass
class CallFact:
    """One call in a function's own body."""

    # The callee as written: "name", "self.m", "mod.f", "self.a.m",
    # "super().m"; "?" where it is not a name or an attribute chain.
    func: str
    # The access path of each positional argument (None: not a path; "*": a
    # starred argument, after which positions are unknown).
    args: list[str | None]
    kwargs: dict[str, str | None]
    star_kwargs: bool
    awaited: bool
    line: int
    # Every access path read inside the arguments (``server.id`` in
    # ``delete(where={"id": server.id})``): what the call is about.
    keys: list[str] = field(default_factory=list)
    # Where the call stands in its function (see :func:`call_context`):
    # the handlers an exception of it meets, in that order, each the dotted
    # names it catches ("*" for a bare ``except``, "?" for what no name
    # spells; a ``with suppress(...)`` or ``with pytest.raises(...)`` is
    # one too);
    handlers: list[list[str]] = field(default_factory=list)
    # the context managers held around it, innermost first: a path
    # (``self._lock``), a call (``asyncio.timeout()``), "?" for anything
    # else, "async " before one of an ``async with``;
    withs: list[str] = field(default_factory=list)
    # "finally" or "except" where it is cleanup that a cancellation at a
    # new ``await`` in it would cut short (see :func:`call_context`);
    cleanup: str = ""
    # the callee (as written) of the call it is an argument of:
    # ``asyncio.wait_for`` for ``wait_for(fetch(), 1)``;
    outer: str = ""
    # the last line whose reads may come before it: the end of the
    # outermost loop around it (a loop comes round again); 0: its own line.
    until: int = 0
    # Its last positional argument is ``*args``, the function's own ``*args``
    # passed on as it came (``target(*args)``, ``run_in_executor(None,
    # target, *args)``): what the caller gave beyond the parameters.
    forwards: bool = False


@dataclass
class FunctionFacts:
    qualname: str
    is_async: bool
    # "function", "method", "classmethod", "staticmethod", "property"
    kind: str
    class_name: str | None
    decorators: list[str]
    params: list[str]
    kwonly: list[str]
    varargs: bool
    # parameter or local -> the dotted name of its annotation or constructor
    types: dict[str, str]
    # local -> the access path it was bound to (``client = self._client``,
    # ``for device in self.devices`` -> "self.devices[]"), or "?" for a local
    # that may hold a shared object nobody here names (a call's result)
    aliases: dict[str, str]
    # locals that hold values made here (a literal, a new list, a new object)
    fresh: list[str]
    # names the function binds by its own imports, as ModuleFacts.imports
    imports: dict[str, str]
    reads: list[str]
    writes: list[str]
    calls: list[CallFact]
    # access paths of what it holds while it runs: ``async with self._lock``
    locks: list[str]
    # an ``await`` of something other than a call, ``async for``, ``async with``
    suspends: bool
    # it runs code or reads names that no analysis of names can follow
    opaque: bool
    generator: bool
    # names of the functions nested in it (``qualname.<locals>.name``)
    nested: list[str] = field(default_factory=list)
    # a local bound once to ``a if test else b`` of two paths: both paths
    # (its alias is "?": handed on or returned, it may be either)
    branches: dict[str, list[str]] = field(default_factory=dict)
    # what each ``return`` gives back: an access path (in these terms), "#i"
    # for the result of ``calls[i]``, ``None`` for a value made there, "?"
    returns: list[str | None] = field(default_factory=list)
    # What it reads and writes, and the calls it makes (``calls[late_calls:]``),
    # from its first statement that may suspend on: run beside another call
    # (a gather), what it does before that runs first, in the order the
    # calls were started; what it does after may run between the other's
    # steps.
    late_reads: list[str] = field(default_factory=list)
    late_writes: list[str] = field(default_factory=list)
    late_calls: int = 0
    # parameter -> what its default is, where that is an object every call
    # left to it shares: the dotted name it is read from (``store=CACHE``),
    # or "?" for one made by the definition (``seen=[]``, ``client=Client()``)
    defaults: dict[str, str] = field(default_factory=dict)
    # its body does nothing (``...``, ``pass``, a docstring, ``raise
    # NotImplementedError``): a Protocol's or an abstract class's stand-in
    # for the methods that override it
    stub: bool = False
    # the first line on which each path of ``reads`` is read
    read_lines: dict[str, int] = field(default_factory=dict)
    # Pure-Python CPU work (AM103), read by :func:`_read_sized_loops`: how
    # deep its own body nests loops whose length follows a parameter (not
    # ``self``), counting an inner loop only where it multiplies the work;
    # the parameters that size them; and ``[line, loops]`` for each line
    # whose calls all stand inside such loops, with how many are around them.
    sized_loops: int = 0
    sized_by: list[str] = field(default_factory=list)
    sized_calls: list[list[int]] = field(default_factory=list)

    def resolve(self, path: str | None) -> str | None:
        """``path`` (written in this function) with a leading local alias
        replaced by what it aliases ("?" for a local that may hold any
        object); ``None`` for a path rooted at a local holding a value made
        here."""
        if path is None:
            return None
        root, tail = split_root(path)
        if root in self.aliases:
            return self.aliases[root] + tail
        if root in self.fresh:
            return None
        return path

    def call(self, func: str, args: list[str | None], kwargs: dict[str, str | None],
             star_kwargs: bool, awaited: bool, keys: Iterable[str] = ()) -> CallFact:
        """A call written in this function (callee and arguments as access
        paths, as :func:`access_path` spells them), in the terms of its facts."""
        resolved = func
        if func != "?" and not func.startswith("super()."):
            root, tail = split_root(func)
            if root in self.aliases:
                resolved = self.aliases[root] + tail
        return CallFact(
            resolved,
            [a if a in ("*", "?") else self.resolve(a) for a in args],
            {k: (v if v == "?" else self.resolve(v)) for k, v in kwargs.items()},
            star_kwargs,
            awaited,
            0,
            sorted({k for k in map(self.resolve, keys) if k is not None and not k.startswith("?")}),
        )


@dataclass
class ClassFacts:
    name: str
    bases: list[str]
    decorators: list[str]
    # a metaclass, __getattr__ or __getattribute__: methods may not be what
    # the class body says
    dynamic: bool
    methods: dict[str, str]
    # attribute -> the dotted name of its type (``self.api = Api(...)``,
    # ``api: Api``)
    attribute_types: dict[str, str]
    # names the class body binds other than by ``def`` (``flush = None``)
    assigned: list[str] = field(default_factory=list)


@dataclass
class ModuleFacts:
    name: str
    is_package: bool
    # local name -> "module" (``import a.b as c``) or "module:attr" (``from``)
    imports: dict[str, str]
    star_imports: list[str]
    functions: dict[str, FunctionFacts]
    classes: dict[str, ClassFacts]
    # module-level names bound by assignment (not def, class or import)
    assigned: list[str]
    # the module rebinds its own names in ways no reading of names follows
    dynamic: bool
    # the functions its ``globals()`` is handed to, with the parameter
    # (``check_if_deprecated_constant:module_globals``, ``f:0``): the
    # module is dynamic unless none of them changes what it is given
    globals_to: list[str] = field(default_factory=list)
    # The names of the methods of classes these facts do not describe (a
    # class in a function, or in another class): a method of that name may
    # run code the model has not read.
    unlisted: list[str] = field(default_factory=list)
    # module-level name -> the class it is made of, for a name the module
    # binds once, to a new object (``_ = Translator("cog")``, ``settings =
    # Settings()``), and none of its functions rebinds
    singletons: dict[str, str] = field(default_factory=dict)
    # module-level name -> the module-level or imported name it is bound to,
    # once (``cache = CACHE``): one object under two names
    aliases: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(replace(self, functions=dict(self.functions.items())))
        # Most calls stand nowhere special: what they would say is the
        # default, which from_json restores.
        for function in data["functions"].values():
            for call in function["calls"]:
                for key in _CALL_CONTEXT:
                    if not call[key]:
                        del call[key]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModuleFacts:
        functions = {
            name: FunctionFacts(**{**fn, "calls": [CallFact(**call) for call in fn["calls"]]})
            for name, fn in data["functions"].items()
        }
        classes = {name: ClassFacts(**value) for name, value in data["classes"].items()}
        return cls(**{**data, "functions": functions, "classes": classes})


# The fields of a CallFact that say where it stands (left out of the JSON
# when empty).
_CALL_CONTEXT = ("keys", "handlers", "withs", "cleanup", "outer", "until")


# -- walking the tree ------------------------------------------------------------
# ``ast.walk`` and ``ast.iter_child_nodes`` run two generators a node:
# most of the time of reading a module's facts was spent in them.

_AST = ast.AST


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """What ``ast.iter_child_nodes(node)`` gives, in its order."""
    out: list[ast.AST] = []
    for name in node._fields:
        value = getattr(node, name, None)
        if type(value) is list:
            for item in value:
                if isinstance(item, _AST):
                    out.append(item)
        elif isinstance(value, _AST):
            out.append(value)
    return out


def walk(node: ast.AST) -> list[ast.AST]:
    """What ``ast.walk(node)`` gives, in its order (breadth first)."""
    return _breadth_first(node, _AST)


def _breadth_first(node: ast.AST, kinds: type | tuple[type, ...]) -> list[ast.AST]:
    """``node`` and the nodes of ``kinds`` under it through nodes of
    ``kinds``, in the order of ``ast.walk``."""
    out = [node]
    append = out.append
    # (The loop reads the nodes appended while it runs.)
    for current in out:
        for name in current._fields:
            value = getattr(current, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, kinds):
                        append(item)
            elif isinstance(value, kinds):
                append(value)
    return out


# What statements are found in, besides statements; and the fields, always
# lists, that hold them.
_HOLDS_STATEMENTS = (ast.stmt, ast.excepthandler, ast.match_case)
_BLOCKS = frozenset({"body", "orelse", "finalbody", "handlers", "cases"})
_BLOCK_FIELDS: dict[type, tuple[str, ...]] = {}


def statement_nodes(node: ast.AST) -> list[ast.AST]:
    """The statements (and handlers and cases) among ``ast.walk(node)``,
    in its order, no expression walked into: none holds a statement, and
    leaving out what holds none keeps the breadth-first order of the rest."""
    out = [node]
    append = out.append
    for current in out:
        node_type = type(current)
        fields = _BLOCK_FIELDS.get(node_type)
        if fields is None:
            fields = _BLOCK_FIELDS[node_type] = tuple(f for f in node_type._fields if f in _BLOCKS)
        for name in fields:
            value = getattr(current, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, _HOLDS_STATEMENTS):
                        append(item)
    return out


def dotted(expr: ast.expr) -> str | None:
    """``a.b.c`` for a chain of attributes on a name; ``None`` otherwise."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
        return ".".join(reversed(parts))
    return None


def access_path(expr: ast.expr) -> str | None:
    """``self.a.b`` -> "self.a.b", ``d[k].x`` -> "d[].x"; ``None`` when the
    chain does not start at a name."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        base = access_path(expr.value)
        return f"{base}.{expr.attr}" if base is not None else None
    if isinstance(expr, ast.Subscript):
        base = access_path(expr.value)
        return f"{base}[]" if base is not None else None
    if isinstance(expr, ast.Starred):
        return access_path(expr.value)
    return None


def _annotation_name(annotation: ast.expr | None) -> str | None:
    """The class an annotation names: ``Api``, ``mod.Api``, ``Api | None``,
    ``Optional[Api]``, ``"Api"``; ``None`` for anything else."""
    annotation = _unquoted(annotation)
    if annotation is None:
        return None
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        sides = [s for s in (annotation.left, annotation.right) if not (isinstance(s, ast.Constant) and s.value is None)]
        return _annotation_name(sides[0]) if len(sides) == 1 else None
    if isinstance(annotation, ast.Subscript) and dotted(annotation.value) in ("Optional", "typing.Optional"):
        return _annotation_name(annotation.slice)
    if isinstance(annotation, ast.Subscript):
        # ``dict[str, int]``, ``List[Api]``: a builtin container (the model
        # knows its methods); any other generic says little of the class.
        name = dotted(annotation.value)
        return name if name is not None and name.rsplit(".", 1)[-1] in CONTAINER_GENERICS else None
    return dotted(annotation) if isinstance(annotation, (ast.Name, ast.Attribute)) else None


def _unquoted(annotation: ast.expr | None) -> ast.expr | None:
    """An annotation, with one written as a string (``"Api"``) parsed."""
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            return ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return None
    return annotation


def _element_name(annotation: ast.expr | None) -> str | None:
    """The class of the items an annotation's container holds, where
    iterating it gives them: ``list[Api]``, ``Sequence[Api]``, ``set[Api]``,
    ``tuple[Api, ...]`` -> ``Api`` (not a mapping: its keys are iterated)."""
    annotation = _unquoted(annotation)
    if not isinstance(annotation, ast.Subscript):
        return None
    name = (dotted(annotation.value) or "").rsplit(".", 1)[-1]
    inner = annotation.slice
    if name in ("tuple", "Tuple"):
        if not (isinstance(inner, ast.Tuple) and len(inner.elts) == 2 and isinstance(inner.elts[1], ast.Constant)
                and inner.elts[1].value is Ellipsis):
            return None
        inner = inner.elts[0]
    elif name not in _ITERABLE_GENERICS:
        return None
    element = _annotation_name(inner)
    # (An item that is itself a container says nothing of a class.)
    return element if element is not None and element.rsplit(".", 1)[-1] not in CONTAINER_GENERICS else None


# The generics whose iteration gives the items of their one parameter.
_ITERABLE_GENERICS = frozenset(
    {
        "list", "List", "set", "Set", "frozenset", "FrozenSet", "Sequence", "MutableSequence",
        "Iterable", "Iterator", "Collection", "AbstractSet", "MutableSet", "deque", "Deque",
    }
)


# The generics that name a builtin container (``typing``'s aliases too).
CONTAINER_GENERICS = frozenset(
    {
        "dict", "list", "set", "frozenset", "tuple", "Dict", "List", "Set", "FrozenSet", "Tuple",
        "defaultdict", "DefaultDict", "OrderedDict", "deque", "Deque", "Counter",
    }
)
# A literal's builtin type, for a local or an attribute bound to one.
_LITERAL_TYPES = {
    ast.Dict: "dict", ast.DictComp: "dict", ast.List: "list", ast.ListComp: "list",
    ast.Set: "set", ast.SetComp: "set", ast.Tuple: "tuple", ast.JoinedStr: "str",
}


def _literal_type(value: ast.expr | None) -> str | None:
    """``dict`` for ``{}``, ``list`` for ``[x for x in y]``, ``str`` for a
    string; ``dict`` for ``dict()`` and the like; else ``None``."""
    if value is None:
        return None
    if isinstance(value, ast.Constant):
        return type(value.value).__name__ if isinstance(value.value, (str, bytes, int, float)) else None
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in (
        "dict", "list", "set", "frozenset", "tuple", "str", "bytes", "bytearray"
    ):
        return value.func.id
    return _LITERAL_TYPES.get(type(value))


def _constructor(value: ast.expr | None) -> str | None:
    """``Api`` for ``Api(...)`` (a name that looks like a class), else ``None``."""
    if isinstance(value, ast.Await):
        return None
    if isinstance(value, ast.Call):
        name = dotted(value.func)
        if name is not None and name.rsplit(".", 1)[-1][:1].isupper():
            return name
    return None


def _callee_text(func: ast.expr) -> str:
    """The callee as the facts spell it: ``self.m``, ``d[].m``, ``super().m``;
    ``?.m`` for a method of a value of unknown origin (``f(x).m``); "?" for
    any other expression."""
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call):
        inner = func.value
        if isinstance(inner.func, ast.Name) and inner.func.id == "super" and not inner.args:
            return f"super().{func.attr}"
    if isinstance(func, ast.Attribute):
        receiver = access_path(func.value)
        if receiver is None:
            made = _constructor(func.value)
            # A method of an object made right there (``AESGCM(key).encrypt``).
            receiver = NEW + made.replace(".", ":") if made is not None else "?"
        return f"{receiver}.{func.attr}"
    return dotted(func) or "?"


# The builtins that make text of what they are given.
_TEXT_BUILTINS = frozenset({"str", "repr", "ascii", "format", "print"})
# ``f"{x!r}"`` -> the builtin that makes the text.
_CONVERSIONS = {ord("r"): "repr", ord("s"): "str", ord("a"): "ascii"}
# The operators and statements that run special methods of their operands,
# by the name their pseudo-call is recorded under (``<+>`` for ``a + b``;
# the model's table says which special methods each one runs).
_BINARY = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
    ast.Pow: "**", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&",
    ast.BitOr: "|", ast.BitXor: "^",
}
_UNARY = {ast.Not: "truth", ast.USub: "-x", ast.UAdd: "+x", ast.Invert: "~"}
_COMPARISON = {
    ast.Eq: "==", ast.NotEq: "==", ast.Lt: "<", ast.LtE: "<", ast.Gt: "<", ast.GtE: "<",
}
# The statements whose special methods are awaited (``async with``).
_AWAITED_SPECIALS = frozenset({"async with", "async for"})


class _FunctionReader(ast.NodeVisitor):
    """One pass over a function's own body (not the bodies nested in it)."""

    def __init__(self, facts: FunctionFacts, local_names: set[str], star: str = "", rebound: frozenset[str] = frozenset()) -> None:
        self.facts = facts
        self.locals = local_names
        # the name of ``*args`` where the body never rebinds it, and the
        # parameters it does rebind
        self.star = star
        self.rebound = rebound
        # calls recorded once per object a local may be (see ``branches``):
        # their result is of no one path
        self._split: set[int] = set()
        self.reads: set[str] = set()
        self.writes: set[str] = set()
        # What it reads and writes from its first statement that may
        # suspend on (see FunctionFacts.late_reads).
        self.late_reads: set[str] = set()
        self.late_writes: set[str] = set()
        self.late = False
        # local -> the indexes of the calls whose results it is bound to
        self.bound_to_calls: dict[str, list[int]] = {}
        # calls already read as the receiver of a method call on them
        self._done: set[int] = set()
        # the operators recorded (see _special), with their lines
        self._specials: set[tuple[object, ...]] = set()
        self.read_lines: dict[str, int] = {}
        # Where the statement being read stands (see CallFact), innermost
        # last: the handlers of each ``try`` (or ``with suppress``) whose
        # body it is in, the context managers held, the cleanup it is in.
        self._handlers: list[list[list[str]]] = []
        self._withs: list[str] = []
        self._cleanup: list[str] = []
        # id of an argument expression -> the callee it is passed to
        self._outer: dict[int, str] = {}
        # the end line of the outermost loop around it
        self._loop_end = 0

    def read_body(self, body: list[ast.stmt]) -> None:
        """Read the function's body; from the first statement that holds an
        ``await``, an ``async for`` or an ``async with`` on, what it does is
        also late."""
        for statement in body:
            if not self.late and _may_suspend(statement):
                self.late = True
                self.facts.late_calls = len(self.facts.calls)
            self.visit(statement)
        if not self.late:
            self.facts.late_calls = len(self.facts.calls)

    def _wrote(self, path: str) -> None:
        self.writes.add(path)
        if self.late:
            self.late_writes.add(path)

    # -- paths --------------------------------------------------------------

    def _resolve(self, path: str | None) -> str | None:
        """``path`` with a leading local alias replaced by what it aliases
        ("?" for a local that may hold any object); ``None`` for a path
        rooted at a local holding a value made here (a literal, a new list)."""
        if path is None:
            return None
        return self.facts.resolve(path)

    def _branches(self, path: str | None) -> list[str]:
        """For a path through a local bound to one of two paths (see
        ``FunctionFacts.branches``): the path through each, resolved."""
        if path is None:
            return []
        root, tail = split_root(path)
        found = [self._resolve(branch + tail) for branch in self.facts.branches.get(root, ())]
        return [p for p in found if p is not None]

    def _argument(self, expr: ast.expr) -> str | None:
        """An argument as the callee will see it: its access path, ``None``
        for a value made right here, "?" for an object of unknown origin."""
        if isinstance(expr, (ast.Name, ast.Attribute, ast.Subscript)):
            path = access_path(expr)
            return self._resolve(path) if path is not None else "?"
        return None if isinstance(expr, _FRESH_VALUES) else "?"

    def _result_of(self, expr: ast.expr | None) -> int | None:
        """The index of the call whose result ``expr`` is (``f(x)``,
        ``await f(x)``), visiting it; ``None`` for anything else."""
        if isinstance(expr, ast.Await):
            expr = expr.value
            awaited = True
        else:
            awaited = False
        if isinstance(expr, ast.Call) and _constructor(expr) is None:
            index = self._call(expr, awaited=awaited)
            return None if index in self._split else index
        return None

    def visit_Return(self, node: ast.Return) -> None:
        index = self._result_of(node.value)
        if index is not None:
            self.facts.returns.append(f"{RESULT}{index}")
            return
        if node.value is None or isinstance(node.value, _FRESH_VALUES) or _constructor(node.value) is not None:
            if node.value is not None:
                self.visit(node.value)
            self.facts.returns.append(None)
            return
        self.visit(node.value)
        self.facts.returns.append(self._argument(node.value))

    def _read(self, expr: ast.expr) -> None:
        raw = access_path(expr)
        for path in self._branches(raw):
            self.reads.add(path)
            if self.late:
                self.late_reads.add(path)
        path = self._resolve(raw)
        if path is not None:
            self.reads.add(path)
            if self.late:
                self.late_reads.add(path)
            line = getattr(expr, "lineno", 0)
            if line and line < self.read_lines.get(path, line + 1):
                self.read_lines[path] = line

    def _write(self, target: ast.expr, *, deleting: bool = False) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._write(element, deleting=deleting)
            return
        if isinstance(target, ast.Starred):
            self._write(target.value, deleting=deleting)
            return
        if isinstance(target, ast.Name):
            # Rebinding a local or a parameter changes no object; a name
            # declared ``global`` or ``nonlocal`` is not the function's own.
            if target.id not in self.locals:
                self._wrote(target.id)
            return
        for path in self._branches(access_path(target)) or [self._resolve(access_path(target))]:
            if path is not None:
                self._wrote(path)
        # The parts evaluated on the way: ``d[key(x)].y = 1`` reads ``x``.
        if isinstance(target, (ast.Attribute, ast.Subscript)):
            self._parts(target.value)
            if isinstance(target, ast.Subscript):
                self.visit(target.slice)
                self._special("del[]" if deleting else "[]=", target.value)
                self._special("hash", target.slice)  # (a dict's key)
        else:
            self.visit(target)

    # -- statements and expressions -----------------------------------------

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._nested(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._nested(node)

    def _nested(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        for default in (*node.args.defaults, *node.args.kw_defaults):
            if default is not None:
                self.visit(default)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        # What a lambda does happens when it is called: by someone we do not
        # see. Its reads still count (over-approximating is safe).
        for sub in ast.walk(node.body):
            if isinstance(sub, (ast.Name, ast.Attribute, ast.Subscript)) and isinstance(getattr(sub, "ctx", None), ast.Load):
                self._read(sub)
            if isinstance(sub, ast.Call):
                self.facts.opaque = self.facts.opaque or _callee_text(sub.func) in _OPAQUE_CALLS

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        return

    def visit_Assign(self, node: ast.Assign) -> None:
        index = self._result_of(node.value)
        if index is None:
            self.visit(node.value)
        elif len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            self.bound_to_calls.setdefault(node.targets[0].id, []).append(index)
        if any(isinstance(target, (ast.Tuple, ast.List)) for target in node.targets):
            self._special("iter", node.value)  # ``a, b = pair``
        for target in node.targets:
            self._write(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            self._write(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        self._read(node.target)
        self._write(node.target)
        self._special(_BINARY[type(node.op)] + "=", node.target, node.value)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._write(node.target)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._write(target, deleting=True)

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self._special("async for" if isinstance(node, ast.AsyncFor) else "iter", node.iter)
        self._write(node.target)
        with self._loop(node):
            for statement in (*node.body, *node.orelse):
                self.visit(statement)

    def visit_While(self, node: ast.While) -> None:
        with self._loop(node):
            self._test(node.test)
            for statement in (*node.body, *node.orelse):
                self.visit(statement)

    @contextlib.contextmanager
    def _loop(self, node: ast.For | ast.While) -> Iterator[None]:
        """Inside a loop, what comes after a call comes before it too."""
        outermost = not self._loop_end
        if outermost:
            self._loop_end = getattr(node, "end_lineno", None) or 0
        try:
            yield
        finally:
            if outermost:
                self._loop_end = 0

    def visit_Try(self, node: ast.Try) -> None:
        self._try(node)

    def visit_TryStar(self, node: ast.AST) -> None:
        self._try(node)  # type: ignore[arg-type]

    def _try(self, node: ast.Try) -> None:
        self._handlers.append([_caught(handler.type) for handler in node.handlers])
        for statement in node.body:
            self.visit(statement)
        self._handlers.pop()
        for handler in node.handlers:
            if handler.type is not None:
                self.visit(handler.type)
            for index, statement in enumerate(handler.body):
                self._cleanup.append("except" if _cut_short(handler, index) else "")
                self.visit(statement)
                self._cleanup.pop()
        for statement in node.orelse:
            self.visit(statement)
        self._cleanup.append("finally")
        for statement in node.finalbody:
            self.visit(statement)
        self._cleanup.pop()

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self.facts.suspends = True
        self.visit_For(node)  # type: ignore[arg-type]

    def visit_With(self, node: ast.With) -> None:
        self._with(node, awaited=False)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        self.facts.suspends = True
        self._with(node, awaited=True)

    def _with(self, node: ast.With | ast.AsyncWith, *, awaited: bool) -> None:
        managers: list[str] = []
        handlers: list[list[list[str]]] = []
        for item in node.items:
            held = self._resolve(access_path(item.context_expr))
            if held is not None:
                self.facts.locks.append(held)
            self.visit(item.context_expr)
            self._special("async with" if awaited else "with", item.context_expr)
            if item.optional_vars is not None:
                self._write(item.optional_vars)
            managers.append(("async " if awaited else "") + _manager_text(item.context_expr))
            caught = _suppressed(item.context_expr)
            if caught:
                handlers.append([caught])
        # A later item is entered inside the earlier ones: innermost last.
        self._withs.extend(managers)
        self._handlers.extend(handlers)
        for statement in node.body:
            self.visit(statement)
        del self._withs[len(self._withs) - len(managers) :]
        del self._handlers[len(self._handlers) - len(handlers) :]

    def visit_Await(self, node: ast.Await) -> None:
        if isinstance(node.value, ast.Call):
            if id(node.value) not in self._done:
                self._call(node.value, awaited=True)
        else:
            self.facts.suspends = True
            self.visit(node.value)

    def visit_Yield(self, node: ast.Yield) -> None:
        self.facts.generator = True
        self.generic_visit(node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        self.facts.generator = True
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if id(node) not in self._done:
            self._call(node, awaited=False)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> None:
        # ``f"{x}"`` runs ``x.__format__`` (``f"{x!r}"``: ``x.__repr__``).
        self._formats(node.value, _CONVERSIONS.get(node.conversion, "format"))
        if node.format_spec is not None:
            self.visit(node.format_spec)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Mod) and (
            isinstance(node.left, ast.JoinedStr)
            or isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)
        ):
            # ``"%s" % x`` runs ``x.__str__`` (``%r``: ``__repr__``); a
            # format held in a name is not told from a number's ``%``.
            self.visit(node.left)
            if isinstance(node.right, ast.Tuple):
                values = node.right.elts
            elif isinstance(node.right, ast.Dict):
                # ``"%(t)s" % {"t": t}``
                values = [value for value in node.right.values if value is not None]
            else:
                values = [node.right]
            for value in values:
                self._formats(value, "%s")
            return
        self.generic_visit(node)
        self._special(_BINARY[type(node.op)], node.left, node.right)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        self.generic_visit(node)
        self._special(_UNARY[type(node.op)], node.operand)

    def visit_Compare(self, node: ast.Compare) -> None:
        self.generic_visit(node)
        left = node.left
        for operator, right in zip(node.ops, node.comparators):
            if isinstance(operator, (ast.In, ast.NotIn)):
                # The container's ``__contains__`` (or its iteration),
                # which compares the items with ``==``.
                self._special("in", right)
                self._special("==", left)
                self._special("hash", left)  # (in a set or a dict's keys)
            elif type(operator) in _COMPARISON:
                self._special(_COMPARISON[type(operator)], left, right)
            left = right

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        for value in node.values:
            self.visit(value)
            self._special("truth", value)

    def visit_If(self, node: ast.If) -> None:
        self._test(node.test)
        for statement in (*node.body, *node.orelse):
            self.visit(statement)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self._test(node.test)
        self.visit(node.body)
        self.visit(node.orelse)

    def visit_Assert(self, node: ast.Assert) -> None:
        self._test(node.test)
        if node.msg is not None:
            self.visit(node.msg)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self.visit(node.iter)
        self._special("async for" if node.is_async else "iter", node.iter)
        self.visit(node.target)
        for test in node.ifs:
            self._test(test)

    def _test(self, test: ast.expr) -> None:
        """A condition evaluated, and its truth asked (``__bool__``)."""
        self.visit(test)
        self._special("truth", test)

    def _special(self, key: str, *operands: ast.expr) -> None:
        """An operator or statement that runs special methods of its
        operands (``a + b``: ``__add__``/``__radd__``; ``for x in c``:
        ``__iter__``): recorded as the call ``<key>`` of those operands that
        are access paths, whose special methods the model follows as it
        does a builtin's. (A value made where it stands is a builtin's, or
        the result of a call, whose class is not told.) The operands have
        been visited: their reads are recorded once."""
        args = [
            self._argument(operand) for operand in operands if isinstance(operand, (ast.Name, ast.Attribute, ast.Subscript))
        ]
        if not args:
            return
        line = operands[0].lineno
        seen = (key, *args, line)
        if seen in self._specials:
            return  # (``f"{a[k]}"`` visits ``a[k]`` twice)
        self._specials.add(seen)
        self.facts.calls.append(
            CallFact(
                f"<{key}>", args, {}, False, key in _AWAITED_SPECIALS, line,
                handlers=[entry for level in reversed(self._handlers) for entry in level],
                withs=self._withs[::-1],
                cleanup=next((kind for kind in reversed(self._cleanup) if kind), ""),
                until=self._loop_end if self._loop_end > line else 0,
            )
        )

    def _formats(self, value: ast.expr, builtin: str) -> None:
        """``value`` turned into text as ``builtin`` (``str``, ``repr``,
        ``format``) does: recorded as that builtin's call (``<format>``:
        the builtin itself, whatever the module binds to its name), whose
        special methods the model follows. A container written out here
        (``f"{[a, b]}"``) is its items' ``repr``s."""
        if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
            for element in value.elts:
                self._formats(element.value if isinstance(element, ast.Starred) else element, "repr")
            return
        if isinstance(value, ast.Dict):
            for part in (*value.keys, *value.values):
                if part is not None:
                    self._formats(part, "repr")
            return
        call = ast.Call(func=ast.Name(id=f"<{builtin}>", ctx=ast.Load()), args=[value], keywords=[])
        self._call(ast.copy_location(call, value), awaited=False)

    def _forwards(self, node: ast.Call) -> bool:
        """Whether the call passes on the function's ``*args`` last, and no
        other starred argument."""
        starred = [arg for arg in node.args if isinstance(arg, ast.Starred)]
        last = node.args[-1] if node.args else None
        names = [n.id for n in (node.func, *node.args[:-1]) if isinstance(n, ast.Name)]
        return (
            bool(self.star) and len(starred) == 1 and last is starred[0]
            and isinstance(last.value, ast.Name) and last.value.id == self.star  # type: ignore[union-attr]
            and not any(name in self.rebound for name in names)
        )

    def _call(self, node: ast.Call, *, awaited: bool) -> int:
        """Record the call (after the call its receiver is, if any); its index."""
        self._done.add(id(node))
        func = _callee_text(node.func)
        if func.startswith("?.") and isinstance(node.func, ast.Attribute):
            inner = self._result_of(node.func.value)
            if inner is not None:
                func = f"{RESULT}{inner}.{node.func.attr}"
        if func in _OPAQUE_CALLS or (func == "getattr" and not _literal_name(node, 1)):
            self.facts.opaque = True
        args: list[str | None] = []
        for arg in node.args:
            args.append("*" if isinstance(arg, ast.Starred) else self._argument(arg))
        kwargs: dict[str, str | None] = {}
        star_kwargs = False
        for keyword in node.keywords:
            if keyword.arg is None:
                star_kwargs = True
            else:
                kwargs[keyword.arg] = self._argument(keyword.value)
        keys = arg_keys([*node.args, *(keyword.value for keyword in node.keywords)])
        call = self.facts.call(func, [], {}, False, awaited, keys)
        if func != "?" and not func.startswith("super().") and "." in func:
            receiver, method = func.rsplit(".", 1)
            if method in MUTATING_METHODS:
                owners = self._branches(receiver) or [self._resolve(receiver)]
                for owner in owners:
                    if owner is not None:
                        self._wrote(owner)
        # A method of one of two objects: a call of each (the one that runs
        # is one of them), the first where the call's index is asked for.
        funcs = (self._branches(func) if "." in func else []) or [call.func]
        index = len(self.facts.calls)
        if len(funcs) > 1:
            self._split.add(index)
        line = getattr(node, "lineno", 0)
        outer = self._outer.pop(id(node), "")
        for resolved_func in funcs:
            self.facts.calls.append(
                CallFact(
                    resolved_func, args, kwargs, star_kwargs, awaited, line, call.keys,
                    handlers=[entry for level in reversed(self._handlers) for entry in level],
                    withs=self._withs[::-1],
                    cleanup=next((kind for kind in reversed(self._cleanup) if kind), ""),
                    outer=outer,
                    until=self._loop_end if self._loop_end > line else 0,
                    forwards=self._forwards(node),
                )
            )
        for value in (*node.args, *(keyword.value for keyword in node.keywords)):
            self._outer[id(value)] = func
        self._text_of(node)
        # The arguments are read, and what the callee expression evaluates
        # on the way; the receiver of a method is not read as a whole (what
        # the method reads of it is the callee's business, folded in later).
        if isinstance(node.func, ast.Attribute):
            self._parts(node.func.value)
        elif not isinstance(node.func, ast.Name):
            self.visit(node.func)
        for arg in node.args:
            self.visit(arg)
        for keyword in node.keywords:
            self.visit(keyword.value)
        return index

    def _text_of(self, node: ast.Call) -> None:
        """The special methods a call that makes text runs on its arguments:
        a builtin's (``str((t, 1))``: the items' ``repr``), a format's
        (``FMT.format(t)``), a join's (``"-".join(t)`` iterates ``t``). (A
        log line's arguments, formatted when the line is written, are not
        followed: most are exceptions caught, whose classes are not told.)"""
        if isinstance(node.func, ast.Name) and node.func.id in _TEXT_BUILTINS:
            # ``str((t, 1))``, ``print([a, b])``: a container written out
            # here is made text of by its items' ``repr``.
            for value in node.args:
                if isinstance(value, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
                    self._formats(value, "repr")
        if not isinstance(node.func, ast.Attribute):
            return
        method = node.func.attr
        values = [*node.args, *(keyword.value for keyword in node.keywords)]
        if method == "format":
            if isinstance(node.func.value, ast.Constant) and isinstance(node.func.value.value, str):
                self._format_fields(node.func.value.value, node)
            # ``"{}".format(x)`` runs ``x.__format__``, as ``format(x)`` does,
            # whether the format is written here or held in a name; the
            # items of a list spread into it (``*[x]``) are each formatted.
            for value in values:
                if isinstance(value, ast.Starred) and isinstance(value.value, (ast.List, ast.Tuple)):
                    for element in value.value.elts:
                        self._formats(element, "format")
                elif not isinstance(value, ast.Starred):
                    self._formats(value, "format")
        elif method == "join" and len(node.args) == 1:
            self._special("iter", node.args[0])

    def _format_fields(self, text: str, node: ast.Call) -> None:
        """The attributes a literal format's fields read of its arguments
        (``"<{0.label}>".format(t)`` reads ``t.label``, running a getter)."""
        try:
            fields = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
        except ValueError:
            return
        automatic = 0
        for name in fields:
            head, dot, rest = name.partition(".")
            head = head.split("[", 1)[0]
            if not head:
                given = node.args[automatic] if automatic < len(node.args) else None
                automatic += 1
            elif head.isdigit():
                given = node.args[int(head)] if int(head) < len(node.args) else None
            else:
                given = next((k.value for k in node.keywords if k.arg == head), None)
            if not dot or given is None or isinstance(given, ast.Starred):
                continue
            value: ast.expr = given
            for attribute in rest.split("[", 1)[0].split("."):
                if not attribute.isidentifier():
                    break
                value = ast.copy_location(ast.Attribute(value=value, attr=attribute, ctx=ast.Load()), given)
            if value is not given:
                self._read(value)

    def visit_Dict(self, node: ast.Dict) -> None:
        self.generic_visit(node)
        for key in node.keys:
            if key is not None:
                self._special("hash", key)

    def visit_Set(self, node: ast.Set) -> None:
        self.generic_visit(node)
        for element in node.elts:
            self._special("hash", element)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._read(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load):
            self._read(node)
            if node.attr in ("__dict__", "__class__"):
                self.facts.opaque = True
        self._parts(node.value)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Load):
            self._read(node)
        self._parts(node.value)
        self.visit(node.slice)
        if isinstance(node.ctx, ast.Load):
            self._special("[]", node.value)
            self._special("hash", node.slice)  # (a dict's key; a list's index)

    def _parts(self, value: ast.expr) -> None:
        """What an access chain evaluates on the way that is not the chain."""
        if isinstance(value, ast.Attribute):
            self._parts(value.value)
        elif isinstance(value, ast.Subscript):
            self._parts(value.value)
            self.visit(value.slice)
        elif not isinstance(value, ast.Name):
            self.visit(value)


def _caught(handler: ast.expr | None) -> list[str]:
    """What an ``except`` clause names: ["*"] for a bare one."""
    if handler is None:
        return ["*"]
    items = handler.elts if isinstance(handler, ast.Tuple) else [handler]
    return [dotted(item) or "?" for item in items]


# The exceptions a cancellation raises (asyncio's and concurrent.futures'
# ``CancelledError``, trio's ``Cancelled``) and what catches them all.
_CANCELLATION = frozenset({"CancelledError", "Cancelled", "BaseException"})


def _cut_short(handler: ast.ExceptHandler, index: int) -> bool:
    """Whether a second cancellation landing at a new ``await`` in
    statement ``index`` of ``handler`` would cut cleanup short: the handler
    may catch a cancellation (what runs there is the task's cleanup), or
    more of it follows (a rollback, a ``raise``). A retry's backoff, the
    last simple statement of its handler, is no cleanup."""
    caught = _caught(handler.type)
    if any(name == "*" or name == "?" or name.rsplit(".", 1)[-1] in _CANCELLATION for name in caught):
        return True
    statement = handler.body[index]
    if not isinstance(statement, (ast.Expr, ast.Return, ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return True  # a block: what follows inside it is not looked at
    return any(not isinstance(rest, (ast.Pass, ast.Continue)) for rest in handler.body[index + 1 :])


def _manager_text(manager: ast.expr) -> str:
    """A context manager as :attr:`CallFact.withs` spells it."""
    if isinstance(manager, ast.Call):
        return f"{dotted(manager.func) or '?'}()"
    return access_path(manager) or "?"


_BUILTIN_EXCEPTIONS = frozenset(
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
)


def _suppressed(manager: ast.expr) -> list[str]:
    """What a context manager handles of its body's exceptions, as an
    ``except`` clause would name it: every argument of a ``suppress(...)``,
    the builtin exceptions named to a call such as ``pytest.raises(...)``."""
    if not isinstance(manager, ast.Call):
        return []
    names = []
    for arg in manager.args:
        for item in arg.elts if isinstance(arg, ast.Tuple) else [arg]:
            names.append(dotted(item) or "?")
    if (dotted(manager.func) or "").rsplit(".", 1)[-1] == "suppress":
        return names
    return [name for name in names if name in _BUILTIN_EXCEPTIONS]


# Expressions whose value is made where they stand: no one else holds it.
_FRESH_VALUES = (
    ast.Constant, ast.JoinedStr, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.ListComp, ast.SetComp,
    ast.DictComp, ast.GeneratorExp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.Lambda,
)


def split_root(path: str) -> tuple[str, str]:
    """``self.a[].b`` -> ("self", ".a[].b")."""
    end = len(path)
    for separator in (".", "["):
        index = path.find(separator)
        if index != -1:
            end = min(end, index)
    return path[:end], path[end:]


def arg_keys(values: Iterable[ast.expr]) -> list[str]:
    """The access paths read anywhere inside ``values``."""
    found = []
    for value in values:
        for node in walk(value):
            if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)) and isinstance(node.ctx, ast.Load):
                path = access_path(node)
                if path is not None:
                    found.append(path)
    return found


def call_parts(call: ast.Call) -> tuple[str, list[str | None], dict[str, str | None], bool, list[str]]:
    """A call as written: the callee's text, each positional argument's
    access path ("*" for a starred one, ``None`` for a value made right
    there, "?" for another expression), the keyword arguments likewise,
    whether ``**kwargs`` is passed, and the paths read in the arguments."""

    def argument(expr: ast.expr) -> str | None:
        if isinstance(expr, (ast.Name, ast.Attribute, ast.Subscript)):
            return access_path(expr) or "?"
        return None if isinstance(expr, _FRESH_VALUES) else "?"

    args = ["*" if isinstance(arg, ast.Starred) else argument(arg) for arg in call.args]
    kwargs = {keyword.arg: argument(keyword.value) for keyword in call.keywords if keyword.arg is not None}
    star_kwargs = any(keyword.arg is None for keyword in call.keywords)
    keys = arg_keys([*call.args, *(keyword.value for keyword in call.keywords)])
    return _callee_text(call.func), args, kwargs, star_kwargs, keys


def paths_overlap(a: str, b: str) -> bool:
    """Whether two access paths reach one value: equal, or one is a prefix
    of the other (writing ``self.token`` changes ``self.token.value`` and
    what reading ``self`` sees, not ``self.other``)."""
    if a == b:
        return True
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return long.startswith(short) and long[len(short)] in ".["


def _literal_name(call: ast.Call, index: int) -> bool:
    return len(call.args) > index and isinstance(call.args[index], ast.Constant) and isinstance(call.args[index].value, str)


def _decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[str]:
    names = []
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        names.append(dotted(target) or "?")
    return names


def _shared_defaults(args: ast.arguments) -> dict[str, str]:
    """The parameters whose default is an object shared by every call that
    leaves them to it (see FunctionFacts.defaults)."""
    positional = [*args.posonlyargs, *args.args]
    pairs = [
        *zip(positional[len(positional) - len(args.defaults):], args.defaults),
        *((arg, default) for arg, default in zip(args.kwonlyargs, args.kw_defaults) if default is not None),
    ]
    found: dict[str, str] = {}
    for arg, default in pairs:
        if isinstance(default, ast.Constant) or (
            isinstance(default, (ast.Tuple, ast.UnaryOp)) and all(isinstance(n, (ast.Constant, ast.Tuple, ast.UnaryOp, ast.USub, ast.UAdd, ast.Load)) for n in ast.walk(default))
        ):
            continue  # an immutable value
        name = dotted(default) if isinstance(default, (ast.Name, ast.Attribute)) else None
        found[arg.arg] = name or "?"
    return found


def _parameters(args: ast.arguments) -> tuple[list[str], list[str]]:
    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
    return positional, [a.arg for a in args.kwonlyargs]


def _local_names(
    node: ast.FunctionDef | ast.AsyncFunctionDef, own: list[ast.AST]
) -> tuple[set[str], set[str]]:
    """The names the function binds in its own scope, and those it declares
    ``global`` or ``nonlocal`` (which are not its own); ``own``: the nodes
    of its own body (:func:`_own_nodes`)."""
    bound: set[str] = set()
    shared: set[str] = set()
    for current in own:
        if isinstance(current, (ast.Global, ast.Nonlocal)):
            shared.update(current.names)
        elif isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(current.name)
        elif isinstance(current, ast.Name) and isinstance(current.ctx, (ast.Store, ast.Del)):
            bound.add(current.id)
        elif isinstance(current, (ast.Import, ast.ImportFrom)):
            for alias in current.names:
                bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(current, ast.ExceptHandler) and current.name:
            bound.add(current.name)
    positional, kwonly = _parameters(node.args)
    bound.update(positional, kwonly)
    for extra in (node.args.vararg, node.args.kwarg):
        if extra is not None:
            bound.add(extra.arg)
    return bound - shared, shared


def _function_facts(
    node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str, class_name: str | None, module: str, is_package: bool
) -> tuple[FunctionFacts, list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]]]:
    decorators = _decorator_names(node)
    kind = "function"
    if class_name is not None:
        kind = "method"
        if "staticmethod" in decorators:
            kind = "staticmethod"
        elif "classmethod" in decorators:
            kind = "classmethod"
        elif "property" in decorators or any(d.endswith(".setter") or d.endswith("cached_property") for d in decorators):
            kind = "property"
    positional, kwonly = _parameters(node.args)
    defaults = _shared_defaults(node.args)
    # One walk of the function's own nodes, read three times below.
    own = list(_own_nodes(node))
    local_names, _ = _local_names(node, own)
    types: dict[str, str] = {}
    for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
        name = _annotation_name(arg.annotation)
        if name is not None:
            types[arg.arg] = name
        element = _element_name(arg.annotation)
        if element is not None:
            # ``devices: list[Device]``: what ``for device in devices`` binds.
            types[f"{arg.arg}[]"] = element
    # ``*args`` and ``**kwargs``: a tuple and a dict made for the call, of the
    # caller's objects.
    if node.args.vararg is not None:
        types[node.args.vararg.arg] = "tuple"
    if node.args.kwarg is not None:
        types[node.args.kwarg.arg] = "dict"
    facts = FunctionFacts(
        qualname=qualname,
        is_async=isinstance(node, ast.AsyncFunctionDef),
        kind=kind,
        class_name=class_name,
        decorators=decorators,
        params=positional,
        kwonly=kwonly,
        varargs=node.args.vararg is not None or node.args.kwarg is not None,
        types=types,
        defaults=defaults,
        aliases={},
        fresh=[],
        imports={},
        reads=[],
        writes=[],
        calls=[],
        locks=[],
        suspends=False,
        opaque=False,
        generator=False,
    )
    nested: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]] = []
    # Aliases and types of locals first (a name bound once to a path or a
    # constructor), so that uses before and after read the same.
    assigned: dict[str, list[ast.expr]] = {}
    # loop variable -> the items' path (``device`` -> "self.devices[]")
    loop_targets: dict[str, str | None] = {}
    for statement in own:
        if isinstance(statement, (ast.For, ast.AsyncFor, ast.comprehension)) and isinstance(statement.target, ast.Name):
            items = access_path(statement.iter) if isinstance(statement.iter, (ast.Name, ast.Attribute, ast.Subscript)) else None
            previous = loop_targets.get(statement.target.id, items)
            loop_targets[statement.target.id] = f"{items}[]" if items is not None and previous == items else None
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
            assigned.setdefault(statement.targets[0].id, []).append(statement.value)
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            annotated = _annotation_name(statement.annotation)
            if annotated is not None:
                types.setdefault(statement.target.id, annotated)
            element = _element_name(statement.annotation)
            if element is not None:
                types.setdefault(f"{statement.target.id}[]", element)
            if statement.value is not None:
                assigned.setdefault(statement.target.id, []).append(statement.value)
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            nested.append((statement, f"{qualname}.<locals>.{statement.name}"))
            facts.nested.append(statement.name)
    for statement in own:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            _bind_import(statement, facts.imports, module, is_package)
    own_locals = local_names - set(facts.params) - set(facts.imports)
    fresh: set[str] = set()
    for name in own_locals:
        values = assigned.get(name)
        if name in loop_targets:
            # A loop variable is each item in turn: items of a container
            # named by a path are that path's items; of anything else, of
            # unknown origin.
            items = loop_targets[name]
            facts.aliases[name] = items if items is not None and values is None else "?"
        elif values is None or len(values) != 1:
            # Bound by a with, an except, or more than once: one of several
            # values, any of which may be shared, unless all are made here.
            if values and all(isinstance(v, _FRESH_VALUES) for v in values):
                fresh.add(name)
            else:
                facts.aliases[name] = "?"
        else:
            value = values[0]
            path = access_path(value) if isinstance(value, (ast.Name, ast.Attribute, ast.Subscript)) else None
            constructed = _constructor(value)
            if path is not None:
                facts.aliases[name] = path
            elif constructed is not None:
                types.setdefault(name, constructed)
                fresh.add(name)
            elif isinstance(value, _FRESH_VALUES):
                fresh.add(name)
                literal = _literal_type(value)
                if literal is not None:
                    types.setdefault(name, literal)
            else:
                facts.aliases[name] = "?"
                literal = _literal_type(value)
                if literal is not None:
                    types.setdefault(name, literal)
                both = _branch_paths(value)
                if both is not None:
                    facts.branches[name] = both
    _settle(facts, own_locals, loop_targets, fresh)
    # ``*args`` passed on as it came, where no statement rebinds the name.
    rebound = frozenset(n.id for n in own if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load))
    star = node.args.vararg.arg if node.args.vararg is not None and node.args.vararg.arg not in rebound else ""
    reader = _FunctionReader(facts, local_names, star, rebound)
    reader.read_body(node.body)
    # A local bound once to a call's result is a path through that result
    # (``table = _table(client)``): read again with that known.
    results = {
        name: indexes[0] for name, indexes in reader.bound_to_calls.items()
        if len(indexes) == 1 and facts.aliases.get(name) == "?" and len(assigned.get(name, ())) == 1
    }
    if results:
        for name, index in results.items():
            facts.aliases[name] = f"{RESULT}{index}"
        _settle(facts, own_locals, loop_targets, fresh)
        for field_name in ("calls", "locks", "returns"):
            getattr(facts, field_name).clear()
        facts.suspends = facts.opaque = facts.generator = False
        reader = _FunctionReader(facts, local_names, star, rebound)
        reader.read_body(node.body)
    facts.reads = sorted(reader.reads)
    facts.writes = sorted(reader.writes)
    facts.late_reads = sorted(reader.late_reads)
    facts.late_writes = sorted(reader.late_writes)
    facts.read_lines = {path: reader.read_lines[path] for path in facts.reads if path in reader.read_lines}
    facts.stub = _is_stub(node)
    if not facts.is_async and any(isinstance(current, _LOOPS) for current in own):
        _read_sized_loops(node, own, facts)
    return facts, nested


# What loops: a function without one nests none (AM103 asks only of plain functions).
_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def _read_sized_loops(node: ast.FunctionDef | ast.AsyncFunctionDef, own: list[ast.AST], facts: FunctionFacts) -> None:
    """Set the ``sized_*`` facts of ``facts``: the loops of the function's
    own body whose length follows a parameter, counted where they multiply.

    A local bound from a parameter (``n = len(items)``, ``rest =
    items[1:]``) is sized by it too; ``self`` and ``cls`` are not
    parameters here (a loop over ``self.items`` may be three items long:
    the code does not say). A loop is sized when what it iterates (a
    ``for``, a comprehension's ``for``) or tests (a ``while``) reads such a
    name. Inside another sized loop it multiplies the work only when it
    reads one not through the outer loop's item: ``for a in points: for b
    in points`` is quadratic, ``for row in rows: for x in row`` visits
    each value once (its length follows ``rows`` through ``row`` alone)."""
    params = [*facts.params, *facts.kwonly]
    if facts.kind in ("method", "property", "classmethod") and facts.params:
        params = params[1:]
    for extra in (node.args.vararg, node.args.kwarg):
        if extra is not None:
            params.append(extra.arg)
    # name -> the parameters it follows: through anything (``origin``), or
    # not through a loop's item (``direct``).
    origin: dict[str, set[str]] = {name: {name} for name in params}
    direct: dict[str, set[str]] = {name: {name} for name in params}
    bindings: list[tuple[list[str], list[ast.expr], bool]] = []
    for current in own:
        targets: list[ast.expr] = []
        values: list[ast.expr] = []
        item = False
        if isinstance(current, ast.Assign):
            targets, values = list(current.targets), [current.value]
        elif isinstance(current, (ast.AnnAssign, ast.AugAssign)) and current.value is not None:
            targets, values = [current.target], [current.value]
        elif isinstance(current, (ast.For, ast.AsyncFor, ast.comprehension)):
            targets, values, item = [current.target], [current.iter], True
        if isinstance(current, ast.Assign) and _takes_item(current.value):
            item = True  # ``node = stack.pop()`` in a ``while stack:``: one item of a work list
        elif isinstance(current, ast.NamedExpr):
            targets, values = [current.target], [current.value]
        names = [n.id for t in targets for n in walk(t) if isinstance(n, ast.Name)]
        if names:
            bindings.append((names, values, item))
    # Loop items and what is made from them: ``groups.members[key]`` with
    # ``key`` an item is that item's part of ``groups``, not all of it.
    items: set[str] = set()
    changed = True
    while changed:
        changed = False
        for names, values, item in bindings:
            if item or any(isinstance(n, ast.Name) and n.id in items for v in values for n in walk(v)):
                if not set(names) <= items:
                    items.update(names)
                    changed = True
    for taint, through_items in ((origin, True), (direct, False)):
        changed = True
        while changed:
            changed = False
            for names, values, item in bindings:
                if item and not through_items:
                    continue
                found = _sized(values, taint, () if through_items else items)
                for name in names:
                    if not found <= taint.setdefault(name, set()):
                        taint[name] |= found
                        changed = True
    sized_by: set[str] = set()
    lines: dict[int, int] = {}
    deepest = 0

    def loop(expr: ast.expr, depth: int) -> int:
        """The depth inside a loop over (or while) ``expr``."""
        found = _sized([expr], origin)
        sized_by.update(found)
        if not found:
            return depth
        if depth and _window(expr, direct):
            return depth
        return depth + 1 if not depth or _sized([expr], direct, items) else max(depth, 1)

    def visit(current: ast.AST, depth: int) -> None:
        nonlocal deepest
        deepest = max(deepest, depth)
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            return  # runs when called, by whoever calls it
        if isinstance(current, ast.Call):
            # The facts know a call by its line: where calls of one line
            # stand in different loops, the outermost speaks for them all.
            line = current.lineno
            lines[line] = min(lines.get(line, depth), depth)
        if isinstance(current, (ast.For, ast.AsyncFor, ast.While)):
            # A ``for`` evaluates what it iterates once; a ``while`` its test each time round.
            head = current.test if isinstance(current, ast.While) else current.iter
            if head is not getattr(current, "test", None):
                visit(head, depth)
            inner = loop(head, depth)
            visit(current.test if isinstance(current, ast.While) else current.target, inner)
            for statement in current.body:
                visit(statement, inner)
            for statement in current.orelse:
                visit(statement, depth)
            return
        if isinstance(current, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            inner = depth
            for generator in current.generators:
                visit(generator.iter, inner)
                inner = loop(generator.iter, inner)
                for condition in generator.ifs:
                    visit(condition, inner)
            parts = [current.key, current.value] if isinstance(current, ast.DictComp) else [current.elt]
            for part in parts:
                visit(part, inner)
            return
        for child in child_nodes(current):
            visit(child, depth)

    for statement in node.body:
        visit(statement, 0)
    facts.sized_loops = deepest
    facts.sized_by = sorted(sized_by)
    facts.sized_calls = [[line, depth] for line, depth in sorted(lines.items()) if depth]


def _window(expr: ast.expr, direct: dict[str, set[str]]) -> bool:
    """``range(len(text) - len(token), len(text))``: both ends follow one
    argument, so its length is their difference, which the argument does
    not size (``range(i + 1, n)`` is a run of ``n``: not a window)."""
    if not (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "range"):
        return False
    if len(expr.args) < 2:
        return False
    return bool(_sized([expr.args[0]], direct) & _sized([expr.args[1]], direct))


def _takes_item(value: ast.expr) -> bool:
    """``stack.pop()``, ``queue.popleft()``: one item taken from a container."""
    return (
        isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
        and value.func.attr in ("pop", "popleft", "popitem")
    )


def _sized(values: list[ast.expr], origin: dict[str, set[str]], items: Iterable[str] = ()) -> set[str]:
    """The parameters whose size the names read in ``values`` follow; not
    through an index by one of ``items`` (``groups[key]``: an item's own
    part; a slice ``items[:i]`` is a run of them)."""
    found: set[str] = set()
    stack: list[ast.AST] = list(values)
    while stack:
        sub = stack.pop()
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
            found |= origin.get(sub.id, set())
        elif items and isinstance(sub, ast.Subscript) and not isinstance(sub.slice, ast.Slice) and any(
            isinstance(n, ast.Name) and n.id in items for n in walk(sub.slice)
        ):
            continue
        stack.extend(child_nodes(sub))
    return found


def _may_suspend(statement: ast.stmt) -> bool:
    """Whether a statement holds an ``await``, ``async for`` or ``async
    with`` of its own (not of a function defined in it)."""
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith)):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)) and node is not statement:
            continue
        stack.extend(child_nodes(node))
    return False


def _is_stub(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    for statement in body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and statement.value.value is Ellipsis:
            continue
        if isinstance(statement, ast.Raise) and statement.exc is not None:
            raised = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
            if dotted(raised) == "NotImplementedError":
                continue
        return False
    return True


def _branch_paths(value: ast.expr) -> list[str] | None:
    """The two paths of ``a if test else b`` (``self._tasks if tracked else
    self._background_tasks``), ``None`` for any other value."""
    if not isinstance(value, ast.IfExp):
        return None
    paths = [
        access_path(part) if isinstance(part, (ast.Name, ast.Attribute, ast.Subscript)) else None
        for part in (value.body, value.orelse)
    ]
    return [p for p in paths if p is not None] if all(paths) else None


def _settle(facts: FunctionFacts, own_locals: set[str], loop_targets: dict[str, str | None], fresh: set[str]) -> None:
    """Follow an alias of an alias to its end; one of a local made here is
    such a local too (or, for the items of a container made here, of
    unknown origin: ``for d in [self.a, self.b]``)."""
    for name in list(facts.aliases):
        value = facts.aliases[name]
        for _ in range(8):
            root, tail = split_root(value)
            if root in facts.aliases and facts.aliases[root] != value and root != name:
                value = facts.aliases[root] + tail
                continue
            if root in own_locals and root not in facts.aliases:
                value = "?" if tail.startswith("[]") or name in loop_targets else ""
            break
        else:
            value = "?"
        if value:
            facts.aliases[name] = value
        else:
            del facts.aliases[name]
            fresh.add(name)
    facts.fresh = sorted(fresh | (own_locals - set(facts.aliases) - fresh))


def _own_nodes(node: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.AST]:
    """Every node of the function's own body, not of the functions, lambdas
    and classes in it (their definitions themselves are given)."""
    stack: list[ast.AST] = list(reversed(node.body))
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(reversed(child_nodes(current)))


def through_imports(imports: Mapping[str, str], dotted: str) -> str:
    """``dotted`` (``decimal.getcontext``, ``getcontext``) with its first
    name read through ``imports`` (as :attr:`ModuleFacts.imports` holds
    them): ``within`` of ``from asyncio import wait_for as within`` is
    ``asyncio.wait_for``."""
    root, _, rest = dotted.partition(".")
    target = imports.get(root)
    if target is None:
        return dotted
    return ".".join(part for part in (target.replace(":", "."), rest) if part)


def _absolute(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of ``from <level dots><target> import ...``."""
    if not level:
        return target or ""
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    parts = parts[: len(parts) - (level - 1)] if level > 1 else parts
    return ".".join([*parts, *([target] if target else [])])


def _bind_import(
    statement: ast.Import | ast.ImportFrom,
    imports: dict[str, str],
    module: str,
    is_package: bool,
    star_imports: list[str] | None = None,
) -> None:
    """Record the names an import statement of ``module`` binds: a module
    as its name, a name from a module as ``module:name``."""
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            if alias.asname:
                imports[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                imports[top] = top
        return
    base = _absolute(module, is_package, statement.level, statement.module)
    for alias in statement.names:
        if alias.name != "*":
            imports[alias.asname or alias.name] = f"{base}:{alias.name}"
        elif star_imports is not None:
            star_imports.append(base)


# A def's place in its module: the line and column of its ``def``, the
# same in every parse of the same bytes (and no two defs share one).
_Place = tuple[int, int]


def _place(node: ast.FunctionDef | ast.AsyncFunctionDef) -> _Place:
    return node.lineno, node.col_offset


# The bytes of source whose trees the lazily read modules of a run keep
# (a tree takes about 27 times its source): past it, the least recently
# asked module lets its tree go and parses its bytes again when next asked.
KEPT_SOURCE_BYTES = 500_000


class TreeKeeper:
    """The trees the :class:`FunctionTable` s of a run keep, least recently
    used first, within :data:`KEPT_SOURCE_BYTES` of their source."""

    def __init__(self, budget: int = KEPT_SOURCE_BYTES) -> None:
        self.budget = budget
        self._tables: OrderedDict[int, FunctionTable] = OrderedDict()
        self._size = 0

    def used(self, table: FunctionTable) -> None:
        key = id(table)
        if key in self._tables:
            self._tables.move_to_end(key)
            return
        self._tables[key] = table
        self._size += table.source_size
        while self._size > self.budget and len(self._tables) > 1:
            _, oldest = self._tables.popitem(last=False)
            self._size -= oldest.source_size
            oldest.release()

    def forget(self, table: FunctionTable) -> None:
        if self._tables.pop(id(table), None) is not None:
            self._size -= table.source_size


class FunctionTable(Mapping[str, FunctionFacts]):
    """The ``functions`` of a module's facts, each read from its ``ast``
    when first asked for: a module's questions are mostly about a few of
    its functions. The same facts as :func:`module_facts` reads them all
    (in the same order when iterated).

    It keeps the module's ``ast`` until every function is read; given the
    module's bytes and a :class:`TreeKeeper`, only while the keeper has
    room, parsing the bytes again when a function is asked for after."""

    def __init__(
        self,
        pending: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str, str | None]],
        module: str,
        is_package: bool,
        *,
        source: bytes | None = None,
        keeper: TreeKeeper | None = None,
    ) -> None:
        self._pending = [(_place(node), qualname, class_name) for node, qualname, class_name in pending]
        self._module, self._is_package = module, is_package
        # A module-level function or a method read alone: of several
        # definitions of one name, the last one read of all (the first
        # written: they are read from the last up).
        self._first: dict[str, tuple[_Place, str | None]] = {}
        for place, qualname, class_name in self._pending:
            self._first.setdefault(qualname, (place, class_name))
        self._read: dict[tuple[_Place, str], tuple[FunctionFacts, list[tuple[_Place, str]]]] = {}
        self._all: dict[str, FunctionFacts] | None = None
        # The defs of the tree by place: those pending, and the nested ones
        # as their functions are read (all of them after a parse again).
        self._nodes: dict[_Place, ast.FunctionDef | ast.AsyncFunctionDef] | None = {
            _place(node): node for node, _, _ in pending
        }
        self._keeper = keeper if source is not None else None
        self._source = source if self._keeper is not None else None
        self.source_size = len(source) if source is not None else 0
        if self._keeper is not None:
            self._keeper.used(self)

    def release(self) -> None:
        """Let the tree go (its bytes are parsed again when next needed)."""
        if self._source is not None:
            self._nodes = None

    def _node(self, place: _Place) -> ast.FunctionDef | ast.AsyncFunctionDef:
        if self._nodes is None:
            assert self._source is not None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(self._source)
            self._nodes = {
                _place(node): node for node in statement_nodes(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            }
        if self._keeper is not None:
            self._keeper.used(self)
        return self._nodes[place]

    def _facts_of(
        self, place: _Place, qualname: str, class_name: str | None
    ) -> tuple[FunctionFacts, list[tuple[_Place, str]]]:
        key = (place, qualname)
        found = self._read.get(key)
        if found is None:
            function, nested = _function_facts(self._node(place), qualname, class_name, self._module, self._is_package)
            assert self._nodes is not None
            for inner, _ in nested:
                self._nodes[_place(inner)] = inner
            found = self._read[key] = (function, [(_place(inner), name) for inner, name in nested])
        return found

    def _every(self) -> dict[str, FunctionFacts]:
        if self._all is None:
            # Nested functions are known once their function is read: the
            # order in which module_facts reads them all, last first.
            every: dict[str, FunctionFacts] = {}
            pending = list(self._pending)
            while pending:
                place, qualname, class_name = pending.pop()
                function, nested = self._facts_of(place, qualname, class_name)
                every[qualname] = function
                pending.extend((inner, inner_name, None) for inner, inner_name in nested)
            self._all = every
            self._pending, self._first, self._read = [], {}, {}
            self._nodes = self._source = None
            if self._keeper is not None:
                self._keeper.forget(self)
        return self._all

    def get(self, qualname: str, default: Any = None) -> Any:
        if self._all is None and "<locals>" not in qualname:
            found = self._first.get(qualname)
            return default if found is None else self._facts_of(found[0], qualname, found[1])[0]
        return self._every().get(qualname, default)

    def __getitem__(self, qualname: str) -> FunctionFacts:
        found = self.get(qualname)
        if found is None:
            raise KeyError(qualname)
        return found

    def __contains__(self, qualname: object) -> bool:
        if self._all is None and isinstance(qualname, str) and "<locals>" not in qualname:
            return qualname in self._first
        return qualname in self._every()

    def __iter__(self) -> Iterator[str]:
        return iter(self._every())

    def __len__(self) -> int:
        return len(self._every())


def module_facts(
    tree: ast.Module,
    name: str,
    is_package: bool,
    *,
    lazy: bool = False,
    source: bytes | None = None,
    keeper: TreeKeeper | None = None,
    text: str | None = None,
) -> ModuleFacts:
    """The facts of the module ``name`` whose ``ast`` is ``tree``; ``lazy``:
    each function's read when first asked for (see :class:`FunctionTable`;
    ``source``, the bytes ``tree`` was parsed from, and ``keeper`` let it
    drop the tree meanwhile). ``source``, or the ``text`` the tree was
    parsed from, also spares a walk of every node where it shows that the
    module never names ``globals``."""
    facts = ModuleFacts(name, is_package, {}, [], {}, {}, [], False)
    assigned: set[str] = set()
    # module-level name -> how many statements bind it
    bindings: dict[str, int] = {}
    unlisted: set[str] = set()
    described_classes: list[ast.ClassDef] = []
    pending: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str, str | None]] = []
    for statement in _module_statements(tree.body):
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            _bind_import(statement, facts.imports, name, is_package, facts.star_imports)
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            pending.append((statement, statement.name, None))
        elif isinstance(statement, ast.ClassDef):
            if statement.name in facts.classes:
                # Two classes of one name (``if``/``else``): the facts hold
                # one method of each name.
                unlisted.update(_method_names(statement), facts.classes[statement.name].methods)
            else:
                described_classes.append(statement)
            facts.classes[statement.name] = _class_facts(statement, pending)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                for sub in walk(target):
                    if isinstance(sub, ast.Name):
                        bindings[sub.id] = bindings.get(sub.id, 0) + 1
                        assigned.add(sub.id)
            made = _constructor(statement.value) if isinstance(statement, ast.Assign) else None
            if made is not None and len(targets) == 1 and isinstance(targets[0], ast.Name):
                facts.singletons[targets[0].id] = made
            value = getattr(statement, "value", None)
            pairs: list[tuple[ast.expr, ast.expr | None]] = []
            if isinstance(statement, ast.Assign) and len(targets) == 1:
                if isinstance(targets[0], ast.Tuple) and isinstance(value, ast.Tuple) and len(targets[0].elts) == len(value.elts):
                    pairs = list(zip(targets[0].elts, value.elts))  # ``take, give = lock.acquire, lock.release``
                else:
                    pairs = [(targets[0], value)]
            for target, part in pairs:
                if isinstance(target, ast.Name) and isinstance(part, (ast.Name, ast.Attribute)) and dotted(part) is not None:
                    facts.aliases[target.id] = dotted(part)  # type: ignore[assignment]
        elif isinstance(statement, (ast.For, ast.AsyncFor, ast.While, ast.Delete, ast.With)) or type(statement).__name__ == "Match":
            # Names bound here otherwise than by an assignment read above (a
            # loop's, a ``with``'s, a ``match``'s): bound more than once.
            for sub in walk(statement):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                    bindings[sub.id] = bindings.get(sub.id, 0) + 2
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            func = dotted(statement.value.func)
            if func in ("exec", "eval") or (func or "").endswith("update") and dotted(getattr(statement.value.func, "value", None) or statement.value.func) == "globals":
                facts.dynamic = True
    functions = FunctionTable(pending, name, is_package, source=source, keeper=keeper)
    facts.functions = functions if lazy else dict(functions.items())  # type: ignore[assignment]
    facts.assigned = sorted(assigned)
    # One walk of the whole tree for what no function's facts need be read
    # for: ``globals()`` handed on, names a function declares ``global``
    # (the only way it rebinds one), classes the facts do not describe.
    described = {id(node) for node in described_classes}
    rebound: set[str] = set()
    handed_globals = False
    # Where the bytes show no call of ``globals`` can be, the statements
    # alone (a fifth of the nodes) hold the rest.
    spared = _never_names_globals(source) or (text is not None and _never_names_globals(text))
    for node in statement_nodes(tree) if spared else walk(tree):
        if isinstance(node, ast.Call):
            handed_globals = handed_globals or dotted(node.func) == "globals"
        elif isinstance(node, ast.Global):
            rebound.update(node.names)
        elif isinstance(node, ast.ClassDef) and id(node) not in described:
            # (By ``def`` or by assignment: ``get_value = _bump``.)
            unlisted.update(name for statement in node.body for name in _bound_in_block(statement))
    if source is None and text is None or may_bind_namespaces(source if source is not None else text):  # type: ignore[arg-type]
        unlisted.update(namespace_bound(tree))
    facts.unlisted = sorted(unlisted)
    facts.singletons = {
        name: made for name, made in facts.singletons.items()
        if bindings.get(name) == 1 and name not in rebound and name not in facts.functions and name not in facts.classes
        and name not in facts.imports
    }
    # An alias bound more than once, or rebound by a function, may be
    # either object: the model then reads it as its own name (unknown owner
    # of what it holds is not claimed).
    facts.aliases = {
        name: target for name, target in facts.aliases.items()
        if bindings.get(name) == 1 and name not in rebound and name not in facts.functions and name not in facts.classes
        and name not in facts.imports and target.split(".")[0] != name
    }
    if handed_globals:
        _read_globals_uses(tree, facts)
    return facts


# What a class made otherwise than by a class statement may show in a
# file's bytes: ``type(name, bases, {...})``; a metaclass (a class based on
# ``type``) that stores into its namespace or sets attributes; a hook that
# sets attributes on the class.
_TYPE_OF_THREE = re.compile(rb"\btype\((?:[^()]|\([^()]*\))*?,(?:[^()]|\([^()]*\))*?,")
_METACLASS = re.compile(rb"\bclass[ \t]+\w+[ \t]*\([^)]*\b(?:type|ABCMeta)\b")
_META_NAMES = ("__new__", "__prepare__", "__init__", "__init_subclass__")


def may_bind_namespaces(source: str | bytes) -> bool:
    """Whether a module's text may make a class whose methods no class
    statement shows (see :func:`namespace_bound`): cheap byte tests first,
    a parse of the few that pass."""
    data = source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source
    if b"type(" in data and _TYPE_OF_THREE.search(data) is not None:
        return True
    if b"setattr(" in data and b"__init_subclass__" in data:
        return True
    return (b"__new__" in data or b"setattr(" in data) and _METACLASS.search(data) is not None


def namespace_bound(tree: ast.Module) -> set[str]:
    """The method names the module binds in classes no class statement
    describes: the keys of ``type(name, bases, {...})``'s namespace, those a
    metaclass's ``__new__`` or ``__prepare__`` stores in the namespace it
    is given, and those set on a class by ``setattr`` in a metaclass or an
    ``__init_subclass__``. ``__getattr__`` stands for any name: a key or a
    name computed, a namespace that is not a literal; ``prefix*`` for the
    names a format with a literal head makes (``f"_attr_{name}"``)."""
    found: set[str] = set()

    def literal(node: ast.expr) -> str | None:
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None

    def key_of(node: ast.expr, values: Mapping[str, ast.expr]) -> str:
        """A name, a pattern (``_attr_*`` for ``f"_attr_{name}"``, or a
        name bound once to one), or ``__getattr__``: any name."""
        value = literal(node)
        if value is not None:
            return value
        if isinstance(node, ast.JoinedStr) and node.values:
            head = literal(node.values[0])  # type: ignore[arg-type]
            if head:
                return head + "*"
        if isinstance(node, ast.Name) and node.id in values:
            # (Bound in several places, ``private = f"__attr_{name}"`` in
            # each nested helper: one pattern, or any name.)
            keys = {key_of(value, {}) for value in values[node.id]}
            return keys.pop() if len(keys) == 1 else "__getattr__"
        return "__getattr__"

    def values_in(function: ast.AST) -> dict[str, list[ast.expr]]:
        """The names ``function`` (nested ones included) binds by plain
        assignments alone: what each may hold."""
        bound: dict[str, list[ast.expr]] = {}
        other: set[str] = set()
        for sub in walk(function):
            if isinstance(sub, ast.Assign) and len(sub.targets) == 1 and isinstance(sub.targets[0], ast.Name):
                bound.setdefault(sub.targets[0].id, []).append(sub.value)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                other.add(sub.id)  # (counted again below for a plain assignment)
            elif isinstance(sub, ast.arg):
                other.add(sub.arg)
        for name, values in bound.items():
            # A name bound by plain assignments alone has one Store per value.
            stores = sum(1 for sub in walk(function) if isinstance(sub, ast.Name) and sub.id == name and isinstance(sub.ctx, ast.Store))
            if stores == len(values):
                other.discard(name)
        return {name: found for name, found in bound.items() if name not in other}

    for node in walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type" and len(node.args) == 3:
            namespace = node.args[2]
            if isinstance(namespace, ast.Dict) and all(key is not None and literal(key) for key in namespace.keys):
                found.update(literal(key) for key in namespace.keys)  # type: ignore[misc, arg-type]
            else:
                found.add("__getattr__")
        elif isinstance(node, ast.ClassDef):
            metaclass = any((dotted(base) or "").rsplit(".", 1)[-1] in ("type", "ABCMeta") for base in node.bases)
            for statement in node.body:
                if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) or statement.name not in _META_NAMES:
                    continue
                if statement.name != "__init_subclass__" and not metaclass:
                    continue
                arguments = statement.args.args
                namespace_name = arguments[3].arg if statement.name == "__new__" and len(arguments) > 3 else None
                values = values_in(statement)
                for sub in walk(statement):
                    if (
                        isinstance(sub, ast.Subscript) and isinstance(sub.ctx, ast.Store)
                        and isinstance(sub.value, ast.Name) and sub.value.id == namespace_name
                    ):
                        found.add(key_of(sub.slice, values))
                    elif (
                        isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and isinstance(sub.func.value, ast.Name)
                        and sub.func.value.id == namespace_name and sub.func.attr in ("update", "setdefault", "__setitem__")
                    ):
                        found.add("__getattr__")
                    elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id == "setattr" and len(sub.args) >= 2:
                        found.add(key_of(sub.args[1], values))
    return found


def _never_names_globals(source: str | bytes | None) -> bool:
    """Whether a module's text, or its bytes, show that it never names
    ``globals``: ASCII (no other character, which may normalize to a
    letter of a name) without the word; bytes also in the default encoding
    (no coding cookie, whose codec may spell a letter otherwise)."""
    if source is None or not source.isascii():
        return False
    if isinstance(source, str):
        return "globals" not in source
    if b"globals" in source:
        return False
    return not any(b"coding" in line for line in source.split(b"\n", 2)[:2])


# Methods of the dict ``globals()`` gives that read it.
_DICT_READS = frozenset({"keys", "values", "items", "get", "copy", "__contains__"})


def _read_globals_uses(tree: ast.Module, facts: ModuleFacts) -> None:
    """Set ``facts.dynamic`` where a use of ``globals()`` may rebind the
    module's names; list the functions it is handed to."""
    parents: dict[int, ast.AST] = {}
    nodes = walk(tree)
    for node in nodes:
        for child in child_nodes(node):
            parents[id(child)] = node
    for node in nodes:
        if not (isinstance(node, ast.Call) and dotted(node.func) == "globals" and not node.args):
            continue
        parent = parents.get(id(node))
        if isinstance(parent, ast.Attribute) and parent.attr in _DICT_READS:
            continue  # ``globals().keys()``, ``globals().get(name)``
        keyword = None
        if isinstance(parent, ast.keyword) and parent.arg is not None:
            keyword = parent.arg
            parent = parents.get(id(parent))
        if isinstance(parent, ast.Call) and node is not parent.func:
            callee = dotted(parent.func)
            args = list(parent.args)
            if callee in ("functools.partial", "partial") and args:
                callee = dotted(args.pop(0))  # handed on when called
            where = keyword if keyword is not None else (
                str(args.index(node)) if node in args and not any(isinstance(a, ast.Starred) for a in args) else None
            )
            if callee is not None and callee not in ("exec", "eval") and where is not None:
                # (``partial`` binds it where given; the call of the
                # partial adds arguments before it only for a keyword.)
                if keyword is None and dotted(parent.func) in ("functools.partial", "partial"):
                    facts.dynamic = True
                    return
                facts.globals_to.append(f"{callee}:{where}")
                continue
        facts.dynamic = True
        return


def _module_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements that run at module level, those under ``if``, ``try``
    and ``with`` included."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.If, ast.Try, ast.With)) or type(statement).__name__ == "TryStar":
            for block in ("body", "orelse", "finalbody"):
                yield from _module_statements(getattr(statement, block, []) or [])
            for handler in getattr(statement, "handlers", []):
                yield from _module_statements(handler.body)


def _method_names(node: ast.ClassDef) -> set[str]:
    """The names of the functions a class body defines, those of the
    classes in it included."""
    names: set[str] = set()
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(statement.name)
        elif isinstance(statement, ast.ClassDef):
            names |= _method_names(statement)
    return names


def _bound_in_block(statement: ast.stmt) -> Iterator[str]:
    """The names a compound statement of a class body binds in the class's
    namespace: its targets, imports and definitions, down its blocks (not
    inside a ``def`` or ``class`` it holds)."""
    pending: list[ast.AST] = [statement]
    while pending:
        current = pending.pop()
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield current.name
            continue
        if isinstance(current, (ast.Import, ast.ImportFrom)):
            yield from ((alias.asname or alias.name).split(".")[0] for alias in current.names)
            continue
        for name in ("targets", "target", "items", "name"):
            value = getattr(current, name, None)
            for part in value if isinstance(value, list) else [value]:
                if isinstance(part, ast.withitem):
                    part = part.optional_vars
                if isinstance(part, ast.AST):
                    yield from (n.id for n in walk(part) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
                elif isinstance(part, str) and isinstance(current, ast.ExceptHandler):
                    yield part
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            pending.extend(getattr(current, name, None) or [])


def _class_facts(
    node: ast.ClassDef, pending: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str, str | None]]
) -> ClassFacts:
    # ``Base[T]``: a generic class subscripted; its MRO entry is the class.
    bases = [dotted(base.value if isinstance(base, ast.Subscript) else base) or "?" for base in node.bases]
    dynamic = any(keyword.arg == "metaclass" for keyword in node.keywords)
    methods: dict[str, str] = {}
    attribute_types: dict[str, str] = {}
    assigned: list[str] = []
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            qualname = f"{node.name}.{statement.name}"
            methods[statement.name] = qualname
            if isinstance(statement, ast.FunctionDef) and any(
                (dotted(d) or "").rsplit(".", 1)[-1] in ("property", "cached_property") for d in statement.decorator_list
            ):
                # ``@property def devices(self) -> list[Device]``: what
                # iterating ``self.devices`` gives.
                returned = _annotation_name(statement.returns)
                if returned is not None:
                    attribute_types.setdefault(statement.name, returned)
                element = _element_name(statement.returns)
                if element is not None:
                    attribute_types.setdefault(f"{statement.name}[]", element)
            pending.append((statement, qualname, node.name))
            if statement.name in ("__getattr__", "__getattribute__", "__init_subclass__"):
                dynamic = True
            # ``self.api = api`` with ``api: Api`` a parameter: of that class.
            arguments = (*statement.args.posonlyargs, *statement.args.args, *statement.args.kwonlyargs)
            annotated = {arg.arg: name for arg in arguments if (name := _annotation_name(arg.annotation)) is not None}
            elements = {arg.arg: name for arg in arguments if (name := _element_name(arg.annotation)) is not None}
            # (Assignments are statements: no expression is walked.)
            for sub in statement_nodes(statement):
                target, value, annotation = None, None, None
                if isinstance(sub, ast.Assign) and len(sub.targets) == 1:
                    target, value = sub.targets[0], sub.value
                elif isinstance(sub, ast.AnnAssign):
                    target, value, annotation = sub.target, sub.value, sub.annotation
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                ):
                    typed = _annotation_name(annotation) or _constructor(value) or _literal_type(value)
                    if typed is None and isinstance(value, ast.Name):
                        typed = annotated.get(value.id)
                    if typed is not None:
                        attribute_types.setdefault(target.attr, typed)
                    element = _element_name(annotation)
                    if element is None and isinstance(value, ast.Name):
                        element = elements.get(value.id)
                    if element is not None:
                        attribute_types.setdefault(f"{target.attr}[]", element)
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            typed = _annotation_name(statement.annotation)
            if typed is not None:
                attribute_types.setdefault(statement.target.id, typed)
            element = _element_name(statement.annotation)
            if element is not None:
                attribute_types.setdefault(f"{statement.target.id}[]", element)
        elif isinstance(statement, ast.Assign):
            # A method bound by assignment (``update = _update``) is not
            # followed: the name stands for something the body rebinds.
            for target in statement.targets:
                if isinstance(target, ast.Name) and target.id in methods:
                    dynamic = True
        if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            assigned.extend(t.id for target in targets for t in walk(target) if isinstance(t, ast.Name))
        elif not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Expr, ast.Pass)):
            # A name the body binds under ``if``/``try``/``with``/``for``,
            # by an import or a ``def`` there (``if X: get_value = _fast``):
            # what the class answers for it is not what one ``def`` says.
            assigned.extend(_bound_in_block(statement))
    return ClassFacts(
        node.name, bases, _decorator_names(node), dynamic, methods, attribute_types, sorted(set(assigned))
    )


__all__ = [
    "FACTS_FORMAT",
    "CallFact",
    "ClassFacts",
    "FunctionFacts",
    "FunctionTable",
    "ModuleFacts",
    "TreeKeeper",
    "access_path",
    "child_nodes",
    "dotted",
    "module_facts",
    "paths_overlap",
    "split_root",
    "statement_nodes",
    "through_imports",
    "walk",
]
