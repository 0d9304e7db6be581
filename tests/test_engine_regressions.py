"""Regression tests for engine defects found by the property tests and sweeps."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from asyncmend.codemods import Settings, SourceError, fix_source

ROOT = Path(__file__).resolve().parent.parent


def test_verifying_a_fix_prints_no_warning_about_the_users_code() -> None:
    # The invalid escape and the call of a literal were in the file before the
    # fix; checking that the output compiles must not warn about them.
    source = (
        "import time\n"
        "async def f():\n"
        "    time.sleep(1)\n"
        "    pattern = '\\d+'\n"
        "    return 1(2) if False else pattern\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fix_source(source, Settings())
    assert result.changed
    assert b"await asyncio.sleep(1)" in result.output


def _fix_in_child(source: str) -> subprocess.CompletedProcess[str]:
    # In a child process: a regression here is a segfault, which would take
    # the test run down with it.
    code = (
        "import sys\n"
        "from asyncmend.codemods import Settings, SourceError, fix_source\n"
        "try:\n"
        "    fix_source(sys.stdin.read(), Settings())\n"
        "except SourceError as exc:\n"
        "    print('SourceError:', exc)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], input=source, capture_output=True, text=True,
        timeout=120, env=dict(os.environ),
    )


@pytest.mark.parametrize(
    "expression",
    [
        " and ".join(["a"] * 20_000),  # flat in ast, 20,000 levels deep in LibCST
        "+".join(["1"] * 20_000),
        "-" * 100_000 + "1",
        "a" + ".b" * 20_000,
        "1 if a else " * 5_000 + "1",
    ],
    ids=["and-chain", "plus-chain", "unary-chain", "attribute-chain", "conditional-chain"],
)
def test_deeply_nested_expression_is_a_source_error_not_a_crash(expression: str) -> None:
    source = f"import time\n\nasync def f():\n    time.sleep(1)\n    x = {expression}\n"
    child = _fix_in_child(source)
    assert child.returncode == 0, child.stderr[-2000:]
    assert "too deeply nested" in child.stdout, child.stdout


# Python's parser accepts these; only its compiler rejects them, so the file
# was never valid Python. A fix elsewhere in it cannot compile either: that is
# the input's fault, to report as such, not a defect of the fix.
COMPILER_ONLY_ERRORS = {
    "return-outside-function": ("return 1", "'return' outside function"),
    "await-outside-function": ("await handler()", "'await' outside function"),
    "break-outside-loop": ("break", "'break' outside loop"),
    "starred-expression": ("*x", "can't use starred expression here"),
}


@pytest.mark.parametrize("name", sorted(COMPILER_ONLY_ERRORS))
def test_input_that_does_not_compile_is_a_syntax_error_not_an_internal_error(name: str) -> None:
    statement, message = COMPILER_ONLY_ERRORS[name]
    source = f"import time\n\n\nasync def handler():\n    time.sleep(1)\n\n\n{statement}\n"
    with pytest.raises(SourceError) as caught:
        fix_source(source, Settings())
    assert "internal error" not in str(caught.value)
    assert str(caught.value) == f"syntax error: {message} (line 8, column 1)"


def test_sweep_counts_input_that_does_not_compile_as_refused_not_crashed(tmp_path: Path) -> None:
    from scripts.sweep import check_file, fix_unsafe_settings

    path = tmp_path / "script.py"
    path.write_text("import time\n\n\nasync def handler():\n    time.sleep(1)\n\n\nawait handler()\n")
    outcome = check_file(str(path), fix_unsafe_settings())
    assert outcome.status == "refused", outcome
