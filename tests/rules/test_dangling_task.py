"""AM301 dangling-task: what it reports about a task nothing keeps (with or
without a fix), which tasks it leaves alone, that the fixed program's task
lives to finish, and its ``task-helper`` and ``log-task-exceptions`` options.

The ``ast`` screens of AM301 and AM302 are checked together here, on the
fixtures of both (each rule's cases are near misses of the other's)."""

from __future__ import annotations

import ast
import asyncio
import gc
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import libcst as cst
import pytest

from asyncmend.codemods import Rule, Settings, fix_source
from asyncmend.codemods.cst.batch import run_rules
from asyncmend.codemods.dangling_task import DanglingTask
from asyncmend.codemods.missing_await import MissingAwait
from asyncmend.codemods.screen.facts import Facts
from asyncmend.codemods.settings import ConfigError
from tests.helpers import FIXTURES
from tests.helpers import findings_of as _findings
from tests.helpers import fixed_by as _fixed
from tests.helpers import event_loop_class, fixed_only_when_unsafe, run_cli, write_project

# -- findings and messages ----------------------------------------------------


def test_dangling_task_finding_names_the_factory_and_the_unused_local() -> None:
    findings = _findings(
        """\
        import asyncio

        async def main(work):
            asyncio.ensure_future(work())
            task = asyncio.create_task(work())
        """,
        "AM301",
    )
    assert [(f.line, f.fixable) for f in findings] == [(4, True), (5, True)]
    assert "`asyncio.ensure_future()`" in findings[0].message
    assert "`task`, which is never used again" in findings[1].message


def test_project_helper_shadowed_at_the_site_is_reported_without_a_fix() -> None:
    [finding] = _findings(
        """\
        import asyncio

        async def main(work, keep_running):
            asyncio.create_task(work())
        """,
        "AM301",
        **{"task-helper": "myapp.tasks:keep_running"},
    )
    assert not finding.fixable
    assert "`keep_running` means something else" in finding.message


def test_helper_follows_crlf_and_is_reused_by_a_later_run() -> None:
    source = b"import asyncio\r\n\r\n\r\nasync def main(work):\r\n    asyncio.create_task(work())\r\n"
    first = fix_source(source).output
    assert b"\n" not in first.replace(b"\r\n", b""), "every added line ends in CRLF"
    assert first.count(b"def _keep_task(task):") == 1

    grown = first + b"\r\n\r\nasync def later(work):\r\n    asyncio.ensure_future(work())\r\n"
    second = fix_source(grown).output
    assert second.count(b"def _keep_task") == 1, "the helper of the first run is reused"
    assert b"    _keep_task(asyncio.ensure_future(work()))\r\n" in second


def _fixture_sources() -> list[Path]:
    return sorted([*FIXTURES.glob("dangling_task/*.py"), *FIXTURES.glob("missing_await/*.py")])


@pytest.mark.parametrize("path", _fixture_sources(), ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("rule", [DanglingTask, MissingAwait], ids=lambda r: r.CODE)
def test_screen_passes_every_file_the_rule_finds_something_in(path: Path, rule: type[Rule]) -> None:
    # The rule run without its screen: whatever it finds, the screen must let through.
    source = path.read_text()
    _, findings = run_rules(cst.parse_module(source), [rule], Settings(apply=frozenset()))
    if findings:
        assert rule.screen(Facts.of(ast.parse(source)), Settings())


# -- guards -------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import asyncio\n\nasync def f(tg, work):\n    tg.create_task(work())\n",
        "import asyncio\n\nasync def f(work):\n    async with asyncio.TaskGroup() as tg:\n        tg.create_task(work())\n",
        "import asyncio\n\nasync def f(work):\n    return asyncio.create_task(work())\n",
        "import asyncio\n\ntask = None\n\nasync def f(work):\n    global task\n    task = asyncio.create_task(work())\n",
    ],
)
def test_dangling_task_leaves_kept_tasks_unreported(source: str) -> None:
    assert _findings(source, "AM301") == []


def test_screen_skips_files_without_a_candidate_call() -> None:
    source = textwrap.dedent(
        """\
        import asyncio

        async def main(conn):
            await asyncio.sleep(1)
            conn.close()
            return asyncio.create_task(main(conn))
        """
    )
    assert not DanglingTask.screen(Facts.of(ast.parse(source)), Settings())
    assert not MissingAwait.screen(Facts.of(ast.parse(source)), Settings())


# -- behaviour ----------------------------------------------------------------
#
# The original program and the one asyncmend makes of it are both executed,
# and what each one actually did is compared.

