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
import functools
import hashlib
import os
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from .facts import (
    CONTAINER_GENERICS,
    FACTS_FORMAT,
    NEW,
    RESULT,
    CallFact,
    ClassFacts,
    FunctionFacts,
    ModuleFacts,
    TreeKeeper,
    may_bind_namespaces,
    module_facts,
    namespace_bound,
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
# An indented ``def name`` (a method, or a function nested in one): a
# module's own functions are no object's methods. Found by the literal
# first, at the regex engine's fast search, and then what stands before it
# on its line (a pattern that starts at each line's start tries every line:
# six times slower).
_DEF = re.compile(rb"def[ \t]+([A-Za-z_][A-Za-z0-9_]*)")
_DEF_INDENT = re.compile(rb"[ \t]+(?:async[ \t]+)?")
# ``class Name(bases):`` (bases may span lines) or ``class Name:``
_CLASS = re.compile(rb"class[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?:\(([^)]*)\))?[ \t]*:")
# An import of an event loop's library at the start of a line: the
# library's name first, then what stands before it on its line.
_LOOP_IMPORTED = (b"asyncio", b"trio", b"anyio", b"curio", b"twisted")
_LOOP_IMPORT_HEAD = re.compile(rb"[ \t]*(?:import|from)[ \t]+")
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _line_head(data: bytes, start: int) -> bytes:
    """What stands on the line of ``data[start]`` before it."""
    return data[data.rfind(b"\n", 0, start) + 1 : start]


def indented_defs(data: bytes) -> set[bytes]:
    """The names of the indented ``def`` statements in ``data``, as
    ``^[ \\t]+(?:async[ \\t]+)?def[ \\t]+(NAME)`` finds them line by line."""
    found: set[bytes] = set()
    indented, line_start = _DEF_INDENT.fullmatch, data.rfind
    for match in _DEF.finditer(data):
        name = match.group(1)
        if name not in found:
            start = match.start()
            if indented(data, line_start(b"\n", 0, start) + 1, start) is not None:
                found.add(name)
    return found


_DUNDER_ASSIGNED = re.compile(rb"\n[ \t]+(__[A-Za-z0-9_]+__)[ \t]*(?::[^=\n]*)?=(?!=)(?![ \t]*None\b)")


def _assigned_dunders(data: bytes) -> set[bytes]:
    """The special methods a class body binds by assignment (``__str__ =
    describe``), as the indented lines ``__NAME__ = VALUE`` say: the model
    asks the file's facts what they are. (``__hash__``, set to ``None`` or
    to ``object.__hash__`` beside an ``__eq__``, is not followed.)"""
    if b"__ =" not in data and b"__=" not in data:
        return set()
    return {name for name in _DUNDER_ASSIGNED.findall(data) if name != b"__hash__"}  # (no file starts indented)


_STORED = re.compile(rb"\.([A-Za-z_][A-Za-z0-9_]*)[ \t]*=(?!=)")
_SETATTR = re.compile(rb"\bsetattr\([^,\n]*,[ \t]*[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']")
# ``    get_value = _bump``: one level in, a name bound to a name (a class
# body's method by assignment, or a module function's local: the facts tell).
_BOUND_TO_A_NAME = re.compile(
    rb"\n(?:    |\t)([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*[A-Za-z_][A-Za-z0-9_.]*[ \t]*(?:#[^\n]*)?(?=\r?\n|\Z)"
)


def _namespace_bound(data: bytes) -> set[bytes]:
    """The method names a file binds in classes no class statement
    describes (``type(name, bases, {...})``, a metaclass; see
    :func:`.facts.namespace_bound`), read from its tree where its bytes
    show it may: the model asks the file's facts, which list them as
    methods they do not describe."""
    if not may_bind_namespaces(data):
        return set()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {name.encode() for name in namespace_bound(tree)}


def _stored_attributes(data: bytes) -> set[bytes]:
    """The names of the attributes ``data`` sets on an object (``x.name =
    value``, ``setattr(x, "name", value)``): an object may answer a method
    call of such a name with whatever callable was stored there."""
    found = set(_STORED.findall(data))
    if b"setattr(" in data:
        found.update(_SETATTR.findall(data))
    return found


def _bound_to_names(data: bytes) -> set[bytes]:
    """The names bound to a name one level in (see :data:`_BOUND_TO_A_NAME`)."""
    return set(_BOUND_TO_A_NAME.findall(data))  # (no file starts indented)


def loop_imports(data: bytes, known: Iterable[bytes] = ()) -> set[bytes]:
    """The event loops' libraries a line of ``data`` imports, as
    ``^[ \\t]*(?:import|from)[ \\t]+(asyncio|trio|...)\\b`` finds them;
    those ``known`` not looked for."""
    found: set[bytes] = set()
    for library in _LOOP_IMPORTED:
        if library in known:
            continue
        start = data.find(library)
        while start != -1:
            end = start + len(library)
            if (end == len(data) or data[end] not in _WORD_BYTES) and _LOOP_IMPORT_HEAD.fullmatch(
                _line_head(data, start)
            ) is not None:
                found.add(library)
                break
            start = data.find(library, end)
    return found
# A project that runs coroutines itself, step by step (a fake loop for code
# generation, a bridge from sync code): its coroutines need not run under
# any loop. Told by a coroutine stepped with ``.send(None)``, or the
# iterator of an awaitable taken to be stepped (``gen = coro().__await__()``;
# not an awaitable handing on another's: ``return self.coro.__await__()``,
# ``yield from value.__await__()``).
_AWAIT_ITERATOR = re.compile(rb"^[^\n]*\.__await__\(\)", re.MULTILINE)
# What starts an event loop, by whose loop it is: asyncio's (its runner,
# uvloop's, the servers that run on asyncio alone), or another's, or code
# written to run under several (anyio's runner, whose backend may be trio;
# a portal; sniffio's question; tests run on anyio's backends or trio).
_ASYNCIO_START = re.compile(
    rb"\basyncio\.run\(|\basyncio\.Runner\(|\.run_until_complete\(|\buvloop\.(?:run|install)\(|\buvicorn\.run\(|\bweb\.run_app\("
)
_OTHER_START = re.compile(
    rb"\btrio\.run\(|\banyio\.run\(|start_guest_run|start_blocking_portal|\bsniffio\b|anyio_backend"
    rb"|pytest\.mark\.(?:trio|anyio)|\btrio_asyncio\b|from[ \t]+(?:trio|anyio)[ \t]+import[^\n]*\brun\b"
)


def drives_coroutines(data: bytes) -> bool:
    if b".send(None)" in data:
        return True
    if b".__await__()" not in data:
        return False
    return any(
        not line.lstrip().startswith(b"return") and b"yield from" not in line and b"await " not in line
        for line in _AWAIT_ITERATOR.findall(data)
    )
# How deep a summary follows calls; a deeper chain is unknown.
MAX_DEPTH = 12
# A method with more possible overrides than this in the project's
# subclasses of its class is unknown when called on ``self`` or a parameter.
MAX_OVERRIDES = 64

#: How many files may define a method of the name an object of unknown
#: class is called by, for the model to read them all (past that: unknown).
MAX_DEFINERS = 12
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
    """The directory Python would import ``path`` from: the one above the
    highest package above it (a namespace package, a directory without
    ``__init__.py``, may stand between packages), or its own directory."""
    directory = Path(os.path.abspath(path)).parent
    top = None
    for ancestor in (directory, *directory.parents):
        if (ancestor / "__init__.py").is_file():
            top = ancestor
        elif top is not None and not (ancestor.parent / "__init__.py").is_file():
            break
    return top.parent if top is not None else directory


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
class _Scan:
    """What :meth:`ProjectIndex.scan` reads from the bytes of the files."""

    defined: Mapping[str, tuple[int, ...]]
    classes: Mapping[str, tuple[tuple[int, tuple[str, ...]], ...]]
    stored: Mapping[str, tuple[int, ...]]
    bound: Mapping[str, tuple[int, ...]]

    @classmethod
    def of(cls, files: Iterable[str]) -> _Scan:
        defined: dict[bytes, list[int]] = {}
        classes: dict[bytes, list[tuple[int, tuple[str, ...]]]] = {}
        stored: dict[bytes, list[int]] = {}
        bound: dict[bytes, list[int]] = {}
        for number, path in enumerate(files):
            try:
                data = Path(path).read_bytes()
            except OSError:
                continue
            for name in indented_defs(data) | _assigned_dunders(data) | _namespace_bound(data):
                defined.setdefault(name, []).append(number)
            for name, written in _CLASS.findall(data):
                bases = tuple(
                    base.split(b"[")[0].rsplit(b".", 1)[-1].strip().decode("ascii", "replace")
                    for base in written.split(b",")
                    if base.strip() and b"=" not in base
                )
                classes.setdefault(name, []).append((number, bases))
            for name in _stored_attributes(data):
                stored.setdefault(name, []).append(number)
            if b"class" in data:
                for name in _bound_to_names(data):
                    bound.setdefault(name, []).append(number)
        return cls(
            {_text(name): tuple(found) for name, found in defined.items()},
            {_text(name): tuple(found) for name, found in classes.items()},
            {_text(name): tuple(found) for name, found in stored.items()},
            {_text(name): tuple(found) for name, found in bound.items()},
        )

    def to_json(self) -> dict[str, object]:
        return {
            "defined": dict(self.defined), "classes": dict(self.classes),
            "stored": dict(self.stored), "bound": dict(self.bound),
        }

    @classmethod
    def from_json(cls, value: object) -> _Scan | None:
        """The scan :meth:`to_json` stored; ``None`` for a value of another
        shape (damaged or foreign)."""
        try:
            assert isinstance(value, dict) and set(value) == {"defined", "classes", "stored", "bound"}
            defined, stored, bound = (
                {str(name): tuple(int(number) for number in found) for name, found in value[key].items()}
                for key in ("defined", "stored", "bound")
            )
            classes = {
                str(name): tuple((int(number), tuple(str(base) for base in bases)) for number, bases in found)
                for name, found in value["classes"].items()
            }
        except (AssertionError, AttributeError, TypeError, ValueError):
            return None
        return cls(defined, classes, stored, bound)


def _text(name: bytes) -> str:
    return name.decode("ascii", "replace")


_TRIO_IMPORT = re.compile(
    rb"^[ \t]*(?:import[ \t]+trio(?:[ \t]+as[ \t]+(\w+))?[ \t]*(?:#[^\n]*)?$|from[ \t]+trio\b[\w.]*[ \t]+import\b)", re.MULTILINE
)
_ANYIO_AS = re.compile(rb"^[ \t]*import[ \t]+anyio[ \t]+as[ \t]+(\w+)", re.MULTILINE)


def _uses_trio(data: bytes) -> bool:
    """Whether a file uses trio (code that runs under trio alone, whoever
    starts it: ``t.run(...)`` of ``import trio as t``), or anyio's runner
    under another name; an import of trio that nothing uses (a preload
    for a library's sake) is no use."""
    for found in _TRIO_IMPORT.finditer(data):
        if found.group(0).lstrip().startswith(b"from"):
            return True
        alias = found.group(1) or b"trio"
        if re.search(rb"\b" + re.escape(alias) + rb"\.", data):
            return True
    return any(
        re.search(rb"\b" + re.escape(alias) + rb"\.(?:run\b|from_thread\b)", data)
        for alias in _ANYIO_AS.findall(data)
    )


def _contents(files: Iterable[str]) -> Iterator[bytes]:
    """The bytes of each file that can be read."""
    for path in files:
        try:
            yield Path(path).read_bytes()
        except OSError:
            continue


def _starts_of(files: Iterable[str]) -> frozenset[str]:
    """Whose event loops the files start: "asyncio" (its runner, uvloop,
    uvicorn, aiohttp's ``run_app``) and "other" (trio's or anyio's runner,
    a blocking portal, sniffio, tests marked for trio or anyio)."""
    starts: set[str] = set()
    for data in _contents(files):
        if b"run" in data or b"sniffio" in data or b"anyio" in data or b"trio" in data:
            if "asyncio" not in starts and _ASYNCIO_START.search(data):
                starts.add("asyncio")
            if _OTHER_START.search(data) or _uses_trio(data):
                starts.add("other")
                break  # (nothing read after this changes the answer)
    return frozenset(starts)


def _loops_of(files: Iterable[str]) -> frozenset[str]:
    """What :attr:`ProjectIndex.loops` reads from the bytes of ``files``:
    "by-name" too where one file names another loop's library in a string
    (``BACKEND = "trio"``) and one imports a module by a computed name
    (``importlib.import_module(config.BACKEND)``): the loop may be picked
    at run time."""
    loops: set[bytes] = set()
    named = computed = False
    for data in _contents(files):
        # (What one file showed, the others need not be searched for.)
        if b"import" in data:
            loops.update(loop_imports(data, known=loops))
            computed = computed or b"import_module(" in data or b"__import__(" in data
        if b"driver" not in loops and drives_coroutines(data):
            loops.add(b"driver")
        if not named and (b"trio" in data or b"anyio" in data or b"curio" in data):
            named = _LOOP_NAMED.search(data) is not None
    if named and computed:
        loops.add(b"by-name")
    return frozenset(map(_text, loops))


_LOOP_NAMED = re.compile(rb"[\"'](?:trio|anyio|curio)[\"']")


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
    # The files of the project, in the order the two maps below number them.
    files: tuple[str, ...] = ()

    # What the bytes of every file say (:meth:`scan`), read when first
    # asked for: a run whose files ask the model nothing (a pre-commit
    # hook's, most often) reads no other file.

    @property
    def defined(self) -> Mapping[str, tuple[int, ...]]:
        """A name some indented ``def`` binds -> the files that bind it (a
        method of a value of unknown origin whose name no method has is a
        library's; an override of a method is in a file that defines its name)."""
        return self.scan().defined

    def definers(self, name: str) -> tuple[int, ...]:
        """The files that define ``name`` (see :attr:`defined`), and those
        that bind it in a class no class statement describes by a name
        pattern (``_attr_*``: ``setattr(cls, f"_attr_{x}", ...)``)."""
        patterns = self.__dict__.get("_patterns")
        if patterns is None:
            patterns = self.__dict__["_patterns"] = tuple(
                (key[:-1], files) for key, files in self.defined.items() if key.endswith("*")
            )
        found = self.defined.get(name, ())
        for prefix, files in patterns:
            if name.startswith(prefix):
                found = tuple(dict.fromkeys((*found, *files)))
        return found

    @property
    def stored(self) -> Mapping[str, tuple[int, ...]]:
        """An attribute's name some statement sets on an object (``x.name =
        value``, ``setattr(x, "name", ...)``) -> the files that set it."""
        return self.scan().stored

    @property
    def bound(self) -> Mapping[str, tuple[int, ...]]:
        """A name bound to a name one level in (``    get_value = _bump``:
        a class body's method by assignment, or a local) -> the files that
        bind it so."""
        return self.scan().bound

    @property
    def classes(self) -> Mapping[str, tuple[tuple[int, tuple[str, ...]], ...]]:
        """A class name -> (file, the last names of its bases) for each
        ``class`` statement: where the subclasses of a class may be, read
        from the bytes (a superset: two classes may share a name)."""
        return self.scan().classes

    @property
    def loops(self) -> frozenset[str]:
        """The event loops' libraries (asyncio, trio, anyio, curio,
        twisted) some module of the project imports; "driver" where one
        steps coroutines itself (see drives_coroutines). Read apart from
        :meth:`scan`, once, when first asked for (a pre-commit hook's run
        most often asks the scan's questions, not this one)."""
        known = self.__dict__.get("_loops")
        if known is None:
            known = self.__dict__["_loops"] = _loops_of(self.files)
        return known  # type: ignore[no-any-return]

    @property
    def starts(self) -> frozenset[str]:
        """Whose event loops the project starts (see :func:`_starts_of`),
        read when first asked for."""
        known = self.__dict__.get("_starts")
        if known is None:
            known = self.__dict__["_starts"] = _starts_of(self.files)
        return known  # type: ignore[no-any-return]

    @property
    def numbers(self) -> Mapping[str, int]:
        """A file -> its place in :attr:`files` (the scan's number for it)."""
        known = self.__dict__.get("_numbers")
        if known is None:
            known = self.__dict__["_numbers"] = {path: number for number, path in enumerate(self.files)}
        return known  # type: ignore[no-any-return]

    def scan(self) -> _Scan:
        """The byte scan of the project's files for their defs and classes,
        read once (a pool's workers are handed it with the index)."""
        known = self.__dict__.get("_scanned")
        if known is None:
            known = self.__dict__["_scanned"] = _Scan.of(self.files)
        return known

    def scan_from(self, cache: Cache) -> _Scan:
        """:meth:`scan`, kept in ``cache`` for the bytes of the project's
        files: a warm run checks what a result read of the whole project
        (``derived_current``) against the files it has already hashed,
        rather than scanning every file again."""
        known = self.__dict__.get("_scanned")
        if known is not None:
            return known
        key = self._files_key(cache)
        known = _Scan.from_json(cache.load(key))
        if known is None:
            known = _Scan.of(self.files)
            # Stored only for the bytes it was read from: a file changed
            # meanwhile has another hash now.
            if self._files_key(cache) == key:
                cache.store(key, known.to_json())
        self.__dict__["_scanned"] = known
        return known

    def _files_key(self, cache: Cache) -> str:
        from ..source.cache import file_hash

        digest = hashlib.sha256()
        for path in self.files:
            try:
                found = file_hash(path)
            except OSError:
                found = ""  # not read by the scan either
            digest.update(f"{path}\0{found}\0".encode("utf-8", "surrogateescape"))
        return cache.key_of(digest.hexdigest(), "project scan")

    @classmethod
    def build(cls, root: Path, *, packages_only: bool = False) -> ProjectIndex:
        """Index the ``.py`` files below ``root`` (with ``packages_only``,
        those of ``root`` itself and of the packages in it)."""
        files: list[Path] = []
        for directory, dirnames, filenames in os.walk(root):
            # Without a project around: the packages of ``root`` (a directory
            # inside a package is a namespace package of it), not every
            # directory below.
            inside = not packages_only or os.path.isfile(os.path.join(directory, "__init__.py"))
            dirnames[:] = [
                d for d in dirnames
                if d not in _SKIP_DIRS and not d.startswith(".")
                and (inside or os.path.isfile(os.path.join(directory, d, "__init__.py")))
            ]
            # Regular files only: a FIFO named ``x.py`` would block a read
            # forever, a symlink loop fails one.
            files.extend(
                Path(directory) / name for name in filenames
                if name.endswith(".py") and os.path.isfile(os.path.join(directory, name))
            )
            if len(files) > MAX_FILES:
                break
        packages: dict[Path, bool] = {}

        def is_package(directory: Path) -> bool:
            known = packages.get(directory)
            if known is None:
                known = packages[directory] = (directory / "__init__.py").is_file()
            return known

        root = Path(os.path.abspath(root))
        bases = (root, root / "src")
        modules: dict[str, str] = {}
        primary: dict[str, str] = {}
        claimed: dict[str, int] = {}
        for path in files:
            # As Python finds it from the first directory above that is not
            # a package ...
            parts = [path.stem] if path.name != "__init__.py" else []
            directory = path.parent
            while is_package(directory) and directory != directory.parent:
                parts.append(directory.name)
                directory = directory.parent
            names = [".".join(reversed(parts))] if parts else []
            # ... and from the project's root (or its src/): a package with a
            # namespace package inside (a directory without __init__.py)
            # is imported by the whole path.
            if directory not in bases:
                base = next((b for b in reversed(bases) if b in path.parents), None)
                if base is not None:
                    relative = path.relative_to(base).with_suffix("").parts
                    relative = relative[:-1] if relative[-1] == "__init__" else relative
                    if relative and all(part.isidentifier() for part in relative):
                        names.insert(0, ".".join(relative))
            for name in dict.fromkeys(names):
                claimed[name] = claimed.get(name, 0) + 1
                modules[name] = str(path)
            if names:
                primary[str(path)] = names[0]
        unique = {name: path for name, path in modules.items() if claimed[name] == 1}
        paths = {path: name for path, name in primary.items() if name in unique}
        return cls(str(root), unique, paths, tuple(map(str, files)))

    @functools.cached_property
    def _memo(self) -> dict[tuple[str, ...], object]:
        return {}

    @functools.cached_property
    def packages(self) -> frozenset[str]:
        """The first part of the name of each module of the project: an
        import from any other is a library's."""
        return frozenset(name.split(".")[0] for name in self.modules)

    def _children(self) -> Mapping[str, list[tuple[str, int, tuple[str, ...]]]]:
        """A base's last name -> (name, file, bases' last names) of each class
        statement naming it among its bases."""
        key = ("children",)
        if key not in self._memo:
            children: dict[str, list[tuple[str, int, tuple[str, ...]]]] = {}
            for name, statements in self.classes.items():
                for number, bases in statements:
                    for base in set(bases):
                        children.setdefault(base, []).append((name, number, bases))
            self._memo[key] = children
        return self._memo[key]  # type: ignore[return-value]

    @property
    def event_loop(self) -> str | None:
        """"asyncio" when the project's modules import asyncio and no other
        event loop's library, or import trio or anyio too but start asyncio's
        loop alone (home-assistant: anyio's memory streams, run on asyncio;
        nothing that starts a trio loop, or anyio's on any backend, or asks
        sniffio which loop runs it); ``None`` when the code of a module that
        imports no loop's library may run under another loop, or none."""
        loops = self.loops
        if loops == {"asyncio"}:
            return "asyncio"
        if "asyncio" in loops and loops <= {"asyncio", "trio", "anyio"} and self.starts == {"asyncio"}:
            return "asyncio"
        return None

    def subclassed(self, name: str) -> bool:
        """Whether a class statement of the project names ``name`` among its bases."""
        return name in self._children()

    def override_candidates(self, class_name: str, method: str) -> tuple[frozenset[tuple[str, int]], str]:
        """The class statements (name, file) that may define, or take from a
        mixin, a ``method`` that overrides the class's own for its objects:
        those of the classes that may descend from it (by name, through
        the bases each class statement names) whose file defines a function
        of that name, or one of whose other bases may; with a digest of
        what the answer was read from."""
        key = ("overrides", class_name, method)
        if key in self._memo:
            return self._memo[key]  # type: ignore[return-value]
        children = self._children()
        # The classes that may descend from it, by name ...
        descendants: set[str] = {class_name}
        statements: list[tuple[str, int, tuple[str, ...]]] = []
        queue = [class_name]
        while queue:
            for child in children.get(queue.pop(), ()):
                statements.append(child)
                if child[0] not in descendants:
                    descendants.add(child[0])
                    queue.append(child[0])
        # ... and those it descends from (their methods are the class's own).
        ancestors: set[str] = {class_name}
        queue = [class_name]
        while queue:
            for _, bases in self.classes.get(queue.pop(), ()):
                for base in bases:
                    if base not in ancestors:
                        ancestors.add(base)
                        queue.append(base)
        definers = frozenset(self.defined.get(method, ()))
        known = descendants | ancestors
        mixins: dict[str, bool] = {}

        def may_define(name: str) -> bool:
            """A class of this name, or one of its bases, off the line from
            the class down, may define ``method`` (a mixin's)."""
            if name not in mixins:
                mixins[name] = False
                mixins[name] = any(
                    number in definers or any(may_define(base) for base in bases if base not in known)
                    for number, bases in self.classes.get(name, ())
                )
            return mixins[name]

        candidates = frozenset(
            (name, number) for name, number, bases in statements
            if number in definers or any(may_define(base) for base in bases if base not in known)
        )
        digest = hashlib.sha256(
            repr((sorted((n, self.files[f], b) for n, f, b in statements), sorted((n, self.files[f]) for n, f in candidates))).encode()
        ).hexdigest()[:16]
        self._memo[key] = (candidates, digest)
        return candidates, digest

    def definers_digest(self, method: str) -> str:
        """A digest of which files define a function named ``method``, and
        which set an attribute of that name or bind it one level in (see
        :attr:`stored`, :attr:`bound`)."""
        key = ("definers digest", method)
        known = self._memo.get(key)
        if known is None:
            files = sorted(self.files[number] for number in self.definers(method))
            stored = sorted(self.files[number] for number in (*self.stored.get(method, ()), *self.bound.get(method, ())))
            known = self._memo[key] = hashlib.sha256(repr((files, stored)).encode()).hexdigest()[:16]
        return known  # type: ignore[return-value]

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
    # What it reads and writes from the first point at which it may
    # suspend on (``None``: all of it); what it does before runs, in a
    # gather, before the calls after it start, as it would in a row.
    late_reads: frozenset[str] | None = None
    late_writes: frozenset[str] | None = None
    # (Of a statement's call:) what evaluating its arguments reads, before
    # the call starts: in a gather, before any of the calls starts.
    arguments: frozenset[str] = frozenset()
    # (In its own terms:) the callables it is given and calls with its
    # ``*args`` as they came, each (parameter index, how, late): how is
    # "call", "await" or "thread" (run in a worker thread and waited for,
    # here or by the caller it hands the future to); late: from its first
    # suspension on. A caller knows what it passed (see Project._forwarded).
    forwards: frozenset[tuple[int, str, bool]] = frozenset()

    def __or__(self, other: Effects) -> Effects:
        both_all = self.late_reads is None and self.late_writes is None and other.late_reads is None and other.late_writes is None
        return Effects(
            self.reads | other.reads,
            self.writes | other.writes,
            self.external | other.external,
            self.locks | other.locks,
            _either_suspends(self.suspends, other.suspends),
            self.unknown or other.unknown,
            None if both_all else self.late.reads | other.late.reads,
            None if both_all else self.late.writes | other.late.writes,
            forwards=self.forwards | other.forwards,
        )

    @property
    def late(self) -> Effects:
        """What it may do from the first point at which it may suspend on."""
        if self.late_reads is None and self.late_writes is None:
            return self
        return Effects(
            self.reads if self.late_reads is None else self.late_reads,
            self.writes if self.late_writes is None else self.late_writes,
            self.external,
            self.locks,
            self.suspends,
            self.unknown,
        )

    def all_early(self) -> Effects:
        """The same effects, all of them before any suspension."""
        return dataclasses.replace(self, late_reads=frozenset(), late_writes=frozenset())

    def all_late(self) -> Effects:
        """The same effects, all of them taken to come after a suspension."""
        return dataclasses.replace(self, late_reads=None, late_writes=None)


UNKNOWN = Effects(suspends=None, unknown=True)


@dataclass(frozen=True)
class CpuWork:
    """What a function that only computes does (see :meth:`Project.cpu_work`).

    ``loops``: how many loops over parameter-sized data it nests, its own
    and those of the functions it calls in them (``for row in rows:
    total(row)`` with ``total`` looping over its argument: 2); 3 stands for
    3 or more. ``sized_by``: its parameters whose size those loops follow."""

    loops: int
    sized_by: frozenset[str]


# What a call of a function that computes alone answers (see Project._cpu_call).
_COMPUTES = object()
# Builtins that compute a value of their arguments and do nothing else
# (not ``print``, ``open``, ``input``; not ``map``, ``filter`` or ``iter``,
# which run a callable or an iterator's code the model does not see).
CPU_BUILTINS = frozenset(
    {
        "len", "str", "int", "float", "bool", "bytes", "bytearray", "complex", "isinstance",
        "issubclass", "min", "max", "sum", "abs", "round", "sorted", "reversed", "list", "dict",
        "set", "frozenset", "tuple", "enumerate", "zip", "range", "any", "all", "divmod", "pow",
        "chr", "ord", "hex", "bin", "oct", "hash", "slice", "repr", "format", "ascii",
    }
)
# Modules of the standard library whose functions compute and do nothing else.
CPU_MODULES = frozenset(
    {
        "math", "cmath", "itertools", "operator", "statistics", "string", "re", "unicodedata",
        "struct", "bisect", "heapq", "collections", "fractions", "binascii",
    }
)
# Methods of str, bytes, list, dict and set whose names no client's I/O
# method goes by: on any value, they compute.
CPU_METHODS = frozenset(
    {
        "lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "join",
        "startswith", "endswith", "isdigit", "isalpha", "isalnum", "isspace", "title",
        "capitalize", "casefold", "partition", "rpartition", "zfill", "removeprefix",
        "removesuffix", "ljust", "rjust", "center", "encode", "decode", "replace", "find",
        "rfind", "format", "append", "extend", "insert", "add", "discard", "sort", "reverse",
        "items", "keys", "values", "count", "index", "setdefault", "appendleft", "popleft",
        "intersection", "union", "difference", "symmetric_difference", "issubset", "issuperset",
        "bit_length", "most_common", "is_integer",
    }
)
# Methods a dict, a list or a set shares with clients of remote services
# (``session.get(url)``, ``table.update(row)``): computing only on a value
# known to be a builtin one.
CPU_CONTAINER_METHODS = frozenset({"get", "pop", "update", "remove", "clear", "copy", "popitem"})
#: The answer for the awaited call of a statement that is a library's
#: function (``await fetch(url)``, ``await registry.async_load(hass)``):
#: unknown to the model, and left to the rule's own reading of the call's
#: arguments. (Any other unknown is unknown: the rule keeps the order.)
LEFT_TO_RULE = Effects(suspends=None, unknown=True)
#: The start of a key of ``Project.derived`` (never a file's path).
DERIVED = "\0"
#: The root of a value a library gave back (``client = make_client(url)``):
#: its methods are the library's.
LIBRARY = "~"
#: What the calls into libraries' objects reach beyond the project's names:
#: the remote side (a device, a server, a database), one for all of them.
REMOTE = "remote:"


def override_key(class_name: str, method: str) -> str:
    """The key of ``Project.derived`` for the overrides of a class's method."""
    return f"{DERIVED}overrides:{class_name}:{method}"


def definers_key(method: str) -> str:
    """The key of ``Project.derived`` for the files defining a method's name."""
    return f"{DERIVED}definers:{method}"


def derived_current(index: ProjectIndex, key: str, digest: str) -> bool:
    """Whether what ``key`` of ``Project.derived`` was read from is as it was."""
    kind, _, rest = key[len(DERIVED):].partition(":")
    if kind == "overrides":
        class_name, _, method = rest.partition(":")
        return index.override_candidates(class_name, method)[1] == digest
    if kind == "definers":
        return index.definers_digest(rest) == digest
    return False


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
        # the DB-API's and asyncpg's reads, and a stream's, in one word
        "fetchone", "fetchall", "fetchmany", "fetchrow", "fetchval", "readline", "readlines",
        "readexactly", "readuntil",
    }
)
# Verbs of a call that acts on the one thing its arguments name (a row by
# its id, a device by its address): calls of them about different things
# commute. An add, a create, a send, a publish appends to what the remote
# side keeps in order (messages, reactions, rows by their ids): not these.
_KEYED_CHANGES = frozenset(
    {"update", "set", "delete", "remove", "patch", "upsert", "unset", "invalidate", "expire", "refresh", "evict"}
)
KEYED_VERBS = READ_VERBS | _KEYED_CHANGES
# Receivers that are one stream or one connection: one operation at a time,
# whatever the verb.
SINGLE_OPERATION_WORDS = frozenset(
    {
        "ws", "websocket", "socket", "sock", "stream", "reader", "writer", "conn", "connection",
        "cursor", "cur", "session", "tx", "txn", "transaction", "serial", "channel", "pipe",
        "pubsub", "protocol", "transport", "telnet", "ssh", "ser", "port",
    }
)
# The words of a class name that say one operation at a time (not
# "session": aiohttp's ClientSession serves many requests at once).
SINGLE_OPERATION_TYPE_WORDS = frozenset(
    {"socket", "stream", "reader", "writer", "connection", "cursor", "transaction", "serial", "pipe", "transport"}
)
# Calls of the standard library and builtins that change nothing outside
# their arguments' own values: they neither read nor write shared state.
PURE_CALLS = frozenset(
    {
        "len", "str", "int", "float", "bool", "bytes", "repr", "isinstance", "issubclass", "hasattr",
        "getattr", "min", "max", "sum", "abs", "round", "sorted", "reversed", "list", "dict", "set",
        "frozenset", "tuple", "enumerate", "zip", "range", "map", "filter", "any", "all", "iter",
        "next", "hash", "id", "type", "callable", "format", "divmod", "pow", "chr", "ord", "hex",
        "super", "object", "slice", "vars", "dir", "ascii",
    }
)
LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})
#: The methods by which a class answers for attributes of any name.
_ANY_NAME = ("__getattr__", "__getattribute__")

