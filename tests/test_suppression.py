"""`# noqa` and `# asyncmend: skip-file`: a suppressed finding is neither
reported nor fixed."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from asyncmend.codemods import RULES, Settings, fix_source
from asyncmend.codemods.source.text import decode
from tests.helpers import fixture_project, run_cli

FIXTURES = Path(__file__).parent / "fixtures"
# Every rule, the opt-in ones included, every fix.
EVERYTHING = Settings(select=frozenset(rule.CODE for rule in RULES))

TWO_SLEEPS = (
    "import time\n\n\n"
    "async def f():\n"
    "    time.sleep(1){comment}\n"
    "    time.sleep(2)\n"
)


@pytest.mark.parametrize(
    "comment",
    ["  # noqa: AM101", "  # noqa: ASYNC251", "  # noqa", "  # NOQA:am101", "  # keep it  # noqa: E501, AM101"],
)
def test_noqa_suppresses_report_and_fix_on_that_line(tmp_path: Path, comment: str) -> None:
    path = tmp_path / "a.py"
    path.write_text(TWO_SLEEPS.format(comment=comment))
    check = run_cli(["check", "a.py"], tmp_path)
    assert check.exit_code == 1
    assert "a.py:5:" not in check.stdout and "a.py:6:5: AM101" in check.stdout
    assert run_cli(["fix", "a.py"], tmp_path).exit_code == 0
    fixed = path.read_text()
    assert f"    time.sleep(1){comment}\n" in fixed
    assert "    await asyncio.sleep(2)\n" in fixed


@pytest.mark.parametrize("comment", ["  # noqa: E501", "  # noqa: ASYNC100", "  # noqa:RUF006"])
def test_noqa_for_another_code_suppresses_nothing(comment: str) -> None:
    result = fix_source(TWO_SLEEPS.format(comment=comment), EVERYTHING)
    assert [f.line for f in result.findings] == [5, 6]
    assert "await asyncio.sleep(1)" in result.output.decode()


def test_noqa_counts_on_the_findings_first_line_only() -> None:
    first = "import time\n\n\nasync def f():\n    time.sleep(  # noqa: AM101\n        1)\n"
    last = "import time\n\n\nasync def f():\n    time.sleep(\n        1)  # noqa: AM101\n"
    assert fix_source(first, EVERYTHING).findings == []
    assert [f.line for f in fix_source(last, EVERYTHING).findings] == [5]


@pytest.mark.parametrize("marker", ["# asyncmend: skip-file", "#asyncmend:skip-file"])
def test_skip_file_is_neither_reported_nor_fixed(tmp_path: Path, marker: str) -> None:
    source = f"{marker}\n" + TWO_SLEEPS.format(comment="")
    (tmp_path / "a.py").write_text(source)
    assert run_cli(["check", "a.py"], tmp_path).exit_code == 0
    assert run_cli(["fix", "a.py"], tmp_path).exit_code == 0
    assert run_cli(["fix", "--diff", "--check", "a.py"], tmp_path).exit_code == 0
    assert (tmp_path / "a.py").read_text() == source


def _fixture_cases() -> list[Path]:
    return sorted(p for p in FIXTURES.glob("*/*.before.py") if p.with_name(p.name.replace(".before.", ".after.")).exists())


def _with_comment_on(source: str, lines: set[int], comment: str) -> str | None:
    """``source`` with ``comment`` at the end of each of ``lines``; None when
    that would change the program (the line ends inside a string, or in a
    backslash continuation)."""
    out = []
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        if number in lines:
            body = line.rstrip("\r\n")
            if body.endswith("\\"):
                return None
            line = body + comment + line[len(body):]
        out.append(line)
    changed = "".join(out)
    try:
        same = ast.dump(ast.parse(changed)) == ast.dump(ast.parse(source))
    except SyntaxError:
        return None
    return changed if same else None


@pytest.mark.parametrize("before", _fixture_cases(), ids=lambda p: f"{p.parent.name}/{p.name[:-10]}")
def test_every_rules_findings_are_suppressed_by_code_equivalent_and_bare_noqa(before: Path, tmp_path: Path) -> None:
    # Fixtures carry BOMs and coding cookies: decode as Python does, and hand
    # the rules bytes in that same encoding.
    source, encoding = decode(before.read_bytes())
    by_code = {rule.CODE: rule for rule in RULES}
    # A fixture with companion modules is a module of that project.
    filename, project = fixture_project(before, source, tmp_path)

    def run(data: bytes) -> Any:
        return fix_source(data, EVERYTHING, filename=filename, project=project)

    findings = run(source.encode(encoding)).findings
    assert findings, "a changing fixture has findings"
    for code in {f.code for f in findings}:
        lines = {f.line for f in findings if f.code == code}
        for name in ("", code, *by_code[code].EQUIVALENTS):
            comment = "  # noqa" + (f": {name}" if name else "")
            suppressed = _with_comment_on(source, lines, comment)
            if suppressed is None:
                pytest.skip("a finding's line cannot take a trailing comment")
            result = run(suppressed.encode(encoding))
            assert not [f for f in result.findings if f.code == code], comment
            if not name:
                # A bare noqa on every finding line of every rule: nothing changes.
                everything = _with_comment_on(source, {f.line for f in findings}, comment)
                assert everything is not None
                data = everything.encode(encoding)
                assert run(data).output == data


# -- comments only: text in strings is no directive --------------------------

APPLY_AM101 = Settings(select=frozenset({"AM101"}), apply=frozenset({"AM101"}))
HEAD = "import time\n\n\nasync def f():\n"


def _fixed_lines(body: str) -> list[tuple[int, bool]]:
    return [(f.line, f.fixed) for f in fix_source(HEAD + body, APPLY_AM101).findings]


def test_noqa_inside_a_string_is_not_a_comment() -> None:
    assert _fixed_lines('    time.sleep(1); x = "# noqa"\n') == [(5, True)]
    assert _fixed_lines('    time.sleep(1); x = """\n    # noqa: AM101"""\n') == [(5, True)]


def test_noqa_lines_are_counted_as_libcst_counts_them_with_cr_and_crlf() -> None:
    for newline in ("\r\n", "\r"):
        source = (HEAD + "    time.sleep(1)\n    time.sleep(2)  # noqa\n").replace("\n", newline)
        assert [(f.line, f.fixed) for f in fix_source(source, APPLY_AM101).findings] == [(5, True)]


def test_skip_file_inside_a_string_does_not_skip_the_file() -> None:
    # A line of a triple-quoted string (source embedded in a test, say) that
    # reads "# asyncmend: skip-file" is no directive.
    from asyncmend.codemods.settings import Options
    from asyncmend.codemods.engine.passes import process_bytes

    data = (HEAD + '    time.sleep(1)\n    return """\n# asyncmend: skip-file\n"""\n').encode()
    outcome = process_bytes(data, Options(settings=APPLY_AM101), RULES, "m.py")
    assert outcome.skipped is None
    assert [(f.line, f.fixed) for f in outcome.findings] == [(5, True)]
