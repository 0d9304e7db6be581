"""Each finding's own fix stands alone: a reviewer who accepts any subset of
the suggestions, in any order, gets a program that compiles, with no
undefined name and no newly unused name; accepting all of them (with the
joint edits their fixes share) gives exactly what ``fix`` writes."""

from __future__ import annotations

import ast
import itertools
import random
import warnings
from pathlib import Path

import pytest

from asyncmend.codemods import RULES, Options, Settings
from asyncmend.codemods.engine import own_fixes
from asyncmend.codemods.engine.own_fixes import apply_own_fixes, fix_units, key_of
from asyncmend.codemods.engine.passes import process_bytes
from asyncmend.codemods.findings import Edit, Finding
from asyncmend.codemods.source.text import decode, split_lines

pyflakes_checker = pytest.importorskip("pyflakes.checker")
pyflakes_messages = pytest.importorskip("pyflakes.messages")

ROOT = Path(__file__).resolve().parent.parent
EVERY_FIX = Settings()  # every rule, every fix (as a report previews them)

# Files where several rules meet, each fix needing or freeing imports.
SOURCES: dict[str, str] = {
    # AM101 and AM402 each leave something unused: `import time`, `loop`.
    "repository": (ROOT / "examples" / "shop" / "repository.py").read_text(),
    "handlers": (ROOT / "examples" / "shop" / "handlers.py").read_text(),
    "worker": (ROOT / "examples" / "shop" / "worker.py").read_text(),
    # Two sleeps: `import time` goes only when both are fixed.
    "two_sleeps": "import time\n\n\nasync def f():\n    time.sleep(1)\n    time.sleep(2)\n",
    # `from time import sleep` shared by two fixes, and a name kept.
    "from_import": (
        "from time import sleep, monotonic\n\n\nasync def a():\n    sleep(1)\n\n\n"
        "async def b():\n    sleep(2)\n    return monotonic()\n"
    ),
    # Two findings on one line: their fixes rewrite the same line.
    "one_line": "import time\n\n\nasync def f():\n    time.sleep(1); time.sleep(2)\n",
    # AM101's `import asyncio` makes AM201's gather possible.
    "import_enables_gather": (
        "import time\n\n\nasync def f():\n    time.sleep(1)\n\n\n"
        "async def g(uid):\n    x = await fetch_user(uid)\n    y = await fetch_orders(uid)\n    return x, y\n"
    ),
    # AM302's await completes a run of awaits that AM201 gathers.
    "await_enables_gather": (
        "import asyncio\n\n\nasync def fetch(n):\n    await asyncio.sleep(0)\n    return n\n\n\n"
        "async def main():\n    await fetch(1)\n    fetch(2)\n"
    ),
    # AM102's await and the next one make a run AM201 gathers; AM101's
    # sleep elsewhere is a fix of its own.
    "thread_enables_gather": (
        "import asyncio\nimport time\n\nimport requests\n\n\nasync def get_user(uid):\n"
        "    await asyncio.sleep(0)\n    return uid\n\n\nasync def load(url, uid):\n"
        "    user = await get_user(uid)\n    page = requests.get(url)\n    return page, user\n\n\n"
        "async def pause():\n    time.sleep(1)\n"
    ),
    # Imports of three rules at once: asyncio, contextvars, and a helper.
    "three_rules": (
        "import asyncio\nimport threading\nimport time\n\n_state = threading.local()\n\n\n"
        "async def handle(user):\n    _state.user = user\n    time.sleep(0.1)\n"
        "    asyncio.create_task(work())\n    return _state.user\n\n\nasync def work():\n    return 1\n"
    ),
    "executor_twice": (
        "import asyncio\nimport hashlib\n\n\nasync def a(data):\n    loop = asyncio.get_running_loop()\n"
        "    return await loop.run_in_executor(None, hashlib.sha256, data)\n\n\n"
        "async def b(data):\n    loop = asyncio.get_running_loop()\n"
        "    first = await loop.run_in_executor(None, hashlib.sha256, data)\n"
        "    second = await loop.run_in_executor(None, hashlib.md5, data)\n    return first, second\n"
    ),
}


def _fixture_sources() -> dict[str, str]:
    """Rule fixtures where, with every rule on, two or more fixes meet."""
    found = {}
    for path in sorted((ROOT / "tests" / "fixtures").glob("*/*.before.py")):
        data = path.read_bytes()
        try:
            text = decode(data)[0]
        except Exception:
            continue
        outcome = process_bytes(data, Options(settings=EVERY_FIX), RULES, path.name)
        if sum(f.fixed for f in outcome.findings) >= 2 and "\ufeff" not in text:
            found[f"{path.parent.name}/{path.name[:-10]}"] = text
    return found


CASES = {**SOURCES, **_fixture_sources()}


