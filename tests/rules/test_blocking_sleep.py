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
from tests.helpers import (
    OBSERVE_MAIN,
    fixed_across_files,
    fixed_only_when_unsafe,
    guarded_across_files,
    parses_of_the_look,
    project_output,
    run_cli,
    write_project,
)

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
# seconds instead of hanging the suite (OBSERVE_MAIN).


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


async def work(log):
    try:
        raise OSError("connection reset")
    except OSError:
        time.sleep(0.05)
        log.append("logged")
        raise
''' + CANCEL_TWICE),
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
    path.write_text(source + OBSERVE_MAIN, encoding="utf-8")
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


# -- what other files reach through the module ----------------------------------
#
# A project of a few files: ``retry.py`` sleeps in a coroutine; another file
# reaches its ``time`` (or ``sleep``) through the module. ``main.py`` prints
# what the program does. It is run, ``asyncmend fix .`` runs, it is run
# again: the same output. And the rewrite AM101 made before it looked at the
# other files (the sleep awaited, the import gone) changes that output, so
# each case matters.

RETRY = '''import time


async def retry(operation, attempts=3, delay=0.5):
    for attempt in range(attempts):
        try:
            return await operation()
        except ConnectionError:
            if attempt == attempts - 1:
                raise
            time.sleep(delay * 2 ** attempt)
'''

RETRY_FROM_SLEEP = RETRY.replace("import time\n", "from time import sleep\n").replace("time.sleep(", "sleep(")

# A sleep of a literal delay, which raises nothing a handler could see.
SETTLE = '''import time


async def settle(times):
    for _ in range(times):
        time.sleep(0.01)
    return f"settled {times}"
'''

# What every main.py shares: a flaky operation that succeeds the third time.
FLAKY = '''import asyncio
import json
import sys

sys.dont_write_bytecode = True


def flaky():
    calls = []

    async def operation():
        calls.append(1)
        if len(calls) <= 2:
            raise ConnectionError("reset")
        return "ok"

    return operation


def run(coroutine):
    try:
        return asyncio.run(coroutine)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
'''

REACHED: dict[str, dict[str, str]] = {
    "mock_patch_module_time": {"retry.py": RETRY, "main.py": FLAKY + '''
from unittest import mock

import retry

try:
    with mock.patch("retry.time.sleep") as sleep:
        result = run(retry.retry(flaky()))
    print(json.dumps([result, [list(call.args) for call in sleep.call_args_list]]))
except Exception as exc:
    print(json.dumps(f"{type(exc).__name__}: {exc}"))
'''},
    # (What the fix calls replaced: ``await`` meets what the lambda gives.)
    "asyncio_sleep_patched_with_a_plain_function": {"retry.py": SETTLE, "main.py": FLAKY + '''
from unittest import mock

import retry



def main():
    slept = []
    with mock.patch("asyncio.sleep", slept.append):
        try:
            result = asyncio.run(retry.settle(3))
        except TypeError as exc:
            result = f"TypeError: {exc}"
    print(json.dumps([result, slept]))


main()
'''},
    "monkeypatch_setattr_string": {"retry.py": RETRY, "main.py": FLAKY + '''
import pytest

import retry

slept = []
try:
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr("retry.time.sleep", slept.append)
        result = run(retry.retry(flaky()))
    print(json.dumps([result, slept]))
except Exception as exc:
    print(json.dumps(f"{type(exc).__name__}: {exc}"))
'''},
    "patch_object_module_attribute": {"retry.py": RETRY, "main.py": FLAKY + '''
from unittest import mock

import retry

try:
    with mock.patch.object(retry.time, "sleep") as sleep:
        result = run(retry.retry(flaky()))
    print(json.dumps([result, sleep.call_count]))
except Exception as exc:
    print(json.dumps(f"{type(exc).__name__}: {exc}"))
'''},
    "module_attribute_used": {"retry.py": RETRY, "main.py": FLAKY + '''
import retry

try:
    print(json.dumps(retry.time.monotonic() > 0))
except Exception as exc:
    print(json.dumps(f"{type(exc).__name__}: {exc}"))
'''},
    "from_module_import_time": {"retry.py": RETRY, "clock.py": "from retry import time\n", "main.py": FLAKY + '''
try:
    import clock

    print(json.dumps(clock.time.monotonic() > 0))
except Exception as exc:
    print(json.dumps(f"{type(exc).__name__}: {exc}"))
