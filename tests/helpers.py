"""Shared test helpers: run the CLI in a directory, apply machine-format edits,
and, for the rule specs under tests/rules/, fix a program with one rule and
run it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from click.testing import CliRunner, Result

from asyncmend import cli
from asyncmend.codemods import RULES, Finding, Settings, fix_source
from asyncmend.codemods.source.text import split_lines

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


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
    its fix applied."""
    slug = case.split("/")[0]
    code = next(rule.CODE for rule in RULES if rule.SLUG.replace("-", "_") == slug)
    source = (FIXTURES / f"{case}.before.py").read_bytes()
    settings = Settings(select=frozenset({code}), apply=frozenset({code}))
    return fix_source(source, settings).findings


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
