"""AM101 blocking-sleep: which ``time.sleep`` calls in a coroutine it reports
(with or without a fix, and why), which it leaves alone, and that the fixed
program stops blocking the event loop and computes what the original did."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from asyncmend.codemods import Settings, fix_source

# -- findings and messages ----------------------------------------------------
#
# A no-op fixture only proves that nothing was rewritten; these say which of
# those sites are still reported (without a fix) and which are not findings
# at all.

FIXTURES = Path(__file__).parent.parent / "fixtures" / "blocking_sleep"
APPLY = Settings(select=frozenset({"AM101"}), apply=frozenset({"AM101"}))


def _findings(name: str) -> list[tuple[int, bool, bool]]:
    result = fix_source((FIXTURES / name).read_bytes(), APPLY)
    return [(f.line, f.fixable, f.fixed) for f in result.findings]


@pytest.mark.parametrize(
    "name, line",
    [("noop_generator_expression.before.py", 6), ("noop_class_body.before.py", 7)],
)
def test_sleep_where_await_is_illegal_is_reported_without_a_fix(name: str, line: int) -> None:
    assert _findings(name) == [(line, False, False)]


@pytest.mark.parametrize(
    "name, line, reason",
    [
        ("noop_trio_and_asyncio.before.py", 9, "the module imports both"),
        ("noop_library_imported_for_type_checking.before.py", 12, "`trio` is imported only for type checking"),
        ("noop_asyncio_imported_for_type_checking.before.py", 12, "`asyncio` is imported only for type checking"),
    ],
)
def test_sleep_whose_replacement_library_is_unclear_is_reported_without_a_fix(
    name: str, line: int, reason: str
) -> None:
    # Regression: these used to become `await trio.sleep` / `await asyncio.sleep`
    # with a name that is unbound at run time or belongs to the other loop.
    result = fix_source((FIXTURES / name).read_bytes(), APPLY)
    assert [(f.line, f.fixable, f.fixed) for f in result.findings] == [(line, False, False)]
    assert reason in result.findings[0].message


def test_noqa_lines_are_not_reported_and_the_other_line_is_fixed() -> None:
    assert _findings("noqa_lines.before.py") == [(8, True, True)]


def test_genexp_message_says_why_it_is_not_fixed() -> None:
    result = fix_source((FIXTURES / "noop_generator_expression.before.py").read_bytes(), APPLY)
    assert "`await` is not allowed" in result.findings[0].message


@pytest.mark.parametrize(
    "name, lines, reason",
    [
        ("noop_negative_delay_caught.before.py", [10, 18, 25], "a negative delay raises `ValueError`"),
        ("noop_already_awaited.before.py", [7], "already awaited"),
    ],
)
def test_sleep_whose_rewrite_would_change_behaviour_is_reported_without_a_fix(
    name: str, lines: list[int], reason: str
) -> None:
    result = fix_source((FIXTURES / name).read_bytes(), APPLY)
    assert [(f.line, f.fixable, f.fixed) for f in result.findings] == [(line, False, False) for line in lines]
    assert all(reason in f.message for f in result.findings)


# -- guards -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "noop_nested_def_and_lambda.before.py",
        "noop_local_names.before.py",
        "noop_method_of_other_object.before.py",
        "noop_plain_def.before.py",
        "noop_parameter_named_time.before.py",
    ],
)
def test_sleep_that_is_not_a_blocking_coroutine_sleep_is_not_reported(name: str) -> None:
    assert _findings(name) == []


# -- behaviour ----------------------------------------------------------------
#
# Each program below is run as written and as AM101 rewrites it. A ticker task
# counts how often it gets to run while the coroutine sleeps: a blocking sleep
# starves it completely (0 ticks), the fixed one lets it run many times.

# The harness every program shares: ``work()`` is the coroutine under test.
HARNESS = '''

async def _ticker(counter):
    while True:
        await asyncio.sleep(0.002)
        counter[0] += 1


async def _measure():
    counter = [0]
    ticker = asyncio.create_task(_ticker(counter))
    await asyncio.sleep(0)  # let the ticker start
    before = counter[0]
    result = await work()
    during = counter[0] - before
    ticker.cancel()
    return result, during
'''

PROGRAMS: dict[str, str] = {
    "import_time": '''
import asyncio
import time


async def work():
    total = 0
    for i in range(5):
        time.sleep(0.03)
        total += i * i
    return total
''',
    "from_import_alias": '''
import asyncio
from time import sleep as nap


async def work():
    seen = []
    for name in ("a", "b", "c"):
        nap(0.05)
        seen.append(name.upper())
    return "".join(seen)
''',
    "expression_position": '''
import asyncio
import time as t


async def work():
    x = t.sleep(0.05) or 5
    y = [t.sleep(0.05), 7][1]
    return x + y
''',
    "list_comprehension": '''
import asyncio
import time


async def work():
    return [(time.sleep(0.03), i * 3)[1] for i in range(5)]
''',
}


def _run(source: str) -> tuple[Any, int, float]:
    namespace: dict[str, Any] = {"__name__": "program"}
    exec(compile(source + HARNESS, "<program>", "exec"), namespace)
    started = time.perf_counter()
    result, ticks = asyncio.run(namespace["_measure"]())
    return result, ticks, time.perf_counter() - started


def _fixed(source: str) -> str:
    outcome = fix_source(source, Settings(select=frozenset({"AM101"})))
    assert outcome.findings and all(f.fixed for f in outcome.findings)
    return outcome.output.decode()


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_fixed_program_lets_other_tasks_run_and_computes_the_same(name: str) -> None:
    original = PROGRAMS[name]
    fixed = _fixed(original)
    assert "time.sleep" not in fixed and "nap(" not in fixed

    result_before, ticks_before, elapsed_before = _run(original)
    result_after, ticks_after, elapsed_after = _run(fixed)

    assert result_after == result_before
    # A blocking sleep never yields: the ticker does not run at all.
    assert ticks_before == 0
    # ~0.1 s of sleeping with a 2 ms ticker gives dozens of ticks; 5 leaves
    # a wide margin for a slow machine.
    assert ticks_after >= 5
    # The coroutine itself still waits as long as before.
    assert elapsed_after >= 0.8 * elapsed_before


CONCURRENT = '''
import asyncio
import time


async def handle(request_id):
    time.sleep(0.1)
    return request_id * 10


async def main():
    return await asyncio.gather(*(handle(i) for i in range(5)))
'''


def _timed_main(source: str) -> tuple[Any, float]:
    namespace: dict[str, Any] = {"__name__": "program"}
    exec(compile(source, "<program>", "exec"), namespace)
    started = time.perf_counter()
    result = asyncio.run(namespace["main"]())
    return result, time.perf_counter() - started


def test_fixed_handlers_sleep_concurrently_instead_of_one_after_another() -> None:
    result_before, elapsed_before = _timed_main(CONCURRENT)
    result_after, elapsed_after = _timed_main(_fixed(CONCURRENT))
    assert result_after == result_before == [0, 10, 20, 30, 40]
    # Five blocking 0.1 s sleeps take 0.5 s one after another; awaited, they
    # overlap and take about 0.1 s.
    assert elapsed_before >= 0.5
    assert elapsed_after < 0.6 * elapsed_before
