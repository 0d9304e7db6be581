"""The project model: the modules of a project, the calls between them, and
for every function a summary of what it does, folded through the functions
it calls.

Built from the stdlib ``ast`` only (:mod:`.facts`), one module at a time and
only for the modules a rule asks about: a run pays for the callees of its
candidate sites, not for the whole tree. A module's facts are cached by its
bytes, so a later run parses none of the modules that did not change.

Unknown stays unknown. A call the model cannot resolve, a function that runs
code by name (``exec``, ``getattr(obj, name)``), a class whose methods may
not be what its body says (a metaclass, ``__getattr__``): each makes the
summary :attr:`Effects.unknown`, and a rule then decides as it would with no
model at all. The model makes a rule surer where it can see, never bolder
where it cannot.

Summaries are in the callee's own terms: ``$0.token`` is the attribute
``token`` of its first parameter (``self`` for a method), ``g:pkg.mod.NAME``
a module-level name, ``?`` an object of unknown origin. :meth:`Project.call_effects`
puts a callee's summary in the caller's terms, through the call's arguments.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from .facts import (
    FACTS_FORMAT,
    CallFact,
    ClassFacts,
    FunctionFacts,
    ModuleFacts,
    module_facts,
    paths_overlap,
    split_root,
)

if TYPE_CHECKING:
    from ..source.cache import Cache
    from .callers import Callers

#: The files whose directory is a project's root: where its tests are run
#: from. (A ``setup.py`` inside a package is a module: Home Assistant's
#: ``homeassistant/setup.py``.)
ROOT_MARKERS = (".git", "pyproject.toml", "setup.cfg", "tox.ini", "setup.py")
# Directories no project imports from.
_SKIP_DIRS = frozenset(
    {
        ".asyncmend_cache", ".git", ".hg", ".mypy_cache", ".nox", ".pytest_cache", ".ruff_cache",
        ".svn", ".tox", ".venv", "__pycache__", "build", "dist", "node_modules", "site-packages",
        "venv", ".eggs",
    }
)
# How deep a summary follows calls; a deeper chain is unknown.
MAX_DEPTH = 12
# A project larger than this is indexed in part (its modules beyond are
# unknown to the model).
MAX_FILES = 200_000


def project_root(path: Path) -> Path | None:
    """The nearest directory at or above ``path`` that holds a project marker
    (a package's own ``setup.py`` module is none: a root is not a package)."""
    path = Path(os.path.abspath(path))
    start = path if path.is_dir() else path.parent
    for directory in (start, *start.parents):
        if any((directory / marker).exists() for marker in ROOT_MARKERS) and not (directory / "__init__.py").exists():
            return directory
    return None


def import_root(path: Path) -> Path:
    """The directory Python would import ``path`` from: the first one above
    it that is not a package."""
    directory = Path(os.path.abspath(path)).parent
    while (directory / "__init__.py").is_file() and directory != directory.parent:
        directory = directory.parent
    return directory


def indexes_for(paths: Iterable[Path]) -> tuple[ProjectIndex, ...]:
    """The projects of ``paths``: each file's nearest project root (a
    directory with ``pyproject.toml``, ``setup.cfg``, ``setup.py`` or
    ``.git``), walked whole; a file of no project gets the directory it
    would be imported from, with the packages in it (not every directory
    below: that may be a whole home directory)."""
    roots: dict[Path, bool] = {}
    known: dict[Path, tuple[Path, bool]] = {}
    for path in paths:
        directory = Path(os.path.abspath(path)).parent
        found = known.get(directory)
        if found is None:
            marked = project_root(directory)
            found = known[directory] = (marked, False) if marked is not None else (import_root(path), True)
        root, packages_only = found
        roots[root] = roots.get(root, True) and packages_only
    # A root inside another root's walk is covered by it.
    chosen = [
        root for root in roots
        if not any(other != root and not roots[other] and root.is_relative_to(other) for other in roots)
    ]
    return tuple(ProjectIndex.build(root, packages_only=roots[root]) for root in sorted(chosen))


@dataclass(frozen=True)
class ProjectIndex:
    """Where each module of a project is: dotted name -> file.

    A file's module name is its path below the first directory above it
    that is not a package (holds no ``__init__.py``), as Python finds it
    when that directory is on ``sys.path``. A name two files claim is left
    out: a call into it is then unknown, never resolved to the wrong one.
    """

    root: str
    modules: Mapping[str, str]
    # file -> module name (the inverse of ``modules``)
    paths: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, root: Path, *, packages_only: bool = False) -> ProjectIndex:
        """Index the ``.py`` files below ``root`` (with ``packages_only``,
        those of ``root`` itself and of the packages in it)."""
        files: list[Path] = []
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = [
                d for d in dirnames
                if d not in _SKIP_DIRS and not d.startswith(".")
                and (not packages_only or os.path.isfile(os.path.join(directory, d, "__init__.py")))
            ]
            files.extend(Path(directory) / name for name in filenames if name.endswith(".py"))
            if len(files) > MAX_FILES:
                break
        packages: dict[Path, bool] = {}

        def is_package(directory: Path) -> bool:
            known = packages.get(directory)
            if known is None:
                known = packages[directory] = (directory / "__init__.py").is_file()
            return known

        modules: dict[str, str] = {}
        claimed: dict[str, int] = {}
        for path in files:
            parts = [path.stem] if path.name != "__init__.py" else []
            directory = path.parent
            while is_package(directory) and directory != directory.parent:
                parts.append(directory.name)
                directory = directory.parent
            if not parts:
                continue
            name = ".".join(reversed(parts))
            claimed[name] = claimed.get(name, 0) + 1
            modules[name] = str(path)
        unique = {name: path for name, path in modules.items() if claimed[name] == 1}
        return cls(str(root), unique, {path: name for name, path in unique.items()})

    def module_of(self, path: str | Path) -> str | None:
        return self.paths.get(os.path.abspath(path))


