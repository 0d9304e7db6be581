"""Parallel runs: ``-j 2`` says exactly what ``-j 1`` says, in the same order,
and one file's failure, even one that kills its worker process, stops no other."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest

from asyncmend import codemods
import asyncmend.codemods.rule
from asyncmend.codemods import Options, Rule, Safety, Settings, discover, process

ROOT = Path(__file__).resolve().parent.parent


def _tree(root: Path) -> None:
    """Findings, fixes, clean files, syntax errors and a bad encoding, in
    several directories, with names whose sorted order differs from creation order."""
    for i in range(40):
        directory = root / ("zeta" if i % 3 == 0 else "alpha" if i % 3 == 1 else "Mid")
        directory.mkdir(exist_ok=True)
        name = f"m{(i * 7) % 40:02d}.py"
        if i % 5 == 0:
            body = "def broken(:\n    pass\n"
        elif i % 11 == 0:
            body = "# -*- coding: latin-1 -*-\nx = 'caf\xe9'\n"
            (directory / name).write_bytes(body.encode("latin-1"))
            continue
        elif i % 2 == 0:
            body = f"import time\n\nasync def handler{i}():\n    time.sleep({i})\n    time.sleep(0)\n"
        else:
            body = f"import asyncio\n\nasync def handler{i}():\n    await asyncio.sleep({i})\n"
        (directory / name).write_text(body)
    (root / "top.py").write_text("import time\nasync def f():\n    t = lambda: time.sleep(1)\n    time.sleep(2)\n")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asyncmend.cli", *args, "--no-progress", "."],
        cwd=cwd, capture_output=True, text=True, timeout=300,
        env=dict(os.environ),
    )


@pytest.mark.parametrize(
    "args",
    [("check",), ("check", "--output-format", "json"), ("fix", "--diff")],
    ids=["check-text", "check-json", "fix-diff"],
)
def test_two_jobs_print_exactly_what_one_job_prints(tmp_path: Path, args: tuple[str, ...]) -> None:
    _tree(tmp_path)
    one = _run(*args, "-j", "1", cwd=tmp_path)
    two = _run(*args, "-j", "2", cwd=tmp_path)
    assert one.returncode == 2  # the syntax errors
    assert (two.returncode, two.stdout, two.stderr) == (one.returncode, one.stdout, one.stderr)
    assert "Traceback" not in one.stderr
    # Every broken file is named, the others all report.
    assert one.stderr.count("syntax error") == 8
    if args[-1] == "json":
        paths = [finding["path"] for finding in json.loads(one.stdout)]
        assert paths == sorted(paths) and len(set(paths)) == 16


def test_two_jobs_write_what_one_job_writes(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _tree(tmp_path / "a")
    _tree(tmp_path / "b")
    one = _run("fix", "-j", "1", cwd=tmp_path / "a")
    two = _run("fix", "-j", "2", cwd=tmp_path / "b")
    assert (two.returncode, two.stdout, two.stderr) == (one.returncode, one.stdout, one.stderr)
    written_a = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*.py")}
    written_b = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*.py")}
    assert written_a == written_b
    assert sum(b"await asyncio.sleep" in data for data in written_a.values()) >= 10


# -- failures in workers --------------------------------------------------------


class _Explodes(Rule):
    """Test rule: raises, or kills its own process, on files that ask for it."""

    CODE = "AM993"
    SLUG = "explodes"
    SAFETY = Safety.SAFE

    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "raise_here":
            raise RuntimeError("a defect in a rule")
        if node.value == "die_here":
            os.kill(os.getpid(), signal.SIGKILL)


def _files(root: Path, poison: dict[int, str]) -> list[Path]:
    for i in range(30):
        name = poison.get(i, "fine")
        (root / f"m{i:02d}.py").write_text(f"import time\n\nasync def f():\n    time.sleep(1)\n    {name} = 1\n")
    return sorted(root.glob("*.py"))


fork_only = pytest.mark.skipif(
    multiprocessing.get_start_method() != "fork",
    reason="the test rule reaches the workers only through fork",
)


@fork_only
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_rule_that_raises_fails_its_file_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    monkeypatch.setattr(codemods.rule, "_RULES", (*codemods.rules(), _Explodes))
    _files(tmp_path, {3: "raise_here", 17: "raise_here"})
    targets, _ = discover([tmp_path])
    results = list(process(targets, Options(settings=Settings()), jobs=jobs))
    assert [r.path for r in results] == [t.display for t in targets]
    failed = [Path(r.path).name for r in results if r.error]
    assert failed == ["m03.py", "m17.py"]
    assert all("internal error: RuntimeError: a defect in a rule" in r.error for r in results if r.error)
    assert all(any(f.code == "AM101" for f in r.findings) for r in results if not r.error)


@fork_only
def test_a_worker_that_dies_fails_its_file_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codemods.rule, "_RULES", (*codemods.rules(), _Explodes))
    _files(tmp_path, {5: "die_here", 22: "die_here"})
    targets, _ = discover([tmp_path])
    results = list(process(targets, Options(settings=Settings()), jobs=2))
    assert [r.path for r in results] == [t.display for t in targets]
    failed = {Path(r.path).name: r.error for r in results if r.error}
    assert sorted(failed) == ["m05.py", "m22.py"], failed
    assert all("worker process died" in error for error in failed.values())
    assert all(any(f.code == "AM101" for f in r.findings) for r in results if not r.error)


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_workers_start_under_every_start_method(tmp_path: Path, method: str) -> None:
    # Python 3.14 starts workers from a fork server by default (macOS: spawn),
    # where a worker's parent is not the run itself.
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} is not available here")
    _files(tmp_path, {})
    code = (
        "import multiprocessing, sys\n"
        "from asyncmend.codemods import Options, Settings, discover, process\n"
        "if __name__ == '__main__':\n"
        f"    multiprocessing.set_start_method({method!r})\n"
        "    targets, _ = discover([sys.argv[1]])\n"
        "    results = list(process(targets, Options(settings=Settings()), jobs=2))\n"
        "    print(sum(len(r.findings) for r in results), sum(bool(r.error) for r in results))\n"
    )
    script = tmp_path / "run_pool.py.txt"
    script.write_text(code)
    child = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=300,
        env=dict(os.environ),
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.split() == ["30", "0"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_counts_every_file_once_and_results_keep_their_order(tmp_path: Path, jobs: int) -> None:
    # With -j 2 the largest files go first; the results still come in the
    # order of the targets, and progress counts each file as it finishes.
    _tree(tmp_path)
    targets, _ = discover([str(tmp_path)])
    counted: list[int] = []
    options = Options(settings=Settings(apply=frozenset()), cache_dir=str(tmp_path / ".cache"))
    for _ in range(2):  # cold, then answered by the cache in the main process
        counted.clear()
        results = list(process(targets, options, jobs=jobs, progress=counted.append))
        assert [r.path for r in results] == [t.display for t in targets]
        assert sum(counted) == len(targets)


# -- the default: a pool only for a run worth one -------------------------------

from asyncmend.codemods.engine import pool  # noqa: E402
from asyncmend.codemods.source.discovery import Target  # noqa: E402


def _targets(*contents: bytes) -> list[Target]:
    return [Target(Path(f"m{i}.py"), f"m{i}.py", data=data) for i, data in enumerate(contents)]


def _plain(size: int) -> bytes:
    return b"x = 1\n" * (size // 6)


def _candidate(size: int) -> bytes:
    # Past the prefilters (async def, await, time.sleep): an ast at least.
    return b"async def f():\n    await g()\n    time.sleep(1)\n" * (size // 48)


def test_a_few_files_are_not_worth_a_pool() -> None:
    assert not pool.worth_a_pool(_targets(*[_candidate(5_000)] * 4), Options(), 2)


def test_many_bytes_are_worth_a_pool_whatever_they_hold() -> None:
    # 8 MB of files no prefilter passes: a second of decoding and syntax
    # checks, half of which a second process takes over.
    assert pool.worth_a_pool(_targets(*[_plain(1_000_000)] * 8), Options(), 2)


def test_bytes_past_the_prefilters_weigh_more_than_bytes_that_are_not() -> None:
    # The same sizes: too little work if only syntax-checked, enough if
    # parsed and screened.
    assert not pool.worth_a_pool(_targets(*[_plain(400_000)] * 4), Options(), 2)
    assert pool.worth_a_pool(_targets(*[_candidate(400_000)] * 4), Options(), 2)
    # Rules not selected do not count: their prefilters are not asked.
    only_threads = Options(settings=Settings(select=frozenset({"AM401"})))
    assert not pool.worth_a_pool(_targets(*[_candidate(400_000)] * 4), only_threads, 2)


def test_one_large_file_is_not_worth_a_pool() -> None:
    # A file is never split between processes: the pool would take as long.
    assert not pool.worth_a_pool(_targets(_candidate(3_000_000), _candidate(1_000)), Options(), 2)


def test_the_default_runs_a_few_files_in_this_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "default_jobs", lambda: 2)
    pools: list[int] = []
    started = pool._pooled

    def counted(targets, options, jobs, tell):  # type: ignore[no-untyped-def]
        pools.append(len(targets))
        return started(targets, options, jobs, tell)

    monkeypatch.setattr(pool, "_pooled", counted)
    _files(tmp_path, {})
    targets, _ = discover([tmp_path])
    results = list(process(targets, Options(settings=Settings()), jobs=None))
    assert pools == [] and len(results) == 30
    assert all(any(f.code == "AM101" for f in r.findings) for r in results)
    # A number asked for is the number used, small run or not.
    list(process(targets, Options(settings=Settings()), jobs=2))
    assert pools == [30]
