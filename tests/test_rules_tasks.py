"""What AM301 dangling-task and AM302 missing-await report, and what they
report without a fix (the fixtures prove the rewrites themselves)."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from asyncmend.codemods import Finding, Rule, Settings, fix_source
from asyncmend.codemods.cst.batch import run_rules
from asyncmend.codemods.screen.facts import Facts
from asyncmend.codemods.dangling_task import DanglingTask
from asyncmend.codemods.missing_await import MissingAwait
from asyncmend.codemods.settings import ConfigError


def _findings(source: str, code: str, **options: str) -> list[Finding]:
    settings = Settings(select=frozenset({code}), options=options)
    return fix_source(textwrap.dedent(source), settings).findings


def test_missing_await_outside_async_def_is_reported_with_advice_and_no_fix() -> None:
    findings = _findings(
        """\
        import asyncio

        async def save(x):
            pass

        class Model:
            def __init__(self):
                self.load()

            async def load(self):
                pass

        def sync_caller():
            save(1)

        save(0)
        """,
        "AM302",
    )
    assert [(f.line, f.fixable, f.fixed) for f in findings] == [
        (8, False, False),
        (14, False, False),
        (16, False, False),
    ]
    assert "make the caller `async def`" in findings[0].message
    assert "make the caller `async def`" in findings[1].message
    assert "asyncio.run(...)" in findings[2].message
    assert all("not fixed here" in f.message for f in findings)


def test_dropped_gather_is_reported_without_a_fix() -> None:
    # gather() already runs its arguments: awaiting it would make the caller wait.
    [finding] = _findings(
        """\
        import asyncio

        async def main(a, b):
            asyncio.gather(a(), b())
        """,
        "AM302",
    )
    assert not finding.fixable
    assert "asyncio.gather()" in finding.message
    assert "its arguments run in the background unreferenced" in finding.message


def test_dropped_gather_of_existing_tasks_says_what_is_lost() -> None:
    # The tasks are the caller's own: only gather's result and errors are lost.
    findings = _findings(
        """\
        import asyncio

        async def main(tasks):
            asyncio.gather(*tasks)
            asyncio.shield(tasks[0])
        """,
        "AM302",
    )
    assert [f.fixable for f in findings] == [False, False]
    for finding in findings:
        assert "its result and its errors are dropped" in finding.message
        assert "background" not in finding.message


def test_missing_await_never_guesses_from_a_method_name() -> None:
    assert _findings(
        """\
        class Connection:
            async def close(self):
                pass

        async def shutdown(log_file, conn):
            log_file.close()
            conn.close()
        """,
        "AM302",
    ) == []


def test_dangling_task_finding_names_the_factory_and_the_unused_local() -> None:
    findings = _findings(
        """\
        import asyncio

        async def main(work):
            asyncio.ensure_future(work())
            task = asyncio.create_task(work())
        """,
        "AM301",
    )
    assert [(f.line, f.fixable) for f in findings] == [(4, True), (5, True)]
    assert "`asyncio.ensure_future()`" in findings[0].message
    assert "`task`, which is never used again" in findings[1].message


def test_project_helper_shadowed_at_the_site_is_reported_without_a_fix() -> None:
    [finding] = _findings(
        """\
        import asyncio

        async def main(work, keep_running):
            asyncio.create_task(work())
        """,
        "AM301",
        **{"task-helper": "myapp.tasks:keep_running"},
    )
    assert not finding.fixable
    assert "`keep_running` means something else" in finding.message


def test_malformed_task_helper_option_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="task-helper"):
        _findings("import asyncio\nasyncio.ensure_future(f())\n", "AM301", **{"task-helper": "myapp.tasks"})


@pytest.mark.parametrize(
    "source",
    [
        "import asyncio\n\nasync def f(tg, work):\n    tg.create_task(work())\n",
        "import asyncio\n\nasync def f(work):\n    async with asyncio.TaskGroup() as tg:\n        tg.create_task(work())\n",
        "import asyncio\n\nasync def f(work):\n    return asyncio.create_task(work())\n",
        "import asyncio\n\ntask = None\n\nasync def f(work):\n    global task\n    task = asyncio.create_task(work())\n",
    ],
)
def test_dangling_task_leaves_kept_tasks_unreported(source: str) -> None:
    assert _findings(source, "AM301") == []


def _fixture_sources() -> list[Path]:
    root = Path(__file__).parent / "fixtures"
    return sorted([*root.glob("dangling_task/*.py"), *root.glob("missing_await/*.py")])


@pytest.mark.parametrize("path", _fixture_sources(), ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("rule", [DanglingTask, MissingAwait], ids=lambda r: r.CODE)
def test_screen_passes_every_file_the_rule_finds_something_in(path: Path, rule: type[Rule]) -> None:
    # The rule run without its screen: whatever it finds, the screen must let through.
    source = path.read_text()
    _, findings = run_rules(cst.parse_module(source), [rule], Settings(apply=frozenset()))
    if findings:
        assert rule.screen(Facts.of(ast.parse(source)), Settings())


def test_screen_skips_files_without_a_candidate_call() -> None:
    source = textwrap.dedent(
        """\
        import asyncio

        async def main(conn):
            await asyncio.sleep(1)
            conn.close()
            return asyncio.create_task(main(conn))
        """
    )
    assert not DanglingTask.screen(Facts.of(ast.parse(source)), Settings())
    assert not MissingAwait.screen(Facts.of(ast.parse(source)), Settings())


def test_helper_follows_crlf_and_is_reused_by_a_later_run() -> None:
    source = b"import asyncio\r\n\r\n\r\nasync def main(work):\r\n    asyncio.create_task(work())\r\n"
    first = fix_source(source).output
    assert b"\n" not in first.replace(b"\r\n", b""), "every added line ends in CRLF"
    assert first.count(b"def _keep_task(task):") == 1

    grown = first + b"\r\n\r\nasync def later(work):\r\n    asyncio.ensure_future(work())\r\n"
    second = fix_source(grown).output
    assert second.count(b"def _keep_task") == 1, "the helper of the first run is reused"
    assert b"    _keep_task(asyncio.ensure_future(work()))\r\n" in second