@dataclass(frozen=True)
class Effects:
    """What calling a function may do, in its own terms (see the module's
    docstring)."""

    reads: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()
    # (receiver, method) of the calls into code the project does not hold
    external: frozenset[tuple[str, str]] = frozenset()
    # what it holds while it runs (``async with self._lock``)
    locks: frozenset[str] = frozenset()
    # whether it may suspend (``None``: not known)
    suspends: bool | None = False
    # it does something the model cannot see
    unknown: bool = False

    def __or__(self, other: Effects) -> Effects:
        return Effects(
            self.reads | other.reads,
            self.writes | other.writes,
            self.external | other.external,
            self.locks | other.locks,
            _either_suspends(self.suspends, other.suspends),
            self.unknown or other.unknown,
        )


UNKNOWN = Effects(suspends=None, unknown=True)
#: What the calls into libraries' objects reach beyond the project's names:
#: the remote side (a device, a server, a database), one for all of them.
REMOTE = "remote:"


def _either_suspends(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


# -- what a method's name says, for code the project does not hold ------------

# A call into a library the project does not hold is judged by the verb its
# name starts with (after ``async_`` and leading underscores): a read leaves
# its receiver as it was, anything else may change it.
READ_VERBS = frozenset(
    {
        "get", "fetch", "list", "read", "load", "query", "search", "describe", "count", "find",
        "lookup", "download", "retrieve", "info", "status", "stat", "exists", "is", "has",
        "browse", "scan", "resolve", "head", "peek", "iter", "recv",
    }
)
# Receivers that are one stream or one connection: one operation at a time,
# whatever the verb.
SINGLE_OPERATION_WORDS = frozenset(
    {
        "ws", "websocket", "socket", "sock", "stream", "reader", "writer", "conn", "connection",
        "cursor", "cur", "session", "tx", "txn", "transaction", "serial", "channel", "pipe",
        "pubsub", "protocol", "transport", "telnet", "ssh", "ser", "port",
    }
)
# Calls of the standard library and builtins that change nothing outside
# their arguments' own values: they neither read nor write shared state.
PURE_CALLS = frozenset(
    {
        "len", "str", "int", "float", "bool", "bytes", "repr", "isinstance", "issubclass", "hasattr",
        "getattr", "min", "max", "sum", "abs", "round", "sorted", "reversed", "list", "dict", "set",
        "frozenset", "tuple", "enumerate", "zip", "range", "map", "filter", "any", "all", "iter",
        "next", "hash", "id", "type", "callable", "format", "divmod", "pow", "chr", "ord", "hex",
        "super", "object", "slice", "vars", "dir",
    }
)
_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})
# Builtin names: a read of one reads no shared state.
_BUILTINS = frozenset(dir(builtins))


def verb(method: str) -> str:
    name = method.lstrip("_")
    if name.startswith("async_"):
        name = name[len("async_"):]
    return name.split("_", 1)[0].lower()


def is_read(method: str) -> bool:
    return verb(method) in READ_VERBS


def single_operation(receiver: str) -> bool:
    """Whether a receiver's name says it is one stream or one connection."""
    last = receiver.replace("[]", "").rsplit(".", 1)[-1].lstrip("_").lower()
    return any(word in SINGLE_OPERATION_WORDS for word in last.split("_"))


def _is_logging(receiver: str, method: str) -> bool:
    last = receiver.rsplit(".", 1)[-1].lower()
    return method in _LOG_METHODS and ("log" in last)


# -- the model -------------------------------------------------------------------


@dataclass
class _Target:
    """A call resolved to a function of the project."""

    module: str
    qualname: str
    # param index -> the caller's path for it (None: a value made at the call)
    bound: dict[int, str | None]
    # the call passes arguments the callee's parameters cannot be matched to
    unmatched: bool = False


