"""AM101 blocking-sleep: which ``time.sleep`` calls in a coroutine it reports
(with or without a fix, and why), which it leaves alone, and that the fixed
program stops blocking the event loop and computes what the original did."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
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


# -- a suspension the coroutine shows -------------------------------------------
#
# Each program below is run as written and as AM101 would rewrite it without
# its guards (``time.sleep(`` -> ``await asyncio.sleep(``): the two do
# different things, so the guard is not vacuous; AM101 leaves the file as it
# was and says why. Each program runs in a fresh interpreter; its coroutine
# runs in a daemon thread, so that a deadlock prints TIMEOUT after two
# seconds instead of hanging the suite.

OBSERVE = '''

def _observe(main):
    import json, os, sys, threading

    box = {}

    def target():
        try:
            box["value"] = asyncio.run(main())
        except BaseException as exc:
            box["value"] = f"{type(exc).__name__}: {exc}"

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(2)
    print(json.dumps(box.get("value", "TIMEOUT")))
    sys.stdout.flush()
    os._exit(0)


_observe(main)
'''

# Cancelled twice while it waits: the first cancellation starts the cleanup,
# the second (an impatient shutdown) lands wherever the task can suspend.
CANCEL_TWICE = '''

async def main():
    log = []
    task = asyncio.create_task(work(log))
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.sleep(0.01)
    task.cancel()
    try:
        await task
    except BaseException as exc:
        log.append(type(exc).__name__)
    return log
'''

VISIBLE: dict[str, tuple[str, str]] = {
    "global_check_then_act": ("`balance` is read before the sleep", '''
import asyncio
import time

balance = 100


async def withdraw(amount):
    global balance
    if balance >= amount:
        time.sleep(0.01)
        balance -= amount
        return "ok"
    return "refused"


async def main():
    results = await asyncio.gather(withdraw(80), withdraw(80))
    return [results, balance]
'''),
    "nonlocal_check_then_act": ("`available` is read before the sleep", '''
import asyncio
import time


def limiter(slots):
    available = slots

    async def take(name):
        nonlocal available
        if available > 0:
            time.sleep(0.01)
            available -= 1
            return name
        return None

    return take


async def main():
    take = limiter(1)
    return await asyncio.gather(take("a"), take("b"), take("c"))
'''),
    "self_attribute": ("`self.stock` is read before the sleep", '''
import asyncio
from time import sleep


class Inventory:
    def __init__(self):
        self.stock = 1
        self.orders = []

    async def reserve(self, who):
        if self.stock > 0:
            sleep(0.01)
            self.stock -= 1
            self.orders.append(who)


async def main():
    inventory = Inventory()
    await asyncio.gather(inventory.reserve("ann"), inventory.reserve("bob"))
    return [inventory.stock, inventory.orders]
'''),
    "cls_attribute": ("`cls.seats` is read before the sleep", '''
import asyncio
import time as clock


class Flight:
    seats = 1

    @classmethod
    async def book(cls, who):
        if cls.seats:
            clock.sleep(0.01)
            cls.seats -= 1
            return f"{who} booked"
        return f"{who} waitlisted"


async def main():
    return await asyncio.gather(Flight.book("ann"), Flight.book("bob"))
'''),
    "module_dict_item": ("`REMAINING[...]` is read before the sleep", '''
import asyncio
import time

REMAINING = {"search": 1}


async def spend(api):
    if REMAINING[api] > 0:
        time.sleep(0.01)
        REMAINING[api] -= 1
        return "allowed"
    return "limited"


async def main():
    results = await asyncio.gather(spend("search"), spend("search"))
    return [results, REMAINING]
'''),
    "module_object_attribute": ("`REGISTRY.names` is read before the sleep", '''
import asyncio
import time


class Registry:
    def __init__(self):
        self.names = []


REGISTRY = Registry()


async def register(name):
    if name in REGISTRY.names:
        return "taken"
    time.sleep(0.01)
    REGISTRY.names.append(name)
    return "created"


async def main():
    results = await asyncio.gather(register("ann"), register("ann"))
    return [results, REGISTRY.names]
'''),
    "local_alias": ("`queue` is read before the sleep", '''
import asyncio
import time


class Outbox:
    def __init__(self):
        self.pending = ["a"]
        self.sent = []

    async def flush_one(self):
        queue = self.pending
        if queue:
            time.sleep(0.01)
            self.sent.append(queue.pop())


async def main():
    outbox = Outbox()
    try:
        await asyncio.gather(outbox.flush_one(), outbox.flush_one())
    except IndexError as exc:
        return f"IndexError: {exc}"
    return outbox.sent
'''),
    "loop_peek_then_pop": ("`PENDING` is read before the sleep", '''
import asyncio
import time

PENDING = ["a", "b", "c"]
DONE = []


async def worker():
    while PENDING:
        job = PENDING[0]
        time.sleep(0.005)
        PENDING.pop(0)
        DONE.append(job)


async def main():
    try:
        await asyncio.gather(worker(), worker())
    except IndexError as exc:
        return [f"IndexError: {exc}", DONE]
    return DONE
'''),
    "parameter_lost_update": ("`account.balance` is read before the sleep", '''
import asyncio
import time


class Account:
    balance = 100


async def deposit(account, amount):
    current = account.balance
    time.sleep(0.01)
    account.balance = current + amount


async def main():
    account = Account()
    await asyncio.gather(deposit(account, 10), deposit(account, 20))
    return account.balance
'''),
    "finally_cut_short": ("in a `finally` block", '''
import asyncio
import time


async def work(log):
    try:
        await asyncio.sleep(10)
    finally:
        time.sleep(0.05)
        log.append("flushed")
''' + CANCEL_TWICE),
    "cancellation_handler_cut_short": ("in an `except` handler", '''
import asyncio
import time


async def work(log):
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        time.sleep(0.05)
        log.append("rolled back")
        raise
''' + CANCEL_TWICE),
    "handler_reraise_replaced": ("in an `except` handler", '''
import asyncio
import time


async def send(log):
    try:
        raise OSError("connection reset")
    except OSError:
        time.sleep(0.05)
        log.append("logged")
        raise


async def main():
    log = []
    task = asyncio.create_task(send(log))
    await asyncio.sleep(0.01)
    task.cancel()
    try:
        await task
    except BaseException as exc:
        log.append(type(exc).__name__)
    return log
'''),
    "aexit_cut_short": ("in `__aexit__`", '''
import asyncio
import time


class Session:
    def __init__(self, log):
        self.log = log

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        time.sleep(0.05)
        self.log.append("closed")
        return False


async def work(log):
    async with Session(log):
        await asyncio.sleep(10)
''' + CANCEL_TWICE),
    "thread_lock_held": ("may hold a thread lock", '''
import asyncio
import threading
import time

LOCK = threading.Lock()


async def step(n):
    with LOCK:
        time.sleep(0.01)
        return n * 2


async def main():
    return await asyncio.gather(step(1), step(2))
'''),
    "self_documenting_fstring": ("an f-string with `=`", '''
import asyncio
import time


async def main():
    return f"{time.sleep(0)=}"
'''),
}


def _naive(source: str) -> str:
    for spelling in ("time.sleep(", "clock.sleep(", "sleep("):
        if spelling in source.split("async def", 1)[1]:
            head, tail = source.split("async def", 1)
            return head + "async def" + tail.replace(spelling, "await asyncio.sleep(")
    raise AssertionError("no sleep to rewrite")


def _outcome(source: str, tmp_path: Path, name: str) -> Any:
    path = tmp_path / f"{name}.py"
    path.write_text(source + OBSERVE, encoding="utf-8")
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", sorted(VISIBLE))
def test_a_sleep_whose_suspension_the_coroutine_shows_is_left_alone(name: str, tmp_path: Path) -> None:
    reason, source = VISIBLE[name]
    result = fix_source(source, APPLY)
    assert result.output == source.encode()
    (finding,) = result.findings
    assert not finding.fixable and reason in finding.message
    # What the rewrite without the guard would do differs: the guard matters.
    assert _outcome(source, tmp_path, "original") != _outcome(_naive(source), tmp_path, "naive")


# The same shapes where the new suspension cannot be seen: fixed, and the
# fixed program does what the original did.
NOT_VISIBLE: dict[str, str] = {
    "shared_state_only_read": '''
import asyncio
import time

SETTINGS = {"delay": 0.01}


async def wait(name):
    if SETTINGS["delay"] > 0:
        time.sleep(SETTINGS["delay"])
    return name


async def main():
    return await asyncio.gather(wait("a"), wait("b"))
''',
    "shared_state_changed_before_only": '''
import asyncio
import time


class Poller:
    def __init__(self):
        self.polls = 0

    async def poll(self):
        self.polls += 1
        time.sleep(0.01)
        return "polled"


async def main():
    poller = Poller()
    results = await asyncio.gather(poller.poll(), poller.poll())
    return [results, poller.polls]
''',
    "retry_backoff_last_in_handler": '''
import asyncio
import time


async def retry(operation, attempts=3):
    for attempt in range(attempts):
        try:
            return await operation(attempt)
        except ConnectionError:
            time.sleep(0.01 * attempt)
    return "gave up"


async def main():
    async def flaky(attempt):
        if attempt < 2:
            raise ConnectionError("reset")
        return f"ok after {attempt}"

    return await asyncio.gather(retry(flaky), retry(flaky))
''',
    "annotation_deferred_other_sleep_fixed": '''
from __future__ import annotations
import asyncio
import time


async def describe():
    def inner() -> time.sleep(0.3):
        return 1
    return inner.__annotations__


async def main():
    time.sleep(0.01)
    return await describe()
''',
}


@pytest.mark.parametrize("name", sorted(NOT_VISIBLE))
def test_a_sleep_whose_suspension_cannot_be_seen_is_fixed_and_does_the_same(name: str, tmp_path: Path) -> None:
    source = NOT_VISIBLE[name]
    result = fix_source(source, APPLY)
    assert result.findings and all(f.fixed for f in result.findings)
    fixed = result.output.decode()
    assert _outcome(fixed, tmp_path, "fixed") == _outcome(source, tmp_path, "original")
