"""`fix --interactive`: each fix shown as a hunk, then apply / skip / apply all
of this rule / quit; only what was accepted is written."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from asyncmend.codemods import Settings, fix_source
from asyncmend.codemods.source.text import split_lines
from asyncmend.codemods.output.text import fix_hunk
from tests.helpers import DROPPED_CALLS, run_cli

TWO = "import time\n\n\nasync def f(x):\n    time.sleep(1)\n    return x\n\n\nasync def g():\n    time.sleep(2)\n"
PROMPT = "[y] apply, [n] skip, [a] apply all of this rule, [q] quit"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "a.py").write_text(TWO)
    (tmp_path / "b.py").write_text(TWO)
    return tmp_path


def interact(project: Path, answers: str) -> tuple[int, str]:
    result = run_cli(["fix", "-i", "-j", "1", "a.py", "b.py"], project, input=answers)
    return result.exit_code, result.output


def test_skip_then_apply_writes_only_the_accepted_fix_with_its_import(project: Path) -> None:
    code, output = interact(project, "n\ny\nn\nn\n")
    assert output.count(PROMPT) == 4
    assert "-    time.sleep(1)" in output and "+    await asyncio.sleep(1)" in output
    # The declined call still needs `import time`: it stays, asyncio joins it.
    assert (project / "a.py").read_text() == (
        "import asyncio\nimport time\n\n\nasync def f(x):\n    time.sleep(1)\n    return x\n\n\n"
        "async def g():\n    await asyncio.sleep(2)\n"
    )
    assert (project / "b.py").read_text() == TWO
    assert code == 1  # findings are left


def test_apply_everything_writes_exactly_what_fix_writes(project: Path) -> None:
    code, _ = interact(project, "y\ny\ny\ny\n")
    assert code == 0
    expected = fix_source(TWO, Settings()).output
    assert (project / "a.py").read_bytes() == expected == (project / "b.py").read_bytes()


def test_all_of_this_rule_stops_asking_about_that_rule(project: Path) -> None:
    code, output = interact(project, "n\na\n")
    assert output.count(PROMPT) == 2
    assert "time.sleep(1)" in (project / "a.py").read_text()
    assert "time.sleep" not in (project / "b.py").read_text()
    assert code == 1


def test_quit_keeps_what_was_accepted_and_declines_the_rest(project: Path) -> None:
    code, output = interact(project, "y\nq\n")
    assert output.count(PROMPT) == 2
    assert (project / "a.py").read_text().count("await asyncio.sleep") == 1
    assert (project / "b.py").read_text() == TWO
    assert code == 1


def test_interrupted_review_writes_nothing(project: Path) -> None:
    code, _ = interact(project, "y\ny\ny\n")  # input ends before the last question
    assert code != 0
    assert (project / "a.py").read_text() == TWO == (project / "b.py").read_text()


def test_unknown_answer_is_asked_again(project: Path) -> None:
    _, output = interact(project, "maybe\ny\ny\ny\ny\n")
    assert output.count(PROMPT) == 5
    assert "time.sleep" not in (project / "b.py").read_text()


def test_interactive_refuses_diff_and_stdin(project: Path) -> None:
    assert run_cli(["fix", "-i", "--diff", "a.py"], project).exit_code == 2
    assert run_cli(["fix", "-i", "-"], project, input=TWO).exit_code == 2


def test_hunk_is_coloured_when_styled() -> None:
    from asyncmend.codemods import RULES, Options
    from asyncmend.codemods.engine.passes import process_bytes

    findings = process_bytes(TWO.encode(), Options(settings=Settings(), edits=True), RULES, "a.py").findings
    hunk = fix_hunk("a.py", findings[0], split_lines(TWO), click.style)
    assert click.style("+    await asyncio.sleep(1)", fg="green") in hunk
    assert click.style("-    time.sleep(1)", fg="red") in hunk
    assert click.unstyle(hunk) == fix_hunk("a.py", findings[0], split_lines(TWO))


def test_each_hunk_shows_only_its_own_fix_in_line_order(tmp_path: Path) -> None:
    """AM401's prompt showed AM301's helper, and `@@ -10` came before `@@ -2`."""
    source = (Path(__file__).resolve().parent.parent / "examples" / "shop" / "handlers.py").read_text()
    (tmp_path / "handlers.py").write_text(source)
    _, output = interact_file(tmp_path, "handlers.py", "n\nn\nn\nn\n")
    prompts = output.split(PROMPT)
    am401 = next(part for part in prompts if "AM401" in part.split("\n(")[0] or ": AM401 " in part)
    am401 = am401[am401.index(": AM401 "):]
    assert "_keep_task" not in am401 and "_background_tasks" not in am401
    starts = [int(line.split()[1].split(",")[0][1:]) for line in am401.splitlines() if line.startswith("@@")]
    assert starts == sorted(starts) and len(starts) >= 2
    am301 = next(part for part in prompts if ": AM301 " in part)
    am301 = am301[am301.index(": AM301 "):]
    assert "_keep_task" in am301 and "contextvars" not in am301
    assert (tmp_path / "handlers.py").read_text() == source


def interact_file(project: Path, name: str, answers: str) -> tuple[int, str]:
    result = run_cli(["fix", "-i", "--unsafe-fixes", "-j", "1", name], project, input=answers)
    return result.exit_code, result.output


def test_a_gather_the_awaits_make_possible_is_shown_and_answered_with_them(tmp_path: Path) -> None:
    # AM302's awaits make a run AM201 gathers: one hunk, asked about once.
    (tmp_path / "m.py").write_text(DROPPED_CALLS)
    code, output = interact_file(tmp_path, "m.py", "n\n")
    assert output.count(PROMPT) == 1
    question = output[: output.index(PROMPT)]
    assert question.startswith("m.py:15:5: AM302 ") and "(unsafe fix)" in question.splitlines()[0]
    assert "  with AM201 at line 15: 2 independent awaits" in question
    assert "(made possible by this fix)" in question
    assert "+    await asyncio.gather(fetch_a(), fetch_b())" in question
    assert (tmp_path / "m.py").read_text() == DROPPED_CALLS
    assert code == 1
    code, output = interact_file(tmp_path, "m.py", "y\n")
    assert (tmp_path / "m.py").read_text().endswith("async def main():\n    await asyncio.gather(fetch_a(), fetch_b())\n")
    assert "Fixed 3 findings in 1 file; 0 left." in output
    assert code == 0