'''},
    "from_module_import_sleep": {"retry.py": RETRY_FROM_SLEEP, "main.py": FLAKY + '''
try:
    from retry import sleep

    print(json.dumps(sleep.__name__))
except Exception as exc:
    print(json.dumps(f"{type(exc).__name__}: {exc}"))
'''},
    "mock_patch_from_import_sleep": {"retry.py": RETRY_FROM_SLEEP, "main.py": FLAKY + '''
from unittest import mock

import retry

try:
    with mock.patch("retry.sleep") as sleep:
        result = run(retry.retry(flaky()))
    print(json.dumps([result, sleep.call_count]))
except Exception as exc:
    print(json.dumps(f"{type(exc).__name__}: {exc}"))
'''},
    "time_sleep_patched_where_the_module_is_imported": {"retry.py": RETRY, "main.py": FLAKY + '''
import time
from unittest import mock

import retry

with mock.patch.object(time, "sleep") as sleep:
    result = run(retry.retry(flaky(), delay=0.3))
print(json.dumps([result, sleep.call_count]))
'''},
}


def _without_the_look(source: str) -> str:
    """What AM101 wrote before it looked at other files: the sleep awaited
    and the import that bound it gone."""
    return _naive(source).replace("from time import sleep\n", "import asyncio\n").replace(
        "import time\n", "import asyncio\n", 1
    )


@pytest.mark.parametrize("name", sorted(REACHED))
def test_what_another_file_reaches_through_the_module_keeps_working(name: str, tmp_path: Path) -> None:
    files = REACHED[name]
    project = tmp_path / "project"
    write_project(project, files)
    before = project_output(project)
    fixed = run_cli(["fix", "-j", "1", "."], project)
    assert fixed.exit_code in (0, 1), fixed.output
    assert project_output(project) == before
    # Without the look across files the program changes: the case matters.
    naive = tmp_path / "naive"
    write_project(naive, {**files, "retry.py": _without_the_look(files["retry.py"])})
    assert project_output(naive) != before


def test_a_sleep_another_file_patches_is_reported_with_that_file_and_not_fixed(tmp_path: Path) -> None:
    write_project(tmp_path, REACHED["mock_patch_module_time"])
    check = run_cli(["check", "--no-cache", "-j", "1", "."], tmp_path)
    assert "retry.py:11:13: AM101" in check.output
    assert "(not fixed: main.py may replace this `time.sleep`" in check.output


def test_an_import_another_file_reaches_stays_while_the_sleep_is_fixed(tmp_path: Path) -> None:
    write_project(tmp_path, REACHED["module_attribute_used"])
    run_cli(["fix", "-j", "1", "."], tmp_path)
    assert (tmp_path / "retry.py").read_text() == (
        "import asyncio\n" + RETRY.replace("time.sleep(", "await asyncio.sleep(")
    )


def test_a_test_of_the_project_outside_the_run_is_seen_too(tmp_path: Path) -> None:
    # `fix src/retry.py` in a project whose tests patch it: the test is not
    # in the run, but it is in the project (a pyproject.toml marks its root).
    test = REACHED["mock_patch_module_time"]["main.py"].replace("import retry", "from src import retry")
    write_project(tmp_path, {"pyproject.toml": "[project]\nname = 'demo'\n", "src/retry.py": RETRY,
                        "tests/test_retry.py": test.replace('"retry.time.sleep"', '"src.retry.time.sleep"')})
    run_cli(["fix", "src/retry.py"], tmp_path)
    assert (tmp_path / "src" / "retry.py").read_text() == RETRY
    # Without a project around it, only the files of the run are looked at.
    (tmp_path / "pyproject.toml").unlink()
    run_cli(["fix", "src/retry.py"], tmp_path)
    assert "await asyncio.sleep" in (tmp_path / "src" / "retry.py").read_text()


CONFTEST = '''import time

import pytest


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
'''

TEST_POLL = '''import asyncio
import time

import poll


def test_polls_until_ready():
    states = iter([False, False, True])

    async def check():
        return next(states)

    started = time.monotonic()
    assert asyncio.run(poll.poll_until_ready(check)) == "ready"
    assert time.monotonic() - started < 5
'''

POLL = '''import time


async def poll_until_ready(check, interval=30):
    while not await check():
        time.sleep(interval)
    return "ready"