class Project:
    """The project model of one run (see the module's docstring).

    ``sources`` gives the bytes of a file by path where the run already has
    them (what the engine is processing), so a module is read once.
    """

    def __init__(self, index: ProjectIndex, cache: Cache | None = None) -> None:
        self.index = index
        self.cache = cache
        self._facts: dict[str, ModuleFacts | None] = {}
        # path -> hash of the bytes the facts of a module were read from
        self.hashes: dict[str, str] = {}
        # While a file is analysed: the files of the modules its questions
        # read (see ModuleView), for the cache of its result.
        self.used: set[str] | None = None
        self._effects: dict[tuple[str, str], Effects] = {}
        self._suspends: dict[tuple[str, str], bool | None] = {}
        self._in_progress: set[tuple[str, str]] = set()
        # Set while a cycle of calls was cut: results depending on it are
        # not final until the cycle's head is done.
        self._cut: set[tuple[str, str]] = set()
        # What the byte scans of the project's files found, for the run
        # (see codemods.model.callers): a question -> the modules.
        self.mentions: dict[str, tuple[str, ...]] = {}

    # -- modules ----------------------------------------------------------------

    def facts(self, module: str) -> ModuleFacts | None:
        if module not in self._facts:
            self._facts[module] = self._load(module)
        if self.used is not None:
            path = self.index.modules.get(module)
            if path is not None and path in self.hashes:
                self.used.add(path)
        return self._facts[module]

    def add(self, module: str, tree: ast.Module, is_package: bool) -> ModuleFacts:
        """Take the facts of ``module`` from a tree the caller already has."""
        facts = module_facts(tree, module, is_package)
        self._facts[module] = facts
        return facts

    def _load(self, module: str) -> ModuleFacts | None:
        path = self.index.modules.get(module)
        if path is None:
            return None
        try:
            data = Path(path).read_bytes()
        except OSError:
            return None
        self.hashes[path] = hashlib.sha256(data).hexdigest()
        key = None
        if self.cache is not None:
            key = self.cache.key(data, f"facts:{FACTS_FORMAT}:{module}")
            stored = self.cache.load(key)
            if stored is not None:
                try:
                    return ModuleFacts.from_json(stored)
                except (KeyError, TypeError, ValueError):
                    pass
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(data)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        facts = module_facts(tree, module, path.endswith("__init__.py"))
        if self.cache is not None and key is not None:
            self.cache.store(key, facts.to_json())
        return facts

    def uses_library(self, names: Iterable[str]) -> bool:
        """Whether any module of the project imports one of ``names``
        (checked on the bytes first: a module that does not spell the name
        is not parsed)."""
        words = [name.encode() for name in names]
        for module, path in self.index.modules.items():
            try:
                data = Path(path).read_bytes()
            except OSError:
                continue
            if not any(word in data for word in words):
                continue
            facts = self.facts(module)
            if facts is None:
                continue
            for target in facts.imports.values():
                top = target.split(":")[0].split(".")[0]
                if top in names:
                    return True
        return False

    # -- resolution -------------------------------------------------------------

    def _lookup(self, module: str, name: str, depth: int = 0) -> tuple[str, str, str] | None:
        """What the module-level ``name`` of ``module`` is, through its
        imports: ("function" | "class" | "module", module, qualname)."""
        if depth > 6:
            return None
        facts = self.facts(module)
        if facts is None:
            return None
        if name in facts.functions and "." not in name:
            if name in facts.assigned:
                return None  # rebound: not the def
            return ("function", module, name)
        if name in facts.classes:
            return None if name in facts.assigned else ("class", module, name)
        target = facts.imports.get(name)
        if target is None:
            if name in self.index.modules and not facts.assigned:
                return None
            return None
        source, _, attribute = target.partition(":")
        if not attribute:
            return ("module", source, "")
        if f"{source}.{attribute}" in self.index.modules:
            return ("module", f"{source}.{attribute}", "")
        return self._lookup(source, attribute, depth + 1)

    def _resolve_dotted(self, module: str, dotted: str) -> tuple[str, str, str] | None:
        """``mod.sub.func`` or ``Class`` as seen from ``module``."""
        head, *rest = dotted.split(".")
        found = self._lookup(module, head)
        while found is not None and rest:
            kind, where, qualname = found
            part = rest.pop(0)
            if kind == "module":
                if f"{where}.{part}" in self.index.modules:
                    found = ("module", f"{where}.{part}", "")
                else:
                    found = self._lookup(where, part)
            elif kind == "class":
                method = self._method(where, qualname, part)
                return None if method is None or rest else ("function", method[0], method[1])
            else:
                return None
        return found

    def _class(self, module: str, name: str) -> ClassFacts | None:
        facts = self.facts(module)
        return facts.classes.get(name) if facts is not None else None

    def _mro(self, module: str, name: str) -> list[tuple[str, str]] | None:
        """The project classes of the class's MRO (a linearization of its
        bases, depth first as written; enough for the single and simple
        multiple inheritance of application code). ``None`` when a class on
        the way may not be what its body says."""
        order: list[tuple[str, str]] = []
        stack = [(module, name)]
        seen: set[tuple[str, str]] = set()
        while stack:
            where, cls_name = stack.pop(0)
            if (where, cls_name) in seen:
                continue
            seen.add((where, cls_name))
            cls = self._class(where, cls_name)
            if cls is None:
                return None
            if cls.dynamic or any(d not in ("dataclass", "dataclasses.dataclass", "final", "typing.final") for d in cls.decorators):
                return None
            order.append((where, cls_name))
            for base in cls.bases:
                if base in ("object", "Generic", "typing.Generic", "ABC", "abc.ABC", "Protocol", "typing.Protocol"):
                    continue
                found = self._resolve_dotted(where, base)
                if found is None or found[0] != "class":
                    # A base outside the project (or not resolvable):
                    # mark it, its methods are not seen.
                    order.append(("", base))
                    continue
                stack.append((found[1], found[2]))
        return order

    def _method(self, module: str, class_name: str, method: str, after: tuple[str, str] | None = None) -> tuple[str, str] | None:
        """(module, qualname) of ``method`` as the class (or the classes
        after ``after`` in its MRO, for ``super()``) resolves it; ``None``
        when it is not found in the project or may come from a class the
        project does not hold."""
        mro = self._mro(module, class_name)
        if mro is None:
            return None
        if after is not None:
            if after not in mro:
                return None
            mro = mro[mro.index(after) + 1 :]
        for where, name in mro:
            if not where:
                return None  # an outside base may define it first
            cls = self._class(where, name)
            assert cls is not None
            if method in cls.methods:
                return where, cls.methods[method]
        return None

    def _type_of(self, module: str, function: FunctionFacts, root: str) -> tuple[str, str] | None:
        """The project class of a name in ``function``: a parameter's
        annotation, a local's constructor, ``self``/``cls``."""
        if function.class_name is not None and function.params and root == function.params[0] and function.kind in ("method", "property", "classmethod"):
            return module, function.class_name
        typed = function.types.get(root)
        if typed is None:
            return None
        found = self._resolve_dotted(module, typed)
        return (found[1], found[2]) if found is not None and found[0] == "class" else None

    def _attribute_type(self, module: str, class_name: str, attribute: str) -> tuple[str, str] | None:
        mro = self._mro(module, class_name)
        for where, name in mro or ():
            if not where:
                return None
            cls = self._class(where, name)
            if cls is not None and attribute in cls.attribute_types:
                found = self._resolve_dotted(where, cls.attribute_types[attribute])
                return (found[1], found[2]) if found is not None and found[0] == "class" else None
        return None

    def resolve(self, module: str, function: FunctionFacts, call: CallFact) -> _Target | None:
        """The project function a call of ``function`` (in ``module``) runs,
        with its parameters bound to the caller's paths; ``None`` when it
        cannot be told."""
        func = call.func
        if func == "?":
            return None
        if func.startswith("super()."):
            if function.class_name is None or not function.params:
                return None
            found = self._method(module, function.class_name, func[len("super()."):], after=(module, function.class_name))
            return self._bind(found, call, function.params[0]) if found else None
        head, _, rest = func.partition(".")
        if not rest:
            if head in function.nested:
                return self._bind((module, f"{function.qualname}.<locals>.{head}"), call, None)
            if head in function.params or head in function.aliases:
                return None  # a callable passed in: may be anything
            found = self._lookup(module, head)
            if found is None:
                return None
            if found[0] == "function":
                return self._bind((found[1], found[2]), call, None)
            if found[0] == "class":
                init = self._method(found[1], found[2], "__init__")
                return self._bind(init, call, "") if init else None
            return None
        receiver, method = func.rsplit(".", 1)
        # A method of an object whose class the model knows.
        owner = self._receiver_class(module, function, receiver)
        if owner is not None:
            found = self._method(owner[0], owner[1], method)
            return self._bind(found, call, receiver) if found else None
        # A function of an imported module (``helpers.fetch(x)``).
        found = self._resolve_dotted(module, func) if split_root(func)[0] not in function.params else None
        if found is not None and found[0] == "function":
            facts = self.facts(found[1])
            fn = facts.functions.get(found[2]) if facts else None
            if fn is not None and fn.kind in ("function", "staticmethod"):
                return self._bind((found[1], found[2]), call, None)
        return None

    def _receiver_class(self, module: str, function: FunctionFacts, receiver: str) -> tuple[str, str] | None:
        """The project class of ``receiver`` (``self``, ``self.api``, ``param``)."""
        root, tail = split_root(receiver)
        owner = self._type_of(module, function, root)
        if owner is None:
            return None
        for attribute in [part for part in tail.split(".") if part]:
            if "[" in attribute:
                return None
            owner = self._attribute_type(owner[0], owner[1], attribute)
            if owner is None:
                return None
        return owner

    def _bind(self, found: tuple[str, str] | None, call: CallFact, receiver: str | None) -> _Target | None:
        """Bind the callee's parameters to the call's argument paths.
        ``receiver``: the path of a method's object (``""`` for a new
        object, a constructor's), or ``None`` for a plain function."""
        if found is None:
            return None
        facts = self.facts(found[0])
        callee = facts.functions.get(found[1]) if facts else None
        if callee is None:
            return None
        bound: dict[int, str | None] = {}
        params = list(callee.params)
        offset = 0
        unmatched = False
        if receiver is not None and callee.kind in ("method", "property", "classmethod"):
            bound[0] = receiver or None
            offset = 1
        elif receiver is not None and callee.kind == "staticmethod":
            offset = 0
        for index, arg in enumerate(call.args):
            if arg == "*":
                unmatched = True
                break
            position = index + offset
            if position >= len(params):
                unmatched = unmatched or not callee.varargs
                break
            bound[position] = arg
        for name, arg in call.kwargs.items():
            if name in params:
                bound[params.index(name)] = arg
            elif name not in callee.kwonly and not callee.varargs:
                unmatched = True
        if call.star_kwargs:
            unmatched = True
        return _Target(found[0], found[1], bound, unmatched)

    # -- summaries --------------------------------------------------------------

    def function(self, module: str, qualname: str) -> FunctionFacts | None:
        facts = self.facts(module)
        return facts.functions.get(qualname) if facts is not None else None

    def effects(self, module: str, qualname: str, depth: int = 0) -> Effects:
        """What calling ``qualname`` of ``module`` may do, in its own terms."""
        key = (module, qualname)
        known = self._effects.get(key)
        if known is not None:
            return known
        if key in self._in_progress:
            # A cycle of calls: this approximation is revised when the
            # cycle's head is done (see below).
            self._cut.add(key)
            return Effects()
        if depth > MAX_DEPTH:
            return UNKNOWN
        function = self.function(module, qualname)
        if function is None:
            return UNKNOWN
        self._in_progress.add(key)
        try:
            result = self._summarize(module, function, depth)
            if key in self._cut:
                # Recomputed until the cycle's members agree (monotone: the
                # sets only grow), with a bound as a guard.
                for _ in range(6):
                    self._effects[key] = result
                    again = self._summarize(module, function, depth)
                    if again == result:
                        break
                    result = again
                else:
                    result = UNKNOWN
                self._cut.discard(key)
        finally:
            self._in_progress.discard(key)
        if not self._cut:
            self._effects[key] = result
        return result

    def _summarize(self, module: str, function: FunctionFacts, depth: int) -> Effects:
        facts = self.facts(module)
        assert facts is not None
        params = function.params
        if function.opaque or function.generator or facts.dynamic:
            return UNKNOWN

        def own(path: str) -> str | None:
            return self._own_path(module, facts, function, params, path)

        reads = {p for p in (own(path) for path in function.reads) if p is not None}
        writes = {p for p in (own(path) for path in function.writes) if p is not None}
        locks = {p for p in (own(path) for path in function.locks) if p is not None}
        result = Effects(frozenset(reads), frozenset(writes), frozenset(), frozenset(locks), function.suspends)
        if any(p == "?" or p.startswith("?") for p in writes):
            return UNKNOWN
        for call in function.calls:
            result = result | self._call_in(module, function, call, own, depth)
            if result.unknown:
                return UNKNOWN
        return result

    def _own_path(
        self, module: str, facts: ModuleFacts, function: FunctionFacts, params: list[str], path: str
    ) -> str | None:
        """A path of ``function`` in its own terms: ``$i`` for parameter
        ``i``, ``g:module.NAME`` for a module-level name; ``None`` for what
        no caller can see (a name of a module imported, a class, a
        function); "?" for a name of an enclosing function."""
        root, tail = split_root(path)
        if root == "?":
            return "?" + tail
        if root.startswith("@"):
            return path  # a loop item of the caller's question
        if root in params:
            return f"${params.index(root)}{tail}"
        if root in function.kwonly:
            return f"$k:{root}{tail}"
        if root in facts.imports:
            target = facts.imports[root]
            source, _, attribute = target.partition(":")
            if not attribute or f"{source}.{attribute}" in self.index.modules:
                return None if not tail else f"g:{(source + '.' + attribute) if attribute else source}{tail}"
            return f"g:{source}.{attribute}{tail}"
        if root in facts.functions or root in facts.classes:
            # The class or function object itself; its class attributes
            # (``Cls.cache``) are shared state.
            return f"g:{module}.{root}{tail}" if tail else None
        if root in facts.assigned:
            return f"g:{module}.{root}{tail}"
        if root in _BUILTINS:
            return None
        # A free variable of an enclosing function, or a name the module
        # binds in a way not read above: shared, with unknown owner.
        return "?" + tail

    def _call_in(  # type: ignore[no-untyped-def]
        self, module: str, function: FunctionFacts, call: CallFact, own, depth: int, *, top: bool = False
    ) -> Effects:
        """What one call in ``function`` may do, in ``function``'s terms
        (``top``: the call a rule asks about, not one inside a callee)."""
        head, _, rest = call.func.partition(".")
        if not rest and head in PURE_CALLS and head not in function.params and head not in function.aliases:
            return Effects()
        target = self.resolve(module, function, call)
        if target is not None:
            callee = self.effects(target.module, target.qualname, depth + 1)
            if callee.unknown:
                return UNKNOWN
            callee_facts = self.function(target.module, target.qualname)
            suspends = callee.suspends if (callee_facts is not None and callee_facts.is_async and call.awaited) else False
            if callee_facts is not None and callee_facts.is_async and not call.awaited:
                # A coroutine made and not awaited here runs elsewhere (a
                # task, a gather): what it does is not this call's alone.
                return UNKNOWN
            mapped = self._map(callee, target, own)
            if mapped is None:
                return UNKNOWN
            return Effects(mapped.reads, mapped.writes, mapped.external, mapped.locks, suspends, False)
        # Not in the project: a library's function or method.
        if call.func == "?":
            return UNKNOWN
        if not rest:
            facts = self.facts(module)
            if top or facts is None or head not in facts.imports or head in facts.assigned:
                # A callable handed in, bound at run time, rebound, or not
                # bound here at all: it may be anything. (The awaited call
                # of a statement, a library function, is left to the rule's
                # own reading of its arguments.)
                return UNKNOWN
            # A library function: it may change what it is given, unless
            # its name says it reads.
            args = [a for a in (*call.args, *call.kwargs.values()) if a not in (None, "*")]
            mapped_args = {own(a) for a in args}
            if "?" in mapped_args:
                mapped_args.discard("?")
            mapped_args.discard(None)  # type: ignore[arg-type]
            return Effects(
                reads=frozenset(mapped_args),  # type: ignore[arg-type]
                writes=frozenset() if is_read(head) else frozenset(mapped_args),  # type: ignore[arg-type]
                suspends=None if call.awaited else False,
            )
        receiver, method = call.func.rsplit(".", 1)
        receiver_path = own(receiver)
        if _is_logging(receiver, method):
            return Effects()
        facts = self.facts(module)
        if top and (receiver_path is None or (facts is not None and split_root(receiver)[0] in facts.imports)):
            # The awaited call of a statement is a function of a library
            # module (``registry.async_load(hass)``): left to the rule's own
            # reading of its arguments, as a bare library function is.
            return UNKNOWN
        if receiver_path is None:
            # A module the project does not hold (``requests.get``), or a
            # value made here (``[].append``): nothing shared changes, but
            # what it is given may.
            args = {own(a) for a in (*call.args, *call.kwargs.values()) if a not in (None, "*")}
            args.discard(None)  # type: ignore[arg-type]
            if "?" in args and not is_read(method):
                return UNKNOWN
            args.discard("?")
            return Effects(
                reads=frozenset(args),  # type: ignore[arg-type]
                writes=frozenset() if is_read(method) else frozenset(args),  # type: ignore[arg-type]
                suspends=None if call.awaited else False,
            )
        owner = self._receiver_class(module, function, receiver)
        if owner is not None:
            # An object of a project class whose MRO has no such method: a
            # callable stored on it (``self.update_method()``) may be
            # anything; one a library base class defines is the library's.
            mro = self._mro(owner[0], owner[1])
            if mro is None or all(where for where, _ in mro):
                return UNKNOWN
        if receiver_path.startswith("?") and not is_read(method):
            # An object of unknown origin: a change of it may be a change
            # of anything.
            return UNKNOWN
        # A library's object (a client, a device): what its methods do stays
        # in the library, and reaches state the project does not name (the
        # device itself, a server): REMOTE. Reads of it commute with each
        # other. Any other call may change what any other library call
        # observes (a command, then a refresh through another handle) ...
        # unless the call says what it is about: its arguments read a
        # parameter or a loop item (``delete(where={"id": server.id})``),
        # and then it reaches that part of the remote side alone.
        external = frozenset({(receiver_path, method)})
        suspends = None if call.awaited else False
        keys = {REMOTE + key for key in (own(k) for k in call.keys) if key is not None and not key.startswith(("g:", "?"))}
        remote = frozenset(keys) if keys else frozenset({REMOTE})
        if single_operation(receiver):
            # One stream, one connection: one operation at a time on it.
            return Effects(
                reads=frozenset({receiver_path}) | remote,
                writes=frozenset({receiver_path}) | remote,
                external=external,
                suspends=suspends,
            )
        if is_read(method):
            return Effects(reads=frozenset({receiver_path}) | remote, external=external, suspends=suspends)
        return Effects(reads=frozenset({receiver_path}) | remote, writes=remote, external=external, suspends=suspends)

    def _map(self, callee: Effects, target: _Target, own) -> Effects | None:  # type: ignore[no-untyped-def]
        """The callee's effects in the caller's terms; ``None`` when a path
        cannot be put in them."""
        callee_facts = self.function(target.module, target.qualname)
        assert callee_facts is not None

        def put(path: str) -> str | None | bool:
            if path.startswith(REMOTE) and path != REMOTE:
                # What a library call is about, in the caller's terms; about
                # a value made at the call: about anything.
                inner = put(path[len(REMOTE):])
                return inner if inner is False else REMOTE + inner if isinstance(inner, str) and not inner.startswith("?") else REMOTE
            if not path.startswith("$"):
                return path  # a global, or "?"
            head, tail = split_root(path)
            if head.startswith("$k:"):
                name = head[3:]
                if name not in callee_facts.kwonly:
                    return False
                return False if target.unmatched else None
            index = int(head[1:])
            if index not in target.bound:
                # A parameter left to its default: a value made by the
                # callee's own definition (a default object is shared
                # between calls: unknown).
                return False if target.unmatched else None
            argument = target.bound[index]
            if argument is None:
                return None  # a value made at the call site
            if argument == "?":
                return "?" + tail
            mapped = own(argument)
            if mapped is None:
                return None
            return mapped + tail

        def put_all(paths: frozenset[str]) -> frozenset[str] | None:
            out = set()
            for path in paths:
                mapped = put(path)
                if mapped is False:
                    return None
                if mapped is not None:
                    out.add(mapped)  # type: ignore[arg-type]
            return frozenset(out)

        reads, writes, locks = put_all(callee.reads), put_all(callee.writes), put_all(callee.locks)
        if reads is None or writes is None or locks is None:
            return None
        if any(w.startswith("?") for w in writes):
            return None
        external = set()
        for receiver, method in callee.external:
            mapped = put(receiver)
            if mapped is False:
                return None
            if mapped is not None:
                external.add((mapped, method))
        return Effects(reads, writes, frozenset(external), locks, callee.suspends, False)  # type: ignore[arg-type]

    def suspends(self, module: str, qualname: str, depth: int = 0) -> bool | None:
        """Whether calling (and awaiting) ``qualname`` may suspend: it awaits
        something other than a call, iterates or enters asynchronously, or
        awaits a call that may; ``None`` when that cannot be told. Apart from
        :meth:`effects`: a function whose effects are unknown may still be
        known never to suspend (a dictionary lookup behind an ``async def``)."""
        key = (module, qualname)
        if key in self._suspends:
            return self._suspends[key]
        if depth > MAX_DEPTH:
            return None
        function = self.function(module, qualname)
        if function is None:
            return None
        if not function.is_async:
            return False
        self._suspends[key] = False  # a cycle adds nothing by itself
        answer: bool | None = True if function.suspends or function.generator else False
        if answer is False:
            for call in function.calls:
                if not call.awaited:
                    continue
                target = self.resolve(module, function, call)
                if target is None:
                    answer = None
                    continue
                callee = self.function(target.module, target.qualname)
                found = self.suspends(target.module, target.qualname, depth + 1) if callee and callee.is_async else None
                if found is True:
                    answer = True
                    break
                if found is None:
                    answer = None
        self._suspends[key] = answer
        return answer

    def call_suspends(self, module: str, qualname: str, call: CallFact, function: FunctionFacts | None = None) -> bool | None:
        """Whether awaiting ``call`` (made in ``qualname``) may suspend."""
        function = function or self.function(module, qualname)
        if function is None:
            return None
        target = self.resolve(module, function, call)
        if target is None:
            return None
        callee = self.function(target.module, target.qualname)
        if callee is None or not callee.is_async:
            return None
        return self.suspends(target.module, target.qualname)

    # -- what the rules ask -----------------------------------------------------

    def call_effects(
        self, module: str, qualname: str, call: CallFact, function: FunctionFacts | None = None
    ) -> Effects:
        """What ``call``, made in ``qualname`` of ``module``, may do, in the
        caller's terms (its parameters by name, ``self.x``, globals as
        ``g:module.NAME``, a loop item as ``@name``); :data:`UNKNOWN` when
        the model cannot tell. ``function``: the caller's facts, as the
        question sees them (default: the module's)."""
        function = function or self.function(module, qualname)
        if function is None:
            return UNKNOWN
        caller = function
        return self._call_in(module, function, call, lambda path: self.caller_path(module, caller, path), 0, top=True)

    def caller_path(self, module: str, function: FunctionFacts, path: str) -> str | None:
        """``path``, read or written in ``function`` of ``module``, in the
        terms of :meth:`call_effects`: its parameters by name, a global as
        ``g:module.NAME``, "?" for an object of unknown origin; ``None`` for
        what no caller can see."""
        facts = self.facts(module)
        assert facts is not None
        params = function.params
        mapped = self._own_path(module, facts, function, params, path)
        if mapped is None or not mapped.startswith("$"):
            return mapped
        head, tail = split_root(mapped)
        if head.startswith("$k:"):
            return head[3:] + tail
        return params[int(head[1:])] + tail

    def lookup(self, module: str, dotted: str) -> tuple[str, str, str] | None:
        """What ``dotted`` (``name``, ``mod.func``, ``Class.method``) is as
        ``module`` sees it: ("function" | "class" | "module", its module,
        its qualname); ``None`` where the model cannot tell (a name rebound,
        or not of the project)."""
        return self._resolve_dotted(module, dotted)

    def as_written(self, module: str, class_name: str) -> bool:
        """Whether the methods of the class, and of the classes of the
        project it inherits from, are what their bodies say: none has a
        metaclass, ``__getattr__``, ``__getattribute__``,
        ``__init_subclass__``, a method rebound in its body or a decorator
        other than ``dataclass`` and ``final``. (A base outside the project
        is not seen.)"""
        return self._mro(module, class_name) is not None



