"""The check cache: an unchanged file is answered from .asyncmend_cache/ with
exactly the results a fresh analysis gives, and never for a run that writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from asyncmend.codemods import RULES, Options, Settings, Target
from asyncmend.codemods.source.cache import Cache, CachedResult, run_fingerprint
from asyncmend.codemods.engine.files import process_file

ROOT = Path(__file__).resolve().parent.parent
SLEEPY = "import time\n\nasync def f():\n    time.sleep(1)\n"


def _check(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "asyncmend.cli", "check", "--no-progress", *args],
                          cwd=cwd, env=env, capture_output=True, text=True)


def test_warm_check_reports_exactly_what_a_cold_check_reports(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(SLEEPY)
    (tmp_path / "bad.py").write_text("x = (\n")
    (tmp_path / "ok.py").write_text("y = 1\n")
    cold = _check(tmp_path, "--no-cache", "--output-format", "json", ".")
    assert not (tmp_path / ".asyncmend_cache").exists()
    first = _check(tmp_path, "--output-format", "json", ".")
    entries = list((tmp_path / ".asyncmend_cache" / "entries").rglob("*.json"))
    # One result a file, what the look across files learnt of a.py (the
    # imports a fix there may leave unused), and its whole answer.
    assert len(entries) == 5
    warm = _check(tmp_path, "--output-format", "json", ".")
    assert cold.returncode == first.returncode == warm.returncode == 2
    assert json.loads(cold.stdout) == json.loads(first.stdout) == json.loads(warm.stdout)
    assert cold.stderr == warm.stderr
    assert "bad.py" in warm.stderr


def test_cached_results_are_used_and_changed_files_analysed_again(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text(SLEEPY)
    options = Options(settings=Settings(apply=frozenset()), cache_dir=str(tmp_path / "cache"))
    first = process_file(Target(path, "a.py"), options, RULES)
    # Poison the entry: a hit must come from the cache, not from analysis.
    (entry,) = (tmp_path / "cache" / "entries").rglob("*.json")
    data = json.loads(entry.read_text())
    data["findings"][0]["message"] = "from the cache"
    entry.write_text(json.dumps(data))
    hit = process_file(Target(path, "a.py"), options, RULES)
    assert [f.message for f in hit.findings] == ["from the cache"]
    assert [f.line for f in hit.findings] == [f.line for f in first.findings]
    path.write_text(SLEEPY + "\n\nasync def g():\n    time.sleep(2)\n")
    again = process_file(Target(path, "a.py"), options, RULES)
    assert [f.line for f in again.findings] == [4, 8]


def test_settings_are_part_of_the_key(tmp_path: Path) -> None:
    a = run_fingerprint("1", Settings(select=frozenset({"AM101"})), edits=False)
    b = run_fingerprint("1", Settings(select=frozenset({"AM101", "AM201"})), edits=False)
    c = run_fingerprint("1", Settings(select=frozenset({"AM101"})), edits=True)
    d = run_fingerprint("2", Settings(select=frozenset({"AM101"})), edits=False)
    assert len({a, b, c, d}) == 4
    assert a == run_fingerprint("1", Settings(select=frozenset({"AM101"})), edits=False)


def test_fingerprint_is_the_same_in_another_process() -> None:
    # Set order depends on a per-process hash seed; the key must not.
    code = ("from asyncmend.codemods import Settings; from asyncmend.codemods.source.cache import run_fingerprint; "
            "print(run_fingerprint('1', Settings(select=frozenset({'AM101','AM201','AM301'}), "
            "options={'b': [1], 'a': {'y', 'x'}}), edits=True))")
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outs) == 1


def test_damaged_entry_is_a_miss(tmp_path: Path) -> None:
    cache = Cache(tmp_path, "f")
    key = cache.key(b"x = 1\n")
    cache.put(key, CachedResult([], "syntax error: x", None, False))
    assert cache.get(key) == CachedResult([], "syntax error: x", None, False)
    path = next((tmp_path / "entries").rglob("*.json"))
    path.write_text('{"findings": [')
    assert cache.get(key) is None
    assert (tmp_path / ".gitignore").read_text().endswith("*\n")


def test_a_writing_run_never_uses_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text(SLEEPY)
    cache_dir = tmp_path / "cache"
    check = Options(settings=Settings(), cache_dir=str(cache_dir))
    process_file(Target(path, "a.py"), check, RULES)
    assert cache_dir.exists()
    fix = Options(settings=Settings(), write=True, cache_dir=str(cache_dir))
    result = process_file(Target(path, "a.py"), fix, RULES)
    assert result.written and "await asyncio.sleep(1)" in path.read_text()


def test_check_and_a_run_that_follows_fixes_without_writing_keep_apart(tmp_path: Path) -> None:
    # check reports the first pass; a run with every pass that writes
    # nothing (fix --verify, the API) must not take its result, nor it theirs.
    from tests.helpers import DROPPED_CALLS

    path = tmp_path / "m.py"
    path.write_text(DROPPED_CALLS)
    cache_dir = str(tmp_path / "cache")
    check = Options(settings=Settings(), cache_dir=cache_dir, follow_fixes=False)
    follow = Options(settings=Settings(), cache_dir=cache_dir)
    assert [f.code for f in process_file(Target(path, "m.py"), check, RULES).findings] == ["AM302", "AM302"]
    followed = process_file(Target(path, "m.py"), follow, RULES).findings
    assert [f.code for f in followed] == ["AM201", "AM302", "AM302"]
    assert [f.code for f in process_file(Target(path, "m.py"), check, RULES).findings] == ["AM302", "AM302"]


def test_fix_takes_from_check_the_files_with_nothing_to_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ok.py"
    path.write_text("async def f():\n    return 1\n")
    cache_dir = str(tmp_path / "cache")
    process_file(Target(path, "ok.py"), Options(settings=Settings(), cache_dir=cache_dir, follow_fixes=False), RULES)
    from asyncmend.codemods.engine import files

    def analysed(*args: object, **kwargs: object) -> None:
        raise AssertionError("analysed again")

    monkeypatch.setattr(files, "process_bytes", analysed)
    fix = Options(settings=Settings(), write=True, cache_dir=cache_dir)
    result = process_file(Target(path, "ok.py"), fix, RULES)
    assert result.findings == [] and not result.changed


_RUN_AND_REPORT_IMPORTS = """
import sys
from asyncmend import cli
try:
    cli.main(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print("libcst imported:", "libcst" in sys.modules, file=sys.stderr)
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_warm_check_needs_no_rule_and_no_libcst(tmp_path: Path, jobs: str) -> None:
    # LibCST costs a quarter of a second to import, longer than a warm
    # check of a whole codebase: a run the cache answers must not import it.
    for n in range(3):
        (tmp_path / f"m{n}.py").write_text(SLEEPY)

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", _RUN_AND_REPORT_IMPORTS, "check", "-j", jobs, "."],
            cwd=tmp_path, capture_output=True, text=True,
            env=dict(os.environ),
        )

    cold = run()
    if jobs == "1":
        # The probe does see the import (with -j 2, workers import it).
        assert "libcst imported: True" in cold.stderr, cold.stderr
    warm = run()
    assert "libcst imported: False" in warm.stderr, warm.stderr
    assert warm.stdout == cold.stdout and "AM101" in warm.stdout


