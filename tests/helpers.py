"""Shared test helpers: run the CLI in a directory, apply machine-format edits,
and, for the rule specs under tests/rules/, fix a program with one rule and
run it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from click.testing import CliRunner, Result

from asyncmend import cli
from asyncmend.codemods import RULES, Finding, Settings, fix_source
from asyncmend.codemods.model.project import Project, ProjectIndex
from asyncmend.codemods.source.text import split_lines

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

# AM302 adds the awaits that make a run AM201 can gather.
DROPPED_CALLS = """import asyncio


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


def run_cli(args: Sequence[str], cwd: Path, input: bytes | str | None = None) -> Result:
    """The CLI in ``cwd``, as a user would run it there."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli.main, list(args), input=input, catch_exceptions=False)
    finally:
        os.chdir(old)


def with_terminal_stderr(args: list[str], cwd: Path) -> tuple[int, bytes, bytes]:
    """Run the CLI with a pseudo-terminal as stderr and a pipe as stdout:
    (exit status, stdout, what the terminal showed)."""
    import pty  # not on every platform

    controller, terminal = pty.openpty()
    shown = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the other end closed
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    env = dict(os.environ)
    try:
        done = subprocess.run([sys.executable, "-m", "asyncmend.cli", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=terminal, stdin=subprocess.DEVNULL, timeout=300)
    finally:
        os.close(terminal)
    reader.join(timeout=10)
    os.close(controller)
    return done.returncode, done.stdout, bytes(shown)


CODECS = {"utf-8": "utf-8", "utf-16": "utf-16-le"}


def line_starts(text: str, unit: str) -> list[int]:
    """Offset of each line's start (and of the end of the text), counted in
    ``unit``: "utf-8" bytes or "utf-16" code units."""
    starts = [0]
    for line in split_lines(text):
        size = len(line.encode(CODECS[unit]))
        starts.append(starts[-1] + (size // 2 if unit == "utf-16" else size))
    return starts


def apply_replacements(
    text: str, replacements: Iterable[tuple[int, int, int, int, str]], *, unit: str
) -> str:
    """Apply (start_line, start_col, end_line, end_col, text) replacements,
    1-based, end exclusive; columns counted in ``unit`` ("utf-8" bytes or
    "utf-16" code units).

    Each distinct replacement is applied once; overlapping ones are an error.
    """
    codec = CODECS[unit]
    width = 2 if unit == "utf-16" else 1
    data: Any = text.encode(codec)
    starts = line_starts(text, unit)

    def offset(line: int, column: int) -> int:
        assert 1 <= line <= len(starts), (line, column)
        return starts[line - 1] + column - 1

    spans = sorted({(offset(a, b) * width, offset(c, d) * width, new) for a, b, c, d, new in replacements})
    for (_, end, _), (start, _, _) in zip(spans, spans[1:]):
        assert end <= start, "two suggestions overlap"
    for start, end, new in reversed(spans):
        data = data[:start] + new.encode(codec) + data[end:]
    return data.decode(codec)


# -- one rule at a time: for the rule specs under tests/rules/ ---------------


def fixed_by(source: str, code: str, **options: str) -> str:
    """``source`` as rule ``code`` alone rewrites it, with ``options``. The
    rule must rewrite it and fix every finding it makes: a behaviour test of
    a program left as it was would compare the program with itself."""
    settings = Settings(select=frozenset({code}), apply=frozenset({code}), options=options)
    result = fix_source(source, settings)
    assert result.changed, f"{code} changed nothing"
    assert all(f.fixed for f in result.findings if f.code == code)
    return result.output.decode()


def findings_of(source: str, code: str, **options: str) -> list[Finding]:
    """What rule ``code`` alone reports in ``source`` (dedented), with ``options``."""
    settings = Settings(select=frozenset({code}), options=options)
    return fix_source(textwrap.dedent(source), settings).findings


def fixture_findings(case: str) -> list[Finding]:
    """What the rule of ``<slug>/<case>`` reports in its ``.before.py``, with
    its fix applied (and its project, where it has companion modules)."""
    slug = case.split("/")[0]
    code = next(rule.CODE for rule in RULES if rule.SLUG.replace("-", "_") == slug)
    before = FIXTURES / f"{case}.before.py"
    source = before.read_bytes()
    settings = Settings(select=frozenset({code}), apply=frozenset({code}))
    with tempfile.TemporaryDirectory() as root:
        filename, project = fixture_project(before, source.decode("utf-8"), Path(root))
        return fix_source(source, settings, filename=filename, project=project).findings


FIXTURE_OPTIONS = re.compile(r"^# asyncmend-test: (.*)$", re.MULTILINE)


def fixture_project(before: Path, source: str, root: Path) -> tuple[str, Project | None]:
    """The file name to run a fixture as, and its project: the modules of
    the folder ``<case>/`` beside it, copied to ``root``, with the fixture
    among them as the module its options line names (``module=NAME``); for
    a fixture without that folder, its own path and no project."""
    companions = before.with_name(before.name[: -len(".before.py")])
    if not companions.is_dir():
        return str(before), None
    match = FIXTURE_OPTIONS.search(source)
    names = dict(item.strip().partition("=")[::2] for item in match.group(1).split(",")) if match else {}
    assert "module" in names, f"{before.name}: a fixture with companion modules names its own (module=...)"
    shutil.copytree(companions, root, dirs_exist_ok=True)
    path = root / f"{names['module'].replace('.', '/')}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    return str(path), Project(ProjectIndex.build(root))


def printed(source: str, tmp_path: Path, name: str) -> Any:
    """Run ``source`` as a script in a fresh interpreter (as ``<name>.py``)
    and read what it printed as JSON."""
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout)


def run_cli_process(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI as a separate process (``python -m asyncmend.cli``), uncoloured."""
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "asyncmend.cli", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


