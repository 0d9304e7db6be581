"""The command line: commands, options, output and exit statuses.

Most tests go through click's ``CliRunner``; the exit statuses are also
checked on a real ``python -m asyncmend.cli`` process, as a shell or CI sees them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from asyncmend import codemods
from asyncmend.cli import main

ROOT = Path(__file__).resolve().parent.parent

BLOCKING = "import time\n\n\nasync def handler():\n    time.sleep(1)\n    return 1\n"
FIXED = "import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n    return 1\n"
# A sleep in a generator expression is reported but cannot be fixed.
UNFIXABLE = "import time\n\n\nasync def total(xs):\n    return sum((time.sleep(0), x)[1] for x in xs)\n"
CLEAN = "import asyncio\n\n\nasync def handler():\n    await asyncio.sleep(1)\n"
BROKEN = "def broken(:\n    pass\n"


def invoke(*args: str, input: bytes | str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "blocking.py").write_text(BLOCKING)
    (tmp_path / "clean.py").write_text(CLEAN)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- check --------------------------------------------------------------------


def test_check_prints_one_line_per_finding_and_a_summary(project: Path) -> None:
    result = invoke("check", "-j", "1", ".")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "blocking.py:5:5: AM101 `time.sleep()` blocks the event loop; "
        "use `await asyncio.sleep()` [*]"
    )
    assert lines[1] == "Found 1 finding. 1 fixable with `asyncmend fix`."
    assert len(lines) == 2
    assert (project / "blocking.py").read_text() == BLOCKING, "check never writes"


def test_check_of_clean_files_exits_0(project: Path) -> None:
    result = invoke("check", "clean.py")
    assert result.exit_code == 0
    assert result.stdout == "No findings.\n"


def test_check_json_lists_findings_with_their_fix(project: Path) -> None:
    import json

    result = invoke("check", "--output-format", "json", "blocking.py")
    assert result.exit_code == 1
    (item,) = json.loads(result.stdout)
    assert (item["code"], item["slug"], item["path"], item["line"], item["column"]) == (
        "AM101", "blocking-sleep", "blocking.py", 5, 5,
    )
    assert item["fix"]["applicability"] == "safe"


# -- fix ----------------------------------------------------------------------


def test_fix_rewrites_the_file_in_place(project: Path) -> None:
    result = invoke("fix", "blocking.py", "clean.py")
    assert result.exit_code == 0
    assert (project / "blocking.py").read_text() == FIXED
    assert (project / "clean.py").read_text() == CLEAN
    assert "Fixed 1 finding in 1 file; 0 left." in result.stdout


def test_fix_with_unfixable_findings_exits_1_and_lists_them(project: Path) -> None:
    (project / "gen.py").write_text(UNFIXABLE)
    result = invoke("fix", "gen.py", "blocking.py")
    assert result.exit_code == 1
    assert (project / "gen.py").read_text() == UNFIXABLE
    assert (project / "blocking.py").read_text() == FIXED
    assert result.stdout.splitlines()[0].startswith("gen.py:5:")
    # The fixed finding is not listed again.
    assert "blocking.py:" not in result.stdout


def test_fix_diff_prints_a_diff_and_writes_nothing(project: Path) -> None:
    result = invoke("fix", "--diff", "blocking.py")
    assert result.exit_code == 0
    assert (project / "blocking.py").read_text() == BLOCKING
    assert result.stdout.startswith("--- a/blocking.py\n+++ b/blocking.py\n")
    assert "-    time.sleep(1)\n+    await asyncio.sleep(1)\n" in result.stdout
    assert "-import time\n+import asyncio\n" in result.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_fix_diff_applies_with_git_apply(project: Path) -> None:
    diff = invoke("fix", "--diff", "blocking.py").stdout
    subprocess.run(["git", "apply", "-"], input=diff.encode(), cwd=project, check=True)
    assert (project / "blocking.py").read_text() == FIXED


def test_fix_diff_check_exits_1_when_there_is_a_diff(project: Path) -> None:
    assert invoke("fix", "--diff", "--check", "blocking.py").exit_code == 1
    assert invoke("fix", "--diff", "--check", "clean.py").exit_code == 0


def test_check_flag_without_diff_is_a_usage_error(project: Path) -> None:
    result = invoke("fix", "--check", "blocking.py")
    assert result.exit_code == 2
    assert (project / "blocking.py").read_text() == BLOCKING


# -- rules and explain --------------------------------------------------------


def test_rules_lists_every_rule_with_slug_and_safety() -> None:
    result = invoke("rules")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["code", "slug", "fix", "summary"]
    for rule in codemods.RULES:
        row = next(line for line in lines if line.startswith(rule.CODE))
        assert row.split()[:3] == [rule.CODE, rule.SLUG, rule.SAFETY.value]


@pytest.mark.parametrize("name", ["AM101", "am101", "blocking-sleep", "ASYNC251"])
def test_explain_accepts_code_slug_and_equivalent(name: str) -> None:
    result = invoke("explain", name)
    assert result.exit_code == 0
    text = result.stdout
    assert text.startswith("# AM101 blocking-sleep\n")
    assert "Fix: safe" in text
    assert "ASYNC251" in text
    for heading in ("## Example", "## Why is this bad", "## Fix", "## Fix safety", "## Limits"):
        assert f"\n{heading}\n" in text


def test_explain_unknown_rule_is_one_line_and_exit_2() -> None:
    result = invoke("explain", "AM999")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: unknown rule 'AM999' (known: " + ", ".join(r.CODE for r in codemods.RULES) + ")"
    ]


# -- selection ----------------------------------------------------------------


@pytest.mark.parametrize("selector", ["AM101", "am101", "AM1", "AM", "ALL", "blocking-sleep"])
def test_select_by_code_prefix_or_slug_runs_the_rule(project: Path, selector: str) -> None:
    result = invoke("check", "--select", selector, "blocking.py")
    assert result.exit_code == 1
    assert "AM101" in result.stdout


@pytest.mark.parametrize("selector", ["AM101", "AM1", "blocking-sleep"])
def test_ignore_by_code_prefix_or_slug_skips_the_rule(project: Path, selector: str) -> None:
    result = invoke("check", "--ignore", selector, "blocking.py")
    assert result.exit_code == 0
    assert result.stdout == "No findings.\n"


def test_ignore_wins_over_select(project: Path) -> None:
    result = invoke("fix", "--select", "AM1", "--ignore", "AM101", "blocking.py")
    assert result.exit_code == 0
    assert (project / "blocking.py").read_text() == BLOCKING


def test_comma_separated_and_repeated_selectors_combine(project: Path) -> None:
    assert invoke("check", "--select", "AM1,blocking-sleep", "blocking.py").exit_code == 1
    assert invoke("check", "--ignore", "AM101", "--ignore", "AM1", "blocking.py").exit_code == 0


@pytest.mark.parametrize("option", ["--select", "--ignore"])
@pytest.mark.parametrize("selector", ["AM999", "AM9", "no-such-rule"])
def test_unknown_selector_is_one_line_and_exit_2(project: Path, option: str, selector: str) -> None:
    result = invoke("check", option, selector, "blocking.py")
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {option}: unknown rule {selector!r}")


# -- standard input -----------------------------------------------------------


def test_check_reads_stdin_and_names_it_after_stdin_filename(project: Path) -> None:
    result = invoke("check", "--stdin-filename", "app/handlers.py", "-", input=BLOCKING)
    assert result.exit_code == 1
    assert result.stdout.startswith("app/handlers.py:5:5: AM101 ")


def test_check_stdin_without_a_name_is_reported_as_dash() -> None:
    result = invoke("check", "-", input=BLOCKING)
    assert result.exit_code == 1
    assert result.stdout.startswith("-:5:5: AM101 ")


def test_fix_stdin_writes_the_fixed_source_to_stdout_only(project: Path) -> None:
    result = invoke("fix", "--stdin-filename", "blocking.py", "-", input=BLOCKING)
    assert result.exit_code == 0
    assert result.stdout == FIXED
    assert "Fixed 1 finding" in result.stderr


def test_fix_stdin_never_writes_the_file_named_by_stdin_filename(project: Path) -> None:
    # Regression: the fixed stdin text used to be written over blocking.py.
    invoke("fix", "--stdin-filename", "blocking.py", "-", input=BLOCKING)
    assert (project / "blocking.py").read_text() == BLOCKING


def test_fix_stdin_keeps_bytes_it_does_not_rewrite() -> None:
    source = BLOCKING.replace("\n", "\r\n").encode()
    result = invoke("fix", "-", input=source)
    assert result.exit_code == 0
    assert result.stdout_bytes == FIXED.replace("\n", "\r\n").encode()


def test_fix_stdin_gives_unparseable_input_back_unchanged() -> None:
    # Regression: the summary line used to go to stdout in place of the source,
    # so an editor piping its buffer through `fix -` lost the buffer.
    result = invoke("fix", "--stdin-filename", "x.py", "-", input=BROKEN)
    assert result.exit_code == 2
    assert result.stdout == BROKEN
    assert result.stderr.splitlines()[0].startswith("x.py: error: syntax error")


# -- version and help ---------------------------------------------------------


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"asyncmend, version {codemods.__version__}\n"


@pytest.mark.parametrize(
    "command, example",
    [
        ([], "asyncmend check src/"),
        (["check"], "asyncmend check src/"),
        (["fix"], "asyncmend fix src/"),
        (["rules"], "asyncmend rules"),
        (["explain"], "asyncmend explain AM101"),
    ],
)
def test_every_help_explains_itself_with_an_example(command: list[str], example: str) -> None:
    for flag in ("--help", "-h"):
        result = CliRunner().invoke(main, [*command, flag], prog_name="asyncmend")
        assert result.exit_code == 0
        assert result.stdout.startswith(f"Usage: {' '.join(['asyncmend', *command])} ")
        assert example in result.stdout, f"{command} --help shows no example"


def test_python_dash_m_cli_names_itself_asyncmend(tmp_path: Path) -> None:
    proc = run("check", "--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.startswith(b"Usage: asyncmend check ")


def test_no_paths_means_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "service.py").write_text("import time\n\n\nasync def f():\n    time.sleep(1)\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "--no-cache")
    assert result.exit_code == 1
    assert "service.py:5:5: AM101" in result.stdout
    assert invoke("fix", "--no-cache").exit_code == 0
    assert "await asyncio.sleep(1)" in (tmp_path / "service.py").read_text()


# -- real processes -----------------------------------------------------------


def run(*args: str, cwd: Path, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "asyncmend.cli", *args],
        cwd=cwd, env=env, input=input, capture_output=True, timeout=120,
    )


@pytest.mark.parametrize(
    "files, status",
    [
        ({"a.py": CLEAN}, 0),
        ({"a.py": CLEAN, "b.py": BLOCKING}, 1),
        ({"a.py": BLOCKING, "b.py": BROKEN}, 2),
    ],
    ids=["none", "findings", "errors"],
)
def test_check_exit_status(tmp_path: Path, files: dict[str, str], status: int) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    proc = run("check", ".", cwd=tmp_path)
    assert proc.returncode == status, proc.stderr
    assert b"Traceback" not in proc.stderr


def test_check_exit_status_for_a_missing_path(tmp_path: Path) -> None:
    proc = run("check", "missing.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == ["missing.py: error: no such file or directory"]


@pytest.mark.parametrize(
    "files, status",
    [
        ({"a.py": BLOCKING, "b.py": CLEAN}, 0),
        ({"a.py": BLOCKING, "gen.py": UNFIXABLE}, 1),
        ({"a.py": BLOCKING, "b.py": BROKEN}, 2),
    ],
    ids=["done", "unfixed-left", "errors"],
)
def test_fix_exit_status(tmp_path: Path, files: dict[str, str], status: int) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    proc = run("fix", ".", cwd=tmp_path)
    assert proc.returncode == status, proc.stderr
    # The fixable file is fixed whatever else the run met.
    assert (tmp_path / "a.py").read_text() == FIXED


def test_fix_diff_exit_status(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(BLOCKING)
    assert run("fix", "--diff", "a.py", cwd=tmp_path).returncode == 0
    assert run("fix", "--diff", "--check", "a.py", cwd=tmp_path).returncode == 1
    assert (tmp_path / "a.py").read_text() == BLOCKING
    (tmp_path / "a.py").write_text(CLEAN)
    assert run("fix", "--diff", "--check", "a.py", cwd=tmp_path).returncode == 0


def test_fix_stdin_in_a_real_pipe(tmp_path: Path) -> None:
    proc = run("fix", "--stdin-filename", "a.py", "-", cwd=tmp_path, input=BLOCKING.encode())
    assert proc.returncode == 0
    assert proc.stdout == FIXED.encode()
    assert not (tmp_path / "a.py").exists()


def test_parallel_run_gives_the_same_output_as_one_process(tmp_path: Path) -> None:
    for i in range(6):
        (tmp_path / f"m{i}.py").write_text(BLOCKING if i % 2 else CLEAN)
    (tmp_path / "gen.py").write_text(UNFIXABLE)
    one = run("check", "-j", "1", ".", cwd=tmp_path)
    two = run("check", "-j", "2", ".", cwd=tmp_path)
    assert one.returncode == two.returncode == 1
    assert one.stdout == two.stdout
    assert one.stdout.decode().splitlines()[-1] == "Found 4 findings. 3 fixable with `asyncmend fix`."
