"""The line edits attached to findings (for json, sarif and review
suggestions) rebuild exactly the file that ``fix`` writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncmend.codemods import RULES
from asyncmend.codemods.findings import Edit, Finding, Safety
from asyncmend.codemods.settings import Settings
from asyncmend.codemods.settings import Options
from asyncmend.codemods.source.text import decode
from asyncmend.codemods.engine.passes import process_bytes

FIXTURES = Path(__file__).parent / "fixtures"
CHANGING = sorted(
    path for path in FIXTURES.glob("*/*.before.py")
    if path.with_name(path.name.replace(".before.", ".after.")).exists()
)


def _apply(text: str, edits: set[Edit]) -> str:
    lines = text.splitlines(keepends=True)
    # From the bottom up, so that earlier line numbers stay valid.
    for edit in sorted(edits, key=lambda e: (e.start_line, e.end_line), reverse=True):
        lines[edit.start_line - 1 : edit.end_line - 1] = edit.content.splitlines(keepends=True)
    return "".join(lines)


@pytest.mark.parametrize("before", CHANGING, ids=lambda p: f"{p.parent.name}/{p.name[:-10]}")
def test_applying_each_distinct_edit_once_gives_the_fixed_file(before: Path) -> None:
    after = before.with_name(before.name.replace(".before.", ".after."))
    data = before.read_bytes()
    # The fixture's own options (``# asyncmend-test:``) shape its expected output.
    from tests.test_fixtures import _settings

    rule = next(r for r in RULES if r.SLUG.replace("-", "_") == before.parent.name)
    fixture_settings = _settings(rule.CODE, before.read_bytes().decode("utf-8", errors="replace"))
    options = Options(settings=fixture_settings, edits=True)
    outcome = process_bytes(data, options, RULES, before.name)
    fixed = [f for f in outcome.findings if f.fixed]
    assert fixed and all(f.fix is not None and f.fix.edits for f in fixed)
    edits = {edit for f in fixed for edit in f.fix.edits}  # type: ignore[union-attr]
    text, _ = decode(data)
    expected, _ = decode(after.read_bytes())
    assert _apply(text, edits) == expected


def test_each_finding_owns_the_edit_on_its_own_line() -> None:
    source = b"import time\n\n\nasync def f():\n    time.sleep(1)\n    time.sleep(2)\n"
    outcome = process_bytes(source, Options(settings=Settings(), edits=True), RULES, "m.py")
    first, second = outcome.findings
    assert first.fix is not None and second.fix is not None
    assert first.fix.edits[0] == Edit(5, 6, "    await asyncio.sleep(1)\n")
    assert second.fix.edits[0] == Edit(6, 7, "    await asyncio.sleep(2)\n")
    # The import edit is shared and comes after each finding's own edit.
    assert first.fix.edits[1:] == second.fix.edits[1:] == (Edit(1, 2, "import asyncio\n"),)
    assert "needs `import asyncio`" in first.fix.message


# -- line_opcodes: an alignment that rebuilds the new version exactly --------

import pytest  # noqa: E402

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from asyncmend.codemods.source.edits import attach_edits, line_opcodes  # noqa: E402

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


def test_each_of_many_findings_owns_the_edit_on_its_own_line() -> None:
    # Hunks are handed to findings by a sweep down the file: every one of
    # many findings must still get exactly its own line, and the import edit.
    count = 300
    source = "import time\n" + "".join(
        f"\nasync def f{n}(client):\n    await client.get({n})\n    time.sleep({n})\n" for n in range(count)
    )
    outcome = process_bytes(source.encode(), Options(settings=Settings(), edits=True), RULES, "m.py")
    assert len(outcome.findings) == count
    for n, finding in enumerate(outcome.findings):
        assert finding.fix is not None
        assert finding.fix.edits == (
            Edit(finding.line, finding.line + 1, f"    await asyncio.sleep({n})\n"),
            Edit(1, 2, "import asyncio\n"),
        )


_SPANS = st.lists(st.tuples(st.integers(1, 30), st.integers(0, 4)), max_size=8)


@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(_LINES, _LINES, _SPANS)
def test_hunks_go_to_the_findings_whose_lines_they_touch(a: list[str], b: list[str], spans: list[tuple[int, int]]) -> None:
    findings = [
        Finding("AM101", "blocking-sleep", "m", line, 1, line + extra, 2, True, Safety.SAFE, fixed=True)
        for line, extra in spans
    ]
    attached = [f for f in attach_edits(findings, "".join(a), "".join(b)) if f.fix is not None]
    assert len(attached) == len(findings)
    hunks = [(i1 + 1, max(i1 + 1, i2)) for tag, i1, i2, _, _ in line_opcodes(a, b) if tag != "equal"]

    def touches(hunk: tuple[int, int], finding: Finding) -> bool:
        return finding.line <= hunk[1] and hunk[0] <= finding.end_line

    def hunk_of(edit: Edit) -> tuple[int, int]:
        return next(h for h in hunks if h[0] <= edit.start_line <= h[1])

    # Each edit comes from a hunk that touches its finding, or from one
    # that touches no finding, which every finding carries.
    for finding in attached:
        for edit in finding.fix.edits:  # type: ignore[union-attr]
            hunk = hunk_of(edit)
            assert touches(hunk, finding) or not any(touches(hunk, f) for f in findings)
    shared = [h for h in hunks if not any(touches(h, f) for f in findings)]
    for finding in attached:
        assert {hunk_of(e) for e in finding.fix.edits if not touches(hunk_of(e), finding)} == set(shared)  # type: ignore[union-attr]
    # Every hunk is handed out, and together the edits rebuild the new text.
    edits = {edit for f in attached for edit in f.fix.edits}  # type: ignore[union-attr]
    if findings:
        assert {hunk_of(edit) for edit in edits} == set(hunks)
        assert _apply("".join(a), edits) == "".join(b)
