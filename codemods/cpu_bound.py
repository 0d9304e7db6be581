"""AM103 cpu-bound: CPU-heavy work inside ``async def``."""

from __future__ import annotations

import ast
import functools
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping

from .analysis.coroutines import is_main_guard
from .analysis.event_loop import runs_elsewhere
from .analysis.offload import (
    EXECUTOR,
    POOL,
    POOL_HELPER,
    ThreadOffload,
    is_pool_helper,
    called_names,
    entries_problem,
    in_coroutine,
    literal,
    last_parts,
    literal_node,
    may_name,
    other_backend,
    removes,
    resolve,
    short,
)
from .analysis.offload import entries as option_entries
from .findings import Safety
from .lazy import lazy_module
from .model.facts import child_nodes, split_root, statement_nodes
from .rule import Rule
from .screen.facts import Context, Facts, context_qualname, has_async_def

if TYPE_CHECKING:
    import libcst as cst

    from .cst import toolkit
    from .cst.scope import Scope
    from .model.project import HeavyCall, ModuleView
    from .settings import Settings
else:
    cst = lazy_module("libcst")
    dependence = lazy_module(".analysis.dependence", __package__)
    toolkit = lazy_module(".cst.toolkit", __package__)
    cst_scope = lazy_module(".cst.scope", __package__)


# What the call does, in the message.
PASSWORD = "hashes a password or derives a key, which is slow by design,"
COMPRESSION = "compresses or decompresses data the code does not show to be small,"
DIGEST = "reads and hashes a whole file"
PARSE = "parses YAML in pure Python (about 100 ms for 14 kB),"
MATCH = "compares a word with every possibility (quadratic in pure Python),"
LISTED = "is listed as CPU-heavy in the configuration,"


@dataclass(frozen=True)
class Heavy:
    """A CPU-heavy call: what it does, whether its C code releases the GIL
    (then a thread runs it in parallel with the loop), and what makes one
    call of it light.

    ``data``: the position and keyword of the argument whose size the cost
    follows: the call is light when that argument is a literal (a constant
    is small). ``work``: the position, keyword and floor of a work factor:
    the call is light when that argument is an integer literal below the
    floor. ``constants``: light when every argument is a literal (the
    entries a configuration adds)."""

    what: str
    releases_gil: bool
    data: tuple[int | None, str | None] | None = None
    work: tuple[int | None, str, int] | None = None
    constants: bool = False


def _always(what: str) -> Heavy:
    return Heavy(what, releases_gil=True)


_PASSWORD_FUNCTIONS = (
    "bcrypt.hashpw",
    "bcrypt.checkpw",
    "bcrypt.kdf",
    "argon2.hash_password",
    "argon2.hash_password_raw",
    "argon2.verify_password",
    "argon2.low_level.hash_secret",
    "argon2.low_level.hash_secret_raw",
    "argon2.low_level.verify_secret",
    "nacl.pwhash.str",
    "nacl.pwhash.verify",
    *(
        f"nacl.pwhash.{family}.{name}"
        for family in ("argon2id", "argon2i", "scrypt")
        for name in ("str", "verify", "kdf")
    ),
)

#: The heavy calls the rule knows, by qualified name.
FUNCTIONS: dict[str, Heavy] = {
    # Password hashing and key derivation run in C and release the GIL
    # (OpenSSL, bcrypt, argon2-cffi and PyNaCl through cffi).
    "hashlib.pbkdf2_hmac": Heavy(PASSWORD, True, work=(3, "iterations", 1000)),
    "hashlib.scrypt": Heavy(PASSWORD, True, work=(None, "n", 1024)),
    **{name: _always(PASSWORD) for name in _PASSWORD_FUNCTIONS},
    "hashlib.file_digest": _always(DIGEST),
    # zlib, bz2 and lzma release the GIL while they work (gzip is zlib).
    **{
        f"{module}.{name}": Heavy(COMPRESSION, True, data=(0, "data"))
        for module in ("zlib", "gzip", "bz2", "lzma")
        for name in ("compress", "decompress")
    },
    # Pure Python (or C that builds Python objects): the GIL stays held.
    **{
        f"yaml.{name}": Heavy(PARSE, False, data=(0, "stream"))
        for name in ("load", "safe_load", "full_load", "unsafe_load", "load_all", "safe_load_all")
    },
    "difflib.get_close_matches": Heavy(MATCH, False, data=(1, "possibilities")),
}

