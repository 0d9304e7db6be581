"""Properties every run must keep, on programs nobody wrote by hand.

Two sources of programs:

- ``hypothesmith`` derives Python from the grammar and from LibCST's node
  types: strange but valid code that exercises the engine's decoding, parsing
  and prefilter paths, and proves that a file with no finding is untouched;
- :func:`programs` below mixes the pitfall shapes every rule looks for
  (awaits in a row, ``time.sleep`` under every import form, dropped tasks and
  coroutines, ``threading.local`` attributes, ``run_in_executor``, awaits in
  loops) with unrelated statements, nested functions, lambdas, comprehensions,
  class bodies and shadowed names, so that the rewrites themselves run, every
  rule at once and with every fix applied (``Settings()``).

The properties: nothing but :class:`SourceError` ever escapes ``fix_source``,
and for a program that compiles not even that; the output compiles; a second
run changes nothing; a fix introduces no finding; a program with no finding
comes back byte for byte.

The default profile is derandomized and small, so CI is short and repeatable.
``ASYNCMEND_HYPOTHESIS_PROFILE=thorough`` runs many more random examples.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from dataclasses import dataclass, field

import pytest

# Installed by the test extra (pip install -e '.[test]'), which CI uses.
pytest.importorskip("hypothesis")
pytest.importorskip("hypothesmith")

import hypothesis.strategies as st  # noqa: E402
import hypothesmith  # noqa: E402
from hypothesis import HealthCheck, assume, example, given, settings  # noqa: E402

from asyncmend.codemods import RULES, Settings, SourceError, fix_source

settings.register_profile(
    "asyncmend-ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile(
    "thorough",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
PROFILE = os.environ.get("ASYNCMEND_HYPOTHESIS_PROFILE", "asyncmend-ci")
settings.load_profile(PROFILE)

# Every rule runs and every fix, safe or unsafe, is applied.
EVERY_FIX = Settings()
# Every rule runs, nothing is rewritten: what a file holds.
REPORT_ONLY = Settings(apply=frozenset())


def _compiles(source: bytes | str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "'int' object is not callable" and such
            compile(source, "<generated>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _fix(source: bytes | str, run: Settings = EVERY_FIX) -> bytes | None:
    """The fixed output, or ``None`` for input asyncmend rightly refuses.

    A refusal of a program that compiles is a defect only when asyncmend says
    a rule failed; LibCST may reject valid code that is newer than its
    grammar, and that is reported, not a crash. A fix that would not compile
    is a defect too, which asyncmend reports as a finding without a fix.
    """
    try:
        result = fix_source(source, run)
    except SourceError as exc:
        assert "internal error" not in str(exc), f"a rule failed: {exc}"
        return None
    # A fix that would not compile is declined, and its finding says so.
    broken = [f.message for f in result.findings if "internal error" in f.message]
    assert not broken, f"a fix broke the program: {broken}"
    return result.output


def check_invariants(source: str, *, must_process: bool) -> bytes | None:
    """Assert every property on one program; return the fixed output."""
    output = _fix(source)
    if output is None:
        assert not must_process, "asyncmend refused a valid generated program"
        return None
    data = source.encode("utf-8")
    assert _compiles(output), "the output does not compile"
    again = _fix(output)
    assert again == output, "a second run changed the output"
    report = fix_source(data, REPORT_ONLY)
    if not report.findings:
        assert output == data, "a program with no finding was changed"
    before = Counter(f.code for f in report.findings)
    after = Counter(f.code for f in fix_source(output, REPORT_ONLY).findings)
    new = {code: n - before[code] for code, n in after.items() if n > before[code]}
    fixing = fix_source(data, EVERY_FIX).findings
    if any(f.code == "AM302" and f.fixed for f in fixing):
        # The one allowed case (README, Safety): an await that AM302 adds can
        # complete a run of awaits, which AM201/AM202 then find in the fixed
        # code. The code only now does what it says; the same run reports
        # that finding, so nothing is hidden.
        reported = Counter(f.code for f in fixing if not f.fixed)
        for code in ("AM201", "AM202"):
            if code in new:
                assert reported[code] >= new[code], f"the fix run did not report the new {code}"
                del new[code]
    assert not new, f"the fixes introduced findings: {new}"
    return output


# -- arbitrary input ----------------------------------------------------------


@given(st.binary(max_size=400))
@example(b"\xef\xbb\xbfimport time\r\nasync def f():\r\n    time.sleep(1)\r\n")
@example(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n")
@example(b"# -*- coding: no-such-codec -*-\n")
@example(b"\xff\xfe")
@example(b"x = 1\0")
def test_arbitrary_bytes_raise_only_source_error(data: bytes) -> None:
    try:
        result = fix_source(data, EVERY_FIX)
    except SourceError:
        return
    _assert_not_broken(data, result.output)


@given(st.text(max_size=300))
@example("\ud800")  # a lone surrogate cannot be encoded at all
@example("*0")  # parsed, but rejected by the compiler
@example("import time\nasync def f():\n    time.sleep(1)\nreturn 1\n")
@example("async def f():\n    (" + "[" * 300 + "]" * 300 + ")\n")
def test_arbitrary_text_raises_only_source_error(text: str) -> None:
    try:
        result = fix_source(text, EVERY_FIX)
    except SourceError:
        return
    _assert_not_broken(text.encode("utf-8"), result.output)


def _assert_not_broken(data: bytes, output: bytes) -> None:
    """Output that compiles, or the input byte for byte. Python's parser
    accepts a few things its compiler rejects (``*0``, ``return`` at the top
    level); asyncmend checks input with the parser only, so such input with
    nothing to fix comes back as it was, never made worse."""
    if output != data or _compiles(data):
        assert _compiles(output), "the output does not compile"


# -- programs from the grammar ------------------------------------------------


@given(hypothesmith.from_grammar())
def test_grammar_programs_keep_every_property(source: str) -> None:
    check_invariants(source, must_process=False)


@given(hypothesmith.from_node())
def test_libcst_node_programs_keep_every_property(source: str) -> None:
    check_invariants(source, must_process=False)


# -- programs full of pitfalls ------------------------------------------------


@dataclass
class _Env:
    """What the generated module imported, so statements can use it."""

    sleep: str | None  # the expression that means time.sleep, if any
    aio: str | None  # the name bound to asyncio, if any
    local: str | None  # the expression that means threading.local
    plain: bool = False  # inside a plain def, where await is a syntax error
    names: list[str] = field(default_factory=list)  # locals bound so far
    counter: int = 0

    def fresh(self) -> str:
        self.counter += 1
        return f"v{self.counter}"


_TIME_IMPORTS = [
    ("import time", "time.sleep"),
    ("import time as t", "t.sleep"),
    ("from time import sleep", "sleep"),
    ("from time import sleep as nap", "nap"),
    ("import os, time", "time.sleep"),
    (None, None),
]
_ASYNCIO_IMPORTS = [
    ("import asyncio", "asyncio"),
    ("import asyncio as aio", "aio"),
    ("import asyncio, contextvars", "asyncio"),
    (None, None),
]
_THREADING_IMPORTS = [
    ("import threading", "threading.local"),
    ("import threading as th", "th.local"),
    ("from threading import local", "local"),
    (None, None),
]
_OTHER_LIBRARIES = [None, None, None, "import anyio", "import trio"]

_HELPERS = '''\
import asyncio as _asyncio
import os
import subprocess


async def fetch(x=None):
    # It suspends: a call that never does gains nothing from a gather.
    await _asyncio.sleep(0)
    return x


def compute(x=None):
    return x


class Conn:
    async def execute(self, query):
        return query


conn = Conn()
'''

Line = tuple[int, str]  # (indent level, text)


def _leaf(draw: st.DrawFn, env: _Env, kind: str) -> list[Line]:
    """One pitfall or filler statement at indent 0 of the current block."""
    sleep, aio = env.sleep, env.aio
    k = draw(st.integers(0, 3))
    if kind == "sleep" and sleep:
        form = draw(st.sampled_from([
            f"{sleep}({k})",
            f"{env.fresh()} = {sleep}(0) or {k}",
            f"{sleep}(0.0)  # noqa",
            f"{sleep}(seconds={k})" if draw(st.booleans()) else f"{sleep}(*[0])",
            f"{env.fresh()} = ({sleep}(0), {k})",
            f"{env.fresh()} = {sleep}(0).__class__",
            f"print({sleep}(0), end='')",
        ]))
        return [(0, form)]
    if kind == "await":
        target = env.fresh()
        arg = draw(st.sampled_from([str(k), *env.names[-3:]])) if env.names else str(k)
        form = draw(st.sampled_from([
            f"{target} = await fetch({arg})",
            f"await fetch({arg})",
            f"{target} = await conn.execute({arg!r})",
            f"await conn.execute('q{k}')",
            f"{target}: int = await fetch({arg})",
            f"{target} = (await fetch({arg}), await fetch({k}))",
            f"{target} = await compute(fetch)({arg})",
        ]))
        if form.startswith(target):
            env.names.append(target)
        return [(0, form)]
    if kind == "ordering" and aio:
        return [(0, draw(st.sampled_from([
            f"await {aio}.sleep(0)",
            f"await {aio}.sleep({k}e-3)",
            f"{env.fresh()} = {aio}.Event().is_set() or await {aio}.sleep(0)",
        ])))]
    if kind == "task" and aio:
        target = env.fresh()
        form = draw(st.sampled_from([
            f"{aio}.create_task(fetch({k}))",
            f"{aio}.ensure_future(fetch({k}))",
            f"{aio}.get_running_loop().create_task(fetch({k}))",
            f"{target} = {aio}.create_task(fetch({k}))",
            f"{aio}.create_task(fetch({k})).add_done_callback(compute)",
            f"{aio}.create_task(fetch({k}), name='t{k}')",
        ]))
        return [(0, form)]
    if kind == "dropped":
        return [(0, draw(st.sampled_from(
            ["fetch(1)", "conn.execute('x')", "compute(fetch)"]
            + ([f"{aio}.sleep(0)", f"{aio}.to_thread(compute, 1)"] if aio else [])
        )))]
    if kind == "executor" and aio:
        target = env.fresh()
        env.names.append(target)
        pool = draw(st.sampled_from(["None", "pool"]))
        lines = []
        if pool == "pool":
            lines.append((0, "import concurrent.futures"))
            lines.append((0, "pool = concurrent.futures.ThreadPoolExecutor(1)"))
        lines.append((0, f"loop = {aio}.get_running_loop()"))
        lines.append((0, f"{target} = await loop.run_in_executor({pool}, compute, {k})"))
        return lines
    if kind == "local" and env.local:
        target = env.fresh()
        form = draw(st.sampled_from([
            f"state.user = {k}",
            f"{target} = getattr(state, 'user', None)",
            f"state.count = getattr(state, 'count', 0) + 1",
            f"{target} = state.__dict__.get('user')",
            f"{target} = state.user if hasattr(state, 'user') else {k}",
            f"state.request_id = '{k}'",
        ]))
        return [(0, form)]
    if kind == "nested" and sleep:
        name = env.fresh()
        shape = draw(st.sampled_from(["def", "lambda", "genexp", "listcomp", "class", "asyncdef", "dictcomp"]))
        if shape == "def":
            return [(0, f"def {name}():"), (1, f"{sleep}(0)"), (1, f"return {k}")]
        if shape == "lambda":
            return [(0, f"{name} = lambda: {sleep}(0)")]
        if shape == "genexp":
            return [(0, f"{name} = sum(({sleep}(0) or 1) for _ in range({k}))")]
        if shape == "listcomp":
            return [(0, f"{name} = [{sleep}(0) for _ in range({k})]")]
        if shape == "dictcomp":
            return [(0, f"{name} = {{i: {sleep}(0) for i in range({k})}}")]
        if shape == "class":
            return [(0, f"class C{name}:"), (1, f"x = {sleep}(0)")]
        return [(0, f"async def {name}():"), (1, f"{sleep}(0)"), (1, f"await fetch({k})"), (1, f"await fetch({k + 1})")]
    if kind == "loop":
        name = env.fresh()
        env.names.append(name)
        return draw(st.sampled_from([
            [(0, f"for i in range({k}):"), (1, "await fetch(i)")],
            [(0, f"{name} = [await fetch(i) for i in range({k})]")],
            [(0, f"{name} = []"), (0, f"for i in range({k}):"), (1, f"{name}.append(await fetch(i))")],
            [(0, "while False:"), (1, "await fetch(0)")],
        ]))
    if kind == "blocking":
        # Well-known blocking I/O in a coroutine (the shapes of AM102).
        return [(0, draw(st.sampled_from([
            "os.system('true')",
            f"{env.fresh()} = subprocess.run(['true'], check=False)",
            "subprocess.call(['true'])",
            f"{env.fresh()} = os.path.exists(__file__)",
        ])))]
    if kind == "shadow":
        return [(0, draw(st.sampled_from([
            "time = compute",
            "sleep = compute",
            "global unused_global",
            "state = compute",
        ])))]
    # Filler: statements that mean nothing to any rule.
    name = env.fresh()
    return [(0, draw(st.sampled_from([
        "pass",
        f"{name} = {k}",
        f"# a comment {k}",
        "",
        f"{name} = compute({k})",
        f"{name} = 'time.sleep({k})'",
        f"assert {k} >= 0",
        f"{name} = [x for x in range({k}) if x]",
    ])))]


_KINDS = [
    "sleep", "await", "ordering", "task", "dropped", "executor", "local", "nested", "loop",
    "blocking", "shadow", "filler",
]


@st.composite
def _block(draw: st.DrawFn, env: _Env, depth: int) -> list[Line]:
    lines: list[Line] = []
    for _ in range(draw(st.integers(1, 6))):
        if depth < 2 and draw(st.integers(0, 5)) == 0:
            header = draw(st.sampled_from(
                ["if compute(1):", "for _ in range(2):", "try:", "while compute(0):", "with open(__file__):"]
            ))
            lines.append((0, header))
            lines.extend((level + 1, text) for level, text in draw(_block(env, depth + 1)))
            if header == "try:":
                lines.append((0, draw(st.sampled_from(["except Exception:", "finally:"]))))
                lines.append((1, "pass"))
            continue
        leaf = _leaf(draw, env, draw(st.sampled_from(_KINDS)))
        if env.plain and any("await" in text or text.startswith("async ") for _, text in leaf):
            # A plain function cannot await.
            leaf = [(0, "pass")]
        lines.extend(leaf)
    # A block must hold at least one statement.
    if all(not text or text.startswith("#") for _, text in lines):
        lines.append((0, "pass"))
    return lines


@st.composite
def programs(draw: st.DrawFn) -> str:
    """A module mixing every pitfall shape with unrelated code."""
    time_import, sleep = draw(st.sampled_from(_TIME_IMPORTS))
    aio_import, aio = draw(st.sampled_from(_ASYNCIO_IMPORTS))
    local_import, local = draw(st.sampled_from(_THREADING_IMPORTS))
    other = draw(st.sampled_from(_OTHER_LIBRARIES))
    head = [line for line in (draw(st.sampled_from(["", '"""A service."""'])), time_import, aio_import, local_import, other) if line]
    head = draw(st.permutations(head))
    lines: list[Line] = [(0, text) for text in head]
    lines += [(0, ""), *((0, text) for text in _HELPERS.splitlines())]
    if local:
        lines.append((0, f"state = {local}()"))
    for index in range(draw(st.integers(1, 3))):
        env = _Env(sleep, aio, local)
        params = draw(st.sampled_from(["", "x=1", "time=None", "sleep=None", "*args, **kwargs"]))
        decorator = draw(st.sampled_from([None, "@staticmethod"]))
        kind = draw(st.sampled_from(["async", "async", "async", "plain", "method"]))
        lines.append((0, ""))
        if kind == "method":
            lines.append((0, f"class Handler{index}:"))
            if decorator:
                lines.append((1, decorator))
            lines.append((1, f"async def handle(self{', ' + params if params else ''}):"))
            lines.extend((level + 2, text) for level, text in draw(_block(env, 0)))
        else:
            prefix = "async def" if kind == "async" else "def"
            lines.append((0, f"{prefix} handler{index}({params}):"))
            env.plain = kind == "plain"
            lines.extend((level + 1, text) for level, text in draw(_block(env, 0)))
    indent = draw(st.sampled_from(["    ", "\t", "  "]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(indent * level + line if line else "" for level, line in lines)
    # Some files end without a final newline.
    return text + (newline if draw(st.booleans()) else "")


@given(programs())
def test_generated_pitfall_programs_keep_every_property(source: str) -> None:
    assume(_compiles(source))
    check_invariants(source, must_process=True)


@given(programs())
def test_generated_programs_compile(source: str) -> None:
    """The generator itself must produce valid Python, or the test above
    would prove nothing: it rejects at most a few."""
    assert _compiles(source), source


def test_generator_exercises_every_rule() -> None:
    """Across a fixed sample the generated programs do get rewritten, and
    every rule whose shapes the generator makes finds something: a generator
    that never reaches a rule proves nothing about it. (A rule added later
    with shapes of its own needs them added to ``_leaf`` too.)"""
    rewritten = 0
    found: Counter[str] = Counter()

    @settings(max_examples=120, derandomize=True, database=None, deadline=None)
    @given(programs())
    def sample(source: str) -> None:
        nonlocal rewritten
        result = fix_source(source, EVERY_FIX)
        rewritten += result.changed
        found.update(f.code for f in result.findings)

    sample()
    assert rewritten >= 30, f"only {rewritten} of 120 generated programs were rewritten"
    generated = {"AM101", "AM102", "AM201", "AM202", "AM301", "AM302", "AM401", "AM402"}
    missing = sorted(rule.CODE for rule in RULES if rule.CODE in generated and not found[rule.CODE])
    assert not missing, f"no generated program has a finding of {missing}: {dict(found)}"


def test_text_with_a_lone_surrogate_is_a_source_error() -> None:
    # Such text cannot be encoded at all: it is bad input, not a crash.
    with pytest.raises(SourceError, match="cannot encode"):
        fix_source("import time\nx = '\ud800'\n", EVERY_FIX)


@given(programs())
def test_screens_pass_every_generated_program_a_rule_finds_something_in(source: str) -> None:
    """The prefilters and ``ast`` screens decide which files reach LibCST: a
    rule run on the LibCST tree without them finds nothing they would drop."""
    assume(_compiles(source))
    import ast

    import libcst as cst

    from asyncmend.codemods.cst.batch import run_rules
    from asyncmend.codemods.screen.facts import Facts

    module = cst.parse_module(source)
    facts = Facts.of(ast.parse(source))
    for rule in RULES:
        _, findings = run_rules(module, [rule], REPORT_ONLY)
        # Given the facts, a rule may skip work, never change what it finds;
        # given the source too, positions come statement by statement, the same.
        assert run_rules(module, [rule], REPORT_ONLY, facts=facts)[1] == findings, rule.CODE
        assert run_rules(module, [rule], REPORT_ONLY, facts=facts, source=source)[1] == findings, rule.CODE
        if findings:
            assert rule.prefilter(source.encode("utf-8")), f"{rule.CODE} prefilter drops:\n{source}"
            assert rule.screen(facts, REPORT_ONLY), f"{rule.CODE} screen drops:\n{source}"
