"""AM302 missing-await: what it reports about a coroutine called without
``await`` (with a fix, or with advice where it cannot fix), what it never
guesses, and that the fixed program does the work the original skipped.

Its ``ast`` screen is checked beside AM301's, in test_dangling_task.py."""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

from pathlib import Path

import pytest

from tests.helpers import OBSERVE_MAIN, fixed_only_when_unsafe, fixture_findings, guarded_across_files, project_output, run_cli, write_project
from tests.helpers import findings_of as _findings
from tests.helpers import fixed_by as _fixed

# -- findings and messages ----------------------------------------------------


def test_a_coroutine_made_in_plain_code_is_left_to_am303() -> None:
    # One site, one finding: AM303 coroutine-in-sync reports these (and
    # fixes some); AM302 keeps the coroutines of async defs and the
    # dropped gathers of any code.
    source = """\
        import asyncio

        async def save(x):
            pass

        class Model:
            def __init__(self):
                self.load()

            async def load(self):
                pass

        def sync_caller():
            save(1)
            asyncio.gather(save(2))

        save(0)
        """
    [gather] = _findings(source, "AM302")
    assert (gather.line, gather.fixable) == (15, False)
    assert "asyncio.gather()" in gather.message
    # (`save(2)` is handed to gather: AM303 leaves it alone.)
    assert [f.line for f in _findings(source, "AM303")] == [8, 14, 17]


def test_dropped_gather_is_reported_without_a_fix() -> None:
    # gather() already runs its arguments: awaiting it would make the caller wait.
    [finding] = _findings(
        """\
        import asyncio

        async def main(a, b):
            asyncio.gather(a(), b())
        """,
        "AM302",
    )
    assert not finding.fixable
    assert "asyncio.gather()" in finding.message
    assert "its arguments run in the background unreferenced" in finding.message


def test_dropped_gather_of_existing_tasks_says_what_is_lost() -> None:
    # The tasks are the caller's own: only gather's result and errors are lost.
    findings = _findings(
        """\
        import asyncio

        async def main(tasks):
            asyncio.gather(*tasks)
            asyncio.shield(tasks[0])
        """,
        "AM302",
    )
    assert [f.fixable for f in findings] == [False, False]
    for finding in findings:
        assert "its result and its errors are dropped" in finding.message
        assert "background" not in finding.message


# -- guards -------------------------------------------------------------------


def test_missing_await_never_guesses_from_a_method_name() -> None:
    assert _findings(
        """\
        class Connection:
            async def close(self):
                pass

        async def shutdown(log_file, conn):
            log_file.close()
            conn.close()
        """,
        "AM302",
    ) == []


# -- behaviour ----------------------------------------------------------------
#
# The original program and the one asyncmend makes of it are both executed,
# and what each one actually did is compared.

MISSING_AWAIT = '''\
import asyncio

saved = []


async def save(item):
    await asyncio.sleep(0)
    saved.append(item)


class Cart:
    def __init__(self):
        self.items = []

    async def persist(self):
        for item in self.items:
            save(item)

    async def checkout(self, item):
        self.items.append(item)
        self.persist()
        asyncio.sleep(0.01)
        return "ok"


async def main(item):
    return await Cart().checkout(item)
'''


def test_missing_await_saves_nothing_before_the_fix_and_saves_after() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        namespace: dict[str, Any] = {"__name__": "program_under_test"}
        exec(compile(MISSING_AWAIT, "program_under_test", "exec"), namespace)
        assert asyncio.run(namespace["main"]("book")) == "ok"
        gc.collect()
    assert namespace["saved"] == []
    assert any("was never awaited" in str(w.message) for w in caught)

    fixed = _fixed(MISSING_AWAIT, "AM302")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        namespace = {"__name__": "program_under_test"}
        exec(compile(fixed, "program_under_test", "exec"), namespace)
        assert asyncio.run(namespace["main"]("book")) == "ok"
        gc.collect()
    assert namespace["saved"] == ["book"]
    assert not any("was never awaited" in str(w.message) for w in caught)


