"""One run fixes what a second run would: a fix that makes another fix
possible is followed by it in the same run."""

from __future__ import annotations

import json
from pathlib import Path

import libcst as cst
import pytest

from asyncmend.codemods import RULES, Options, Rule, Safety, Settings, fix_source
from asyncmend.codemods import rule as rule_module
from asyncmend.codemods.engine.own_fixes import fix_units
from asyncmend.codemods.engine.passes import process_bytes
from asyncmend.codemods.findings import Edit

from tests.helpers import DROPPED_CALLS, run_cli

# AM101 adds `import asyncio`; only then may AM201 gather (in a module that
# does not import asyncio, AM201 reports without a fix).
SLEEP_THEN_FETCHES = b"""import time


async def handler(uid):
    time.sleep(1)
    user = await get_user(uid)
    orders = await get_orders(uid)
    return user, orders
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
    # The gather is a fix of the run too, on the line of the source its
    # text stands for; it is no finding of the source as read.
    assert [(f.code, f.line, f.fixed, f.after_fix) for f in result.findings] == [
        ("AM201", 15, True, True),
        ("AM302", 15, True, False),
        ("AM302", 16, True, False),
    ]


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


# -- what a run tells of a fix made on what another fix wrote ----------------

# AM102 sends the blocking request to a thread; the await it writes and the
# next one are then a run AM201 gathers (both fixes unsafe).
THREAD_THEN_COROUTINE = """import asyncio

import requests


async def get_user(uid):
    await asyncio.sleep(0.01)
    return {"id": uid}


async def load(url, uid):
    page = requests.get(url)
    user = await get_user(uid)
    return page, user
"""
GATHERED = """    page, user = await asyncio.gather(
        asyncio.to_thread(requests.get, url),
        get_user(uid),
    )
"""
IN_A_THREAD = "    page = await asyncio.to_thread(requests.get, url)\n"


def test_a_fix_on_lines_an_earlier_fix_wrote_is_placed_on_the_line_it_came_from() -> None:
    result = fix_source(THREAD_THEN_COROUTINE, Settings())
    assert GATHERED in result.output.decode()
    assert [(f.code, f.line, f.fixed, f.after_fix) for f in result.findings] == [
        ("AM201", 12, True, True),
        ("AM102", 12, True, False),
    ]


def test_fix_counts_and_lists_the_fixes_of_every_pass(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(THREAD_THEN_COROUTINE)
    diff = run_cli(["fix", "--no-cache", "-j", "1", "--unsafe-fixes", "--diff", "app.py"], tmp_path)
    assert "Would fix 2 findings in 1 file." in diff.stderr
    assert "+    page, user = await asyncio.gather(" in diff.stdout
    fixed = run_cli(["fix", "--no-cache", "-j", "1", "--unsafe-fixes", "--show-fixes", "app.py"], tmp_path)
    assert fixed.exit_code == 0, fixed.output
    assert (
        "Fixed 2 findings:\n- app.py:\n    1 × AM102 (blocking-call)\n    1 × AM201 (sequential-awaits)\n"
        "Fixed 2 findings in 1 file; 0 left.\n"
    ) in fixed.stdout
    assert GATHERED in (tmp_path / "app.py").read_text()


def test_the_report_of_fix_lists_a_later_fix_on_its_original_line(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(THREAD_THEN_COROUTINE)
    done = run_cli(
        ["fix", "--no-cache", "-j", "1", "--unsafe-fixes", "--report", "report.md", "app.py"], tmp_path
    )
    assert done.exit_code == 0, done.output
    rows = [line for line in (tmp_path / "report.md").read_text().splitlines() if line.startswith("| `app.py")]
    assert len(rows) == 2
    assert all("app.py:12" in row and row.endswith("| applied |") for row in rows)
    assert {"AM102" in row for row in rows} == {True, False}


def test_check_offers_only_the_fixes_of_the_source_as_read(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(THREAD_THEN_COROUTINE)
    args = ["check", "--no-cache", "-j", "1", "--unsafe-fixes"]
    text = run_cli([*args, "app.py"], tmp_path)
    assert text.exit_code == 1
    assert [line.split(" ")[1] for line in text.stdout.splitlines() if line.startswith("app.py:")] == ["AM102"]
    assert "Found 1 finding." in text.stdout
    (finding,) = json.loads(run_cli([*args, "--output-format", "json", "app.py"], tmp_path).stdout)
    assert finding["code"] == "AM102"
    # Its suggestion is its own rewrite, not the gather a second pass adds.
    (edit,) = finding["fix"]["edits"]
    assert (edit["location"]["line"], edit["end_location"]["line"], edit["content"]) == (12, 13, IN_A_THREAD)
    diagnostics = json.loads(run_cli([*args, "--output-format", "rdjson", "app.py"], tmp_path).stdout)["diagnostics"]
    assert [d["code"]["value"] for d in diagnostics] == ["AM102"]
    (suggestion,) = diagnostics[0]["suggestions"]
    assert "gather" not in suggestion["text"] and "asyncio.to_thread(requests.get, url)" in suggestion["text"]
    results = json.loads(run_cli([*args, "--output-format", "sarif", "app.py"], tmp_path).stdout)["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["AM102"]
    github = run_cli([*args, "--output-format", "github", "app.py"], tmp_path).stdout
    assert "AM102" in github and "AM201" not in github


def test_the_gather_is_found_by_check_once_the_suggestion_is_accepted(tmp_path: Path) -> None:
    # As with ruff: what a fix makes possible is a finding of the code that
    # fix wrote, suggested when that code is reviewed.
    (tmp_path / "app.py").write_text(THREAD_THEN_COROUTINE.replace("    page = requests.get(url)\n", IN_A_THREAD))
    args = ["check", "--no-cache", "-j", "1", "--unsafe-fixes", "--output-format", "json", "app.py"]
    (finding,) = json.loads(run_cli(args, tmp_path).stdout)
    assert finding["code"] == "AM201" and finding["line"] == 12
    (edit,) = finding["fix"]["edits"]
    assert edit["content"] == GATHERED


# AM201's run starts on a line no fix touched, but only AM102's await makes it one.
COROUTINE_THEN_THREAD = """import asyncio

