"""What a fix must know of the other files of a run, and of the project
around it, which one file's analysis cannot see: what of a module another
file reaches through it.

- A module-level name bound to a call of a function a rule rewrites
  (``_request = threading.local()``) that another file imports: AM401 must
  not rename it.
- An import a fix would leave unused (``import time``, once AM101 turned the
  last ``time.sleep`` into ``asyncio.sleep``) that another file reaches
  through the module: ``retry.time.monotonic()``, ``from retry import
  time``, ``from retry import sleep``, ``mock.patch("retry.time.sleep")``,
  ``monkeypatch.setattr("retry.time.sleep", ...)``,
  ``mock.patch.object(retry.time, "sleep")``. The import removal that all
  rules share keeps it (see :func:`codemods.cst.imports.remove_unused_imports`).
- A function a fix replaces that another file patches as the module sees
  it: ``mock.patch("retry.time.sleep")``, ``mock.patch("retry.sleep")``, or
  ``time.sleep`` itself (``mock.patch("time.sleep")``,
  ``monkeypatch.setattr(time, "sleep", ...)``) in a file that imports the
  module, or in a ``conftest.py`` of a directory above it. After the fix the
  module no longer calls what the patch replaced: the test's fake sees no
  call and the real wait happens. The rule reports such a site without a fix.

Which functions a rule rewrites, it says in ``Rule.REWRITES``. Plain
``ast``, no LibCST: the look runs over every file of the run (and, where a
file of the run may be rewritten, of the project around it), in the main
process, before the files are split between workers or shards. Each file's
bytes are scanned for the words a question needs before it is parsed, and
what a parse told is cached by the file's bytes.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from ..screen.facts import Facts, search_word
from ..source.cache import content_hash, digest_of
from ..source.discovery import Target, discover
from ..source.text import SourceError, decode
from .facts import walk
from .project import project_root

if TYPE_CHECKING:
    from ..rule import Rule
    from ..settings import Settings
    from ..source.cache import Cache

Sources = Callable[[], Iterable[tuple[str, bytes]]]

# A module's name comes from its file's, which need not be UTF-8: its bytes
# back, as the file system gave them.
_UTF8, _RAW = "utf-8", "surrogateescape"


def imported_elsewhere(
    sources: Sources,
    cache: Cache | None = None,
    *,
    rules: Sequence[type[Rule]] = (),
    settings: Settings | None = None,
    project: Sources | None = None,
    hashes: Callable[[], Iterable[tuple[str, str]]] | None = None,
) -> frozenset[tuple[str, str, str]]:
    """(file, NAME, other file) for what another file reaches of a file of
    the run whose fixes ``rules`` may make. NAME is a module-level name of
    the file (a name bound to a call of a rewritten function, or an import
    that binds one or its module: ``time``, ``nap`` from ``from time import
    sleep as nap``) that the other file reaches; or a rewritten function
    (``time.sleep``) that the other file patches as the file sees it.

    A file reaches a name of a module by ``from mod import NAME`` (any
    alias, relative or not, or ``*`` for a public name where the module has
    no literal ``__all__``: a star import of a module whose ``__all__``
    lists a name keeps that import by the string already), ``mod.NAME`` in
    a file that imports ``mod`` (or names it in a string:
    ``importlib.import_module("app.mod").NAME``), an attribute chain
    ``pkg.mod.NAME``, a string ``"NAME"`` in a file that imports ``mod``
    (``mock.patch.object(mod, "NAME")``), or a string naming ``mod.NAME``
    (``mock.patch("app.mod.NAME")``). A file that cannot be parsed and
    mentions the module and the name counts as reaching it.

    ``sources()`` gives (display path, bytes) of every file of the run;
    ``project()`` those of the project's other files, which are looked at
    only as files that may reach into the run's. Both are called again
    rather than holding every file's bytes at once (the run's memory must
    not grow with the size of the tree), ``project`` only when a file of
    the run may be rewritten at all.

    A module is matched by its last name (``app/state.py`` is any ``state``,
    ``app/__init__.py`` any ``app``), so a same-named module elsewhere holds
    the fix back too: a fix withheld costs a finding's rewrite, a wrong one
    costs a broken import or a test that no longer tests.

    With a ``cache``, what a parse of a file's bytes told (the names it
    defines, which of the questions asked of it it answers yes) is kept for
    a later run: a run over unchanged files parses none of them. The whole
    answer is kept too, for the files of the run as they are (their names
    and the hashes of their bytes: ``hashes()`` gives them as ``sources()``
    gives the bytes, or they are taken from the bytes).
    """
    rewriters = [rule for rule in rules if rule.REWRITES]
    if not rewriters:
        return frozenset()
    if cache is None:
        return _look_across(sources, None, rewriters, settings, project)
    # The whole answer, for a run whose files are all as they were: the
    # look below reads every file with a dozen patterns, and a warm run
    # must know its answer before any file's result can be taken from the
    # cache (the answer is in the key of each).
    key = cache.key(
        _run_digest(hashes or _hashes_of(sources), rewriters, settings, project is not None), "imported elsewhere"
    )
    known = cache.load(key)
    if _whole_answer(known) and (known["project"] is None or _digests(project) == known["project"]):
        return frozenset(tuple(row) for row in known["found"])
    walked: list[list[str]] | None = None

    def recorded() -> Iterable[tuple[str, bytes]]:
        # What the look read of the project around the run: a file added
        # there, removed or changed, may reach into the run's.
        nonlocal walked
        walked = []
        for display, data in project():  # type: ignore[misc]
            walked.append([display, content_hash(data)])
            yield display, data

    found = _look_across(sources, cache, rewriters, settings, recorded if project is not None else None)
    cache.store(key, {"found": sorted(list(row) for row in found), "project": walked})
    return found


def _look_across(
    sources: Sources,
    cache: Cache | None,
    rewriters: Sequence[type[Rule]],
    settings: Settings | None,
    project: Sources | None,
) -> frozenset[tuple[str, str, str]]:
    """:func:`imported_elsewhere`'s answer, file by file (what a parse of
    one file's bytes told is still taken from ``cache``)."""
    rewritten = sorted({name for rule in rewriters for name in rule.REWRITES})
    question = f"defines {rewritten!r} {sorted(rule.CODE for rule in rewriters)!r}"
    defined: dict[str, _Defined] = {}
    for display, data in sources():
        # Before any parse: the rule's own prefilter, then a call of what it
        # rewrites as the file's imports spell it (``time.sleep(``, ``t.sleep(``
        # after ``import time as t``, ``sleep(`` after ``from time import
        # sleep``). Most files hold nothing a fix may rewrite.
        if not any(rule.prefilter(data) for rule in rewriters) or not any(
            _may_call(name, data) for name in rewritten
        ):
            continue
        names = _remembered(
            cache, data, question, lambda: _defines(data, rewriters, settings), _rows(2)
        )
        if names:
            defined[display] = _Defined(display, names)
    if not defined:
        return frozenset()
    look = _Look(defined, rewritten)
    found: set[tuple[str, str, str]] = set()
    seen: set[str] = set()
    for display, data in sources():
        seen.add(display)
        look.answer(display, data, cache, found)
    if project is not None:
        for display, data in project():
            if display not in seen:
                look.answer(display, data, cache, found)
    return frozenset(found)


