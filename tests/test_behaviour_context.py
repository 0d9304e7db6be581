"""AM401 and AM402 change which values a task or a worker sees: run both versions.

Each program is fixed by the tool itself (``fix_source``); the original and the
fixed text then run in a fresh interpreter, and what they print is compared.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from asyncmend.codemods import Settings, fix_source

ROOT = Path(__file__).resolve().parent.parent


def _fixed(source: str, code: str) -> str:
    result = fix_source(source, Settings(select=frozenset({code}), apply=frozenset({code})))
    output = result.output.decode("utf-8") if isinstance(result.output, bytes) else result.output
    assert output != source, f"{code} did not rewrite the program"
    return output


def _run(source: str, tmp_path: Path, name: str) -> Any:
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout)


TASKS_SHARE_A_LOCAL = '''\
import asyncio
import json
import threading

_request = threading.local()


async def handle(user):
    _request.user = user
    # Every task sets its value before any of them reads it back.
    await asyncio.sleep(0.05)
    return _request.user


async def main():
    return await asyncio.gather(handle("alice"), handle("bob"), handle("carol"))


print(json.dumps(asyncio.run(main())))
'''


def test_tasks_see_each_others_value_before_and_their_own_after(tmp_path: Path) -> None:
    fixed = _fixed(TASKS_SHARE_A_LOCAL, "AM401")
    assert "threading.local" not in fixed and "ContextVar" in fixed

    before = _run(TASKS_SHARE_A_LOCAL, tmp_path, "before")
    after = _run(fixed, tmp_path, "after")

    # One thread runs all three tasks: the last writer wins for everyone.
    assert before == ["carol", "carol", "carol"]
    assert after == ["alice", "bob", "carol"]


THREADS_USE_A_LOCAL = '''\
import asyncio
import json
import threading
import time

_state = threading.local()


def work(name, out):
    seen_before = hasattr(_state, "name")
    _state.name = name
    _state.count = 0
    for _ in range(3):
        _state.count = _state.count + 1
        time.sleep(0.01)
    out[name] = [_state.name, getattr(_state, "count", -1), seen_before, hasattr(_state, "name")]


async def unused():
    await asyncio.sleep(0)


out = {}
threads = [threading.Thread(target=work, args=(n, out)) for n in ("t1", "t2", "t3")]
for t in threads:
    t.start()
for t in threads:
    t.join()
# The main thread never set anything.
out["main"] = [getattr(_state, "name", None), hasattr(_state, "name")]
print(json.dumps(out, sort_keys=True))
'''


def test_plain_threads_keep_their_own_values_after_the_rewrite(tmp_path: Path) -> None:
    fixed = _fixed(THREADS_USE_A_LOCAL, "AM401")
    assert "threading.local" not in fixed

    before = _run(THREADS_USE_A_LOCAL, tmp_path, "before")
    after = _run(fixed, tmp_path, "after")

    expected = {name: [name, 3, False, True] for name in ("t1", "t2", "t3")}
    expected["main"] = [None, False]
    assert before == expected
    assert after == before


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