# A task whose only strong reference is the future it waits on, a future that
# only the task references: the pair is garbage, and gc.collect() frees it.
LOST_TASK = '''\
import asyncio
import gc
import weakref

futures = []  # weak references only: nothing but the task holds its future
finished = []


async def worker():
    future = asyncio.get_running_loop().create_future()
    futures.append(weakref.ref(future))
    await future
    finished.append(True)


async def start_worker():
    {start}


async def main():
    await start_worker()
    await asyncio.sleep(0)  # the worker starts and parks on its future
    gc.collect()
    future = futures[0]()
    if future is not None:
        future.set_result(None)
    for _ in range(3):
        await asyncio.sleep(0)
    return bool(finished), future is not None
'''


def _run(source: str, *args: Any) -> tuple[Any, list[dict[str, Any]]]:
    """Execute ``source`` as a module, run its ``main`` and return its result
    and what reached the loop's exception handler."""
    namespace: dict[str, Any] = {"__name__": "program_under_test"}
    exec(compile(source, "program_under_test", "exec"), namespace)
    reported: list[dict[str, Any]] = []

    async def runner() -> Any:
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: reported.append(ctx))
        try:
            return await namespace["main"](*args)
        finally:
            gc.collect()

    return asyncio.run(runner()), reported


@pytest.mark.parametrize(
    "start",
    [
        "asyncio.create_task(worker())",
        "asyncio.ensure_future(worker())",
        "asyncio.get_running_loop().create_task(worker())",
        # A local keeps the task only until start_worker() returns.
        "task = asyncio.create_task(worker())",
    ],
)
def test_dropped_task_is_collected_before_the_fix_and_finishes_after(start: str) -> None:
    source = LOST_TASK.format(start=start)

    (finished, future_alive), reported = _run(source)
    assert (finished, future_alive) == (False, False)
    assert [ctx["message"] for ctx in reported] == ["Task was destroyed but it is pending!"]

    (finished, future_alive), reported = _run(_fixed(source, "AM301"))
    assert (finished, future_alive) == (True, True)
    assert reported == []


# -- options ------------------------------------------------------------------


def test_project_task_helper_keeps_the_task_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    kept: set[asyncio.Future[Any]] = set()

    def keep_running(task: asyncio.Future[Any]) -> asyncio.Future[Any]:
        kept.add(task)
        task.add_done_callback(kept.discard)
        return task

    package = types.ModuleType("myapp")
    module = types.ModuleType("myapp.tasks")
    module.keep_running = keep_running  # type: ignore[attr-defined]
    package.tasks = module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "myapp", package)
    monkeypatch.setitem(sys.modules, "myapp.tasks", module)

    source = LOST_TASK.format(start="asyncio.create_task(worker())")
    fixed = _fixed(source, "AM301", **{"task-helper": "myapp.tasks:keep_running"})
    assert "from myapp.tasks import keep_running" in fixed
    (finished, _), reported = _run(fixed)
    assert finished and reported == []
    assert kept == set(), "the helper's done callback released the finished task"


FAILING_TASK = '''\
import asyncio


async def refresh():
    raise RuntimeError("refresh failed")


async def main():
    asyncio.create_task(refresh())
    for _ in range(3):
        await asyncio.sleep(0)
'''


def test_logging_helper_reports_a_failed_background_task() -> None:
    fixed = _fixed(FAILING_TASK, "AM301", **{"log-task-exceptions": "true"})
    _, reported = _run(fixed)
    assert [ctx["message"] for ctx in reported] == ["background task failed"]
    assert isinstance(reported[0]["exception"], RuntimeError)
    assert str(reported[0]["exception"]) == "refresh failed"


def test_malformed_task_helper_option_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="task-helper"):
        _findings("import asyncio\nasyncio.ensure_future(f())\n", "AM301", **{"task-helper": "myapp.tasks"})


# -- what the project does to tasks elsewhere ----------------------------------

JOBS = """
import asyncio


async def notify(out):
    out.append("notified")


async def handle(out):
    asyncio.create_task(notify(out))
    return "ok"
"""


@pytest.mark.parametrize(
    ("other", "reason"),
    [
        (
            "import asyncio\n\n\ndef install(loop):\n    loop.set_task_factory(lambda loop, coro, **kw: asyncio.Task(coro, loop=loop, **kw))\n",
            "installs a task factory",
        ),
        (
            "import asyncio\n\n\ndef record(loop, made):\n    loop.create_task = made.append\n",
            "replaces `create_task`",
        ),
        (
            "from unittest import mock\n\n\ndef quiet():\n    return mock.patch(\"asyncio.create_task\", lambda coro: coro.close())\n",
            "replaces `create_task`",
        ),
    ],
    ids=["task-factory", "create-task-assigned", "create-task-patched"],
)
def test_a_project_that_watches_or_replaces_task_creation_makes_the_fix_unsafe(tmp_path: Path, other: str, reason: str) -> None:
    """A task factory sees the helper's ``add_done_callback``; a replaced
    ``create_task`` may return something without one (``None`` from a
    list's ``append``): the fix is right for tasks alone."""
    files = {"pyproject.toml": "", "jobs.py": JOBS, "other.py": other}
    fixed_only_when_unsafe(tmp_path, files, "jobs.py", reason, "_keep_task(asyncio.create_task(notify(out)))")