#: Classes whose methods are heavy, by qualified name (a ``PasswordHasher``
#: holds only its parameters: any coroutine may share one).
METHODS: dict[str, Mapping[str, Heavy]] = {
    "argon2.PasswordHasher": {"hash": _always(PASSWORD), "verify": _always(PASSWORD)},
}

_OPTIONS = ("gil-releasing-calls", "cpu-bound-calls")


@dataclass(frozen=True)
class Table:
    """The heavy functions of a run: the built-in ones as the options
    extend or trim them."""

    functions: Mapping[str, Heavy]

    @functools.cached_property
    def last_parts(self) -> frozenset[str]:
        return last_parts(self.functions)

    @classmethod
    def of(cls, releasing: Iterable[str], holding: Iterable[str]) -> Table:
        functions = dict(FUNCTIONS)
        for entries, releases_gil in ((releasing, True), (holding, False)):
            for entry in entries:
                if entry.startswith("!"):
                    functions = {key: value for key, value in functions.items() if not removes(entry, key)}
                else:
                    functions.setdefault(entry, Heavy(LISTED, releases_gil, constants=True))
        return cls(functions)


_TABLES: dict[tuple[tuple[str, ...], tuple[str, ...]], Table] = {}


def table(options: Mapping[str, object]) -> Table:
    key = (
        option_entries(options.get("gil-releasing-calls", ())),  # type: ignore[arg-type]
        option_entries(options.get("cpu-bound-calls", ())),  # type: ignore[arg-type]
    )
    found = _TABLES.get(key)
    if found is None:
        found = _TABLES[key] = Table.of(*key)
    return found


def _computes_on_ast(facts: Facts, call: ast.Call, ctx: Context) -> bool:
    """The screen's twin of CpuBound._project_heavy: a call in a coroutine
    of a project function whose loops its arguments size."""
    if ctx.kind != "async" or not isinstance(call.func, (ast.Name, ast.Attribute)):
        return False
    if all(literal(arg) for arg in call.args) and all(literal(k.value) for k in call.keywords):
        return False  # (no argument, or constants alone: small by construction)
    if not _may_be_project_function(facts, call.func):
        return False
    view = facts.view
    if view is None:
        return False
    from .model.facts import call_parts

    func, args, kwargs, star_kwargs, _ = call_parts(call)
    heavy = view.heavy_call(context_qualname(ctx), func, args, kwargs, star_kwargs)
    if not _heavy_enough(heavy):
        return False
    assert heavy is not None
    sizing = [call.args[i] for i in heavy.positions] + [k.value for k in call.keywords if k.arg in heavy.keywords]
    return any(not literal(value) for value in sizing)


def _may_be_project_function(facts: Facts, func: ast.expr) -> bool:
    """Whether ``func`` may name a plain function of the project, as the
    file alone tells: a ``def`` of its own (a function, or a method of one
    of its classes for ``self.m``), or a name or module imported from the
    project's own packages. (The project model, which reads other modules,
    is asked only then.)"""
    defs = facts.memo.get("cpu_bound.defs")
    if defs is None:
        defs = facts.memo["cpu_bound.defs"] = _plain_defs(facts.tree)
    own, looping = defs  # type: ignore[misc]
    if isinstance(func, ast.Attribute):
        root = func.value
        if isinstance(root, ast.Name) and root.id in ("self", "cls"):
            return func.attr in looping
        while isinstance(root, ast.Attribute):
            root = root.value
        name = root.id if isinstance(root, ast.Name) else None
    else:
        if func.id in own:  # type: ignore[union-attr]
            return func.id in looping  # type: ignore[union-attr]
        name = func.id  # type: ignore[union-attr]
    origins = facts.top_imports.get(name, ()) if name is not None else ()
    # An import of the project's own (relative, or of one of its packages):
    # a library's function has no facts to ask for.
    view = facts.view
    packages = view.project.index.packages if view is not None else frozenset()
    return any(
        origin.startswith(".") or (origin.split(".")[0] in packages and origin.split(".")[0] not in _STDLIB)
        for origin in origins
    )


