"""`fix --verify CMD`: the project's own tests decide which fixes are written.

Each test builds a small project in a temporary directory with a real test
command (a unittest runner script, or pytest), runs the CLI on it and checks
what was written, what was dropped and why, how many times the command ran,
and that the user's tree was never touched before the end, or at all when
the run fails or is interrupted. The steps are named by the tests
(``getattr(module, name)``, ``m1.step_2``), so AM101's fixes of them are
unsafe ones: the runs pass ``--unsafe-fixes``, as a user checking such
fixes against the tests would.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from asyncmend.codemods import Settings, fix_source
from asyncmend.codemods.engine.verify import CommandRun, bisect, blame, failing_tests, first_failure
from asyncmend.codemods.findings import RunFailure
from tests.helpers import run_cli, with_terminal_stderr

PYTHON = shlex.quote(sys.executable)
PYTEST_X = f"{PYTHON} -m pytest -q -x -p no:cacheprovider"
STEPS = ("step_0", "step_1", "step_2", "step_3")
MODULES = ("m0", "m1", "m2", "m3", "m4")


def tree_digest(root: Path) -> str:
    """A digest of every file under ``root`` but ``.git``: the runner below
    logs it for the user's tree at each run."""
    total = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            path = os.path.join(folder, name)
            total.update(path.encode() + b"\0")
            total.update(Path(path).read_bytes())
    return total.hexdigest()


# The project's test runner: it logs each run (where it ran, and a digest of
# the user's tree as it was at that moment), then runs the unittest suite.
RUNNER = (
    "import hashlib, os, sys, unittest\nfrom pathlib import Path\n\n\n"
    + inspect.getsource(tree_digest)
    + """

log_file, user_tree = sys.argv[1], sys.argv[2]
with open(log_file, "a") as log:
    log.write(f"{os.getcwd()}\\t{tree_digest(user_tree)}\\n")
suite = unittest.defaultTestLoader.discover(".")
result = unittest.TextTestRunner(verbosity=1).run(suite)
sys.exit(not result.wasSuccessful())
"""
)


def steps_module(names: tuple[str, ...] = STEPS) -> str:
    body = "".join(
        f"\n\nasync def {name}(log):\n    time.sleep(0)\n    log.append({name!r})\n" for name in names
    )
    return "import time\n" + body


# Every step logs its name, whatever the fixes do. Two tests also rely on a
# step never yielding to the event loop (it blocks): the fixes of those two
# steps break them.
TESTS = '''\
import asyncio
import unittest

from service import m0, m1, m2, m3, m4


class Steps(unittest.TestCase):
    def test_every_step_logs_its_name(self):
        for module in (m0, m1, m2, m3, m4):
            for name in ("step_0", "step_1", "step_2", "step_3"):
                log = []
                asyncio.run(getattr(module, name)(log))
                self.assertEqual(log, [name])


class Ordering(unittest.TestCase):
    def finishes_before_other_tasks(self, step):
        log = []

        async def other():
            log.append("other")

        async def main():
            task = asyncio.ensure_future(other())
            await step(log)
            await task

        asyncio.run(main())
        self.assertEqual(log[-1], "other", "the step let another task run first")

    def test_m1_step_2_finishes_before_other_tasks(self):
        self.finishes_before_other_tasks(m1.step_2)

    def test_m3_step_0_finishes_before_other_tasks(self):
        self.finishes_before_other_tasks(m3.step_0)
'''


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd, check=True, capture_output=True, text=True,
    ).stdout


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file and link under ``root`` (``.git`` included), by path."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            found[str(path.relative_to(root))] = b"-> " + os.fsencode(os.readlink(path))
        elif path.is_file():
            found[str(path.relative_to(root))] = path.read_bytes()
        else:
            found[str(path.relative_to(root)) + "/"] = b""
    return found


def twenty_steps(root: Path) -> None:
    """5 modules of 4 steps: 20 fixable findings (AM101)."""
    (root / "service").mkdir(parents=True)
    (root / "service" / "__init__.py").write_text("")
    for module in MODULES:
        (root / "service" / f"{module}.py").write_text(steps_module())
    (root / "run_tests.py").write_text(RUNNER)


def runner_command(log: Path, project: Path) -> str:
    return f"{PYTHON} run_tests.py {shlex.quote(str(log))} {shlex.quote(str(project))}"


