"""AM202 await-in-loop: a loop of independent awaits becomes one
``asyncio.gather`` over the items; what ``explain`` advises; the fixed
program computes the same values in item order, faster.

The programs are fixed by the tool itself (``fix_source``, with AM201 as a
run has it) and run in this process."""

from __future__ import annotations

import pytest

from tests.helpers import ROOT
from tests.helpers import gathered as fixed
from tests.helpers import run_cli_process as _cli
from tests.helpers import run_main as run

# -- findings and messages ----------------------------------------------------


def test_explain_await_in_loop_says_how_to_bound_concurrency() -> None:
    explained = _cli("explain", "AM202", cwd=ROOT)
    assert explained.returncode == 0, explained.stderr
    assert "at once" in explained.stdout
    assert "Semaphore" in explained.stdout


# -- behaviour ----------------------------------------------------------------

# The calls write nothing shared (a call that appended to a shared log
# would be kept in its loop: gathered, the appends could come in another
# order).
LOOP_APPEND = """
import asyncio


async def fetch(url):
    await asyncio.sleep(0.1)
    return len(url)


async def main(log):
    results = []
    for url in ["a", "bb", "ccc"]:
        results.append(await fetch(url))
    return results
"""

LOOP_COMPREHENSION = """
import asyncio


async def fetch(url):
    await asyncio.sleep(0.1)
    return url * 2


async def main(log):
    return [await fetch(u) for u in ["x", "y", "z"]]
"""


# Each call writes the shared log before it first suspends, and only then.
LOG_BEFORE_SUSPENDING = """
import asyncio


async def fetch(name, log: list):
    log.append(name)
    await asyncio.sleep(0.1)
    return name.upper()


async def main(log):
    return [await fetch(u, log) for u in ["x", "y", "z"]]
"""


# The items a test keeps, or the ones a ``continue`` skips, filter the
# generator; the calls change nothing the test reads.
LOOP_FILTERED = """
import asyncio


async def fetch(name, log: list):
    await asyncio.sleep(0.1)
    return name.upper()


async def main(log):
    kept = []
    for device, kind in [("a", "light"), ("b", "switch"), ("c", "light"), ("d", "light")]:
        if kind != "light":
            continue
        kept.append(await fetch(device, log))
    for name in ["x", "yy", "z"]:
        if len(name) == 1:
            await fetch(name, log)
    return kept + [await fetch(n, log) for n in ["p", "qq", "r"] if n != "qq"]
"""


@pytest.mark.parametrize(
    "program",
    [LOOP_APPEND, LOOP_COMPREHENSION, LOG_BEFORE_SUSPENDING, LOOP_FILTERED],
    ids=["for-append", "comprehension", "shared-write-before-suspending", "filtered"],
)
def test_loop_of_independent_awaits_runs_concurrently_in_item_order(program: str) -> None:
    after = fixed(program)
    assert "asyncio.gather(" in after and "*(" in after

    before_result, before_log, before_time = run(program)
    after_result, after_log, after_time = run(after)

    assert after_result == before_result
    assert after_log == before_log
    assert before_time >= 0.3
    assert after_time < 0.6 * before_time


# A test that reads what the calls write: each item's test saw the calls
# before it; tested all at once before the first call, it would not.
FILTER_READS_WHAT_CALLS_WRITE = [
    """
import asyncio

CACHE = {}


async def load(name):
    await asyncio.sleep(0.01)
    CACHE[name] = len(CACHE)


async def main(log):
    for name in ["a", "a", "b"]:
        if name not in CACHE:
            await load(name)
    return CACHE
""",
    """
import asyncio


class Box:
    def __init__(self):
        self.count = 0

    async def bump(self, x):
        await asyncio.sleep(0.01)
        self.count += 1

    async def run(self, xs):
        for x in xs:
            if self.count < 2:
                await self.bump(x)
        return self.count


async def main(log):
    return await Box().run([1, 2, 3])
""",
]


@pytest.mark.parametrize("program", FILTER_READS_WHAT_CALLS_WRITE, ids=["global-cache", "attribute-counter"])
def test_a_filter_that_reads_what_the_calls_write_keeps_its_loop(program: str) -> None:
    assert "gather" not in fixed(program)


# A method of each item, where the container says the items' class: the
# model reads the method, which changes its own item alone.
ITEM_METHODS = """
import asyncio


class Device:
    def __init__(self, name):
        self.name = name
        self.state = None

    async def update_state(self):
        await asyncio.sleep(0.1)
        self.state = self.name.upper()


class Hub:
    def __init__(self, devices: list[Device]):
        self.devices = devices

    async def refresh(self):
        for device in self.devices:
            await device.update_state()
        return [d.state for d in self.devices]


async def main(log):
    return await Hub([Device("a"), Device("b"), Device("c")]).refresh()
"""


def test_a_method_of_each_item_of_a_declared_class_is_gathered() -> None:
    after = fixed(ITEM_METHODS)
    assert "asyncio.gather(*(device.update_state() for device in self.devices))" in after

    before_result, _, before_time = run(ITEM_METHODS)
    after_result, _, after_time = run(after)
    assert after_result == before_result == ["A", "B", "C"]
    assert before_time >= 0.3
    assert after_time < 0.6 * before_time


def test_a_method_of_each_item_that_counts_in_its_class_keeps_its_loop() -> None:
    """The method writes the class's own counter, which every item shares."""
    program = ITEM_METHODS.replace(
        "        self.state = self.name.upper()",
        "        Device.seen = getattr(Device, 'seen', 0) + 1\n        self.state = Device.seen",
    )
    assert "gather" not in fixed(program)