def _run_digest(
    hashes: Callable[[], Iterable[tuple[str, str]]],
    rewriters: Sequence[type[Rule]],
    settings: Settings | None,
    around: bool,
) -> bytes:
    """What decides :func:`imported_elsewhere`'s answer before the project
    around the run is looked at: the rules asked for and the settings their
    screens read, and every file of the run, its name and its bytes' hash."""
    digest = hashlib.sha256(
        digest_of({
            "rules": sorted(rule.CODE for rule in rewriters),
            "rewritten": sorted({name for rule in rewriters for name in rule.REWRITES}),
            "settings": settings,
            "project": around,
        }).encode()
    )
    for display, found in hashes():
        digest.update(f"{display}\0{found}\0".encode(_UTF8, _RAW))
    return digest.digest()


def _hashes_of(sources: Sources) -> Callable[[], Iterable[tuple[str, str]]]:
    """(display, hash of the bytes) of each file ``sources()`` gives."""
    return lambda: ((display, content_hash(data)) for display, data in sources())


def _digests(project: Sources | None) -> list[list[str]]:
    """[display, hash of the bytes] of each file ``project()`` gives."""
    return [] if project is None else [[display, content_hash(data)] for display, data in project()]


def _whole_answer(value: Any) -> bool:
    """Whether a cached value has the shape of :func:`imported_elsewhere`'s
    whole answer (another shape, damaged or foreign, is a miss)."""
    if not isinstance(value, dict) or set(value) != {"found", "project"}:
        return False
    walked = value["project"]
    return _rows(3)(value["found"]) and (walked is None or _rows(2)(walked))


