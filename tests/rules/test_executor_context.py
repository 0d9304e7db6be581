"""AM402 executor-context: which ``run_in_executor`` calls it reports (with or
without a fix) and which it leaves alone, and that after the fix the worker
sees the caller's context variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import (
    OBSERVE_MAIN,
    event_loop_class,
    fixed_across_files,
    fixed_only_when_unsafe,
    guarded_across_files,
    run_cli,
    write_project,
)
from tests.helpers import fixed_by as _fixed
from tests.helpers import fixture_findings as _findings
from tests.helpers import printed as _run

# -- findings and messages ----------------------------------------------------
#
# The fixture test proves the no-op files come out unchanged; these prove the
# rule did not simply miss them where a report is owed, and stays quiet where
# the code is not a pitfall.

REPORTED_WITHOUT_FIX = [
    "executor_context/noop_unknown_executor",
    "executor_context/noop_closure_pool",
    "executor_context/noop_worker_in_another_module_changes_the_decimal_context",
    "executor_context/noop_worker_in_another_module_sets_a_context_variable",
    "executor_context/noop_worker_sets_a_context_variable_made_by_a_factory",
    "executor_context/noop_default_executor_installed_by_another_module",
]


@pytest.mark.parametrize("case", REPORTED_WITHOUT_FIX)
def test_unfixable_site_is_reported_without_a_fix(case: str) -> None:
    findings = _findings(case)
    assert findings, "the pitfall was not reported"
    assert all(not f.fixable and not f.fixed for f in findings)


# -- guards -------------------------------------------------------------------

NOT_REPORTED = [
    "executor_context/noop_process_pool",
    "executor_context/noop_other_object",
    "executor_context/noop_already_copies_context",
    "executor_context/noop_loop_parameter",
    "executor_context/noop_loop_rebound",
]


@pytest.mark.parametrize("case", NOT_REPORTED)
def test_site_that_is_not_the_pitfall_is_not_reported(case: str) -> None:
    assert _findings(case) == []


# -- behaviour ----------------------------------------------------------------
#
# The rewrite changes which values a worker sees: the program is fixed by the
# tool itself (``fix_source``), then the original and the fixed text run in a
# fresh interpreter, and what they print is compared.

CONTEXT_INTO_EXECUTOR = '''\
import asyncio
import contextvars
import json
from concurrent.futures import ThreadPoolExecutor

request_id = contextvars.ContextVar("request_id", default="unset")


def worker():
    return request_id.get()


async def default_executor():
    request_id.set("default")
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, worker)


async def kept_future():
    request_id.set("future")
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(None, worker)
    await asyncio.sleep(0)
    return await future


async def thread_pool():
    request_id.set("pool")
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return await loop.run_in_executor(pool, worker)


async def main():
    return [await default_executor(), await kept_future(), await thread_pool()]


print(json.dumps(asyncio.run(main())))
'''


def test_worker_sees_the_callers_context_variable_only_after_the_fix(tmp_path: Path) -> None:
    fixed = _fixed(CONTEXT_INTO_EXECUTOR, "AM402")
    # All three forms of the rewrite are exercised.
    assert "asyncio.to_thread(worker)" in fixed
    assert fixed.count("contextvars.copy_context().run") == 2

    before = _run(CONTEXT_INTO_EXECUTOR, tmp_path, "before")
    after = _run(fixed, tmp_path, "after")

    assert before == ["unset", "unset", "unset"]
    assert after == ["default", "future", "pool"]


# -- what the worker does, in other modules -------------------------------------
#
# Each program runs as written and as AM402 would rewrite it without looking
# at the worker's module: the two print different things. AM402 follows the
# worker into its module (and what it calls) and the default executor into
# the module that installs it, leaves the program as it was and says why.

PRICING = """import decimal
from decimal import Decimal


def exact_sum(values):
    return str(sum(Decimal(v) for v in values))