_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))


def _plain_defs(tree: ast.Module) -> tuple[frozenset[str], frozenset[str]]:
    """The names of the plain ``def`` statements of a module, and of those
    among them whose own body holds a loop (what a heavy call's function
    needs: see ModuleView.heavy_call)."""
    names: set[str] = set()
    looping: set[str] = set()
    for node in statement_nodes(tree):
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
            if _holds_loop(node):
                looping.add(node.name)
    return frozenset(names), frozenset(looping)


def _holds_loop(node: ast.AST) -> bool:
    """Whether ``node`` or a node under it is one of ``_LOOPS``."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, _LOOPS):
            return True
        stack.extend(child_nodes(current))
    return False


_LOOPS = (ast.For, ast.While, ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def _heavy_enough(heavy: HeavyCall | None) -> bool:
    """Whether a call of a project function computes enough to report: it
    nests two loops over data its arguments size (its own, or its loop's
    calls of functions that loop), and does nothing but compute."""
    return heavy is not None and heavy.work.loops >= 2 and bool(heavy.work.sized_by)


def _argument(call: ast.Call, where: tuple[int | None, str | None]) -> ast.expr | None:
    """The ast twin of _argument_node."""
    position, keyword = where
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    args = call.args
    if position is None or position >= len(args) or any(isinstance(a, ast.Starred) for a in args[: position + 1]):
        return None
    return args[position]


def _light_on_ast(call: ast.Call, heavy: Heavy) -> bool:
    """The screen's twin of CpuBound._light: only what is certain on the ast."""
    if heavy.data is not None:
        value = _argument(call, heavy.data)
        return value is not None and literal(value)
    if heavy.constants:
        return not call.keywords and all(literal(arg) for arg in call.args)
    return False