# The special methods a builtin runs on what it is given.
_BUILTIN_DUNDERS: dict[str, tuple[str, ...]] = {
    "str": ("__str__", "__repr__"), "repr": ("__repr__",), "ascii": ("__repr__",), "format": ("__format__", "__str__"),
    "len": ("__len__",), "bool": ("__bool__", "__len__"), "hash": ("__hash__",),
    "int": ("__int__", "__index__"), "float": ("__float__",), "abs": ("__abs__",), "round": ("__round__",),
    "iter": ("__iter__",), "next": ("__next__",), "list": ("__iter__",), "tuple": ("__iter__",),
    "set": ("__iter__", "__hash__"), "frozenset": ("__iter__", "__hash__"), "dict": ("__iter__", "keys"),
    "sorted": ("__iter__", "__lt__"), "min": ("__iter__", "__lt__", "__gt__"), "max": ("__iter__", "__lt__", "__gt__"),
    "sum": ("__iter__", "__add__", "__radd__"), "any": ("__iter__", "__bool__"), "all": ("__iter__", "__bool__"),
    "enumerate": ("__iter__",), "zip": ("__iter__",), "map": ("__iter__",), "filter": ("__iter__",),
    "reversed": ("__reversed__", "__len__", "__getitem__"), "divmod": ("__divmod__",), "pow": ("__pow__",),
    "hex": ("__index__",), "dir": ("__dir__",), "getattr": _ANY_NAME, "hasattr": _ANY_NAME,
    "bytes": ("__bytes__", "__iter__", "__index__"),
    # (Not a builtin: text made by a ``%`` format written out, ``"%d" % x``.)
    "%s": ("__str__", "__repr__", "__int__", "__index__", "__float__"),
}
# The builtins that run the special methods above on their first argument
# alone (``getattr(obj, name)``: ``obj.__getattr__``; ``next(it, default)``).
_FIRST_ARGUMENT_ONLY = frozenset(
    {"getattr", "hasattr", "format", "next", "iter", "round", "bytes", "enumerate", "str", "reversed", "dict"}
)


