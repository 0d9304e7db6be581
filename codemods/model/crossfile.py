"""What AM401 must know of the other files of a run, which one file's
analysis cannot see: which module-level ``threading.local()`` names another
file imports (rewriting such a name would break that file's import).

Plain ``ast``, no LibCST: the look runs over every file of the run, in the
main process, before the files are split between workers or shards.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..screen.facts import search_word
from ..source.text import SourceError, decode

if TYPE_CHECKING:
    from ..source.cache import Cache


def imported_elsewhere(
    sources: Callable[[], Iterable[tuple[str, bytes]]],
    cache: Cache | None = None,
) -> frozenset[tuple[str, str, str]]:
    """(file, NAME, importing file) for every module-level ``NAME =
    threading.local()`` of one of the files that another of them reaches:
    ``from mod import NAME`` (any alias, relative or not, or ``*`` for a
    public name), ``mod.NAME`` in a file that imports ``mod`` (or names it
    in a string: ``importlib.import_module("app.mod").NAME``), an attribute
    chain ``pkg.mod.NAME``, a string ``"NAME"`` in a file that imports
    ``mod`` (``mock.patch.object(mod, "NAME")``), or a string naming
    ``mod.NAME`` (``mock.patch("app.mod.NAME")``). A file that cannot be
    parsed and mentions the module and the name counts as importing it.

    ``sources()`` gives (display path, bytes) of every file of the run; it is
    called twice rather than holding every file's bytes at once (the run's
    memory must not grow with the size of the tree).

    A module is matched by its last name (``app/state.py`` is any ``state``,
    ``app/__init__.py`` any ``app``), so a same-named module elsewhere holds
    the fix back too: a fix withheld costs a finding's rewrite, a wrong one
    costs a broken import.

    With a ``cache``, what a parse of a file's bytes told (the names it
    defines, which of the candidate names it reaches) is kept for a later
    run: a run over unchanged files parses none of them.
    """
    defined: dict[str, tuple[str, set[str]]] = {}
    for display, data in sources():
        # Only a module with a coroutine is rewritten (see visit_Module); a
        # call of ``local`` or an alias of it (``from threading import local
        # as L``) is looked for before paying for a parse. (The bare word
        # ``local`` let 12 files of the standard library through instead of
        # 1, and their parses took 0.2 s in the main process, before any
        # worker starts.)
        if b"threading" not in data or b"async" not in data or not (
            search_word(_LOCAL_CALL, data) or search_word(_LOCAL_ALIAS, data)
        ):
            continue
        names = _remembered(cache, data, "defines", lambda: _defines(data), _names)
        if names:
            defined[display] = (_module_key(display), names)
    found: set[tuple[str, str, str]] = set()
    if not defined:
        return frozenset()
    words = {
        word: (word.encode(), re.compile(re.escape(word.encode()) + rb"\b"))
        for key, names in defined.values()
        for word in (key, *names)
    }

    def mentions(word: str, data: bytes) -> bool:
        # The substring first, at memchr speed; the word boundaries after.
        literal, pattern = words[word]
        return literal in data and search_word(pattern, data) is not None

    for display, data in sources():
        star: bool | None = None
        candidates = []
        for path, (key, names) in defined.items():
            if path == display or not (b"from ." in data or mentions(key, data)):
                continue
            for name in names:
                # An importer names the attribute (or imports *), and the
                # module or a relative import.
                if not mentions(name, data):
                    if star is None:
                        star = b"import" in data and search_word(_STAR_IMPORT, data) is not None
                    if not star:
                        continue
                candidates.append((path, key, name))
        if not candidates:
            continue
        asked = sorted({(key, name) for _, key, name in candidates})
        reached = _remembered(cache, data, f"reaches {asked!r}", lambda: _reached(data, asked), _pairs)
        for path, key, name in candidates:
            if [key, name] in reached:
                found.add((path, name, display))
    return frozenset(found)


def _remembered(
    cache: Cache | None,
    data: bytes,
    question: str,
    answer: Callable[[], list[Any]],
    valid: Callable[[Any], bool],
) -> list[Any]:
    """``answer()``, or what the cache holds for ``question`` on these bytes
    (an entry of another shape, damaged or foreign, is a miss)."""
    if cache is None:
        return answer()
    key = cache.key(data, question)
    known = cache.load(key)
    if valid(known):
        return known  # type: ignore[no-any-return]
    value = answer()
    cache.store(key, value)
    return value


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(name, str) for name in value)


def _pairs(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)
        for pair in value
    )


def _defines(data: bytes) -> list[str]:
    tree = _parse(data)
    return sorted(_module_level_locals(tree)) if tree is not None else []


def _reached(data: bytes, asked: list[tuple[str, str]]) -> list[list[str]]:
    """The (module key, name) pairs of ``asked`` that the file reaches."""
    tree = _parse(data)
    if tree is None:
        # A file this interpreter cannot parse (a syntax error, or syntax of a
        # newer Python) that mentions the module and the name: it may import
        # it, and a fix withheld costs less than an import broken.
        return [[key, name] for key, name in asked]
    reach = _Reach.of(tree)
    return [[key, name] for key, name in asked if reach.reaches(key, name)]


# Word boundaries before: see search_word.
_LOCAL_CALL = re.compile(rb"local\s*\(")
_LOCAL_ALIAS = re.compile(rb"local\s+as\b")
_STAR_IMPORT = re.compile(rb"import\s*\*")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def _parse(data: bytes) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(decode(data)[0])
    except (SourceError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # the file's own processing reports it


def _module_key(display: str) -> str:
    path = PurePath(display)
    return path.parent.name if path.stem == "__init__" else path.stem


def _module_level_locals(tree: ast.Module) -> set[str]:
    """Names bound at module level to ``threading.local()``, any import form."""
    modules: set[str] = set()
    functions: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(a.asname or a.name for a in node.names if a.name == "threading")
        elif isinstance(node, ast.ImportFrom) and node.module == "threading" and not node.level:
            functions.update(a.asname or a.name for a in node.names if a.name == "local")
    names = set()
    for statement in tree.body:
        if not (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(statement.value, ast.Call)
        ):
            continue
        func = statement.value.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "local"
            and isinstance(func.value, ast.Name)
            and func.value.id in modules
        ) or (isinstance(func, ast.Name) and func.id in functions):
            names.add(statement.targets[0].id)
    return names


@dataclass
class _Reach:
    """What one file imports: names from modules, and modules."""

    # (last name of the module, or None for ``from . import``, imported name)
    names: set[tuple[str | None, str]] = field(default_factory=set)
    # every name that an import binds to a module, or to a package on the
    # way to one (``import app.state`` reaches ``app.state.NAME``)
    modules: set[str] = field(default_factory=set)
    attributes: set[str] = field(default_factory=set)
    # every string constant that is an identifier: ``mock.patch.object(mod,
    # "NAME")``, ``getattr(mod, "NAME")``
    strings: set[str] = field(default_factory=set)
    # the last name of every string that may name a module:
    # ``importlib.import_module("app.state")``, ``__import__("state")``,
    # ``import_module(".state", __package__)``
    module_strings: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, tree: ast.Module) -> _Reach:
        reach = cls()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module.rsplit(".", 1)[-1] if node.module else None
                for alias in node.names:
                    reach.names.add((module, alias.name))
                    # ``from app import state``: the name may be a module.
                    reach.modules.add(alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    reach.modules.update(alias.name.split("."))
            elif isinstance(node, ast.Attribute):
                reach.attributes.add(node.attr)
                # A chain through the module: ``app.state.NAME`` after
                # ``import app`` (whose ``__init__`` imports ``state``).
                parts = [node.attr]
                value = node.value
                while isinstance(value, ast.Attribute):
                    parts.append(value.attr)
                    value = value.value
                if isinstance(value, ast.Name):
                    parts.append(value.id)
                parts.reverse()
                reach.names.update(zip(parts, parts[1:]))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value.isidentifier():
                    reach.strings.add(node.value)
                # A dotted path in a string: ``mock.patch("app.state.NAME")``.
                elif _DOTTED.fullmatch(node.value):
                    parts = node.value.split(".")
                    reach.names.update(zip(parts, parts[1:]))
                path = node.value.lstrip(".")
                if path.isidentifier() or _DOTTED.fullmatch(path):
                    reach.module_strings.add(path.rsplit(".", 1)[-1])
        return reach

    def reaches(self, module: str, name: str) -> bool:
        if (module, name) in self.names or (None, name) in self.names:
            return True
        star = (module, "*") in self.names or (None, "*") in self.names
        if star and not name.startswith("_"):
            return True
        # The module imported by name (``import_module("app.state").NAME``)
        # counts as an import of it.
        return (module in self.modules or module in self.module_strings) and (
            name in self.attributes or name in self.strings
        )