class CpuBound(ThreadOffload, Rule):
    """CPU-heavy work inside a coroutine freezes the event loop while it runs.

    ## Example

    ```diff
     import bcrypt
    +import asyncio

     async def register(user, password):
    -    user.hash = bcrypt.hashpw(password, bcrypt.gensalt())
    +    user.hash = await asyncio.to_thread(bcrypt.hashpw, password, bcrypt.gensalt())
         await user.save()
    ```

    ## Why is this bad

    A coroutine that computes keeps the loop's only thread as surely as
    one that sleeps: a password hash (300 ms with bcrypt's default cost) in
    a login handler stalls every other request of the process for that
    long.

    Some heavy calls run in C and release the GIL while they work: password
    hashing and key derivation (`hashlib.pbkdf2_hmac`, `hashlib.scrypt`,
    `bcrypt.hashpw` / `checkpw` / `kdf`, argon2's `PasswordHasher.hash` /
    `verify` and `argon2.low_level`, PyNaCl's `nacl.pwhash`),
    `hashlib.file_digest`, and the compression functions of `zlib`, `gzip`,
    `bz2` and `lzma`. A worker thread runs them in parallel with the loop.

    Others hold the GIL: the YAML loaders of PyYAML (pure Python, and its C
    loader builds Python objects) and `difflib.get_close_matches`. A
    thread does not help there: the loop waits for the GIL instead. Only
    another process does (`concurrent.futures.ProcessPoolExecutor`).

    How the rule decides a call is heavy: by what the function is, never by
    timing. A password hash or key derivation is slow by design (a work
    factor chosen to cost tens or hundreds of milliseconds): always heavy,
    unless its work factor is an integer literal below a floor (fewer than
    1000 `pbkdf2_hmac` iterations, an `n` below 1024 for `scrypt`).
    Compression, decompression and parsing cost in proportion to their
    data: heavy unless that argument is a literal (`zlib.compress(b"abc")`,
    `yaml.safe_load("a: 1")` are small by construction). Hashing
    (`hashlib.sha256(data)`) and JSON are not reported: at about a gigabyte
    a second (sha256) or in C (json), they cost less than the hand-off to a
    thread (about 0.1 ms) for the short values coroutines hash and encode,
    and the code does not show the rare large one.

    Pure-Python work of the project's own: a call in a coroutine of a
    plain function of the project that only computes (the project model
    follows it through the functions it calls: builtins such as `len`,
    `sorted`, `sum`; `math`, `itertools`, `re` and the like; the methods
    of strings, lists, dicts and sets; and other such functions of the
    project) and nests loops over data its arguments size, two deep or
    more: `for a in points: for b in points`, a loop over `items` whose
    body calls a function that loops over `items` too, `range(len(items))`,
    a `while` on a value taken from an argument. The function called must
    loop itself: work found only in what it calls (`def f(x): return
    g(x)`) is reported where `g` is called. Such work grows with the
    square of its input (or faster), where the rest of a coroutine grows
    with it. Not heavy: a loop over each item's own parts (`for row in
    rows: for x in row` visits each value once), a loop over `self`'s
    data (the code does not say how long it is), a call whose sizing
    arguments are literals (`pairs([1, 2, 3])`), and a function that also
    logs, prints, opens a file, calls a library or a callable passed in,
    is a generator (calling one computes nothing yet) or calls itself
    (the model does not bound a recursion). No pure-Python library call
    is listed besides the ones above: `json` and `re` run in C and are
    quick for the values coroutines hand them, and none is certain to be
    slow the way a password hash is.

    The options `gil-releasing-calls` (fixed with a thread) and
    `cpu-bound-calls` (reported: they hold the GIL) add functions by
    qualified name (`"mylib.render_pdf"`); a call of one whose arguments are
    all literals is not reported. `"!yaml.*"` or `"!bcrypt.checkpw"` in
    either removes built-in entries.

    ## Fix

    A call that releases the GIL runs in a worker thread: `fn(*args,
    **kwargs)` becomes `await asyncio.to_thread(fn, *args, **kwargs)`,
    with `import asyncio` added where missing (an `import asyncio as aio` is
    reused). A library call that holds the GIL is reported without a fix:
    run it in a process pool (`await loop.run_in_executor(pool, fn, *args)`
    with a module-level `ProcessPoolExecutor`), whose arguments and result
    must pickle.

    A project function that computes runs in a process pool the module
    owns: `fn(a, b, k=v)` becomes `await
    asyncio.get_running_loop().run_in_executor(_process_pool(),
    functools.partial(fn, k=v), a, b)`, and the module gets, once, a
    function `_process_pool()` that makes a `ProcessPoolExecutor` on first
    use and registers its `shutdown` with `atexit`. Only where a worker
    process runs the function as this one would, including under the
    "spawn" start method (the default on macOS and Windows), where each
    worker imports the module afresh to find it: an undecorated plain
    function defined at the top of the same module (no method, closure or
    lambda, none under `if __name__ == "__main__":`), called with names
    and constants, that changes none of its arguments and no module-level
    name and reads no module-level name of the project (the worker has its
    own copies), in a module that runs nothing but definitions when
    imported (imports, `def`, `class`, assignments, `getLogger` and the
    like; a script's work under `if __name__ == "__main__":`). Elsewhere
    the finding says which of these stands in the way.

    ## Fix safety

    Unsafe. Other tasks now run while the call computes, and may change
    what its arguments refer to; cancelling the coroutine no longer stops
    the computation, which finishes in its thread; a `CancelledError` can
    now arrive at this point, which a bare `except:` around it would
    swallow. In a process pool, the arguments and the result are pickled
    (an unpicklable one now raises), and the function runs in another
    process: what it prints goes to the same terminal, but logging set up
    at run time is not the worker's.

    ## Limits

    Reported without a fix, as AM102 (blocking-call) does: a call in a
    comprehension, a generator expression, a class body or a lambda that
    `sorted`, `min`, `max`, `map`, `filter` or `.sort()` calls at once; a
    `with` item; a call inside a plain `with` that may hold a thread lock,
    or in a coroutine that calls `.acquire()` without `await`; in
    `f"{...=}"`; in a module that imports trio or anyio, or is part of
    one (its path lies in a `trio` or `anyio` package); where `asyncio`
    names something else. Not reported: a call under `await`, in a nested
    plain `def` or another lambda (it may run in a worker already), a name
    that is a parameter or a local. Pure-Python work of the project is
    judged by the shape of its loops, never by the size of the data: two
    nested loops over a list the caller knows to be short are reported; a
    method of an object other than `self` or `cls`, a function passed in,
    and a function that works through a library (numpy, say) are not
    looked at.
    """

    CODE = "AM103"
    SLUG = "cpu-bound"
    SAFETY = Safety.UNSAFE
    DESCRIPTION = "CPU-heavy work (password hashing, compression, parsing, nested pure-Python loops) in async def blocks the event loop"
    OPTIONS = {"gil-releasing-calls": (), "cpu-bound-calls": ()}

    @classmethod
    def prefilter(cls, data: bytes) -> bool:
        # The options may name any function: only a coroutine is certain to be needed.
        return has_async_def(data)

    @classmethod
    def screen(cls, facts: Facts, settings: Settings) -> bool:
        found = table(settings.options)
        functions, last = found.functions, found.last_parts
        argon2 = any(origin.split(".")[0] == "argon2" for origins in facts.imports.values() for origin in origins)
        for call, ctx in facts.calls:
            if not in_coroutine(ctx):
                continue
            if _computes_on_ast(facts, call, ctx):
                return True
            if argon2 and isinstance(call.func, ast.Attribute) and call.func.attr in ("hash", "verify"):
                return True
            if not may_name(call.func, last):
                continue
            for name in called_names(facts, call.func):
                heavy = functions.get(name)
                if heavy is not None and not _light_on_ast(call, heavy):
                    return True
        return False

    @classmethod
    def check_option(cls, key: str, value: object) -> str | None:
        return entries_problem(value)  # type: ignore[arg-type]

    def __init__(self, context: cst.codemod.CodemodContext) -> None:
        super().__init__(context)
        self._table = table({key: self.option(key) for key in _OPTIONS})
        self._module: cst.Module | None = None
        self._insert_pool = False
        self._reuse_pool = False

    def followed(self, name: str) -> bool:
        return name in METHODS

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        scope = self.scope(original_node)
        heavy = self._heavy(original_node, scope)
        if heavy is None:
            return self._project_call(original_node, updated_node, scope)
        site = self.site(original_node, scope)
        if site is None:
            return updated_node
        spelled = short(original_node.func)
        message = f"`{spelled}()` {heavy.what} and stalls the event loop meanwhile"
        if heavy.releases_gil:
            return self.offload(
                original_node,
                updated_node,
                scope,
                site,
                message + "; it releases the GIL",
                None,
                advice=", so a thread runs it in parallel: `await asyncio.to_thread(...)`",
            )
        message += (
            "; a thread would not help, as it holds the GIL the loop needs: run it in a"
            " `concurrent.futures.ProcessPoolExecutor` (`await loop.run_in_executor(pool, fn, *args)`)"
        )
        self.report(original_node, message, fixable=False)
        return updated_node

    def _project_call(self, original: cst.Call, updated: cst.Call, scope: Scope) -> cst.BaseExpression:
        """Report a call of a project function that only computes, in loops
        its arguments size (see :meth:`ModuleView.heavy_call`)."""
        heavy = _project_heavy(self.view, scope, original)
        if heavy is None:
            return updated
        site = self.site(original, scope)
        if site is None:
            return updated
        loops = "nested loops" if heavy.work.loops == 2 else "loops nested three or more deep"
        sized = ", ".join(f"`{name}`" for name in sorted(heavy.work.sized_by))
        message = (
            f"`{short(original.func)}()` runs pure-Python {loops} over {sized} (and no I/O) and stalls the"
            " event loop meanwhile; a thread would not help, as it holds the GIL the loop needs: run it in a"
            " `concurrent.futures.ProcessPoolExecutor`"
        )
        asyncio_alias = scope.module_alias("asyncio")
        keywords = any(arg.keyword is not None for arg in original.args)
        functools_alias = scope.module_alias("functools") if keywords else ("functools", False)
        backend = other_backend(scope, self.context.filename, self.view, self.settings.async_backend)
        problem = (
            runs_elsewhere(
                backend, "a worker process of its own" + (" (`await anyio.to_process.run_sync(...)`)" if backend == "anyio" else "")
            )
            if backend is not None
            else self.site_problem(original, scope, site) or self._pool_problem(original, scope, heavy)
        )
        if problem is None and (asyncio_alias is None or functools_alias is None):
            problem = "`asyncio` or `functools` names something else here"
        if problem is None and isinstance(scope.function().node, cst.FunctionDef):
            # The await the fix adds, as every offload's (see ThreadOffload).
            problem = self.suspension_problem(original, scope.function().node)
        if problem is not None:
            self.report(original, message + f" (`await loop.run_in_executor(pool, fn, *args)`; not fixed: {problem})", fixable=False)
            return updated
        assert asyncio_alias is not None and functools_alias is not None
        imports = [name for name, alias in (("asyncio", asyncio_alias), ("functools", functools_alias)) if alias[1]]
        message += ": `await asyncio.get_running_loop().run_in_executor(pool, fn, *args)` with a module-level pool"
        if not self.report(original, message, needs_import=", ".join(imports) or None):
            return updated
        for name in imports:
            toolkit.AddImportsVisitor.add_needed_import(self.context, name)
        self._insert_pool = not self._reuse_pool
        return _in_pool(updated, asyncio_alias[0], functools_alias[0], primary=original in self._primaries)

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._reuse_pool = any(is_pool_helper(node, statement) for statement in node.body)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self._insert_pool:
            return updated_node
        return toolkit.insert_after_imports(updated_node, POOL_HELPER)

    def _pool_problem(self, call: cst.Call, scope: Scope, heavy: HeavyCall) -> str | None:
        """Why ``call`` cannot run in a worker process as the fix writes
        it, or None where it can."""
        view = self.view
        assert view is not None and self._module is not None
        func = call.func
        if not (
            heavy.kind == "function" and heavy.module == view.module and "." not in heavy.qualname
            and isinstance(func, cst.Name) and toolkit.binding_scope(scope, func.value) is scope.module
            and _plain_module_def(self._module, heavy.qualname)
        ):
            return (
                "a worker process finds the function by its module and name: only an undecorated"
                " function defined at the top of this module is fixed"
            )
        if any(arg.star or not (isinstance(arg.value, cst.Name) or literal_node(arg.value)) for arg in call.args):
            return "only names and constants are passed to a worker process here (each is pickled)"
        effects = view.project.effects(heavy.module, heavy.qualname)
        if effects.unknown:
            return "the model cannot see all that it reads and writes"
        if effects.writes:
            callee = view.project.function(heavy.module, heavy.qualname)
            assert callee is not None
            changed = ", ".join(f"`{_spelled(path, callee.params)}`" for path in sorted(effects.writes))
            return f"it changes {changed}; in a worker process it would change a copy"
        shared = sorted(path for path in effects.reads if _project_global(view, path))
        if shared:
            return (
                f"it reads the module-level `{_spelled(shared[0], [])}`, which a worker process sees as"
                " the import made it, not as this process has it now"
            )
        runs = _runs_on_import(self._module)
        if runs is not None:
            return (
                f"the module runs `{runs}` when imported, which every worker process would run again"
                ' (it imports the module to find the function); keep it under `if __name__ == "__main__":`'
            )
        if scope.module.lookup(POOL) is not toolkit.UNBOUND and not self._reuse_pool:
            return f"`{POOL}` names something else in this module"
        if scope.module.lookup(EXECUTOR) is not toolkit.UNBOUND and not self._reuse_pool:
            return f"`{EXECUTOR}` names something else in this module"
        return None

    def _heavy(self, call: cst.Call, scope: Scope) -> Heavy | None:
        """What is heavy in ``call``, or None where it is not (or is light)."""
        func = call.func
        name = resolve(scope, func)
        heavy = self._table.functions.get(name) if name is not None else None
        if heavy is None and isinstance(func, cst.Attribute):
            kind = self.kind_of(func.value)
            heavy = METHODS[kind].get(func.attr.value) if kind is not None else None
        if heavy is None or _light(call, heavy):
            return None
        return heavy


