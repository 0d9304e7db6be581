"""AM401 thread-local: ``threading.local()`` holding per-request state in async code."""

from __future__ import annotations

import builtins
import functools
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING

from .findings import Safety
from .lazy import lazy_module
from .rule import Rule
from .screen.facts import Facts, has_async_def

if TYPE_CHECKING:
    import libcst as cst

    from .cst import toolkit
    from .cst.scope import Scope
    from .model.project import ModuleView
    from .settings import Settings
else:
    cst = lazy_module("libcst")
    toolkit = lazy_module(".cst.toolkit", __package__)


@functools.lru_cache(maxsize=None)
def _loose_parents() -> tuple[type[cst.CSTNode], ...]:
    """Where ``var in ctx`` can stand without parentheses."""
    return (
        cst.If, cst.While, cst.Return, cst.Assign, cst.AnnAssign, cst.Expr, cst.Assert,
        cst.BooleanOperation, cst.Arg, cst.Element,
    )

_BUILTINS = {"getattr": (2, 3), "setattr": (3, 3), "hasattr": (2, 2)}
# Decorators that hand the function to nobody who may run it elsewhere (and
# ``contextlib.contextmanager``, whose generator runs where the ``with`` is).
_PLAIN_DECORATORS = frozenset({"staticmethod", "classmethod"})


@dataclass
class _Plan:
    """How one ``NAME = threading.local()`` is rewritten, or why it is not."""

    name: str
    statement: cst.SimpleStatementLine
    call: cst.Call
    problem: str | None = None
    attributes: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    # original node -> (kind, attribute); kind: load, store, getattr,
    # setattr, hasattr.
    uses: dict[cst.CSTNode, tuple[str, str]] = field(default_factory=dict)


