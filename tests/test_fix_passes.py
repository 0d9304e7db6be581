"""One run fixes what a second run would: a fix that makes another fix
possible is followed by it in the same run."""

from __future__ import annotations

from asyncmend.codemods import Settings, fix_source

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