def _project_heavy(view: ModuleView | None, scope: Scope, call: cst.Call) -> HeavyCall | None:
    """The project function ``call`` runs, where it only computes, nests
    loops over data its arguments size, and one of those arguments is no
    literal (a constant is small: ``layout(3)`` is not a finding)."""
    if view is None or not isinstance(call.func, (cst.Name, cst.Attribute)):
        return None
    root = call.func
    while isinstance(root, cst.Attribute):
        root = root.value
    if root is not call.func and not (
        isinstance(root, cst.Name) and (root.value in ("self", "cls") or resolve(scope, call.func) is not None)
    ):
        # A method of some other object: its class is seldom certain (the
        # screen, which reads one file, leaves these alone too).
        return None
    func, args, kwargs, star_kwargs, _ = dependence.described(call)
    heavy = view.heavy_call(cst_scope.function_qualname(scope), func, args, kwargs, star_kwargs)
    if not _heavy_enough(heavy):
        return None
    assert heavy is not None
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    sizing = [positional[i] for i in heavy.positions if i < len(positional)] + [
        arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value in heavy.keywords
    ]
    return heavy if any(not literal_node(value) for value in sizing) else None


def _plain_module_def(module: cst.Module, name: str) -> bool:
    """Whether ``name`` is an undecorated plain ``def`` of the module's own
    body (not under ``if __name__ == "__main__":``, where a worker process,
    which imports the module under another name, would not find it), and
    bound nowhere else there."""
    found = [
        statement for statement in module.body
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name
    ]
    return len(found) == 1 and not found[0].decorators and found[0].asynchronous is None