# -- what other modules do to the coroutine ----------------------------------------
#
# Each program runs as written and with the `await` AM302 would add without
# looking at other modules: the awaited call is a plain function there, and
# the program fails. AM302 follows the class's bases, what the class is
# handed to, its subclasses and the stores of other modules, leaves the
# program as it was and says why.

TO_COMPLETION = """import inspect


def run_to_completion(method):
    def blocking(*args, **kwargs):
        coro = method(*args, **kwargs)
        try:
            coro.send(None)
        except StopIteration as stop:
            return stop.value
        raise RuntimeError(f"{method.__name__} suspended")

    blocking.__name__ = method.__name__
    return blocking
"""

GREETER = """import asyncio
{imports}

class Greeter({base}):
    def __init__(self):
        self.log = []

    async def on_greet(self, name):
        self.log.append(f"hello {{name}}")

    async def run(self, name):
        self.on_greet(name)
        return self.log
{after}"""

RUN_GREETER = """import greeter


async def main():
    return await greeter.Greeter().run("ann")
""" + OBSERVE_MAIN

AWAIT_ON_GREET = [("        self.on_greet(name)", "        await self.on_greet(name)")]

REPLACED_ELSEWHERE: dict[str, tuple[str, list[tuple[str, str]], dict[str, str]]] = {
    "metaclass_of_a_base_in_another_module": ("a class `Greeter` inherits from may not be what its body says", AWAIT_ON_GREET, {
        "greeter.py": GREETER.format(imports="from service import Service\n", base="Service", after=""),
        "service.py": TO_COMPLETION + """

class ServiceMeta(type):
    def __new__(mcls, name, bases, namespace):
        for key, value in list(namespace.items()):
            if key.startswith("on_") and inspect.iscoroutinefunction(value):
                namespace[key] = run_to_completion(value)
        return super().__new__(mcls, name, bases, namespace)


class Service(metaclass=ServiceMeta):
    pass
""", "main.py": RUN_GREETER}),
    "init_subclass_of_a_base_in_another_module": ("a class `Greeter` inherits from may not be what its body says", AWAIT_ON_GREET, {
        "greeter.py": GREETER.format(imports="from plugin import Plugin\n", base="Plugin", after=""),
        "plugin.py": TO_COMPLETION + """

class Plugin:
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for key, value in list(vars(cls).items()):
            if key.startswith("on_") and inspect.iscoroutinefunction(value):
                setattr(cls, key, run_to_completion(value))
""", "main.py": RUN_GREETER}),
    "class_rebound_by_a_call": ("`Greeter` is bound again at module level", AWAIT_ON_GREET, {
        "greeter.py": GREETER.format(imports="import compat\n", base="", after="\n\nGreeter = compat.make_sync(Greeter)\n"),
        "compat.py": TO_COMPLETION + """

def make_sync(cls):
    for key, value in list(vars(cls).items()):
        if key.startswith("on_") and inspect.iscoroutinefunction(value):
            setattr(cls, key, run_to_completion(value))
    return cls
""", "main.py": RUN_GREETER}),
    "class_changed_in_place_by_a_call": ("`Greeter` is handed to `compat.make_sync()`", AWAIT_ON_GREET, {
        "greeter.py": GREETER.format(imports="import compat\n", base="", after="\n\ncompat.make_sync(Greeter)\n"),
        "compat.py": TO_COMPLETION + """

def make_sync(cls):
    for key, value in list(vars(cls).items()):
        if key.startswith("on_") and inspect.iscoroutinefunction(value):
            setattr(cls, key, run_to_completion(value))
""", "main.py": RUN_GREETER}),
    "method_overridden_by_a_subclass_of_another_module": (
        "the subclass `memory_repo.MemoryRepository` may bind `flush`",
        [("        self.flush()", "        await self.flush()")],
        {"repo_base.py": """import asyncio


class Repository:
    def __init__(self):
        self.items = []
        self.flushes = 0

    async def flush(self):
        await asyncio.sleep(0)  # write to the database
        self.flushes += 1

    async def save(self, item):
        self.items.append(item)
        self.flush()
""", "memory_repo.py": """from repo_base import Repository


class MemoryRepository(Repository):
    def flush(self):
        self.flushes += 1
""", "main.py": """from memory_repo import MemoryRepository


async def main():
    repo = MemoryRepository()
    await repo.save("x")
    return [repo.items, repo.flushes]
""" + OBSERVE_MAIN}),
    "method_replaced_on_the_class_by_another_module": ("the module `patches` may replace `on_greet`", AWAIT_ON_GREET, {
        "greeter.py": GREETER.format(imports="", base="", after=""),
        "patches.py": """import greeter


def _offline_greet(self, name):
    self.log.append(f"hello {name} (offline)")


greeter.Greeter.on_greet = _offline_greet
""", "main.py": "import patches  # noqa: F401\n" + RUN_GREETER}),
    "module_function_wrapped_by_setattr_in_another_module": (
        "the module `bootstrap` may replace `log_event`",
        [("    log_event(", "    await log_event(")],
        {"events.py": """import asyncio

LOG = []


async def log_event(message):
    LOG.append(message)


async def handle(request):
    log_event(f"handled {request}")
    return "200 OK"
""", "syncify.py": TO_COMPLETION + """

def syncify(module, *names):
    for name in names:
        setattr(module, name, run_to_completion(getattr(module, name)))
""", "bootstrap.py": """import events
from syncify import syncify

syncify(events, "log_event")
""", "main.py": """import bootstrap  # noqa: F401
import events


async def main():
    return [await events.handle("GET /"), events.LOG]
""" + OBSERVE_MAIN}),
    "hook_injected_on_an_instance_by_another_module": (
        "the module `wiring` may replace `on_done`",
        [("        self.on_done()", "        await self.on_done()")],
        {"jobs.py": """import asyncio


class Job:
    def __init__(self, name):
        self.name = name
        self.events = []

    async def on_done(self):
        \"\"\"Override or inject to be told when the job is done.\"\"\"

    async def run(self):
        self.events.append(f"{self.name} ran")
        self.on_done()
        return self.events
""", "wiring.py": """from jobs import Job


def build(name):
    job = Job(name)
    job.on_done = lambda: job.events.append(f"{name} notified")
    return job
""", "main.py": """import wiring


async def main():
    return await wiring.build("backup").run()
""" + OBSERVE_MAIN}),
}


