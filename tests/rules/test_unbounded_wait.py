"""AM304 unbounded-wait (opt-in): which awaits it reports (a task, a future,
an event, a queue, a gather of tasks with no timeout around them), which it
leaves alone (coroutines, cleanup, waits under a timeout), that it runs only
when selected by code or slug, and that the fixed program stops waiting
after the configured timeout where the original hangs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from asyncmend import codemods
from asyncmend.codemods.settings import ConfigError, build_settings, load_config
from asyncmend.codemods.unbounded_wait import UnboundedWait
from tests.helpers import findings_of, fixed_by, fixture_findings, printed, run_cli

TIMEOUT = {"unbounded-wait-timeout": "30"}

# -- findings and messages ----------------------------------------------------


def test_without_a_timeout_option_the_rule_reports_and_says_which_key_fixes_it() -> None:
    (finding,) = fixture_findings("unbounded_wait/noop_without_a_timeout_option")
    assert (finding.line, finding.fixable) == (7, False)
    assert finding.message.startswith("`await job` has no timeout")
    assert "set `unbounded-wait-timeout` to a number of seconds" in finding.message


def test_task_or_future_others_hold_is_reported_without_a_fix() -> None:
    findings = fixture_findings("unbounded_wait/noop_shared_tasks")
    assert [(f.line, f.fixable) for f in findings] == [(13, False), (17, False), (23, False), (29, False)]
    assert all("handed on or shared" in f.message for f in findings)


def test_consumer_loop_and_anyio_module_are_reported_without_a_fix() -> None:
    findings = fixture_findings("unbounded_wait/noop_consumer_loop_and_anyio")
    assert [(f.line, f.fixable) for f in findings] == [(10, False), (19, False), (23, False)]
    assert all("a consumer waiting for work" in f.message for f in findings[:2])
    assert "`with anyio.fail_after(...)`" in findings[2].message


# -- what is an unbounded wait --------------------------------------------------
#
# Each program is a module; the marked lines must be reported and no other.

WAITS = {
    "tasks and futures from any maker": """
        import asyncio

        async def f(loop, group, coro, pool, work):
            a = asyncio.ensure_future(coro)
            b = group.create_task(coro)
            c = loop.run_in_executor(pool, work)
            d = asyncio.Future()
            await a  # report
            await b  # report
            await c  # report
            await d  # report
        """,
    "annotations say what a parameter or a name holds": """
        from typing import Optional
        import asyncio

        async def f(task: asyncio.Task, maybe: Optional[asyncio.Future], queue: "asyncio.Queue", event: asyncio.Event | None):
            await task  # report
            await maybe  # report
            await queue.get()
            await event.wait()  # report
            later: asyncio.Task[int] = make()
            await later  # report
        """,
    "a coroutine is never a task": """
        import asyncio

        async def f(fetch):
            await fetch()
            await asyncio.sleep(1)
            coro = fetch()
            await coro
            await asyncio.gather(fetch(), fetch())
        """,
    "a gather reports only with tasks among its arguments": """
        import asyncio

        async def f(fetch, names):
            one = asyncio.create_task(fetch())
            await asyncio.gather(one, fetch())  # report
            many = [asyncio.create_task(fetch(n)) for n in names]
            await asyncio.gather(*many)  # report
            listed = [one, asyncio.create_task(fetch())]
            await asyncio.gather(*listed)  # report
            coros = [fetch(n) for n in names]
            await asyncio.gather(*coros)
        """,
    "an attribute of self is followed through its class": """
        import asyncio

        class Service:
            def __init__(self, other):
                self._ready = asyncio.Event()
                self._task = asyncio.create_task(other)
                self._maybe = asyncio.Event()
                self._maybe = other

            async def start(self):
                await self._ready.wait()  # report
                await self._task  # report
                await self._maybe.wait()
        """,
    "get and wait of other objects are not": """
        import asyncio

        async def f(session, lock, cond):
            await session.get("x")
            await lock.acquire()
            await cond.wait()
            pool = make_pool()
            await pool.get()
        """,
    "no timeout of any spelling around it": """
        import asyncio
        import anyio

        async def f(coro):
            task = asyncio.create_task(coro)
            with anyio.move_on_after(1):
                await task
            async with asyncio.timeout_at(5):
                await task
            async with asyncio.timeout(1):
                async def later():
                    await task  # report
            await asyncio.wait_for(task, 5)
        """,
}


@pytest.mark.parametrize("name", sorted(WAITS))
def test_reports_exactly_the_marked_waits(name: str) -> None:
    source = textwrap.dedent(WAITS[name])
    expected = [number for number, line in enumerate(source.splitlines(), 1) if "# report" in line]
    assert [f.line for f in findings_of(source, "AM304")] == expected


NOT_REPORTED = ["noop_inside_a_timeout", "noop_not_a_task"]


@pytest.mark.parametrize("case", NOT_REPORTED)
def test_bounded_or_cleanup_waits_are_not_reported(case: str) -> None:
    assert fixture_findings(f"unbounded_wait/{case}") == []


# -- opt-in -------------------------------------------------------------------


def test_rule_is_opt_in_and_runs_only_when_named_by_code_or_slug() -> None:
    rules = codemods.rules()
    for selectors in ([], ["ALL"], ["AM"], ["AM3"], ["AM30"]):
        assert "AM304" not in build_settings(rules, select=selectors).select, selectors
    for selectors in (["AM304"], ["unbounded-wait"], ["AM3", "AM304"]):
        assert "AM304" in build_settings(rules, select=selectors).select, selectors


def test_check_runs_it_only_when_selected(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        "import asyncio\n\n\nasync def f(c):\n    t = asyncio.create_task(c)\n    await t\n"
    )
    assert run_cli(["check", "--no-cache", "a.py"], tmp_path).exit_code == 0
    selected = run_cli(["check", "--no-cache", "--select", "unbounded-wait", "a.py"], tmp_path)
    assert selected.exit_code == 1
    assert "a.py:6:5: AM304" in selected.stdout


def test_rules_command_and_explain_say_it_is_opt_in(tmp_path: Path) -> None:
    row = next(line for line in run_cli(["rules"], tmp_path).stdout.splitlines() if line.startswith("AM304"))
    assert row.split()[:4] == ["AM304", "unbounded-wait", "unsafe", "(opt-in)"]
    explained = run_cli(["explain", "AM304"], tmp_path).stdout
    assert "Opt-in: runs only when selected by its code or slug (`--select AM304`)" in explained
    assert "unbounded-wait-timeout = 0.0" in explained


def test_negative_timeout_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.asyncmend]\nunbounded-wait-timeout = -1\n")
    with pytest.raises(ConfigError, match="unbounded-wait-timeout: expected a number of seconds"):
        load_config(tmp_path / "pyproject.toml", [UnboundedWait])


# -- behaviour ----------------------------------------------------------------
#
# The original and the fixed program run in a fresh interpreter. ``main``
# awaits a task; the whole run is given 1 s from outside. A task that never
# finishes hangs the original until that outer deadline cancels it; the
# fixed program raises TimeoutError after its own timeout, handles it, and
# the task it waited on is cancelled.

PROGRAM = '''
import asyncio
import json
import time


EVENTS = []


async def job(delay):
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        EVENTS.append("job cancelled")
        raise
    return f"done after {delay}"


async def handle(delay):
    task = asyncio.create_task(job(delay))
    try:
        return await task
    except TimeoutError:
        EVENTS.append("handle saw TimeoutError")
        return "timed out"


async def main(delay):
    EVENTS.clear()
    started = time.perf_counter()
    try:
        outcome = await asyncio.wait_for(handle(delay), 1.0)
    except TimeoutError:
        outcome = "hung until the caller gave up"
    await asyncio.sleep(0)  # let a cancellation land
    return [outcome, list(EVENTS), round(time.perf_counter() - started, 1)]


print(json.dumps([asyncio.run(main(0.05)), asyncio.run(main(60))]))
'''


def test_fixed_wait_gives_up_after_the_timeout_where_the_original_hangs(tmp_path: Path) -> None:
    fixed = fixed_by(PROGRAM, "AM304", **{"unbounded-wait-timeout": "0.3"})
    assert "return await asyncio.wait_for(task, timeout=0.3)" in fixed

    quick_before, slow_before = printed(PROGRAM, tmp_path, "original")
    quick_after, slow_after = printed(fixed, tmp_path, "fixed")

    # A task that finishes in time: the same result, nothing cancelled.
    assert quick_before == quick_after == ["done after 0.05", [], 0.1]
    # A task that never finishes: the original waits until its caller's
    # deadline (1 s) cancels it, and the task with it; the fixed one stops
    # at 0.3 s by itself: its task is cancelled, and handle() (not its
    # caller) sees the TimeoutError and handles it.
    assert slow_before == ["hung until the caller gave up", ["job cancelled"], 1.0]
    assert slow_after == ["timed out", ["job cancelled", "handle saw TimeoutError"], 0.3]
