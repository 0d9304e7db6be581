"""AM201 and AM202 by running programs: the original and the version the tool
itself writes (through ``fix_source``) must compute the same values; where the
rewrite applies, the fixed one must be faster; where a guard applies, the tool
must leave the program exactly as it was."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from asyncmend.codemods import Settings, fix_source

GATHER_RULES = frozenset({"AM201", "AM202"})
ROOT = Path(__file__).resolve().parent.parent


def fixed(source: str) -> str:
    settings = Settings(select=GATHER_RULES, apply=GATHER_RULES)
    return fix_source(textwrap.dedent(source), settings).output.decode("utf-8")


def run(source: str) -> tuple[Any, list[Any], float]:
    """Run ``main(log)`` of a program; return its result, the log and the time."""
    namespace: dict[str, Any] = {"__name__": "program"}
    exec(compile(textwrap.dedent(source), "<program>", "exec"), namespace)
    log: list[Any] = []
    start = time.perf_counter()
    result = asyncio.run(namespace["main"](log))
    return result, log, time.perf_counter() - start


THREE_INDEPENDENT = """
import asyncio


async def fetch(name, log):
    log.append(name)
    await asyncio.sleep(0.1)
    return name.upper()


async def main(log):
    a = await fetch("a", log)
    b = await fetch("b", log)
    c = await fetch("c", log)
    return a, b, c
"""


def test_three_independent_awaits_run_concurrently_with_the_same_values() -> None:
    after = fixed(THREE_INDEPENDENT)
    assert "asyncio.gather(" in after

    before_result, before_log, before_time = run(THREE_INDEPENDENT)
    after_result, after_log, after_time = run(after)

    assert after_result == before_result == ("A", "B", "C")
    # gather starts its arguments in order.
    assert after_log == before_log == ["a", "b", "c"]
    assert before_time >= 0.3
    assert after_time < 0.2
    assert after_time < 0.6 * before_time


LOOP_APPEND = """
import asyncio


async def fetch(url, log):
    log.append(url)
    await asyncio.sleep(0.1)
    return len(url)


async def main(log):
    results = []
    for url in ["a", "bb", "ccc"]:
        results.append(await fetch(url, log))
    return results
"""

LOOP_COMPREHENSION = """
import asyncio


async def fetch(url, log):
    log.append(url)
    await asyncio.sleep(0.1)
    return url * 2


async def main(log):
    return [await fetch(u, log) for u in ["x", "y", "z"]]
"""


@pytest.mark.parametrize("program", [LOOP_APPEND, LOOP_COMPREHENSION], ids=["for-append", "comprehension"])
def test_loop_of_independent_awaits_runs_concurrently_in_item_order(program: str) -> None:
    after = fixed(program)
    assert "asyncio.gather(" in after and "*(" in after

    before_result, before_log, before_time = run(program)
    after_result, after_log, after_time = run(after)

    assert after_result == before_result
    assert after_log == before_log
    assert before_time >= 0.3
    assert after_time < 0.6 * before_time


# Each program below is one the rewrite would break. The tool must leave it
# byte for byte as it is, and (the same program) it must run the same.
GUARDED = {
    "dependent-pair": """
import asyncio


async def login(log):
    await asyncio.sleep(0.01)
    log.append("login")
    return "token-1"


async def fetch(token, log):
    log.append(("fetch", token))
    return f"data for {token}"


async def main(log):
    token = await login(log)
    data = await fetch(token, log)
    return data
""",
    "sleep-then-call": """
import asyncio
import time


async def record(started, log):
    log.append("record")
    return time.perf_counter() - started >= 0.05


async def main(log):
    started = time.perf_counter()
    await asyncio.sleep(0.05)
    late_enough = await record(started, log)
    return late_enough
""",
    "same-connection": """
import asyncio


