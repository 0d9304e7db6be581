"""[tool.asyncmend] configuration, command-line precedence, and bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Mapping

import pytest

from asyncmend.codemods import RULES, Rule, Safety
from asyncmend.codemods.settings import (
    TEST_FILES,
    ConfigError,
    _matches,
    _name_pattern,
    find_pyproject,
    load_config,
    resolve,
    target_from_requires_python,
)
from tests.helpers import run_cli

SLEEPY = "import time\n\n\nasync def f():\n    time.sleep(1)\n"


class OptionRule(Rule):
    """A rule declared only in this test (with keys no real rule uses), to
    check option validation whatever options the real rules declare."""

    CODE = "AM999"
    SLUG = "test-options"
    SAFETY = Safety.SAFE
    OPTIONS: ClassVar[Mapping[str, Any]] = {
        "test-primitives": ["wait", "acquire"],
        "test-helper": "",
        "test-flag": False,
        "test-count": 10,
    }


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def one_line_error(result: Any, *needles: str) -> None:
    """Exit status 2 and exactly one line on stderr naming the problem."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_nearest_pyproject_with_a_tool_table_upward_from_the_paths(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.asyncmend]\nline-length = 100\n")
    write(tmp_path / "sub" / "pyproject.toml", "[project]\nname = 'x'\n")
    write(tmp_path / "sub" / "deeper" / "a.py", SLEEPY)
    assert find_pyproject(["sub/deeper/a.py"], tmp_path) == tmp_path / "pyproject.toml"
    write(tmp_path / "sub" / "pyproject.toml", "[tool.asyncmend]\nline-length = 70\n")
    assert find_pyproject(["sub/deeper"], tmp_path) == tmp_path / "sub" / "pyproject.toml"
    settings, _ = resolve(RULES, ["sub/deeper/a.py"], fix=True, cwd=tmp_path)
    assert settings.line_length == 70


def test_ignore_in_pyproject_stops_the_rule(tmp_path: Path) -> None:
    write(tmp_path / "a.py", SLEEPY)
    assert run_cli(["check", "a.py"], tmp_path).exit_code == 1
    write(tmp_path / "pyproject.toml", '[tool.asyncmend]\nignore = ["AM101"]\n')
    result = run_cli(["check", "a.py"], tmp_path)
    assert result.exit_code == 0 and "No findings" in result.stdout
    # A rule named with --select on the command line runs again.
    assert run_cli(["check", "--select", "AM101", "a.py"], tmp_path).exit_code == 1


def test_select_in_pyproject_and_command_line_select_overrides_it(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.asyncmend]\nselect = ["blocking-sleep"]\n')
    settings, _ = resolve(RULES, ["."], fix=False, cwd=tmp_path)
    assert settings.select == {"AM101"}
    others = [rule.CODE for rule in RULES if rule.CODE != "AM101"]
    if others:
        settings, _ = resolve(RULES, ["."], fix=False, select=[others[0]], cwd=tmp_path)
        assert settings.select == {others[0]}
    settings, _ = resolve(RULES, ["."], fix=False, ignore=["AM1"], cwd=tmp_path)
    assert "AM101" not in settings.select


def test_exclude_in_pyproject_skips_files_while_walking(tmp_path: Path) -> None:
    write(tmp_path / "src" / "a.py", SLEEPY)
    write(tmp_path / "src" / "gen" / "b.py", SLEEPY)
    write(tmp_path / "pyproject.toml", '[tool.asyncmend]\nexclude = ["gen/"]\n')
    result = run_cli(["check", "-j", "1", "src"], tmp_path)
    assert "src/a.py" in result.stdout and "gen/b.py" not in result.stdout
    # --exclude on the command line replaces the file's list.
    result = run_cli(["check", "-j", "1", "--exclude", "nothing", "src"], tmp_path)
    assert "gen/b.py" in result.stdout


def test_target_version_defaults_from_requires_python(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\nrequires-python = ">=3.11, <4"\n')
    settings, _ = resolve(RULES, ["."], fix=True, cwd=tmp_path)
    assert settings.target_version == (3, 11)
    write(tmp_path / "pyproject.toml",
          '[project]\nrequires-python = ">=3.11"\n[tool.asyncmend]\ntarget-version = "py312"\n')
    assert resolve(RULES, ["."], fix=True, cwd=tmp_path)[0].target_version == (3, 12)
    assert resolve(RULES, ["."], fix=True, target_version="py310", cwd=tmp_path)[0].target_version == (3, 10)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [(">=3.10", (3, 10)), ("~=3.12", (3, 12)), ("==3.11.*", (3, 11)), (">=3.6", (3, 9)),
     (">3.10", (3, 10)), (">=3.8,!=3.9.1", (3, 9)), ("<4", None), ("", None)],
)
def test_target_from_requires_python(spec: str, expected: tuple[int, int] | None) -> None:
    assert target_from_requires_python(spec) == expected


