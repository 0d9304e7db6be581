"""AM301 and AM302, verified by running: the original program and the one
asyncmend makes of it (through ``fix_source``) are both executed, and what
each one actually did is compared."""

from __future__ import annotations

import asyncio
import gc
import sys
import types
import warnings
from typing import Any

import pytest

from asyncmend.codemods import Settings, fix_source

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

FAILING_TASK = '''\
import asyncio


async def refresh():
    raise RuntimeError("refresh failed")


async def main():
    asyncio.create_task(refresh())
    for _ in range(3):
        await asyncio.sleep(0)
'''

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


def _fixed(source: str, code: str, **options: str) -> str:
    result = fix_source(source, Settings(select=frozenset({code}), options=options))
    assert result.changed, f"{code} changed nothing"
    assert all(f.fixed for f in result.findings if f.code == code)
    return result.output.decode()


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


def test_logging_helper_reports_a_failed_background_task() -> None:
    fixed = _fixed(FAILING_TASK, "AM301", **{"log-task-exceptions": "true"})
    _, reported = _run(fixed)
    assert [ctx["message"] for ctx in reported] == ["background task failed"]
    assert isinstance(reported[0]["exception"], RuntimeError)
    assert str(reported[0]["exception"]) == "refresh failed"


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
