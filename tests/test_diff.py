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