# Appended to a program whose ``async def work()`` is under test (the program
# imports asyncio and json): prints what work() returned (or raised) and how
# often a ticker task ran meanwhile, every 5 ms. Code that blocks the event
# loop starves the ticker (0); code that yields lets it run.
TICKING = '''

async def _ticker(counter):
    while True:
        await asyncio.sleep(0.005)
        counter[0] += 1


async def _measure():
    counter = [0]
    ticker = asyncio.create_task(_ticker(counter))
    await asyncio.sleep(0.001)
    before = counter[0]
    try:
        result = await work()
    except Exception as exc:
        result = ["raised", type(exc).__name__, str(exc)]
    during = counter[0] - before
    ticker.cancel()
    return result, during


print(json.dumps(asyncio.run(_measure())))
'''


# AM201 and AM202 both gather; their specs fix with both, as a run would.
GATHER_RULES = frozenset({"AM201", "AM202"})


def gathered(source: str) -> str:
    """``source`` (dedented) as AM201 and AM202 rewrite it; where a guard
    applies, the same text."""
    settings = Settings(select=GATHER_RULES, apply=GATHER_RULES)
    return fix_source(textwrap.dedent(source), settings).output.decode("utf-8")


def run_main(source: str) -> tuple[Any, list[Any], float]:
    """Run ``main(log)`` of a program; return its result, the log and the time."""
    namespace: dict[str, Any] = {"__name__": "program"}
    exec(compile(textwrap.dedent(source), "<program>", "exec"), namespace)
    log: list[Any] = []
    start = time.perf_counter()
    result = asyncio.run(namespace["main"](log))
    return result, log, time.perf_counter() - start


def parses_of_the_look(monkeypatch: Any) -> list[bytes]:
    """The bytes of each file the look across files (codemods.model.crossfile)
    parses from now on, in order."""
    from asyncmend.codemods.model import crossfile

    parsed: list[bytes] = []
    real_parse = crossfile._parse

    def counting_parse(data: bytes) -> Any:
        parsed.append(data)
        return real_parse(data)

    monkeypatch.setattr(crossfile, "_parse", counting_parse)
    return parsed


