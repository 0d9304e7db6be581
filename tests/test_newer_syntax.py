"""A file in syntax newer than the running interpreter (`type X = int`,
`def f[T]`, PEP 701 f-strings on 3.11) is analysed and fixed through
LibCST's parser, not reported as a syntax error; invalid Python stays an
error."""

from __future__ import annotations

import sys
from pathlib import Path

import libcst as cst
import pytest

from asyncmend.codemods import Settings, SourceError, fix_source
from asyncmend.codemods.engine.newer_syntax import needed_python, verify_newer
from tests.helpers import run_cli

NEWER = (
    "import time\n\ntype UserId = int\n\n\nasync def get[T](x: T) -> T:\n    time.sleep(1)\n    return x\n\n\n"
    "class Box[T]:\n    pass\n\n\nprint(f\"{\"nested\"}\")\n"
)
FIXED = NEWER.replace("import time\n", "import asyncio\n").replace("time.sleep(1)", "await asyncio.sleep(1)")

needs_older = pytest.mark.skipif(sys.version_info >= (3, 12), reason="this interpreter reads 3.12 syntax itself")


@needs_older
def test_a_file_in_newer_syntax_is_fixed_through_libcst(tmp_path: Path) -> None:
    (tmp_path / "svc.py").write_text(NEWER)
    check = run_cli(["check", "--no-cache", "svc.py"], tmp_path)
    assert check.exit_code == 1, check.output
    assert "svc.py:7:5: AM101" in check.stdout and "syntax error" not in check.output
    fixed = run_cli(["fix", "--no-cache", "svc.py"], tmp_path)
    assert fixed.exit_code == 0, fixed.output
    assert (tmp_path / "svc.py").read_text() == FIXED
    assert fix_source(FIXED, Settings()).output.decode() == FIXED  # a second run changes nothing


@needs_older
def test_a_file_in_newer_syntax_with_nothing_to_find_is_clean(tmp_path: Path) -> None:
    (tmp_path / "types_.py").write_text("type Pair[T] = tuple[T, T]\n")
    result = run_cli(["check", "--no-cache", "types_.py"], tmp_path)
    assert result.exit_code == 0 and "error" not in result.output


def test_invalid_python_is_still_an_error(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def f(:\n    pass\n")
    result = run_cli(["check", "--no-cache", "bad.py"], tmp_path)
    assert result.exit_code == 2 and "bad.py: error: syntax error" in result.stderr
    with pytest.raises(SourceError):
        fix_source("x = (1,\n", Settings())


@pytest.mark.parametrize(
    "source, needs",
    [
        ("type X = int\n", (3, 12)),
        ("def f[T](x: T): pass\n", (3, 12)),
        ("class C[T]: pass\n", (3, 12)),
        ("f'{'a'}'\n", (3, 12)),
        ("f'{\n  x}'\n", (3, 12)),
        ('f"""{\n  x}"""\n', None),
        ("f'{x!r}'\n", None),
        ("f'{x:#x}'\n", None),
        ("try:\n    pass\nexcept E, e:\n    pass\n", None),
        ("x: int = 1\n", None),
    ],
)
def test_needed_python_names_the_newer_syntax(source: str, needs: tuple[int, int] | None) -> None:
    assert needed_python(cst.parse_module(source)) == needs


def test_a_fix_of_a_newer_file_is_verified_statement_by_statement() -> None:
    before = cst.parse_module("type X = int\n\n\nasync def f():\n    return 1\n")
    good = cst.parse_module("type X = int\n\n\nasync def f():\n    return await g()\n")
    verify_newer(before, good, "m.py")
    bad = cst.parse_module("type X = int\n\n\ndef f():\n    return await g()\n")
    with pytest.raises(SourceError, match="would not compile"):
        verify_newer(before, bad, "m.py")
