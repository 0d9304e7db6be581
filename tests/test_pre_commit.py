"""The pre-commit hooks, run by the real `pre-commit try-repo` on a throwaway
git repository."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SLEEPY = "import time\n\n\nasync def f():\n    time.sleep(1)\n"

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("pre_commit") is None, reason="pre-commit is not installed"),
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
]


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false", *args],
        cwd=cwd, check=True, capture_output=True, timeout=60,
    )


def hook_repository(root: Path) -> Path:
    """A git repository holding this project as it is now (committed or not)."""
    repo = root / "asyncmend"
    shutil.copytree(REPO / "codemods", repo / "codemods", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("cli.py", "pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, repo / name)
    git("init", "-q", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "snapshot", cwd=repo)
    return repo


def try_repo(hooks: Path, hook_id: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hooks), hook_id, "--all-files", "--color", "never"],
        cwd=cwd, capture_output=True, text=True, timeout=580,
        env={**os.environ, "PRE_COMMIT_COLOR": "never"},
    )


def test_hooks_fix_and_check_through_pre_commit_try_repo(tmp_path: Path) -> None:
    hooks = hook_repository(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "service.py").write_text(SLEEPY)
    (work / "clean.py").write_text("async def f():\n    return 1\n")
    git("init", "-q", cwd=work)
    git("add", ".", cwd=work)

    check = try_repo(hooks, "asyncmend-check", work)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "service.py:5:5: AM101" in check.stdout
    assert (work / "service.py").read_text() == SLEEPY

    fixed = try_repo(hooks, "asyncmend", work)
    # pre-commit fails a hook that modified files, so the user can review them.
    assert fixed.returncode == 1, fixed.stdout + fixed.stderr
    assert "files were modified by this hook" in fixed.stdout
    assert (work / "service.py").read_text() == "import asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)\n"

    git("add", ".", cwd=work)
    again = try_repo(hooks, "asyncmend-check", work)
    assert again.returncode == 0, again.stdout + again.stderr