def unlisted(facts: ModuleFacts, name: str) -> bool:
    """Whether the module binds a method ``name`` that its facts do not
    describe (see ModuleFacts.unlisted; ``prefix*`` stands for every name
    with that prefix)."""
    return name in facts.unlisted or any(entry.endswith("*") and name.startswith(entry[:-1]) for entry in facts.unlisted)


def _operator_dunders() -> dict[str, tuple[str, ...]]:
    """The special methods an operator or a statement runs on its operands,
    by the name the facts record it under (``<+>``, ``<[]>``; see facts.py)."""
    found: dict[str, tuple[str, ...]] = {}
    for symbol, name in (
        ("+", "add"), ("-", "sub"), ("*", "mul"), ("/", "truediv"), ("//", "floordiv"), ("**", "pow"),
        ("@", "matmul"), ("<<", "lshift"), (">>", "rshift"), ("&", "and"), ("|", "or"), ("^", "xor"), ("%", "mod"),
    ):
        found[symbol] = (f"__{name}__", f"__r{name}__")
        found[symbol + "="] = (f"__i{name}__", f"__{name}__", f"__r{name}__")  # ``a += b``
    # ``%`` formats text (``FMT % x``: ``__str__``; ``%d``: ``__index__``)
    # as well as it divides.
    text = ("__str__", "__repr__", "__int__", "__index__", "__float__")
    found["%"] += text
    found["%="] += text
    found.update({
        "-x": ("__neg__",), "+x": ("__pos__",), "~": ("__invert__",), "truth": ("__bool__", "__len__"),
        "==": ("__eq__", "__ne__"), "<": ("__lt__", "__le__", "__gt__", "__ge__"),
        "in": ("__contains__", "__iter__", "__next__", "__getitem__"),
        "iter": ("__iter__", "__next__"), "async for": ("__aiter__", "__anext__"),
        "[]": ("__getitem__", "__missing__"), "[]=": ("__setitem__",), "del[]": ("__delitem__",),
        "with": ("__enter__", "__exit__"), "async with": ("__aenter__", "__aexit__"),
        # A dict's key or a set's item (``{t: 1}``, ``d[t]``, ``t in s``);
        # a list's index.
        "hash": ("__hash__", "__index__"),
    })
    return found


_OPERATOR_DUNDERS = _operator_dunders()
# Methods of builtin values (str, bytes, dict, list, set, numbers, hashes)
# that change nothing: called on a value of unknown origin, they have no
# effect the model need follow.
PURE_METHODS = frozenset(
    {
        "lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "join",
        "startswith", "endswith", "replace", "format", "encode", "decode", "find", "rfind",
        "index", "count", "isdigit", "isalpha", "isalnum", "isspace", "title", "capitalize",
        "casefold", "partition", "rpartition", "zfill", "removeprefix", "removesuffix",
        "items", "keys", "values", "get", "copy", "digest", "hexdigest", "isoformat",
        "timestamp", "total_seconds", "astimezone", "strftime", "to_bytes", "bit_length",
        "is_integer", "union", "intersection", "difference", "issubset", "issuperset",
        "model_dump", "dict", "json", "model_dump_json", "as_dict", "to_dict",
    }
)
# The methods of str and bytes that change nothing and that no remote
# side answers (unlike ``get`` or ``json``).
TEXT_METHODS = frozenset(
    {
        "lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith",
        "endswith", "isdigit", "isalpha", "isalnum", "isspace", "isupper", "islower", "title",
        "capitalize", "casefold", "partition", "rpartition", "zfill", "removeprefix", "removesuffix",
        "ljust", "rjust", "center", "expandtabs", "swapcase", "isidentifier", "isnumeric", "isdecimal",
    }
)
# Modules of the standard library whose functions change what they are
# given or the world outside the process: their calls are judged as a
# library's. Any other module of the standard library is pure.
_EFFECTFUL_STDLIB = frozenset(
    {
        "os", "shutil", "subprocess", "socket", "ssl", "asyncio", "threading", "multiprocessing",
        "random", "heapq", "bisect", "io", "tempfile", "pathlib", "sqlite3", "signal", "sys",
        "select", "selectors", "mmap", "fcntl", "pty", "tty", "termios", "webbrowser",
        "urllib", "http", "smtplib", "ftplib", "poplib", "imaplib", "telnetlib", "logging",
        "pickle", "shelve", "dbm", "zipfile", "tarfile", "gzip", "bz2", "lzma", "queue",
        "contextvars", "decimal", "time", "gc", "atexit", "importlib", "builtins", "ctypes",
        # what they read is the file system's, the machine's or the user's
        "glob", "filecmp", "fileinput", "linecache", "netrc", "mailbox", "platform", "getpass",
        "locale", "pwd", "grp", "resource", "readline", "syslog", "sched", "imghdr", "sndhdr",
        "mimetypes", "uuid", "secrets", "faulthandler", "tracemalloc", "warnings", "weakref",
    }
)
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))
# The functions that run a function in a worker thread and give its result
# to the awaiting coroutine, by qualified name: how many of their
# positional arguments come before the function's, and whether their
# keywords are the function's (``asyncio.to_thread``) or their own.
THREAD_RUNNERS = {
    "asyncio.to_thread": (0, True),
    "anyio.to_thread.run_sync": (0, False),
    "trio.to_thread.run_sync": (0, False),
}
# ``loop.run_in_executor(executor, fn, *args)``: a method of the event loop.
EXECUTOR_METHOD = "run_in_executor"
# The methods of an asyncio future: they touch the future alone.
_FUTURE_METHODS = frozenset(
    {"add_done_callback", "remove_done_callback", "done", "cancelled", "cancel", "result", "exception"}
)
# The event loops' own libraries: what their functions wait for is time or
# other tasks, not a remote side.
_LOOP_LIBRARIES = frozenset({"asyncio", "anyio", "trio", "curio"})
# The builtin types whose methods the model knows (what each changes: its
# own value, for those in _CHANGING_METHODS).
_BUILTIN_TYPES = {
    name: name for name in ("str", "bytes", "bytearray", "int", "float", "bool", "dict", "list", "set", "frozenset", "tuple")
}
_CHANGING_METHODS = frozenset(
    {
        "append", "extend", "insert", "pop", "popitem", "remove", "clear", "update", "setdefault",
        "add", "discard", "sort", "reverse", "appendleft", "extendleft", "popleft", "rotate",
        "difference_update", "intersection_update", "symmetric_difference_update", "__setitem__",
        "__delitem__",
    }
)
# Modules whose types an object of any class may be annotated with
# (``Any``, ``Callable``, an ABC): the annotation says nothing of the class.
_ABSTRACT_TYPES = frozenset({"typing", "typing_extensions", "collections", "abc", "types", "numbers"})


# The functions of those modules that change what they are given: a file or
# buffer written into (``json.dump``, ``struct.pack_into``), a container set
# or extended (``operator.setitem``, ``SubElement(parent, ...)``).
_ARGUMENT_WRITERS = frozenset(
    {
        "dump", "pack_into", "setitem", "delitem", "SubElement", "update_wrapper", "iadd", "isub",
        "imul", "imatmul", "itruediv", "ifloordiv", "imod", "ipow", "ilshift", "irshift", "iand",
        "ixor", "ior", "iconcat", "setattr", "delattr", "insort", "insort_left", "insort_right",
        "register", "indent", "writer", "DictWriter",
    }
)


def _pure_stdlib_call(call: CallFact, own, name: str, suspends: bool | None) -> Effects:  # type: ignore[no-untyped-def]
    """A call of a function of a standard module that changes nothing but
    what it returns, or, for one of _ARGUMENT_WRITERS, what it is given."""
    if name not in _ARGUMENT_WRITERS:
        return Effects(suspends=suspends)
    given = {own(a) for a in (*call.args, *call.kwargs.values()) if a not in (None, "*", "?")}
    paths = frozenset(p for p in given if p is not None)
    return Effects(reads=paths, writes=paths, suspends=suspends)


def _pure_stdlib(root: str, facts: ModuleFacts | None, function: FunctionFacts) -> bool:
    """Whether ``root`` (of ``root.function(...)``) is an import of a module
    of the standard library whose functions change nothing."""
    if facts is None:
        return False
    target = function.imports.get(root) or facts.imports.get(root)
    if target is None:
        return False
    top = target.split(":")[0].split(".")[0]
    return top in _STDLIB and top not in _EFFECTFUL_STDLIB
# Bases that add no method an object of the class would run.
_PLAIN_BASES = frozenset({"object", "Generic", "typing.Generic", "ABC", "abc.ABC", "Protocol", "typing.Protocol"})
# Builtin names: a read of one reads no shared state.
_BUILTINS = frozenset(dir(builtins))
_EXCEPTIONS = frozenset(
    name for name in _BUILTINS if isinstance(getattr(builtins, name), type) and issubclass(getattr(builtins, name), BaseException)
)


def verb(method: str) -> str:
    name = method.lstrip("_")
    if name.startswith("async_"):
        name = name[len("async_"):]
    return name.split("_", 1)[0].lower()


def is_read(method: str, verbs: frozenset[str] = READ_VERBS) -> bool:
    return verb(method) in verbs


@dataclass(frozen=True)
class Vocabulary:
    """The words by which the model reads a library's calls: a method's
    first word that says it reads (``get_``, ``fetch``), and the words of a
    receiver's name that say it is one stream or one connection (options
    ``read-verbs`` and ``single-operation-words`` of AM201 and AM202)."""

    read_verbs: frozenset[str] = READ_VERBS
    single_operation_words: frozenset[str] = SINGLE_OPERATION_WORDS

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> Vocabulary:
        reads = options.get("read-verbs")
        words = options.get("single-operation-words")
        return cls(
            frozenset(word.lower() for word in reads) if reads is not None else READ_VERBS,
            frozenset(word.lower() for word in words) if words is not None else SINGLE_OPERATION_WORDS,
        )

    @property
    def keyed_verbs(self) -> frozenset[str]:
        return self.read_verbs | _KEYED_CHANGES


def single_operation(receiver: str, type_name: str = "", words: frozenset[str] = SINGLE_OPERATION_WORDS) -> bool:
    """Whether a receiver's name, or the name of the class it is declared
    with (``device: RAVEnSerialDevice``), says it is one stream or one
    connection (one of ``words``, or a type word)."""
    last = receiver.replace("[]", "").rsplit(".", 1)[-1].lstrip("_").lower()
    if not set(last.split("_")).isdisjoint(words):
        return True
    typed = {word.lower() for word in _WORDS.findall(type_name.rsplit(":", 1)[-1].rsplit(".", 1)[-1])}
    return not typed.isdisjoint(SINGLE_OPERATION_TYPE_WORDS)


# The words of a CamelCase name (``RAVEnSerialDevice``: RA, VEn, Serial, Device).
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z0-9]+|[A-Z]+")


def _is_logging(receiver: str, method: str) -> bool:
    last = receiver.rsplit(".", 1)[-1].lower()
    return method in LOG_METHODS and ("log" in last)


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
    # the caller's positional arguments beyond the parameters (its
    # ``*args``); ``None`` where a starred one hides them
    extra: list[str | None] | None = None