def view_of(project: Project | None, filename: str, tree: ast.Module) -> ModuleView:
    """The model as the analysis of ``filename`` (whose ``ast`` is ``tree``)
    asks it; without a project, a model of that one file."""
    if project is None:
        project = Project(ProjectIndex("", {}, {}))
    module = project.index.module_of(filename) if filename not in ("<string>", "-") else None
    if module is None:
        stem = Path(filename).stem if filename not in ("<string>", "-") else "__main__"
        module = stem if stem.isidentifier() else "__main__"
    return ModuleView(project, module, tree, Path(filename).name == "__init__.py")


class ModuleView:
    """The project model as one module's analysis asks it: the module's own
    facts come from the tree being analysed (which may differ from the file
    on disk, in a second fix pass), the rest from the project."""

    def __init__(self, project: Project, module: str, tree: ast.Module, is_package: bool) -> None:
        # A model of its own for this text: summaries that went through the
        # module must be made again from the text as it is now.
        self.project = Project(project.index, project.cache)
        self.project._facts = dict(project._facts)
        self.project.hashes = project.hashes
        self.project.used = project.used
        self.project.mentions = project.mentions
        self.module = module
        self.facts = self.project.add(module, tree, is_package)
        self._callers: Callers | None = None

    @property
    def callers(self) -> Callers:
        """Who calls the functions of the project, as this text sees them
        (see :mod:`codemods.model.callers`)."""
        if self._callers is None:
            from .callers import Callers

            self._callers = Callers(self)
        return self._callers

    def statement_effects(
        self,
        qualname: str | None,
        func: str,
        args: list[str | None],
        kwargs: dict[str, str | None],
        star_kwargs: bool,
        keys: Iterable[str],
        reads: Iterable[str],
        writes: Iterable[str],
        *,
        items: frozenset[str] = frozenset(),
    ) -> Effects | None:
        """What an ``await CALL`` statement of ``qualname`` may do: the call's
        effects, and the statement's own reads and writes (its arguments,
        its target), all in the function's terms; ``None`` when the model
        cannot tell (then a rule decides as it would without it).

        ``items``: loop variables, each a different object in each
        iteration; a path through one is spelled ``@name...``.
        """
        if qualname is None:
            return None
        function = self.facts.functions.get(qualname)
        if function is None:
            return None
        if items:
            function = dataclasses.replace(
                function,
                aliases={name: path for name, path in function.aliases.items() if name not in items},
                fresh=[name for name in function.fresh if name not in items],
            )

            def item(path: str | None) -> str | None:
                if path is None or path in ("*", "?"):
                    return path
                root, tail = split_root(path)
                return f"@{root}{tail}" if root in items else path

            func = item(func) or func
            args = [item(a) for a in args]
            kwargs = {k: item(v) for k, v in kwargs.items()}
            keys = [item(p) or p for p in keys]
            reads = [item(p) or p for p in reads]
            writes = [item(p) or p for p in writes]
        call = function.call(func, args, kwargs, star_kwargs, True, keys)
        effects = self.project.call_effects(self.module, qualname, call, function)
        if effects.unknown:
            return None
        own_reads = {function.resolve(path) for path in reads}
        own_writes = {function.resolve(path) for path in writes}
        own_reads.discard(None)
        own_writes.discard(None)
        if any(path.startswith("?") for path in own_writes):  # type: ignore[union-attr]
            return None
        return Effects(
            effects.reads | {p for p in own_reads if not p.startswith("?")},  # type: ignore[union-attr]
            effects.writes | own_writes,  # type: ignore[operator]
            effects.external,
            effects.locks,
            effects.suspends,
        )

    def statement_suspends(
        self,
        qualname: str | None,
        func: str,
        args: list[str | None],
        kwargs: dict[str, str | None],
        star_kwargs: bool,
        keys: Iterable[str] = (),
    ) -> bool | None:
        """Whether the call an ``await CALL`` statement of ``qualname`` awaits
        may suspend; ``None`` when that cannot be told."""
        if qualname is None:
            return None
        function = self.facts.functions.get(qualname)
        if function is None:
            return None
        call = function.call(func, args, kwargs, star_kwargs, True)
        return self.project.call_suspends(self.module, qualname, call, function)

    def call_effects(
        self,
        qualname: str,
        func: str,
        args: list[str | None],
        kwargs: dict[str, str | None],
        *,
        star_kwargs: bool = False,
        awaited: bool = True,
    ) -> Effects:
        """What a call written in ``qualname`` may do, in its terms (see
        :meth:`Project.call_effects`): the callee and arguments are access
        paths as written there."""
        function = self.facts.functions.get(qualname)
        if function is None:
            return UNKNOWN
        call = function.call(func, args, kwargs, star_kwargs, awaited)
        return self.project.call_effects(self.module, qualname, call)