# -- programs of several modules: what a rule sees across files ----------------

# What a program's main.py ends with: main() (through asyncio.run for a
# coroutine function) in a daemon thread, its result printed as JSON, or
# "TIMEOUT" after two seconds: a deadlock never hangs the suite.
OBSERVE_MAIN = """

def _observe(main):
    import asyncio, json, os, sys, threading

    box = {}

    def target():
        # (A plain main is called through another name: a coroutine made
        # and not awaited would make AM101's fix unsafe. What it raises is
        # taken by the thread's hook, not by a handler around the run,
        # which AM101 would read as the program's own.)
        plain = None if asyncio.iscoroutinefunction(main) else main
        box["value"] = asyncio.run(main()) if plain is None else plain()

    def failed(args):
        box["value"] = f"{args.exc_type.__name__}: {args.exc_value}"

    threading.excepthook = failed
    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(2)
    print(json.dumps(box.get("value", "TIMEOUT")))
    sys.stdout.flush()
    os._exit(0)


_observe(main)
"""


def write_project(root: Path, files: dict[str, str]) -> None:
    """The files of a program, by path below ``root``."""
    root.mkdir(exist_ok=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def project_output(root: Path) -> Any:
    """What the program's main.py printed, as JSON."""
    done = subprocess.run(
        [sys.executable, "-B", "main.py"], cwd=root, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def guarded_across_files(
    tmp_path: Path, files: dict[str, str], target: str, naive: Sequence[tuple[str, str]], reason: str, *options: str
) -> None:
    """``fix`` (with ``options``) leaves the program ``files`` as it was and
    reports why at ``target``, in whose text ``reason`` appears; and the
    rewrite without the guard (``naive``: (old, new) replacements in
    ``target``) makes the program do something else: the guard matters."""
    project = tmp_path / "project"
    write_project(project, files)
    before = project_output(project)
    done = run_cli(["fix", "--no-cache", "-j", "1", *options, "."], project)
    assert {name: (project / name).read_text() for name in files} == files, done.output
    assert reason in done.output, done.output
    assert project_output(project) == before
    text = files[target]
    for old, new in naive:
        assert old in text, old
        text = text.replace(old, new)
    naive_project = tmp_path / "naive"
    write_project(naive_project, {**files, target: text})
    assert project_output(naive_project) != before


def fixed_across_files(tmp_path: Path, files: dict[str, str], target: str, *options: str) -> str:
    """``fix`` (with ``options``) rewrites ``target`` of the program
    ``files``, and the program does what it did; the fixed text."""
    project = tmp_path / "project"
    write_project(project, files)
    before = project_output(project)
    run_cli(["fix", "--no-cache", "-j", "1", *options, "."], project)
    fixed = (project / target).read_text()
    assert fixed != files[target]
    assert project_output(project) == before
    return fixed


def fixed_only_when_unsafe(root: Path, files: dict[str, str], target: str, reason: str, fixed: str) -> None:
    """The program ``files`` has a finding in ``target`` whose fix a safe
    rule marks unsafe for ``reason``: ``check`` says so, ``fix`` leaves the
    file alone, ``fix --unsafe-fixes`` writes ``fixed`` into it."""
    write_project(root, files)
    check = run_cli(["check", "--no-cache", "-j", "1", target], root)
    assert reason in check.output and "[unsafe fix]" in check.output, check.output
    run_cli(["fix", "--no-cache", "-j", "1", target], root)
    assert (root / target).read_text() == files[target]
    run_cli(["fix", "--no-cache", "-j", "1", "--unsafe-fixes", target], root)
    assert fixed in (root / target).read_text()



def event_loop_class(name: str, override: str) -> str:
    """A module of a project with an event loop class of its own, a
    ``SelectorEventLoop`` whose body is ``override`` (a method, indented
    by four spaces) and a class-level ``log`` list."""
    return f"import asyncio\n\n\nclass {name}(asyncio.SelectorEventLoop):\n    log = []\n\n{override}"