@pytest.mark.parametrize("name", sorted(REPLACED_ELSEWHERE))
def test_a_coroutine_another_module_may_turn_into_a_plain_function_is_left_alone(name: str, tmp_path: Path) -> None:
    reason, naive, files = REPLACED_ELSEWHERE[name]
    target = next(path for path in sorted(files) if naive[0][0] in files[path])
    guarded_across_files(tmp_path, files, target, naive, reason)


def test_a_coroutine_whose_base_subclasses_and_stores_show_nothing_is_awaited(tmp_path: Path) -> None:
    files = {
        "greeter.py": GREETER.format(imports="from service import Service\n", base="Service", after=""),
        "service.py": """class Service:
    async def stop(self):
        pass
""",
        "loud.py": """from greeter import Greeter


class LoudGreeter(Greeter):
    async def on_greet(self, name):
        self.log.append(f"HELLO {name.upper()}")
""",
        "main.py": """import greeter
import loud


async def main():
    return [await greeter.Greeter().run("ann"), await loud.LoudGreeter().run("bob")]
""" + OBSERVE_MAIN,
    }
    project = tmp_path / "project"
    write_project(project, files)
    # Without `await` the hook never runs; with it, it does what it says.
    assert project_output(project) == [[], []]
    run_cli(["fix", "--no-cache", "-j", "1", "."], project)
    assert "        await self.on_greet(name)" in (project / "greeter.py").read_text()
    assert project_output(project) == [["hello ann"], ["HELLO BOB"]]


