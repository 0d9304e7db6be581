"""AM303 coroutine-in-sync: a coroutine made in plain code never runs; where
no event loop can be running it is run with ``asyncio.run``, elsewhere it is
reported with the reason; one site is AM302's or AM303's, never both's; and
the fixed program does what the original skipped."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from asyncmend.codemods import Settings, fix_source
from asyncmend.codemods.coroutine_in_sync import CoroutineInSync
from asyncmend.codemods.screen.facts import Facts
from tests.helpers import findings_of, fixed_by, run_cli, write_project

# -- behaviour ----------------------------------------------------------------
#
# The original program and the one asyncmend makes of it both run as
# scripts; what each printed and warned is compared.

SCRIPT = '''\
import asyncio


async def fetch_user(user_id):
    await asyncio.sleep(0)
    print("fetched", user_id)
    return {"id": user_id, "name": "ada"}


async def main():
    print("main ran")


if __name__ == "__main__":
    main()
    user = fetch_user(1)
    print("user:", user)
'''


def _run(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-B", "-W", "always", path.name], cwd=path.parent, capture_output=True, text=True, timeout=60
    )


def test_the_original_script_never_runs_its_coroutines_and_the_fixed_one_does(tmp_path: Path) -> None:
    original = tmp_path / "original" / "script.py"
    original.parent.mkdir()
    original.write_text(SCRIPT)
    before = _run(original)
    assert before.returncode == 0, before.stderr
    [line] = before.stdout.splitlines()
    assert line.startswith("user: <coroutine object fetch_user at ")
    assert "coroutine 'main' was never awaited" in before.stderr
    assert "RuntimeWarning" in before.stderr

    fixed = tmp_path / "fixed" / "script.py"
    fixed.parent.mkdir()
    fixed.write_text(fixed_by(SCRIPT, "AM303"))
    after = _run(fixed)
    assert after.returncode == 0, after.stderr
    assert after.stdout.splitlines() == ["main ran", "fetched 1", "user: {'id': 1, 'name': 'ada'}"]
    assert "never awaited" not in after.stderr


PROJECT = {
    "report.py": '''\
import asyncio


async def count(day):
    await asyncio.sleep(0)
    return {"day": day, "rows": 3}


def summary(day):
    result = count(day)
    return f"{day}: {result['rows']}"


def main():
    for day in ("mon", "tue"):
        print(summary(day))


if __name__ == "__main__":
    main()
''',
    "settings.py": "DAYS = ('mon', 'tue')\n",
}


def test_a_function_only_the_main_guard_calls_is_fixed_and_the_program_then_works(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_project(project, PROJECT)
    before = _run(project / "report.py")
    assert before.returncode != 0
    assert "TypeError: 'coroutine' object is not subscriptable" in before.stderr

    run_cli(["fix", "--no-cache", "-j", "1", "--unsafe-fixes", "."], project)
    text = (project / "report.py").read_text()
    assert "    result = asyncio.run(count(day))\n" in text
    after = _run(project / "report.py")
    assert after.returncode == 0, after.stderr
    assert after.stdout.splitlines() == ["mon: 3", "tue: 3"]


def test_the_fix_is_unsafe_and_waits_for_unsafe_fixes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_project(project, PROJECT)
    run_cli(["fix", "--no-cache", "-j", "1", "."], project)
    assert (project / "report.py").read_text() == PROJECT["report.py"]


def test_a_function_a_coroutine_of_another_module_calls_is_reported_not_fixed(tmp_path: Path) -> None:
    files = {
        **PROJECT,
        "server.py": "from report import summary\n\n\nasync def handle(day):\n    return summary(day)\n",
    }
    project = tmp_path / "project"
    write_project(project, files)
    done = run_cli(["fix", "--no-cache", "-j", "1", "--unsafe-fixes", "."], project)
    assert (project / "report.py").read_text() == files["report.py"]
    assert "the module `server` names `summary`" in done.output


# -- reasons ---------------------------------------------------------------------

HEADER = """\
import asyncio
import logging


async def fetch():
    return {}


