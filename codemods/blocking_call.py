"""AM102 blocking-call: blocking I/O (network, processes, files, the terminal)
inside ``async def``."""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping

from .analysis.offload import (
    ThreadOffload,
    called_names,
    entries,
    entries_problem,
    in_coroutine,
    kept_names,
    last_parts,
    may_name,
    removes,
    resolve,
    short,
)
from .findings import Safety
from .lazy import lazy_module
from .model.facts import paths_overlap, split_root
from .rule import Rule
from .screen.facts import Context, Facts, has_async_def, scope_statements

if TYPE_CHECKING:
    import libcst as cst

    from .analysis import dependence
    from .cst import toolkit
    from .cst.scope import Scope
    from .settings import Settings
else:
    cst = lazy_module("libcst")
    dependence = lazy_module(".analysis.dependence", __package__)
    toolkit = lazy_module(".cst.toolkit", __package__)


# -- what blocks --------------------------------------------------------------
#
# Each kind names what the call waits for and the asynchronous way to do it,
# which the message gives.

HTTP = (
    "makes a blocking HTTP request, which stalls the event loop; use an async client"
    " (`aiohttp`, `httpx.AsyncClient`)"
)
NETWORK = "waits for the network and stalls the event loop; use `loop.getaddrinfo()` or `asyncio.open_connection()`"
PROCESS = "waits for a process and stalls the event loop; use `asyncio.create_subprocess_exec()`"
SHELL = "waits for a process and stalls the event loop; use `asyncio.create_subprocess_shell()`"
CHILD = (
    "waits for a child process and stalls the event loop; use `asyncio.create_subprocess_exec()`"
    " and `await proc.wait()`"
)
FILE = (
    "does blocking file I/O, which stalls the event loop; use `anyio.Path` / `anyio.open_file()`"
    " or `aiofiles`"
)
TERMINAL = "waits for the terminal and stalls the event loop; read stdin through an `asyncio.StreamReader`"
LISTED = "blocks the event loop (listed in the `blocking-calls` option)"

# Why a blocking call is reported without a fix, whatever its site.
OPENS_FILE = (
    "it returns a file whose reads and writes block as well; move the whole file handling"
    " into a function run with `asyncio.to_thread()`"
)
LAZY = "it returns an iterator that does its I/O as it is consumed, on the loop again"
STARTS_PROCESS = (
    "it starts the process and returns, but talking to it blocks; `asyncio.create_subprocess_exec()`"
    " gives a process whose pipes can be awaited"
)
FILE_METHOD = (
    "a method of a file object; move the whole file handling into a function run with"
    " `asyncio.to_thread()`"
)


# The calls that make a temporary file or directory of a name of their own.
_TEMPORARY_MAKERS = frozenset(
    f"tempfile.{name}" for name in ("NamedTemporaryFile", "TemporaryDirectory", "mkstemp", "mkdtemp", "TemporaryFile")
)

# The file calls that only look (a check before an act is one of these).
_DISK_READS = frozenset(
    {
        "exists", "is_file", "is_dir", "is_symlink", "is_mount", "stat", "lstat", "samefile", "read_text",
        "read_bytes", "isfile", "isdir", "islink", "ismount", "lexists", "getsize", "getmtime", "getatime",
        "getctime", "listdir", "scandir", "access", "glob", "iglob", "iterdir", "rglob", "walk", "samestat",
    }
)


def _path_of(expr: cst.BaseExpression) -> str | None:
    """The access path a file call works on: ``target`` for ``str(target)``,
    ``os.path.join(out_dir, name)`` or ``Path(target) / "x"``; ``None``
    where it is made some other way (an f-string)."""
    while True:
        if isinstance(expr, cst.Call):
            if not expr.args or expr.args[0].keyword is not None or expr.args[0].star:
                return None
            expr = expr.args[0].value
        elif isinstance(expr, cst.BinaryOperation):
            expr = expr.left
        else:
            return dependence.access_path(expr)


@dataclass(frozen=True)
class Blocking:
    """What a blocking function or method is: its kind (the message) and,
    when it is reported without a fix wherever it stands, why."""

    kind: str
    no_fix: str | None = None


_HTTP_VERBS = ("get", "options", "head", "post", "put", "patch", "delete", "request")