@pytest.mark.parametrize(
    "other",
    [
        "import jobs\n\nSETTINGS = {k: v for k, v in vars(jobs).items() if k.isupper()}\n",
        "import inspect\n\nimport jobs as j\n\nNAMES = [name for name, _ in inspect.getmembers(j)]\n",
        "from . import jobs\n\nNAMES = sorted(jobs.__dict__)\n",
        "import importlib\nimport inspect\n\nPLUGINS = ['jo' + 'bs']\n\n\ndef commands():\n"
        "    return [k for p in PLUGINS for k, _ in inspect.getmembers(importlib.import_module(p))]\n",
        "import sys\n\n\ndef commands(name):\n    module = sys.modules[name]\n    return sorted(k for k, v in module.__dict__.items())\n",
    ],
    ids=["vars", "getmembers-of-an-alias", "dict-in-a-package", "getmembers-of-a-module-imported-by-name", "sys-modules-dict-items"],
)
def test_a_module_whose_names_are_listed_gains_the_helper_s_names_an_unsafe_fix(tmp_path: Path, other: str) -> None:
    """A listing of the module's names (settings read from its upper-case
    globals, a registry of its callables) sees ``_background_tasks`` and
    ``_keep_task`` after the fix."""
    package = {"app/__init__.py": ""} if other.startswith("from .") else {}
    where = "app/" if package else ""
    files = {"pyproject.toml": "", **package, f"{where}jobs.py": JOBS, f"{where}other.py": other}
    fixed_only_when_unsafe(tmp_path, files, f"{where}jobs.py", "lists the names of this module", "_keep_task(asyncio.create_task(")


def test_a_listing_of_other_objects_names_leaves_the_fix_safe(tmp_path: Path) -> None:
    """The control: ``vars(self)`` and another module's names."""
    files = {
        "pyproject.toml": "",
        "jobs.py": JOBS,
        "other.py": "import json\nimport sys\n\nclass Row:\n    def as_dict(self):\n        return dict(vars(self))\n\nNAMES = dir(json)\n"
        "\n\ndef proxied(name):\n    return '__getattr__' in vars(sys.modules[name])\n",
    }
    write_project(tmp_path, files)
    fixed = run_cli(["fix", "--no-cache", "-j", "1", "jobs.py"], tmp_path)
    assert "_keep_task(asyncio.create_task(notify(out)))" in (tmp_path / "jobs.py").read_text(), fixed.output


def test_a_project_with_an_event_loop_class_of_its_own_makes_the_fix_unsafe(tmp_path: Path) -> None:
    """``asyncio.Runner(loop_factory=CountingLoop)``: a loop of the project
    counts ``call_soon`` and would count the helper's done callback."""
    other = event_loop_class(
        "CountingLoop",
        "    def call_soon(self, callback, *args, context=None):\n        CountingLoop.log.append(callback)\n"
        "        return super().call_soon(callback, *args, context=context)\n",
    )
    files = {"pyproject.toml": "", "jobs.py": JOBS, "metrics.py": other}
    fixed_only_when_unsafe(tmp_path, files, "jobs.py", "is an event loop of the project's", "_keep_task(asyncio.create_task(")


def test_create_task_patched_by_keyword_makes_the_fix_unsafe(tmp_path: Path) -> None:
    other = "import asyncio\nfrom unittest import mock\n\n\ndef quiet(fake):\n    return mock.patch.multiple(asyncio, create_task=fake)\n"
    files = {"pyproject.toml": "", "jobs.py": JOBS, "other.py": other}
    fixed_only_when_unsafe(tmp_path, files, "jobs.py", "replaces `create_task`", "_keep_task(asyncio.create_task(")


def test_an_event_loop_class_that_overrides_nothing_leaves_the_fix_safe(tmp_path: Path) -> None:
    """The control: ``class CustomLoop(asyncio.SelectorEventLoop): pass``
    runs asyncio's own ``create_task`` and ``call_soon``."""
    files = {"pyproject.toml": "", "jobs.py": JOBS, "loops.py": event_loop_class("CustomLoop", "    pass\n")}
    write_project(tmp_path, files)
    done = run_cli(["fix", "--no-cache", "-j", "1", "jobs.py"], tmp_path)
    assert "_keep_task(asyncio.create_task(notify(out)))" in (tmp_path / "jobs.py").read_text(), done.output
