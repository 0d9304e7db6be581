"""AM103 cpu-bound: which CPU-heavy calls in a coroutine it reports, how it
decides a call is heavy, which it fixes (those that release the GIL) and
which it only reports (those that hold it), its options, and that the fixed
program lets the other tasks run while it computes what the original did."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from asyncmend.codemods.cpu_bound import CpuBound
from asyncmend.codemods.settings import ConfigError, load_config
from tests.helpers import TICKING, findings_of, fixed_by, fixture_findings, printed, run_cli, write_project

# -- findings and messages ----------------------------------------------------


def test_gil_releasing_call_message_says_a_thread_runs_it_in_parallel() -> None:
    (finding,) = findings_of(
        """
        import bcrypt

        async def f(password):
            return bcrypt.hashpw(password, bcrypt.gensalt())
        """,
        "AM103",
    )
    assert finding.fixable
    assert "slow by design" in finding.message
    assert "it releases the GIL, so a thread runs it in parallel: `await asyncio.to_thread(...)`" in finding.message


def test_pure_python_call_is_reported_without_a_fix_naming_the_gil_and_a_process_pool() -> None:
    findings = fixture_findings("cpu_bound/noop_pure_python")
    assert [(f.line, f.fixable) for f in findings] == [(8, False), (9, False)]
    for finding in findings:
        assert "a thread would not help, as it holds the GIL" in finding.message
        assert "`concurrent.futures.ProcessPoolExecutor`" in finding.message


@pytest.mark.parametrize(
    "case, lines, reason",
    [
        ("noop_comprehension_and_trio", [7, 8], "in a comprehension"),
        ("noop_comprehension_and_trio", [7, 8], "`await trio.to_thread.run_sync(...)`"),
    ],
)
def test_site_the_rule_cannot_fix_is_reported_with_the_reason(case: str, lines: list[int], reason: str) -> None:
    findings = fixture_findings(f"cpu_bound/{case}")
    assert [f.line for f in findings] == lines
    assert not any(f.fixable for f in findings)
    assert any(reason in f.message for f in findings)


# -- what is heavy ------------------------------------------------------------
#
# Each program is a module; the marked lines must be reported and no other.

HEAVINESS = {
    "password hashing is heavy by design, in any import form": """
        import hashlib
        from bcrypt import kdf as derive
        import argon2.low_level as argon
        from nacl import pwhash

        async def f(pw, salt, rounds):
            derive(pw, salt, 32, rounds)  # report
            argon.hash_secret(pw, salt, 2, 65536, 1, 32, argon.Type.ID)  # report
            pwhash.argon2id.str(pw)  # report
            hashlib.scrypt(pw, salt=salt, n=16384, r=8, p=1)  # report
            hashlib.pbkdf2_hmac("sha256", pw, salt, rounds)  # report
        """,
    "a literal work factor below the floor is cheap": """
        import hashlib

        async def f(pw, salt):
            hashlib.pbkdf2_hmac("sha256", pw, salt, 999)
            hashlib.pbkdf2_hmac("sha256", pw, salt, iterations=10)
            hashlib.scrypt(pw, salt=salt, n=16, r=1, p=1)
            hashlib.pbkdf2_hmac("sha256", pw, salt, 1000)  # report
            hashlib.scrypt(pw, salt=salt, n=1024, r=8, p=1)  # report
        """,
    "compression is heavy unless its data is a literal": """
        import bz2, gzip, lzma, zlib

        async def f(data, parts):
            zlib.compress(b"abc")
            zlib.decompress(data=b"x" b"y")
            gzip.compress("text".encode())
            bz2.compress(data)  # report
            lzma.decompress(b"".join(parts))  # report
            zlib.compress(*parts)  # report
        """,
    "a PasswordHasher is followed from where it is made": """
        from argon2 import PasswordHasher

        SHARED = PasswordHasher()

        async def f(pw, stored, hasher: PasswordHasher, other):
            SHARED.hash(pw)  # report
            hasher.verify(stored, pw)  # report
            PasswordHasher(time_cost=3).hash(pw)  # report
            other.hash(pw)
            SHARED.check_needs_rehash(stored)
        """,
    "hashing, json and pickle are not in the list": """
        import hashlib, json, pickle

        async def f(data, path):
            hashlib.sha256(data).hexdigest()
            json.loads(data)
            pickle.dumps(data)
            with open(path, "rb") as handle:
                hashlib.file_digest(handle, "sha256")  # report
        """,
    "shadowed names and plain defs are not": """
        import zlib

        def sync(data):
            return zlib.compress(data)

        async def f(zlib, data):
            return zlib.compress(data)
        """,
}


@pytest.mark.parametrize("name", sorted(HEAVINESS))
def test_reports_exactly_the_marked_heavy_calls(name: str) -> None:
    source = textwrap.dedent(HEAVINESS[name])
    expected = [number for number, line in enumerate(source.splitlines(), 1) if "# report" in line]
    assert [f.line for f in findings_of(source, "AM103")] == expected


def test_small_constants_and_calls_outside_the_loop_are_not_reported() -> None:
    assert fixture_findings("cpu_bound/noop_small_or_unknown_cost") == []
    assert fixture_findings("cpu_bound/noop_not_on_the_loop") == []


# -- pure-Python work of the project -----------------------------------------
#
# How the rule decides a project function is heavy (its docstring says the
# same): it only computes, and nests loops over data its arguments size.

PROJECT_HEAVINESS = {
    "two loops over one argument multiply; a constant argument is small": """
        def pairs(points):
            return [(a, b) for a in points for b in points]

        async def f(points, other):
            pairs(points)  # report
            pairs(other.points)  # report
            pairs([1, 2, 3])
            pairs(())
        """,
    "a loop over an argument whose body calls a function looping over another argument": """
        def nearest(point, points):
            return min(abs(point - other) for other in points)

        def all_nearest(points):
            return [nearest(p, points) for p in points]

        def each_alone(points):
            return [nearest(p, [p]) for p in points]

        async def f(points):
            all_nearest(points)  # report
            each_alone(points)
        """,
    "a loop over each item of an argument visits each value once": """
        def flatten(rows):
            return [value for row in rows for value in row]

        def total(row):
            return sum(x for x in row)

        def grand_total(rows):
            return sum(total(row) for row in rows)

        async def f(rows):
            flatten(rows)
            grand_total(rows)
        """,
    "an index by a loop's item is its part, a window of one argument is no run of it; a slice is": """
        def split(groups, texts):
            out = {}
            for key, text in zip(groups.keys, texts):
                members = groups.members[key]
                for member in members:
                    out[member] = text
            return out

        def duplicates(members):
            return [i for i, m in enumerate(members) if any(m == e for e in members[:i])]

        def tails(text, tokens):
            return [text[i:] for token in tokens for i in range(len(text) - len(token), len(text))]

        def later_pairs(points):
            return [(i, j) for i in range(len(points)) for j in range(i + 1, len(points))]

        async def f(groups, texts, members, text, tokens):
            split(groups, texts)
            duplicates(members)  # report
            tails(text, tokens)
            later_pairs(members)  # report
        """,
    "a work list's items, and calls beside a loop on its line, add no loop": """
        def flatten(key, value):
            pending = [(key, value)]
            out = []
            while pending:
                k, v = pending.pop()
                if isinstance(v, dict):
                    pending.extend((k, sub) for sub in v.values())
                else:
                    out.append(v)
            return out

        def lines_of(text):
            return [line for line in text.split("\\n")]

        def words(text):
            return [word for line in lines_of(text) for word in line.split()]

        async def f(key, value, text):
            flatten(key, value)
            words(text)
        """,
    "text made of values, by an f-string, % or str.format, is work like str()": """
        def labels(points):
            return [f"{a}-{b!r}" for a in points for b in points]

        def joined(points):
            return ["%s:%s" % (a, b) for a in points for b in points]

        def formatted(points):
            return ["{}/{}".format(a, b) for a in points for b in points]

        async def f(points):
            labels(points)  # report
            joined(points)  # report
            formatted(points)  # report
        """,
    "a while loop on a value from an argument, and range(len(...)), are sized": """
        def bubble(items):
            items = list(items)
            n = len(items)
            while n > 1:
                for i in range(n - 1):
                    if items[i] > items[i + 1]:
                        items[i], items[i + 1] = items[i + 1], items[i]
                n -= 1
            return items

        async def f(items):
            return bubble(items)  # report
        """,
    "I/O, logging, a callable passed in, a generator, a recursion or self's data are not pure work": """
        import logging
        _LOGGER = logging.getLogger(__name__)

        def noisy(points):
            for a in points:
                for b in points:
                    _LOGGER.debug("%s %s", a, b)

        def printed(points):
            for a in points:
                for b in points:
                    print(a, b)

        def applied(fn, points):
            return [fn(a, b) for a in points for b in points]

        def lazy(points):
            for a in points:
                for b in points:
                    yield a, b

        def walk(tree):
            return [walk(child) for child in tree for _ in tree]

        class Board:
            def __init__(self):
                self.cells = [1, 2, 3]

            def pairs(self):
                return [(a, b) for a in self.cells for b in self.cells]

        async def f(points, board: Board):
            noisy(points)
            printed(points)
            applied(max, points)
            lazy(points)
            walk(points)
            board.pairs()
        """,
    "a call under await, or in a nested plain def, is not on the loop": """
        import asyncio

        def pairs(points):
            return [(a, b) for a in points for b in points]

        async def f(points):
            await asyncio.to_thread(pairs, points)

            def later():
                return pairs(points)
            return later
        """,
}


@pytest.mark.parametrize("name", sorted(PROJECT_HEAVINESS))
def test_reports_exactly_the_marked_project_calls(name: str) -> None:
    source = textwrap.dedent(PROJECT_HEAVINESS[name])
    expected = [number for number, line in enumerate(source.splitlines(), 1) if "# report" in line]
    assert [f.line for f in findings_of(source, "AM103")] == expected


def test_project_work_message_names_the_loops_the_gil_and_a_process_pool() -> None:
    (finding,) = findings_of(
        """
        def pairs(points):
            return [(a, b) for a in points for b in points]

        async def f(points):
            return pairs(points)
        """,
        "AM103",
    )
    assert "`pairs()` runs pure-Python nested loops over `points` (and no I/O)" in finding.message
    assert "a thread would not help, as it holds the GIL the loop needs" in finding.message
    assert "`concurrent.futures.ProcessPoolExecutor`" in finding.message
    assert finding.fixable


def test_project_work_fixed_only_where_a_worker_process_runs_it_as_here() -> None:
    findings = fixture_findings("cpu_bound/noop_project_pool_not_possible")
    reasons = {f.line: f.message.split("not fixed: ", 1)[1] for f in findings}
    assert not any(f.fixable for f in findings)
    assert "only an undecorated function defined at the top of this module" in reasons[29]
    assert reasons[37].startswith("it changes `items[]`; in a worker process it would change a copy")
    assert reasons[38].startswith("it reads the module-level `WEIGHTS`")
    assert "only an undecorated function defined at the top of this module" in reasons[39]
    # ``grid.pairs(points)`` (line 40): a method of another object is left alone.
    assert 40 not in reasons
    assert "only names and constants" in reasons[41]
    assert "in a comprehension" in reasons[42]


def test_module_that_runs_code_on_import_gets_no_process_pool() -> None:
    (finding,) = fixture_findings("cpu_bound/noop_project_runs_on_import")
    assert not finding.fixable
    assert "the module runs `logging.basicConfig(level=logging.INFO)` when imported" in finding.message
    assert 'keep it under `if __name__ == "__main__":`' in finding.message


def test_light_or_impure_project_functions_are_not_reported() -> None:
    assert fixture_findings("cpu_bound/noop_project_light_or_not_pure") == []


def test_project_function_in_another_module_is_reported_but_not_fixed(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": "",
        "app/__init__.py": "",
        "app/geometry.py": "def pairs(points):\n    return [(a, b) for a in points for b in points]\n",
        "app/handlers.py": "from .geometry import pairs\n\n\nasync def handle(points):\n    return pairs(points)\n",
    }
    write_project(tmp_path, files)
    result = run_cli(["check", "--select", "AM103", "--output-format", "json", "--no-cache", "app"], tmp_path)
    (finding,) = json.loads(result.output)
    assert finding["path"].endswith("handlers.py") and finding["line"] == 5
    assert finding["fix"] is None
    assert "only an undecorated function defined at the top of this module" in finding["message"]


# -- options ------------------------------------------------------------------

OPTION_PROGRAM = """
    import imaging
    import yaml

    async def f(page, text):
        imaging.render_pdf(page)
        imaging.render_pdf("cover", 1)
        imaging.thumbnail(page)
        return yaml.safe_load(text)
    """


def test_options_add_functions_that_release_or_hold_the_gil() -> None:
    findings = findings_of(
        OPTION_PROGRAM, "AM103", **{"gil-releasing-calls": "imaging.render_pdf", "cpu-bound-calls": "imaging.thumbnail"}
    )
    # A call whose arguments are all literals is not reported.
    assert [(f.line, f.fixable) for f in findings] == [(6, True), (8, False), (9, False)]
    assert "configuration" in findings[0].message


def test_option_removes_built_in_entries() -> None:
    assert [f.line for f in findings_of(OPTION_PROGRAM, "AM103")] == [9]
    assert findings_of(OPTION_PROGRAM, "AM103", **{"cpu-bound-calls": "!yaml.*"}) == []


def test_option_entry_that_is_not_a_dotted_name_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.asyncmend]\ngil-releasing-calls = ["lib:fn"]\n')
    with pytest.raises(ConfigError, match="gil-releasing-calls: not a dotted name"):
        load_config(tmp_path / "pyproject.toml", [CpuBound])


# -- behaviour ----------------------------------------------------------------
#
# The original and the fixed program run in a fresh interpreter. A ticker
# task counts how often it runs while ``work()`` derives keys
# (tests.helpers.TICKING): the original never lets it run; the fixed one
# does, and derives the same keys.

PROGRAM = '''
import asyncio
import hashlib
import json


async def work():
    keys = []
    for salt in (b"salt-1", b"salt-2"):
        key = hashlib.pbkdf2_hmac("sha256", b"secret", salt, 300_000)
        keys.append(key.hex())
    return keys
'''


def test_fixed_key_derivation_lets_other_tasks_run_and_derives_the_same_keys(tmp_path: Path) -> None:
    fixed = fixed_by(PROGRAM, "AM103")
    assert fixed.count("await asyncio.to_thread(hashlib.pbkdf2_hmac,") == 1

    keys_before, ticks_before = printed(PROGRAM + TICKING, tmp_path, "original")
    keys_after, ticks_after = printed(fixed + TICKING, tmp_path, "fixed")

    assert keys_after == keys_before
    assert len(set(keys_before)) == 2
    assert ticks_before == 0
    # Two derivations of ~0.1 s each with a 5 ms ticker give dozens of
    # ticks; 5 leaves a wide margin for a slow machine.
    assert ticks_after >= 5


# The process pool's fix, run under the "spawn" start method (the default on
# macOS and Windows): each worker imports the module afresh to find the
# function, so the fix must hold there. The ticker of TICKING, its run under
# the ``__main__`` guard that spawn needs.
POOL_PROGRAM = '''
import asyncio
import json
import multiprocessing


def closest_gap(points, scale=1):
    best = None
    for a in points:
        for b in points:
            gap = abs(a - b) * scale
            if gap and (best is None or gap < best):
                best = gap
    return best


async def work():
    points = [(i * 7919) % 100_003 for i in range(2500)]
    return [closest_gap(points), closest_gap(points, scale=3)]
''' + TICKING.replace(
    "print(json.dumps(asyncio.run(_measure())))",
    'if __name__ == "__main__":\n    multiprocessing.set_start_method("spawn")\n    print(json.dumps(asyncio.run(_measure())))',
)


def test_fixed_pure_python_work_runs_in_a_spawned_worker_and_the_loop_keeps_ticking(tmp_path: Path) -> None:
    assert 'multiprocessing.set_start_method("spawn")' in POOL_PROGRAM
    fixed = fixed_by(POOL_PROGRAM, "AM103")
    assert fixed.count("await asyncio.get_running_loop().run_in_executor(_process_pool(), ") == 2
    assert "functools.partial(closest_gap, scale=3)" in fixed
    assert "atexit.register(_process_pool_executor.shutdown)" in fixed

    result_before, ticks_before = printed(POOL_PROGRAM, tmp_path, "original")
    result_after, ticks_after = printed(fixed, tmp_path, "fixed")

    assert result_after == result_before
    assert result_before[1] == 3 * result_before[0]
    assert ticks_before == 0
    # Two quadratic passes over 2,500 points take about a second in the
    # workers (plus their start) with a 5 ms ticker; 5 leaves a wide margin.
    assert ticks_after >= 5


def test_fixed_program_exits_without_a_left_over_worker(tmp_path: Path) -> None:
    fixed = fixed_by(POOL_PROGRAM, "AM103")
    path = tmp_path / "fixed.py"
    path.write_text(fixed, encoding="utf-8")
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
