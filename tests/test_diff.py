"""`fix --diff` is a patch that `git apply` and `patch -p1` apply to give
exactly the bytes `fix` writes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

SOURCES: dict[str, bytes] = {
    "pkg/crlf.py": b"import time\r\n\r\nasync def g():\r\n    time.sleep(0.1)\r\n    return 1\r\n",
    "pkg/no_newline.py": b"import time\n\nasync def g():\n    time.sleep(0.1)",
    "pkg/form_feed.py": b"import time\n\x0c\nasync def g():\n    s = '\xc3\xa9\xe2\x80\xa8'\n    time.sleep(0.1)\n",
    "latin1.py": "# -*- coding: latin-1 -*-\nimport time\n\nasync def g():\n    s = 'caf\xe9'\n    time.sleep(1)\n".encode("latin-1"),
    "bom.py": b"\xef\xbb\xbfimport time\n\nasync def g():\n    time.sleep(1)\n",
    "untouched.py": b"async def f():\n    return 1\n",
}


def asyncmend(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "asyncmend.cli", *args], cwd=cwd, env=env, capture_output=True, timeout=120)


def make_tree(root: Path) -> None:
    for name, data in SOURCES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def git(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=60)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_apply_of_the_diff_gives_exactly_what_fix_writes(tmp_path: Path) -> None:
    reviewed, fixed = tmp_path / "reviewed", tmp_path / "fixed"
    for root in (reviewed, fixed):
        make_tree(root)
    git("init", "-q", cwd=reviewed)

    diff = asyncmend("fix", "--diff", "-j", "1", ".", cwd=reviewed)
    assert diff.returncode == 0, diff.stderr
    assert {name for name in SOURCES if (reviewed / name).read_bytes() != SOURCES[name]} == set(), "--diff wrote"
    assert asyncmend("fix", "-j", "1", ".", cwd=fixed).returncode == 0

    patch = tmp_path / "fix.patch"
    patch.write_bytes(diff.stdout)
    applied = git("apply", "--whitespace=nowarn", str(patch), cwd=reviewed)
    assert applied.returncode == 0, applied.stderr.decode()
    for name, original in SOURCES.items():
        assert (reviewed / name).read_bytes() == (fixed / name).read_bytes(), name
    # Every file but the clean one changed: the comparison is not vacuous.
    assert [n for n in SOURCES if (fixed / n).read_bytes() == SOURCES[n]] == ["untouched.py"]


@pytest.mark.skipif(shutil.which("patch") is None, reason="patch is not installed")
def test_patch_p1_accepts_the_diff(tmp_path: Path) -> None:
    make_tree(tmp_path)
    diff = asyncmend("fix", "--diff", "-j", "1", ".", cwd=tmp_path)
    done = subprocess.run(["patch", "-p1", "--dry-run", "--batch"], input=diff.stdout, cwd=tmp_path,
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


def test_diff_check_exits_1_when_there_is_a_diff_and_0_when_not(tmp_path: Path) -> None:
    make_tree(tmp_path)
    assert asyncmend("fix", "--diff", "--check", "pkg/crlf.py", cwd=tmp_path).returncode == 1
    assert asyncmend("fix", "--diff", "--check", "untouched.py", cwd=tmp_path).returncode == 0
    assert asyncmend("fix", "--diff", "pkg/crlf.py", cwd=tmp_path).returncode == 0
    # --check alone is a usage error.
    assert asyncmend("fix", "--check", "untouched.py", cwd=tmp_path).returncode == 2


# -- the diff of a file with many fixes -----------------------------------------

from asyncmend.codemods.source import edits  # noqa: E402


def _many_changes(count: int) -> tuple[str, str]:
    """A file of ``count`` functions alike but for their names, each of
    whose bodies one fix rewrites (the shape on which difflib's matcher
    takes quadratic time), and an import added at the top."""
    body = "    user = await client.get(1)\n\n    time.sleep(1)\n    return user\n\n"
    before = "import time\n\n" + "".join(f"async def f{n}(client):\n{body}" for n in range(count))
    after = "import asyncio\n\n" + "".join(
        f"async def f{n}(client):\n{body.replace('time.sleep', 'await asyncio.sleep')}" for n in range(count)
    )
    return before, after


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("count", [3, 400], ids=["difflib's alignment", "past difflib's budget"])
def test_the_diff_of_many_fixes_applies_to_give_the_fixed_file(tmp_path: Path, count: int) -> None:
    before, after = _many_changes(count)
    changes = count + 1
    lines = before.count("\n") + after.count("\n")
    # The two cases take the two ways of aligning the lines.
    assert (changes * lines > edits.DIFFLIB_BUDGET) == (count == 400)
    (tmp_path / "m.py").write_text(before)
    git("init", "-q", cwd=tmp_path)
    (tmp_path / "fix.patch").write_text(edits.unified_diff("m.py", before, after))
    applied = git("apply", "fix.patch", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr.decode()
    assert (tmp_path / "m.py").read_text() == after


def test_the_diff_is_difflibs_own_within_its_budget() -> None:
    import difflib

    before, after = _many_changes(3)
    # A blank line added beside blank lines: difflib and line_opcodes would
    # each show a different one of them as added.
    after = after.replace("import asyncio\n\n", "import asyncio\n\n\n")
    expected = "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), "a/m.py", "b/m.py"))
    assert edits.unified_diff("m.py", before, after) == expected
