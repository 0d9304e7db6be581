"""AM103 cpu-bound: CPU-heavy work inside ``async def``."""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping

from .analysis.offload import (
    ThreadOffload,
    called_names,
    entries_problem,
    in_coroutine,
    literal,
    last_parts,
    literal_node,
    may_name,
    removes,
    resolve,
    short,
)
from .analysis.offload import entries as option_entries
from .findings import Safety
from .lazy import lazy_module
from .rule import Rule
from .screen.facts import Facts, has_async_def

if TYPE_CHECKING:
    import libcst as cst

    from .cst.scope import Scope
    from .settings import Settings
else:
    cst = lazy_module("libcst")


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

    The options `gil-releasing-calls` (fixed with a thread) and
    `cpu-bound-calls` (reported: they hold the GIL) add functions by
    qualified name (`"mylib.render_pdf"`); a call of one whose arguments are
    all literals is not reported. `"!yaml.*"` or `"!bcrypt.checkpw"` in
    either removes built-in entries.

    ## Fix

    A call that releases the GIL runs in a worker thread: `fn(*args,
    **kwargs)` becomes `await asyncio.to_thread(fn, *args, **kwargs)`,
    with `import asyncio` added where missing (an `import asyncio as aio` is
    reused). A call that holds the GIL is reported without a fix: run it in
    a process pool (`await loop.run_in_executor(pool, fn, *args)` with a
    module-level `ProcessPoolExecutor`), whose arguments and result must
    pickle.

    ## Fix safety

    Unsafe. Other tasks now run while the call computes, and may change
    what its arguments refer to; cancelling the coroutine no longer stops
    the computation, which finishes in its thread; a `CancelledError` can
    now arrive at this point, which a bare `except:` around it would
    swallow.

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
    that is a parameter or a local. A project function whose body loops
    (pure-Python CPU work of the project's own) is not looked at: that
    needs the project model.
    """

    CODE = "AM103"
    SLUG = "cpu-bound"
    SAFETY = Safety.UNSAFE
    DESCRIPTION = "CPU-heavy work (password hashing, compression, parsing) in async def blocks the event loop"
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

    def followed(self, name: str) -> bool:
        return name in METHODS

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        scope = self.scope(original_node)
        heavy = self._heavy(original_node, scope)
        if heavy is None:
            return updated_node
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