def without(source: str, *declined: tuple[str, int, int]) -> bytes:
    """What `fix` writes for ``source`` with the fixes of ``declined`` declined."""
    return fix_source(source, Settings(declined=frozenset(declined))).output


def test_twenty_fixes_two_break_the_tests_keeps_eighteen_names_each_failing_test(tmp_path: Path) -> None:
    project, log = tmp_path / "project", tmp_path / "runs.log"
    twenty_steps(project)
    git("init", "-q", cwd=project)
    # A test file committed and deleted since: the copy must not run it.
    (project / "test_stale.py").write_text("import unittest\n\nclass T(unittest.TestCase):\n    def test_x(self):\n        self.fail('stale')\n")
    git("add", ".", cwd=project)
    git("commit", "-qm", "steps", cwd=project)
    (project / "test_stale.py").unlink()
    # The tests are new, not committed yet: the copy must run them.
    (project / "test_service.py").write_text(TESTS)
    before = snapshot(project)
    before_digest = tree_digest(project)

    result = run_cli(
        ["fix", "-j", "1", "--no-cache", "--unsafe-fixes", "--verify", runner_command(log, project), "--report", str(tmp_path / "report.md"), "."],
        project,
    )

    assert result.exit_code == 1, result.output  # two findings are left unfixed
    runs = log.read_text().splitlines()
    assert 2 <= len(runs) <= 20
    # Every run ran in the copy, and saw the user's tree as it was.
    assert all(line.split("\t")[0] != str(project) for line in runs)
    assert {line.split("\t")[1] for line in runs} == {before_digest}
    # The two steps whose fixes break the tests keep their time.sleep; the
    # other 18 are fixed, each file exactly as `fix` writes it without them.
    for module in MODULES:
        written = (project / "service" / f"{module}.py").read_bytes()
        declined = {"m1": [("AM101", 15, 5)], "m3": [("AM101", 5, 5)]}.get(module, [])
        assert written == without(steps_module(), *declined), module
    m1 = (project / "service" / "m1.py").read_text()
    assert m1.count("time.sleep(0)") == 1 and m1.count("await asyncio.sleep(0)") == 3
    assert "async def step_2(log):\n    time.sleep(0)" in m1
    # Nothing else changed: not the tests, not git's own files.
    after = snapshot(project)
    changed = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    assert changed == {f"service/{module}.py" for module in MODULES}
    assert git("worktree", "list", "--porcelain", cwd=project).count("worktree ") == 1
    # Each dropped fix names the test it fails.
    assert "test_service.Ordering.test_m1_step_2_finishes_before_other_tasks" in result.output
    assert "test_service.Ordering.test_m3_step_0_finishes_before_other_tasks" in result.output
    assert "Fixed 18 findings in 5 files; 2 left." in result.output
    assert f"{len(runs)} runs" in result.output
    report = (tmp_path / "report.md").read_text()
    assert "| AM101 blocking-sleep | 20 | 18 | 2 | 0 | 0 | 0 |" in report
    dropped = [line for line in report.splitlines() if "dropped by the tests" in line and line.startswith("| `")]
    assert len(dropped) == 2
    assert "`service/m1.py:16:5`" in dropped[0] and "test_m1_step_2_finishes_before_other_tasks` fails" in dropped[0]
    assert "fails: AssertionError: 'step_2' != 'other' |" in dropped[0]
    assert "`service/m3.py:6:5`" in dropped[1] and "test_m3_step_0_finishes_before_other_tasks` fails" in dropped[1]


def test_fixes_the_tests_accept_are_written_exactly_as_fix_writes_them(tmp_path: Path) -> None:
    project, log = tmp_path / "project", tmp_path / "runs.log"
    project.mkdir()
    (project / "app.py").write_text(steps_module())
    (project / "run_tests.py").write_text(RUNNER)
    (project / "test_app.py").write_text(
        "import asyncio, unittest\nimport app\n\n\nclass Steps(unittest.TestCase):\n"
        "    def test_step_0_logs_its_name(self):\n        log = []\n"
        "        asyncio.run(app.step_0(log))\n        self.assertEqual(log, ['step_0'])\n"
    )

    result = run_cli(["fix", "-j", "1", "--no-cache", "--unsafe-fixes", "--verify", runner_command(log, project), "."], project)

    assert result.exit_code == 0, result.output
    # The unchanged tree, then every fix: it passes, so that is all.
    assert len(log.read_text().splitlines()) == 2
    assert (project / "app.py").read_bytes() == without(steps_module())
    assert "Verified with" in result.output and "2 runs" in result.output