def rounded_total(prices):
    # Reports are rounded to four significant digits.
    decimal.getcontext().prec = 4
    return str(sum(Decimal(p) for p in prices))
"""

RUN_APP = """import app


async def main():
    return await app.run()
""" + OBSERVE_MAIN

WORKER_IN_ANOTHER_MODULE: dict[str, tuple[str, list[tuple[str, str]], dict[str, str]]] = {
    "a_context_variable_a_class_holds_set_by_a_classmethod": (
        "sets the context variable `cls.current`",
        [("await loop.run_in_executor(POOL, ", "await loop.run_in_executor(POOL, contextvars.copy_context().run, "),
         ("import asyncio\n", "import asyncio\nimport contextvars\n")],
        {"sessions.py": """import contextvars
import itertools

_MADE = itertools.count()


class Sessions:
    current = contextvars.ContextVar("session")

    @classmethod
    def get(cls):
        # A per-thread cache: the worker thread keeps its session.
        try:
            return cls.current.get()
        except LookupError:
            session = f"s{next(_MADE)}"
            cls.current.set(session)
            return session


def load(key):
    return f"{key}:{Sessions.get()}"
""", "main.py": RUN_APP, "app.py": """import asyncio
from concurrent.futures import ThreadPoolExecutor

import sessions

POOL = ThreadPoolExecutor(max_workers=1)


async def run():
    loop = asyncio.get_running_loop()
    return [await loop.run_in_executor(POOL, sessions.load, key) for key in "abc"]
"""}),
    "a_context_variable_of_a_third_module_set_by_the_worker": (
        "sets the context variable `state.SESSION`",
        [("await loop.run_in_executor(POOL, ", "await loop.run_in_executor(POOL, contextvars.copy_context().run, "),
         ("import asyncio\n", "import asyncio\nimport contextvars\n")],
        {"state.py": """import contextvars

SESSION = contextvars.ContextVar("session", default=None)
""", "sessions.py": """import itertools

import state

_MADE = itertools.count()


def load(key):
    # A per-thread cache: the worker thread keeps its session between calls.
    session = state.SESSION.get()
    if session is None:
        session = f"s{next(_MADE)}"
        state.SESSION.set(session)
    return f"{key}:{session}"
""", "main.py": RUN_APP, "app.py": """import asyncio
from concurrent.futures import ThreadPoolExecutor

import sessions

POOL = ThreadPoolExecutor(max_workers=1)


async def run():
    loop = asyncio.get_running_loop()
    return [await loop.run_in_executor(POOL, sessions.load, key) for key in "abc"]
"""}),
    "decimal_precision_set_by_the_worker": (
        "the worker `pricing.rounded_total` changes the decimal context",
        [("await loop.run_in_executor(None, ", "await asyncio.to_thread(")],
        {"pricing.py": PRICING, "main.py": RUN_APP, "app.py": """import asyncio

import pricing


async def run():
    loop = asyncio.get_running_loop()
    before = pricing.exact_sum(["1.000001", "2.000001"])
    total = await loop.run_in_executor(None, pricing.rounded_total, ["1.23456", "2.34567"])
    after = pricing.exact_sum(["1.000001", "2.000001"])
    return [before, total, after]
"""}),
    "decimal_rounding_set_by_a_helper_in_a_third_module": (
        "the worker `settlement.settle` calls `money.to_cents`, which changes the decimal context",
        [("import asyncio\n", "import asyncio\nimport contextvars\n"),
         ("run_in_executor(POOL, ", "run_in_executor(POOL, contextvars.copy_context().run, ")],
        {"money.py": """import decimal
from decimal import Decimal


def to_cents(amount):
    decimal.getcontext().rounding = decimal.ROUND_DOWN  # the bank truncates
    return Decimal(amount).quantize(Decimal("0.01"))


def share(total, parts):
    return str(Decimal(total) / parts)
""", "settlement.py": """import money


def settle(amounts):
    return [str(money.to_cents(a)) for a in amounts]
