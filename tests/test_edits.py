"""The line edits attached to findings (for json, sarif and review
suggestions) rebuild exactly the file that ``fix`` writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncmend.codemods import RULES
from asyncmend.codemods.findings import Edit
from asyncmend.codemods.settings import Settings
from asyncmend.codemods.settings import Options
from asyncmend.codemods.source.edits import EditConflict, apply_edits
from asyncmend.codemods.source.text import decode, split_lines
from asyncmend.codemods.engine.passes import process_bytes
from tests.helpers import fixture_project

FIXTURES = Path(__file__).parent / "fixtures"
CHANGING = sorted(
    path for path in FIXTURES.glob("*/*.before.py")
    if path.with_name(path.name.replace(".before.", ".after.")).exists()
)


@pytest.mark.parametrize("before", CHANGING, ids=lambda p: f"{p.parent.name}/{p.name[:-10]}")
def test_every_fix_with_its_joint_edits_gives_the_fixed_file(before: Path, tmp_path: Path) -> None:
    after = before.with_name(before.name.replace(".before.", ".after."))
    data = before.read_bytes()
    # The fixture's own options (``# asyncmend-test:``) shape its expected output.
    from tests.test_fixtures import _settings

    rule = next(r for r in RULES if r.SLUG.replace("-", "_") == before.parent.name)
    fixture_settings = _settings(rule.CODE, before.read_bytes().decode("utf-8", errors="replace"))
    options = Options(settings=fixture_settings, edits=True)
    # A fixture with companion modules is a module of that project.
    filename, project = fixture_project(before, data.decode("utf-8", errors="replace"), tmp_path)
    outcome = process_bytes(data, options, RULES, filename if project is not None else before.name, project=project)
    fixed = [f for f in outcome.findings if f.fixed]
    assert fixed and all(f.fix is not None and (f.fix.edits or f.fix.joint) for f in fixed)
    edits = {edit for f in fixed for edit in f.fix.edits}  # type: ignore[union-attr]
    edits |= {joint.edit for f in fixed for joint in f.fix.joint}  # type: ignore[union-attr]
    text, _ = decode(data)
    expected, _ = decode(after.read_bytes())
    expected = expected.removeprefix("\ufeff")
    applied, _ = apply_edits(split_lines(text), edits, lambda e: expected.find(e.content))
    assert "".join(applied) == expected


def test_each_finding_owns_the_edit_on_its_own_line_and_the_import_it_needs() -> None:
    source = b"import time\n\n\nasync def f():\n    time.sleep(1)\n    time.sleep(2)\n"
    outcome = process_bytes(source, Options(settings=Settings(), edits=True), RULES, "m.py")
    first, second = outcome.findings
    assert first.fix is not None and second.fix is not None
    assert first.fix.edits == (Edit(1, 1, "import asyncio\n"), Edit(5, 6, "    await asyncio.sleep(1)\n"))
    assert second.fix.edits == (Edit(1, 1, "import asyncio\n"), Edit(6, 7, "    await asyncio.sleep(2)\n"))
    assert first.fix.message == (
        "Add `import asyncio`; replace `time.sleep(1)` with `await asyncio.sleep(1)`"
    )


def test_apply_edits_refuses_two_different_edits_of_one_line() -> None:
    with pytest.raises(EditConflict):
        apply_edits(["a\n", "b\n"], [Edit(1, 2, "x\n"), Edit(1, 2, "y\n")])
    lines, origin = apply_edits(["a\n", "b\n"], [Edit(1, 2, "x\n"), Edit(1, 2, "x\n"), Edit(3, 3, "c\n")])
    assert lines == ["x\n", "b\n", "c\n"] and origin == [Edit(1, 2, "x\n"), 1, Edit(3, 3, "c\n")]


# -- line_opcodes: an alignment that rebuilds the new version exactly --------

import pytest  # noqa: E402

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from asyncmend.codemods.source.edits import line_opcodes  # noqa: E402

_LINES = st.lists(st.sampled_from(["\n", "pass\n", "x = 1\n", "y = 2\n", "def f():\n", "    return 1\n"]), max_size=40)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(_LINES, _LINES)
def test_line_opcodes_rebuild_the_new_lines_and_match_only_equal_lines(a: list[str], b: list[str]) -> None:
    rebuilt: list[str] = []
    i = j = 0
    for tag, i1, i2, j1, j2 in line_opcodes(a, b):
        assert (i1, j1) == (i, j), "opcodes must be contiguous"
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2]
            rebuilt.extend(a[i1:i2])
        else:
            assert tag in ("replace", "delete", "insert")
            rebuilt.extend(b[j1:j2])
        i, j = i2, j2
    assert (i, j) == (len(a), len(b))
    assert rebuilt == b


def test_line_opcodes_stay_fast_on_a_file_of_many_equal_lines() -> None:
    # Quadratic with SequenceMatcher(autojunk=False): minutes at this size.
    a = [line for n in range(30_000) for line in (f"def f{n}():\n", "    pass\n", "\n")]
    b = ["import asyncio\n", *a[:-3], "async def g():\n", "    await asyncio.sleep(1)\n", "\n"]
    opcodes = line_opcodes(a, b)
    equal = sum(i2 - i1 for tag, i1, i2, _, _ in opcodes if tag == "equal")
    # Every line of the old version but the last def and its body is kept.
    assert equal == len(a) - 2