"""


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("class M:\n    def __init__(self):\n        self.x = fetch()['a']\n", "`__init__` runs wherever an object is made"),
        ("class M:\n    @property\n    def size(self):\n        return fetch()['n']\n", "the property `size`"),
        ("class M:\n    def __repr__(self):\n        return f'{fetch()}'\n", "`__repr__` is called by Python itself"),
        ("class H(logging.Formatter):\n    def format(self, record):\n        fetch()\n", "is a logging hook"),
        ("class M:\n    def load(self):\n        fetch()\n", "the method `M.load` may be called from a coroutine"),
        ("cb = lambda: fetch()['x']\n", "a lambda runs wherever it is called"),
        ("fetch()\n", "runs on import"),
        ("def helper():\n    fetch()\n", "without the project"),
    ],
)
def test_where_a_loop_may_run_the_call_is_reported_with_why_asyncio_run_cannot_work(code: str, reason: str) -> None:
    [finding] = findings_of(HEADER + code, "AM303")
    assert not finding.fixable
    assert reason in finding.message
    assert "`asyncio.run()` raises `RuntimeError` inside a running loop" in finding.message


def test_a_module_where_asyncio_is_something_else_is_reported_not_fixed() -> None:
    source = "async def main():\n    pass\n\n\nasyncio = None\n\nif __name__ == '__main__':\n    main()\n"
    [finding] = findings_of(source, "AM303")
    assert not finding.fixable
    assert "`asyncio` is bound to something else here" in finding.message


def test_a_name_bound_twice_or_handed_on_after_the_call_is_left_alone() -> None:
    source = HEADER + textwrap.dedent(
        """\
        if __name__ == "__main__":
            first = fetch()
            first = None
            later = fetch()
            asyncio.run(later)
            shown = fetch()
            print(shown)
        """
    )
    findings = findings_of(source, "AM303")
    # Only `shown`: `first` is bound twice, `later` is run.
    assert [f.line for f in findings] == [14]


# -- one site, one finding -------------------------------------------------------------

MIXED = """\
import asyncio


async def save(x):
    pass


def plain():
    save(1)


async def coroutine():
    save(2)
    asyncio.gather(save(3))


class Model:
    def __init__(self):
        self.load()

    async def load(self):
        self.load()


if __name__ == "__main__":
    save(4)
    asyncio.gather(save(5))
"""


def test_am302_and_am303_share_the_sites_so_each_is_reported_once() -> None:
    both = frozenset({"AM302", "AM303"})
    findings = fix_source(MIXED, Settings(select=both)).findings
    by_line: dict[int, list[str]] = {}
    for finding in findings:
        by_line.setdefault(finding.line, []).append(finding.code)
    assert by_line == {
        9: ["AM303"],
        13: ["AM302"],
        14: ["AM302"],  # a dropped gather stays AM302's
        19: ["AM303"],
        22: ["AM302"],
        26: ["AM303"],
        27: ["AM302"],
    }


# -- the screen ------------------------------------------------------------------------


def test_the_screen_passes_every_fixture_the_rule_reports() -> None:
    fixtures = Path(__file__).resolve().parent.parent / "fixtures" / "coroutine_in_sync"
    for before in sorted(fixtures.glob("*.before.py")):
        source = before.read_text()
        if findings_of(source, "AM303"):
            assert CoroutineInSync.prefilter(source.encode()), before.name
            assert CoroutineInSync.screen(Facts.of(ast.parse(source)), Settings()), before.name


def test_the_screen_drops_a_module_whose_coroutines_are_all_awaited() -> None:
    source = "import asyncio\n\nasync def f():\n    pass\n\nasync def g():\n    await f()\n"
    assert not CoroutineInSync.screen(Facts.of(ast.parse(source)), Settings())


# -- left alone ------------------------------------------------------------------------


def test_no_finding_where_the_coroutine_is_handed_on_or_expected_to_fail() -> None:
    source = (Path(__file__).resolve().parent.parent / "fixtures" / "coroutine_in_sync" / "noop_handed_on.before.py").read_text()
    assert findings_of(source, "AM303") == []


def test_no_finding_inside_async_def_or_for_a_name_the_module_does_not_resolve() -> None:
    fixtures = Path(__file__).resolve().parent.parent / "fixtures" / "coroutine_in_sync"
    for case in ("noop_inside_async_def", "noop_unresolved_names"):
        assert findings_of((fixtures / f"{case}.before.py").read_text(), "AM303") == [], case