class _Defined:
    """What one file of the run may have rewritten: its module-level names
    (name -> what binds it: ``=threading.local`` for a call of it,
    ``time`` or ``time.sleep`` for an import), and whether it has a literal
    ``__all__`` (a star import then reaches only what that lists)."""

    def __init__(self, display: str, entries: list[list[str]]) -> None:
        self.names = {name: origin for name, origin in entries if name != "__all__"}
        self.literal_all = any(name == "__all__" for name, _ in entries)
        self.key = _module_key(display)
        self.directory = PurePath(display).parent
        self.init = PurePath(display).stem == "__init__"


class _Look:
    """The questions asked of every other file, and their answers.

    A file is parsed only if its bytes show the module's name next to the
    name asked about, in one of the ways a file reaches it (``mod.NAME``,
    ``from mod import (a, NAME)``, ``mod, "NAME"``, ``mod as alias`` then
    ``alias.NAME``, ``"mod").NAME``, ``from mod import *``), or the module
    named in a string and the name anywhere (``m = import_module("mod")``):
    most files that import a module never touch what it imported itself."""

    def __init__(self, defined: dict[str, _Defined], rewritten: list[str]) -> None:
        self.defined = defined
        self.rewritten = rewritten
        keys = sorted({d.key for d in defined.values()})
        self.keys = re.compile(rb"(?:" + rb"|".join(re.escape(key.encode(_UTF8, _RAW)) for key in keys) + rb")(?!\w)")
        words = {name for d in defined.values() for name in d.names} | {
            part for name in rewritten for part in name.split(".")
        }
        self.words = {word: re.compile(re.escape(word.encode(_UTF8, _RAW)) + rb"\b") for word in words}
        self._patterns: dict[tuple[str, str | None], re.Pattern[bytes]] = {}

    def mentions(self, word: str, data: bytes) -> bool:
        # The substring first, at memchr speed; the word boundaries after.
        return word.encode(_UTF8, _RAW) in data and search_word(self.words[word], data) is not None

    def _near(self, module: str, name: str, data: bytes) -> bool:
        """Whether ``data`` shows ``module`` next to ``name`` (or a star
        import of ``module``), directly or through an alias of the module."""
        named = self.mentions(name, data)
        if not named and b"*" not in data:
            return False
        for spelling in (module, *_aliases(module, data)):
            if search_word(_near_pattern(self._patterns, spelling, name if named else None), data):
                return True
        if not named:
            return False
        # The module by name in a string: ``import_module("app.mod")``.
        return self.mentions(name, data) and re.search(
            rb"['\"][\w.]*\b" + re.escape(module.encode(_UTF8, _RAW)) + rb"['\"]", data
        ) is not None

    def answer(self, display: str, data: bytes, cache: Cache | None, found: set[tuple[str, str, str]]) -> None:
        keys = {match.group().decode(_UTF8, _RAW) for match in _words(self.keys, data)}
        here = PurePath(display).parent
        patches = [name for name in self.rewritten if _patches_near(name, data)]
        conftest = PurePath(display).name == "conftest.py"
        asked: set[tuple[str, str, str]] = set()
        for path, defined in self.defined.items():
            if path == display:
                continue
            # ``from . import NAME`` reaches the ``__init__`` of a package
            # the file is in.
            if conftest and _below(defined.directory, here):
                # pytest runs a conftest.py's fixtures for every test below it.
                for patched in patches:
                    if self._uses(defined, patched):
                        asked.add(("patched", "", patched))
            package = defined.init and _below(here, defined.directory) and b"from ." in data
            if defined.key not in keys and not package:
                continue
            for name, origin in defined.names.items():
                near = self._near(defined.key, name, data) or (
                    package and re.search(rb"from\s+\.+\s+import\b[^;]*\b" + re.escape(name.encode(_UTF8, _RAW)), data)
                )
                if not near:
                    continue
                if not self.mentions(name, data) and defined.literal_all and not origin.startswith("="):
                    continue  # a star import reaches only what ``__all__`` lists
                asked.add(("name", defined.key, name))
                for patched in self.rewritten:
                    module, _, attribute = patched.rpartition(".")
                    if origin == module and self.mentions(attribute, data):
                        asked.add(("attribute", defined.key, f"{name}.{attribute}"))
            for patched in patches:
                if self._uses(defined, patched):
                    asked.add(("patched", defined.key, patched))
        if not asked:
            return
        questions = sorted(asked)
        yes = _remembered(
            cache, data, f"reaches {questions!r}", lambda: _reached(data, questions), _rows(3)
        )
        answered = {tuple(item) for item in yes}
        for path, defined in self.defined.items():
            if path == display:
                continue
            for kind, key, name in answered:
                if key not in (defined.key, ""):
                    continue
                if key == "" and not _below(defined.directory, here):
                    continue
                if kind == "name" and name in defined.names:
                    found.add((path, name, display))
                elif kind == "attribute" and name.split(".")[0] in defined.names:
                    binding, _, attribute = name.partition(".")
                    patched = f"{defined.names[binding]}.{attribute}"
                    found.add((path, patched, display))
                elif kind == "patched" and self._uses(defined, name):
                    found.add((path, name, display))

    @staticmethod
    def _uses(defined: _Defined, patched: str) -> bool:
        """Whether the file reaches ``patched`` through an import of its
        module (``import time`` for ``time.sleep``)."""
        module = patched.rpartition(".")[0]
        return any(origin == module for origin in defined.names.values())