""", "main.py": RUN_APP, "app.py": """import asyncio
from concurrent.futures import ThreadPoolExecutor

import money
import settlement

POOL = ThreadPoolExecutor(max_workers=1)


async def run():
    loop = asyncio.get_running_loop()
    before = money.share("2", 3)
    cents = await loop.run_in_executor(POOL, settlement.settle, ["1.239", "4.561"])
    after = money.share("2", 3)
    return [before, cents, after]
"""}),
    "context_variable_kept_by_the_worker_thread": (
        "the worker `db.query` sets the context variable `_CONNECTION`",
        [("import asyncio\n", "import asyncio\nimport contextvars\n"),
         ("run_in_executor(DB_THREAD, ", "run_in_executor(DB_THREAD, contextvars.copy_context().run, ")],
        {"db.py": """import contextvars

_CONNECTION = contextvars.ContextVar("connection")
OPENED = []


def query(sql):
    try:
        conn = _CONNECTION.get()
    except LookupError:
        conn = f"conn-{len(OPENED) + 1}"
        OPENED.append(conn)
        _CONNECTION.set(conn)
    return f"{conn}: {sql}"
""", "main.py": RUN_APP, "app.py": """import asyncio
from concurrent.futures import ThreadPoolExecutor

import db

DB_THREAD = ThreadPoolExecutor(max_workers=1)


async def run():
    loop = asyncio.get_running_loop()
    first = await loop.run_in_executor(DB_THREAD, db.query, "select 1")
    second = await loop.run_in_executor(DB_THREAD, db.query, "select 2")
    return [first, second, len(db.OPENED)]
"""}),
    "default_executor_with_an_initializer_installed_elsewhere": (
        "the module `setup` installs a default executor",
        [("await loop.run_in_executor(None, ", "await asyncio.to_thread(")],
        {"calc.py": """from decimal import Decimal


def ratio(a, b):
    return str(Decimal(a) / Decimal(b))
""", "setup.py": """import asyncio
import decimal
from concurrent.futures import ThreadPoolExecutor


def _init_worker():
    decimal.getcontext().prec = 6


def install():
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=1, initializer=_init_worker)
    )
""", "main.py": RUN_APP, "app.py": """import asyncio

import calc
import setup


async def run():
    setup.install()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, calc.ratio, "1", "3")
"""}),
}


@pytest.mark.parametrize("name", sorted(WORKER_IN_ANOTHER_MODULE))
def test_a_worker_whose_contexts_a_copy_would_change_is_left_alone(name: str, tmp_path: Path) -> None:
    reason, naive, files = WORKER_IN_ANOTHER_MODULE[name]
    guarded_across_files(tmp_path, files, "app.py", naive, reason)


def test_a_worker_in_another_module_that_changes_no_context_is_fixed_and_does_the_same(tmp_path: Path) -> None:
    files = {
        "report.py": """import contextvars
import decimal

USER = contextvars.ContextVar("user", default="anonymous")


def rounded_total(rows):
    with decimal.localcontext() as ctx:
        ctx.prec = 4
        return str(sum(decimal.Decimal(r) for r in rows))


def current_user():
    return USER.get()
""",
        "boot.py": """import asyncio
from concurrent.futures import ThreadPoolExecutor


def install():
    executor = ThreadPoolExecutor(thread_name_prefix="worker", max_workers=2)
    asyncio.get_running_loop().set_default_executor(executor)
""",
        "main.py": RUN_APP,
        "app.py": """import asyncio

import boot
import report


async def run():
    boot.install()
    report.USER.set("ann")
    loop = asyncio.get_running_loop()
    total = await loop.run_in_executor(None, report.rounded_total, ["1.23456", "2.34567"])
    exact = str(sum(report.decimal.Decimal(r) for r in ["1.000001", "2.000001"]))
    return [total, exact]