class ThreadLocal(Rule):
    """`threading.local()` is shared by every task of the event loop.

    ## Example

    ```diff
    -import threading
    +import contextvars

    -_request = threading.local()
    +_request_user = contextvars.ContextVar("_request_user")

     async def handle(user):
    -    _request.user = user
    +    _request_user.set(user)
         await db.fetch()
    -    return _request.user
    +    return _request_user.get()
    ```

    ## Why is this bad

    All tasks of a loop run on one thread, so a `threading.local`
    attribute set by one request is seen, and overwritten, by every other
    request running at the same time: the current user of one request leaks
    into another.

    ## Fix

    A module-level `NAME = threading.local()` whose every use in the
    module is `NAME.attr`, `NAME.attr = v`,
    `getattr(NAME, "attr"[, d])`, `setattr(NAME, "attr", v)` (as a
    statement) or `hasattr(NAME, "attr")` becomes one
    `contextvars.ContextVar` per attribute, declared where `NAME` was:
    a read becomes `NAME_attr.get()`, a store `NAME_attr.set(v)`, `getattr` with a
    default `NAME_attr.get(d)`, and `hasattr` becomes
    `NAME_attr in contextvars.copy_context()` (true exactly when the variable
    has a value). Plain threads keep their own values: each thread has its own
    context.

    ## Fix safety

    Unsafe. Data visibility changes, which is the point: a task
    (and everything it awaits) sees only what it or its creator set, and a
    value set in a task is not seen by the task that created it. Reading an
    attribute that was never set raised `AttributeError`; reading the
    variable raises `LookupError` (from `ContextVar.get()` with no
    default). Code that catches `AttributeError` around a use is therefore
    left alone, and so is code catching `LookupError` there, or
    `AttributeError` around a call (in the module) of the function holding
    the read. A function is also reached other than by name: one the module
    hands on (stores in a container, `HANDLERS = {"whoami": current_user}`,
    wraps in `functools.partial`, puts in a list of hooks, passes as an
    argument, registers with a decorator) may be called by whoever holds it.
    So where the module calls something it does not define inside such a
    `try` (`HANDLERS[command]()`, `await hook()`, a function of another
    module), every function it hands on counts as called there: nothing
    tells which object such a call ends in. Across files, the project model
    follows the callers of each function holding a read (by name, a method
    through `self` or a typed attribute) into every module of the project,
    at any depth up; a caller that calls it inside a `try` (or `with
    suppress(...)`) that may tell `AttributeError` from `LookupError`
    leaves the local alone. So does a call in another module that the
    model cannot name (`registry.COMMANDS[name]()`,
    `getattr(commands, "cmd_" + name)()`) inside such a `try`, where a
    function on the way up is handed on (registered by a decorator, put in
    a container) or that module imports the reading function's module as
    an object. There, an exception class of a library or of the project is
    taken for a class of its own, neither of the two. A caller the model
    cannot resolve (a method of an untyped parameter) is not seen. A
    per-thread cache (`if not hasattr(NAME, "conn"): NAME.conn
    = connect()`) becomes a per-context one: each task, and each call run
    through `asyncio.to_thread` or `copy_context().run`, starts from a copy
    of its creator's context, so a value it creates lazily is created again
    for every such task or call. On an interpreter whose new threads inherit
    the creator's context (`sys.flags.thread_inherit_context`, the default of
    free-threaded 3.14 builds), a new thread starts with the values its
    creator had set, where a `threading.local` started empty.

    ## Limits

    Reported without a fix: a `threading.local()` that is not a
    plain module-level assignment (an instance attribute such as
    `self._local = threading.local()`), a subclass of `threading.local`,
    `del NAME.attr`, `NAME.attr += v` (it may update the value in place,
    where `set(get() + v)` would build a new one), a non-literal attribute
    name, any other use of `NAME` (passed to a call, returned, stored,
    rebound, named in a string such as `__all__`, read through the module
    object as `sys.modules[__name__].NAME`), a read in a property or
    `__getattr__` (`getattr(obj, "user", None)` takes its
    `AttributeError` for a missing attribute), a use in `f"{NAME.attr=}"`
    (which prints the expression's text), a use with a comment in what its
    rewrite drops (among the first arguments of `getattr`), a use inside `try`
    whose handler catches `AttributeError` or `LookupError` (or `with
    contextlib.suppress(...)` of one or a base of one), a read in a function
    the module calls (`f()`, `obj.f()`, at any depth) inside a `try` that may handle
    the two differently (a caller's `except AttributeError`), a use in a plain
    `def` the module passes by name as an argument (`run_in_executor(POOL,
    query)`, `initializer=init`: per worker thread state, which a copied
    context would not hold; `threading.Thread(target=f)` excepted) or hands
    on otherwise (bound to another name, put in a container, returned,
    decorated by anything but `staticmethod`, `classmethod` or
    `contextlib.contextmanager`, a `__call__`), in a
    lambda passed as one, or in a plain `def` either of them calls by name
    (at any depth: `query` passed, calling `connection()`), a `contextvars` (or its alias) imported only below
    the declaration or meaning something else (a parameter) where a
    `hasattr` is rewritten, and a `NAME` that another file of the same run,
    or of the project around it, imports (`from mod import NAME`, `mod.NAME`
    after importing `mod`, `pkg.mod.NAME`, a string such as
    `mock.patch("mod.NAME")`, `importlib.import_module("mod").NAME`, or
    `"NAME"` in a file importing `mod`; a file that cannot be parsed and
    mentions both counts too; modules are matched by their last name). The
    project is the nearest directory above the run holding `.git`,
    `pyproject.toml`, `setup.py`, `setup.cfg` or `tox.ini`; a file outside
    it is not seen, and a `NAME` it imports would be left pointing at
    nothing: the fix is unsafe for that reason too; review the diff. Only
    modules that define an `async def` are checked.
    """

    CODE = "AM401"
    SLUG = "thread-local"
    SAFETY = Safety.UNSAFE
    DESCRIPTION = "threading.local() is shared by all tasks of the event loop"
    # Only modules that import threading are looked at (see screen); "local"
    # alone is in every file that says "locale" or "localhost".
    PREFILTER = (b"threading",)
    REWRITES = ("threading.local",)

    @classmethod
    def prefilter(cls, data: bytes) -> bool:
        # threading.local (any import form), in a module with a coroutine.
        return b"threading" in data and b"local" in data and has_async_def(data)

    @classmethod
    def screen(cls, facts: Facts, settings: Settings) -> bool:
        if not facts.has_async:
            return False
        if any(
            not call.args and not call.keywords and "threading.local" in facts.qualnames(call.func)
            for call, _ in facts.calls
        ):
            return True
        return any(
            "threading.local" in facts.qualnames(base)
            for classes in facts.classes.values()
            for node in classes
            for base in node.bases
        )

    def __init__(self, context: cst.codemod.CodemodContext) -> None:
        super().__init__(context)
        self._plans: list[_Plan] = []
        self._statements: dict[cst.SimpleStatementLine, _Plan] = {}
        self._uses: dict[cst.CSTNode, tuple[_Plan, str, str]] = {}
        self._contextvars = "contextvars"
        self._parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self._passed: set[str] | None = None
        self._called: set[str] | None = None
        # function qualname -> why a handler of another module sees its reads
        self._elsewhere: dict[str, str | None] = {}

    # -- analysis (over the whole original module, before any rewrite) -------

    def visit_Module(self, node: cst.Module) -> None:
        parents = self._parents = toolkit.ParentMap.of(node)
        if not any(
            isinstance(n, cst.FunctionDef) and n.asynchronous for n in parents
        ):
            return
        # Each name's nodes, in the order of the module: the uses of a
        # declaration are looked up here rather than found by a walk of the
        # whole module per declaration.
        names: dict[str, list[cst.Name]] = {}
        for n in parents:
            if isinstance(n, cst.Name):
                names.setdefault(n.value, []).append(n)
        taken = set(names)
        strings: set[str] = set()
        for n in parents:
            if isinstance(n, cst.SimpleString):
                try:
                    strings.add(n.evaluated_value)
                except Exception:  # noqa: BLE001 - odd literals are just not names
                    pass
        global_names = {
            item.name.value for n in parents if isinstance(n, cst.Global) for item in n.names
        }

        for n in parents:
            if isinstance(n, cst.ClassDef):
                for base in n.bases:
                    if self.scope(n).qualified_name(base.value) == "threading.local":
                        self.report(
                            n,
                            "a subclass of `threading.local` is shared by all tasks of the"
                            " event loop; use `contextvars.ContextVar` (not fixed automatically)",
                            fixable=False,
                        )
            if not (isinstance(n, cst.Call) and not n.args):
                continue
            if self.scope(n).qualified_name(n.func) != "threading.local":
                continue
            plan = self._declaration(n, parents)
            if plan is None:
                self.report(
                    n,
                    "`threading.local()` is shared by all tasks of the event loop;"
                    " use `contextvars.ContextVar` (not fixed: not a module-level name)",
                    fixable=False,
                )
                continue
            importers = self.settings.importers_of(self.context.filename or "", plan.name)
            if importers:
                more = f" and {len(importers) - 1} more" if len(importers) > 1 else ""
                plan.problem = f"`{plan.name}` is imported by {importers[0]}{more}"
            elif plan.name in strings:
                plan.problem = f"`{plan.name}` is named in a string (e.g. `__all__`)"
            elif plan.name in global_names:
                plan.problem = f"`{plan.name}` is rebound through `global`"
            else:
                self._collect_uses(plan, parents, names.get(plan.name, []))
            if plan.problem is None and not plan.attributes:
                plan.problem = "no attribute of it is used"
            self._plans.append(plan)

        for plan in self._plans:
            if plan.problem is None:
                for attr in plan.attributes:
                    base = f"{plan.name}_{attr}"
                    while base in taken:
                        base += "_"
                    taken.add(base)
                    plan.variables[attr] = base
            self._finish(plan)

    def _declaration(
        self, call: cst.Call, parents: dict[cst.CSTNode, cst.CSTNode]
    ) -> _Plan | None:
        assign = parents.get(call)
        if not (
            isinstance(assign, cst.Assign)
            and assign.value is call
            and len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
        ):
            return None
        line = parents.get(assign)
        if not (
            isinstance(line, cst.SimpleStatementLine)
            and len(line.body) == 1
            and isinstance(parents.get(line), cst.Module)
        ):
            return None
        name = assign.targets[0].target.value
        scope = self.scope(assign)
        if len(scope.bindings.get(name, ())) != 1:
            return _Plan(name, line, call, problem=f"`{name}` is bound more than once")
        return _Plan(name, line, call)

    def _collect_uses(
        self, plan: _Plan, parents: dict[cst.CSTNode, cst.CSTNode], named: list[cst.Name]
    ) -> None:
        """``named``: the module's ``Name`` nodes of ``plan.name``, in order."""
        module_scope = self.scope(plan.statement)
        declaration = parents.get(plan.call)
        for n in named:
            parent = parents[n]
            if isinstance(parent, cst.AssignTarget) and parents.get(parent) is declaration:
                continue  # the declaration itself
            if isinstance(parent, cst.Attribute) and parent.attr is n:
                if self._may_be_this_module(parent.value):
                    plan.problem = f"`{plan.name}` may be read through the module object"
                    return
                continue  # ``other.NAME``: a different object's attribute
            if isinstance(parent, (cst.ImportAlias, cst.FunctionDef, cst.ClassDef, cst.Param)):
                # Binds a name in its own scope: a second module-level binding
                # was already refused by the binding count, a local one is
                # another object.
                continue
            if toolkit.binding_scope(self.scope(n), plan.name) is not module_scope:
                continue  # a local of the same name
            use = self._classify(n, parent, parents)
            if isinstance(use, str):
                plan.problem = use
                return
            node, kind, attr = use
            if _loses_comment(node, kind):
                plan.problem = "a comment inside a use would be lost with the rewrite"
                return
            if self._in_passed_function(n, parents):
                plan.problem = (
                    "a use is in a plain function passed as an argument or otherwise"
                    " handed on (or one it calls), which may run in a worker thread"
                )
                return
            if toolkit.in_self_documenting_fstring(node, parents):
                plan.problem = (
                    "a use is in an f-string with `=`, which prints the"
                    " expression's text"
                )
                return
            if self._catches_attribute_error(node, parents):
                plan.problem = (
                    "a use is inside `try` or `with` that may catch `AttributeError`"
                    " or `LookupError`"
                )
                return
            if self._raises(node, kind) and self._in_attribute_hook(n, parents):
                plan.problem = (
                    "a read is in a property or `__getattr__`, where `AttributeError`"
                    " tells `getattr(obj, name, default)` the attribute is missing"
                )
                return
            if self._raises(node, kind) and self._enclosing_function(n, parents) in (
                self._called_under_handlers(parents)
            ):
                plan.problem = (
                    "a function reading it is called (or, handed on, may be called) inside"
                    " `try` or `with` that may tell `AttributeError` from `LookupError`"
                )
                return
            elsewhere = self._caught_elsewhere(n, parents) if self._raises(node, kind) else None
            if elsewhere is not None:
                plan.problem = elsewhere
                return
            plan.uses[node] = (kind, attr)
            if attr not in plan.attributes:
                plan.attributes.append(attr)

    def _may_be_this_module(self, value: cst.BaseExpression) -> bool:
        """Whether ``value`` in ``value.NAME`` may be this very module:
        ``sys.modules[__name__]``, ``sys.modules.get(...)``,
        ``importlib.import_module(...)``, ``__import__(...)``, or a name
        imported from a module of this file's name (``import app.state as
        me`` in ``app/state.py``)."""
        scope = self.scope(value)
        if isinstance(value, cst.Subscript):
            return scope.qualified_name(value.value) == "sys.modules"
        if isinstance(value, cst.Call):
            func = scope.qualified_name(value.func)
            return func in ("sys.modules.get", "importlib.import_module") or (
                isinstance(value.func, cst.Name)
                and value.func.value == "__import__"
                and scope.lookup("__import__") is toolkit.UNBOUND
            )
        if isinstance(value, (cst.Name, cst.Attribute)):
            path = PurePath(self.context.filename or "")
            own = path.parent.name if path.stem == "__init__" else path.stem
            name = scope.qualified_name(value)
            return bool(own) and name is not None and name.rsplit(".", 1)[-1] == own
        return False

    def _classify(
        self,
        name: cst.Name,
        parent: cst.CSTNode,
        parents: dict[cst.CSTNode, cst.CSTNode],
    ) -> tuple[cst.CSTNode, str, str] | str:
        """The node to rewrite, its kind and attribute; or why it cannot be."""
        if isinstance(parent, cst.Attribute) and parent.value is name:
            attr = parent.attr.value
            if attr.startswith("__"):
                return f"`{name.value}.{attr}` uses the object itself"
            holder = parents.get(parent)
            if isinstance(holder, cst.AssignTarget):
                assign = parents.get(holder)
                if isinstance(assign, cst.Assign) and len(assign.targets) == 1:
                    return assign, "store", attr
                return "a chained assignment stores to it"
            if isinstance(holder, cst.AugAssign) and holder.target is parent:
                # ``NAME.a += v`` may update the value in place (``list +=
                # tuple`` extends, ``list + tuple`` raises; other references
                # see the change); ``set(get() + v)`` would build a new one.
                return f"`{name.value}.{attr}` is updated in place by an augmented assignment"
            if isinstance(holder, cst.MatchValue):
                # A case pattern may hold a dotted name but never a call.
                return f"`{name.value}.{attr}` is a value in a `case` pattern"
            if isinstance(holder, cst.Del) or self._in_store_context(parent, parents):
                return f"`{name.value}.{attr}` is deleted or bound in a compound target"
            return parent, "load", attr
        if isinstance(parent, cst.Arg) and parent.value is name:
            call = parents.get(parent)
            if (
                isinstance(call, cst.Call)
                and isinstance(call.func, cst.Name)
                and call.func.value in _BUILTINS
                and call.args[0] is parent
            ):
                low, high = _BUILTINS[call.func.value]
                scope = self.scope(call)
                attr_arg = call.args[1] if len(call.args) > 1 else None
                if (
                    low <= len(call.args) <= high
                    and not any(a.keyword is not None or a.star for a in call.args)
                    and toolkit.binding_scope(scope, call.func.value) is None
                    and not scope.module.star_import
                    and attr_arg is not None
                    and isinstance(attr_arg.value, cst.SimpleString)
                ):
                    attr = attr_arg.value.evaluated_value
                    if isinstance(attr, str) and attr.isidentifier() and not attr.startswith("__"):
                        if call.func.value == "setattr" and not isinstance(
                            parents.get(call), cst.Expr
                        ):
                            return "the value of `setattr()` is used"
                        return call, call.func.value, attr
                return f"`{call.func.value}()` on it is not the builtin with a literal name"
        return f"`{name.value}` escapes (passed, returned or stored)"

    def _passed_names(self, parents: dict[cst.CSTNode, cst.CSTNode]) -> set[str]:
        """Names passed as an argument anywhere in the module (``f`` or
        ``obj.f``): functions another thread may run (``run_in_executor``,
        ``submit``, ``initializer=``). ``threading.Thread(target=f)`` is not
        counted: such a thread runs ``f`` in a context of its own, as it had a
        ``threading.local`` of its own."""
        if self._passed is None:
            self._passed = set()
            for n in parents:
                if not isinstance(n, cst.Arg):
                    continue
                value = n.value
                name = value.value if isinstance(value, cst.Name) else (
                    value.attr.value if isinstance(value, cst.Attribute) else None
                )
                if name is None:
                    continue
                call = parents.get(n)
                if (
                    isinstance(call, cst.Call)
                    and n.keyword is not None
                    and n.keyword.value == "target"
                    and self.scope(call).qualified_name(call.func) == "threading.Thread"
                    and not any(a.keyword is not None and a.keyword.value == "context" for a in call.args)
                    and not any(a.star for a in call.args)
                ):
                    continue
                self._passed.add(name)
            # A plain function whose object goes anywhere but into a call of
            # it may be run by whoever receives it, as one passed is.
            self._passed |= self._handed_on(parents, threads=True)
            # And the plain functions those call, by name, at any depth: a
            # worker thread runs them too (``query`` passed, calling
            # ``connection`` that keeps a per-thread connection).
            for n in parents:
                if isinstance(n, cst.Call) and self._in_passed_lambda(n, parents):
                    callee = _callee(n)
                    if callee is not None:
                        self._passed.add(callee)
            _close(self._passed, self._call_graph(parents, plain=True))
        return self._passed

    def _handed_on(self, parents: dict[cst.CSTNode, cst.CSTNode], *, threads: bool) -> set[str]:
        """Names of the functions of the module whose object goes anywhere
        but into a call of it: passed as an argument (``functools.partial(f)``,
        ``submit(f)``), bound to another name, put in a container
        (``HANDLERS = {"whoami": f}``, a list of hooks), returned, handed to a
        decorator (``@atexit.register``, ``@registry.command("x")``); and a
        class's ``__call__``, which runs wherever its instance goes. Whoever
        holds the object may call it, unseen by name. ``staticmethod``,
        ``classmethod`` and ``contextlib.contextmanager`` hand it to nobody
        (a context manager's generator runs where the ``with`` is).

        With ``threads``, for the question which functions a worker thread
        may run: only plain ``def`` statements, and not those passed as an
        argument (:meth:`_passed_names` decides those, by the call)."""
        defs = [n for n in parents if isinstance(n, cst.FunctionDef) and not (threads and n.asynchronous)]
        names = {d.name.value for d in defs}
        handed: set[str] = set()
        for d in defs:
            if d.name.value == "__call__" or any(
                not (isinstance(dec.decorator, cst.Name) and dec.decorator.value in _PLAIN_DECORATORS)
                and self.scope(dec).qualified_name(dec.decorator) != "contextlib.contextmanager"
                for dec in d.decorators
            ):
                handed.add(d.name.value)
        definitions = (cst.FunctionDef, cst.ClassDef, cst.Param, cst.ImportAlias)
        for n in parents:
            if not isinstance(n, cst.Name) or n.value not in names:
                continue
            parent = parents.get(n)
            if isinstance(parent, definitions):
                continue
            if isinstance(parent, cst.Arg) and (threads or parent.keyword is n):
                continue  # decided by the call; or ``f(name=...)``, a keyword
            if isinstance(parent, cst.Call) and parent.func is n:
                continue
            if isinstance(parent, cst.Attribute) and parent.attr is n:
                holder = parents.get(parent)
                if isinstance(holder, cst.Call) and holder.func is parent:
                    continue
            elif isinstance(parent, cst.Attribute):
                continue  # ``f.attr``: the object is not handed on
            handed.add(n.value)
        return handed

    def _call_graph(
        self, parents: dict[cst.CSTNode, cst.CSTNode], plain: bool
    ) -> dict[str, set[str]]:
        """Function name -> the names it calls (``f()``, ``obj.f()``), of
        every ``def`` (with ``plain``, of every plain ``def``) of the module."""
        calls: dict[str, set[str]] = {}
        for n in parents:
            if isinstance(n, cst.Call):
                callee = _callee(n)
                caller = self._enclosing_function(n, parents, plain=plain)
                if callee is not None and caller is not None:
                    calls.setdefault(caller, set()).add(callee)
        return calls

    def _in_passed_function(self, node: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode]) -> bool:
        """Whether ``node`` is inside a plain ``def`` whose name the module
        passes as an argument, or inside a lambda that is itself an argument."""
        child, parent = node, parents.get(node)
        while parent is not None:
            if isinstance(parent, cst.FunctionDef) and child is parent.body:
                if not parent.asynchronous and parent.name.value in self._passed_names(parents):
                    return True
            if isinstance(parent, cst.Lambda) and isinstance(parents.get(parent), cst.Arg):
                return True
            child, parent = parent, parents.get(parent)
        return False

    @staticmethod
    def _raises(node: cst.CSTNode, kind: str) -> bool:
        """Whether the use raises when the attribute was never set: a read,
        or ``getattr`` without a default."""
        return kind == "load" or (
            kind == "getattr" and isinstance(node, cst.Call) and len(node.args) == 2
        )

    @staticmethod
    def _enclosing_function(
        node: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode], plain: bool = False
    ) -> str | None:
        """The name of the innermost ``def`` around ``node`` (None in a
        lambda or class body first, or, with ``plain``, an ``async def``)."""
        parent = parents.get(node)
        while parent is not None:
            if isinstance(parent, cst.FunctionDef):
                if plain and parent.asynchronous:
                    return None
                return parent.name.value
            if isinstance(parent, (cst.Lambda, cst.ClassDef)):
                return None
            parent = parents.get(parent)
        return None

    def _called_under_handlers(self, parents: dict[cst.CSTNode, cst.CSTNode]) -> set[str]:
        """Names of functions the module calls (``f()`` or ``obj.f()``)
        inside a ``try`` (or ``with contextlib.suppress(...)``) whose handling
        of ``AttributeError`` may differ from its handling of
        ``LookupError``: there an error a read raised in the callee, once
        ``AttributeError`` and now ``LookupError``, would take another way."""
        if self._called is None:
            self._called = set()
            defined = {n.name.value for n in parents if isinstance(n, (cst.FunctionDef, cst.ClassDef))}
            unseen_caller = False
            for n in parents:
                if not isinstance(n, cst.Call):
                    continue
                name = _callee(n)
                if name in self._called or (unseen_caller and name not in defined):
                    continue
                if not self._handled_apart(n, parents):
                    continue
                if name is not None:
                    self._called.add(name)
                if name not in defined:
                    unseen_caller = True
            # A call there of what the module does not define (``HANDLERS[
            # cmd]()``, ``await hook()``, a function of another module) may
            # reach any function the module hands on (puts in a container,
            # passes, registers with a decorator): each of those is a
            # possible callee of it. The sound rule, as nothing tells which
            # object such a call ends in.
            if unseen_caller:
                self._called |= self._handed_on(parents, threads=False)
            # And what those call, at any depth: the error travels up to the
            # handler through every caller.
            _close(self._called, self._call_graph(parents, plain=False))
        return self._called

    def _caught_elsewhere(self, node: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode]) -> str | None:
        """Why a read at ``node`` would raise into a handler of another
        module that tells ``AttributeError`` from ``LookupError``, as the
        project model shows it: a caller of the function holding it (at any
        depth up, through the callers the model resolves) calls it inside
        such a ``try``; or a call there that the model cannot name
        (``COMMANDS[name]()``, ``getattr(commands, name)()``) may reach it,
        because a function on the way is handed on (registered by a
        decorator, stored) or its module is imported there as an object."""
        view = self.view
        qualname = toolkit.function_qualname(self.scope(node))
        if view is None or qualname is None:
            return None
        if qualname not in self._elsewhere:
            self._elsewhere[qualname] = self._find_elsewhere(view, qualname, parents)
        return self._elsewhere[qualname]

    def _find_elsewhere(self, view: ModuleView, qualname: str, parents: dict[cst.CSTNode, cst.CSTNode]) -> str | None:
        from .model.callers import CallSite, module_aliases

        callers = view.callers
        chain = {(view.module, qualname)}
        for site in callers.up(view.module, qualname, lambda site: True):
            chain.add((site.module, site.caller.qualname))
            # The module's own callers are read from its text (above).
            if site.module != view.module and site.tells_apart(AttributeError, LookupError, module_aliases(view, site.module)):
                return (
                    f"{site.where(view.module)} calls a function reading it inside `try` or `with` that may"
                    " tell `AttributeError` from `LookupError`"
                )
        handed = self._handed_on(parents, threads=False)
        reachable = {
            (where, name) for where, name in chain
            if where == view.module and name.rsplit(".", 1)[-1] in handed
            or any(d not in _PLAIN_DECORATORS for d in getattr(view.project.function(where, name), "decorators", ()))
        }
        for module in callers.scan(
            "handles:AttributeError|LookupError", rb"\b(?:AttributeError|LookupError)\b", (b"AttributeError", b"LookupError")
        ):
            facts = view.project.facts(module)
            if module == view.module or facts is None:
                continue
            imported = {_imported_module(view, target) for target in facts.imports.values()}
            aliases = module_aliases(view, module)
            for function in facts.functions.values():
                for call in function.calls:
                    if not call.func.startswith("?") or not CallSite(module, function, call).tells_apart(
                        AttributeError, LookupError, aliases
                    ):
                        continue
                    for where, name in sorted(chain):
                        if (where, name) in reachable or where in imported:
                            return (
                                f"`{module}.{function.qualname}` (line {call.line}) calls what the model"
                                " cannot name inside `try` or `with` that may tell `AttributeError` from"
                                f" `LookupError`, which may reach `{where}.{name}` (handed on, or through"
                                " its module)"
                            )
        return None

    def _handled_apart(self, node: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode]) -> bool:
        """Whether the ``try`` blocks around ``node`` in its function may
        handle ``AttributeError`` and ``LookupError`` differently: not the
        same handler first, or a handler naming something not a builtin."""
        child, parent = node, parents.get(node)
        while parent is not None:
            groups: list[tuple[cst.CSTNode, list[cst.BaseExpression] | None]] = []
            if isinstance(parent, (cst.Try, cst.TryStar)) and parent.body is child:
                for handler in parent.handlers:
                    caught = handler.type
                    if caught is None:
                        groups.append((handler, None))
                        continue
                    items = caught.elements if isinstance(caught, cst.Tuple) else [caught]
                    groups.append((
                        handler,
                        [item.value if isinstance(item, cst.Element) else item for item in items],
                    ))
            if isinstance(parent, cst.With) and parent.body is child:
                for item in parent.items:
                    manager = item.item
                    if not isinstance(manager, cst.Call):
                        continue
                    if self.scope(parent).qualified_name(manager.func) == "contextlib.suppress":
                        if any(arg.star for arg in manager.args):
                            return True
                        groups.append((parent, [arg.value for arg in manager.args]))
                    else:
                        # ``pytest.raises(AttributeError)``: the builtin
                        # exceptions it names.
                        named = [
                            arg.value for arg in manager.args
                            if self._builtin_exception(parent, arg.value) is not None
                        ]
                        if named:
                            groups.append((parent, named))
            if groups:
                first = []
                for error in (AttributeError, LookupError):
                    index = None
                    for position, (where, values) in enumerate(groups):
                        if values is None:
                            index = position
                            break
                        kinds = [self._builtin_exception(where, value) for value in values]
                        if any(kind is None for kind in kinds):
                            return True  # not a builtin exception: may be either
                        if any(issubclass(error, kind) for kind in kinds):  # type: ignore[arg-type]
                            index = position
                            break
                    first.append(index)
                if first[0] != first[1]:
                    return True
                if first[0] is not None:
                    return False  # the same handler takes both
            if isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                return False
            child, parent = parent, parents.get(parent)
        return False

    def _builtin_exception(self, where: cst.CSTNode, value: cst.BaseExpression) -> type | None:
        if not isinstance(value, cst.Name) or self.scope(where).lookup(value.value) is not toolkit.UNBOUND:
            return None
        builtin = getattr(builtins, value.value, None)
        if isinstance(builtin, type) and issubclass(builtin, BaseException):
            return builtin
        return None

    @staticmethod
    def _in_attribute_hook(node: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode]) -> bool:
        """Whether the innermost ``def`` around ``node`` computes an
        attribute: a ``property`` (``cached_property``, any decorator named
        ``...property`` or ``getter``), ``__getattr__``, ``__getattribute__``
        or ``__get__``."""
        parent = parents.get(node)
        while parent is not None and not isinstance(parent, (cst.Lambda, cst.ClassDef)):
            if isinstance(parent, cst.FunctionDef):
                if parent.name.value in ("__getattr__", "__getattribute__", "__get__"):
                    return True
                for decorator in parent.decorators:
                    expr = decorator.decorator
                    if isinstance(expr, cst.Call):
                        expr = expr.func
                    last = expr.value if isinstance(expr, cst.Name) else (
                        expr.attr.value if isinstance(expr, cst.Attribute) else ""
                    )
                    if last.endswith("property") or last == "getter":
                        return True
                return False
            parent = parents.get(parent)
        return False

    @staticmethod
    def _in_passed_lambda(node: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode]) -> bool:
        """Whether ``node`` is inside a lambda that is itself an argument."""
        parent = parents.get(node)
        while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.ClassDef)):
            if isinstance(parent, cst.Lambda) and isinstance(parents.get(parent), cst.Arg):
                return True
            parent = parents.get(parent)
        return False

    @staticmethod
    def _in_store_context(node: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode]) -> bool:
        child, parent = node, parents.get(node)
        while isinstance(parent, (cst.Element, cst.StarredElement, cst.Tuple, cst.List)):
            child, parent = parent, parents.get(parent)
        if isinstance(parent, (cst.AssignTarget, cst.Del, cst.AnnAssign, cst.AugAssign)):
            return True
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.target is child:
            return True
        return isinstance(parent, cst.AsName)

    def _catches_attribute_error(
        self, node: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode]
    ) -> bool:
        """Whether a ``try`` around ``node`` (in the same function) may catch
        ``AttributeError``: only handlers that name builtin exceptions unrelated
        to it are known not to."""
        child, parent = node, parents.get(node)
        while parent is not None:
            if isinstance(parent, (cst.Try, cst.TryStar)) and parent.body is child:
                for handler in parent.handlers:
                    if handler.type is None:
                        return True
                    caught = handler.type
                    items = caught.elements if isinstance(caught, cst.Tuple) else [caught]
                    for item in items:
                        value = item.value if isinstance(item, cst.Element) else item
                        if not self._unrelated_builtin_exception(handler, value):
                            return True
            if isinstance(parent, cst.With) and parent.body is child:
                if any(self._suppresses_attribute_error(parent, item.item) for item in parent.items):
                    return True
            if isinstance(parent, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                return False
            child, parent = parent, parents.get(parent)
        return False

    def _suppresses_attribute_error(self, with_: cst.With, manager: cst.BaseExpression) -> bool:
        """Whether ``with manager:`` may swallow ``AttributeError``:
        ``contextlib.suppress`` of anything but unrelated builtin exceptions,
        or any call naming ``AttributeError`` or a base of it
        (``pytest.raises(Exception)``)."""
        if not isinstance(manager, cst.Call):
            return False
        if self.scope(with_).qualified_name(manager.func) == "contextlib.suppress":
            return any(
                arg.star or not self._unrelated_builtin_exception(with_, arg.value)
                for arg in manager.args
            )
        for arg in manager.args:
            value = arg.value
            if isinstance(value, cst.Name) and self.scope(with_).lookup(value.value) is toolkit.UNBOUND:
                builtin = getattr(builtins, value.value, None)
                if isinstance(builtin, type) and (
                    issubclass(AttributeError, builtin) or issubclass(LookupError, builtin)
                ):
                    return True
        return False

    def _unrelated_builtin_exception(
        self, handler: cst.CSTNode, value: cst.BaseExpression
    ) -> bool:
        if not isinstance(value, cst.Name) or self.scope(handler).lookup(value.value) is not toolkit.UNBOUND:
            return False
        builtin = getattr(builtins, value.value, None)
        # ``LookupError`` too: the variable raises it where the attribute
        # raised ``AttributeError``, and a handler of it would now catch that.
        return (
            isinstance(builtin, type)
            and issubclass(builtin, BaseException)
            and not issubclass(AttributeError, builtin)
            and not issubclass(LookupError, builtin)
        )

    def _finish(self, plan: _Plan) -> None:
        if plan.problem is not None:
            self.report(
                plan.call,
                "`threading.local()` is shared by all tasks of the event loop; use"
                f" `contextvars.ContextVar` (not fixed: {plan.problem})",
                fixable=False,
            )
            return
        module_scope = self.scope(plan.statement)
        # The declaration names the module at import time: only an import
        # above it may be reused.
        alias = module_scope.module_alias("contextvars", before=plan.statement)
        if alias is None:
            plan.problem = "`contextvars` is taken, or imported only below the declaration"
        elif not self._alias_holds(plan, alias, module_scope):
            plan.problem = f"`{alias[0]}` means something else where `hasattr` is rewritten"
        if plan.problem is not None:
            self._finish(plan)
            return
        names = ", ".join(plan.variables.values())
        if not self.report(
            plan.call,
            "`threading.local()` is shared by all tasks of the event loop;"
            f" use one `contextvars.ContextVar` per attribute ({names})",
            fixable=alias is not None,
            needs_import="contextvars" if alias is not None and alias[1] else None,
        ):
            return
        assert alias is not None
        self._contextvars, needs_import = alias
        if needs_import:
            toolkit.AddImportsVisitor.add_needed_import(self.context, "contextvars")
        self._statements[plan.statement] = plan
        # The declaration was the module's use of ``threading.local``; drop the
        # import if nothing else needs it.
        func = plan.call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            alias_name = func.value.value
            toolkit.RemoveImportsVisitor.remove_unused_import(
                self.context, "threading", asname=None if alias_name == "threading" else alias_name
            )
        elif isinstance(func, cst.Name):
            toolkit.RemoveImportsVisitor.remove_unused_import(
                self.context, "threading", "local", asname=None if func.value == "local" else func.value
            )
        for node, (kind, attr) in plan.uses.items():
            self._uses[node] = (plan, kind, attr)

    def _alias_holds(self, plan: _Plan, alias: tuple[str, bool], module_scope: Scope) -> bool:
        """Whether the module-level name of ``contextvars`` is what each
        rewritten ``hasattr`` would see (not a parameter or local of its name)."""
        name, _ = alias
        return all(
            toolkit.binding_scope(self.scope(node), name) in (None, module_scope)
            for node, (kind, _) in plan.uses.items()
            if kind == "hasattr"
        )

    # -- rewrite ------------------------------------------------------------

    def _var(self, plan: _Plan, attr: str) -> cst.Name:
        return cst.Name(plan.variables[attr])

    def _get(self, plan: _Plan, attr: str, *args: cst.Arg) -> cst.Call:
        return cst.Call(
            func=cst.Attribute(value=self._var(plan, attr), attr=cst.Name("get")), args=args
        )

    def _set(self, plan: _Plan, attr: str, value: cst.BaseExpression) -> cst.Call:
        # ``NAME.a = 1, 2`` and ``NAME.a = yield`` need parentheses as an argument.
        if isinstance(value, (cst.Tuple, cst.Yield)) and not value.lpar:
            value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return cst.Call(
            func=cst.Attribute(value=self._var(plan, attr), attr=cst.Name("set")),
            args=[cst.Arg(value=value)],
        )

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.SimpleStatementLine]:
        plan = self._statements.get(original_node)
        if plan is None:
            return updated_node
        lines: list[cst.SimpleStatementLine] = []
        for index, attr in enumerate(plan.attributes):
            variable = plan.variables[attr]
            declaration = cst.Assign(
                targets=[cst.AssignTarget(target=cst.Name(variable))],
                value=cst.Call(
                    func=cst.Attribute(
                        value=cst.Name(self._contextvars), attr=cst.Name("ContextVar")
                    ),
                    args=[cst.Arg(value=cst.SimpleString(f'"{variable}"'))],
                ),
            )
            lines.append(
                updated_node.with_changes(
                    body=[declaration],
                    leading_lines=updated_node.leading_lines if index == 0 else (),
                    # A trailing comment stays on the last line.
                    trailing_whitespace=updated_node.trailing_whitespace
                    if index == len(plan.attributes) - 1
                    else cst.TrailingWhitespace(),
                )
            )
        return cst.FlattenSentinel(lines)

    def leave_Assign(
        self, original_node: cst.Assign, updated_node: cst.Assign
    ) -> cst.BaseSmallStatement:
        use = self._uses.get(original_node)
        if use is None:
            return updated_node
        plan, _, attr = use
        return cst.Expr(
            value=self._set(plan, attr, updated_node.value), semicolon=updated_node.semicolon
        )

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        use = self._uses.get(original_node)
        if use is None:
            return updated_node
        plan, _, attr = use
        return self._get(plan, attr).with_changes(
            lpar=updated_node.lpar, rpar=updated_node.rpar
        )

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        use = self._uses.get(original_node)
        if use is None:
            return updated_node
        plan, kind, attr = use
        keep = {"lpar": updated_node.lpar, "rpar": updated_node.rpar}
        if kind == "getattr":
            default = [cst.Arg(value=updated_node.args[2].value)] if len(updated_node.args) == 3 else []
            return self._get(plan, attr, *default).with_changes(**keep)
        if kind == "setattr":
            return self._set(plan, attr, updated_node.args[2].value).with_changes(**keep)
        check = cst.Comparison(
            left=self._var(plan, attr),
            comparisons=[
                cst.ComparisonTarget(
                    operator=cst.In(),
                    comparator=cst.Call(
                        func=cst.Attribute(
                            value=cst.Name(self._contextvars), attr=cst.Name("copy_context")
                        )
                    ),
                )
            ],
        )
        if updated_node.lpar:
            return check.with_changes(**keep)
        # ``not hasattr(...)`` and ``if hasattr(...)`` read fine bare; elsewhere
        # (``hasattr(...) == flag``) the comparison needs parentheses.
        parent = self._parents.get(original_node)
        if isinstance(parent, _loose_parents()) or (
            isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not)
        ):
            return check
        return check.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])

    def leave_UnaryOperation(
        self, original_node: cst.UnaryOperation, updated_node: cst.UnaryOperation
    ) -> cst.BaseExpression:
        # ``not hasattr(NAME, "a")`` reads best as ``NAME_a not in ctx``.
        use = self._uses.get(original_node.expression)
        inner = updated_node.expression
        if (
            use is None
            or use[1] != "hasattr"
            or not isinstance(original_node.operator, cst.Not)
            or not isinstance(inner, cst.Comparison)
            or inner.lpar
        ):
            return updated_node
        target = inner.comparisons[0].with_changes(operator=cst.NotIn())
        return inner.with_changes(
            comparisons=[target], lpar=updated_node.lpar, rpar=updated_node.rpar
        )