def project_files(targets: Sequence[Target], walked: Sequence[str] = ()) -> Sources:
    """(display, bytes) of the ``*.py`` files of the project around
    ``targets``, as :func:`imported_elsewhere` takes them: the nearest
    directory above the targets that holds a project marker (``.git``,
    ``pyproject.toml``...), walked as a run walks a directory (``.gitignore``
    and the default excludes honoured). Tests that patch a module live
    there, beside it or in ``tests/``, whether or not the run names them.
    Nothing more is looked at without a marker above the targets, or when
    the project lies inside a directory the run walked (``walked``)."""

    def sources() -> Iterable[tuple[str, bytes]]:
        root = _project_root([t.path for t in targets])
        if root is None or any(_inside(root, Path(os.path.abspath(path))) for path in walked):
            return
        found, _ = discover([root])
        for target in found:
            try:
                yield target.display, target.read()
            except OSError:
                continue
    return sources


def _inside(path: Path, directory: Path) -> bool:
    return os.path.isdir(directory) and (path == directory or directory in path.parents)


def _project_root(paths: Sequence[Path]) -> Path | None:
    directories = [os.path.dirname(os.path.abspath(path)) for path in paths]
    if not directories:
        return None
    try:
        common = Path(os.path.commonpath(directories))
    except ValueError:  # paths on different drives
        return None
    return project_root(common)