""",
    }
    fixed = fixed_across_files(tmp_path, files, "app.py")
    assert "await asyncio.to_thread(report.rounded_total," in fixed


@pytest.mark.parametrize(
    ("worker", "verdict"),
    [
        ("lambda: decimal_work()", "[unsafe fix]"),
        ("HANDLERS['work']", "[unsafe fix]"),
        ("functools.partial(decimal_work)", "(not fixed: the worker `work.decimal_work` changes the decimal context"),
    ],
    ids=["lambda", "registry", "partial"],
)
def test_a_worker_the_model_cannot_read_is_an_unsafe_fix(worker: str, verdict: str, tmp_path: Path) -> None:
    """A copied context shares the caller's decimal context and hides a
    thread's own context variables: where the model cannot read the worker
    (a lambda, a registry's item), the fix is unsafe; a ``partial``'s
    function it reads, and finds the decimal context changed."""
    source = (
        "import asyncio\nimport functools\n\nfrom work import decimal_work\n\nHANDLERS = {'work': decimal_work}\n\n\n"
        f"async def main():\n    loop = asyncio.get_running_loop()\n    return await loop.run_in_executor(None, {worker})\n"
    )
    write_project(tmp_path, {
        "work.py": "import decimal\n\n\ndef decimal_work():\n    decimal.getcontext().prec = 3\n    return 1\n",
        "main.py": source,
    })
    check = run_cli(["check", "--no-cache", "-j", "1", "main.py"], tmp_path)
    assert verdict in check.output, check.output
    run_cli(["fix", "--no-cache", "-j", "1", "main.py"], tmp_path)
    assert (tmp_path / "main.py").read_text() == source


def test_a_worker_method_with_overrides_the_model_reads_is_a_safe_fix(tmp_path: Path) -> None:
    """``self._read`` may run the base's method or a subclass's override:
    the model reads both, neither touches a context, and the fix is safe."""
    write_project(tmp_path, {
        "payload.py": (
            "import asyncio\n\n\nclass Payload:\n    def _read(self):\n        return b'base'\n\n"
            "    async def read(self):\n        loop = asyncio.get_running_loop()\n"
            "        return await loop.run_in_executor(None, self._read)\n\n\n"
            "class Gzipped(Payload):\n    def _read(self):\n        return b'gz'\n"
        ),
    })
    check = run_cli(["check", "--no-cache", "-j", "1", "payload.py"], tmp_path)
    assert "AM402" in check.output and "[*]" in check.output and "unsafe" not in check.output


DIVIDE = """
import asyncio
import operator


async def divide(a, b):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, operator.truediv, a, b)
"""


def test_a_project_that_uses_decimal_elsewhere_makes_the_fix_unsafe(tmp_path: Path) -> None:
    """The caller's module divides decimals through a library function in a
    worker: the copied context shares the caller's decimal context object,
    whose ``Inexact`` flag the worker would now set."""
    main = "import decimal\n\nimport app\n\n\nasync def main():\n    return await app.divide(decimal.Decimal(10), 3)\n"
    files = {"pyproject.toml": "", "app.py": DIVIDE, "main.py": main}
    fixed_only_when_unsafe(tmp_path, files, "app.py", "uses `decimal`", "asyncio.to_thread(operator.truediv, a, b)")


def test_a_project_with_an_event_loop_class_of_its_own_makes_the_fix_unsafe(tmp_path: Path) -> None:
    """A loop of the project overrides ``run_in_executor`` (logging
    ``func.__name__``, which the ``partial`` that ``to_thread`` hands it
    lacks)."""
    tracing = event_loop_class(
        "TracingLoop",
        "    def run_in_executor(self, executor, func, *args):\n        TracingLoop.log.append(func.__name__)\n"
        "        return super().run_in_executor(executor, func, *args)\n",
    )
    files = {"pyproject.toml": "", "app.py": DIVIDE, "tracing.py": tracing}
    fixed_only_when_unsafe(tmp_path, files, "app.py", "is an event loop of the project's", "asyncio.to_thread(operator.truediv, a, b)")