class Project:
    """The project model of one run (see the module's docstring).

    ``sources`` gives the bytes of a file by path where the run already has
    them (what the engine is processing), so a module is read once.
    """

    def __init__(self, index: ProjectIndex, cache: Cache | None = None) -> None:
        self.index = index
        self.cache = cache
        self.vocabulary = Vocabulary()
        self._facts: dict[str, ModuleFacts | None] = {}
        # The facts of modules as read from their files: the same for every
        # view of the run (see ModuleView), so each module is read once.
        self._read: dict[str, ModuleFacts | None] = {}
        # The trees of the modules read lazily (see _load), shared likewise.
        self.trees = TreeKeeper()
        # path -> hash of the bytes the facts of a module were read from
        self.hashes: dict[str, str] = {}
        # While a file is analysed: the files of the modules its questions
        # read (see ModuleView), for the cache of its result.
        self.used: set[str] | None = None
        self._effects: dict[tuple[str, str], Effects] = {}
        self._suspends: dict[tuple[str, str], bool | None] = {}
        self._cpu: dict[tuple[str, str], CpuWork | None] = {}
        self._returns: dict[tuple[str, str], str | None] = {}
        self._results_asked: set[tuple[str, str, int]] = set()
        self._override_memo: dict[tuple[str, str, str], list[tuple[str, str]] | None] = {}
        self._seen: dict[str, frozenset[int]] = {}
        self._stored: dict[str, bool] = {}
        self._getters: dict[str, bool] = {}
        self._any_name: bool | None = None
        # While a file is analysed: what its questions read that is derived
        # from the whole project rather than one module (see
        # ProjectIndex.override_candidates), key -> digest.
        self.derived: dict[str, str] | None = None
        self._in_progress: set[tuple[str, str]] = set()
        # Set while a cycle of calls was cut: results depending on it are
        # not final until the cycle's head is done.
        self._cut: set[tuple[str, str]] = set()
        # What the byte scans of the project's files found, for the run
        # (see codemods.model.callers): a question -> the modules.
        self.mentions: dict[str, tuple[str, ...]] = {}
        # file -> the names it calls, and those it calls as methods (see
        # Callers.calling), read once per run.
        self.called: dict[str, tuple[frozenset[bytes], frozenset[bytes]]] = {}

    # -- modules ----------------------------------------------------------------

    def facts(self, module: str) -> ModuleFacts | None:
        if module not in self._facts:
            if module not in self._read:
                self._read[module] = self._load(module)
            self._facts[module] = self._read[module]
        if self.used is not None:
            path = self.index.modules.get(module)
            if path is not None and path in self.hashes:
                self.used.add(path)
        return self._facts[module]

    def add(self, module: str, tree: ast.Module, is_package: bool, text: str | None = None) -> ModuleFacts:
        """Take the facts of ``module`` from a tree the caller already has
        (parsed from ``text``, when given)."""
        # (Its analysis asks about a few of its functions: each is read when
        # first asked for, while the tree lives anyway.)
        facts = module_facts(tree, module, is_package, lazy=True, text=text)
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
        is_package = path.endswith("__init__.py")
        if self.cache is None or key is None:
            # Each function read when first asked for (most of a module's
            # never are: reading them all was most of a cold run's model),
            # the trees kept within a budget and parsed again past it (all
            # kept, 333 MB for the standard library).
            return module_facts(tree, module, is_package, lazy=True, source=data, keeper=self.trees)
        # Read whole, for the cache (which holds a module's facts whole).
        facts = module_facts(tree, module, is_package, source=data)
        self.cache.store(key, facts.to_json())
        return facts

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

    def _lookup_for(self, module: str, function: FunctionFacts, name: str) -> tuple[str, str, str] | None:
        """:meth:`_lookup`, with the function's own imports first."""
        target = function.imports.get(name)
        if target is None:
            return self._lookup(module, name)
        source, _, attribute = target.partition(":")
        if not attribute:
            return ("module", source, "")
        if f"{source}.{attribute}" in self.index.modules:
            return ("module", f"{source}.{attribute}", "")
        return self._lookup(source, attribute, 1)

    def _resolve_dotted(
        self, module: str, dotted: str, function: FunctionFacts | None = None
    ) -> tuple[str, str, str] | None:
        """``mod.sub.func`` or ``Class`` as seen from ``module`` (from inside
        ``function``, when given: its own imports first, its locals not)."""
        head, *rest = dotted.split(".")
        if function is None:
            found = self._lookup(module, head)
        elif head in function.params or head in function.aliases or head in function.fresh:
            return None  # a local value of that name, not the module's
        else:
            found = self._lookup_for(module, function, head)
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

    def _mro(self, module: str, name: str, *, as_written: bool = False) -> list[tuple[str, str]] | None:
        """The project classes of the class's MRO (a linearization of its
        bases, depth first as written; enough for the single and simple
        multiple inheritance of application code). ``None`` when a class on
        the way may not be what its body says (``as_written``: what the
        bodies say all the same, ``None`` only where a base cannot be
        told)."""
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
            if not as_written and (
                cls.dynamic or any(d not in ("dataclass", "dataclasses.dataclass", "final", "typing.final") for d in cls.decorators)
            ):
                return None
            if "__class_getitem__" in cls.methods or "__mro_entries__" in cls.methods:
                # ``Base[T]`` may stand for another class than ``Base``.
                return None
            order.append((where, cls_name))
            for base in cls.bases:
                if base in _PLAIN_BASES:
                    continue
                found = self._resolve_dotted(where, base)
                if found is None or found[0] != "class":
                    # A base outside the project (an import, a builtin):
                    # mark it, its methods are not seen. One computed in
                    # the module (``class Mine(BASES["w"])``, a name bound
                    # by assignment) may be any class, the project's too.
                    facts = self.facts(where)
                    root = base.split(".")[0]
                    if base == "?" or (found is not None and found[0] != "module") or (
                        facts is not None and root not in facts.imports and root not in _BUILTINS
                    ):
                        return None
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
        found = self._root_type(module, function, root)
        return (found[1], found[2]) if found is not None and found[0] == "class" else None

    def _root_type(self, module: str, function: FunctionFacts, root: str) -> tuple[str, str, str] | None:
        if function.class_name is not None and function.params and root == function.params[0] and function.kind in ("method", "property", "classmethod"):
            return ("class", module, function.class_name)
        typed = function.types.get(root)
        if typed is not None:
            return self._named_type(module, typed, function)
        items = function.aliases.get(root, "")
        if items.endswith("[]") and "[" not in items[:-2] and root not in function.branches:
            # A loop variable over a container declared with the class of its
            # items (``devices: list[Device]``, ``self.devices: list[Device]``).
            head, tail = split_root(items[:-2])
            if not tail:
                element = function.types.get(f"{head}[]")
                return self._named_type(module, element, function) if element is not None else None
            owner = self._receiver_type(module, function, head + tail.rsplit(".", 1)[0])
            if owner is not None and owner[0] == "class":
                return self._attribute_kind(owner[1], owner[2], tail.rsplit(".", 1)[-1] + "[]")
            return None
        return self._singleton_type(module, function, root)

    def _singleton_type(self, module: str, function: FunctionFacts, root: str) -> tuple[str, str, str] | None:
        """What the class of a module's singleton is (``_ = Translator(...)``
        at module level, used here or imported; see ModuleFacts.singletons)."""
        if root in function.params or root in function.kwonly or root in function.aliases or root in function.fresh:
            return None
        facts = self.facts(module)
        if facts is None:
            return None
        if root in facts.singletons and root not in function.imports:
            return self._named_type(module, facts.singletons[root])
        target = function.imports.get(root) or facts.imports.get(root)
        source, _, attribute = (target or "").partition(":")
        if not attribute or source not in self.index.modules:
            return None
        other = self.facts(source)
        made = other.singletons.get(attribute) if other is not None else None
        return self._named_type(source, made) if made is not None else None

    def _named_type(
        self, module: str, typed: str, function: FunctionFacts | None = None, depth: int = 0
    ) -> tuple[str, str, str] | None:
        """What a type's dotted name names, as seen from ``module``:
        ("class", module, name) for a class of the project, ("library",
        import, "") for one imported from outside it; ``None`` when that
        cannot be told."""
        if typed.startswith(_KNOWN):
            kind, where, name = typed[len(_KNOWN):].split("|")
            return (kind, where, name)
        found = self._resolve_dotted(module, typed)
        if found is not None:
            return found if found[0] == "class" else None
        facts = self.facts(module)
        if facts is None:
            return None
        aliased = self._alias_of(module, typed, function)
        if aliased is not None:
            # ``HassDict = dict`` (bound once, never rebound), here or in
            # the module it is imported from: what it is bound to.
            return self._named_type(aliased[0], aliased[1], None, depth + 1) if depth < MAX_DEPTH else None
        last = typed.rsplit(".", 1)[-1]
        if typed in _BUILTIN_TYPES or (last in CONTAINER_GENERICS and self._from_stdlib(facts, function, typed)):
            return ("builtin", _BUILTIN_TYPES.get(typed, last.lower()), "")
        target = (function.imports.get(typed.split(".")[0]) if function is not None else None) or facts.imports.get(typed.split(".")[0])
        if target is None or target.split(":")[0].split(".")[0] in self.index.packages | _ABSTRACT_TYPES:
            return None
        if self.index.subclassed(typed.rsplit(".", 1)[-1]):
            return None  # a project class may stand for it
        return ("library", target, "")

    def _alias_of(self, module: str, dotted: str, function: FunctionFacts | None) -> tuple[str, str] | None:
        """The module and the name a type's name stands for where it is a
        module-level alias (see ModuleFacts.aliases): ``HassDict`` of
        ``from .hass_dict import HassDict``, ``hass_dict.HassDict``, or one
        of the module's own; ``None`` for any other name."""
        head, _, rest = dotted.partition(".")
        if function is not None and (head in function.params or head in function.aliases or head in function.fresh):
            return None
        where, name = module, head
        if rest:
            found = self._lookup_for(module, function, head) if function is not None else self._lookup(module, head)
            if found is None or found[0] != "module" or "." in rest:
                return None
            where, name = found[1], rest
        for _ in range(MAX_DEPTH):
            facts = self.facts(where)
            if facts is None:
                return None
            if name in facts.aliases:
                return (where, facts.aliases[name])
            imported = (function.imports.get(name) if function is not None and where == module else None) or facts.imports.get(name)
            source, _, attribute = (imported or "").partition(":")
            if not attribute or source not in self.index.modules:
                return None
            where, name = source, attribute
        return None

    def _attribute_type(self, module: str, class_name: str, attribute: str) -> tuple[str, str] | None:
        found = self._attribute_kind(module, class_name, attribute)
        return (found[1], found[2]) if found is not None and found[0] == "class" else None

    def _attribute_kind(self, module: str, class_name: str, attribute: str) -> tuple[str, str, str] | None:
        """What the type an attribute of the class is declared with names
        (see :meth:`_named_type`)."""
        mro = self._mro(module, class_name)
        for where, name in mro or ():
            if not where:
                return None
            cls = self._class(where, name)
            if cls is not None and attribute in cls.attribute_types:
                return self._named_type(where, cls.attribute_types[attribute])
        return None

    def _receiver_type(self, module: str, function: FunctionFacts, receiver: str) -> tuple[str, str, str] | None:
        """What the class of ``receiver`` (``self``, ``self.api``, ``param``)
        is (see :meth:`_named_type`)."""
        root, tail = split_root(receiver)
        found = self._root_type(module, function, root)
        for attribute in [part for part in tail.split(".") if part]:
            if attribute == "__dict__" and root != "?":
                # (An object's namespace is a dict whatever its class; a
                # class's, a read-only view of one.)
                found = ("builtin", "dict", "")
                continue
            if found is None or found[0] != "class" or "[" in attribute:
                return None
            found = self._attribute_kind(found[1], found[2], attribute)
        return found

    def resolve(self, module: str, function: FunctionFacts, call: CallFact) -> _Target | None:
        """The one project function a call of ``function`` (in ``module``)
        runs, with its parameters bound to the caller's paths; ``None`` when
        it cannot be told or may be one of several (see :meth:`targets`)."""
        found = self.targets(module, function, call)
        return found[0] if found is not None and len(found) == 1 else None

    def targets(self, module: str, function: FunctionFacts, call: CallFact) -> list[_Target] | None:
        """Every project function a call of ``function`` may run: one, or,
        for a method of an object whose class is known only as a class it
        is an instance of (``self``, an annotated parameter, an attribute),
        that class's method and the overrides of it in the project's
        subclasses. ``None`` when that cannot be told."""
        func = call.func
        if func == "?":
            return None
        if func.startswith("super()."):
            if function.class_name is None or not function.params:
                return None
            found = self._method(module, function.class_name, func[len("super()."):], after=(module, function.class_name))
            return self._one(found, call, function.params[0])
        head, _, rest = func.partition(".")
        if not rest:
            if head in function.nested:
                return self._one((module, f"{function.qualname}.<locals>.{head}"), call, None)
            if head in function.params or head in function.aliases:
                return None  # a callable passed in: may be anything
            found = self._lookup_for(module, function, head)
            if found is None:
                # A module's singleton called (``_("text")``): its class's
                # ``__call__``.
                owner = self._receiver_class(module, function, head)
                return self._method_targets(owner, "__call__", call, head) if owner is not None else None
            if found[0] == "function":
                return self._one((found[1], found[2]), call, None)
            if found[0] == "class":
                return self._one(self._method(found[1], found[2], "__init__"), call, "")
            return None
        receiver, method = func.rsplit(".", 1)
        if receiver.startswith(NEW):
            # ``Class(...).method()``: a new object of that very class.
            made = self._resolve_dotted(module, receiver[len(NEW):].replace(":", "."), function)
            if made is None or made[0] != "class":
                return None
            return self._one(self._method(made[1], made[2], method), call, "")
        # A method of an object whose class the model knows, or one of its
        # subclasses.
        owner = self._receiver_class(module, function, receiver)
        if owner is not None:
            return self._method_targets(owner, method, call, receiver)
        # A function of an imported module (``helpers.fetch(x)``).
        found = self._resolve_dotted(module, func, function)
        if found is not None and found[0] == "function":
            facts = self.facts(found[1])
            fn = facts.functions.get(found[2]) if facts else None
            if fn is not None and fn.kind in ("function", "staticmethod"):
                return self._one((found[1], found[2]), call, None)
            if fn is not None and fn.kind == "classmethod":
                # ``Sessions.get()`` on the class itself: its own (or its
                # bases') classmethod, with ``cls`` the class.
                named = self._resolve_dotted(module, receiver, function)
                if named is not None and named[0] == "class":
                    return self._one((found[1], found[2]), call, receiver)
        return None

    def _method_targets(self, owner: tuple[str, str], method: str, call: CallFact, receiver: str) -> list[_Target] | None:
        """The methods a call of ``method`` on an object of the project class
        ``owner`` may run: the class's and its subclasses' overrides."""
        found = self._method(owner[0], owner[1], method)
        overrides = self._overrides(owner[0], owner[1], method)
        if found is None or overrides is None or self._is_protocol(owner[0], owner[1]):
            return None
        runs = [found, *(o for o in overrides if o != found)]
        # A stub (``...``, ``raise NotImplementedError``) does nothing;
        # when all are, what runs is a class the project does not hold.
        live = [where for where in runs if not self._is_stub(where)]
        if not live:
            return None
        bound = [self._bind(where, call, receiver) for where in live]
        return None if any(target is None for target in bound) else bound  # type: ignore[return-value]

    def _one(self, found: tuple[str, str] | None, call: CallFact, receiver: str | None) -> list[_Target] | None:
        target = self._bind(found, call, receiver)
        return [target] if target is not None else None

    def _is_stub(self, where: tuple[str, str]) -> bool:
        function = self.function(*where)
        return function is not None and function.stub

    def _is_protocol(self, module: str, class_name: str) -> bool:
        """Whether the class is a Protocol: its implementations need not
        name it as a base."""
        cls = self._class(module, class_name)
        return cls is not None and any(base.rsplit(".", 1)[-1] == "Protocol" for base in cls.bases)

    def _overrides(self, module: str, class_name: str, method: str) -> list[tuple[str, str]] | None:
        """The ``method`` each project subclass of the class runs, where that
        is not the class's own: found from the bytes of the project (the
        classes naming the class, or a subclass of it, as a base), and read
        only where a file of a subclass, or of one of its other bases,
        defines that name. ``None`` when a subclass cannot be read (a class
        the module's facts do not hold, one whose methods may not be what
        its body says) or there are too many to read."""
        candidates, digest = self.index.override_candidates(class_name, method)
        if self.derived is not None:
            # A result that asked this is current while the classes that may
            # override are: a subclass added in another file, or a ``def``
            # of the name added to one, changes the answer.
            self.derived[override_key(class_name, method)] = digest
        key = (module, class_name, method)
        if key in self._override_memo:
            return self._override_memo[key]
        self._override_memo[key] = None  # (a cycle of bases: unknown)
        result = self._find_overrides(module, class_name, method, candidates)
        self._override_memo[key] = result
        return result

    def _find_overrides(
        self, module: str, class_name: str, method: str, candidates: frozenset[tuple[str, int]]
    ) -> list[tuple[str, str]] | None:
        if len(candidates) > MAX_OVERRIDES:
            return None
        found: list[tuple[str, str]] = []
        for name, number in sorted(candidates, key=lambda c: (c[1], c[0])):
            where = self.index.paths.get(self.index.files[number])
            facts = self.facts(where) if where is not None else None
            if facts is None or name not in facts.classes:
                return None  # a subclass the model cannot read
            mro = self._mro(where, name)  # type: ignore[arg-type]
            if mro is None:
                return None
            if (module, class_name) not in mro:
                continue  # another class of the same name
            runs = self._method(where, name, method)  # type: ignore[arg-type]
            if runs is None:
                return None
            if runs not in found:
                found.append(runs)
        return found

    def _receiver_class(self, module: str, function: FunctionFacts, receiver: str) -> tuple[str, str] | None:
        """The project class of ``receiver`` (``self``, ``self.api``, ``param``)."""
        found = self._receiver_type(module, function, receiver)
        return (found[1], found[2]) if found is not None and found[0] == "class" else None

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
        extra: list[str | None] | None = []
        for index, arg in enumerate(call.args):
            if arg == "*":
                unmatched = True
                extra = None
                break
            position = index + offset
            if position >= len(params):
                unmatched = unmatched or not callee.varargs
                extra = None if "*" in call.args[index:] else call.args[index:]
                break
            bound[position] = arg
        for name, arg in call.kwargs.items():
            if name in params:
                bound[params.index(name)] = arg
            elif name not in callee.kwonly and not callee.varargs:
                unmatched = True
        if call.star_kwargs:
            unmatched = True
        return _Target(found[0], found[1], bound, unmatched, extra)

    # -- summaries --------------------------------------------------------------

    def function(self, module: str, qualname: str) -> FunctionFacts | None:
        facts = self.facts(module)
        return facts.functions.get(qualname) if facts is not None else None

    def effects(self, module: str, qualname: str, depth: int = 0) -> Effects:
        """What calling ``qualname`` of ``module`` may do, in its own terms
        (unknown where it calls a callable it is given: what that does only
        a caller knows)."""
        summary = self._summary(module, qualname, depth)
        return UNKNOWN if summary.forwards else summary

    def _summary(self, module: str, qualname: str, depth: int = 0) -> Effects:
        """:meth:`effects`, with the callables it is given and calls left
        for the caller to resolve (``Effects.forwards``)."""
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
                    again = _widened(self._summarize(module, function, depth))
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
        if function.opaque or function.generator or self._dynamic(module, facts, depth):
            return UNKNOWN

        def own(path: str) -> str | None:
            return self._own_path(module, facts, function, params, path)

        # (A value a library made, "~", is the library's: what is done to it
        # here is not shared state the model follows.)
        reads = {p for p in (own(path) for path in function.reads) if p is not None and not p.startswith(LIBRARY)}
        writes = {p for p in (own(path) for path in function.writes) if p is not None and not p.startswith(LIBRARY)}
        locks = {p for p in (own(path) for path in function.locks) if p is not None and not p.startswith(LIBRARY)}
        late_reads = {p for p in map(own, function.late_reads) if p is not None and not p.startswith(LIBRARY)}
        late_writes = {p for p in map(own, function.late_writes) if p is not None and not p.startswith(LIBRARY)}
        result = Effects(
            frozenset(reads), frozenset(writes), frozenset(), frozenset(locks), function.suspends,
            late_reads=frozenset(late_reads), late_writes=frozenset(late_writes),
        )
        if any(p == "?" or p.startswith("?") for p in writes):
            return UNKNOWN
        late = set(function.late_reads)
        for path in function.reads:
            effects = self._properties_read(module, function, path, own, depth)
            if effects.unknown:
                return UNKNOWN
            result = result | (effects.all_late() if path in late else effects.all_early())
        for index, call in enumerate(function.calls):
            effects = self._call_in(module, function, call, own, depth)
            if "." in call.func and not call.func.startswith(("<", "super().")):
                # (``t.label.upper()``: the receiver's getters run first.)
                effects = effects | self._properties_read(module, function, call.func.rsplit(".", 1)[0], own, depth)
            if effects.forwards and index >= function.late_calls:
                effects = dataclasses.replace(effects, forwards=frozenset((i, how, True) for i, how, _ in effects.forwards))
            # A call made before the first statement that may suspend is not
            # awaited: it runs to its end there, all of it early. One made
            # from that statement on: all of it late.
            result = result | (effects.all_late() if index >= function.late_calls else effects.all_early())
            if result.unknown:
                return UNKNOWN
        return result

    def _properties_read(  # type: ignore[no-untyped-def]
        self, module: str, function: FunctionFacts, path: str, own, depth: int
    ) -> Effects:
        """What reading ``path`` (``t.label``, ``self.api.token``) runs:
        the getter of each property of the project on the way. An object
        whose class the model knows runs its class's (or an override's); one
        of unknown class, the getters of that name in the classes its module
        sees (its own, those of the project modules it imports), as an
        operator does; a library's or a builtin's, none the model reads."""
        root, tail = split_root(path)
        if not tail or root.startswith(("?", RESULT)):
            return Effects()
        result = Effects()
        receiver = root
        for attribute in tail[1:].split("."):
            if "[" in attribute or not attribute:
                break
            if (attribute in self.index.defined and self._a_getter(attribute)) or "__get__" in self.index.defined:
                one = self._property_get(module, function, receiver, attribute, own, depth)
                if one.unknown:
                    return UNKNOWN
                result = result | one
            receiver = f"{receiver}.{attribute}"
        return result

    def getters_run(self, module: str, function: FunctionFacts, path: str, own) -> Effects:  # type: ignore[no-untyped-def]
        """What reading ``path`` in ``function`` runs: the getters of the
        properties of the project on the way (see :meth:`_properties_read`),
        in the terms of ``own``."""
        return self._properties_read(module, function, path, own, 0)

    def _property_get(  # type: ignore[no-untyped-def]
        self, module: str, function: FunctionFacts, receiver: str, attribute: str, own, depth: int
    ) -> Effects:
        call = CallFact(f"{receiver}.{attribute}", [], {}, False, False, 0)
        targets = self.targets(module, function, call)
        if targets is not None:
            result = Effects()
            for target in targets:
                getter = self.function(target.module, target.qualname)
                if getter is not None and getter.kind == "property":
                    one = self._run(target, call, own, depth, module, function)
                    if one.unknown:
                        return UNKNOWN
                    result = result | one
            return result
        typed = self._receiver_type(module, function, receiver)
        if typed is not None and typed[0] in ("builtin", "library"):
            return Effects()
        if typed is not None:
            mro = self._mro(typed[1], typed[2], as_written=True)
            if mro is None:
                return UNKNOWN
            # A class whose methods may not be what its body says (a
            # metaclass, ``__init_subclass__``): its getter as written, if it
            # has one (what a hook adds is not followed); else an attribute
            # no class of its MRO defines by ``def``: a plain one, or one its
            # class body binds to a descriptor.
            for where, name in mro:
                cls = self._class(where, name) if where else None
                qualname = cls.methods.get(attribute) if cls is not None else None
                if qualname is not None:
                    getter = self.function(where, qualname)
                    if getter is None or getter.kind != "property":
                        return Effects()  # a method, read and not called
                    target = self._bind((where, qualname), call, receiver)
                    return self._run(target, call, own, depth, module, function) if target is not None else UNKNOWN
            owners = [where for where, name in mro if where and attribute in self._class(where, name).assigned]  # type: ignore[union-attr]
            return self._descriptors_get(module, function, call, receiver, owners, own, depth)
        # (A read that ``__getattr__`` answers, where normal lookup fails,
        # is not followed: reads are everywhere, and every one of an object
        # of unknown class would be unknown where a proxy class exists.)
        seen = self._seen_files(module)
        owners = []
        if "__get__" in self.index.defined:
            for number in seen:
                where = self.index.paths.get(self.index.files[number])
                facts = self.facts(where) if where is not None else None
                if facts is not None and any(attribute in cls.assigned for cls in facts.classes.values()):
                    owners.append(where)  # type: ignore[arg-type]
        result = self._descriptors_get(module, function, call, receiver, owners, own, depth)
        if result.unknown:
            return UNKNOWN
        for where, qualname in self._property_defs(attribute, seen):
            target = self._bind((where, qualname), call, receiver)
            one = self._run(target, call, own, depth, module, function) if target is not None else UNKNOWN
            if one.unknown:
                return UNKNOWN
            result = result | one
        return result

    def _descriptors_get(  # type: ignore[no-untyped-def]
        self, module: str, function: FunctionFacts, call: CallFact, receiver: str, owners: list[str], own, depth: int
    ) -> Effects:
        """What reading an attribute that class bodies of the modules
        ``owners`` bind (``label = Desc()``) may run: the ``__get__`` of a
        class those modules see, where the project defines one."""
        if "__get__" not in self.index.defined:
            return Effects()
        result = Effects()
        for where in dict.fromkeys(owners):
            one = self._any_method(
                call, own, receiver, own(receiver) or "", "__get__", False, depth, module, function,
                special=True, within=self._seen_files(where),
            )
            if one.unknown:
                return UNKNOWN
            result = result | one
        return result

    def bound_unseen(self, name: str) -> str | None:
        """A module of the project that may bind ``name`` in a class no
        class statement describes (``type(name, bases, {...})``, a
        metaclass's namespace, ``setattr`` in a metaclass or an
        ``__init_subclass__``; one whose names it cannot read may bind any):
        its name; ``None`` where none does."""
        if self.derived is not None:
            for key in (name, "__getattr__"):
                self.derived[definers_key(key)] = self.index.definers_digest(key)
        for key in (name, "__getattr__"):
            for number in self.index.definers(key):
                where = self.index.paths.get(self.index.files[number])
                facts = self.facts(where) if where is not None else None
                if facts is not None and unlisted(facts, key):
                    return where
        return None

    def _a_getter(self, name: str) -> bool:
        """Whether a class of the project defines a getter named ``name``."""
        known = self._getters.get(name)
        if known is None:
            known = self._getters[name] = bool(self._property_defs(name, None))
        elif self.derived is not None:
            # (Asked again for another file: its results depend on it too.)
            self.derived[definers_key(name)] = self.index.definers_digest(name)
        return known

    def _property_defs(self, name: str, within: frozenset[int] | None) -> list[tuple[str, str]]:
        """The getters (``@property`` and the like) named ``name`` that the
        classes of the files ``within`` define (all the project's files:
        ``None``), as (module, qualname)."""
        found: list[tuple[str, str]] = []
        if self.derived is not None:
            self.derived[definers_key(name)] = self.index.definers_digest(name)
        for number in self.index.defined.get(name, ()):
            if within is not None and number not in within:
                continue
            where = self.index.paths.get(self.index.files[number])
            facts = self.facts(where) if where is not None else None
            if facts is None:
                continue
            for cls in facts.classes.values():
                qualname = cls.methods.get(name)
                getter = facts.functions.get(qualname) if qualname is not None else None
                if getter is not None and getter.kind == "property":
                    found.append((where, qualname))  # type: ignore[arg-type]
        return found

    def _dynamic(self, module: str, facts: ModuleFacts, depth: int) -> bool:
        """Whether the module may rebind its own names: it does so itself,
        or hands its ``globals()`` to a function that may change what it is
        given (not one of the project that reads it alone)."""
        if facts.dynamic:
            return True
        for handed in facts.globals_to:
            name, _, where = handed.rpartition(":")
            found = self._resolve_dotted(module, name)
            if found is None or found[0] != "function" or self._changes_parameter(found[1], found[2], where, depth):
                return True
        return False

    def _changes_parameter(self, module: str, qualname: str, where: str, depth: int) -> bool:
        """Whether a function may change the object given as its parameter
        ``where`` (a position or a name): it writes through it, calls a
        method that changes a dict or a list on it, binds it to another
        name, or hands it to a function that may."""
        function = self.function(module, qualname)
        if function is None or function.opaque or depth > MAX_DEPTH:
            return True
        names = [*function.params, *function.kwonly]
        name = names[int(where)] if where.isdigit() and int(where) < len(function.params) else where
        if name not in names:
            return True
        if any(split_root(path)[0] == name for path in function.writes):
            return True
        if any(split_root(path)[0] == name for path in function.aliases.values()):
            return True
        for call in function.calls:
            root, tail = split_root(call.func)
            if root == name and tail.count(".") == 1 and tail[1:] in _CHANGING_METHODS:
                return True
            if call.func in PURE_CALLS and self._is_builtin(module, function, call.func):
                continue  # ``list(module_globals)``: read, a copy made
            given = [(str(i), a) for i, a in enumerate(call.args)] + list(call.kwargs.items())
            for key, argument in given:
                if argument is not None and split_root(argument)[0] == name:
                    target = self.resolve(module, function, call)
                    if target is None:
                        return True
                    index = next((i for i, a in target.bound.items() if a == argument), None)
                    if index is None or self._changes_parameter(target.module, target.qualname, str(index), depth + 1):
                        return True
        return False

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
        if root.startswith(LOCAL):
            return path  # a value the asking function made (see statement_effects)
        if root.startswith("@"):
            return path  # a loop item of the caller's question
        if root.startswith(RESULT):
            base = self._result(module, function, int(root[len(RESULT):]))
            return None if base is None else base + tail
        if root in params:
            return f"${params.index(root)}{tail}"
        if root in function.kwonly:
            return f"$k:{root}{tail}"
        if root in function.imports or root in facts.imports:
            target = function.imports.get(root) or facts.imports[root]
            source, _, attribute = target.partition(":")
            if not attribute or f"{source}.{attribute}" in self.index.modules:
                return None if not tail else f"g:{(source + '.' + attribute) if attribute else source}{tail}"
            return f"g:{source}.{attribute}{tail}"
        if root in facts.classes:
            # The class object, shared by every caller: its attributes
            # (``Cls.cache``) are shared state, and a classmethod called on
            # it (``Job.note()``) writes them through ``cls``.
            return f"g:{module}.{root}{tail}"
        if root in facts.functions:
            return f"g:{module}.{root}{tail}" if tail else None
        if root in facts.aliases:
            # ``cache = CACHE``: one object, under the name it was made as.
            seen, target = {root}, facts.aliases[root]
            while target.split(".")[0] in facts.aliases:
                head, _, rest = target.partition(".")
                if head in seen:
                    return "?" + tail  # names bound to each other
                seen.add(head)
                target = facts.aliases[head] + ("." + rest if rest else "")
            return self._own_path(module, facts, function, params, target + tail)
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
        if head.startswith("<"):
            # Text made of a value (``f"{x}"``): the builtin's own call.
            return self._dunders(module, function, call, head[1:-1], own, depth)
        if not rest and head in PURE_CALLS and self._not_rebound(module, function, head):
            # (``str(x)`` runs ``x.__str__``: a project class's may do anything.)
            return self._dunders(module, function, call, head, own, depth)
        if not rest and (head in _EXCEPTIONS or head == "print") and self._is_builtin(module, function, head):
            # A builtin exception made (to be raised), a line printed (as a
            # log line is: no state a rule orders by), but for the text of
            # what it prints (``x.__str__``).
            return self._dunders(module, function, call, "str", own, depth) if head == "print" else Effects()
        if call.func == "super().__init__" and self._builtin_base_next(module, function):
            # ``super().__init__(message)`` of an exception class: the
            # builtin's, which sets the new object's own fields.
            return Effects()
        if self._bare_class(module, function, call.func):
            # A project class no part of which runs code when made (an
            # exception class, a marker): the new object keeps its
            # arguments, and that is all.
            args = {own(a) for a in (*call.args, *call.kwargs.values()) if a not in (None, "*", "?")}
            return Effects(reads=frozenset(a for a in args if a is not None))
        forward = self._forward(function, call)
        if forward is not None:
            # ``target(*args)`` of a callable handed in: what it does, the
            # caller that handed it in tells (not the question's own call).
            if top:
                return UNKNOWN
            return Effects(suspends=None if call.awaited else False, forwards=frozenset({(forward, "await" if call.awaited else "call", False)}))
        in_thread = self._thread_call(module, function, call)
        if in_thread is not None:
            return self._in_thread(module, function, call, in_thread, own, depth, top)
        targets = self.targets(module, function, call)
        if targets is not None:
            # What any of the functions it may run does.
            result = Effects()
            for target in targets:
                one = self._run(target, call, own, depth, module, function)
                if one.unknown:
                    return UNKNOWN
                result = result | one
            return result
        # Not in the project: a library's function or method.
        if call.func == "?":
            return UNKNOWN
        facts = self.facts(module)
        suspends = None if call.awaited else False
        if not rest:
            if top and facts is not None and self._unbound(facts, function, head):
                # A name the module binds nowhere (a builtin, or a sketch's
                # undefined helper): nothing the model can see into, left to
                # the rule as a library's function is.
                return LEFT_TO_RULE
            if facts is None or self._import_of(facts, function, head) is None or head in facts.assigned:
                # A callable handed in, bound at run time, rebound, or not
                # bound here at all: it may be anything.
                return UNKNOWN
            if top:
                # The awaited call of a statement, a library function: left
                # to the rule's own reading of its arguments.
                return LEFT_TO_RULE
            if _pure_stdlib(head, facts, function):
                # ``from ipaddress import ip_address``: as ``json.dumps`` is.
                return _pure_stdlib_call(call, own, head, suspends)
            return self._library_call(call, own, head, suspends, self._library_of(facts, function, head))
        receiver, method = call.func.rsplit(".", 1)
        root = split_root(receiver)[0]
        if _is_logging(receiver, method):
            return Effects()
        if receiver == root and method in _FUTURE_METHODS and self._thread_future(module, function, root):
            # The future of a worker thread started here: its callbacks and
            # state are this call's own (the thread's work is the thread
            # call's).
            return Effects()
        receiver_path = own(receiver)
        typed = self._receiver_type(module, function, receiver) if not root.startswith(NEW) else None
        if typed is not None and typed[0] == "builtin":
            # A method of a str, a dict, a list: it changes the value itself
            # or nothing, and reads what it is given.
            mine = frozenset({receiver_path}) if receiver_path is not None else frozenset()
            args = {own(a) for a in (*call.args, *call.kwargs.values()) if a not in (None, "*", "?")}
            reads = mine | {a for a in args if a is not None}
            return Effects(reads=reads, writes=mine if method in _CHANGING_METHODS else frozenset())
        if method in TEXT_METHODS and not call.awaited and method not in self.index.defined:
            # ``name.upper()``, ``path.startswith(p)``: a text's own method
            # (no method of the project has its name), which changes nothing.
            return Effects(reads=frozenset({receiver_path}) if receiver_path is not None else frozenset())
        if root in function.fresh and root not in function.types:
            # A value made here by a literal or an expression (``parts =
            # []``, ``text = a + b``): a builtin value of this call's own.
            args = {own(a) for a in (*call.args, *call.kwargs.values()) if a not in (None, "*", "?")}
            return Effects(reads=frozenset(a for a in args if a is not None))
        if root.startswith(NEW) or root in function.fresh or (receiver_path or "").startswith(LIBRARY):
            # A library's object made right here (``AESGCM(key).encrypt(...)``,
            # ``box = SecretBox(key)``): what its methods change is its own
            # and the remote side's.
            return self._library_object(call, own, "", method, receiver, suspends)
        imported = facts is not None and self._import_of(facts, function, root) is not None
        if top and (receiver_path is None or imported):
            # The awaited call of a statement is a function of a library
            # module (``registry.async_load(hass)``): left to the rule's own
            # reading of its arguments, as a bare library function is.
            return LEFT_TO_RULE
        if receiver_path is None or imported:
            if _pure_stdlib(root, facts, function):
                # A function of the standard library that changes nothing but
                # what it returns (``json.dumps``, ``base64.b64encode``).
                return _pure_stdlib_call(call, own, method, suspends)
            return self._library_call(call, own, method, suspends, self._library_of(facts, function, root))
        owner = self._receiver_class(module, function, receiver)
        if owner is not None:
            # An object of a project class whose MRO has no such method: a
            # callable stored on it (``self.update_method()``) may be
            # anything; one a library base class defines is the library's,
            # unless a subclass of the project may override it. (One the
            # project defines and the model could not pin down: unknown.)
            mro = self._mro(owner[0], owner[1])
            if mro is None or all(where for where, _ in mro) or self._method(owner[0], owner[1], method) is not None:
                return UNKNOWN
            if self._overrides(owner[0], owner[1], method) != []:
                return UNKNOWN
        if receiver_path.startswith("?"):
            if method in PURE_METHODS:
                # ``s.lower()``, ``d.items()``: a builtin value's own method.
                return Effects()
            if method in self.index.defined or self._stored_method(method):
                # A value of unknown origin whose method may be the
                # project's: what it changes may be anything.
                return UNKNOWN
            return self._library_object(call, own, "", method, receiver, suspends)
        if owner is None and (method in self.index.defined or self._stored_method(method)) and not self._library_typed(
            module, function, receiver
        ):
            # An object of a class the model does not know (``self._script``
            # bound from a parameter): a method of that name the project
            # defines may be the one that runs.
            return self._any_method(call, own, receiver, receiver_path, method, suspends, depth, module, function)
        declared = typed[1] if typed is not None and typed[0] == "library" else ""
        return self._library_object(call, own, receiver_path, method, receiver, suspends, declared)

    def _thread_call(self, module: str, function: FunctionFacts, call: CallFact) -> CallFact | str | None:
        """For a call that runs a function in a worker thread
        (``asyncio.to_thread(fn, *args)``, ``loop.run_in_executor(executor,
        fn, *args)``, anyio's and trio's ``to_thread.run_sync``): the call of
        that function it makes, or "?" where the function is no path (a
        lambda, a ``partial(...)``); ``None`` for any other call."""
        head, _, rest = call.func.partition(".")
        skip, keywords = -1, False
        if call.func.endswith("." + EXECUTOR_METHOD) and EXECUTOR_METHOD not in self.index.defined:
            skip = 1
        else:
            facts = self.facts(module)
            target = self._import_of(facts, function, head) if facts is not None else None
            if target is None or head in function.params:
                return None
            qualified = target.replace(":", ".") + ("." + rest if rest else "")
            if qualified not in THREAD_RUNNERS:
                return None
            skip, keywords = THREAD_RUNNERS[qualified]
        if len(call.args) <= skip or call.args[skip] in (None, "*", "?") or "*" in call.args[:skip]:
            return "?"
        return CallFact(
            call.args[skip] or "?", call.args[skip + 1:], dict(call.kwargs) if keywords else {},
            call.star_kwargs and keywords, False, call.line, call.keys, forwards=call.forwards,
        )

    def _in_thread(  # type: ignore[no-untyped-def]
        self, module: str, function: FunctionFacts, call: CallFact, runs: CallFact | str, own, depth: int, top: bool
    ) -> Effects:
        """What a call running ``runs`` in a worker thread does: what a
        function of the project there does, all of it after the caller
        suspends (the thread runs beside the event loop). A library's
        function there (or one the module binds nowhere) is not seen: the
        awaited call of a statement is left to the rule's own reading, as a
        library's function is; inside a callee it may not be thread-safe
        beside another, and reaches the remote side (what else would a
        thread be for): one at a time. Unknown unless awaited where it is
        made: a thread started and not waited for runs beside whatever
        comes next."""
        if isinstance(runs, str):
            return UNKNOWN
        forward = self._forward(function, runs)
        if forward is not None:
            # The callable handed in, in a thread: the caller resolves it,
            # and must wait for it (here, or through the future handed back).
            if top or not (call.awaited or self._handed_back(function, call)):
                return UNKNOWN
            return Effects(suspends=True, forwards=frozenset({(forward, "thread", True)}))
        if not call.awaited:
            return UNKNOWN
        library = self.targets(module, function, runs) is None
        if library and top:
            return LEFT_TO_RULE
        inner = self._call_in(module, function, runs, own, depth)
        if inner.unknown:
            return UNKNOWN
        if library:
            inner = inner | Effects(reads=frozenset({REMOTE}), writes=frozenset({REMOTE}))
        return dataclasses.replace(inner.all_late(), suspends=True)

    def _dunders(  # type: ignore[no-untyped-def]
        self, module: str, function: FunctionFacts, call: CallFact, builtin: str, own, depth: int
    ) -> Effects:
        """A builtin's call (``str(x)``, ``len(x)``, ``sorted(x)``), or an
        operator or statement recorded as one (``<+>`` for ``a + b``,
        ``<[]>`` for ``a[k]``, ``<with>``): what the special methods it
        runs on its arguments do, where the project defines one of them
        (``__str__``) and an argument may be an object of a project class;
        else nothing. A library's special methods change nothing the
        project names, and no ``__getattr__`` answers them (Python looks
        them up on the class). An operator runs those of the classes its
        module sees (its own, those of the modules it imports): operators
        are everywhere, and every project class's would make each
        comparison unknown where one class anywhere records what it was
        compared with (a template's ``__eq__``)."""
        operator = builtin in _OPERATOR_DUNDERS
        names = _OPERATOR_DUNDERS[builtin] if operator else _BUILTIN_DUNDERS.get(builtin, ())
        dunders = [name for name in names if name in self.index.defined]
        if not dunders:
            return Effects()
        within = self._seen_files(module) if operator else None
        result = Effects()
        given_all = call.args[:1] if builtin in _FIRST_ARGUMENT_ONLY else call.args
        for given in given_all:
            if given in (None, "*") or (given == "?" and not operator):
                if given == "?":
                    return UNKNOWN
                continue
            # (An operand of unknown origin is of a class the module sees,
            # as any other is: what those special methods do to an object
            # no one names stays unknown.)
            typed = self._receiver_type(module, function, given) if given != "?" else None
            if typed is not None and typed[0] in ("builtin", "library"):
                continue
            path = own(given)
            for dunder in dunders:
                runs = CallFact(f"{given}.{dunder}", [], {}, False, call.awaited, call.line)
                one = self._any_method(
                    runs, own, given, path or "", dunder, False, depth, module, function, special=True, within=within
                )
                if one.unknown:
                    return UNKNOWN
                result = result | one
        return result

    def _thread_future(self, module: str, function: FunctionFacts, root: str) -> bool:
        """Whether ``root`` is the result of a call of ``function`` that runs
        a function in a worker thread (``#2`` for ``task =
        loop.run_in_executor(None, fn)``)."""
        if not root.startswith(RESULT) or not root[len(RESULT):].isdigit():
            return False
        index = int(root[len(RESULT):])
        return index < len(function.calls) and self._thread_call(module, function, function.calls[index]) is not None

    def _handed_back(self, function: FunctionFacts, call: CallFact) -> bool:
        """Whether ``function`` returns the result of ``call`` (one of its
        calls) and nothing else."""
        if function.is_async or function.generator:
            return False  # its caller's await is the coroutine's, not the future's
        index = next((i for i, c in enumerate(function.calls) if c is call), None)
        return index is not None and bool(function.returns) and set(function.returns) == {f"{RESULT}{index}"}

    def _remote(self, call: CallFact, own, method: str) -> Effects:  # type: ignore[no-untyped-def]
        """What a call into a library reaches beyond the project's names: the
        remote side, read or changed as its verb says; only the part its
        arguments name where the verb acts on one thing (see
        :meth:`_library_object`)."""
        keys = {
            REMOTE + key for key in (own(k) for k in call.keys)
            if key is not None and not key.startswith(("g:", "?"))
        } if verb(method) in self.vocabulary.keyed_verbs else set()
        remote = frozenset(keys) if keys else frozenset({REMOTE})
        return Effects(reads=remote, writes=frozenset() if is_read(method, self.vocabulary.read_verbs) else remote)

    def _answers_any_name(self, module: str) -> bool:
        """Whether a class of the project may answer a method of any name:
        one defines ``__getattr__`` or ``__getattribute__`` (a proxy, a
        config tree), or a file binds one in a class its facts do not
        describe (see ModuleFacts.unlisted). An object of unknown class may
        be of such a class wherever it was made: the module need not import
        it (an object handed in, a subclass, a re-export). (A module's own
        ``__getattr__``, PEP 562, answers for the module alone.)"""
        if self._any_name is None:
            found = False
            for name in _ANY_NAME:
                if self.derived is not None:
                    self.derived[definers_key(name)] = self.index.definers_digest(name)
                for number in self.index.definers(name):
                    where = self.index.paths.get(self.index.files[number])
                    facts = self.facts(where) if where is not None else None
                    if facts is None or unlisted(facts, name) or any(
                        name in cls.methods or name in cls.assigned for cls in facts.classes.values()
                    ):
                        found = True
                        break
                if found:
                    break
            self._any_name = found
        elif self.derived is not None:
            for name in _ANY_NAME:
                self.derived[definers_key(name)] = self.index.definers_digest(name)
        return self._any_name

    def _seen_files(self, module: str) -> frozenset[int]:
        """The index's numbers of the files whose classes ``module`` sees:
        its own, and those of the project's modules it imports."""
        known = self._seen.get(module)
        if known is not None:
            return known
        facts = self.facts(module)
        seen = {module}
        if facts is not None:
            for target in facts.imports.values():
                source, _, attribute = target.partition(":")
                seen.add(source)
                if attribute:
                    seen.add(f"{source}.{attribute}")
        numbers = self.index.numbers
        known = self._seen[module] = frozenset(
            numbers[path] for path in (self.index.modules.get(name) for name in seen) if path in numbers
        )
        return known

    def _any_method(  # type: ignore[no-untyped-def]
        self, call: CallFact, own, receiver: str, receiver_path: str, method: str, suspends: bool | None, depth: int,
        module: str, function: FunctionFacts, *, special: bool = False, within: frozenset[int] | None = None,
    ) -> Effects:
        """A method of an object of a class the model cannot tell: a
        library's object, or one of a project class. The project's classes
        that may answer ``method`` are those whose body defines it (a
        subclass inheriting it runs its base's), all in the files the index
        found a ``def`` of that name in (``within``: those of them alone):
        what the call may do is what any of them does, or a library's
        method does (``special``: a special method Python runs, which a
        library's leaves as it was and no ``__getattr__`` answers). Unknown
        where one of those files holds a method the facts do not describe
        (a class in a function), a class whose methods may not be what its
        body says, or too many files to read."""
        files = self.index.definers(method)
        if within is not None:
            files = tuple(number for number in files if number in within)
        if self.derived is not None:
            # A ``def`` of the name added to another file changes the answer.
            self.derived[definers_key(method)] = self.index.definers_digest(method)
        if len(files) > MAX_DEFINERS or (not special and self._answers_any_name(module)):
            # (A class of the project that answers any name, by
            # ``__getattr__``, may be the object's as well.)
            return UNKNOWN
        if not special and self._stored_method(method):
            # ``self.get_value = self._count``, ``Job.run = _run``: the
            # object may hold a callable of the project under that name.
            return UNKNOWN
        result = Effects() if special else self._library_object(call, own, receiver_path, method, receiver, suspends)
        for number in files:
            where = self.index.paths.get(self.index.files[number])
            facts = self.facts(where) if where is not None else None
            if facts is None or unlisted(facts, method):
                return UNKNOWN
            for class_name, cls in facts.classes.items():
                qualname = cls.methods.get(method)
                if qualname is None:
                    if method in cls.assigned:
                        # ``get_value = _bump`` in the class body: a
                        # method the facts do not describe.
                        return UNKNOWN
                    continue
                callee = facts.functions.get(qualname)
                readable = callee is not None and callee.kind != "property" and self._mro(where, class_name) is not None  # type: ignore[arg-type]
                target = self._bind((where, qualname), call, receiver) if readable else None  # type: ignore[arg-type]
                one = self._run(target, call, own, depth, module, function) if target is not None else UNKNOWN
                if one.unknown:
                    return UNKNOWN
                result = result | one
        return result

    def _stored_method(self, method: str) -> bool:
        """Whether an object may hold a callable of the project under the
        name ``method`` that no ``def`` of that name is: set as an attribute
        (``self.get_value = self._count``, ``setattr(Job, "run", _run)``),
        or bound by assignment in a class body (``get_value = _bump``) of a
        file that no ``def`` of the name is in."""
        known = self._stored.get(method)
        if known is not None:
            return known
        found = method in self.index.stored
        for number in () if found else self.index.bound.get(method, ()):
            where = self.index.paths.get(self.index.files[number])
            facts = self.facts(where) if where is not None else None
            if facts is None or unlisted(facts, method) or any(method in cls.assigned for cls in facts.classes.values()):
                found = True
                break
        self._stored[method] = found
        return found

    def _run(  # type: ignore[no-untyped-def]
        self, target: _Target, call: CallFact, own, depth: int, module: str, function: FunctionFacts
    ) -> Effects:
        """What running ``target`` for ``call`` (made in ``function`` of
        ``module``) does, in the caller's terms."""
        callee = self._summary(target.module, target.qualname, depth + 1)
        if callee.unknown:
            return UNKNOWN
        callee_facts = self.function(target.module, target.qualname)
        if callee_facts is not None and callee_facts.is_async and not call.awaited:
            # A coroutine made and not awaited here runs elsewhere (a task,
            # a gather): what it does is not this call's alone.
            return UNKNOWN
        suspends = callee.suspends if (callee_facts is not None and callee_facts.is_async and call.awaited) else False
        mapped = self._map(callee, target, own)
        if mapped is None:
            return UNKNOWN
        if callee.forwards:
            handed = self._forwarded(module, function, target, call, callee.forwards, own, depth)
            if handed.unknown:
                return UNKNOWN
            mapped = mapped | handed
            suspends = _either_suspends(suspends, handed.suspends)
        return dataclasses.replace(mapped, suspends=suspends, unknown=False, forwards=frozenset())

    def _forward(self, function: FunctionFacts, call: CallFact) -> int | None:
        """For ``target(*args)`` in ``function``, a parameter called with the
        function's own ``*args`` as they came and nothing else: that
        parameter's index."""
        if not call.forwards or call.args != ["*"] or call.kwargs or call.star_kwargs:
            return None
        if call.func not in function.params or call.func in function.aliases:
            return None
        return function.params.index(call.func)

    def _forwarded(  # type: ignore[no-untyped-def]
        self, module: str, function: FunctionFacts, target: _Target, call: CallFact,
        forwards: frozenset[tuple[int, str, bool]], own, depth: int,
    ) -> Effects:
        """What the callables ``call`` hands ``target`` do when it calls them
        with what ``call`` passed beyond its parameters (``hass.
        async_add_executor_job(self._fetch, key)``: ``self._fetch(key)`` in
        a worker thread), in the caller's terms."""
        result = Effects()
        for index, how, late in sorted(forwards):
            given = target.bound.get(index)
            if given is None or given == "?" or target.extra is None:
                return UNKNOWN
            runs = CallFact(given, list(target.extra), {}, False, how == "await", call.line)
            if how == "thread":
                # A thread whose future the callee handed back: waited for
                # here, or running beside whatever comes next.
                if not call.awaited:
                    return UNKNOWN
                one = self._in_thread(module, function, call, runs, own, depth + 1, False)
            else:
                one = self._call_in(module, function, runs, own, depth + 1)
            if one.unknown:
                return UNKNOWN
            result = result | (one.all_late() if late else one.all_early())
        return result

    def _result(self, module: str, function: FunctionFacts, index: int, depth: int = 0) -> str | None:
        """The value ``function.calls[index]`` returned, in ``function``'s
        terms: a path (``$0._client`` for ``self._get_client()``), ``None``
        for a value the callee made, "~" for a value a library made, "?"
        for one of unknown origin."""
        key = (module, function.qualname, index)
        if index >= len(function.calls) or depth > 4 or key in self._results_asked:
            # (Asked again while answering: ``x = f(x)`` in a loop binds
            # ``x`` to a result whose argument is ``x``.)
            return "?"
        self._results_asked.add(key)
        try:
            return self._result_of(module, function, index, depth)
        finally:
            self._results_asked.discard(key)

    def _result_of(self, module: str, function: FunctionFacts, index: int, depth: int) -> str | None:
        call = function.calls[index]
        target = self.resolve(module, function, call)
        if target is None:
            facts = self.facts(module)
            root = split_root(call.func)[0]
            if facts is not None and (self._import_of(facts, function, root) is not None or root.startswith(NEW)):
                return LIBRARY  # what a library's function or object gives back
            return "?"
        callee = self.function(target.module, target.qualname)
        if callee is None or callee.generator or (callee.is_async and not call.awaited):
            return "?"  # a coroutine or a generator object, not its value
        given = self.returns(target.module, target.qualname, depth + 1)
        if given is None or given == LIBRARY or given.startswith("?"):
            return given
        head, tail = split_root(given)
        if head.startswith("$") and head[1:].isdigit():
            argument = target.bound.get(int(head[1:]))
            if argument is None:
                return None if int(head[1:]) in target.bound or not target.unmatched else "?"
            if argument == "?":
                return "?"
            facts = self.facts(module)
            assert facts is not None
            mapped = self._own_path(module, facts, function, function.params, argument)
            return None if mapped is None else mapped + tail
        return given  # a global

    def returns(self, module: str, qualname: str, depth: int = 0) -> str | None:
        """What ``qualname`` gives back, in its own terms (see :meth:`_result`);
        one answer for all its ``return`` statements, or "?"."""
        key = (module, qualname)
        if key in self._returns:
            return self._returns[key]
        self._returns[key] = "?"  # a recursion gives back what it gives back
        function = self.function(module, qualname)
        facts = self.facts(module)
        answer: str | None = "?"
        if function is not None and facts is not None and function.returns and not function.opaque:
            found = set()
            for value in function.returns:
                if value is None:
                    found.add(None)
                elif value.startswith(RESULT):
                    head, tail = split_root(value)
                    base = self._result(module, function, int(head[len(RESULT):]), depth)
                    found.add(None if base is None else base + tail)
                else:
                    found.add(self._own_path(module, facts, function, function.params, value))
            answer = found.pop() if len(found) == 1 else "?"
        self._returns[key] = answer
        return answer

    def _library_call(self, call: CallFact, own, name: str, suspends: bool | None, library: str) -> Effects:  # type: ignore[no-untyped-def]
        """A function of a library module: it may change what it is given,
        unless its name says it reads. (A value of unknown origin passed to
        it is taken to be left as it is: libraries seldom change their
        arguments, and assuming otherwise would leave nearly every function
        unknown.)"""
        args = {own(a) for a in (*call.args, *call.kwargs.values()) if a not in (None, "*", "?")}
        args = {a for a in args if a is not None and not a.startswith("?")}
        effects = Effects(
            reads=frozenset(args),
            writes=frozenset() if is_read(name, self.vocabulary.read_verbs) else frozenset(args),
            suspends=suspends,
        )
        if call.awaited and library not in _LOOP_LIBRARIES:
            # An awaited function of a library waits for something outside
            # the process (``await post_json(url, item)``): a post and a
            # later get of it are in order.
            effects = effects | self._remote(call, own, name)
        return effects

    def _library_object(  # type: ignore[no-untyped-def]
        self, call: CallFact, own, receiver_path: str, method: str, receiver: str, suspends: bool | None,
        declared: str = "",
    ) -> Effects:
        """A method of a library's object (a client, a device; ``receiver_path``
        "" for one made here): what it does stays in the library, and reaches
        state the project does not name (the device itself, a server): REMOTE.
        Reads of it commute with each other. Any other call may change what
        any other library call observes (a command, then a refresh through
        another handle) ... unless the call says what it is about: its
        arguments read a parameter or a loop item (``delete(where={"id":
        server.id})``) and its verb acts on one thing it names (a read, an
        update, a delete; not an add or a send, whose results the remote
        side keeps in order), and then it reaches that part of the remote
        side alone."""
        external = frozenset({(receiver_path, method)}) if receiver_path else frozenset()
        remote = self._remote(call, own, method).reads
        mine = frozenset({receiver_path}) if receiver_path else frozenset()
        if single_operation(receiver, declared, self.vocabulary.single_operation_words):
            # One stream, one connection: one operation at a time on it.
            return Effects(reads=mine | remote, writes=mine | remote, external=external, suspends=suspends)
        if is_read(method, self.vocabulary.read_verbs):
            return Effects(reads=mine | remote, external=external, suspends=suspends)
        return Effects(reads=mine | remote, writes=remote, external=external, suspends=suspends)

    def _bare_class(self, module: str, function: FunctionFacts, func: str) -> bool:
        """Whether ``func`` names a project class whose instances are made
        by ``object`` or a builtin exception alone: no class of its MRO
        defines ``__init__``, ``__new__`` or ``__post_init__``, none is
        decorated, and every base outside the project is a builtin
        exception the module does not rebind."""
        if func.startswith((NEW, "super()")) or "?" in func:
            return False
        found = self._resolve_dotted(module, func, function)
        if found is None or found[0] != "class":
            return False
        mro = self._mro(found[1], found[2])
        if mro is None:
            return False
        for where, name in mro:
            if not where:
                continue  # each base outside the project is checked where it is named
            cls, facts = self._class(where, name), self.facts(where)
            if cls is None or facts is None or cls.decorators or {"__init__", "__new__", "__post_init__"} & set(cls.methods):
                return False
            for base in cls.bases:
                if base in _PLAIN_BASES:
                    continue
                resolved = self._resolve_dotted(where, base)
                if resolved is not None and resolved[0] == "class":
                    continue  # a project class: its own entry in the MRO
                bound = facts.star_imports or base in facts.imports or base in facts.assigned or base in facts.classes
                if base not in _EXCEPTIONS or bound:
                    return False
        return True

    def _builtin_base_next(self, module: str, function: FunctionFacts) -> bool:
        """Whether, after ``function``'s class, the next class of its MRO
        that defines ``__init__`` is a builtin exception's or ``object``."""
        if function.class_name is None:
            return False
        mro = self._mro(module, function.class_name)
        if mro is None:
            return False
        for where, name in mro[1:]:
            if not where:
                return name in _EXCEPTIONS or name == "object"
            cls = self._class(where, name)
            if cls is None or "__init__" in cls.methods:
                return False
        return True  # object's

    def _not_rebound(self, module: str, function: FunctionFacts, name: str) -> bool:
        """Whether nothing the module or the function binds by name hides
        the builtin ``name`` (a star import is taken not to)."""
        facts = self.facts(module)
        return facts is not None and self._unbound(facts, function, name, stars=False)

    def _is_builtin(self, module: str, function: FunctionFacts, name: str) -> bool:
        """Whether ``name`` in ``function`` is the builtin of that name."""
        facts = self.facts(module)
        return facts is not None and self._unbound(facts, function, name) and name in _BUILTINS

    def _unbound(self, facts: ModuleFacts, function: FunctionFacts, name: str, *, stars: bool = True) -> bool:
        """Whether no statement of the module binds ``name`` (nor a star
        import may, with ``stars``, nor the function itself)."""
        return not (
            (stars and facts.star_imports) or name in facts.assigned or name in facts.functions or name in facts.classes
            or self._import_of(facts, function, name) is not None or name in function.params
            or name in function.aliases or name in function.fresh or name in function.nested
            or name in function.kwonly
        )

    def _from_stdlib(self, facts: ModuleFacts, function: FunctionFacts | None, typed: str) -> bool:
        """Whether a type's name is imported from ``typing`` or ``collections``."""
        root = typed.split(".")[0]
        target = (function.imports.get(root) if function is not None else None) or facts.imports.get(root)
        return target is not None and target.split(":")[0] in ("typing", "typing_extensions", "collections")

    def _library_typed(self, module: str, function: FunctionFacts, receiver: str) -> bool:
        """Whether ``receiver`` is declared to be of a class imported from
        outside the project (``self._session: aiohttp.ClientSession``)."""
        found = self._receiver_type(module, function, receiver)
        return found is not None and found[0] == "library"

    def _library_of(self, facts: ModuleFacts | None, function: FunctionFacts, name: str) -> str:
        """The top-level package an import binding ``name`` is from ("" when none is)."""
        target = self._import_of(facts, function, name) if facts is not None else None
        return target.split(":")[0].split(".")[0] if target else ""

    def _import_of(self, facts: ModuleFacts, function: FunctionFacts, name: str) -> str | None:
        """What an import binding ``name`` for ``function`` names (its own
        import first, then the module's)."""
        return function.imports.get(name) or facts.imports.get(name)

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
                # A parameter left to its default: an immutable value, or an
                # object every such call shares (``store=CACHE``: the
                # module's; ``seen=[]``: the definition's own, unknown).
                if target.unmatched:
                    return False
                default = callee_facts.defaults.get(callee_facts.params[index]) if index < len(callee_facts.params) else None
                if default is None:
                    return None
                if default == "?":
                    return "?" + tail
                callee_module = self.facts(target.module)
                if callee_module is None:
                    return "?" + tail
                shared = self._own_path(target.module, callee_module, _MODULE_SCOPE, [], default + tail)
                return "?" + tail if shared is None else shared
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
        late_reads = put_all(callee.late_reads) if callee.late_reads is not None else None
        late_writes = put_all(callee.late_writes) if callee.late_writes is not None else None
        if any(w.startswith("?") for w in writes):
            return None
        external = set()
        for receiver, method in callee.external:
            mapped = put(receiver)
            if mapped is False:
                return None
            if mapped is not None:
                external.add((mapped, method))
        return Effects(
            reads, writes, frozenset(external), locks, callee.suspends, False,  # type: ignore[arg-type]
            late_reads if late_reads is not None else (reads if callee.late_writes is not None else None),
            late_writes if late_writes is not None else (writes if callee.late_reads is not None else None),
        )

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
                found = self._targets_suspend(module, function, call, depth + 1)
                if found is True:
                    answer = True
                    break
                if found is None:
                    answer = None
        self._suspends[key] = answer
        return answer

    def _targets_suspend(self, module: str, function: FunctionFacts, call: CallFact, depth: int = 0) -> bool | None:
        """Whether awaiting ``call`` may suspend, over every function it may run."""
        if self._thread_call(module, function, call) is not None:
            return True  # it waits for a worker thread
        targets = self.targets(module, function, call)
        if targets is None:
            return None
        answer: bool | None = False
        for target in targets:
            callee = self.function(target.module, target.qualname)
            found = self.suspends(target.module, target.qualname, depth) if callee and callee.is_async else None
            if found is True:
                return True
            if found is None:
                answer = None
        return answer

    def call_suspends(self, module: str, qualname: str, call: CallFact, function: FunctionFacts | None = None) -> bool | None:
        """Whether awaiting ``call`` (made in ``qualname``) may suspend."""
        function = function or self.function(module, qualname)
        if function is None:
            return None
        return self._targets_suspend(module, function, call)

    # -- pure-Python CPU work (AM103) ------------------------------------------

    def cpu_work(self, module: str, qualname: str, depth: int = 0) -> CpuWork | None:
        """What a plain function computes, when all it does is compute: the
        loops over parameter-sized data it nests, through the project
        functions it calls (see :class:`CpuWork`). ``None`` where it may do
        anything else, or the model cannot see all it does: a coroutine, a
        generator (calling one computes nothing yet), a call the model
        cannot resolve to computing alone (I/O, a library, a callable
        passed in, logging), code run by name. A recursion is ``None``
        too: the model does not bound what it computes."""
        key = (module, qualname)
        if key in self._cpu:
            return self._cpu[key]
        if depth > MAX_DEPTH:
            return None
        function = self.function(module, qualname)
        if function is None or function.is_async or function.generator or function.opaque or function.stub:
            return None
        self._cpu[key] = None  # a cycle of calls computes without a bound the model sees
        answer = self._cpu_summary(module, function, depth)
        self._cpu[key] = answer
        return answer

    def _cpu_summary(self, module: str, function: FunctionFacts, depth: int) -> CpuWork | None:
        loops_at = dict((line, loops) for line, loops in function.sized_calls)
        params = [*function.params, *function.kwonly]
        deepest = function.sized_loops
        sized_by = set(function.sized_by)
        for call in function.calls:
            if call.awaited:
                return None
            found = self._cpu_call(module, function, call, depth)
            if found is None:
                return None
            if found is _COMPUTES:
                continue
            target, work = found  # type: ignore[misc]
            callee = self.function(target.module, target.qualname)
            assert callee is not None
            callee_params = [*callee.params, *callee.kwonly]
            # What the call hands to the parameters that size the callee's loops.
            sizing = [
                argument for index, argument in target.bound.items()
                if argument is not None and index < len(callee_params) and callee_params[index] in work.sized_by
            ] + [
                argument for name, argument in call.kwargs.items()
                if argument is not None and name in callee.kwonly and name in work.sized_by
            ]
            # Called in a loop with the loop's item (``for row in rows:
            # total(row)``), the callee's loops visit each value once more;
            # with a parameter itself, they multiply the loop's.
            direct = [argument for argument in sizing if split_root(argument)[0] in params and "[]" not in argument]
            sized_by.update(split_root(argument)[0] for argument in sizing if split_root(argument)[0] in params)
            loops = loops_at.get(call.line, 0)
            deepest = max(deepest, loops + work.loops if direct or not loops else max(loops, work.loops))
        return CpuWork(min(deepest, 3), frozenset(sized_by))

    def _cpu_call(self, module: str, function: FunctionFacts, call: CallFact, depth: int) -> object:
        """A call of a function that computes: ``_COMPUTES`` for one that
        computes a value of its arguments alone (a builtin, a function of
        ``math``, a method of a builtin value), (its target, its
        :class:`CpuWork`) for a function of the project that only
        computes; ``None`` for anything else."""
        head, _, rest = call.func.partition(".")
        facts = self.facts(module)
        assert facts is not None
        if not rest:
            if head.startswith("<") or (head in CPU_BUILTINS | _EXCEPTIONS and self._is_builtin(module, function, head)):
                return _COMPUTES
        targets = self.targets(module, function, call)
        if targets is not None:
            if len(targets) != 1:
                return None
            work = self.cpu_work(targets[0].module, targets[0].qualname, depth + 1)
            return None if work is None else (targets[0], work)
        root = split_root(call.func)[0]
        imported = self._import_of(facts, function, root)
        if imported is not None:
            top = imported.split(":")[0].split(".")[0]
            return _COMPUTES if top in CPU_MODULES else None
        if not rest or call.func == "?" or root in facts.functions or root in facts.classes:
            return None
        method = call.func.rsplit(".", 1)[1]
        if method in CPU_METHODS:
            return _COMPUTES
        if method in CPU_CONTAINER_METHODS:
            # ``get``, ``pop``, ``update``: a dict's or a list's on a value
            # made here or declared one; anything else's may be a client's.
            receiver = call.func.rsplit(".", 1)[0]
            typed = self._receiver_type(module, function, receiver)
            if receiver in function.fresh or (typed is not None and typed[0] == "builtin"):
                return _COMPUTES
        return None

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
        return self._call_in(module, function, call, self.caller_terms(module, function), 0, top=True)

    def effects_if_runs(
        self, module: str, function: FunctionFacts, call: CallFact, target: tuple[str, str]
    ) -> Effects:
        """What ``call`` (a method call in ``function`` of ``module`` whose
        receiver the model cannot type) does if it runs the method ``target``
        (module, qualname), in the caller's terms: how a safe rule asks about
        a caller that may be calling the function it changes."""
        bound = self._bind(target, call, call.func.rsplit(".", 1)[0])
        if bound is None:
            return UNKNOWN
        return self._run(bound, call, self.caller_terms(module, function), 0, module, function)

    def class_of(self, module: str, function: FunctionFacts, receiver: str) -> tuple[str, str, str] | None:
        """What the model knows of the class of ``receiver`` (``self.lock``,
        ``GUARD``, a typed parameter) in ``function`` of ``module``:
        ("class", its module, its name) for a class of the project,
        ("library" | "builtin", ...) otherwise; ``None`` where it cannot tell."""
        return self._receiver_type(module, function, receiver)

    def may_be_instance(self, module: str, function: FunctionFacts, receiver: str) -> bool:
        """Whether ``receiver`` (``wallet``, ``self.repo``) may be an object
        of any class of the project: the model cannot tell its type, and it
        is no module, library or builtin value."""
        if receiver.startswith(NEW):
            return False  # a new object of a class the model knows or not at all
        if self._receiver_type(module, function, receiver) is not None:
            return False  # typed: ``targets`` answered for it
        found = self._resolve_dotted(module, receiver, function)
        return found is None or found[0] != "module"

    def type_named(self, module: str, dotted: str) -> tuple[str, str, str] | None:
        """What a type's dotted name (``threading.Event``, ``Settings``)
        names as seen from ``module``'s top level: ("class", module, name)
        for a class of the project, ("library", import, "") for one from
        outside it, ("builtin", name, ""); ``None`` when that cannot be
        told."""
        return self._named_type(module, dotted)

    def caller_terms(self, module: str, function: FunctionFacts):  # type: ignore[no-untyped-def]
        """A path of ``function`` in the terms a rule asks in: its
        parameters by name, ``self.x``, globals as ``g:module.NAME``, the
        value a call gave back followed to where it comes from; ``None``
        for a value made here or one a library made, "?" for one of
        unknown origin."""
        params = function.params
        facts = self.facts(module)
        assert facts is not None

        def own(path: str) -> str | None:
            mapped = self._own_path(module, facts, function, params, path)
            if mapped is None or mapped.startswith(LIBRARY):
                return None
            if not mapped.startswith("$"):
                return mapped
            head, tail = split_root(mapped)
            if head.startswith("$k:"):
                return head[3:] + tail
            return params[int(head[1:])] + tail

        return own

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