def _loses_comment(node: cst.CSTNode, kind: str) -> bool:
    """Whether a comment sits in a part of the use that its rewrite drops:
    anything but the value of a store or ``setattr``, the default of
    ``getattr`` and the parentheses around a read or a call."""
    if isinstance(node, cst.Assign):
        dropped: cst.CSTNode = node.with_changes(value=cst.Name("_"))
    elif isinstance(node, cst.Call):
        args = list(node.args)
        if kind in ("getattr", "setattr") and len(args) == 3:
            args[2] = args[2].with_changes(value=cst.Name("_"))
        dropped = node.with_changes(args=args, lpar=(), rpar=())
    elif isinstance(node, cst.Attribute):
        dropped = node.with_changes(lpar=(), rpar=())
    else:
        dropped = node
    todo = [dropped]
    while todo:
        current = todo.pop()
        if isinstance(current, cst.Comment):
            return True
        todo.extend(current.children)
    return False


def _imported_module(view: ModuleView, target: str) -> str:
    """The module an import binds (``pkg.mod`` for ``import pkg.mod`` or
    ``from pkg import mod``), or "" for a name from a module."""
    source, _, attribute = target.partition(":")
    if not attribute:
        return source
    return f"{source}.{attribute}" if f"{source}.{attribute}" in view.project.index.modules else ""


def _callee(call: cst.Call) -> str | None:
    """``f`` for ``f(...)`` or ``obj.f(...)``."""
    func = call.func
    if isinstance(func, cst.Name):
        return func.value
    return func.attr.value if isinstance(func, cst.Attribute) else None


def _close(names: set[str], calls: dict[str, set[str]]) -> None:
    """Add to ``names`` every name their functions call, at any depth."""
    todo = list(names)
    while todo:
        for callee in calls.get(todo.pop(), ()):
            if callee not in names:
                names.add(callee)
                todo.append(callee)