# Calls a module may make at import that do nothing a worker process
# importing it again would notice.
_QUIET_AT_IMPORT = frozenset(
    {
        "getLogger", "TypeVar", "NewType", "namedtuple", "compile", "ContextVar", "frozenset", "set",
        "dict", "list", "tuple", "object", "range", "sorted", "Path", "field", "ParamSpec",
    }
)


def _runs_on_import(module: cst.Module) -> str | None:
    """The first code of ``module`` that runs when it is imported beyond
    making its names (a call other than those of _QUIET_AT_IMPORT, a loop,
    a ``with``); None where there is none. Under ``if __name__ ==
    "__main__":`` nothing runs in a worker process, which imports the
    module under another name."""

    def check(body: Iterable[cst.BaseStatement]) -> str | None:
        for statement in body:
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                continue
            if isinstance(statement, cst.If):
                if is_main_guard(statement.test) or module.code_for_node(statement.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
                    continue
                found = _calls_text(module, statement.test) or check(statement.body.body)  # type: ignore[arg-type]
                orelse = statement.orelse
                while found is None and orelse is not None:
                    if isinstance(orelse, cst.If):
                        found = _calls_text(module, orelse.test) or check(orelse.body.body)  # type: ignore[arg-type]
                        orelse = orelse.orelse
                    else:
                        found = check(orelse.body.body)  # type: ignore[arg-type]
                        orelse = None
                if found is not None:
                    return found
                continue
            if isinstance(statement, cst.Try):
                parts = [statement.body, *(h.body for h in statement.handlers)]
                parts += [b.body for b in (statement.orelse, statement.finalbody) if b is not None]
                for part in parts:
                    found = check(part.body)  # type: ignore[arg-type]
                    if found is not None:
                        return found
                continue
            if not isinstance(statement, cst.SimpleStatementLine):
                return module.code_for_node(statement).strip().split("\n")[0]
            for small in statement.body:
                if isinstance(small, (cst.Import, cst.ImportFrom, cst.Pass)):
                    continue
                if isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
                    continue
                if isinstance(small, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
                    found = _calls_text(module, small)
                    if found is not None:
                        return found
                    continue
                return module.code_for_node(small).strip().split("\n")[0]
        return None

    return check(module.body)


def _calls_text(module: cst.Module, node: cst.CSTNode) -> str | None:
    """The first call under ``node`` that is not one of _QUIET_AT_IMPORT,
    as written (a lambda's body runs later: not looked into)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Lambda):
            continue
        if isinstance(current, cst.Call):
            func = current.func
            last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
            if last not in _QUIET_AT_IMPORT:
                return module.code_for_node(current).split("\n")[0]
        stack.extend(toolkit.children(current))
    return None


def _project_global(view: ModuleView, path: str) -> bool:
    """Whether ``path`` (a summary's ``g:module.NAME...``) is a module-level
    name of a module of the project (which this process may have changed)."""
    if not path.startswith("g:"):
        return False
    parts = path[2:].replace("[]", "").split(".")
    modules = view.project.index.modules
    return any(".".join(parts[:i]) in modules or ".".join(parts[:i]) == view.module for i in range(1, len(parts)))


def _spelled(path: str, params: list[str]) -> str:
    """A summary's path as the function's code spells it (``g:app.CACHE``
    -> ``CACHE``, ``$0[]`` -> ``items[]``)."""
    if path.startswith("g:"):
        return path[2:].rsplit(".", 1)[-1]
    head, tail = split_root(path)
    if head.startswith("$k:"):
        return head[3:] + tail
    if head[1:].isdigit() and int(head[1:]) < len(params):
        return params[int(head[1:])] + tail
    return path


def _in_pool(call: cst.Call, asyncio_name: str, functools_name: str, *, primary: bool) -> cst.Await:
    """``await asyncio.get_running_loop().run_in_executor(_process_pool(),
    fn, *args)`` for ``fn(*args)``; keyword arguments go through
    ``functools.partial`` (``run_in_executor`` passes positional ones only)."""
    positional = [arg.with_changes(comma=cst.MaybeSentinel.DEFAULT) for arg in call.args if arg.keyword is None]
    keywords = [arg.with_changes(comma=cst.MaybeSentinel.DEFAULT) for arg in call.args if arg.keyword is not None]
    fn: cst.BaseExpression = call.func
    if keywords:
        fn = cst.Call(
            func=cst.Attribute(value=cst.Name(functools_name), attr=cst.Name("partial")),
            args=[cst.Arg(value=call.func), *keywords],
        )
    loop = cst.Call(func=cst.Attribute(value=cst.Name(asyncio_name), attr=cst.Name("get_running_loop")))
    executor = cst.Call(
        func=cst.Attribute(value=loop, attr=cst.Name("run_in_executor")),
        args=[cst.Arg(value=cst.Call(func=cst.Name(POOL))), cst.Arg(value=fn), *positional],
    )
    lpar, rpar = list(call.lpar), list(call.rpar)
    if primary and not lpar:
        lpar, rpar = [cst.LeftParen()], [cst.RightParen()]
    return cst.Await(expression=executor, lpar=lpar, rpar=rpar)


def _light(call: cst.Call, heavy: Heavy) -> bool:
    """Whether the code shows this call of a heavy function to be cheap."""
    if heavy.work is not None:
        position, keyword, floor = heavy.work
        value = _argument_node(call, position, keyword)
        if isinstance(value, cst.Integer):
            number = value.evaluated_value
            if isinstance(number, int) and number < floor:
                return True
    if heavy.data is not None:
        value = _argument_node(call, *heavy.data)
        return value is not None and literal_node(value)
    if heavy.constants:
        return all(not arg.star and literal_node(arg.value) for arg in call.args)
    return False


def _argument_node(call: cst.Call, position: int | None, keyword: str | None) -> cst.BaseExpression | None:
    """The argument at ``position`` or named ``keyword``; None where a
    ``*args`` before it hides which it is."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    positional = [arg for arg in call.args if arg.keyword is None]
    if position is None or position >= len(positional) or any(arg.star for arg in positional[: position + 1]):
        return None
    return positional[position].value