# Space within one logical line: blanks, and backslash continuations.
_SPACE = rb"(?:[ \t]|\\\r?\n)+"


def _near_pattern(
    cache: dict[tuple[str, str | None], re.Pattern[bytes]], module: str, name: str | None
) -> re.Pattern[bytes]:
    """``module`` next to ``name`` in one of the ways a file reaches it
    (only a star import of ``module`` when ``name`` is ``None``); the module
    first, as a literal, for :func:`search_word`."""
    known = cache.get((module, name))
    if known is None:
        m = re.escape(module.encode(_UTF8, _RAW))
        if name is None:
            known = re.compile(m + _SPACE + rb"import\s*\*")
        else:
            n = re.escape(name.encode(_UTF8, _RAW))
            known = re.compile(
                m + rb"(?:\s*\.\s*" + n + rb"\b"  # mod.NAME, "pkg.mod.NAME"
                + rb"|\s*,\s*['\"]" + n + rb"['\"]"  # patch.object(mod, "NAME")
                # ``from mod import NAME``, ``from mod import (a,\n NAME)``, *
                + rb"|" + _SPACE + rb"import" + _SPACE + rb"(?:\([^)]*?|[^\n;]*?)\b" + n + rb"\b"
                + rb"|" + _SPACE + rb"import\s*\*"
                + rb"|['\"]\s*(?:,[^)]*)?\)\s*\.\s*" + n + rb"\b)"  # import_module("mod").NAME
            )
        cache[(module, name)] = known
    return known


def _aliases(module: str, data: bytes) -> set[str]:
    """The names ``data`` binds to ``module`` with ``as``."""
    if b" as" not in data:
        return set()
    return {
        found.group(1).decode(_UTF8, _RAW)
        for found in re.finditer(re.escape(module.encode(_UTF8, _RAW)) + rb"\s+as\s+(\w+)", data)
        if found.start() == 0 or data[found.start() - 1 : found.start()] in b" \t\n.,("
    }


def _may_call(name: str, data: bytes) -> bool:
    """Whether ``data`` may call the function ``name`` (``time.sleep``) by
    a name its imports bind: ``time.sleep(``, ``t.sleep(`` after ``import
    time as t``, ``nap(`` after ``from time import sleep as nap``."""
    module, _, function = name.rpartition(".")
    last = module.rpartition(".")[2]
    if function.encode(_UTF8, _RAW) not in data or last.encode(_UTF8, _RAW) not in data:
        return False
    spellings = [rb"\b" + re.escape(s.encode(_UTF8, _RAW)) + rb"[\s\\]*\.[\s\\]*" + re.escape(function.encode(_UTF8, _RAW))
                 for s in (last, *_aliases(last, data))]
    if re.search(rb"\bfrom[\s\\]+" + re.escape(module.encode(_UTF8, _RAW)) + rb"[\s\\]+import\b", data):
        spellings += [rb"\b" + re.escape(s.encode(_UTF8, _RAW)) for s in (function, *_aliases(function, data))]
    return re.search(rb"(?:" + rb"|".join(spellings) + rb")[\s\\]*\(", data) is not None


def _patches_near(name: str, data: bytes) -> bool:
    """Whether ``data`` may replace the function ``name`` (``time.sleep``)
    itself: names it dotted (``mock.patch("time.sleep")``, ``time.sleep =``)
    or as an object and an attribute (``setattr(time, "sleep", ...)``)."""
    module, _, attribute = name.rpartition(".")
    last = module.rpartition(".")[2]
    if attribute.encode(_UTF8, _RAW) not in data or last.encode(_UTF8, _RAW) not in data:
        return False
    a = re.escape(attribute.encode(_UTF8, _RAW))
    return any(
        re.search(rb"\b" + re.escape(spelling.encode(_UTF8, _RAW)) + rb"\s*(?:\.\s*|,\s*['\"])" + a + rb"\b", data)
        for spelling in (last, *_aliases(last, data))
    )