'''


def test_a_conftest_that_patches_time_sleep_holds_back_the_sleeps_below_it(tmp_path: Path) -> None:
    # The test imports `poll`; the conftest.py above makes every sleep free.
    # After a fix, the test would wait 30 seconds twice, for real.
    write_project(tmp_path, {"conftest.py": CONFTEST, "poll.py": POLL, "tests/test_poll.py": TEST_POLL})
    check = run_cli(["check", "--no-cache", "-j", "1", "poll.py", "conftest.py"], tmp_path)
    assert "(not fixed: conftest.py may replace this `time.sleep`" in check.output
    run_cli(["fix", "-j", "1", "."], tmp_path)
    assert (tmp_path / "poll.py").read_text() == POLL


def test_the_look_across_files_parses_only_what_may_reach_the_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asyncmend.codemods import Options, check_paths

    project = tmp_path / "project"
    write_project(project, {
        "retry.py": RETRY,
        "test_retry.py": REACHED["mock_patch_module_time"]["main.py"],
        # Files that import the module, or sleep, or both, and reach
        # nothing of its own imports: their bytes rule them out.
        **{f"user{n}.py": f"import retry\nimport time\n\n\nasync def go{n}():\n    await retry.retry(None)\n"
           for n in range(20)},
        **{f"other{n}.py": f"import asyncio\n\n\nasync def idle{n}():\n    await asyncio.sleep({n})\n"
           for n in range(20)},
    })
    parsed = parses_of_the_look(monkeypatch)
    options = Options(cache_dir=str(tmp_path / "cache"))

    def fixable() -> list[bool]:
        return [f.fixable for r in check_paths([str(project)], options) for f in r.findings if f.code == "AM101"]

    assert fixable() == [False]
    # The file a fix may rewrite, and the one that patches it.
    assert sorted(parsed) == sorted([RETRY.encode(), REACHED["mock_patch_module_time"]["main.py"].encode()])
    parsed.clear()
    assert fixable() == [False]
    assert parsed == []  # a warm run parses nothing


# -- what the callers see -------------------------------------------------------
#
# Each program below runs as written and as AM101 would rewrite its sleep
# without looking at the callers (``time.sleep(`` -> ``await
# asyncio.sleep(``): the two do different things. AM101 finds the caller
# (in the module or another one, one or two calls up, or a decorator's
# wrapper), leaves the program as it was and says why. A deadlock prints
# TIMEOUT (see OBSERVE_MAIN).

NAIVE_SLEEP = [("time.sleep(", "await asyncio.sleep(")]

# A coroutine that blocks longer than the callers below wait.
STEP = '''import time


async def step(name):
    time.sleep(0.05)
    return f"{name} done"
'''

SEEN_BY_CALLERS: dict[str, tuple[str, str, dict[str, str]]] = {
    "lock_held_by_a_caller_of_another_module": ("`service.save` (line 6) holds `db.LOCK`", "db.py", {
        "db.py": '''import asyncio
import threading
import time

LOCK = threading.Lock()
TABLE = []


async def insert(row):
    time.sleep(0.01)  # the driver is synchronous
    TABLE.append(row)
''',
        "service.py": '''import db


async def save(row):
    with db.LOCK:
        await db.insert(row)
    return f"saved {row}"
''',
        "main.py": '''import asyncio

import service


async def main():
    return await asyncio.gather(service.save("x"), service.save("y"))
''' + OBSERVE_MAIN}),
    "semaphore_taken_two_calls_up_with_acquire": ("takes a lock with a plain `.acquire()`", "convert.py", {
        "convert.py": '''import asyncio
import threading
import time

SLOTS = threading.Semaphore(1)


async def convert(doc):
    time.sleep(0.01)  # the converter is single-threaded
    return doc.upper()


async def convert_all(docs):
    return [await convert(doc) for doc in docs]


async def convert_limited(docs):
    SLOTS.acquire()
    try:
        return await convert_all(docs)
    finally:
        SLOTS.release()
''',
        "main.py": '''import asyncio

import convert


async def main():
    return await asyncio.gather(convert.convert_limited(["a"]), convert.convert_limited(["b"]))
''' + OBSERVE_MAIN}),
    "rlock_of_a_decorator_in_another_module": ("the wrapper of the decorator `locks.synchronized`", "section.py", {
        "locks.py": '''import functools


def synchronized(lock):
    def decorate(fn):
        @functools.wraps(fn)
        async def wrapper(*args, **kwargs):
            with lock:
                return await fn(*args, **kwargs)

        return wrapper

    return decorate
