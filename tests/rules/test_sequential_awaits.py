"""AM201 sequential-awaits: independent awaits in a row become one
``asyncio.gather``, an unsafe fix applied only when asked; order-dependent
pairs stay as they are; the fixed program computes the same values, faster.

The programs are fixed by the tool itself (``fix_source``, with AM202 as a
run has it) and run in this process."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

import pytest

from asyncmend.codemods import Settings, fix_source
from tests.helpers import GATHER_RULES
from tests.helpers import gathered as fixed
from tests.helpers import run_cli_process as _cli
from tests.helpers import run_main as run

THREE_INDEPENDENT = """
import asyncio


async def fetch(name, log: list):
    log.append(name)
    await asyncio.sleep(0.1)
    return name.upper()


async def main(log):
    a = await fetch("a", log)
    b = await fetch("b", log)
    c = await fetch("c", log)
    return a, b, c
"""

# -- findings and messages ----------------------------------------------------


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


# -- guards -------------------------------------------------------------------

# Each program below is one the rewrite would break. The tool must leave it
# byte for byte as it is, and (the same program) it must run the same.
GUARDED = {
    # The shared list is written after the first suspension: gathered, the
    # second call's append would come first.
    "shared-write-after-suspension": """
import asyncio


async def fetch(name, log: list):
    await asyncio.sleep(0.02 if name == "a" else 0)
    log.append(name)
    return name


async def main(log):
    a = await fetch("a", log)
    b = await fetch("b", log)
    return a, b
""",
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
    "shared-write-after-suspension": ("a", "b"),
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


def test_gathering_a_write_after_suspension_would_have_reordered_it() -> None:
    """Why the model tells what a call does before its first suspension from
    what it does after: only the first part keeps its order in a gather."""
    source = textwrap.dedent(GUARDED["shared-write-after-suspension"])
    by_hand = source.replace(
        '    a = await fetch("a", log)\n    b = await fetch("b", log)\n',
        '    a, b = await asyncio.gather(fetch("a", log), fetch("b", log))\n',
    )
    assert by_hand != source
    assert run(source)[1] == ["a", "b"]
    assert run(by_hand)[1] == ["b", "a"]


def test_gathering_the_same_connection_would_have_failed() -> None:
    """Why the same-receiver guard exists: the connection refuses overlap."""
    namespace: dict[str, Any] = {}
    exec(compile(textwrap.dedent(GUARDED["same-connection"]), "<program>", "exec"), namespace)

    async def gathered() -> None:
        conn = namespace["Connection"]()
        await asyncio.gather(conn.execute("A"), conn.execute("B"))

    with pytest.raises(RuntimeError, match="another operation"):
        asyncio.run(gathered())


# -- behaviour ----------------------------------------------------------------


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


PLAIN_HANDLER = """
import asyncio


class UpdateFailed(Exception):
    pass


class Client:
    def __init__(self, failing):
        self.failing = failing

    async def get_measures(self, log):
        log.append("measures")
        await asyncio.sleep(0.1)
        if "measures" in self.failing:
            raise ConnectionError("measures")
        return "M"

    async def get_config(self, log):
        log.append("config")
        await asyncio.sleep(0.1)
        return "C"


async def refresh(client, log):
    try:
        async with asyncio.timeout(5):
            measures = await client.get_measures(log)
            config = await client.get_config(log)
    except ConnectionError as err:
        raise UpdateFailed(str(err)) from err
    return measures, config


async def main(log):
    good = await refresh(Client(()), log)
    try:
        await refresh(Client(("measures",)), log)
    except UpdateFailed as err:
        return good, f"failed: {err}"
"""


def test_a_try_whose_handler_only_raises_is_gathered_and_fails_the_same() -> None:
    """The handler leaves the function at once, as the failed call's
    exception would without it: no cleanup runs beside the other call."""
    after = fixed(PLAIN_HANDLER)
    assert "asyncio.gather(" in after
    before_result, before_log, before_time = run(PLAIN_HANDLER)
    after_result, after_log, after_time = run(after)
    assert after_result == before_result == (("M", "C"), "failed: measures")
    # Gathered, the second call of the failing refresh starts too.
    assert before_log == ["measures", "config", "measures"]
    assert after_log == ["measures", "config", "measures", "config"]
    assert after_time < 0.75 * before_time


# -- options ------------------------------------------------------------------

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