#: What a default's expression is read in: the module, no function's names.
_MODULE_SCOPE = FunctionFacts(
    qualname="<defaults>", is_async=False, kind="function", class_name=None, decorators=[], params=[],
    kwonly=[], varargs=False, types={}, aliases={}, fresh=[], imports={}, reads=[], writes=[], calls=[],
    locks=[], suspends=False, opaque=False, generator=False,
)

#: The start of a type the model has already resolved ("=class|mod|Name").
_KNOWN = "="

#: The start of a path through a value the asking function made itself.
LOCAL = "%"


def _made_here(function: FunctionFacts, given: str | None, resolved: str | None) -> str | None:
    """A call's argument as the question sees it: ``%data`` for one rooted
    at a local the function made (``data = []``), else as resolved."""
    if resolved is not None or given is None or given in ("*", "?"):
        return resolved
    root, tail = split_root(given)
    return LOCAL + root + tail if root in function.fresh else resolved


def view_of(
    project: Project | None, filename: str, tree: ast.Module, text: str | None = None,
    vocabulary: Vocabulary | None = None,
) -> ModuleView:
    """The model as the analysis of ``filename`` (whose ``ast`` is ``tree``,
    parsed from ``text`` when given) asks it, reading libraries' calls by
    ``vocabulary``; without a project, a model of that one file."""
    if project is None:
        project = Project(ProjectIndex("", {}, {}))
    module = project.index.module_of(filename) if filename not in ("<string>", "-") else None
    if module is None:
        stem = Path(filename).stem if filename not in ("<string>", "-") else "__main__"
        module = stem if stem.isidentifier() else "__main__"
    view = ModuleView(project, module, tree, Path(filename).name == "__init__.py", text)
    if vocabulary is not None:
        view.project.vocabulary = vocabulary
    return view


