"""Who calls a function of the project: the model's calls read backwards.

A rule that changes what a function does when it is called (AM101 adds a
point where it suspends, AM401 the exception a read raises) must know what
its callers do around the call: hold a thread lock across the ``await``,
wait for it under a timeout, catch what it raises, clean up with it. The
project model resolves calls forwards (:meth:`Project.resolve`); this module
reads them backwards, lazily, for the few functions a rule asks about:

1. a byte scan of the project's files for a call of the function's name
   (``name(``), once per run and name;
2. the facts of the modules that pass it (cached by their bytes, as every
   module's facts are), and in them the calls of that name the model
   resolves to the function, with where each stands (:class:`CallSite`);
3. the decorators of the function that the project defines: a wrapper
   nested in one calls what it wraps (``fn(*args)``, under its ``with lock``).

Unknown stays unknown: a call the model cannot resolve (a method of an
untyped parameter, a function taken from a dict) is no call site here, and
code at module level is no function; a rule then decides as it would
without the model. The model makes a rule surer, never bolder.

The results' cache: an answer names the files whose facts it read
(``Project.used``), so a change in a caller makes it stale. A file that did
not call the function and now does is not seen by a cached answer; ``fix``
never takes a file with something to change from the cache, so that can
withhold a fix, never make one.

Importing this module imports no LibCST.
"""

from __future__ import annotations

import ast
import builtins
import os
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from ..source.cache import content_hash
from .facts import CallFact, ClassFacts, FunctionFacts, ModuleFacts, split_root

if TYPE_CHECKING:
    from .project import ModuleView

# How many calls up (or down) a question follows, and how many call sites
# it reads at most: beyond, it is not looked at (unknown, as without the
# model). A sleep in a method that half a project calls stays affordable.
MAX_DEPTH = 8
MAX_SITES = 500


@dataclass(frozen=True)
class CallSite:
    """One call of a function in a function of the project."""

    module: str
    caller: FunctionFacts
    call: CallFact
    # The call is a decorator's wrapper calling what it wraps.
    wrapper: bool = False
    # A method call on an object whose class the model cannot tell: it may
    # run this method (module, qualname), or another class's of that name.
    maybe: tuple[str, str] | None = None

    def where(self, here: str) -> str:
        """The caller as a message names it: ``jobs.send_reminder`` (line 5),
        the wrapper of the decorator ``locks.synchronized`` (line 9); its
        module is left out where it is ``here``, the module analysed."""
        module = "" if self.module == here else f"{self.module}."
        if self.wrapper:
            decorator = self.caller.qualname.split(".<locals>.", 1)[0]
            return f"the wrapper of the decorator `{module}{decorator}` (line {self.call.line})"
        return f"`{module}{self.caller.qualname}` (line {self.call.line})"

    def catches(self, error: type[BaseException], aliases: frozenset[str] = frozenset()) -> str | None:
        """The first handler around the call that may catch ``error`` (as
        its ``except`` spells it), or ``None``. ``aliases``: the names the
        caller's module binds by assignment, which may stand for any class."""
        for handler in self.call.handlers:
            for name in handler:
                if _may_catch(name, error, aliases):
                    return "a bare `except`" if name == "*" else f"`{name}`"
        return None

    def tells_apart(self, first: type[BaseException], second: type[BaseException], aliases: frozenset[str] = frozenset()) -> bool:
        """Whether the handlers around the call may treat ``first`` and
        ``second`` differently: not the same handler takes both."""
        for handler in self.call.handlers:
            takes = [any(_may_catch(name, error, aliases) for name in handler) for error in (first, second)]
            if takes[0] != takes[1]:
                return True
            if takes[0]:
                return False
        return False


def _may_catch(name: str, error: type[BaseException], aliases: frozenset[str]) -> bool:
    """Whether ``except <name>`` may catch an exception of exactly the class
    ``error`` (a builtin). A bare handler or an expression may; a builtin
    class by its rules (also spelled ``asyncio.TimeoutError``); any other
    name is a class of its own (a library's or the project's exception),
    which ``error`` is not, unless the module binds it by assignment (it
    may be an alias: ``Retry = ValueError``)."""
    if name in ("*", "?"):
        return True
    known = getattr(builtins, name.rsplit(".", 1)[-1], None)
    if isinstance(known, type) and issubclass(known, BaseException):
        return issubclass(error, known)
    return split_root(name)[0] in aliases