def test_an_internal_error_does_not_name_the_file() -> None:
    # Results are cached by a file's bytes: the same bytes under another
    # name must not report the first name (the compiler's message has it).
    import libcst as cst

    from asyncmend.codemods import Rule, Safety, fix_source

    class AwaitEverywhere(Rule):
        CODE = "AM994"
        SLUG = "await-everywhere"
        SAFETY = Safety.SAFE

        def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
            return cst.Await(updated_node) if self.report(original_node, "await it") else updated_node

    result = fix_source("def f():\n    g()\n", Settings(), rules=[AwaitEverywhere], filename="one.py")
    (finding,) = result.findings
    assert not result.changed and not finding.fixable
    assert "would not compile" in finding.message
    assert "one.py" not in finding.message


# -- the look across files (codemods.model.crossfile), answered whole -------------

STATE = (
    "import asyncio\nimport threading\n\n_req = threading.local()\n\n\n"
    "async def handle(user):\n    _req.user = user\n    await asyncio.sleep(0)\n    return _req.user\n"
)
IMPORTER = "from app.state import _req\n\n\ndef who():\n    return _req.user\n"
BYSTANDER = "import asyncio\n\n\ndef who():\n    return None\n"


def _state_fixable(paths: list[Path], options: Options) -> list[bool]:
    """Whether AM401's finding in app/state.py has a fix: none while
    another file imports ``_req`` from it."""
    from asyncmend.codemods import check_paths

    results = check_paths([str(p) for p in paths], options)
    return [f.fixable for r in results for f in r.findings if f.code == "AM401"]