#: Functions that block, by qualified name (through the file's imports; a
#: name the file never binds is taken as written, as flake8-async does).
FUNCTIONS: dict[str, Blocking] = {
    **{f"{module}.{verb}": Blocking(HTTP) for module in ("requests", "httpx", "httpx2") for verb in _HTTP_VERBS},
    "requests.api.request": Blocking(HTTP),
    "urllib3.request": Blocking(HTTP),
    "urllib.request.urlopen": Blocking(HTTP),
    "urllib.request.urlretrieve": Blocking(HTTP),
    # As written in code that does not show its import (flake8-async's spellings).
    "request.urlopen": Blocking(HTTP),
    "urlopen": Blocking(HTTP),
    **{
        f"socket.{name}": Blocking(NETWORK)
        for name in (
            "create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex",
            "gethostbyaddr", "getnameinfo", "getfqdn",
        )
    },
    **{
        f"subprocess.{name}": Blocking(PROCESS)
        for name in ("run", "call", "check_call", "check_output")
    },
    "subprocess.getoutput": Blocking(SHELL),
    "subprocess.getstatusoutput": Blocking(SHELL),
    "subprocess.Popen": Blocking(PROCESS, STARTS_PROCESS),
    "os.system": Blocking(SHELL),
    "os.popen": Blocking(SHELL, STARTS_PROCESS),
    "os.posix_spawn": Blocking(PROCESS),
    "os.posix_spawnp": Blocking(PROCESS),
    **{f"os.spawn{suffix}": Blocking(PROCESS) for suffix in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe")},
    **{f"os.{name}": Blocking(CHILD) for name in ("wait", "wait3", "wait4", "waitid", "waitpid")},
    "open": Blocking(FILE, OPENS_FILE),
    "builtins.open": Blocking(FILE, OPENS_FILE),
    "io.open": Blocking(FILE, OPENS_FILE),
    "io.open_code": Blocking(FILE, OPENS_FILE),
    "os.fdopen": Blocking(FILE, OPENS_FILE),
    # The os.path functions that touch the disk (join, dirname, normpath...
    # only compute on strings).
    **{
        f"os.path.{name}": Blocking(FILE)
        for name in (
            "exists", "lexists", "isfile", "isdir", "islink", "ismount", "isjunction",
            "realpath", "getatime", "getctime", "getmtime", "getsize", "samefile", "sameopenfile",
        )
    },
    **{
        f"os.{name}": Blocking(FILE)
        for name in (
            "stat", "lstat", "listdir", "remove", "unlink", "rename", "replace", "mkdir",
            "makedirs", "rmdir", "removedirs",
        )
    },
    "os.scandir": Blocking(FILE, LAZY),
    "os.walk": Blocking(FILE, LAZY),
    "glob.glob": Blocking(FILE),
    "glob.iglob": Blocking(FILE, LAZY),
    **{
        f"shutil.{name}": Blocking(FILE)
        for name in ("copy", "copy2", "copyfile", "copytree", "move", "rmtree")
    },
    "input": Blocking(TERMINAL),
    "builtins.input": Blocking(TERMINAL),
}


@dataclass(frozen=True)
class Kind:
    """A class whose instances the rule follows through a function: which of
    their methods block (``None``: any method), and whether one instance
    may be used by several coroutines at once (a client), so that only one
    made and kept in the coroutine is fixed."""

    kind: str
    methods: Mapping[str, Blocking] | None
    shared: bool = True
    no_fix: str | None = None


def _methods(kind: str, names: Iterable[str], no_fix: Iterable[str] = (), why: str = LAZY) -> dict[str, Blocking]:
    lazy = set(no_fix)
    return {name: Blocking(kind, why if name in lazy else None) for name in (*names, *lazy)}


_FILE = Kind(FILE, None, no_fix=FILE_METHOD)
# The methods of a file that do no I/O (its descriptor, its capabilities).
_FILE_NO_IO = frozenset({"fileno", "readable", "writable", "seekable", "isatty"})
_HTTPX = Kind(
    HTTP,
    _methods(HTTP, ("close", "delete", "get", "head", "options", "patch", "post", "put", "request", "send", "stream")),
)
# A urllib3 pool: any method, but ``request`` only with a literal HTTP verb
# (see _blocking_method).
_POOL = Kind(HTTP, None)
_SESSION = Kind(HTTP, _methods(HTTP, (*_HTTP_VERBS, "send")))
_POPEN = Kind(PROCESS, _methods(PROCESS, ("wait", "communicate")))
_PATH = Kind(
    FILE,
    {
        **_methods(
            FILE,
            (
                "read_text", "write_text", "read_bytes", "write_bytes", "exists", "is_file", "is_dir",
                "is_symlink", "is_mount", "stat", "lstat", "mkdir", "touch", "unlink", "rmdir",
                "rename", "replace", "samefile", "chmod",
            ),
            ("iterdir", "glob", "rglob", "walk"),
        ),
        "open": Blocking(FILE, OPENS_FILE),
    },
    shared=False,
)
_CONNECTION = Kind(
    HTTP, _methods(HTTP, ("request", "getresponse", "connect", "send", "putrequest", "endheaders"))
)
_SOCKET = Kind(
    NETWORK,
    _methods(
        NETWORK,
        (
            "connect", "accept", "recv", "recv_into", "recvfrom", "recvfrom_into",
            "send", "sendall", "sendto", "sendfile",
        ),
    ),
)

_URLLIB3_POOLS = (
    "urllib3.HTTPConnectionPool",
    "urllib3.HTTPSConnectionPool",
    "urllib3.PoolManager",
    "urllib3.ProxyManager",
    "urllib3.connectionpool.ConnectionPool",
    "urllib3.connectionpool.HTTPConnectionPool",
    "urllib3.connectionpool.HTTPSConnectionPool",
    "urllib3.poolmanager.PoolManager",
    "urllib3.poolmanager.ProxyManager",
    "urllib3.request.RequestMethods",
)

#: The classes the rule follows, by qualified name.
KINDS: dict[str, Kind] = {
    **{f"io.{name}": _FILE for name in ("TextIOWrapper", "BufferedReader", "BufferedWriter", "BufferedRandom")},
    "httpx.Client": _HTTPX,
    "httpx2.Client": _HTTPX,
    **{name: _POOL for name in _URLLIB3_POOLS},
    "requests.Session": _SESSION,
    "requests.sessions.Session": _SESSION,
    "subprocess.Popen": _POPEN,
    "pathlib.Path": _PATH,
    "pathlib.PosixPath": _PATH,
    "pathlib.WindowsPath": _PATH,
    "http.client.HTTPConnection": _CONNECTION,
    "http.client.HTTPSConnection": _CONNECTION,
    "socket.socket": _SOCKET,
}

#: Calls that make an instance of a followed class, beside the classes themselves.
MAKERS: dict[str, str] = {
    "open": "io.TextIOWrapper",
    "builtins.open": "io.TextIOWrapper",
    "io.open": "io.TextIOWrapper",
    "os.fdopen": "io.TextIOWrapper",
    "requests.session": "requests.Session",
    "urllib3.connection_from_url": "urllib3.HTTPConnectionPool",
    "socket.create_connection": "socket.socket",
}
# Methods of a path that give a path.
_PATH_TO_PATH = frozenset(
    {"with_name", "with_suffix", "with_stem", "joinpath", "absolute", "resolve", "expanduser", "relative_to"}
)
_VERBS = frozenset({"get", "options", "head", "post", "put", "patch", "delete", "trace", "connect"})


@dataclass(frozen=True)
class Table:
    """The blocking functions and followed classes of a run: the built-in
    ones as the ``blocking-calls`` option extends or trims them."""

    functions: Mapping[str, Blocking]
    kinds: Mapping[str, Kind]

    @functools.cached_property
    def last_parts(self) -> frozenset[str]:
        return last_parts(self.functions)

    @functools.cached_property
    def kind_parts(self) -> frozenset[str]:
        return last_parts(self.kinds)

    @classmethod
    def of(cls, option: Iterable[str]) -> Table:
        functions = dict(FUNCTIONS)
        kinds = dict(KINDS)
        for entry in option:
            name = entry.lstrip("!")
            owner, _, method = name.rpartition(".")
            if entry.startswith("!"):
                functions = {key: value for key, value in functions.items() if not removes(entry, key)}
                for key, kind in list(kinds.items()):
                    if removes(entry, key):
                        del kinds[key]
                    elif key == owner and kind.methods is not None and method in kind.methods:
                        methods = {m: b for m, b in kind.methods.items() if m != method}
                        kinds[key] = Kind(kind.kind, methods, kind.shared, kind.no_fix)
            elif owner in kinds:
                kind = kinds[owner]
                if kind.methods is not None and method not in kind.methods:
                    methods = {**kind.methods, method: Blocking(LISTED)}
                    kinds[owner] = Kind(kind.kind, methods, kind.shared, kind.no_fix)
            else:
                # A built-in entry keeps what it knows (``open`` is not fixed).
                functions.setdefault(name, Blocking(LISTED))
        return cls(functions, kinds)


_TABLES: dict[tuple[str, ...], Table] = {}


def table(option: Iterable[str] | str) -> Table:
    key = entries(option)
    found = _TABLES.get(key)
    if found is None:
        found = _TABLES[key] = Table.of(key)
    return found


# -- the screen (stdlib ast) --------------------------------------------------


def _annotated_kind(facts: Facts, annotation: ast.expr | None, found: Table, aliases: frozenset[str]) -> bool:
    """Whether ``annotation`` may name a followed class. ``aliases``: the
    names an import binds to one (``from io import TextIOWrapper as F``)."""
    if annotation is None:
        return False
    if isinstance(annotation, ast.Name):
        # Most annotations: one name, which must be a class's own or an alias.
        if annotation.id not in found.kind_parts and annotation.id not in aliases:
            return False
    return any(
        not called_names(facts, node).isdisjoint(found.kinds)
        for node in ast.walk(annotation)
        if isinstance(node, (ast.Name, ast.Attribute))
    )


class _Followed:
    """Which names may hold an instance of a followed class where a call
    stands (a superset of what the LibCST half follows): a parameter of the
    function around it, or of one around that, annotated with such a class;
    a name annotated so in those functions, the class body around the call
    or the module; a name bound to such a value anywhere."""

    def __init__(self, facts: Facts, found: Table, makers: set[str], pathlib: bool) -> None:
        self.facts, self.found, self.makers, self.pathlib = facts, found, makers, pathlib
        self.aliases = frozenset(
            name for name, origins in facts.imports.items() if not origins.isdisjoint(found.kinds)
        )
        self._annotated: dict[int, set[str]] = {}
        self._bound: dict[str, bool] = {}
        self._everywhere: set[str] | None = None

    def holds(self, name: str, ctx: Context) -> bool:
        return self._bound_to(name) or any(name in self._annotated_in(body) for body in self._bodies(ctx))

    def _bodies(self, ctx: Context) -> list[ast.AST]:
        bodies: list[ast.AST] = [self.facts.tree, *(function for function, _ in ctx.defs)]
        if ctx.class_node is not None:
            bodies.append(ctx.class_node)
        return bodies

    def _annotated_in(self, node: ast.AST) -> set[str]:
        """The names a module, class or function annotates with a followed
        class (its parameters and its own ``name: T`` statements)."""
        found = self._annotated.get(id(node))
        if found is None:
            found = set()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
                    if _annotated_kind(self.facts, arg.annotation, self.found, self.aliases):
                        found.add(arg.arg)
            for statement in scope_statements(node.body):  # type: ignore[attr-defined]
                if (
                    isinstance(statement, ast.AnnAssign)
                    and isinstance(statement.target, ast.Name)
                    and _annotated_kind(self.facts, statement.annotation, self.found, self.aliases)
                ):
                    found.add(statement.target.id)
            self._annotated[id(node)] = found
        return found

    def _bound_to(self, name: str) -> bool:
        """Whether some ``name = value`` or ``with value as name`` of the
        file binds it to a followed value, or copies a name that may hold one."""
        known = self._bound.get(name)
        if known is None:
            self._bound[name] = False  # a cycle of copies holds nothing
            known = self._bound[name] = any(self.may_follow(value) for value in self.facts.assigned.get(name, ()))
        return known

    def _annotated_anywhere(self) -> set[str]:
        """The names any module, class or function body of the file
        annotates with a followed class (for ``f = ff``: where ``ff`` was
        annotated is not followed here)."""
        if self._everywhere is None:
            facts = self.facts
            bodies: list[ast.AST] = [facts.tree, *(f for f in facts.locals if hasattr(f, "body"))]
            bodies += [cls for classes in facts.classes.values() for cls in classes]
            self._everywhere = set().union(*(self._annotated_in(body) for body in bodies))
        return self._everywhere

    def may_follow(self, expr: ast.expr) -> bool:
        """Whether ``expr`` may be an instance of a followed class: a name
        bound or annotated so, a call of a class or a maker, a path made
        from a path."""
        if isinstance(expr, ast.Name):
            return self._bound_to(expr.id) or expr.id in self._annotated_anywhere()
        if isinstance(expr, ast.Call):
            func = expr.func
            if not called_names(self.facts, func).isdisjoint(self.makers):
                return True
            return (
                self.pathlib
                and isinstance(func, ast.Attribute)
                and (func.attr in _PATH_TO_PATH or func.attr == "open")
                and self.may_follow(func.value)
            )
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
            return self.pathlib and self.may_follow(expr.left)
        if isinstance(expr, ast.Attribute) and expr.attr == "parent":
            return self.pathlib and self.may_follow(expr.value)
        return False


def screen_blocking(facts: Facts, found: Table) -> bool:
    """Whether the file may hold a blocking call in a coroutine."""
    methods: list[tuple[ast.Call, Context]] = []
    last = found.last_parts
    for call, ctx in facts.calls:
        if not in_coroutine(ctx):
            continue
        if may_name(call.func, last) and not called_names(facts, call.func).isdisjoint(found.functions):
            return True
        if isinstance(call.func, ast.Attribute):
            methods.append((call, ctx))
    if not methods:
        return False
    roots = {origin.split(".")[0] for origins in facts.imports.values() for origin in origins}
    pathlib = "pathlib" in roots
    makers = set(found.kinds) | set(MAKERS)
    followed = _Followed(facts, found, makers, pathlib)
    for call, ctx in methods:
        func = call.func
        assert isinstance(func, ast.Attribute)
        if func.attr == "request" and "urllib3" in roots:
            return True
        receiver = func.value
        if isinstance(receiver, ast.Name):
            if followed.holds(receiver.id, ctx):
                return True
        elif followed.may_follow(receiver):
            return True
    return False


# -- the rule -----------------------------------------------------------------


class BlockingCall(ThreadOffload, Rule):
    """Blocking I/O inside a coroutine freezes the whole event loop.

    ## Example

    ```diff
     import requests
    +import asyncio

     async def send_receipt(address, order):
    -    requests.post(MAIL_API, json={"to": address, "order": order})
    +    await asyncio.to_thread(requests.post, MAIL_API, json={"to": address, "order": order})
    ```

    ## Why is this bad

    Every task of an event loop runs on one thread. A call that waits for
    the network, a process, the disk or the terminal holds that thread for as
    long as it waits: no other request is served, no timeout fires, no
    heartbeat is sent. One `requests.get` to a slow server stalls the whole
    service for its duration.

    Reported, inside the body of an `async def`:

    - network: the HTTP functions of `requests`, `httpx`, `httpx2`,
      `urllib3.request`, `urllib.request.urlopen` / `urlretrieve`; the
      blocking `socket` functions (`create_connection`, `getaddrinfo`,
      `gethostbyname`...); the request methods of a `requests.Session`, an
      `httpx.Client`, a urllib3 pool (any method; `request` only with a
      literal HTTP verb), an `http.client.HTTPConnection` and a
      `socket.socket`; in a module that imports urllib3, any
      `x.request("GET", ...)` with a literal HTTP verb;
    - processes: `subprocess.run` / `call` / `check_call` / `check_output` /
      `getoutput` / `getstatusoutput` / `Popen`, `Popen.wait` /
      `communicate`, `os.system`, `os.popen`, `os.posix_spawn[p]`,
      `os.spawn*`, `os.wait*`;
    - files: `open()` (`io.open`, `os.fdopen`) and any method of a file
      object; the `read_text` / `write_text` / `read_bytes` /
      `write_bytes` / `open` / `exists` / `stat` / `mkdir`... methods of a
      `pathlib.Path`; the `os.path` functions that touch the disk
      (`exists`, `isfile`, `getsize`, `realpath`...; not `join`, `dirname`
      or `normpath`, which only compute on strings); `os.stat`,
      `os.listdir`, `os.scandir`, `os.walk`, `os.remove`, `os.rename`,
      `os.makedirs`... ; `glob.glob`, `shutil.copy` / `move` / `rmtree`...;
    - the terminal: `input()`.

    Names are resolved through the module's imports (`import requests as
    r`, `from subprocess import run`, `from os import path`); a name the
    module never binds is taken as written (`os.system()` in a snippet
    without its import). An object is followed from its annotation
    (`client: httpx.Client`, `f: TextIOWrapper | None`) and from the call
    that made it (`s = requests.Session()`, `with open(p) as f`, `p =
    Path(base) / "x"`, `f = g` copying one), as the code reads from top
    to bottom: a function sees the module's names as they were where it is
    defined. This covers what flake8-async's ASYNC210, 211, 212, 220, 221,
    222, 230, 231, 232, 240 and 250 report, and more.

    The option `blocking-calls` extends the list: `"mylib.fetch"` adds a
    function (by qualified name), `"pathlib.Path.resolve"` a method of a
    class the rule follows; `"!os.path.exists"` removes an entry, and
    `"!os.path.*"` every entry under a name.

    ## Fix

    The call runs in a worker thread: `fn(*args, **kwargs)` becomes `await
    asyncio.to_thread(fn, *args, **kwargs)`, wherever its result is used or
    dropped, and `import asyncio` is added where missing (an `import asyncio
    as aio` is reused). Better still is the asynchronous library the message
    names (`aiohttp` or `httpx.AsyncClient`, `asyncio.create_subprocess_exec`,
    `anyio.Path` or `aiofiles`): that rewrite is left to you.

    ## Fix safety

    Unsafe. Other tasks now run while the call waits, and may change what
    its arguments refer to; the call runs in another thread, where a library
    that is not thread-safe may misbehave; cancelling the coroutine no
    longer waits for the call but leaves it running in its thread; and a
    `CancelledError` can now arrive at this point, which a bare `except:`
    around it would swallow.

    ## Limits

    Reported without a fix: `open()` and the other calls that return a
    file (its reads and writes would still block: move the whole file
    handling into a function run with `asyncio.to_thread`), a `with` item
    (the block works on what it opens), any method of a file object but
    `fileno`, `readable`, `writable`, `seekable` and `isatty`; calls
    that return an iterator doing its I/O as it is consumed (`os.scandir`,
    `os.walk`, `glob.iglob`, `Path.iterdir` / `glob`); `subprocess.Popen`
    and `os.popen` (talking to the process blocks, not starting it); a
    method of a client, session, pool, process, connection or socket that is
    not made in the coroutine itself and used there only through its
    methods (another coroutine may use it at the same time, and a
    `requests.Session` is not safe to use from several threads at once); a
    likely urllib3 call on an object the rule cannot see; a call in a
    comprehension (each item would wait in turn), in a generator expression
    or a class body (no `await` there), in a lambda that `sorted`, `min`,
    `max`, `map`, `filter` or a `.sort()` calls at once; a call inside a
    plain `with` whose context manager may be a thread lock (anything but
    a file, session, client... the rule knows) or in a coroutine that calls
    `.acquire()` without `await` (another task would block on the held lock
    while this one waits); a call in `f"{...=}"`, which prints its text;
    in a module that imports trio or anyio, or is part of one (its path
    lies in a `trio` or `anyio` package): `trio.to_thread.run_sync` /
    `anyio.to_thread.run_sync` are the cure there; in a module that imports
    Twisted or curio, or imports no event loop's library in a project that
    also runs one of those or steps coroutines itself (`.send(None)`), where
    no call of asyncio's works; where `asyncio` names something else. As
    AM101 for a sleep, where the new `await` would show: in a `finally`
    block, `__aexit__` or an `except` handler that goes on after it (a
    cancellation would skip the rest of the cleanup); with shared state read
    before the call and changed after it; and every file call of a coroutine
    that reads and changes one path in several steps (`if not
    conf.exists(): conf.write_text(...)`, or a step handed to a thread:
    `await hass.async_add_executor_job(os.makedirs, path)`): awaited one by
    one, another task could change the file in between.

    Not reported: a call under `await` (an async API of the same name); a
    call in a nested plain `def` or in any other lambda (that is how work
    is handed to an executor, `loop.run_in_executor(None, lambda:
    open(p).read())`, and it may run in a thread); a name that is a
    parameter or a local; the `get` of any other object; `time.sleep`
    (AM101); `os.path.join`, `dirname`, `normpath`, `relpath` and the other
    functions that only compute on strings. An object stored on `self`, in
    a container or returned by a function is not followed; a name rebound to
    something else keeps the kind it had (as in flake8-async).
    """

    CODE = "AM102"
    SLUG = "blocking-call"
    SAFETY = Safety.UNSAFE
    DESCRIPTION = "blocking I/O (network, processes, files, input) in async def blocks the event loop"
    OPTIONS = {"blocking-calls": ()}
    EQUIVALENTS = (
        "ASYNC210", "ASYNC211", "ASYNC212", "ASYNC220", "ASYNC221", "ASYNC222",
        "ASYNC230", "ASYNC231", "ASYNC232", "ASYNC240", "ASYNC250",
    )

    @classmethod
    def prefilter(cls, data: bytes) -> bool:
        # The option may name any function: only a coroutine is certain to be needed.
        return has_async_def(data)

    @classmethod
    def screen(cls, facts: Facts, settings: Settings) -> bool:
        return screen_blocking(facts, table(settings.options.get("blocking-calls", ())))

    @classmethod
    def check_option(cls, key: str, value: object) -> str | None:
        return entries_problem(value)  # type: ignore[arg-type]

    def __init__(self, context: cst.codemod.CodemodContext) -> None:
        super().__init__(context)
        self._table = table(self.option("blocking-calls"))
        # Per coroutine: names only ever used as the receiver of an
        # attribute (never handed on), computed on first need.
        self._kept: dict[cst.CSTNode, frozenset[str]] = {}
        # Per coroutine, on first need: its file calls that read and change
        # one path in several steps.
        self._disk_steps: dict[cst.FunctionDef, dict[cst.Call, str]] = {}

    # -- the objects the rule follows (see ThreadOffload) -----------------------

    def followed(self, name: str) -> bool:
        return name in self._table.kinds

    def made_by(self, name: str) -> str | None:
        return MAKERS.get(name)

    def derived(self, expr: cst.BaseExpression) -> str | None:
        """A path from a path: ``base / "x"``, ``p.parent``,
        ``p.with_suffix(".txt")``; a file from ``p.open()``."""
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and self._is_path(expr.func.value):
            if expr.func.attr.value in _PATH_TO_PATH:
                return "pathlib.Path"
            if expr.func.attr.value == "open":
                return "io.TextIOWrapper"
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Divide):
            return "pathlib.Path" if self._is_path(expr.left) else None
        if isinstance(expr, cst.Attribute) and expr.attr.value == "parent":
            return "pathlib.Path" if self._is_path(expr.value) else None
        return None

    def _is_path(self, expr: cst.BaseExpression) -> bool:
        kind = self.kind_of(expr)
        return kind is not None and self._table.kinds[kind] is _PATH

    def not_a_lock(self, item: cst.BaseExpression) -> bool:
        # ``with open(p) as f:`` holds a file, not a lock.
        return super().not_a_lock(item) or (
            isinstance(item, cst.Call) and resolve(self.scope(item), item.func) in self._table.functions
        )

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        scope = self.scope(original_node)
        site = self.site(original_node, scope)
        if site is None:
            return updated_node
        found = self._blocking(original_node, scope)
        if found is None:
            return updated_node
        blocking, shared_receiver = found
        spelled = short(original_node.func)
        message = f"`{spelled}()` {blocking.kind}"
        problem = blocking.no_fix
        if problem is None and shared_receiver is not None:
            problem = (
                f"`{shared_receiver}` may be shared with other coroutines, and the library may not"
                " be safe to use from several threads at once"
            )
        return self.offload(original_node, updated_node, scope, site, message, problem)

    def suspension_problem(self, call: cst.Call, function: cst.FunctionDef) -> str | None:
        """As :meth:`ThreadOffload.suspension_problem`, and the disk read and
        changed in several steps."""
        known = self._disk_steps.get(function)
        if known is None:
            known = self._disk_steps[function] = self._steps_on_disk(function)
        if call in known:
            return (
                f"`{known[call]}` is read and changed on disk in several steps here: awaited one"
                " by one, another task could change it in between (check-then-act)"
            )
        return super().suspension_problem(call, function)

    def _steps_on_disk(self, function: cst.FunctionDef) -> dict[cst.Call, str]:
        """The blocking file calls of a coroutine that work on one path (or
        one inside the other: ``conf.parent.mkdir()`` and ``conf.write_text()``)
        beside another such call, one of the two changing it: each, with
        its path."""
        calls = toolkit.OwnCalls()
        toolkit.walk(function.body, calls)
        private = self._temporary_files(function, calls.calls)
        steps: list[tuple[cst.Call, str, bool]] = []
        for call in calls.calls - calls.awaited:
            found = self._blocking(call, self.scope(call))
            if found is None or found[0].kind != FILE:
                continue
            func = call.func
            # The paths it is given (``shutil.copy(source, target)``), and
            # for a method of a path, the path itself.
            method = isinstance(func, cst.Attribute) and resolve(self.scope(call), func) is None
            given = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
            name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
            for subject in ([func.value] if method else []) + given:  # type: ignore[union-attr]
                path = _path_of(subject)
                if path is not None and split_root(path)[0] not in private:
                    steps.append((call, path, name not in _DISK_READS))
        for call in calls.calls:
            # A file function handed to a thread with its paths
            # (``await hass.async_add_executor_job(os.makedirs, path)``,
            # ``asyncio.to_thread(shutil.rmtree, path)``): a step on them too.
            given = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
            for index, handed in enumerate(given):
                if not isinstance(handed, (cst.Name, cst.Attribute)):
                    continue
                qualified = resolve(self.scope(call), handed)
                blocking = self._table.functions.get(qualified) if qualified is not None else None
                if blocking is None or blocking.kind != FILE:
                    continue
                name = qualified.rsplit(".", 1)[-1]  # type: ignore[union-attr]
                for subject in given[index + 1:]:
                    path = _path_of(subject)
                    if path is not None and split_root(path)[0] not in private:
                        steps.append((call, path, name not in _DISK_READS))
                break
        return {
            call: path for call, path, changes in steps
            if any(
                other is not call and (changes or also) and paths_overlap(path, where)
                for other, where, also in steps
            )
        }

    def _temporary_files(self, function: cst.FunctionDef, calls: Iterable[cst.Call]) -> frozenset[str]:
        """The names the coroutine binds, once, to a temporary file or
        directory it makes (``tmp = tempfile.NamedTemporaryFile(...)``):
        a path no other task knows, whose steps no other task can come
        between."""
        made = {call for call in calls if resolve(self.scope(call), call.func) in _TEMPORARY_MAKERS}
        if not made:
            return frozenset()
        bound: dict[str, int] = {}
        private: set[str] = set()
        for assign in toolkit.descendants(function.body):
            if isinstance(assign, cst.AssignTarget) and isinstance(assign.target, cst.Name):
                bound[assign.target.value] = bound.get(assign.target.value, 0) + 1
            if (
                isinstance(assign, cst.Assign) and len(assign.targets) == 1
                and isinstance(assign.targets[0].target, cst.Name) and assign.value in made
            ):
                private.add(assign.targets[0].target.value)
        return frozenset(name for name in private if bound.get(name) == 1)

    def _blocking(self, call: cst.Call, scope: Scope) -> tuple[Blocking, str | None] | None:
        """What blocks in ``call`` and, for a method of an object that may be
        shared with other coroutines, the object's name; None when the call
        does not block."""
        func = call.func
        name = resolve(scope, func)
        if name is not None and name in self._table.functions:
            return self._table.functions[name], None
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        receiver = func.value
        kind_name = self.kind_of(receiver)
        kind = self._table.kinds.get(kind_name) if kind_name is not None else None
        if isinstance(receiver, cst.Call) and resolve(scope, receiver.func) in self._table.functions:
            return None  # ``open(p).read()``: reported once, at the ``open``
        if kind is not None:
            if kind is _POOL and method == "request" and not _literal_verb(call):
                return None
            if kind is _FILE and method in _FILE_NO_IO:
                return None
            if kind.methods is None:
                blocking = Blocking(kind.kind, kind.no_fix)
            elif method in kind.methods:
                blocking = kind.methods[method]
            else:
                return None
            if kind is _SOCKET and self._non_blocking(scope, receiver):
                return None
            shared = None
            if kind.shared and not self._kept_here(scope, receiver):
                shared = short(receiver)
            return blocking, shared
        if method == "request" and _literal_verb(call) and scope.imports_any(("urllib3",)):
            # flake8-async's ASYNC211: most likely a urllib3 pool or connection.
            return Blocking(HTTP, f"what `{short(receiver)}` is cannot be seen"), None
        return None

    def _non_blocking(self, scope: Scope, receiver: cst.BaseExpression) -> bool:
        """Whether the function calls ``receiver.setblocking(...)`` or
        ``receiver.settimeout(...)``: a socket made non-blocking (for the
        loop's own ``sock_*`` calls or an ``add_writer``) never blocks, and
        one with a timeout is not followed either."""
        function = scope.function().node
        if function is None:
            return False
        text = toolkit.get_full_name_for_node(receiver)
        return any(
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in ("setblocking", "settimeout")
            and toolkit.get_full_name_for_node(node.func.value) == text
            for node in toolkit.descendants(function)
        )

    def _kept_here(self, scope: Scope, receiver: cst.BaseExpression) -> bool:
        """Whether ``receiver`` is made right there (``requests.Session().get``)
        or is a name bound once, in this coroutine, to a new object, and used
        there only through its attributes: no other coroutine can reach it."""
        if isinstance(receiver, cst.Call):
            return True
        if not isinstance(receiver, cst.Name):
            return False
        function = scope.function()
        owner = toolkit.bound_once(scope, receiver.value)
        if owner is None or owner is not function or function.node is None:
            return False
        kept = self._kept.get(function.node)
        if kept is None:
            kept = self._kept[function.node] = kept_names(function.node)
        return receiver.value in kept


def _literal_verb(call: cst.Call) -> bool:
    """Whether the first positional argument is a string naming an HTTP verb."""
    first = next((arg for arg in call.args if arg.keyword is None and not arg.star), None)
    if first is None or not isinstance(first.value, cst.SimpleString):
        return False
    value = first.value.evaluated_value
    return isinstance(value, str) and value.lower() in _VERBS