class Callers:
    """The reverse call graph of the project as one module's analysis sees
    it (its own module from the text being analysed): found lazily, per
    function asked about."""

    def __init__(self, view: ModuleView) -> None:
        self.view = view
        self.project = view.project
        self._sites: dict[tuple[str, str], list[CallSite]] = {}
        # module -> (the facts indexed, the calls of its functions by the
        # callee's last name): see _calls_named.
        self._calls: dict[str, tuple[ModuleFacts, dict[str, list[tuple[FunctionFacts, CallFact]]]]] = {}

    # -- the byte scans ----------------------------------------------------------

    def scan(self, question: str, pattern: bytes, words: tuple[bytes, ...]) -> tuple[str, ...]:
        """The modules of the project whose bytes hold one of ``words`` (a
        scan at memchr speed) and match ``pattern``, and the module being
        analysed: once per run and question."""
        found = self.project.mentions.get(question)
        if found is None:
            compiled = re.compile(pattern)
            hits = []
            for module, path in sorted(self.project.index.modules.items()):
                data = _read(path)
                if data is not None and any(word in data for word in words) and compiled.search(data):
                    hits.append(module)
            found = self.project.mentions[question] = tuple(hits)
        return tuple(sorted({*found, self.view.module}))

    def async_def_names(self) -> frozenset[str]:
        """The names of every ``async def`` of the project, as its files'
        bytes spell them (a byte scan, once per run): a name none of them
        defines is no coroutine function of the project, asked of the model
        or not."""
        found = self.project.mentions.get("async-def-names")
        if found is None:
            pattern = re.compile(rb"\basync\s+def\s+(\w+)")
            names: set[str] = set()
            for _, path in sorted(self.project.index.modules.items()):
                data = _read(path)
                if data is not None and b"async" in data:
                    names.update(match.group(1).decode("utf-8", "replace") for match in pattern.finditer(data))
            found = self.project.mentions["async-def-names"] = tuple(sorted(names))
        return frozenset(found)

    def calling(self, name: str, *, method: bool = False) -> tuple[str, ...]:
        """The modules that may call something named ``name`` (with
        ``method``, as an attribute: ``x.name(``, ``super().name(``; without,
        any ``name(`` but its ``def``: every module of a plug-in system
        defines its ``setup(``). A module's called names are read once per
        run, and only from the modules whose bytes hold ``name`` at all: a
        question per function of a long module must not read it again each
        time."""
        question = f"{'method' if method else 'call'}:{name}"
        found = self.project.mentions.get(question)
        if found is None:
            word = name.encode()
            hits = []
            for module, path in sorted(self.project.index.modules.items()):
                data = _read(path) if path not in self.project.called else None
                if path in self.project.called or (data is not None and word in data):
                    plain, methods = self._called_in(path, data)
                    if word in (methods if method else plain):
                        hits.append(module)
                    elif not method and data is not None and _imports_under_another_name(data, word):
                        hits.append(module)  # ``from work import step as fetch``
            found = self.project.mentions[question] = tuple(hits)
        return tuple(sorted({*found, self.view.module}))

    def _called_in(self, path: str, data: bytes | None) -> tuple[frozenset[bytes], frozenset[bytes]]:
        """The names a file calls (not those it defines), and those it calls
        as methods."""
        known = self.project.called.get(path)
        if known is None:
            plain: set[bytes] = set()
            methods: set[bytes] = set()
            for match in _CALLED.finditer(data or b""):
                defined, dot, called = match.groups()
                if dot:
                    methods.add(called)
                if not defined:
                    plain.add(called)
            known = self.project.called[path] = (frozenset(plain), frozenset(methods))
        return known

    # -- callers -----------------------------------------------------------------

    def of(self, module: str, qualname: str, *, here: bool = False) -> list[CallSite]:
        """The calls of ``qualname`` of ``module`` that the model resolves,
        in the functions of the project (``here``: of ``module`` alone), and
        the calls of it that wrappers of its decorators make."""
        key = (module, qualname) if not here else (module, qualname, "here")
        sites = self._sites.get(key)  # type: ignore[arg-type]
        if sites is None:
            sites = self._sites[key] = self._find(module, qualname, here)  # type: ignore[index]
        return sites

    def _find(self, module: str, qualname: str, here: bool = False) -> list[CallSite]:
        function = self.project.function(module, qualname)
        if function is None:
            return []
        name = qualname.rsplit(".", 1)[-1]
        # A nested function is called by name only in the one around it; a
        # method only as an attribute.
        if "<locals>" in qualname or here:
            candidates: tuple[str, ...] = (module,)
        else:
            candidates = self.calling(name, method=function.class_name is not None)
        sites = []
        for candidate in candidates:
            facts = self.project.facts(candidate)
            if facts is None:
                continue
            # (Called by the name an import gives it too: ``step as fetch``.)
            names = [name, *(
                alias for alias, target in facts.imports.items()
                if alias != name and target.replace(":", ".").rsplit(".", 1)[-1] == name
            )] if function.class_name is None else [name]
            for caller, call in (pair for called in names for pair in self._calls_named(candidate, facts, called)):
                targets = self.project.targets(candidate, caller, call)
                if targets is not None:
                    if any((t.module, t.qualname) == (module, qualname) for t in targets):
                        sites.append(CallSite(candidate, caller, call))
                elif (
                    function.class_name is not None
                    and call.func.endswith(f".{name}")
                    and self.project.may_be_instance(candidate, caller, call.func[: -len(name) - 1])
                ):
                    # ``wallet.debit(price)`` with ``wallet`` untyped: a
                    # safe rule must count it as a caller.
                    sites.append(CallSite(candidate, caller, call, maybe=(module, qualname)))
        sites.extend(self._wrapped(module, function))
        return sites

    def _calls_named(self, module: str, facts: ModuleFacts, name: str) -> list[tuple[FunctionFacts, CallFact]]:
        """The calls in the functions of ``module`` whose callee ends in the
        name ``name`` (``name(``, ``x.name(``), in the order of its functions
        and their calls. The module is indexed once: read again for each
        function asked about, a module whose every coroutine has a finding
        took time in the square of its functions."""
        known = self._calls.get(module)
        if known is None or known[0] is not facts:
            index: dict[str, list[tuple[FunctionFacts, CallFact]]] = {}
            for caller in facts.functions.values():
                for call in caller.calls:
                    index.setdefault(call.func.rsplit(".", 1)[-1], []).append((caller, call))
            known = self._calls[module] = (facts, index)
        return known[1].get(name, [])

    def _wrapped(self, module: str, function: FunctionFacts) -> Iterator[CallSite]:
        """The calls of ``function`` that the wrappers of its decorators
        make: in a function nested in a decorator the project defines, a
        call of a parameter of a function around it (``fn(*args)`` inside
        ``def decorate(fn): async def wrapper(...)``)."""
        for decorator in function.decorators:
            found = self.project.lookup(module, decorator)
            if found is None or found[0] != "function":
                continue
            where = found[1]
            todo: list[tuple[str, frozenset[str]]] = [(found[2], frozenset())]
            while todo:
                qualname, outer = todo.pop()
                inner = self.project.function(where, qualname)
                if inner is None:
                    continue
                for call in inner.calls:
                    root = split_root(call.func)[0]
                    if root in outer and root not in inner.params and root not in inner.aliases:
                        yield CallSite(where, inner, call, wrapper=True)
                own = outer | set(inner.params) | set(inner.kwonly)
                todo.extend((f"{qualname}.<locals>.{name}", own) for name in inner.nested)

    def named_beyond_calls(self, module: str, qualname: str, *, other_defs: bool = False) -> str | None:
        """A module of the project that names the function ``qualname`` of
        ``module`` more often than it defines it, imports it and makes the
        calls of it the model resolves (:meth:`of`): a use the model does
        not follow (``ROUTES["/"] = handler``, ``map(step, xs)``, a call it
        cannot resolve, a mention in a string); ``None`` where none does.
        With ``other_defs``, a plain ``def`` of the name other than its own
        counts as such a use too (a mixin's method may stand in for it)."""
        name = qualname.rsplit(".", 1)[-1]
        word = name.encode()
        pattern = re.compile(rb"\b" + re.escape(word) + rb"\b")
        calls: dict[str, int] = {}
        for site in self.of(module, qualname):
            if not site.wrapper:
                calls[site.module] = calls.get(site.module, 0) + 1
        for candidate, data in self.texts(self.scan(f"word:{name}", pattern.pattern, (word,))):
            named = 0
            own_def = candidate == module
            for match in pattern.finditer(data):
                start = data.rfind(b"\n", 0, match.start()) + 1
                before = data[start : match.start()].strip()
                if before.endswith(b"def") and (not other_defs or own_def or before.endswith(b"async def")):
                    own_def = False
                    continue  # its definition (every one, unless ``other_defs``: then an async one)
                if before.split(None, 1)[:1] in ([b"from"], [b"import"]):
                    continue  # an import line (its uses are counted)
                if data[match.end() : match.end() + 1] == b".":
                    continue  # a module of that name (``retry.time``)
                named += 1
            if named > calls.get(candidate, 0):
                return candidate
        return None

    def setting_computed_names(self) -> str | None:
        """A module of the project that sets an attribute whose name it
        computes (``setattr(module, name, impl)`` with ``name`` not a string
        written there, ``vars(module)[key] = impl``, an update of a
        ``__dict__``, ``mock.patch.object(cls, key, impl)``): any function
        or method may be replaced by it."""
        words = (b"setattr", b"vars(", b"__dict__", b"patch.")
        for candidate, data in self.texts(self.scan("names-computed", _COMPUTED_SETATTR.pattern, words)):
            if _COMPUTED_SETATTR.search(data):
                return candidate
        return None

    def lister_of(self, module: str) -> str | None:
        """A module of the project that lists the names of ``module``
        (``vars(jobs)``, ``dir(jobs)``, ``inspect.getmembers(jobs)``,
        ``jobs.__dict__``), by a name it imports it as: what it finds there
        it may call, or count; or one that imports modules by computed
        names and enumerates a namespace, a plugin registry. (A module named
        at run time and asked for one name, ``"__getattr__" in
        vars(sys.modules[name])``, lists nothing.)"""
        self.scan("names-listed", _LISTING.pattern, (b"vars(", b"dir(", b"getmembers(", b"__dict__"))
        others = [other for other in self.project.mentions.get("names-listed", ()) if other != module]
        texts = dict(self.texts(others))
        for other in others:
            facts = self.project.facts(other)
            data = texts.get(other)
            if facts is None or data is None:
                return other  # (not read: may be one)
            names = {name for name, target in facts.imports.items() if target.replace(":", ".") == module}
            if names and any((listed or owner).decode("ascii", "replace") in names for listed, owner in _LISTING.findall(data)):
                return other
        # A module that imports modules by computed names and enumerates a
        # namespace (``inspect.getmembers(importlib.import_module(name))``,
        # ``sys.modules[name].__dict__.items()``): a plugin registry, which
        # may list this one. (Asking one name, ``"x" in vars(...)``, is no
        # listing.)
        self.scan("modules-imported-by-name", _BY_NAME.pattern, (b"import_module(", b"sys.modules["))
        for other, data in self.texts(self.project.mentions.get("modules-imported-by-name", ())):
            if _ENUMERATED.search(data):
                return other
        return None

    def texts(self, modules: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """Each of ``modules`` with the bytes of its file (one that cannot
        be read left out)."""
        for module in modules:
            path = self.project.index.modules.get(module)
            data = _read(path) if path is not None else None
            if data is not None:
                yield module, data

    def up(
        self, module: str, qualname: str, follow: Callable[[CallSite], bool], *, here: bool = False
    ) -> Iterator[CallSite]:
        """Every call site of ``qualname`` of ``module`` and, for each site
        where ``follow(site)``, those of its caller, and so on (breadth
        first, each function once, at most :data:`MAX_DEPTH` calls up and
        :data:`MAX_SITES` sites; ``here``: in ``module`` alone)."""
        seen = {(module, qualname)}
        level = [(module, qualname)]
        budget = MAX_SITES
        for _ in range(MAX_DEPTH):
            following = []
            for key in level:
                for site in self.of(*key, here=here):
                    budget -= 1
                    if budget < 0:
                        return
                    yield site
                    caller = (site.module, site.caller.qualname)
                    if caller not in seen and follow(site):
                        seen.add(caller)
                        following.append(caller)
            if not following:
                return
            level = following

    # -- what is called ------------------------------------------------------------

    def callees(self, module: str, qualname: str) -> Iterator[tuple[str, FunctionFacts]]:
        """``qualname`` of ``module`` and every function of the project it
        calls that the model resolves, at any depth (at most
        :data:`MAX_DEPTH`), each once."""
        seen = {(module, qualname)}
        level = [(module, qualname)]
        for _ in range(MAX_DEPTH):
            following = []
            for where, name in level:
                function = self.project.function(where, name)
                if function is None:
                    continue
                yield where, function
                for call in function.calls:
                    target = self.project.resolve(where, function, call)
                    if target is not None and (target.module, target.qualname) not in seen:
                        seen.add((target.module, target.qualname))
                        following.append((target.module, target.qualname))
            if not following:
                return
            level = following

    # -- classes -----------------------------------------------------------------

    def subclasses(self, module: str, class_name: str) -> Iterator[tuple[str, ClassFacts]]:
        """The classes of the project that inherit from ``class_name`` of
        ``module``, at any depth, found by the bases the model resolves."""
        seen = {(module, class_name)}
        level = [(module, class_name)]
        for _ in range(MAX_DEPTH):
            following = []
            for _, name in level:
                word = name.encode()
                for candidate in self.scan(f"word:{name}", rb"\b" + re.escape(word) + rb"\b", (word,)):
                    facts = self.project.facts(candidate)
                    for cls in facts.classes.values() if facts is not None else ():
                        if (candidate, cls.name) in seen:
                            continue
                        for base in cls.bases:
                            found = self.project.lookup(candidate, base)
                            if found is not None and found[0] == "class" and (found[1], found[2]) in level:
                                seen.add((candidate, cls.name))
                                following.append((candidate, cls.name))
                                yield candidate, cls
                                break
            if not following:
                return
            level = following

    # -- attributes replaced ----------------------------------------------------------

    def replacing(self, name: str) -> list[str]:
        """The other modules of the project that may replace an attribute
        called ``name`` on some object (a module, a class, an instance):
        ``obj.name = ...``, ``setattr(obj, "name", ...)``,
        ``mock.patch.object(obj, "name", ...)``, a dotted string ending in
        it (``mock.patch("app.Greeter.name")``), anywhere in the module. A
        module this interpreter cannot parse may."""
        word = re.escape(name.encode())
        return [
            module
            for module in self.scan(
                f"replace:{name}", rb"\b" + word + rb"\b(?:\s*=[^=]|['\"])|['\"]" + word + rb"['\"]", (name.encode(),)
            )
            # The module's own stores are the rule's to read, in its text.
            if module != self.view.module and self.answer(module, f"replaces:{name}", lambda tree: _replaces(tree, name))
        ]

    def replacing_in(self, module: str, name: str) -> str | None:
        """A module of the project that replaces the coroutine function
        ``name`` of the library ``module`` (``asyncio.sleep``) as every
        module sees it, with what may not be awaitable: it assigns the
        attribute, or patches it with a value given (``mock.patch(
        "asyncio.sleep", lambda s: None)``, ``patch.object(asyncio, "sleep",
        fake)``, ``patch.multiple(asyncio, sleep=fake)``,
        ``monkeypatch.setattr(asyncio, "sleep", fake)``); ``None`` where none
        does. A patch that lets ``mock`` make the replacement (none given,
        ``side_effect=``, ``return_value=``, ``new_callable=``), or gives an
        ``AsyncMock``, stays awaitable. (Narrower than :meth:`replacing`: a
        test patching ``time.sleep`` or ``app.sleep`` replaces no
        ``asyncio.sleep``.)"""
        owner, attribute = re.escape(module.encode()), re.escape(name.encode())
        awaitable = (
            rb"(?:new[ \t]*=[ \t]*)?(?:\w+\.)*AsyncMock\b"
            rb"|(?:side_effect|return_value|autospec|new_callable|spec|spec_set|create|wraps)[ \t]*="
        )
        target = rb"(?:[\"'](?:[\w.]*\.)?%(o)s\.%(a)s[\"']|\b%(o)s[ \t]*,[ \t]*[\"']%(a)s[\"'])"
        pattern = (
            rb"\b%(o)s\.%(a)s[ \t]*=(?!=)"
            rb"|\b(?:patch|setattr)\b[^\n]*?" + target + rb"[ \t]*,[ \t]*(?!" + awaitable + rb")[^\s)]"
            rb"|\bmultiple\([ \t]*%(o)s\b[^\n]*\b%(a)s[ \t]*=(?!=)[ \t]*(?!" + awaitable + rb")"
        ) % {b"o": owner, b"a": attribute}
        question = f"replaces:{module}.{name}"
        self.scan(question, pattern, (name.encode(),))
        hits = self.project.mentions.get(question, ())
        return hits[0] if hits else None

    def answer(self, module: str, question: str, compute: Callable[[ast.Module | None], bool]) -> bool:
        """``compute`` of the ``ast`` of the module's file on disk (``None``
        when it does not parse), or what the cache holds for ``question`` on
        its bytes. The file counts as read for the results' cache."""
        path = self.project.index.modules.get(module)
        data = _read(path) if path is not None else None
        if path is None or data is None:
            return False
        cache = self.project.cache
        key = cache.key(data, question) if cache is not None else None
        known = cache.load(key) if cache is not None and key is not None else None
        if not isinstance(known, bool):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    tree: ast.Module | None = ast.parse(data)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                tree = None
            known = compute(tree)
            if cache is not None and key is not None:
                cache.store(key, known)
        if self.project.used is not None:
            self.project.hashes.setdefault(path, content_hash(data))
            self.project.used.add(path)
        return known


# A name followed by a call's parenthesis, with what stands right before it:
# ``def `` (its definition) or a dot (a method's call).
# ``setattr(obj, name, ...)`` whose name is not a string literal.
_COMPUTED_SETATTR = re.compile(
    rb"\bsetattr\(\s*[^,()]+(?:\([^()]*\))?[^,()]*,\s*(?![\"'\s])"
    # ``vars(module)[key] = f``, ``module.__dict__.update(stubs)``
    rb"|(?:\bvars\([^()]*\)|\.__dict__)\s*(?:\[(?![\"'])[^\]\n]*\]\s*=(?!=)|\.(?:update|setdefault)\()"
    # ``mock.patch.object(cls, key, plain)``, ``patch.multiple(mod, **stubs)``
    rb"|\bpatch\.object\(\s*[^,()]+(?:\([^()]*\))?[^,()]*,\s*(?![\"'\s])|\bpatch\.multiple\([^()\n]*\*\*"
)
# A module's names listed by another: ``vars(jobs)``, ``dir(jobs)``,
# ``inspect.getmembers(jobs)``, ``jobs.__dict__``. (The module's own
# ``globals()`` is mostly looked up by a name, and a bare ``dir()`` in a
# function lists its locals.)
_LISTING = re.compile(rb"\b(?:vars|dir|getmembers)\([ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*[,)]|\b([A-Za-z_][A-Za-z0-9_]*)\.__dict__\b")
_BY_NAME = re.compile(rb"\bimport_module\(|\bsys\.modules\[")
_ENUMERATED = re.compile(rb"\bgetmembers\(|\.__dict__\.(?:items|keys|values)\(|\bvars\([^()\n]*\)\.(?:items|keys|values)\(")
_CALLED = re.compile(rb"(?:(def )|(\.)\s*)?\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def _imports_under_another_name(data: bytes, name: bytes) -> bool:
    """Whether ``data`` imports something named ``name`` under another name
    (``from work import step as fetch``)."""
    return re.search(rb"\bimport\b[^\n]*\b" + re.escape(name) + rb"[ \t]+as[ \t]+[A-Za-z_]", data) is not None


def _read(path: str) -> bytes | None:
    """The bytes of a regular file; ``None`` for anything else (a FIFO
    named ``x.py`` would block the run for ever) or a file that cannot be
    read."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        return Path(path).read_bytes()
    except OSError:
        return None


def _replaces(tree: ast.Module | None, name: str) -> bool:
    """Whether a module may replace an attribute ``name`` (see
    :meth:`Callers.replacing`)."""
    if tree is None:
        return True
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for part in ast.walk(target):
                    if isinstance(part, ast.Attribute) and part.attr == name and isinstance(part.ctx, ast.Store):
                        return True
        elif isinstance(node, ast.Call) and len(node.args) >= 2:
            second = node.args[1]
            if isinstance(second, ast.Constant) and second.value == name:
                return True
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value.endswith(f".{name}") and all(part.isidentifier() for part in node.value.split(".")):
                return True
    return False


def module_aliases(view: ModuleView, module: str) -> frozenset[str]:
    """The names ``module`` binds at module level by assignment, and those
    it imports that another module of the project binds so (``from errors
    import BadInput`` with ``BadInput = ValueError`` there), or that are a
    project module (``errors.RETRYABLE``), as :meth:`CallSite.catches`
    takes them: each may be an alias of a builtin exception, or a tuple."""
    project = view.project
    facts = project.facts(module)
    if facts is None:
        return frozenset()
    names = set(facts.assigned)
    for name, target in facts.imports.items():
        source, _, attribute = target.partition(":")
        if not attribute:
            if source in project.index.modules:
                names.add(name)
            continue
        if f"{source}.{attribute}" in project.index.modules:
            names.add(name)
            continue
        other = project.facts(source) if source in project.index.modules else None
        if other is not None and attribute in other.assigned:
            names.add(name)
    return frozenset(names)


__all__ = ["MAX_DEPTH", "CallSite", "Callers", "module_aliases"]
