"""The sweep over real code: a subset runs here, the full one is in the README.

The subset is the ``asyncio`` package of the running interpreter's standard
library: real async code nobody here wrote, full of awaits, tasks and loops.
The sweep itself is tested too: a sweep that could not see a crash, a broken
output or a second rewrite would prove nothing.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

import libcst as cst
import pytest

from asyncmend.codemods import RULES, Rule, Safety
from scripts.sweep import check_file, fix_unsafe_settings, precision, python_files, read_package_list, sweep

ASYNCIO = Path(sysconfig.get_paths()["stdlib"]) / "asyncio"


@pytest.mark.skipif(not ASYNCIO.is_dir(), reason="no standard library sources here")
def test_fix_unsafe_over_stdlib_asyncio_breaks_nothing() -> None:
    files = python_files([ASYNCIO])
    assert len(files) >= 25
    report = sweep(files, fix_unsafe_settings(), jobs=2)
    assert report.files == len(files)
    assert report.crashes == [], report.render()
    assert report.non_compiling == [], report.render()
    assert report.non_idempotent == [], report.render()
    # The standard library is valid Python: nothing in it may be refused.
    assert report.refused == [], report.render()
    assert report.unprocessable == [], report.render()


# -- the sweep sees what it looks for ------------------------------------------


class _Raises(Rule):
    """Test rule: a defect that raises on every name."""

    CODE = "AM990"
    SLUG = "raises"
    SAFETY = Safety.SAFE

    def visit_Name(self, node: cst.Name) -> None:
        raise KeyError(node.value)


class _AddsPassForever(Rule):
    """Test rule: appends a statement on every run, so never reaches a fixed point."""

    CODE = "AM991"
    SLUG = "adds-pass"
    SAFETY = Safety.SAFE

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.report(original_node, "again"):
            return updated_node
        return updated_node.with_changes(body=[*updated_node.body, cst.SimpleStatementLine([cst.Pass()])])


class _AwaitInPlainDef(Rule):
    """Test rule: writes ``await`` into a plain function, which cannot compile."""

    CODE = "AM992"
    SLUG = "await-in-plain-def"
    SAFETY = Safety.SAFE

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if not self.report(original_node, "await it"):
            return updated_node
        return cst.Await(updated_node)


def _one_file(tmp_path: Path) -> str:
    path = tmp_path / "mod.py"
    path.write_text("def f():\n    g()\n")
    return str(path)


@pytest.mark.parametrize(
    ("rule", "status"),
    [(_Raises, "crash"), (_AddsPassForever, "non-idempotent"), (_AwaitInPlainDef, "crash")],
)
def test_sweep_classifies_a_broken_rule(tmp_path: Path, rule: type[Rule], status: str) -> None:
    outcome = check_file(_one_file(tmp_path), fix_unsafe_settings([rule]), rules=[rule])
    assert outcome.status == status, outcome
    assert outcome.message


def test_sweep_reports_unparseable_input_as_refused_not_crashed(tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text("print 'python 2'\n")
    outcome = check_file(str(path), fix_unsafe_settings())
    assert outcome.status == "refused"
    assert "syntax error" in outcome.message


def test_sweep_counts_rewrites_per_rule(tmp_path: Path) -> None:
    path = tmp_path / "svc.py"
    path.write_text("import time\n\nasync def f():\n    time.sleep(1)\n    time.sleep(2)\n")
    report = sweep([path], fix_unsafe_settings(), jobs=1)
    assert report.rewritten_files == 1
    assert report.rewrites["AM101"] == 2
    assert report.ok
    assert "AM101 2" in report.render()


def test_rules_used_by_the_sweep_are_every_rule() -> None:
    settings = fix_unsafe_settings()
    assert all(settings.runs(rule.CODE) and settings.applies(rule.CODE) for rule in RULES if rule.SAFETY is not Safety.NONE)


def test_sweep_tells_valid_but_unprocessable_files_apart(tmp_path: Path) -> None:
    # Valid Python nested too deeply for LibCST: asyncmend reports it by name.
    path = tmp_path / "deep.py"
    path.write_text("import time\nasync def f():\n    time.sleep(1)\n    x = " + " and ".join(["a"] * 5000) + "\n")
    outcome = check_file(str(path), fix_unsafe_settings())
    assert outcome.status == "unprocessable", outcome
    assert "too deeply nested" in outcome.message


def test_precision_lists_findings_per_rule_and_every_rewrite(tmp_path: Path) -> None:
    package = tmp_path / "demo"
    package.mkdir()
    (package / "svc.py").write_text(
        "import asyncio\n\n\nasync def f(uid):\n"
        "    user = await get_user(uid)\n    orders = await get_orders(uid)\n    return user, orders\n"
    )
    # Found, not fixable: a module without `import asyncio` may run under trio.
    (package / "lib.py").write_text(
        "async def g(uid):\n    a = await one(uid)\n    b = await two(uid)\n    return a, b\n"
    )
    (package / "broken.py").write_text("print 'python 2'\n")
    table, rewritten = precision([("demo==1.0", package)], "AM201,AM202", jobs=1)
    assert "demo==1.0 | 2 | 0 | 1 | 0 | 1" in table
    assert [outcome.path for outcome in rewritten] == ["demo/svc.py"]
    assert "+    user, orders = await asyncio.gather(get_user(uid), get_orders(uid))" in rewritten[0].diff


def test_package_list_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "packages.txt"
    path.write_text("# pinned\naiohttp==3.14.5\n\nhttpx==0.28.1  # client\n")
    assert read_package_list(path) == ["aiohttp==3.14.5", "httpx==0.28.1"]


# -- the CLI round trip sees what it looks for -----------------------------------


def test_cli_second_run_is_a_real_fix_diff_that_sees_pending_changes(tmp_path: Path) -> None:
    """The second run of ``--cli`` must be a working ``fix --diff``: on a
    file that still needs a fix it prints that fix. (Built wrong, e.g. with
    ``--diff`` before the subcommand, it fails with a usage error and prints
    nothing, and a non-idempotent CLI run would pass unseen.)"""
    from scripts.sweep import cli_command, second_run_problems

    (tmp_path / "svc.py").write_text("import time\n\nasync def f():\n    time.sleep(1)\n")
    problems = second_run_problems(cli_command(tmp_path, jobs=1), cwd=tmp_path)
    assert len(problems) == 1 and "+    await asyncio.sleep(1)" in problems[0], problems
    (tmp_path / "svc.py").write_text("import asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n")
    assert second_run_problems(cli_command(tmp_path, jobs=1), cwd=tmp_path) == []


def test_cli_round_trip_fixes_a_copy_and_finds_nothing_left(tmp_path: Path) -> None:
    from scripts.sweep import cli_round_trip

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "svc.py").write_text("import time\n\nasync def f():\n    time.sleep(1)\n")
    (corpus / "bad.py").write_text("def (:\n")  # not Python: reported, left as it is
    work = tmp_path / "work"
    work.mkdir()
    assert cli_round_trip(sorted(corpus.glob("*.py")), [corpus], work, jobs=1) == []
    assert (work / "copy" / "corpus" / "svc.py").read_text().endswith("    await asyncio.sleep(1)\n")
    assert (corpus / "svc.py").read_text().endswith("    time.sleep(1)\n")