''',
        "section.py": '''import asyncio
import threading
import time

from locks import synchronized

LOCK = threading.RLock()


@synchronized(LOCK)
async def critical(name, trace):
    trace.append(f"{name} enter")
    time.sleep(0.01)  # mutate the shared file
    trace.append(f"{name} leave")
''',
        "main.py": '''import asyncio

import section


async def main():
    trace = []
    await asyncio.gather(section.critical("a", trace), section.critical("b", trace))
    return trace
''' + OBSERVE_MAIN}),
    "negative_delay_caught_by_a_caller_of_another_module": ("`jobs.send_reminder` (line 6) catches `ValueError`", "throttle.py", {
        "throttle.py": '''import asyncio
import time


async def pause_until(when):
    time.sleep(when - time.monotonic())
''',
        "jobs.py": '''import throttle


async def send_reminder(user, when):
    try:
        await throttle.pause_until(when)
    except ValueError:
        return f"reminder for {user} is stale, dropped"
    return f"reminder sent to {user}"
''',
        "main.py": '''import time

import jobs


async def main():
    return await jobs.send_reminder("ann", time.monotonic() - 5)
''' + OBSERVE_MAIN}),
    "huge_delay_caught_two_calls_up": ("`client.fetch` (line 6) catches `OverflowError`", "http_retry.py", {
        "http_retry.py": '''import asyncio
import time


async def honour_retry_after(headers):
    time.sleep(float(headers["Retry-After"]))


async def retry(headers):
    await honour_retry_after(headers)
    return "retried"
''',
        "client.py": '''import http_retry


async def fetch(headers):
    try:
        return await http_retry.retry(headers)
    except OverflowError:
        return "server asked for an absurd delay; giving up"
''',
        "main.py": '''import client


async def main():
    return await client.fetch({"Retry-After": "1e20"})
''' + OBSERVE_MAIN}),
    "odd_delay_caught_by_a_broad_handler": ("`api.call` (line 6) catches `ValueError` around the call (with `Exception`)", "backoff.py", {
        "backoff.py": '''import asyncio
import time


async def wait(headers):
    time.sleep(headers.get("Retry-After"))
''',
        "api.py": '''import backoff


async def call(headers):
    try:
        await backoff.wait(headers)
    except Exception as exc:
        return f"bad Retry-After: {exc}"
    return "ok"
''',
        "main.py": '''import api


async def main():
    return await api.call({})
''' + OBSERVE_MAIN}),
    "timeout_of_a_caller_of_another_module": ("waits for it under `asyncio.wait_for()`", "fetcher.py", {
        "fetcher.py": '''import asyncio
import time


async def fetch_config():
    time.sleep(0.1)  # read from the slow config server
    return {"debug": False}
''',
        "app.py": '''import asyncio

import fetcher


async def load():
    try:
        return await asyncio.wait_for(fetcher.fetch_config(), timeout=0.05)
    except asyncio.TimeoutError:
        return "fell back to defaults"
''',
        "main.py": '''import app


async def main():
    return await app.load()
''' + OBSERVE_MAIN}),
    "driven_without_a_loop_by_another_module": ("hands it to `syncrun.run_sync()`", "settings.py", {
        "settings.py": '''import asyncio
import time


async def load():
    time.sleep(0.01)  # let the config file settle
    return {"debug": True}