class Connection:
    # Like most database drivers: one operation at a time.
    def __init__(self):
        self.busy = False

    async def execute(self, query):
        if self.busy:
            raise RuntimeError("another operation is in progress")
        self.busy = True
        await asyncio.sleep(0.01)
        self.busy = False
        return query.lower()


async def main(log):
    conn = Connection()
    first = await conn.execute("CREATE A")
    second = await conn.execute("CREATE B")
    return first, second
""",
    "event-wait": """
import asyncio


async def read(state, log):
    log.append(("read", state["value"]))
    return state["value"]


async def main(log):
    state = {"value": "unset"}
    ready = asyncio.Event()

    async def producer():
        await asyncio.sleep(0.01)
        state["value"] = "set"
        ready.set()

    task = asyncio.create_task(producer())
    await ready.wait()
    value = await read(state, log)
    await task
    return value
""",
}

EXPECTED = {
    "dependent-pair": "data for token-1",
    "sleep-then-call": True,
    "same-connection": ("create a", "create b"),
    "event-wait": "set",
}


@pytest.mark.parametrize("name", sorted(GUARDED))
def test_order_dependent_pairs_are_left_unchanged_and_run_the_same(name: str) -> None:
    source = textwrap.dedent(GUARDED[name])
    after = fixed(source)
    assert after == source

    result, log, _ = run(source)
    again, again_log, _ = run(after)
    assert result == again == EXPECTED[name]
    assert log == again_log


def test_gathering_the_same_connection_would_have_failed() -> None:
    """Why the same-receiver guard exists: the connection refuses overlap."""
    namespace: dict[str, Any] = {}
    exec(compile(textwrap.dedent(GUARDED["same-connection"]), "<program>", "exec"), namespace)

    async def gathered() -> None:
        conn = namespace["Connection"]()
        await asyncio.gather(conn.execute("A"), conn.execute("B"))

    with pytest.raises(RuntimeError, match="another operation"):
        asyncio.run(gathered())


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "asyncmend.cli", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_check_reports_unsafe_fix_and_fix_applies_it_only_when_asked(tmp_path: Path) -> None:
    program = tmp_path / "app.py"
    program.write_text(textwrap.dedent(THREE_INDEPENDENT))

    checked = _cli("check", "--no-progress", "--output-format", "json", str(program), cwd=tmp_path)
    assert checked.returncode == 1, checked.stderr
    assert '"AM201"' in checked.stdout and '"unsafe"' in checked.stdout

    plain = _cli("fix", "--diff", "--no-progress", str(program), cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "gather" not in plain.stdout

    unsafe = _cli("fix", "--diff", "--unsafe-fixes", "--no-progress", str(program), cwd=tmp_path)
    assert unsafe.returncode == 0, unsafe.stderr
    assert "+    a, b, c = await asyncio.gather(" in unsafe.stdout
    assert program.read_text() == textwrap.dedent(THREE_INDEPENDENT)


def test_explain_await_in_loop_says_how_to_bound_concurrency() -> None:
    explained = _cli("explain", "AM202", cwd=ROOT)
    assert explained.returncode == 0, explained.stderr
    assert "at once" in explained.stdout
    assert "Semaphore" in explained.stdout


CUSTOM_PRIMITIVE = """
import asyncio


async def steps(scheduler, uid):
    await scheduler.checkpoint()
    await work(uid)
"""


@pytest.mark.parametrize("value", [["asyncio.sleep", ".checkpoint"], "asyncio.sleep .checkpoint"])
def test_ordering_primitives_option_keeps_a_project_primitive_in_order(value: object) -> None:
    source = textwrap.dedent(CUSTOM_PRIMITIVE)
    # Without the option the two calls look independent.
    assert "asyncio.gather(" in fixed(source)

    # As a list (pyproject.toml) or as one string (a fixture's option line).
    settings = Settings(select=GATHER_RULES, apply=GATHER_RULES, options={"ordering-primitives": value})
    result = fix_source(source, settings)
    assert result.output.decode("utf-8") == source
    assert result.findings == []
