"""AM102 blocking-call: which blocking calls in a coroutine it reports (with or
without a fix, and why), which it leaves alone, its option, and that the
fixed program lets the other tasks run while it computes what the original
did."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from asyncmend.codemods import Settings, fix_source
from asyncmend.codemods.blocking_call import BlockingCall
from asyncmend.codemods.settings import ConfigError, load_config, resolve
from tests.helpers import FIXTURES, TICKING, findings_of, fixed_by, fixture_findings, printed

# -- findings and messages ----------------------------------------------------
#
# A no-op fixture only proves that nothing was rewritten; these say which of
# its sites are still reported, without a fix, and why.

REPORTED_WITHOUT_FIX = {
    "noop_open_and_file_methods": (
        [6, 7, 8, 9, 10, 11],
        ["returns a file", "a method of a file object"],
    ),
    "noop_shared_session": ([11, 12, 15, 20], ["may be shared with other coroutines"]),
    "noop_comprehension_generator_lambda": (
        [6, 7, 8, 11],
        ["in a comprehension", "generator expression", "lambda", "class body"],
    ),
    "noop_thread_lock_held": ([12, 18], ["may hold a thread lock"]),
    "noop_trio_module": ([8], ["`await trio.to_thread.run_sync(...)`"]),
    "noop_asyncio_name_taken": ([6], ["`asyncio` names something else"]),
    "noop_fstring_self_documenting": ([6], ["f-string with `=`"]),
    "noop_processes_and_iterators": ([7, 8, 9, 11], ["starts the process", "returns an iterator"]),
    "noop_likely_urllib3_request": ([6], ["what `pool` is cannot be seen"]),
}


@pytest.mark.parametrize("case", sorted(REPORTED_WITHOUT_FIX))
def test_site_the_rule_cannot_fix_is_reported_with_the_reason(case: str) -> None:
    lines, reasons = REPORTED_WITHOUT_FIX[case]
    findings = fixture_findings(f"blocking_call/{case}")
    assert [f.line for f in findings] == lines
    assert not any(f.fixable or f.fixed for f in findings)
    for reason in reasons:
        assert any(reason in f.message for f in findings), reason


def test_message_names_the_async_alternative_of_each_kind_of_call() -> None:
    findings = findings_of(
        """
        import os, socket, subprocess, requests

        async def f(name):
            requests.get(name)
            subprocess.run(name)
            os.system(name)
            os.waitpid(0, 0)
            os.path.exists(name)
            socket.getaddrinfo(name, 80)
            input()
        """,
        "AM102",
    )
    alternatives = [
        "`aiohttp`, `httpx.AsyncClient`",
        "`asyncio.create_subprocess_exec()`",
        "`asyncio.create_subprocess_shell()`",
        "`await proc.wait()`",
        "`anyio.Path`",
        "`loop.getaddrinfo()`",
        "`asyncio.StreamReader`",
    ]
    assert len(findings) == len(alternatives)
    for finding, alternative in zip(findings, alternatives):
        assert alternative in finding.message
        assert "`await asyncio.to_thread(...)`" in finding.message


# -- what counts as a blocking call -------------------------------------------
#
# The shapes flake8-async's ASYNC2xx checks report or deliberately leave
# alone, and the names asyncmend resolves beyond them; each program is the
# body of a module, the marked lines must be reported and no other.

DETECTION = {
    "import forms resolve": """
        import requests as r
        import os.path as osp
        from httpx import post as send
        from urllib.request import urlopen as fetch

        async def f(u):
            r.get(u)  # report
            send(u)  # report
            fetch(u)  # report
            osp.isfile(u)  # report
        """,
    "a name never imported is taken as written": """
        async def f():
            os.system("ls")  # report
            subprocess.Popen([])  # report
            urlopen("x")  # report
            system()
            subprocess()
        """,
    "only the listed names of a module": """
        import os, requests, subprocess

        async def f():
            requests.foo()
            requests.get
            subprocess.anything()
            subprocess.bar.run()
            os.spawn()
            os.spawnllll()
            os.waitpi()
            os.spawnvpe(os.P_NOWAIT, "x", [], {})  # report
            os.wait4(0, 0)  # report
        """,
    "a call nested in another is reported too": """
        import requests

        async def f(g):
            await g(requests.get("x"))  # report
            print(requests.get(requests.get("y")))  # report # report
        """,
    "an awaited call is not": """
        import os

        async def f():
            await open("x")
            await os.path.isfile("x")
        """,
    "open in a with item is": """
        async def f(g):
            with g(), open("x"):  # report
                pass
            async with open("y"):  # report
                pass
        """,
    "a client followed from its annotation": """
        from typing import Optional
        import httpx

        async def f(a: httpx.Client, b: httpx.Client | None, c: Optional[httpx.Client], d: None | httpx.Client):
            a.get("x")  # report
            b.send(...)  # report
            c.post("x")  # report
            d.stream("GET", "x")  # report
            a.build_request("GET", "x")
            a.anything()
            a.is_closed
        """,
    "a new annotation retypes a name": """
        import io

        async def f(handle: io.TextIOWrapper):
            handle.read()  # report
            handle: int = 0
            handle.read()
        """,
    "a function sees the module's names as they were at its def": """
        import httpx

        CLIENT = httpx.Client()

        async def before():
            CLIENT.send()  # report

        CLIENT: int = 4

        async def after():
            CLIENT.send()
        """,
    "a file is followed into nested coroutines but not past a retyping parameter": """
        from io import TextIOWrapper

        def outer(f: TextIOWrapper):
            async def inner():
                f.read()  # report

            def plain(f: int):
                async def deeper():
                    f.read()
        """,
    "a urllib3 pool's request needs a literal verb": """
        from urllib3 import PoolManager

        async def f(method):
            pool = PoolManager()
            pool.request("GET", "x")  # report
            pool.request("put")  # report
            pool.request(method)
            pool.request("REQUEST")
            pool.request()
            request("GET")
        """,
    "any method of an annotated pool": """
        import urllib3

        async def f():
            c: urllib3.PoolManager = ...
            c.anything()  # report
            c: urllib3.anything = ...
            c.anything()
        """,
    "pathlib methods on paths made from paths": """
        from pathlib import Path

        async def f(base: Path, name):
            (base / name).read_bytes()  # report
            Path(name).parent.exists()  # report
            base.with_suffix(".txt").write_text("x")  # report
            base.name.upper()
            str(base).encode()
        """,
}


@pytest.mark.parametrize("name", sorted(DETECTION))
def test_reports_exactly_the_marked_blocking_calls(name: str) -> None:
    source = textwrap.dedent(DETECTION[name])
    expected = [
        number for number, line in enumerate(source.splitlines(), 1) for _ in range(line.count("# report"))
    ]
    assert [f.line for f in findings_of(source, "AM102")] == expected


# -- guards -------------------------------------------------------------------

NOT_REPORTED = [
    "noop_awaited_and_offloaded",
    "noop_nested_def_and_plain_def",
    "noop_shadowed_names",
    "noop_string_functions",
]


@pytest.mark.parametrize("case", NOT_REPORTED)
def test_call_that_does_not_block_the_loop_is_not_reported(case: str) -> None:
    assert fixture_findings(f"blocking_call/{case}") == []


def test_a_session_a_closure_uses_is_not_fixed() -> None:
    # The closure may run as another task, using the session at the same time.
    findings = findings_of(
        """
        import asyncio, requests

        async def f(u):
            s = requests.Session()
            async def other():
                s.get(u)
            task = asyncio.create_task(other())
            s.get(u)
            await task
        """,
        "AM102",
    )
    assert [(f.line, f.fixable) for f in findings] == [(7, False), (9, False)]


def test_a_with_block_of_a_file_holds_no_lock_and_its_other_calls_are_fixed() -> None:
    source = textwrap.dedent(
        """
        import requests

        async def f(u, name):
            with open(name) as handle:
                requests.post(u, data="x")
        """
    )
    result = fix_source(source, Settings(select=frozenset({"AM102"}), apply=frozenset({"AM102"})))
    assert [(f.line, f.fixed) for f in result.findings] == [(5, False), (6, True)]
    assert 'await asyncio.to_thread(requests.post, u, data="x")' in result.output.decode()


def test_a_socket_made_non_blocking_is_not_reported() -> None:
    # The loop's own pattern (anyio, asyncio internals): connect() returns at
    # once, raising BlockingIOError, and the coroutine awaits writability.
    findings = findings_of(
        """
        import socket

        async def connect(loop, path):
            raw = socket.socket(socket.AF_UNIX)
            raw.setblocking(False)
            raw.connect(path)
            blocking = socket.socket(socket.AF_UNIX)
            blocking.connect(path)
        """,
        "AM102",
    )
    assert [f.line for f in findings] == [9]


def test_a_module_of_anyio_or_trio_itself_is_reported_without_a_fix() -> None:
    # anyio's modules import their siblings relatively; asyncio.to_thread
    # would tie them to one backend.
    source = "import os\n\n\nasync def setup(path):\n    os.unlink(path)\n"
    settings = Settings(select=frozenset({"AM102"}), apply=frozenset({"AM102"}))
    inside = fix_source(source, settings, filename="site-packages/anyio/_core/_sockets.py")
    assert [(f.fixable, f.fixed) for f in inside.findings] == [(False, False)]
    assert "the module may run under anyio" in inside.findings[0].message
    outside = fix_source(source, settings, filename="src/service/sockets.py")
    assert [f.fixed for f in outside.findings] == [True]


def test_target_older_than_3_9_is_not_fixed() -> None:
    settings = Settings(select=frozenset({"AM102"}), apply=frozenset({"AM102"}), target_version=(3, 8))
    result = fix_source("import os\n\nasync def f(p):\n    os.remove(p)\n", settings)
    assert [(f.fixable, f.fixed) for f in result.findings] == [(False, False)]
    assert "needs Python 3.9" in result.findings[0].message


# -- the option ---------------------------------------------------------------


def test_option_adds_a_function_and_a_method_of_a_followed_class() -> None:
    source = """
        import mylib
        from pathlib import Path

        async def f(p: Path):
            mylib.fetch(p)
            p.resolve()
        """
    assert findings_of(source, "AM102") == []
    findings = findings_of(source, "AM102", **{"blocking-calls": "mylib.fetch, pathlib.Path.resolve"})
    assert [f.line for f in findings] == [6, 7]
    assert all("`blocking-calls` option" in f.message for f in findings)


def test_option_removes_an_entry_or_every_entry_under_a_name() -> None:
    source = """
        import os

        async def f(p):
            os.path.exists(p)
            os.path.getsize(p)
            os.stat(p)
        """
    assert [f.line for f in findings_of(source, "AM102", **{"blocking-calls": "!os.path.exists"})] == [6, 7]
    assert [f.line for f in findings_of(source, "AM102", **{"blocking-calls": "!os.path.*"})] == [7]


def test_option_entry_that_is_not_a_dotted_name_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.asyncmend]\nblocking-calls = ["mylib.fetch()"]\n')
    with pytest.raises(ConfigError, match="blocking-calls: not a dotted name"):
        load_config(tmp_path / "pyproject.toml", [BlockingCall])


def test_option_from_the_configuration_file_reaches_the_rule(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.asyncmend]\nblocking-calls = ["mylib.fetch"]\n')
    settings, _ = resolve([BlockingCall], ["."], fix=False, cwd=tmp_path)
    result = fix_source("import mylib\n\nasync def f():\n    mylib.fetch()\n", settings)
    assert [f.code for f in result.findings] == ["AM102"]


# -- behaviour ----------------------------------------------------------------
#
# Each program runs as written and as AM102 rewrites it, in a fresh
# interpreter. A ticker task counts how often it runs while ``work()`` waits:
# a blocking call starves it (no tick at all), the fixed call lets it run
# (tests.helpers.TICKING).

# A blocking library of the program's own, named in the option: it reads a
# context variable the coroutine set, so the output shows which value the
# worker thread sees.
SLOWLIB = '''
import contextvars
import time

REQUEST_ID = contextvars.ContextVar("request_id", default="unset")


def fetch(name):
    time.sleep(0.15)
    if name == "missing":
        raise KeyError(name)
    return f"{name} for {REQUEST_ID.get()}"
'''

PROGRAMS = {
    "a process": (
        '''
import asyncio
import json
import subprocess
import sys


async def work():
    done = subprocess.run(
        [sys.executable, "-c", "import time; time.sleep(0.2); print('built')"],
        capture_output=True,
        text=True,
    )
    return [done.returncode, done.stdout.strip()]
''',
        {},
    ),
    "a function of the option, in the caller's context": (
        '''
import asyncio
import json

import slowlib


async def work():
    slowlib.REQUEST_ID.set("req-7")
    return [slowlib.fetch("page"), slowlib.fetch("logo")]
''',
        {"blocking-calls": "slowlib.fetch"},
    ),
    "an exception raised by the call": (
        '''
import asyncio
import json

import slowlib


async def work():
    try:
        return slowlib.fetch("missing")
    except KeyError as exc:
        return ["caught", str(exc)]
''',
        {"blocking-calls": "slowlib.fetch"},
    ),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_fixed_program_lets_other_tasks_run_and_computes_the_same(name: str, tmp_path: Path) -> None:
    source, options = PROGRAMS[name]
    (tmp_path / "slowlib.py").write_text(SLOWLIB)
    fixed = fixed_by(source, "AM102", **options)
    assert "asyncio.to_thread(" in fixed

    result_before, ticks_before = printed(source + TICKING, tmp_path, "original")
    result_after, ticks_after = printed(fixed + TICKING, tmp_path, "fixed")

    assert result_after == result_before
    assert ticks_before == 0
    # 0.15-0.3 s of waiting with a 5 ms ticker gives dozens of ticks; 5
    # leaves a wide margin for a slow machine.
    assert ticks_after >= 5


CONCURRENT = '''
import asyncio
import json
import time

import slowlib


async def handle(name):
    return slowlib.fetch(name)


async def main():
    started = time.perf_counter()
    pages = await asyncio.gather(*(handle(f"p{i}") for i in range(4)))
    return [pages, time.perf_counter() - started]


print(json.dumps(asyncio.run(main())))
'''


def test_fixed_handlers_wait_for_their_calls_at_the_same_time(tmp_path: Path) -> None:
    (tmp_path / "slowlib.py").write_text(SLOWLIB)
    pages_before, elapsed_before = printed(CONCURRENT, tmp_path, "original")
    fixed = fixed_by(CONCURRENT, "AM102", **{"blocking-calls": "slowlib.fetch"})
    pages_after, elapsed_after = printed(fixed, tmp_path, "fixed")
    assert pages_after == pages_before == [f"p{i} for unset" for i in range(4)]
    # Four blocking 0.15 s calls take 0.6 s one after another; in threads
    # they overlap.
    assert elapsed_before >= 0.6
    assert elapsed_after < 0.6 * elapsed_before


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (10, "`conf_path` is read and changed on disk in several steps here"),
        (11, "`conf_path.parent` is read and changed on disk in several steps here"),
        (12, "`conf_path` is read and changed on disk in several steps here"),
        (13, "`conf_path` is read and changed on disk in several steps here"),
        (20, "the call is in a `finally` block"),
        (25, "`STARTED` is read before the call and changed after it"),
        (31, "`target` is read and changed on disk in several steps here"),
        (30, "`target` is read and changed on disk in several steps here"),
    ],
)
def test_a_call_whose_new_await_would_show_is_reported_with_the_reason(line: int, reason: str) -> None:
    """The await the fix adds lets other tasks in and a cancellation land:
    where that shows in what the coroutine does, no fix (as AM101's)."""
    source = (FIXTURES / "blocking_call" / "noop_steps_on_one_path.before.py").read_text()
    found = {finding.line: finding for finding in findings_of(source, "AM102")}
    assert not found[line].fixable
    assert reason in found[line].message


def test_one_step_on_a_path_or_reads_only_are_still_fixed() -> None:
    found = findings_of(
        """
        import os
        from pathlib import Path


        async def clean(self) -> None:
            if os.path.exists(self.log_file):
                os.remove(self.pid_file)


        async def read_if_there(path: Path) -> str:
            if path.exists():
                return path.read_text()
            return ""


        async def save(path: Path) -> None:
            path.write_text("x")
        """,
        "AM102",
    )
    assert len(found) == 5 and all(finding.fixable for finding in found)


def test_a_twisted_module_is_reported_without_a_fix() -> None:
    source = (FIXTURES / "blocking_call" / "noop_twisted_module.before.py").read_text()
    (finding,) = findings_of(source, "AM102")
    assert not finding.fixable
    assert "Twisted's reactor" in finding.message


def test_steps_on_a_temporary_file_the_coroutine_made_are_fixed() -> None:
    """A temporary file's name is the coroutine's own: no other task can
    come between its steps. A path handed in is not."""
    found = findings_of(
        """
        import os
        import tempfile


        async def probe(data: bytes) -> int:
            tmp = tempfile.NamedTemporaryFile(delete=False)
            tmp.write(data)
            tmp.close()
            size = os.path.getsize(tmp.name)
            os.remove(tmp.name)
            return size


        async def shared(path: str) -> int:
            size = os.path.getsize(path)
            os.remove(path)
            return size
        """,
        "AM102",
    )
    assert [(finding.line, finding.fixable) for finding in found] == [(10, True), (11, True), (16, False), (17, False)]