def _app(root: Path, views: str) -> None:
    (root / "app").mkdir(parents=True, exist_ok=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "state.py").write_text(STATE)
    (root / "app" / "views.py").write_text(views)


def test_a_run_of_unchanged_files_takes_the_look_across_files_whole_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asyncmend.codemods.model import crossfile

    _app(tmp_path / "project", IMPORTER)
    options = Options(cache_dir=str(tmp_path / "cache"))
    assert _state_fixable([tmp_path / "project"], options) == [False]

    def no_look(*args: object) -> frozenset[tuple[str, str, str]]:
        raise AssertionError("the look ran again")

    monkeypatch.setattr(crossfile, "_look_across", no_look)
    assert _state_fixable([tmp_path / "project"], options) == [False]
    # Any change to a file of the run asks again.
    (tmp_path / "project" / "app" / "views.py").write_text(IMPORTER + "\n")
    with pytest.raises(AssertionError, match="the look ran again"):
        _state_fixable([tmp_path / "project"], options)


def test_an_import_added_to_another_file_of_the_run_changes_the_cached_answer(tmp_path: Path) -> None:
    _app(tmp_path / "project", BYSTANDER)
    options = Options(cache_dir=str(tmp_path / "cache"))
    assert _state_fixable([tmp_path / "project"], options) == [True]
    (tmp_path / "project" / "app" / "views.py").write_text(IMPORTER)
    assert _state_fixable([tmp_path / "project"], options) == [False]
    (tmp_path / "project" / "app" / "views.py").write_text(BYSTANDER)
    assert _state_fixable([tmp_path / "project"], options) == [True]


def test_an_import_added_in_the_project_around_the_run_changes_the_cached_answer(tmp_path: Path) -> None:
    # A pre-commit run names the changed file alone; the test that imports
    # from it lives elsewhere in the project, outside the run.
    project = tmp_path / "project"
    _app(project, BYSTANDER)
    (project / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    (project / "tests").mkdir()
    (project / "tests" / "test_state.py").write_text(BYSTANDER)
    options = Options(cache_dir=str(tmp_path / "cache"))
    state = project / "app" / "state.py"
    assert _state_fixable([state], options) == [True]
    (project / "tests" / "test_state.py").write_text(IMPORTER)
    assert _state_fixable([state], options) == [False]
    (project / "tests" / "test_state.py").unlink()
    assert _state_fixable([state], options) == [True]
    (project / "tests" / "test_two.py").write_text(IMPORTER)
    assert _state_fixable([state], options) == [False]


# -- the byte scan of the project, behind what a result read of the whole project --------


def test_the_project_scan_is_taken_from_the_cache_while_no_file_of_the_project_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asyncmend.codemods.model.project import ProjectIndex, _Scan

    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "base.py").write_text("class Base:\n    async def run(self):\n        pass\n")
    (root / "app" / "more.py").write_text("from .base import Base\n")
    cache = Cache(tmp_path / "cache", "f")
    first = ProjectIndex.build(root).scan_from(cache)
    assert first == ProjectIndex.build(root).scan()
    real_scan = _Scan.of

    def no_scan(files: object) -> _Scan:
        raise AssertionError("scanned again")

    monkeypatch.setattr(_Scan, "of", no_scan)
    assert ProjectIndex.build(root).scan_from(cache) == first
    # A file that changes (the files of the project are the same) is read again.
    (root / "app" / "more.py").write_text("from .base import Base\n\n\nclass More(Base):\n    def stop(self):\n        pass\n")
    with pytest.raises(AssertionError, match="scanned again"):
        ProjectIndex.build(root).scan_from(cache)
    monkeypatch.setattr(_Scan, "of", real_scan)
    again = ProjectIndex.build(root).scan_from(cache)
    assert "More" in again.classes and "stop" in again.defined
    assert again == ProjectIndex.build(root).scan()
    # A damaged entry is a miss.
    for entry in (tmp_path / "cache" / "entries").rglob("*.json"):
        entry.write_text('{"defined": {"x": "y"}, "classes": {}}')
    assert ProjectIndex.build(root).scan_from(cache) == again