class ModuleView:
    """The project model as one module's analysis asks it: the module's own
    facts come from the tree being analysed (which may differ from the file
    on disk, in a second fix pass), the rest from the project."""

    def __init__(
        self, project: Project, module: str, tree: ast.Module, is_package: bool, text: str | None = None
    ) -> None:
        # A model of its own for this text: summaries that went through the
        # module must be made again from the text as it is now.
        self.project = Project(project.index, project.cache)
        self.project._facts = dict(project._facts)
        self.project._read = project._read
        self.project.trees = project.trees
        self.project.hashes = project.hashes
        self.project.used = project.used
        self.project.derived = project.derived
        self.project.mentions = project.mentions
        self.module = module
        self.facts = self.project.add(module, tree, is_package, text)
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
        its target), all in the function's terms; :data:`UNKNOWN` when the
        model cannot tell; ``None`` when the call is a library's function
        (see :data:`LEFT_TO_RULE`), or the statement is not in a function.

        ``items``: loop variables, each a different object in each
        iteration; a path through one is spelled ``@name...``.
        """
        if qualname is None:
            return None
        function = self.facts.functions.get(qualname)
        if function is None:
            return None
        if items:
            # Each item a new object, of the class its container declares.
            known = {name: self.project._root_type(self.module, function, name) for name in items}
            function = dataclasses.replace(
                function,
                aliases={name: path for name, path in function.aliases.items() if name not in items},
                fresh=[name for name in function.fresh if name not in items],
                types={**function.types, **{f"@{name}": _KNOWN + "|".join(found) for name, found in known.items() if found}},
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
        # A value this function made and hands to the call (``data = []``,
        # ``await fill(data)``) is no caller's to see, but the next statement
        # may use it too: named, so that what the call does to it shows.
        call = dataclasses.replace(
            call,
            args=[_made_here(function, given, made) for given, made in zip(args, call.args)],
            kwargs={name: _made_here(function, kwargs.get(name), made) for name, made in call.kwargs.items()},
        )
        effects = self.project.call_effects(self.module, qualname, call, function)
        own = self.project.caller_terms(self.module, function)
        # The getters the statement runs as it makes the call (the
        # receiver's, the arguments'): before the call starts.
        getters = Effects()
        receiver = func.rsplit(".", 1)[0] if "." in func and not func.startswith(("<", "super().")) else None
        for path in (receiver, *args, *kwargs.values()):
            if path is not None and path not in ("*", "?"):
                getters = getters | self.project.getters_run(self.module, function, path, own)
        if getters.unknown or getters.writes or getters.locks:
            # (Gathered, a later statement's getters would run before the
            # earlier call starts: what they change, the model keeps in order.)
            return UNKNOWN
        if effects is LEFT_TO_RULE:
            return None
        if effects.unknown:
            return UNKNOWN
        own_reads = {own(path) for path in map(function.resolve, reads) if path is not None}
        # (A bare name the statement assigns is a local rebound, which the
        # rule's own reading of names orders; not a change of what it held.)
        own_writes = {own(path) for path in map(function.resolve, writes) if path is not None and split_root(path)[1]}
        own_reads.discard(None)
        own_writes.discard(None)
        if any(path.startswith("?") for path in own_writes):  # type: ignore[union-attr]
            return UNKNOWN
        own_reads = {p for p in own_reads if not p.startswith("?")}  # type: ignore[union-attr]
        late = effects.late
        # (The statement's target is assigned when a gather is done: late.)
        return Effects(
            effects.reads | own_reads | getters.reads,  # type: ignore[operator]
            effects.writes | own_writes,  # type: ignore[operator]
            effects.external,
            effects.locks,
            effects.suspends,
            late_reads=late.reads,
            late_writes=late.writes | own_writes,  # type: ignore[operator]
            # (A bare name evaluated is its binding, which no callee changes.)
            arguments=frozenset(p for p in own_reads if split_root(p)[1]) | getters.reads,  # type: ignore[union-attr]
        )

    def holds_a_set(self, qualname: str | None, path: str) -> bool:
        """Whether ``path`` (``devices``, ``self.devices``) in the function
        ``qualname`` is declared a set: its items are different objects."""
        function = self.facts.functions.get(qualname) if qualname is not None else None
        if function is None:
            return False
        found = self.project._receiver_type(self.module, function, path)
        return found is not None and found[0] == "builtin" and found[1] in ("set", "frozenset")

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


    def heavy_call(
        self,
        qualname: str | None,
        func: str,
        args: list[str | None],
        kwargs: dict[str, str | None],
        star_kwargs: bool = False,
    ) -> HeavyCall | None:
        """The pure-Python CPU work a call written in ``qualname`` runs (a
        plain function of the project that only computes: see
        :meth:`Project.cpu_work`), with which of its arguments size that
        work; ``None`` where it runs no such function, or the model cannot
        tell which it runs."""
        function = self.facts.functions.get(qualname) if qualname is not None else None
        if function is None:
            return None
        call = function.call(func, args, kwargs, star_kwargs, False)
        targets = self.project.targets(self.module, function, call)
        if targets is None or len(targets) != 1 or targets[0].unmatched:
            return None
        target = targets[0]
        callee = self.project.function(target.module, target.qualname)
        if callee is None or not callee.sized_loops:
            # Work found only in what it calls (``def f(x): return g(x)``)
            # is reported where ``g`` is called, not here: a screen that
            # reads one file can then tell which calls may be heavy.
            return None
        work = self.project.cpu_work(target.module, target.qualname)
        if work is None:
            return None
        # A method's own object is not among the call's arguments.
        offset = 1 if callee.kind in ("method", "property", "classmethod") else 0
        names = [*callee.params, *callee.kwonly]
        positions = tuple(
            index for index in range(len(args))
            if index + offset < len(callee.params) and names[index + offset] in work.sized_by
        )
        keywords = tuple(name for name in kwargs if name in work.sized_by)
        return HeavyCall(target.module, target.qualname, callee.kind, work, positions, keywords)


@dataclass(frozen=True)
class HeavyCall:
    """A call of a project function that only computes (see
    :meth:`ModuleView.heavy_call`): the function, its kind, what it
    computes, and the call's arguments (positions, keywords) that size it."""

    module: str
    qualname: str
    kind: str
    work: CpuWork
    positions: tuple[int, ...]
    keywords: tuple[str, ...]