def problems(source: str) -> set[str]:
    """Undefined and unused names that pyflakes sees (line numbers left out:
    a fix moves lines)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(source)
    checker = pyflakes_checker.Checker(tree, filename="case.py")
    kinds = (pyflakes_messages.UndefinedName, pyflakes_messages.UnusedImport, pyflakes_messages.UnusedVariable)
    return {
        f"{type(m).__name__}: {m.message % m.message_args}" for m in checker.messages if isinstance(m, kinds)
    }


class Reviewer:
    """Accepts suggestions one at a time, as a review tool applies them to
    the file as it is by then: an edit names lines of the original, which
    earlier accepted edits may have moved, never rewritten. An insertion
    goes before the original line it names (or what replaced it), after
    what was inserted there before."""

    def __init__(self, text: str) -> None:
        # Each current line: its text, the original line it is (None when
        # written), and the original line it stands at.
        self.lines: list[tuple[str, int | None, int, bool]] = [
            (line, i, i, False) for i, line in enumerate(split_lines(text))
        ]
        self.applied: set[Edit] = set()

    def accept(self, edit: Edit) -> None:
        if edit in self.applied:
            return  # the same suggestion, offered with another finding
        self.applied.add(edit)
        start, end = edit.start_line - 1, edit.end_line - 1
        if start < end:
            positions = [p for p, line in enumerate(self.lines) if line[1] is not None and start <= line[1] < end]
            assert len(positions) == end - start, f"{edit} touches lines another accepted edit rewrote"
            at = positions[0]
            assert positions == list(range(at, at + end - start)), f"{edit}: its lines are no longer together"
            removed = end - start
        else:
            at = next(
                (p for p, (_, _, anchor, inserted) in enumerate(self.lines) if anchor > start or (anchor == start and not inserted)),
                len(self.lines),
            )
            removed = 0
        self.lines[at : at + removed] = [(line, None, start, start == end) for line in split_lines(edit.content)]

    def text(self) -> str:
        return "".join(line for line, *_ in self.lines)


def review(text: str, findings: list[Finding], order: tuple[int, ...]) -> str:
    """``text`` with the fixes of ``findings[i]`` for ``i`` in ``order``
    accepted in that order; a joint edit once every finding it needs is."""
    reviewer = Reviewer(text)
    accepted: set[tuple[str, int, int]] = set()
    for index in order:
        finding = findings[index]
        assert finding.fix is not None
        for edit in finding.fix.edits:
            reviewer.accept(edit)
        accepted.add((finding.code, finding.line, finding.column))
        for joint in finding.fix.joint:
            if set(joint.findings) <= accepted:
                reviewer.accept(joint.edit)
    return reviewer.text()


def orders(count: int, seed: str) -> list[tuple[int, ...]]:
    """Every subset in every order for a few findings; for more, every
    subset in two orders; for many, a sample."""
    if count <= 4:
        return [p for k in range(1, count + 1) for p in itertools.permutations(range(count), k)]
    subsets = [s for k in range(1, count + 1) for s in itertools.combinations(range(count), k)]
    if len(subsets) > 300:
        subsets = random.Random(seed).sample(subsets, 300) + [tuple(range(count))]
    return subsets + [s[::-1] for s in subsets]


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_subset_of_fixes_in_every_order_stands_alone_and_all_give_fix(name: str) -> None:
    text = CASES[name]
    data = text.encode("utf-8")
    outcome = process_bytes(data, Options(settings=EVERY_FIX, edits=True), RULES, "case.py")
    fixed = [f for f in outcome.findings if f.fixed]
    assert len(fixed) >= 2, "a case where fixes meet"
    expected = outcome.output.decode("utf-8")
    # A rule may leave a name unused on purpose (AM402 keeps a `loop` line
    # whose comment speaks of it): what `fix` itself leaves is no defect of
    # a fix applied alone.
    allowed = problems(text) | problems(expected)
    for order in orders(len(fixed), name):
        result = review(text, fixed, order)
        compile(result, "case.py", "exec", dont_inherit=True)
        new = problems(result) - allowed
        assert not new, f"accepting {[fixed[i].code + ':' + str(fixed[i].line) for i in order]}: {new}"
        if len(order) == len(fixed):
            assert result == expected, f"order {order}"


def test_a_fix_carries_only_its_own_edits() -> None:
    """The defect this guards against: AM101's fix deleted AM402's `loop`
    line, and AM402's deleted AM101's `import time`."""
    text = SOURCES["repository"]
    outcome = process_bytes(text.encode(), Options(settings=EVERY_FIX, edits=True), RULES, "repository.py")
    by_code = {f.code: f for f in outcome.findings if f.fixed}
    lines = split_lines(text)
    am101, am402 = by_code["AM101"].fix, by_code["AM402"].fix
    assert am101 is not None and am402 is not None
    removed_by_101 = {lines[e.start_line - 1].strip() for e in am101.edits if not e.content}
    removed_by_402 = {lines[e.start_line - 1].strip() for e in am402.edits if not e.content}
    assert removed_by_101 == {"import time"}
    assert removed_by_402 == {"loop = asyncio.get_running_loop()"}
    assert am101.message.startswith("Remove `import time`; replace `time.sleep(")


def test_an_import_only_the_fixes_together_leave_unused_is_a_joint_edit() -> None:
    text = SOURCES["two_sleeps"]
    outcome = process_bytes(text.encode(), Options(settings=EVERY_FIX, edits=True), RULES, "m.py")
    first, second = outcome.findings
    assert first.fix is not None and second.fix is not None
    # Each adds the asyncio import and rewrites its own line; neither alone
    # may remove `import time`, which the other still uses.
    assert first.fix.edits == (Edit(1, 1, "import asyncio\n"), Edit(5, 6, "    await asyncio.sleep(1)\n"))
    assert second.fix.edits == (Edit(1, 1, "import asyncio\n"), Edit(6, 7, "    await asyncio.sleep(2)\n"))
    (joint,) = first.fix.joint
    assert joint.edit == Edit(1, 2, "") and joint.findings == (("AM101", 6, 5),)
    assert second.fix.joint[0].findings == (("AM101", 5, 5),)


def test_fixes_of_the_same_line_are_one_fix_shared_by_both_findings() -> None:
    text = SOURCES["one_line"]
    outcome = process_bytes(text.encode(), Options(settings=EVERY_FIX, edits=True), RULES, "m.py")
    first, second = outcome.findings
    assert first.fix == second.fix
    assert first.fix is not None and Edit(5, 6, "    await asyncio.sleep(1); await asyncio.sleep(2)\n") in first.fix.edits


def test_a_file_of_many_fixes_is_given_a_bounded_number_of_fixes_each_standing_alone() -> None:
    # Past MAX_GROUPS findings, neighbours share one fix: the rules run a
    # bounded number of times, not twice per finding.
    count = 3 * own_fixes.MAX_GROUPS
    text = "import time\n" + "".join(f"\n\nasync def f{n}():\n    time.sleep({n})\n" for n in range(count))
    runs = []
    real = own_fixes.attach_own_fixes

    def counting(findings, before, after, rerun, settings):  # type: ignore[no-untyped-def]
        def counted(declining: Settings) -> str:
            runs.append(declining)
            return rerun(declining)

        return real(findings, before, after, counted, settings)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(own_fixes, "attach_own_fixes", counting)
        outcome = process_bytes(text.encode(), Options(settings=EVERY_FIX, edits=True), RULES, "m.py")
    fixed = [f for f in outcome.findings if f.fixed]
    assert len(fixed) == count
    assert len(runs) <= 2 * own_fixes.MAX_GROUPS
    distinct = {f.fix.edits for f in fixed if f.fix is not None}
    assert len(distinct) == own_fixes.MAX_GROUPS
    expected = outcome.output.decode("utf-8")
    allowed = problems(text) | problems(expected)
    for index in (0, count // 2, count - 1):
        result = review(text, fixed, (index,))
        compile(result, "m.py", "exec", dont_inherit=True)
        assert not problems(result) - allowed
        # Its neighbours' sleeps are fixed with it, and no other.
        sharing = [f for f in fixed if f.fix.edits == fixed[index].fix.edits]  # type: ignore[union-attr]
        assert len(sharing) == 3
        assert result.count("await asyncio.sleep(") == len(sharing)
    assert review(text, fixed, tuple(range(count))) == expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_own_fixes_applied_together_give_what_fix_writes_and_any_subset_stands_alone(name: str) -> None:
    """What `fix --verify` tests and writes: the own fixes of a set of
    findings, applied at once (joint edits where all their findings are)."""
    text = CASES[name]
    outcome = process_bytes(text.encode("utf-8"), Options(settings=EVERY_FIX, edits=True), RULES, "case.py")
    fixed = [f for f in outcome.findings if f.fixed]
    lines = split_lines(text)
    every = frozenset(key_of(f) for f in fixed)
    assert "".join(apply_own_fixes(lines, outcome.findings, every)[0]) == outcome.output.decode("utf-8")
    units = fix_units(outcome.findings)
    assert sorted(f.sort_key() for unit in units for f in unit) == sorted(f.sort_key() for f in fixed)
    allowed = problems(text) | problems(outcome.output.decode("utf-8"))
    # Applied at once, the order they were chosen in does not count.
    for subset in sorted({tuple(sorted(order)) for order in orders(len(units), name)}):
        chosen = frozenset(key_of(f) for i in subset for f in units[i])
        result = "".join(apply_own_fixes(lines, outcome.findings, chosen)[0])
        compile(result, "case.py", "exec", dont_inherit=True)
        assert not problems(result) - allowed, sorted(chosen)
