"""AM303 coroutine-in-sync: plain code calls an ``async def`` and never runs it."""

from __future__ import annotations

import ast
import os
from typing import TYPE_CHECKING

from .analysis.coroutines import CoroutineCalls, CoroutineScreen, is_main_guard
from .analysis.event_loop import runs_elsewhere
from .analysis.offload import other_backend, report_fix
from .findings import Safety
from .lazy import lazy_module
from .rule import Rule
from .screen.facts import Facts, walk

if TYPE_CHECKING:
    import libcst as cst

    from .cst import toolkit
    from .settings import Settings
else:
    cst = lazy_module("libcst")
    toolkit = lazy_module(".cst.toolkit", __package__)

# What a coroutine offers of its own: code that reads these handles the
# coroutine object itself (drives it, closes it, names it).
_COROUTINE_ATTRIBUTES = frozenset(
    {"send", "throw", "close", "__await__", "__name__", "__qualname__"}
)
# Builtins that turn what they are given into text or a truth value: handed
# a coroutine, they show the object, never its result.
_SHOWING_BUILTINS = frozenset({"print", "str", "repr", "format", "bool"})
# Names of the project's code that run a test suite's coroutines on an event
# loop (pytest-asyncio, anyio's and trio's pytest plugins, unittest's
# asyncio test case): in such a project a plain test may share the suite's loop.
_TEST_LOOP_WORDS = (
    b"pytest_asyncio", b"mark.asyncio", b"mark.anyio", b"anyio_backend", b"pytest_trio",
    b"IsolatedAsyncioTestCase", b"asyncio_mode", b"event_loop",
)
# Context managers of tests that expect what runs in them to raise or warn.
_EXPECTING = frozenset(
    {"raises", "warns", "assertRaises", "assertRaisesRegex", "assertWarns", "assertWarnsRegex", "deprecated_call"}
)
_LOGGING_HOOK_BASES = ("Handler", "Formatter", "Filter", "LoggerAdapter")