def test_a_failing_baseline_exits_2_with_the_last_lines_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(steps_module(("step_0",)))
    (tmp_path / "check.py").write_text("print('collecting')\nprint('test_login FAILED: expected 200, got 500')\nraise SystemExit(3)\n")
    before = snapshot(tmp_path)

    result = run_cli(["fix", "-j", "1", "--no-cache", "--unsafe-fixes", "--verify", f"{PYTHON} check.py", "--report", "r.md", "."], tmp_path)

    assert result.exit_code == 2
    assert "fails (exit status 3) on the unchanged tree" in result.output
    assert "test_login FAILED: expected 200, got 500" in result.output
    assert "nothing was written" in result.output
    assert snapshot(tmp_path) == before  # no fix, no report


def test_a_command_that_is_not_found_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(steps_module(("step_0",)))
    before = snapshot(tmp_path)

    result = run_cli(["fix", "-j", "1", "--no-cache", "--unsafe-fixes", "--verify", "no-such-test-runner -q", "."], tmp_path)

    assert result.exit_code == 2
    assert "cannot be run (exit status 127, not found or not executable)" in result.output
    assert "no-such-test-runner" in result.output
    assert snapshot(tmp_path) == before


def test_an_empty_command_is_a_usage_error_not_a_run_that_passes(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(steps_module(("step_0",)))

    result = run_cli(["fix", "--no-cache", "--verify", " ", "."], tmp_path)

    assert result.exit_code == 2
    assert "--verify needs the project's test command" in result.output
    assert (tmp_path / "app.py").read_text() == steps_module(("step_0",))


def test_a_baseline_that_times_out_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(steps_module(("step_0",)))
    before = snapshot(tmp_path)
    started = time.monotonic()

    result = run_cli(
        ["fix", "-j", "1", "--no-cache", "--unsafe-fixes", "--verify", f"{PYTHON} -c 'import time; time.sleep(30)'",
         "--verify-timeout", "0.5", "."],
        tmp_path,
    )

    assert result.exit_code == 2
    assert "timed out after 0.5 s (--verify-timeout) on the unchanged tree" in result.output
    assert time.monotonic() - started < 15  # stopped, not waited for
    assert snapshot(tmp_path) == before


def test_a_fix_that_makes_the_tests_hang_is_dropped_when_its_runs_time_out(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(steps_module(("step_0", "tick")))
    # Stands for a test that deadlocks once tick() yields to the event loop.
    (tmp_path / "check.py").write_text(
        "import inspect, time\nimport app\n"
        "if 'await' in inspect.getsource(app.tick):\n    time.sleep(30)\n"
    )

    result = run_cli(
        ["fix", "-j", "1", "--no-cache", "--unsafe-fixes", "--verify", f"{PYTHON} check.py", "--verify-timeout", "1", "."], tmp_path
    )

    assert result.exit_code == 1
    written = (tmp_path / "app.py").read_text()
    assert "async def step_0(log):\n    await asyncio.sleep(0)" in written
    assert "async def tick(log):\n    time.sleep(0)" in written
    assert "(not fixed: its fix fails the tests: timed out after 1 s)" in result.output


def test_a_failure_that_does_not_come_back_is_a_flake_and_blames_no_fix(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(steps_module(("step_0", "step_1")))
    # Fails once, on its second run: the first with the fixes.
    (tmp_path / "check.py").write_text(
        "import pathlib, sys\ncount = pathlib.Path(sys.argv[1])\n"
        "count.write_text(count.read_text() + 'x' if count.exists() else 'x')\n"
        "sys.exit(1 if count.read_text() == 'xx' else 0)\n"
    )
    counter = tmp_path.parent / f"{tmp_path.name}-count"

    result = run_cli(
        ["fix", "-j", "1", "--no-cache", "--unsafe-fixes", "--verify", f"{PYTHON} check.py {shlex.quote(str(counter))}", "."], tmp_path
    )

    assert result.exit_code == 0, result.output
    assert counter.read_text() == "xxx"  # the unchanged tree, the fixes, the same again
    assert (tmp_path / "app.py").read_bytes() == without(steps_module(("step_0", "step_1")))


def test_with_diff_the_kept_fixes_are_printed_and_nothing_is_written(tmp_path: Path) -> None:
    report = tmp_path.parent / f"{tmp_path.name}-report.md"
    (tmp_path / "app.py").write_text(steps_module(("step_0", "tick")))
    (tmp_path / "check.py").write_text(
        "import inspect, sys\nimport app\nsys.exit('await' in inspect.getsource(app.tick))\n"
    )
    before = snapshot(tmp_path)

    result = run_cli(
        ["fix", "--diff", "-j", "1", "--no-cache", "--unsafe-fixes", "--verify", f"{PYTHON} check.py", "--report", str(report), "."],
        tmp_path,
    )

    assert result.exit_code == 0
    assert "+    await asyncio.sleep(0)\n     log.append('step_0')" in result.output
    assert "log.append('tick')" not in result.output  # its fix fails the tests
    assert snapshot(tmp_path) == before
    # Nothing was written: the dropped finding is where the file has it.
    rows = [line for line in report.read_text().splitlines() if line.startswith("| `app.py:")]
    assert rows[0].startswith("| `app.py:5:5` |") and rows[0].endswith("| in the diff |")
    assert rows[1].startswith("| `app.py:10:5` |") and "| dropped by the tests: the tests fail: exit status 1 |" in rows[1]


def test_a_file_edited_while_the_tests_run_stops_the_write_of_every_file(tmp_path: Path) -> None:
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text(steps_module(("step_0",)))
    # The user saves b.py while the run with the fixes is going.
    (tmp_path / "check.py").write_text(
        "import pathlib, sys\nimport b\n"
        "if 'await' in pathlib.Path(b.__file__).read_text():\n"
        "    user = pathlib.Path(sys.argv[1])\n    user.write_text(user.read_text() + '# saved\\n')\n"
    )

    result = run_cli(
        ["fix", "-j", "1", "--no-cache", "--unsafe-fixes", "--verify", f"{PYTHON} check.py {shlex.quote(str(tmp_path / 'b.py'))}", "."],
        tmp_path,
    )

    assert result.exit_code == 2
    assert "b.py changed on disk while the tests ran; nothing was written" in result.output
    assert (tmp_path / "a.py").read_text() == steps_module(("step_0",))
    assert (tmp_path / "b.py").read_text() == steps_module(("step_0",)) + "# saved\n"


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals here")
def test_on_a_terminal_stderr_shows_each_run_and_its_step(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(steps_module(("step_0", "tick")))
    (tmp_path / "check.py").write_text(
        "import inspect, sys\nimport app\nsys.exit('await' in inspect.getsource(app.tick))\n"
    )
    args = ["fix", "-j", "1", "--no-cache", "--unsafe-fixes", "--verify", f"{PYTHON} check.py", "."]

    code, _, shown = with_terminal_stderr(args, tmp_path)

    assert code == 1
    steps = [step.decode() for step in re.findall(rb"\r\x1b\[K(verify: [^\r\x1b]*)", shown)]
    assert steps == [
        "verify: run 1: the unchanged tree",
        "verify: run 2: all 2 fixes",
        "verify: run 3: all 2 fixes, again (a failing run is retried once)",
        "verify: run 4: bisecting: the first 1 of 2 fixes",  # passes: the second is dropped
    ]
    # The status line is cleared before the summary.
    summary = shown.rsplit(b"\r\x1b[K", 1)[1]
    assert summary.startswith(b"Verified with `") and summary.endswith(b"kept 1 fix, dropped 1 that makes the tests fail.\r\n")
    # Not on a pipe, nor with --no-progress.
    (tmp_path / "app.py").write_text(steps_module(("step_0", "tick")))
    assert b"verify: run" not in with_terminal_stderr([*args[:1], "--no-progress", *args[1:]], tmp_path)[2]
    assert "verify: run" not in run_cli(args, tmp_path).output


def test_tests_import_the_copy_even_where_the_project_is_installed_from_the_tree(tmp_path: Path) -> None:
    # An editable install puts the user's own src/ on the path: the tests
    # would import the unchanged code and pass whatever the fixes do.
    project = tmp_path / "project"
    (project / "src" / "pkg").mkdir(parents=True)
    (project / "src" / "pkg" / "__init__.py").write_text(steps_module(("tick",)))
    (project / "tests").mkdir()
    (project / "tests" / "check.py").write_text(
        "import inspect, sys\nimport pkg\nsys.exit('await' in inspect.getsource(pkg.tick))\n"
    )
    os.environ["PYTHONPATH"], saved = str(project / "src"), os.environ.get("PYTHONPATH")
    try:
        result = run_cli(["fix", "-j", "1", "--no-cache", "--unsafe-fixes", "--verify", f"{PYTHON} tests/check.py", "."], project)
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved

    assert result.exit_code == 1
    assert "time.sleep(0)" in (project / "src" / "pkg" / "__init__.py").read_text()


# A pytest test that holds only while app.step_1 never yields.
BLOCKING_TEST = textwrap.dedent('''\
    import asyncio
    import app


    def test_step_1_blocks_other_tasks():
        log = []

        async def other():
            log.append("other")

        async def main():
            task = asyncio.ensure_future(other())
            await app.step_1(log)
            await task

        asyncio.run(main())
        assert log == ["step_1", "other"]
''')


def test_pytest_as_the_command_names_the_failing_test_by_its_node_id(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(steps_module(("step_1",)))
    (tmp_path / "test_app.py").write_text(BLOCKING_TEST)

    result = run_cli(["fix", "-j", "1", "--no-cache", "--unsafe-fixes", "--verify", PYTEST_X, "."], tmp_path)

    assert result.exit_code == 1
    assert "fails the tests: test_app.py::test_step_1_blocks_other_tasks: AssertionError: assert [" in result.output
    assert "async def step_1(log):\n    time.sleep(0)" in (tmp_path / "app.py").read_text()


def flaky_test(counter: Path, *, failing_runs: tuple[int, ...]) -> str:
    """A pytest test that fails on the runs numbered ``failing_runs``
    (counting them in the file ``counter``), as a network test may."""
    return textwrap.dedent(f'''\
        import pathlib

        def test_network():
            count = pathlib.Path({str(counter)!r})
            count.write_text(count.read_text() + "x" if count.exists() else "x")
            assert len(count.read_text()) not in {failing_runs!r}, "ConnectionResetError: peer went away"
    ''')


def test_a_flake_that_stops_one_failing_run_is_not_the_test_named_for_the_fix(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(steps_module(("step_1",)))
    counter = tmp_path.parent / f"{tmp_path.name}-count"
    # With -x, this flake stops the first run with the fix before the test
    # the fix breaks is reached.
    (tmp_path / "test_a.py").write_text(flaky_test(counter, failing_runs=(2,)))
    (tmp_path / "test_b.py").write_text(BLOCKING_TEST)

    result = run_cli(["fix", "-j", "1", "--no-cache", "--unsafe-fixes", "--verify", PYTEST_X, "."], tmp_path)

    assert result.exit_code == 1
    assert counter.read_text() == "xxx"  # the unchanged tree, the fix, the fix again
    assert (
        "(not fixed: its fix fails the tests: test_b.py::test_step_1_blocks_other_tasks: AssertionError: assert "
        "['other', 'step_1'] == ['step_1', 'other'] (its other failing run failed on test_a.py::test_network: "
        "AssertionError: ConnectionResetError: peer went away" in " ".join(result.output.split())
    )


def test_a_test_that_failed_on_the_unchanged_tree_cannot_cost_a_fix_by_failing_twice_again(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(steps_module(("step_0",)))
    counter = tmp_path.parent / f"{tmp_path.name}-count"
    # Fails on the first run of the unchanged tree, and on both runs with
    # the fix, which breaks nothing: retried once alone, the fix would go.
    (tmp_path / "test_a.py").write_text(flaky_test(counter, failing_runs=(1, 3, 4)))

    result = run_cli(["fix", "-j", "1", "--no-cache", "--unsafe-fixes", "--verify", PYTEST_X, "."], tmp_path)

    assert result.exit_code == 0, result.output
    assert counter.read_text() == "xxxxx"  # twice the unchanged tree, three times the fix
    assert (tmp_path / "app.py").read_bytes() == without(steps_module(("step_0",)))
    assert "5 runs" in result.output


@pytest.mark.parametrize(
    ("signum", "status", "told"),
    [(signal.SIGINT, 130, "interrupted: nothing was written"),
     (signal.SIGTERM, 143, "stopped by SIGTERM: nothing was written")],
    ids=["ctrl-c", "sigterm"],
)
def test_ctrl_c_in_the_middle_stops_the_tests_and_leaves_the_tree_byte_identical(
    tmp_path: Path, signum: int, status: int, told: str
) -> None:
    project, marker, scratch = tmp_path / "project", tmp_path / "started", tmp_path / "tmp"
    project.mkdir()
    scratch.mkdir()
    (project / "app.py").write_text(steps_module(("step_0", "step_1")))
    # The runs with fixes take long: the interrupt comes in the middle of one.
    (project / "slow.py").write_text(
        "import inspect, os, sys, time\nimport app\n"
        "if 'await' in inspect.getsource(app.step_0):\n"
        "    open(sys.argv[1], 'w').write(str(os.getpid()))\n    time.sleep(60)\n"
    )
    git("init", "-q", cwd=project)
    git("add", ".", cwd=project)
    git("commit", "-qm", "app", cwd=project)
    (project / "app.py").write_text(steps_module(("step_0", "step_1", "step_2")))  # uncommitted
    before = snapshot(project)
    env = {**os.environ, "TMPDIR": str(scratch)}
    process = subprocess.Popen(
        [sys.executable, "-m", "asyncmend.cli", "fix", "-j", "1", "--no-cache", "--unsafe-fixes",
         "--verify", f"{PYTHON} slow.py {shlex.quote(str(marker))}", "."],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        tests_pid = int(marker.read_text())
        process.send_signal(signum)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()

    assert process.returncode == status, err
    assert told in err
    assert "Traceback" not in err
    assert snapshot(project) == before
    assert list(scratch.iterdir()) == []  # the copy is gone
    assert not running(tests_pid)  # and so is the run of the tests


def running(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie waiting for its
    parent to reap it has stopped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state != "Z"


# -- the bisection alone -------------------------------------------------------


class FakeSuite:
    """A test suite that fails with any of ``breaking`` applied (or, for a
    pair, with both), counting its runs; ``flaky`` runs fail regardless."""

    def __init__(self, breaking: set[int], pairs: tuple[tuple[int, int], ...] = (), flaky: set[int] = frozenset()) -> None:
        self.breaking, self.pairs, self.flaky = breaking, pairs, set(flaky)
        self.runs: list[tuple[int, ...]] = []

    def __call__(self, fixes: tuple[int, ...], step: str) -> CommandRun:
        self.runs.append(fixes)
        applied = set(fixes)
        fails = bool(applied & self.breaking) or any(a in applied and b in applied for a, b in self.pairs)
        fails = fails or len(self.runs) in self.flaky
        return CommandRun(1 if fails else 0, 0.0, "")


def bound(n: int, k: int) -> int:
    """The runs of the bisection (the unchanged tree's run not counted):
    every fix, retried once if it fails; per breaking fix, a search of
    ceil(log2 n) runs, the retry of the decisive one and a run of the rest."""
    return 2 + k * (math.ceil(math.log2(max(n, 2))) + 2)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 20, 64, 200])
@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_bisection_drops_exactly_the_breaking_fixes_within_its_bound(n: int, k: int) -> None:
    rng = random.Random(f"{n}-{k}")
    for _ in range(20):
        breaking = set(rng.sample(range(n), min(k, n)))
        tests = FakeSuite(breaking)
        found = bisect(n, tests, str)
        assert set(found.dropped) == breaking
        assert found.kept == [i for i in range(n) if i not in breaking]
        assert len(tests.runs) <= bound(n, len(breaking))
        # What is kept has passed a run of its own (or is nothing at all).
        assert not found.kept or tuple(found.kept) in tests.runs


def test_twenty_fixes_two_breaking_take_at_most_twenty_runs_wherever_they_are() -> None:
    for a in range(20):
        for b in range(a + 1, 20):
            tests = FakeSuite({a, b})
            found = bisect(20, tests, str)
            assert set(found.dropped) == {a, b}
            assert 1 + len(tests.runs) <= 20  # with the unchanged tree's run


def test_two_fixes_that_break_only_together_cost_one_of_them() -> None:
    tests = FakeSuite(set(), pairs=((3, 11),))
    found = bisect(16, tests, str)
    assert set(found.dropped) == {11}
    assert tuple(found.kept) in tests.runs


def test_a_flaky_failure_in_the_search_is_retried_before_a_fix_is_blamed() -> None:
    for flaky_run in range(1, 12):
        tests = FakeSuite({9}, flaky={flaky_run})
        found = bisect(20, tests, str)
        assert set(found.dropped) == {9}, flaky_run


def test_when_every_fix_breaks_the_tests_none_is_kept() -> None:
    tests = FakeSuite({0, 1, 2})
    found = bisect(3, tests, str)
    assert found.kept == [] and set(found.dropped) == {0, 1, 2}


# -- the first failing test, from what the runner printed ---------------------


PYTEST_OUTPUT = """\
..F
=================================== FAILURES ===================================
_________________________________ test_login __________________________________

    def test_login():
>       assert status == 200
E       assert 500 == 200

tests/test_auth.py:4: AssertionError
=========================== short test summary info ============================
FAILED tests/test_auth.py::test_login[admin] - assert 500 == 200
!!!!!!!!!!!!!!!!!!!!!!!!!! stopping after 1 failures !!!!!!!!!!!!!!!!!!!!!!!!!!!
1 failed, 2 passed in 0.05s
"""

UNITTEST_OUTPUT = """\
.F
======================================================================
FAIL: test_order (test_service.Orders.test_order)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/tmp/x/test_service.py", line 10, in test_order
    self.assertEqual(log, ["a", "b"])
AssertionError: Lists differ: ['b', 'a'] != ['a', 'b']

First differing element 0:
----------------------------------------------------------------------
Ran 2 tests in 0.001s

FAILED (failures=1)
"""


def test_the_first_failing_test_is_read_from_pytest_and_unittest_output() -> None:
    found = first_failure(PYTEST_OUTPUT)
    assert found is not None and (found.test, found.message) == ("tests/test_auth.py::test_login[admin]", "assert 500 == 200")
    found = first_failure(UNITTEST_OUTPUT)
    assert found is not None and found.test == "test_service.Orders.test_order"
    assert found.message == "AssertionError: Lists differ: ['b', 'a'] != ['a', 'b']"
    # Python before 3.11 names the class only.
    found = first_failure(UNITTEST_OUTPUT.replace("(test_service.Orders.test_order)", "(test_service.Orders)"))
    assert found is not None and found.test == "test_service.Orders.test_order"
    # pytest without its short summary (-rN): the failure's section.
    found = first_failure(PYTEST_OUTPUT.split("=====", 1)[0] + PYTEST_OUTPUT.split("short test summary", 1)[0])
    assert found is not None and (found.test, found.message) == ("test_login", "assert 500 == 200")


def test_without_a_test_name_a_failure_is_told_by_its_last_line() -> None:
    assert first_failure("make: *** [check] Error 1\n") is None
    run = CommandRun(2, 0.1, "building\nmake: *** [check] Error 1\n\n")
    assert (run.failure.test, run.failure.message) == (None, "make: *** [check] Error 1")
    assert CommandRun(5, 0.1, "").failure.message == "exit status 5"
    assert CommandRun(None, 3.0, "", timeout=3.0).failure.message == "timed out after 3 s"


def test_a_summary_line_cut_to_the_terminal_width_is_completed_from_its_section() -> None:
    output = PYTEST_OUTPUT.replace(
        "FAILED tests/test_auth.py::test_login[admin] - assert 500 == 200",
        "FAILED tests/test_auth.py::test_login[admin] - ass...",
    ).replace("_ test_login _", "_ test_login[admin] _")
    assert failing_tests(output) == [RunFailure("tests/test_auth.py::test_login[admin]", "assert 500 == 200")]


def test_every_failing_test_is_read_in_order() -> None:
    output = "FAILED t.py::A::test_x - KeyError: 'a'\nERROR t.py::test_y - OSError: port in use\n2 failed\n"
    assert failing_tests(output) == [RunFailure("t.py::A::test_x", "KeyError: 'a'"), RunFailure("t.py::test_y", "OSError: port in use")]


def test_a_dropped_fix_names_the_test_its_failing_runs_share_else_the_one_not_a_flake() -> None:
    flake, broken = "FAILED t.py::test_net - ConnectionError", "FAILED t.py::test_order - assert 1 == 2"
    same = [CommandRun(1, 0.1, broken), CommandRun(1, 0.1, broken)]
    assert blame(same) == RunFailure("t.py::test_order", "assert 1 == 2")
    # Without -x both runs list every failure: the one they share is named.
    both = [CommandRun(1, 0.1, f"{flake}\n{broken}"), CommandRun(1, 0.1, f"FAILED t.py::test_z - boom\n{broken}")]
    assert blame(both).test == "t.py::test_order"
    # With -x the flake stopped one run sooner: the other run got past it.
    stopped_early = CommandRun(1, 0.1, f"{flake}\n1 failed, 3 passed in 0.2s\n")
    went_further = CommandRun(1, 0.1, f"{broken}\n1 failed, 9 passed in 0.4s\n")
    for runs in ([stopped_early, went_further], [went_further, stopped_early]):
        assert blame(runs) == RunFailure(
            "t.py::test_order", "assert 1 == 2 (its other failing run failed on t.py::test_net: ConnectionError instead)"
        )
    # A test that failed in a run without this fix is a flake, not told.
    assert blame([CommandRun(1, 0.1, broken), CommandRun(1, 0.1, flake)], innocent={"t.py::test_net"}) == RunFailure(
        "t.py::test_order", "assert 1 == 2"
    )
    timed_out = CommandRun(None, 3.0, "", timeout=3.0)
    assert blame([timed_out, timed_out]) == RunFailure(None, "timed out after 3 s")


def test_how_far_a_run_got_is_read_from_pytest_and_unittest() -> None:
    assert CommandRun(1, 0.1, PYTEST_OUTPUT).reached == 2
    assert CommandRun(1, 0.1, UNITTEST_OUTPUT).reached == 2
    assert CommandRun(1, 0.1, "make: *** [check] Error 1\n").reached is None


def test_a_gather_that_fails_the_tests_is_dropped_with_the_awaits_it_came_with(tmp_path: Path) -> None:
    from tests.helpers import DROPPED_CALLS

    report = tmp_path.parent / f"{tmp_path.name}-report.md"
    (tmp_path / "app.py").write_text(DROPPED_CALLS)
    (tmp_path / "check.py").write_text(
        "import inspect, sys\nimport app\nsys.exit('gather' in inspect.getsource(app.main))\n"
    )

    result = run_cli(
        ["fix", "-j", "1", "--no-cache", "--unsafe-fixes", "--verify", f"{PYTHON} check.py", "--report", str(report), "."],
        tmp_path,
    )

    assert result.exit_code == 1, result.output
    assert (tmp_path / "app.py").read_text() == DROPPED_CALLS
    rows = [line for line in report.read_text().splitlines() if line.startswith("| `app.py:")]
    # The gather was found only on what the dropped awaits wrote: it is not
    # in the file, and not reported.
    assert len(rows) == 2 and all("AM302" in row and "dropped by the tests" in row for row in rows)


def test_a_run_the_dropped_awaits_would_have_made_is_not_reported_as_left(tmp_path: Path) -> None:
    from tests.helpers import DROPPED_CALLS

    # Inside a try, AM201 reports the run the awaits make without a fix.
    source = DROPPED_CALLS.replace(
        "    fetch_a()\n    fetch_b()\n", "    try:\n        fetch_a()\n        fetch_b()\n    finally:\n        print('done')\n"
    )
    (tmp_path / "app.py").write_text(source)
    (tmp_path / "check.py").write_text(
        "import inspect, sys\nimport app\nsys.exit('await fetch_a' in inspect.getsource(app.main))\n"
    )
    unverified = fix_source(source, Settings())
    assert [(f.code, f.fixed, f.after_fix) for f in unverified.findings] == [
        ("AM201", False, True), ("AM302", True, False), ("AM302", True, False),
    ]

    result = run_cli(["fix", "-j", "1", "--no-cache", "--unsafe-fixes", "--verify", f"{PYTHON} check.py", "."], tmp_path)

    assert result.exit_code == 1, result.output
    assert (tmp_path / "app.py").read_text() == source.replace("        fetch_b()", "        await fetch_b()")
    # The run needs both awaits: with fetch_a's dropped, there is none.
    assert "AM201" not in result.output
    (left,) = [line for line in result.output.splitlines() if ": AM302 " in line]
    assert left.startswith("app.py:16:9: AM302 `fetch_a()`") and "its fix fails the tests" in left