import requests


async def get_user(uid):
    await asyncio.sleep(0.01)
    return {"id": uid}


async def load(url, uid):
    user = await get_user(uid)
    page = requests.get(url)
    return page, user
"""


def test_a_finding_that_only_a_fix_makes_is_not_one_of_check(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(COROUTINE_THEN_THREAD)
    args = ["--no-cache", "-j", "1", "--unsafe-fixes", "--output-format", "json", "app.py"]
    findings = json.loads(run_cli(["check", *args], tmp_path).stdout)
    assert [(f["code"], f["line"]) for f in findings] == [("AM102", 13)]
    (edit,) = findings[0]["fix"]["edits"]
    assert (edit["location"]["line"], edit["content"]) == (13, IN_A_THREAD)
    fixed = run_cli(["fix", "--no-cache", "-j", "1", "--unsafe-fixes", "--show-fixes", "app.py"], tmp_path)
    assert "    1 × AM201 (sequential-awaits)\n" in fixed.stdout
    assert "Fixed 2 findings in 1 file; 0 left." in fixed.stdout


def test_a_later_fix_is_part_of_the_fix_whose_lines_it_rewrites_when_fix_reviews() -> None:
    # `fix --interactive` and `fix --verify` apply what they review: the
    # gather comes with the awaits it gathers, and makes their fix unsafe.
    outcome = process_bytes(DROPPED_CALLS.encode(), Options(settings=Settings(), edits=True), RULES, "m.py")
    (unit,) = fix_units(outcome.findings)
    assert [(f.code, f.line) for f in unit] == [("AM201", 15), ("AM302", 15), ("AM302", 16)]
    fixes = {f.fix for f in unit}
    assert len(fixes) == 1
    (fix,) = fixes
    assert fix is not None and fix.applicability is Safety.UNSAFE
    assert fix.edits == (Edit(15, 17, "    await asyncio.gather(fetch_a(), fetch_b())\n"),)


def test_check_suggests_each_await_alone_and_safe() -> None:
    outcome = process_bytes(
        DROPPED_CALLS.encode(), Options(settings=Settings(), edits=True, follow_fixes=False), RULES, "m.py"
    )
    fixes = [(f.code, f.line, f.fix.applicability, f.fix.edits, f.fix.joint) for f in outcome.findings if f.fix]
    assert fixes == [
        ("AM302", 15, Safety.SAFE, (Edit(15, 16, "    await fetch_a()\n"),), ()),
        ("AM302", 16, Safety.SAFE, (Edit(16, 17, "    await fetch_b()\n"),), ()),
    ]
    assert len(outcome.findings) == 2
