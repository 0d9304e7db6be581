"""Each rule's ``ast`` screen decides which files reach LibCST; it must pass
every file in which the rule, run without it, finds anything."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import libcst as cst
import pytest

from codemods import RULES, Settings
from codemods._base import Rule
from codemods._engine import decode, run_rules
from codemods.await_in_loop import AwaitInLoop
from codemods.sequential_awaits import SequentialAwaits

ROOT = Path(__file__).parent.parent
SOURCES = sorted(
    [*(ROOT / "tests" / "fixtures").glob("*/*.py"), *(ROOT / "examples").rglob("*.py")]
)


@functools.lru_cache(maxsize=None)
def _parsed(source: str) -> cst.Module:
    return cst.parse_module(source)


def _findings(source: str, rule: type[Rule]) -> list[object]:
    _, findings = run_rules(_parsed(source), [rule], Settings(apply=frozenset()))
    return findings


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.CODE)
def test_screen_passes_every_file_the_rule_finds_something_in(rule: type[Rule]) -> None:
    # Every fixture of every rule, before and after: the other rules' cases
    # are near misses and neighbours of this rule's own.
    checked = 0
    for path in SOURCES:
        source, _ = decode(path.read_bytes())
        if _findings(source, rule):
            checked += 1
            assert rule.screen(ast.parse(source)), f"{rule.CODE} screen drops {path.relative_to(ROOT)}"
            data = path.read_bytes()
            assert not rule.PREFILTER or any(token in data for token in rule.PREFILTER)
    assert checked, f"no source where {rule.CODE} finds anything"


SAME_RECEIVER = """
async def connect(self):
    await self.open()
    await self.authenticate()
"""

METHOD_IN_LOOP = """
async def stop(sites):
    for site in sites:
        await site.stop()
"""

IMPORTED_MODULE = """
import api

async def load(uids):
    for uid in uids:
        await api.fetch(uid)
    await api.a()
    await api.b()
"""


def test_gather_screens_skip_what_the_rules_never_gather() -> None:
    assert not SequentialAwaits.screen(ast.parse(SAME_RECEIVER))
    assert not AwaitInLoop.screen(ast.parse(METHOD_IN_LOOP))
    # A module reached through an import is no receiver: both pass.
    assert SequentialAwaits.screen(ast.parse(IMPORTED_MODULE))
    assert AwaitInLoop.screen(ast.parse(IMPORTED_MODULE))
    assert _findings(IMPORTED_MODULE, AwaitInLoop) and _findings(IMPORTED_MODULE, SequentialAwaits)