def test_unsafe_fixes_and_line_length_from_pyproject_and_command_line_wins(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.asyncmend]\nunsafe-fixes = true\nline-length = 72\n")
    settings, _ = resolve(RULES, ["."], fix=True, cwd=tmp_path)
    assert settings.line_length == 72
    assert resolve(RULES, ["."], fix=True, line_length=100, cwd=tmp_path)[0].line_length == 100
    # An opt-in rule is not in the default selection, so none of its fixes apply.
    unsafe = [rule.CODE for rule in RULES if rule.SAFETY is Safety.UNSAFE and not rule.OPT_IN]
    if not unsafe:
        pytest.skip("no rule with an unsafe fix to apply")
    assert set(unsafe) <= settings.apply
    settings, _ = resolve(RULES, ["."], fix=True, unsafe_fixes=False, cwd=tmp_path)
    assert not set(unsafe) & settings.apply


def test_rule_options_are_read_and_checked_against_the_rules_defaults(tmp_path: Path) -> None:
    config = write(
        tmp_path / "pyproject.toml",
        '[tool.asyncmend]\ntest-primitives = ["wait"]\ntest-helper = "app.tasks.spawn"\n'
        "test-flag = true\ntest-count = 3\n",
    )
    loaded = load_config(config, [*RULES, OptionRule])
    assert loaded.options == {
        "test-primitives": ["wait"],
        "test-helper": "app.tasks.spawn",
        "test-flag": True,
        "test-count": 3,
    }
    for bad, key in [
        ('test-primitives = "wait"\n', None),  # one string is taken as a list of one
        ("test-primitives = [1]\n", "test-primitives"),
        ("test-helper = 3\n", "test-helper"),
        ('test-flag = "yes"\n', "test-flag"),
        ("test-count = true\n", "test-count"),
    ]:
        write(config, "[tool.asyncmend]\n" + bad)
        if key is None:
            assert load_config(config, [*RULES, OptionRule]).options == {"test-primitives": ["wait"]}
            continue
        with pytest.raises(ConfigError, match=f"tool.asyncmend.{key}:"):
            load_config(config, [*RULES, OptionRule])


def test_every_rules_option_keys_are_accepted(tmp_path: Path) -> None:
    keys = {key: default for rule in RULES for key, default in rule.OPTIONS.items()}
    if not keys:
        pytest.skip("no rule declares options yet")
    lines = []
    for key, default in keys.items():
        value = repr(default).lower() if isinstance(default, bool) else repr(default)
        lines.append(f"{key} = {value if not isinstance(default, (list, tuple)) else repr(list(default))}")
    config = write(tmp_path / "pyproject.toml", "[tool.asyncmend]\n" + "\n".join(lines) + "\n")
    assert set(load_config(config, RULES).options) == set(keys)


def test_config_file_option_reads_a_plain_toml_file(tmp_path: Path) -> None:
    write(tmp_path / "a.py", SLEEPY)
    write(tmp_path / "ci.toml", 'ignore = ["AM101"]\n')
    assert run_cli(["check", "--config", "ci.toml", "a.py"], tmp_path).exit_code == 0
    write(tmp_path / "other.toml", '[tool.asyncmend]\nignore = ["AM101"]\n')
    assert run_cli(["check", "--config", "other.toml", "a.py"], tmp_path).exit_code == 0