def conflict(first: Effects, second: Effects) -> bool:
    """Whether two calls may not run at once: one writes what the other
    reads or writes (paths overlap when one is a prefix of the other), or
    both hold one lock; an unknown side conflicts with everything."""
    if first.unknown or second.unknown:
        return True
    if first.locks & second.locks:
        return True
    return _meet(first.writes, second.reads | second.writes) or _meet(second.writes, first.reads)


def _meet(paths: frozenset[str], others: frozenset[str]) -> bool:
    return any(_overlap(a, b) for a in paths for b in others)


def _overlap(a: str, b: str) -> bool:
    remote_a, remote_b = a.startswith(REMOTE), b.startswith(REMOTE)
    if remote_a or remote_b:
        # The remote side: all of it (REMOTE alone) meets any part; parts
        # meet where what they are about overlaps.
        if not (remote_a and remote_b):
            return False
        return a == REMOTE or b == REMOTE or paths_overlap(a[len(REMOTE):], b[len(REMOTE):])
    return paths_overlap(a, b)


__all__ = [
    "Effects",
    "ModuleView",
    "Project",
    "ProjectIndex",
    "READ_VERBS",
    "UNKNOWN",
    "conflict",
    "is_read",
    "project_root",
    "single_operation",
    "import_root",
    "indexes_for",
    "verb",
    "view_of",
]