''',
        "syncrun.py": '''def run_sync(coro):
    """Run a coroutine that never suspends, without an event loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("coroutine suspended; use the async API")
''',
        "facade.py": '''import settings
import syncrun


def load_settings():
    return syncrun.run_sync(settings.load())
''',
        "main.py": '''import facade


def main():
    return facade.load_settings()
''' + OBSERVE_MAIN}),
    "cleanup_of_a_caller_of_another_module": ("`worker.consume` (line 10) awaits it in a `finally` block", "storage.py", {
        "storage.py": '''import asyncio
import time


async def flush(log):
    time.sleep(0.05)  # write the journal
    log.append("flushed")
''',
        "worker.py": '''import asyncio

import storage


async def consume(log):
    try:
        await asyncio.sleep(10)
    finally:
        await storage.flush(log)
''',
        "main.py": '''import asyncio

import worker


async def main():
    log = []
    task = asyncio.create_task(worker.consume(log))
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.sleep(0.01)
    task.cancel()
    try:
        await task
    except BaseException as exc:
        log.append(type(exc).__name__)
    return log
''' + OBSERVE_MAIN}),
    "checked_by_a_caller_changed_by_the_callee": ("reads `wallet.balance` before the call", "ledger.py", {
        "ledger.py": '''import asyncio
import time


class Wallet:
    def __init__(self, balance):
        self.balance = balance

    async def debit(self, amount):
        time.sleep(0.01)  # persist the transaction
        self.balance -= amount
''',
        "shop.py": '''from ledger import Wallet


async def buy(wallet: Wallet, price, item):
    if wallet.balance < price:
        return f"{item}: declined"
    await wallet.debit(price)
    return f"{item}: bought"
''',
        "main.py": '''import asyncio

import ledger
import shop


async def main():
    wallet = ledger.Wallet(50)
    results = await asyncio.gather(shop.buy(wallet, 40, "lamp"), shop.buy(wallet, 40, "chair"))
    return [results, wallet.balance]
''' + OBSERVE_MAIN}),
    # A decorator that is an object of a class of the project: its
    # ``__call__`` makes the wrapper.
    "deadline_of_a_decorator_class_on_a_caller": ("is decorated with `limits.Deadline` of the project", "work.py", {
        "work.py": STEP,
        "limits.py": '''import asyncio
import functools


class Deadline:
    def __init__(self, seconds):
        self.seconds = seconds

    def __call__(self, fn):
        @functools.wraps(fn)
        async def inner(*args):
            return await asyncio.wait_for(fn(*args), self.seconds)
        return inner
''',
        "main.py": '''import asyncio

import limits
import work


@limits.Deadline(0.02)
async def fetch(name):
    return await work.step(name)


async def main():
    try:
        return await fetch("a")
    except asyncio.TimeoutError:
        return "timed out"
''' + OBSERVE_MAIN}),
    # A registry built by introspection calls the coroutine under no name.
    "called_through_a_registry_of_the_modules_names": ("`registry` lists the names of `work`", "work.py", {
        "work.py": STEP,
        "registry.py": "import inspect\n\nimport work\n\nHANDLERS = dict(inspect.getmembers(work, inspect.iscoroutinefunction))\n",
        "main.py": '''import asyncio

import registry


async def main():
    try:
        handler = next(iter(registry.HANDLERS.values()))
        return await asyncio.wait_for(handler("a"), 0.02)
    except asyncio.TimeoutError:
        return "timed out"
''' + OBSERVE_MAIN}),
    "lock_of_a_decorator_class_on_the_coroutine": ("is decorated with `locks.Serialized` of the project", "work.py", {
        "work.py": STEP.replace("import time\n", "import time\n\nimport locks\n").replace(
            "async def step", "@locks.Serialized()\nasync def step"
        ),
        "locks.py": '''import functools
import threading


class Serialized:
    def __init__(self):
        self.lock = threading.Lock()

    def __call__(self, fn):
        @functools.wraps(fn)
        async def wrapper(name):
            if not self.lock.acquire(timeout=0.2):
                return f"{name}: lock busy"
            try:
                return await fn(name)
            finally:
                self.lock.release()
        return wrapper
''',
        "main.py": '''import asyncio

import work


async def main():
    return await asyncio.gather(work.step("a"), work.step("b"))
''' + OBSERVE_MAIN}),
}


@pytest.mark.parametrize("name", sorted(SEEN_BY_CALLERS))
def test_a_sleep_whose_callers_see_the_new_suspension_is_left_alone(name: str, tmp_path: Path) -> None:
    reason, target, files = SEEN_BY_CALLERS[name]
    guarded_across_files(tmp_path, files, target, NAIVE_SLEEP, reason)


def test_a_sleep_whose_callers_show_nothing_is_fixed_and_does_the_same(tmp_path: Path) -> None:
    files = {
        "poll.py": '''import asyncio
import time


async def poll(delay):
    time.sleep(delay)
    return "polled"
''',
        "client.py": '''import asyncio

import poll


class ClientError(Exception):
    pass


async def once(delay):
    try:
        return await poll.poll(delay)
    except (ClientError, KeyError):
        return "failed"


async def guarded(lock, delay):
    async with lock:
        return await poll.poll(delay)
''',
        "main.py": '''import asyncio

import client
import poll


async def main():
    lock = asyncio.Lock()
    gathered = await asyncio.gather(client.once(0.01), client.guarded(lock, 0.01), poll.poll(0))
    return [gathered]
''' + OBSERVE_MAIN,
    }
    fixed = fixed_across_files(tmp_path, files, "poll.py")
    assert "await asyncio.sleep(delay)" in fixed


def test_a_sleep_in_a_coroutine_run_as_a_task_is_an_unsafe_fix(tmp_path: Path) -> None:
    """``create_task(poll.poll(...))``: what waits for the task (a timeout,
    a callback reading its exception) is not followed, so the fix is not
    shown harmless: reported as unsafe, applied with ``--unsafe-fixes``."""
    files = {
        "poll.py": "import time\n\n\nasync def poll(delay):\n    time.sleep(delay)\n    return 'polled'\n",
        "main.py": (
            "import asyncio\n\nimport poll\n\n\nasync def main():\n"
            "    task = asyncio.create_task(poll.poll(0.01))\n    return await task\n"
        ),
    }
    fixed_only_when_unsafe(tmp_path, files, "poll.py", "runs it as a task", "await asyncio.sleep(delay)")


def test_a_sleep_in_a_coroutine_named_where_no_call_is_seen_is_an_unsafe_fix(tmp_path: Path) -> None:
    """``ROUTES["/"] = pages.slow``: the registry's caller may hold a lock
    or a deadline the model cannot see."""
    files = {
        "pages.py": "import time\n\n\nasync def slow():\n    time.sleep(0.01)\n    return 'page'\n",
        "main.py": (
            "import asyncio\n\nimport pages\n\nROUTES = {'/': pages.slow}\n\n\n"
            "async def main():\n    return await asyncio.wait_for(ROUTES['/'](), 1)\n"
        ),
    }
    fixed_only_when_unsafe(
        tmp_path, files, "pages.py", "`slow` is named in `main` where the model resolves no call of it",
        "await asyncio.sleep(0.01)",
    )


BUDGET = """
import asyncio