@pytest.mark.parametrize(
    ("toml", "needles"),
    [
        ("[tool.asyncmend]\nselct = ['AM101']\n", ["tool.asyncmend.selct", "unknown key"]),
        ("[tool.asyncmend]\nselect = ['AM777']\n", ["tool.asyncmend.select", "AM777"]),
        ("[tool.asyncmend]\nline-length = 'long'\n", ["tool.asyncmend.line-length"]),
        ("[tool.asyncmend]\nline-length = 0\n", ["tool.asyncmend.line-length"]),
        ("[tool.asyncmend]\ntarget-version = 'py27'\n", ["tool.asyncmend.target-version", "py27"]),
        ("[tool.asyncmend]\nunsafe-fixes = 1\n", ["tool.asyncmend.unsafe-fixes"]),
        ("[tool.asyncmend]\nexclude = 'a', 'b'\n", ["pyproject.toml", "not valid TOML"]),
        ("[tool.asyncmend\nselect = []\n", ["pyproject.toml", "not valid TOML"]),
        ("[tool]\nasyncmend = 3\n", ["tool.asyncmend must be a table"]),
        ("[tool.asyncmend]\nasync-backend = 'curio'\n", ["tool.asyncmend.async-backend", "'curio'"]),
    ],
)
def test_bad_configuration_is_one_line_naming_the_key_and_exit_2(
    tmp_path: Path, toml: str, needles: list[str]
) -> None:
    write(tmp_path / "a.py", SLEEPY)
    write(tmp_path / "pyproject.toml", toml)
    for command in ("check", "fix"):
        one_line_error(run_cli([command, "a.py"], tmp_path), *needles)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--select", "AM777"], ["--select", "AM777"]),
        (["--ignore", "nonsense-slug"], ["--ignore", "nonsense-slug"]),
        (["--output-format", "xml"], ["--output-format", "xml"]),
        (["--target-version", "py38"], ["py38"]),
        (["--line-length", "0"], ["--line-length"]),
        (["--config", "missing.toml"], ["--config", "missing.toml"]),
    ],
)
def test_bad_command_line_values_are_one_line_and_exit_2(
    tmp_path: Path, args: list[str], needles: list[str]
) -> None:
    write(tmp_path / "a.py", SLEEPY)
    one_line_error(run_cli(["check", *args, "a.py"], tmp_path), *needles)


def test_a_rule_option_in_pyproject_changes_what_fix_writes(tmp_path: Path) -> None:
    source = "import asyncio\n\n\nasync def warm():\n    pass\n\n\nasync def main():\n    asyncio.create_task(warm())\n    await asyncio.sleep(0)\n"
    write(tmp_path / "a.py", source)
    write(tmp_path / "pyproject.toml", '[tool.asyncmend]\ntask-helper = "myapp.tasks:keep_running"\n')
    assert run_cli(["fix", "a.py"], tmp_path).exit_code == 0
    fixed = (tmp_path / "a.py").read_text()
    assert "from myapp.tasks import keep_running" in fixed
    assert "    keep_running(asyncio.create_task(warm()))\n" in fixed
    write(tmp_path / "a.py", source)
    for bad in ("no colon", "myapp.tasks", "my-app.tasks:keep", ":keep"):
        write(tmp_path / "pyproject.toml", f'[tool.asyncmend]\ntask-helper = "{bad}"\n')
        # One error naming the key, before any file is read; not one per file.
        one_line_error(run_cli(["fix", "a.py"], tmp_path), "pyproject.toml: tool.asyncmend.task-helper", bad)
    assert (tmp_path / "a.py").read_text() == source


# -- opt-in rules -------------------------------------------------------------


class OptInRule(Rule):
    """A rule declared only in this test, opt-in, beside a default one of the
    same group (AM99x), to check how selectors treat opt-in rules."""

    CODE = "AM998"
    SLUG = "test-opt-in"
    SAFETY = Safety.UNSAFE
    OPT_IN = True


@pytest.mark.parametrize(
    "selectors, selected",
    [
        ([], {"AM999"}),
        (["ALL"], {"AM999"}),
        (["AM"], {"AM999"}),
        (["AM99"], {"AM999"}),
        (["AM998"], {"AM998"}),
        (["am998"], {"AM998"}),
        (["test-opt-in"], {"AM998"}),
        (["AM9", "AM998"], {"AM998", "AM999"}),
    ],
)
def test_opt_in_rule_runs_only_when_named_by_code_or_slug(selectors: list[str], selected: set[str]) -> None:
    from asyncmend.codemods.settings import build_settings

    settings = build_settings([OptionRule, OptInRule], select=selectors)
    assert settings.select == selected


def test_ignore_by_prefix_still_reaches_an_opt_in_rule() -> None:
    from asyncmend.codemods.settings import build_settings

    settings = build_settings([OptionRule, OptInRule], select=["AM998", "AM999"], ignore=["AM99"])
    assert settings.select == frozenset()


class LoneOptInRule(Rule):
    """An opt-in rule alone in its group (AM89x)."""

    CODE = "AM897"
    SLUG = "test-lone-opt-in"
    SAFETY = Safety.NONE
    OPT_IN = True


