"""The README's quick start, run from the repository's root as a new user
runs it, shows the rewrites the product is about."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _quick_start_diff() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    command = re.findall(r"```\n(.*?)\n```", section, re.S)[0]
    # The part after the install, with this interpreter's asyncmend.
    argv = command.split("&& asyncmend ", 1)[1].split()
    done = subprocess.run(
        [sys.executable, "-m", "asyncmend.cli", *argv, "--no-cache"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_quick_start_gathers_the_three_independent_queries_of_order_summary() -> None:
    # The repository's own tests and fixtures are part of the project around
    # examples/: the functions they define must not make the example's
    # library calls unknown.
    diff = _quick_start_diff()
    assert "+    user, orders, wishlist = await asyncio.gather(" in diff
    # The two calls that depend on each other stay in order.
    assert "-    order_id = await repository.create_order(db, user_id)" not in diff
