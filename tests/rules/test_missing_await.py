"""AM302 missing-await: what it reports about a coroutine called without
``await`` (with a fix, or with advice where it cannot fix), what it never
guesses, and that the fixed program does the work the original skipped.

Its ``ast`` screen is checked beside AM301's, in test_dangling_task.py."""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

from tests.helpers import findings_of as _findings
from tests.helpers import fixed_by as _fixed

# -- findings and messages ----------------------------------------------------


def test_missing_await_outside_async_def_is_reported_with_advice_and_no_fix() -> None:
    findings = _findings(
        """\
        import asyncio

        async def save(x):
            pass

        class Model:
            def __init__(self):
                self.load()

            async def load(self):
                pass

        def sync_caller():
            save(1)

        save(0)
        """,
        "AM302",
    )
    assert [(f.line, f.fixable, f.fixed) for f in findings] == [
        (8, False, False),
        (14, False, False),
        (16, False, False),
    ]
    assert "make the caller `async def`" in findings[0].message
    assert "make the caller `async def`" in findings[1].message
    assert "asyncio.run(...)" in findings[2].message
    assert all("not fixed here" in f.message for f in findings)


def test_dropped_gather_is_reported_without_a_fix() -> None:
    # gather() already runs its arguments: awaiting it would make the caller wait.
    [finding] = _findings(
        """\
        import asyncio

        async def main(a, b):
            asyncio.gather(a(), b())
        """,
        "AM302",
    )
    assert not finding.fixable
    assert "asyncio.gather()" in finding.message
    assert "its arguments run in the background unreferenced" in finding.message


def test_dropped_gather_of_existing_tasks_says_what_is_lost() -> None:
    # The tasks are the caller's own: only gather's result and errors are lost.
    findings = _findings(
        """\
        import asyncio

        async def main(tasks):
            asyncio.gather(*tasks)
            asyncio.shield(tasks[0])
        """,
        "AM302",
    )
    assert [f.fixable for f in findings] == [False, False]
    for finding in findings:
        assert "its result and its errors are dropped" in finding.message
        assert "background" not in finding.message


# -- guards -------------------------------------------------------------------


def test_missing_await_never_guesses_from_a_method_name() -> None:
    assert _findings(
        """\
        class Connection:
            async def close(self):
                pass

        async def shutdown(log_file, conn):
            log_file.close()
            conn.close()
        """,
        "AM302",
    ) == []


# -- behaviour ----------------------------------------------------------------
#
# The original program and the one asyncmend makes of it are both executed,
# and what each one actually did is compared.

MISSING_AWAIT = '''\
import asyncio

saved = []


async def save(item):
    await asyncio.sleep(0)
    saved.append(item)


class Cart:
    def __init__(self):
        self.items = []

    async def persist(self):
        for item in self.items:
            save(item)

    async def checkout(self, item):
        self.items.append(item)
        self.persist()
        asyncio.sleep(0.01)
        return "ok"


async def main(item):
    return await Cart().checkout(item)
'''


def test_missing_await_saves_nothing_before_the_fix_and_saves_after() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        namespace: dict[str, Any] = {"__name__": "program_under_test"}
        exec(compile(MISSING_AWAIT, "program_under_test", "exec"), namespace)
        assert asyncio.run(namespace["main"]("book")) == "ok"
        gc.collect()
    assert namespace["saved"] == []
    assert any("was never awaited" in str(w.message) for w in caught)

    fixed = _fixed(MISSING_AWAIT, "AM302")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        namespace = {"__name__": "program_under_test"}
        exec(compile(fixed, "program_under_test", "exec"), namespace)
        assert asyncio.run(namespace["main"]("book")) == "ok"
        gc.collect()
    assert namespace["saved"] == ["book"]
    assert not any("was never awaited" in str(w.message) for w in caught)