class CoroutineInSync(Rule):
    """A plain function calls an `async def` and the coroutine never runs.

    ## Example

    ```diff
    +import asyncio
    +
     async def fetch_user(user_id):
         return {"id": user_id}

     def main():
    -    user = fetch_user(1)
    +    user = asyncio.run(fetch_user(1))
         print(user["id"])

     if __name__ == "__main__":
         main()
    ```

    ## Why is this bad

    Calling an `async def` only creates a coroutine object; its body runs
    when an event loop runs it. Plain code that calls one and uses the
    result (`user["id"]`, `print(user)`, `if user:`) works with the
    coroutine object instead, and plain code that drops it does nothing at
    all: Python only warns "coroutine ... was never awaited" when the object
    is collected.

    ## Fix

    Where no event loop can be running, the call becomes
    `asyncio.run(fetch_user(1))` (and `import asyncio` is added where it is
    missing): code under `if __name__ == "__main__":` at module level; a
    module-level plain function that only that code calls, directly or
    through other such functions, and that nothing else names (no other
    module of the project, no string, no decorator, no use as a value); a
    plain `test_*` function of a test file that nothing calls, in a
    project whose code names no test plugin that runs an event loop
    (pytest-asyncio, anyio's or trio's plugin, `IsolatedAsyncioTestCase`,
    an `event_loop` fixture).

    Found: a call of an `async def` as AM302 resolves it (one of the
    module, by scope; `self.method()` of the enclosing class; an asyncio
    coroutine function) or of an `async def` of another module of the
    project that a module with a `__main__` guard imports (`from .api
    import fetch`, `api.fetch`), as the project model resolves it
    (undecorated, not an async generator, no module stores an attribute of
    its name), in plain code (a plain function, a lambda, a class
    body, module level), whose coroutine is dropped (a statement of its
    own) or used as the value it is not: subscripted, an attribute read,
    compared, tested for truth, shown in an f-string or by `print`, `str`,
    `repr`, `format`, `bool`, or assigned to a name (bound once) that is
    only used so, or never.

    One site, one finding: AM302 missing-await reports a coroutine dropped
    inside an `async def` (where `await` is its fix), AM303 a coroutine
    made in plain code; a dropped `asyncio.gather(...)` stays AM302's.

    ## Fix safety

    Unsafe. `asyncio.run` starts a new event loop for the call and closes
    it after: the coroutine now runs, with every side effect it has, and its
    exception reaches the caller. Objects the coroutine shares with other
    code may belong to another loop (a client or a lock made under an
    earlier `asyncio.run`), and each call starts a loop of its own, which
    the caller did not ask for.

    ## Left alone

    A coroutine handed on: an argument of any call (`asyncio.run(...)`,
    `loop.run_until_complete(...)`, `create_task`, `ensure_future`,
    `gather`, `run_coroutine_threadsafe`, a helper of the project),
    returned, yielded, stored in an attribute, a container or a second
    name, or made in a comprehension or a lambda's body. A call of a name
    the analysis cannot resolve to an `async def` (a library's, bound twice,
    decorated, a method of an object of another module). A call inside
    `async def` (AM302's). A call in a `with` block that expects an error
    or a warning (`pytest.raises`, `assertRaises`, `pytest.warns`): a test
    of the call itself.

    ## Limits

    Reported without a fix, with the reason: `__init__`, a `@property`,
    dunder methods (`__repr__`, `__str__`...), the methods of logging
    handlers, formatters and filters, and any other method (each may run
    inside a coroutine, where `asyncio.run` raises `RuntimeError`); a
    decorated, nested or generator function, and a lambda (a decorator may
    register it as a callback the loop runs); a function any caller of
    which is a coroutine, a method, a function that may run inside a loop,
    or code the model cannot see (another module names it, it is used as
    a value, its name is spelled in a string, nothing in the module calls
    it); module-level code outside the `__main__` guard (it runs on import,
    and an import may happen inside a running loop); a test function in a
    project that runs tests on a loop; a module that runs under trio or
    anyio, or one that imports no event loop's library in a project that
    runs them; a module where `asyncio` is bound to something else, or
    imported only under a condition or below the site. Without the project
    model (a codemod alone) only code under the `__main__` guard is fixed.
    The settings of a test runner (`asyncio_mode` in `pyproject.toml`) are
    not read: only the project's Python files. An `async def` of another
    module is looked for only in a module with a `__main__` guard (where a
    fix may follow; asking the model about every imported call of every
    module costs a large project minutes): a plain function elsewhere that
    calls an imported `async def` is missed.
    """

    CODE = "AM303"
    SLUG = "coroutine-in-sync"
    SAFETY = Safety.UNSAFE
    DESCRIPTION = "a plain function calls an `async def` and never runs it"
    # An async def of the module, asyncio's coroutine functions, or a
    # `__main__` guard that may call an async def of another module.
    PREFILTER = (b"async", b"__main__")

    @classmethod
    def screen(cls, facts: Facts, settings: Settings) -> bool:
        coroutines = CoroutineScreen(facts)
        # A coroutine handed to a call (``asyncio.run(main())``), returned
        # or yielded is never a finding: most calls of async defs in plain
        # code are those.
        plain = [(call, ctx) for call, ctx in facts.calls if not ctx.coroutine_body]
        found = [call for call, ctx in plain if coroutines.may_create(call, ctx, scheduling=False)]
        if found:
            handed = _handed_on(facts)
            if any(id(call) not in handed for call in found):
                return True
        # Another module's async defs only in a script (what asking the
        # model costs is paid for where a fix may follow).
        return _has_main_guard(facts.tree) and any(coroutines.may_create_across(call) for call, _ in plain)

    def __init__(self, context: cst.codemod.CodemodContext) -> None:
        super().__init__(context)
        self._calls: CoroutineCalls | None = None
        self._module: cst.Module | None = None
        self._parents_cache: dict[cst.CSTNode, cst.CSTNode] | None = None
        self._names_cache: dict[str, list[cst.Name]] | None = None
        self._guards: list[cst.If] = []
        self._entry_reasons: dict[cst.FunctionDef, str | None] = {}

    def visit_Module(self, node: cst.Module) -> None:
        self._module = node
        self._calls = CoroutineCalls(node, self.scope, self.facts, self.view)
        self._guards = [
            statement for statement in node.body if isinstance(statement, cst.If) and is_main_guard(statement.test)
        ]

    # -- the tree around a site, built on first need ----------------------------------

    @property
    def _parents(self) -> dict[cst.CSTNode, cst.CSTNode]:
        if self._parents_cache is None:
            assert self._module is not None
            self._parents_cache = toolkit.ParentMap.of(self._module)
        return self._parents_cache

    def _names(self, name: str) -> list[cst.Name]:
        """Every ``Name`` node of the module that spells ``name``."""
        if self._names_cache is None:
            self._names_cache = {}
            for node in self._parents:
                if isinstance(node, cst.Name):
                    self._names_cache.setdefault(node.value, []).append(node)
        return self._names_cache.get(name, [])

    def _owner(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The innermost def, lambda or class around ``node``; ``None`` at
        module level."""
        parents = self._parents
        current = parents.get(node)
        while current is not None:
            if isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                return current
            current = parents.get(current)
        return None

    def _guard_of(self, node: cst.CSTNode) -> cst.If | None:
        """The ``if __name__ == "__main__":`` whose body holds ``node`` at
        module level (no def, lambda or class in between)."""
        parents = self._parents
        child, current = node, parents.get(node)
        while current is not None:
            if isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                return None
            if isinstance(current, cst.If) and current in self._guards:
                return current if child is current.body else None
            child, current = current, parents.get(current)
        return None

    # -- what plain code does with the coroutine ----------------------------------------

    def _shown(self, node: cst.BaseExpression) -> bool:
        """Whether the value of ``node`` is used as a result (or dropped)
        where it stands, not handed on to something that may run it."""
        parent = self._parents.get(node)
        if isinstance(parent, cst.Expr):
            return True
        if isinstance(parent, cst.Subscript):
            return parent.value is node
        if isinstance(parent, cst.Attribute):
            return parent.value is node and parent.attr.value not in _COROUTINE_ATTRIBUTES
        if isinstance(parent, (cst.FormattedStringExpression, cst.Comparison, cst.ComparisonTarget, cst.UnaryOperation)):
            return True
        if isinstance(parent, (cst.If, cst.While, cst.IfExp, cst.Assert)):
            return parent.test is node
        if isinstance(parent, cst.Arg) and not parent.star and parent.keyword is None:
            call = self._parents.get(parent)
            return (
                isinstance(call, cst.Call)
                and isinstance(call.func, cst.Name)
                and call.func.value in _SHOWING_BUILTINS
                and self.scope(call).lookup(call.func.value) is toolkit.UNBOUND
            )
        return False

    def _used_as_a_value(self, call: cst.Call) -> bool:
        """Whether the coroutine ``call`` makes is dropped or used as what
        it is not, where it stands or through the one name it is bound to."""
        if self._shown(call):
            return True
        parent = self._parents.get(call)
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
        elif isinstance(parent, cst.AnnAssign) and parent.value is call:
            target = parent.target
        else:
            return False
        if not isinstance(target, cst.Name):
            return False
        scope = self.scope(call)
        owner = toolkit.bound_once(scope, target.value)
        if owner is None or owner is not scope.function() or target.value in owner.globals:
            return False
        here = self._owner(call)
        for name in self._names(target.value):
            if name is target or not self._refers(name):
                continue
            where = self._owner(name)
            if where is here:
                if not self._shown(name):
                    return False
            elif here is None or self._inside(where, here):
                return False  # read in a nested scope: handed on to it
        return True

    def _refers(self, name: cst.Name) -> bool:
        """Whether ``name`` is a reference to a variable (not an attribute,
        a keyword, or the name of a def or a class)."""
        parent = self._parents.get(name)
        if isinstance(parent, cst.Attribute) and parent.attr is name:
            return False
        if isinstance(parent, cst.Arg) and parent.keyword is name:
            return False
        return not (isinstance(parent, (cst.FunctionDef, cst.ClassDef)) and parent.name is name)

    def _inside(self, node: cst.CSTNode | None, ancestor: cst.CSTNode) -> bool:
        current = node
        while current is not None:
            if current is ancestor:
                return True
            current = self._parents.get(current)
        return False

    def _expected_to_fail(self, call: cst.Call) -> bool:
        """Whether ``call`` stands in a ``with`` block that expects it to
        raise or warn (``pytest.raises``, ``self.assertRaises``,
        ``pytest.warns(RuntimeWarning)``): a test of the call itself, which
        may be meant to make a coroutine and drop it."""
        current = self._parents.get(call)
        while current is not None and not isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            if isinstance(current, cst.With):
                for item in current.items:
                    expected = item.item
                    if isinstance(expected, cst.Call):
                        name = toolkit.get_full_name_for_node(expected.func) or ""
                        if name.rsplit(".", 1)[-1] in _EXPECTING:
                            return True
            current = self._parents.get(current)
        return False

    # -- where no event loop can be running ---------------------------------------------

    def _loop_may_run(self, call: cst.Call) -> tuple[str | None, cst.If | None]:
        """Why a loop may be running where ``call`` runs (``None``: none
        can), and the ``__main__`` guard that runs it."""
        guard = self._guard_of(call)
        if guard is not None:
            return None, guard
        owner = self._owner(call)
        if owner is None:
            return (
                "module-level code outside `if __name__ == \"__main__\":` runs on import, and a"
                " module may be imported inside a running loop"
            ), None
        if isinstance(owner, cst.Lambda):
            return "a lambda runs wherever it is called, a coroutine included", None
        if isinstance(owner, cst.ClassDef):
            return "a class body runs wherever its module is imported or the class is made", None
        assert isinstance(owner, cst.FunctionDef)
        container = self._owner(owner)
        if isinstance(container, cst.ClassDef):
            return _method_reason(owner, container), None
        reason = self._entry_reason(owner)
        return reason, self._guards[0] if reason is None and self._guards else None

    def _entry_reason(self, function: cst.FunctionDef, seen: frozenset[cst.FunctionDef] = frozenset()) -> str | None:
        """Why ``function`` may run inside a loop; ``None`` when it runs
        only from the ``__main__`` guard (itself or through functions that
        do) or is a test nothing calls in a project without a test loop."""
        if function in self._entry_reasons:
            return self._entry_reasons[function]
        reason = self._compute_entry_reason(function, seen | {function})
        if not seen:
            self._entry_reasons[function] = reason
        return reason

    def _compute_entry_reason(self, function: cst.FunctionDef, seen: frozenset[cst.FunctionDef]) -> str | None:
        name = function.name.value
        if self._owner(function) is not None:
            return f"`{name}` is a nested function, which runs wherever its enclosing one hands it"
        if function.decorators:
            return f"`{name}` is decorated, and the decorator may run it as a callback inside a loop"
        if function.asynchronous is not None:
            return f"`{name}` is a coroutine"
        if any(isinstance(node, (cst.Yield, cst.Await)) for node in toolkit.descendants(function.body)):
            return f"`{name}` is a generator, which runs wherever it is iterated"
        view = self.view
        if view is None or not view.project.index.modules:
            return f"without the project, whether other modules call `{name}` cannot be seen"
        assert self._module is not None
        if _spelled_in_a_string(self._module, name):
            return f"`{name}` is spelled in a string of the module (`__all__`, `getattr`), which may hand it on"
        others = [module for module in view.callers.scan(f"word:{name}", rb"\b" + name.encode() + rb"\b", (name.encode(),)) if module != view.module]
        if others:
            return f"the module `{others[0]}` names `{name}` and may call it inside a loop"
        for site in view.callers.of(view.module, name):
            if site.caller.is_async:
                return f"the coroutine `{site.caller.qualname}` calls `{name}`"
        if self._is_test(function):
            return self._test_reason(name)
        called = False
        for reference in self._names(name):
            if reference is function.name or not self._refers(reference):
                continue
            parent = self._parents.get(reference)
            if not (isinstance(parent, cst.Call) and parent.func is reference):
                return f"`{name}` is used as a value, handed to code that may call it inside a loop"
            if self._guard_of(reference) is not None:
                called = True
                continue
            caller = self._owner(reference)
            if caller is None:
                return f"`{name}` is called at module level outside `if __name__ == \"__main__\":`, which runs on import"
            if not isinstance(caller, cst.FunctionDef) or caller in seen:
                return f"`{name}` is called from code that may run inside a loop"
            reason = self._entry_reason(caller, seen)
            if reason is not None:
                return f"`{name}` is called from `{caller.name.value}`, and {reason}"
            called = True
        if not called:
            return f"nothing in the module calls `{name}`: what does (an entry point, another program) is not seen"
        return None

    def _is_test(self, function: cst.FunctionDef) -> bool:
        base = os.path.basename(self.context.filename or "")
        is_test_file = base.startswith("test_") or base.endswith("_test.py")
        return is_test_file and function.name.value.startswith("test") and not any(
            reference is not function.name and self._refers(reference) for reference in self._names(function.name.value)
        )

    def _test_reason(self, name: str) -> str | None:
        view = self.view
        assert view is not None
        pattern = b"|".join(word.replace(b".", rb"\.") for word in _TEST_LOOP_WORDS)
        found = view.callers.scan("test-loop", pattern, _TEST_LOOP_WORDS)
        assert self._module is not None
        own = any(word.decode() in self._module.code for word in _TEST_LOOP_WORDS)
        if own or any(module != view.module for module in found):
            return f"the project runs tests on an event loop (a test plugin or an asyncio test case), which may run `{name}`"
        return None

    # -- the site ----------------------------------------------------------------------

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = original_node.func
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return updated_node
        scope = self.scope(original_node)
        if scope.function().kind is toolkit.ScopeKind.ASYNC_FUNCTION:
            return updated_node  # AM302's, where `await` is the fix
        assert self._calls is not None
        described = self._calls.describe(original_node, across=bool(self._guards))
        if described is None or not described[1] or not self._used_as_a_value(original_node):
            return updated_node
        if self._expected_to_fail(original_node):
            return updated_node
        what = described[0]
        message = (
            f"{what}: called from plain code it only makes a coroutine, which never runs;"
            " run it with `asyncio.run(...)` where no event loop runs, or make the caller `async def`"
        )
        problem, guard = self._loop_may_run(original_node)
        if problem is not None:
            problem = f"{problem}; `asyncio.run()` raises `RuntimeError` inside a running loop"
        alias = None
        if problem is None:
            problem = self._calls.replaced_unseen(original_node, scope)
        if problem is None:
            library = other_backend(scope, self.context.filename, self.view, self.settings.async_backend)
            if library is not None:
                problem = runs_elsewhere(library, "`{library}.run(function)`, which takes a function, not a coroutine")
        if problem is None:
            alias = scope.module_alias("asyncio", before=guard)
            if alias is None:
                problem = "`asyncio` is bound to something else here, or imported only under a condition or below"
        name = report_fix(self, original_node, message, problem, alias)
        if name is None:
            return updated_node
        return cst.Call(
            func=cst.Attribute(value=cst.Name(name), attr=cst.Name("run")),
            args=[cst.Arg(value=updated_node.with_changes(lpar=(), rpar=()))],
            lpar=updated_node.lpar,
            rpar=updated_node.rpar,
        )


def _handed_on(facts: Facts) -> set[int]:
    """The ids of the calls of the module (its stdlib ``ast``) whose value
    is an argument of another call (but for the builtins that only show
    it), or is returned, yielded or a lambda's body; or is awaited,
    iterated, made in a comprehension, or asked for one of
    ``_COROUTINE_ATTRIBUTES``: where it stands, the rule reports no call
    that is any of these (see ``_used_as_a_value``)."""
    handed: set[int] = set()
    for call, _ in facts.calls:
        if isinstance(call.func, ast.Name) and call.func.id in _SHOWING_BUILTINS:
            continue
        handed.update(id(arg) for arg in call.args)
        handed.update(id(arg.value) for arg in call.args if isinstance(arg, ast.Starred))
        handed.update(id(keyword.value) for keyword in call.keywords)
    for node in walk(facts.tree):
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom, ast.Lambda)):
            value = node.body if isinstance(node, ast.Lambda) else node.value
            if value is not None:
                handed.add(id(value))
        elif isinstance(node, ast.Await) or (isinstance(node, ast.Attribute) and node.attr in _COROUTINE_ATTRIBUTES):
            handed.add(id(node.value))
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            handed.add(id(node.iter))
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            handed.add(id(node.elt))
        elif isinstance(node, ast.DictComp):
            handed.update((id(node.key), id(node.value)))
    return handed


def _has_main_guard(tree: ast.Module) -> bool:
    """Whether the module's body has an ``if __name__ == "__main__":``."""
    for statement in tree.body:
        if isinstance(statement, ast.If) and isinstance(statement.test, ast.Compare) and len(statement.test.ops) == 1:
            sides = [statement.test.left, *statement.test.comparators]
            if any(isinstance(side, ast.Name) and side.id == "__name__" for side in sides) and any(
                isinstance(side, ast.Constant) and side.value == "__main__" for side in sides
            ):
                return True
    return False


def _spelled_in_a_string(module: cst.Module, name: str) -> bool:
    """Whether a string literal of the module is exactly ``name``."""
    return any(
        isinstance(node, cst.SimpleString) and node.evaluated_value == name
        for node in toolkit.descendants(module)
    )


def _method_reason(method: cst.FunctionDef, cls: cst.ClassDef) -> str:
    name = method.name.value
    decorators = {
        decorator.decorator.value if isinstance(decorator.decorator, cst.Name) else
        decorator.decorator.attr.value if isinstance(decorator.decorator, cst.Attribute) else ""
        for decorator in method.decorators
    }
    if name == "__init__":
        return "`__init__` runs wherever an object is made, inside a coroutine too"
    if "property" in decorators or decorators & {"setter", "getter", "deleter"}:
        return f"the property `{name}` is read wherever the object is used, inside a coroutine too"
    bases = [toolkit.get_full_name_for_node(base.value) or "" for base in cls.bases]
    if any(base.rsplit(".", 1)[-1].endswith(_LOGGING_HOOK_BASES) for base in bases):
        return f"`{cls.name.value}.{name}` is a logging hook, which runs inside whatever code logs, coroutines too"
    if name.startswith("__") and name.endswith("__"):
        return f"`{name}` is called by Python itself, wherever the object is used, inside a coroutine too"
    return f"the method `{cls.name.value}.{name}` may be called from a coroutine"
