"""AM402 executor-context: which ``run_in_executor`` calls it reports (with or
without a fix) and which it leaves alone, and that after the fix the worker
sees the caller's context variables."""

from __future__ import annotations

from pathlib import Path

import pytest

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