class Budget:
    def __init__(self, seconds):
        self._timeout = asyncio.timeout(seconds)

    async def __aenter__(self):
        return await self._timeout.__aenter__()

    async def __aexit__(self, *exc):
        return await self._timeout.__aexit__(*exc)


GUARD = Budget(0.02)
"""

STEP = "import time\n\n\nasync def step(name):\n    time.sleep(0.05)\n    return f'{name} done'\n"


@pytest.mark.parametrize(
    ("manager", "shown"),
    [("limits.Budget(0.02)", "`limits.Budget()` of the project"), ("GUARD", "`GUARD` of the project")],
    ids=["a-class-of-the-project", "an-object-of-a-class-of-the-project"],
)
def test_a_caller_under_an_async_manager_of_the_project_makes_the_fix_unsafe(tmp_path: Path, manager: str, shown: str) -> None:
    """``Budget`` wraps ``asyncio.timeout``: its ``__aenter__`` sets a
    deadline the model does not read, which the new ``await`` would let
    fire."""
    main = (
        "import limits\nfrom limits import GUARD\nfrom work import step\n\n\n"
        f"async def main():\n    async with {manager}:\n        return await step('a')\n"
    )
    files = {"pyproject.toml": "", "limits.py": BUDGET, "work.py": STEP, "main.py": main}
    fixed_only_when_unsafe(tmp_path, files, "work.py", shown, "await asyncio.sleep(0.05)")


@pytest.mark.parametrize(
    "patch",
    ['mock.patch("asyncio.sleep")', 'mock.patch("asyncio.sleep", new_callable=mock.AsyncMock)',
     'mock.patch("asyncio.sleep", mock.AsyncMock())', 'mock.patch("asyncio.sleep", side_effect=None)'],
)
def test_a_patch_of_asyncio_sleep_that_stays_awaitable_leaves_the_fix_safe(tmp_path: Path, patch: str) -> None:
    """``mock.patch`` makes an ``AsyncMock`` for a coroutine function: the
    new ``await`` meets an awaitable, and the fix stays safe (applied by a
    plain ``fix``), and the patched test does what it did."""
    files = {
        "retry.py": SETTLE,
        "main.py": FLAKY + f'''
from unittest import mock

import retry


def main():
    with {patch}:
        result = asyncio.run(retry.settle(3))
    print(json.dumps(result))


main()
''',
    }
    project = tmp_path / "project"
    write_project(project, files)
    before = project_output(project)
    run_cli(["fix", "--no-cache", "-j", "1", "."], project)
    assert "await asyncio.sleep(0.01)" in (project / "retry.py").read_text()
    assert project_output(project) == before