def gather_conflict(earlier: Effects, later: Effects) -> bool:
    """Whether two awaited calls, the ``earlier`` one's statement first,
    may not run in one gather. Gathered, the later's arguments are read
    before the earlier starts; the earlier runs to its first suspension
    before the later starts, as in a row; from then on, the two may run
    in turns."""
    if earlier.unknown or later.unknown:
        return True
    return conflict(earlier.late, later) or _meet(earlier.writes, later.arguments)


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


def paths_meet(paths: frozenset[str], others: frozenset[str]) -> bool:
    """Whether a path of one set overlaps one of the other (the remote
    side's parts as :func:`conflict` compares them)."""
    return _meet(paths, others)


#: The attributes a path keeps below its root in the summary of a function
#: that calls itself (``self.id == other.id`` in ``__eq__``).
_CYCLE_PATH_PARTS = 4


def _widened(effects: Effects) -> Effects:
    """``effects`` with each path cut to its first parts (see
    :data:`_CYCLE_PATH_PARTS`): a function that reaches itself through an
    attribute of what it is given (``self.id == other.id``) names a path one
    part longer each time round, and no fixed point is reached. A path cut
    short stands for all below it, as reading or writing it would."""
    if effects.unknown:
        return effects

    def cut(paths: frozenset[str] | None) -> frozenset[str] | None:
        if paths is None:
            return None
        return frozenset(_cut_path(path) for path in paths)

    return dataclasses.replace(
        effects, reads=cut(effects.reads), writes=cut(effects.writes), locks=cut(effects.locks),
        late_reads=cut(effects.late_reads), late_writes=cut(effects.late_writes),
    )


def _cut_path(path: str) -> str:
    parts = 0
    for index, char in enumerate(path):
        if char in ".[":
            parts += 1
            if parts > _CYCLE_PATH_PARTS:
                return path[:index]
    return path


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
    "CpuWork",
    "Effects",
    "HeavyCall",
    "ModuleView",
    "Project",
    "ProjectIndex",
    "READ_VERBS",
    "Vocabulary",
    "UNKNOWN",
    "conflict",
    "paths_meet",
    "gather_conflict",
    "is_read",
    "project_root",
    "single_operation",
    "import_root",
    "indexes_for",
    "verb",
    "view_of",
]
