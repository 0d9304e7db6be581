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


@pytest.mark.parametrize(
    "program",
    [LOOP_APPEND, LOOP_COMPREHENSION, LOG_BEFORE_SUSPENDING],
    ids=["for-append", "comprehension", "shared-write-before-suspending"],
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


# A method of each item, where the container says the items' class: the
# model reads the method, which changes its own item alone, and the items
# of a set are different objects.
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
    def __init__(self, devices: set[Device]):
        self.devices = devices

    async def refresh(self):
        for device in self.devices:
            await device.update_state()
        return sorted(d.state for d in self.devices)


async def main(log):
    return await Hub({Device("a"), Device("b"), Device("c")}).refresh()
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