def test_prefix_naming_only_opt_in_rules_is_an_error_saying_how_to_select_them() -> None:
    from asyncmend.codemods.settings import build_settings

    rules = [OptionRule, OptInRule, LoneOptInRule]
    with pytest.raises(ConfigError, match=r"--select: 'AM8' names only opt-in rules.*: AM897"):
        build_settings(rules, select=["AM8"])
    assert build_settings(rules, select=["AM897"]).select == {"AM897"}


def test_config_select_follows_the_same_opt_in_rule(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.asyncmend]\nselect = ["ALL"]\n')
    settings, _ = resolve([OptionRule, OptInRule], ["."], fix=False, cwd=tmp_path)
    assert settings.select == {"AM999"}
    write(tmp_path / "pyproject.toml", '[tool.asyncmend]\nselect = ["ALL", "test-opt-in"]\n')
    settings, _ = resolve([OptionRule, OptInRule], ["."], fix=False, cwd=tmp_path)
    assert settings.select == {"AM998", "AM999"}


def test_settings_without_a_selection_leave_registered_opt_in_rules_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from asyncmend.codemods import Settings, rule, settings

    monkeypatch.setattr(rule, "_RULES", (*rule.rules(), OptInRule))
    monkeypatch.setattr(settings, "_OPT_IN", None)
    assert not Settings().runs("AM998")
    assert Settings().runs("AM101")
    assert Settings(select=frozenset({"AM998"})).runs("AM998")


def test_rules_command_marks_opt_in_rules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from asyncmend.codemods import rule

    monkeypatch.setattr(rule, "_RULES", (*rule.rules(), OptInRule))
    lines = run_cli(["rules"], tmp_path).stdout.splitlines()
    row = next(line for line in lines if line.startswith("AM998"))
    assert row.split()[:4] == ["AM998", "test-opt-in", "unsafe", "(opt-in)"]
    assert not any("(opt-in)" in line for line in lines if line.startswith("AM1"))
    opt_in = ",".join(sorted([*(r.CODE for r in rule.rules() if r.OPT_IN)]))
    assert "AM998" in opt_in
    assert lines[-1] == f"(opt-in) runs only when selected by code or slug: --select {opt_in}"


# -- per-file-ignores: which files a pattern names ------------------------------------------

NAME_PATTERNS = [
    *TEST_FILES, "*", "*/", "build/", ".venv", ".venv/", "*.py", "a*b*c", "x-y.z/", "tests", "ü*", "*_",
]
PATH_PARTS = ["tests", "test", "test_a.py", "a_test.py", "conftest.py", "x", ".venv", "..", "a.b", "build",
              "abc", "axbyc", "ü.py", "x-y.z", "_", "test_", "test_.py"]


@pytest.mark.parametrize("pattern", NAME_PATTERNS)
def test_a_pattern_of_one_name_matches_the_files_pathspec_matches(pattern: str) -> None:
    import pathspec

    # These are matched without pathspec, a name at a time: the result must
    # be pathspec's (git's) for every path, at any depth, above the root too.
    assert _name_pattern(pattern) is not None
    spec = pathspec.GitIgnoreSpec.from_lines([pattern])
    paths = [*PATH_PARTS, *(f"{a}/{b}" for a in PATH_PARTS for b in PATH_PARTS),
             *(f"{a}/{b}/{c}" for a in PATH_PARTS[:8] for b in PATH_PARTS[:8] for c in PATH_PARTS)]
    assert [p for p in paths if _matches(pattern, p)] == [p for p in paths if spec.match_file(p)]


@pytest.mark.parametrize("pattern", ["**", "src/*.py", "/tests", "!keep.py", "test_?.py", "[ab].py", ".", "..",
                                     "a b.py", "# comment", "", "**/tests/"])
def test_any_other_pattern_is_left_to_pathspec(pattern: str) -> None:
    assert _name_pattern(pattern) is None


def test_per_file_ignores_switch_a_rule_off_below_a_directory(tmp_path: Path) -> None:
    source = "import time\n\n\nasync def f():\n    time.sleep(1)\n"
    for name in ("app/one.py", "app/checks/two.py", "scripts/three.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(source)
    (tmp_path / "pyproject.toml").write_text('[tool.asyncmend.per-file-ignores]\n"checks/" = ["AM101"]\n"three*" = ["AM1"]\n')
    result = run_cli(["check", "--no-cache", "-j", "1", "."], tmp_path)
    assert "app/one.py:5:5: AM101" in result.stdout
    assert "two.py" not in result.stdout and "three.py" not in result.stdout