@pytest.mark.parametrize("case", [
    "missing_await/noop_base_in_another_module_rewrites_methods",
    "missing_await/noop_class_rebound_or_changed_by_a_call",
    "missing_await/noop_subclass_in_another_module_overrides",
    "missing_await/noop_replaced_from_another_module",
])
def test_a_call_other_modules_may_change_is_reported_without_a_fix(case: str) -> None:
    findings = fixture_findings(case)
    assert findings and all(not f.fixable and "(not fixed: " in f.message for f in findings)


def test_a_coroutine_named_where_no_call_is_resolved_is_an_unsafe_fix(tmp_path: Path) -> None:
    """``mock.patch.multiple(notifier, send=fake)`` names ``send`` by a
    keyword: a plain function may replace it, and ``await`` of its result
    would fail. The fix is unsafe, applied with ``--unsafe-fixes``."""
    files = {
        "notifier.py": "async def send(message):\n    return message\n\n\nasync def notify():\n    send('hi')\n",
        "tests_helper.py": (
            "from unittest import mock\n\nimport notifier\n\n\n"
            "def quiet():\n    return mock.patch.multiple(notifier, send=lambda message: None)\n"
        ),
    }
    fixed_only_when_unsafe(tmp_path, files, "notifier.py", "`send` is named in `tests_helper`", "    await send('hi')")


def test_a_coroutine_a_module_may_replace_by_a_computed_name_is_an_unsafe_fix(tmp_path: Path) -> None:
    """``setattr(module, name, impl)`` for each name of a configured list:
    any coroutine may be the one replaced by a plain function."""
    files = {
        "notifier.py": "async def send(message):\n    return message\n\n\nasync def notify():\n    send('hi')\n",
        "compat.py": "import config\n\n\ndef install(module, impl):\n    for name in config.HOOKS:\n        setattr(module, name, impl)\n",
        "config.py": "HOOKS = ['se' + 'nd']\n",
    }
    fixed_only_when_unsafe(tmp_path, files, "notifier.py", "sets attributes by computed names", "    await send('hi')")


@pytest.mark.parametrize(
    "compat",
    [
        "import config\n\n\ndef install(module, impl):\n    for name in config.HOOKS:\n        vars(module)[name] = impl\n",
        "import config\n\n\ndef install(module, impl):\n    module.__dict__.update({name: impl for name in config.HOOKS})\n",
        "from unittest import mock\n\nimport config\n\n\ndef install(module, impl):\n"
        "    return [mock.patch.object(module, name, impl) for name in config.HOOKS]\n",
    ],
    ids=["vars-subscript", "dict-update", "patch-object"],
)
def test_other_routes_to_a_computed_name_make_the_fix_unsafe(tmp_path: Path, compat: str) -> None:
    """The same replacement by a computed name, through a module's
    namespace or ``mock.patch.object``."""
    files = {
        "notifier.py": "async def send(message):\n    return message\n\n\nasync def notify():\n    send('hi')\n",
        "compat.py": compat,
        "config.py": "HOOKS = ['se' + 'nd']\n",
    }
    fixed_only_when_unsafe(tmp_path, files, "notifier.py", "sets attributes by computed names", "    await send('hi')")


def test_a_class_made_by_type_with_a_computed_namespace_makes_the_fix_unsafe(tmp_path: Path) -> None:
    """``type("Quiet" + cls.__name__, (cls,), namespace)``: a subclass no
    class statement shows, whose namespace the model cannot read, may bind
    ``greet`` to a plain function."""
    files = {
        "greeter.py": "class Greeter:\n    async def greet(self):\n        return 'hi'\n\n    async def run(self):\n        self.greet()\n",
        "compat.py": "import config\n\n\ndef quiet(cls):\n    return type('Quiet' + cls.__name__, (cls,), {name: print for name in config.HOOKS})\n",
        "config.py": "HOOKS = ['gr' + 'eet']\n",
    }
    fixed_only_when_unsafe(tmp_path, files, "greeter.py", "makes a class otherwise than by a class statement", "        await self.greet()")
