"""One run fixes what a second run would: a fix that makes another fix
possible is followed by it in the same run."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from asyncmend.codemods import Rule, Safety, Settings, fix_source
from asyncmend.codemods import rule as rule_module

from tests.helpers import run_cli

# AM101 adds `import asyncio`; only then may AM201 gather (in a module that
# does not import asyncio, AM201 reports without a fix).
SLEEP_THEN_FETCHES = b"""import time


async def handler(uid):
    time.sleep(1)
    user = await get_user(uid)
    orders = await get_orders(uid)
    return user, orders
"""

# AM302 adds the awaits that make a run AM201 can gather.
DROPPED_CALLS = b"""import asyncio


async def fetch_a():
    await asyncio.sleep(0.1)
    return 1


async def fetch_b():
    await asyncio.sleep(0.1)
    return 2


async def main():
    fetch_a()
    fetch_b()
"""


def test_gather_follows_the_import_added_for_a_sleep() -> None:
    result = fix_source(SLEEP_THEN_FETCHES, Settings())
    # `import time` goes, unused once the sleep is asyncio's.
    assert result.output == b"""import asyncio


async def handler(uid):
    await asyncio.sleep(1)
    user, orders = await asyncio.gather(get_user(uid), get_orders(uid))
    return user, orders
"""
    assert fix_source(result.output, Settings()).output == result.output
    # Each finding is placed on the line it has in the file as it was read.
    assert [(f.code, f.line, f.fixed) for f in result.findings] == [
        ("AM101", 5, True),
        ("AM201", 6, True),
    ]


def test_without_unsafe_fixes_the_gather_is_only_reported() -> None:
    safe_only = Settings(apply=frozenset({"AM101", "AM301", "AM302"}))
    result = fix_source(SLEEP_THEN_FETCHES, safe_only)
    assert b"await asyncio.sleep(1)" in result.output
    assert b"gather" not in result.output
    assert [(f.code, f.line, f.fixed) for f in result.findings] == [
        ("AM101", 5, True),
        ("AM201", 6, False),
    ]
    assert fix_source(result.output, safe_only).output == result.output


def test_awaits_added_by_am302_are_gathered_in_the_same_run() -> None:
    result = fix_source(DROPPED_CALLS, Settings())
    assert result.output.endswith(b"async def main():\n    await asyncio.gather(fetch_a(), fetch_b())\n")
    assert fix_source(result.output, Settings()).output == result.output
    assert sorted(f.code for f in result.findings if f.fixed) == ["AM302", "AM302"]


def test_a_declined_fix_stays_declined_after_the_text_moves() -> None:
    # The import added for line 6 shifts line 5's call down by one in the
    # second pass; the reviewer's "no" still applies to it.
    source = b"import time\n\n\nasync def f():\n    time.sleep(1)\n    time.sleep(2)\n"
    result = fix_source(source, Settings(declined=frozenset({("AM101", 5, 5)})))
    assert result.output == (
        b"import asyncio\nimport time\n\n\nasync def f():\n    time.sleep(1)\n    await asyncio.sleep(2)\n"
    )


# AM401 turns the threading.local into a context variable; a gather would run
# each call in a copy of the context, and `reader` would no longer see 5.
LOCAL_SET_THEN_READ = b"""import asyncio
import threading

state = threading.local()


async def setter():
    state.value = 5


async def reader():
    return getattr(state, "value", None)


async def main():
    await setter()
    await reader()
    return getattr(state, "value", None)
"""


def test_calls_that_set_what_am401_makes_context_variables_are_not_gathered() -> None:
    result = fix_source(LOCAL_SET_THEN_READ, Settings())
    assert b"state_value.set(5)" in result.output
    assert b"gather" not in result.output
    namespace: dict = {}
    exec(compile(result.output, "<fixed>", "exec"), namespace)
    assert namespace["asyncio"].run(namespace["main"]()) == 5


# A rule with a defect: it awaits every call it sees, which compiles only
# inside a coroutine.
class _AwaitEveryCall(Rule):
    CODE = "AM993"
    SLUG = "await-every-call"
    SAFETY = Safety.SAFE

    def __init__(self, context: cst.codemod.CodemodContext) -> None:
        super().__init__(context)
        self._awaited: set[cst.Call] = set()

    def visit_Await(self, node: cst.Await) -> None:
        if isinstance(node.expression, cst.Call):
            self._awaited.add(node.expression)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if original_node in self._awaited or not self.report(original_node, "await it"):
            return updated_node
        return cst.Await(updated_node)


TWO_CALLS = "async def f():\n    g()\n\n\ndef h():\n    g()\n"


def test_a_fix_that_would_not_compile_is_declined_and_the_others_stand() -> None:
    result = fix_source(TWO_CALLS, Settings(), rules=[_AwaitEveryCall])
    assert result.output == b"async def f():\n    await g()\n\n\ndef h():\n    g()\n"
    fixed, broken = result.findings
    assert (fixed.line, fixed.fixed) == (2, True)
    assert (broken.line, broken.fixable, broken.fixed) == (6, False, False)
    assert "internal error: its fix would not compile" in broken.message
    assert "outside async function" in broken.message


def test_each_fix_that_breaks_the_text_is_found_among_many() -> None:
    source = "".join(
        f"async def a{n}():\n    g()\n\n\n" if n % 3 else f"def b{n}():\n    g()\n\n\n" for n in range(12)
    )
    result = fix_source(source, Settings(), rules=[_AwaitEveryCall])
    declined = [f.line for f in result.findings if not f.fixable]
    assert declined == [2 + 4 * n for n in range(12) if n % 3 == 0]
    assert sum(f.fixed for f in result.findings) == 8
    compile(result.output, "<fixed>", "exec")


def test_check_shows_a_fix_that_would_not_compile_as_not_fixable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What `fix` would do, `check` says: the plain text output too.
    monkeypatch.setattr(rule_module, "_RULES", (*rule_module.rules(), _AwaitEveryCall))
    (tmp_path / "calls.py").write_text(TWO_CALLS)
    check = run_cli(["check", "--no-cache", "-j", "1", "--select", "AM993", "calls.py"], tmp_path)
    lines = [line for line in check.output.splitlines() if "AM993" in line]
    assert lines[0].startswith("calls.py:2:5: AM993 await it [*]")
    assert lines[1].startswith("calls.py:6:5: AM993 await it (not fixed: internal error")
    assert not lines[1].endswith("[*]")
    fixed = run_cli(["fix", "-j", "1", "--select", "AM993", "calls.py"], tmp_path)
    assert fixed.exit_code == 1  # one finding left unfixed, no error
    assert (tmp_path / "calls.py").read_text() == TWO_CALLS.replace("    g()\n\n", "    await g()\n\n", 1)