def _below(directory: PurePath, ancestor: PurePath) -> bool:
    return directory == ancestor or ancestor in directory.parents


def _words(pattern: re.Pattern[bytes], data: bytes) -> Iterable[re.Match[bytes]]:
    """The matches of ``pattern`` that start a word."""
    position = 0
    while True:
        found = search_word(pattern, data, position)
        if found is None:
            return
        yield found
        position = found.end()


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


def _rows(width: int) -> Callable[[Any], bool]:
    """Whether a cached answer is a list of rows of ``width`` strings, as
    the answers to a question are."""

    def valid(value: Any) -> bool:
        return isinstance(value, list) and all(
            isinstance(row, list) and len(row) == width and all(isinstance(part, str) for part in row)
            for row in value
        )

    return valid


def _defines(data: bytes, rules: Sequence[type[Rule]], settings: Settings | None) -> list[list[str]]:
    """[name, origin] of each module-level name a fix of ``rules`` may
    rename or leave unused, if the file holds a site of one of them (its
    screen passes); ``["__all__", ""]`` marks a literal ``__all__``."""
    tree = _parse(data)
    if tree is None:
        return []
    from ..settings import Settings

    facts = Facts.of(tree)
    run = settings or Settings()
    # Only what a rule whose screen passes may rewrite: its functions, and
    # the imports that bind them or their modules.
    here = {name for rule in rules if rule.screen(facts, run) for name in rule.REWRITES}
    if not here:
        return []
    modules = {name.rpartition(".")[0] for name in here}
    entries = {
        (name, origin)
        for name, origins in facts.top_imports.items()
        for origin in origins
        if origin in modules or origin in here
    }
    entries |= {(name, f"={origin}") for name, origin in _module_level_calls(tree, facts, sorted(here))}
    if _literal_all(tree):
        entries.add(("__all__", ""))
    return sorted([name, origin] for name, origin in entries)


def _module_level_calls(tree: ast.Module, facts: Facts, rewritten: list[str]) -> Iterable[tuple[str, str]]:
    """(NAME, function) for each ``NAME = function()`` of the module's own
    statements where ``function`` is a rewritten one, by any import form."""
    for statement in tree.body:
        if not (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(statement.value, ast.Call)
        ):
            continue
        for origin in facts.qualnames(statement.value.func) & set(rewritten):
            yield statement.targets[0].id, origin


def _literal_all(tree: ast.Module) -> bool:
    for statement in tree.body:
        if (
            isinstance(statement, (ast.Assign, ast.AnnAssign))
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in _targets(statement))
        ):
            value = statement.value
            return isinstance(value, (ast.List, ast.Tuple)) and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts
            )
    return False


def _targets(statement: ast.Assign | ast.AnnAssign) -> list[ast.expr]:
    return statement.targets if isinstance(statement, ast.Assign) else [statement.target]


def _reached(data: bytes, questions: list[tuple[str, str, str]]) -> list[list[str]]:
    """The questions of ``questions`` the file answers yes."""
    tree = _parse(data)
    if tree is None:
        # A file this interpreter cannot parse (a syntax error, or syntax of a
        # newer Python) that mentions the module and the name: it may reach
        # it, and a fix withheld costs less than an import broken.
        return [list(question) for question in questions]
    reach = _Reach.of(tree)
    return [list(question) for question in questions if reach.answers(*question)]


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


@dataclass
class _Reach:
    """What one file reaches: names from modules, modules, and what it patches."""

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
    # dotted names the file may replace, through its own imports
    # (``time.sleep`` for ``mock.patch("time.sleep")``,
    # ``monkeypatch.setattr(t, "sleep", ...)`` after ``import time as t``,
    # or ``time.sleep = fake``)
    patched: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, tree: ast.Module) -> _Reach:
        reach = cls()
        aliases: dict[str, str] = {}
        pairs: list[tuple[ast.expr, str]] = []
        targets: list[ast.expr] = []
        for node in walk(tree):
            if isinstance(node, ast.ImportFrom):
                module = node.module.rsplit(".", 1)[-1] if node.module else None
                for alias in node.names:
                    reach.names.add((module, alias.name))
                    # ``from app import state``: the name may be a module.
                    reach.modules.add(alias.name)
                    if node.module and not node.level:
                        aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    reach.modules.update(alias.name.split("."))
                    if alias.asname:
                        aliases[alias.asname] = alias.name
            elif isinstance(node, ast.Attribute):
                reach.attributes.add(node.attr)
                # A chain through the module: ``app.state.NAME`` after
                # ``import app`` (whose ``__init__`` imports ``state``).
                parts = _chain(node)
                if parts is not None:
                    reach.names.update(zip(parts, parts[1:]))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value.isidentifier():
                    reach.strings.add(node.value)
                # A dotted path in a string: ``mock.patch("app.state.NAME")``.
                elif _DOTTED.fullmatch(node.value):
                    parts = node.value.split(".")
                    reach.names.update(zip(parts, parts[1:]))
                    reach.patched.add(node.value)
                path = node.value.lstrip(".")
                if path.isidentifier() or _DOTTED.fullmatch(path):
                    reach.module_strings.add(path.rsplit(".", 1)[-1])
            elif isinstance(node, ast.Call) and len(node.args) >= 2:
                # ``mock.patch.object(time, "sleep")``, ``setattr(t, "sleep", f)``
                second = node.args[1]
                if isinstance(second, ast.Constant) and isinstance(second.value, str):
                    pairs.append((node.args[0], second.value))
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets.extend(node.targets if isinstance(node, ast.Assign) else [node.target])
        for obj, attribute in pairs:
            parts = _chain(obj)
            if parts is not None:
                reach.patched.add(_resolved(parts, aliases) + f".{attribute}")
        for target in targets:
            parts = _chain(target)
            if parts is not None and len(parts) > 1:
                reach.patched.add(_resolved(parts, aliases))
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

    def imports(self, module: str) -> bool:
        """Whether the file imports ``module``, or anything from it: running
        it runs the module's code with what the file patched."""
        return (
            module in self.modules
            or module in self.module_strings
            or any(pair[0] == module for pair in self.names)
        )

    def answers(self, kind: str, module: str, name: str) -> bool:
        if kind == "name":
            return self.reaches(module, name)
        if kind == "attribute":
            # ``retry.time`` reached and ``sleep`` named: ``mock.patch.object(
            # retry.time, "sleep")``, ``"retry.time.sleep"``, ``retry.time.sleep = f``;
            # or all of ``retry.time`` replaced: ``mock.patch("retry.time")``.
            binding, _, attribute = name.partition(".")
            return self.reaches(module, binding) and (
                attribute in self.attributes
                or attribute in self.strings
                or any(_spells(chain, (module, binding, attribute)) or chain.endswith(f"{module}.{binding}")
                       for chain in self.patched)
            )
        # "patched": the function itself replaced, in a file that imports
        # the module (or a conftest.py above it: ``module`` is empty).
        return name in self.patched and (not module or self.imports(module))


def _spells(chain: str, parts: tuple[str, ...]) -> bool:
    """Whether the dotted ``chain`` holds ``parts`` one after another."""
    return f".{'.'.join(parts)}." in f".{chain}."


def _chain(node: ast.expr) -> list[str] | None:
    """``["a", "b", "c"]`` for ``a.b.c``; ``None`` for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    parts.reverse()
    return parts


def _resolved(parts: list[str], aliases: dict[str, str]) -> str:
    """The dotted name ``parts`` spell, its first name read through the
    file's imports (``t.sleep`` is ``time.sleep`` after ``import time as t``)."""
    return ".".join([aliases.get(parts[0], parts[0]), *parts[1:]])
