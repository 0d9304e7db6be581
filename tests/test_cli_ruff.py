"""What a ruff user reaches for, and the defects a new user met: positions
after ``fix``, files that cannot be written, honest summaries, unsafe fixes
only on request, ``--force-exclude``, the options and outputs of ruff."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from asyncmend.cli import main

ROOT = Path(__file__).resolve().parent.parent
SLEEPY = "import time\n\n\nasync def f():\n    time.sleep(1)\n"
FIXED = "import asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)\n"
# One safe fix (AM101) and one unsafe (AM202: a loop of awaits).
MIXED = (
    "import asyncio\nimport time\n\nfrom mail import notify\n\n\nasync def f(ids):\n    time.sleep(1)\n"
    "    for i in ids:\n        await notify(i)\n"
)


def invoke(*args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, env=env, catch_exceptions=False)


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    return tmp_path


# -- positions after fix -------------------------------------------------------


def test_findings_left_after_fix_are_reported_where_the_written_file_has_them(tree: Path) -> None:
    source = (ROOT / "examples" / "shop" / "handlers.py").read_text()
    (tree / "handlers.py").write_text(source)
    result = invoke("fix", "--no-cache", "handlers.py")
    written = (tree / "handlers.py").read_text().splitlines()
    left = [line for line in result.stdout.splitlines() if line.startswith("handlers.py:")]
    assert left, result.stdout
    for line in left:
        _, number, column, rest = line.split(":", 3)
        code = rest.split()[0]
        if code == "AM401":
            # AM401 (unsafe, not applied) was at 12:12 before the fix; the
            # fix added AM301's helper above it.
            assert written[int(number) - 1][int(column) - 1 :].startswith("threading.local()")
            assert int(number) != 12


# -- files that cannot be written ----------------------------------------------


def _as_unprivileged(command: list[str]) -> list[str] | None:
    """``command`` run so that file permissions apply: as root, without the
    capability to override them (setpriv); as another user, as it is."""
    if os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search", "--", *command]


def test_a_read_only_file_is_an_error_for_that_file_left_untouched(tree: Path) -> None:
    (tree / "locked.py").write_text(SLEEPY)
    (tree / "open.py").write_text(SLEEPY)
    os.chmod(tree / "locked.py", 0o444)
    if os.geteuid() == 0:
        os.chown(tree / "locked.py", 65534, 65534)  # another owner's, as in the report
    command = _as_unprivileged([sys.executable, "-m", "asyncmend.cli", "fix", "--no-cache", "-j", "1", "locked.py", "open.py"])
    if command is None:
        pytest.skip("running as root without setpriv: permissions cannot apply")
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "locked.py: error: cannot write: Permission denied" in done.stderr
    assert (tree / "locked.py").read_text() == SLEEPY
    assert (tree / "open.py").read_text() == FIXED
    # The summary counts what was written, and the finding left is reported.
    assert "Fixed 1 finding in 1 file" in done.stdout
    assert "locked.py:5:5: AM101" in done.stdout


def test_a_hard_linked_file_keeps_its_links(tree: Path) -> None:
    (tree / "a.py").write_text(SLEEPY)
    os.link(tree / "a.py", tree / "b.py")
    inode = (tree / "a.py").stat().st_ino
    assert invoke("fix", "--no-cache", "a.py").exit_code == 0
    assert (tree / "a.py").read_text() == (tree / "b.py").read_text() == FIXED
    assert (tree / "a.py").stat().st_ino == inode and (tree / "a.py").stat().st_nlink == 2


def test_a_single_linked_file_is_replaced_atomically_and_keeps_its_mode(tree: Path) -> None:
    (tree / "a.py").write_text(SLEEPY)
    os.chmod(tree / "a.py", 0o640)
    assert invoke("fix", "--no-cache", "a.py").exit_code == 0
    assert (tree / "a.py").read_text() == FIXED
    assert (tree / "a.py").stat().st_mode & 0o777 == 0o640


# -- unsafe fixes only with --unsafe-fixes; hints that match -------------------


def test_select_chooses_rules_and_never_applies_an_unsafe_fix(tree: Path) -> None:
    (tree / "m.py").write_text(MIXED)
    result = invoke("fix", "--no-cache", "--select", "AM202", "m.py")
    assert (tree / "m.py").read_text() == MIXED
    assert result.exit_code == 1
    assert "1 more fixable with `--unsafe-fixes`" in result.stdout
    check = invoke("check", "--no-cache", "--select", "AM202", "m.py")
    assert "1 more fixable with `asyncmend fix --unsafe-fixes`." in check.stdout


def test_every_hint_names_the_fix_that_would_do_it(tree: Path) -> None:
    (tree / "m.py").write_text(MIXED)
    plain = invoke("check", "--no-cache", "m.py").stdout
    assert "1 fixable with `asyncmend fix`. 1 more fixable with `asyncmend fix --unsafe-fixes`." in plain
    flagged = invoke("check", "--no-cache", "--unsafe-fixes", "m.py").stdout
    assert "2 fixable with `asyncmend fix --unsafe-fixes`." in flagged and "more fixable" not in flagged
    (tree / "pyproject.toml").write_text("[tool.asyncmend]\nunsafe-fixes = true\n")
    configured = invoke("check", "--no-cache", "m.py").stdout
    assert "2 fixable with `asyncmend fix`." in configured and "--unsafe-fixes" not in configured
    fixed = invoke("fix", "--no-cache", "m.py")
    assert fixed.exit_code == 0 and "--unsafe-fixes" not in fixed.stdout


# -- --force-exclude -------------------------------------------------------------


def test_force_exclude_applies_exclude_and_generated_to_named_files(tree: Path) -> None:
    (tree / "gen_pb2.py").write_text("# @generated by protoc\n" + SLEEPY)
    (tree / "migrations").mkdir()
    (tree / "migrations" / "m1.py").write_text(SLEEPY)
    (tree / "app.py").write_text(SLEEPY)
    (tree / "pyproject.toml").write_text('[tool.asyncmend]\nexclude = ["migrations/"]\n')
    named = ["gen_pb2.py", "migrations/m1.py", "app.py"]
    without = invoke("check", "--no-cache", *named)
    assert {"gen_pb2.py", "migrations/m1.py", "app.py"} <= {line.split(":")[0] for line in without.stdout.splitlines()}
    result = invoke("fix", "--no-cache", "--force-exclude", *named)
    assert result.exit_code == 0
    assert (tree / "app.py").read_text() == FIXED
    assert (tree / "gen_pb2.py").read_text().endswith(SLEEPY)
    assert (tree / "migrations" / "m1.py").read_text() == SLEEPY
    # The same from the configuration file, and for standard input.
    (tree / "pyproject.toml").write_text('[tool.asyncmend]\nexclude = ["migrations/"]\nforce-exclude = true\n')
    assert invoke("check", "--no-cache", "migrations/m1.py").stdout.startswith("warning") is False
    piped = invoke("fix", "--stdin-filename", "migrations/m1.py", input=SLEEPY)
    assert piped.stdout == SLEEPY


def test_the_pre_commit_hooks_force_exclude() -> None:
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text()
    entries = [line for line in hooks.splitlines() if line.strip().startswith("entry:")]
    assert entries and all("--force-exclude" in entry for entry in entries)


# -- ruff's options --------------------------------------------------------------


def test_stdin_filename_alone_reads_standard_input_as_ruff_does(tree: Path) -> None:
    result = invoke("check", "--stdin-filename", "svc.py", input=SLEEPY)
    assert result.exit_code == 1 and "svc.py:5:5: AM101" in result.stdout
    fixed = invoke("fix", "--stdin-filename", "svc.py", input=SLEEPY)
    assert fixed.stdout == FIXED
    (tree / "other.py").write_text(SLEEPY)
    ignored = invoke("check", "--stdin-filename", "svc.py", "other.py", input="x = 1\n")
    assert ignored.exit_code == 0 and "ignoring other.py" in ignored.stderr


def test_exit_zero_keeps_findings_and_errors_apart(tree: Path) -> None:
    (tree / "m.py").write_text(SLEEPY)
    result = invoke("check", "--no-cache", "--exit-zero", "m.py")
    assert result.exit_code == 0 and "m.py:5:5: AM101" in result.stdout
    (tree / "bad.py").write_text("def (:\n")
    assert invoke("check", "--no-cache", "--exit-zero", "bad.py").exit_code == 2


def test_statistics_count_findings_per_rule(tree: Path) -> None:
    (tree / "m.py").write_text(MIXED + "\n\nasync def g():\n    time.sleep(2)\n")
    result = invoke("check", "--no-cache", "--statistics", "m.py")
    assert result.stdout == "2\tAM101\t[*] blocking-sleep\n1\tAM202\t[*] await-in-loop\n"
    as_json = json.loads(invoke("check", "--no-cache", "--statistics", "--output-format", "json", "m.py").stdout)
    assert as_json[0] == {"code": "AM101", "name": "blocking-sleep", "count": 2, "fixable": True}
    assert invoke("check", "--statistics", "--output-format", "sarif", "m.py").exit_code == 2


def test_show_fixes_shows_each_fix_when_checking_and_what_was_fixed_when_fixing(tree: Path) -> None:
    (tree / "m.py").write_text(SLEEPY)
    shown = invoke("check", "--no-cache", "--show-fixes", "m.py").stdout
    assert "    -    time.sleep(1)" in shown and "    +    await asyncio.sleep(1)" in shown
    fixed = invoke("fix", "--no-cache", "--show-fixes", "m.py").stdout
    assert "Fixed 1 finding:\n- m.py:\n    1 × AM101 (blocking-sleep)\n" in fixed


def test_quiet_prints_findings_only(tree: Path) -> None:
    (tree / "m.py").write_text(SLEEPY)
    result = invoke("check", "--no-cache", "-q", "m.py")
    assert result.stdout == "m.py:5:5: AM101 `time.sleep()` blocks the event loop; use `await asyncio.sleep()` [*]\n"
    (tree / "empty").mkdir()
    assert invoke("check", "-q", "empty").stderr == ""


@pytest.mark.parametrize(
    "args, env, coloured",
    [
        ([], {}, False),  # not a terminal
        (["--color", "always"], {}, True),
        (["--color", "always"], {"NO_COLOR": "1"}, True),
        (["--color", "never"], {"FORCE_COLOR": "1"}, False),
        ([], {"FORCE_COLOR": "1"}, True),
        ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}, True),
    ],
)
def test_color_option_and_no_color_force_color(tree: Path, args: list[str], env: dict[str, str], coloured: bool) -> None:
    (tree / "m.py").write_text(SLEEPY)
    result = invoke("check", "--no-cache", *args, "m.py", env=env)
    assert ("\x1b[" in result.stdout) is coloured


def test_no_color_turns_a_terminal_plain(tree: Path) -> None:
    from asyncmend.cli import Common, _colour

    class Terminal:
        def isatty(self) -> bool:
            return True

    fields = dict.fromkeys(Common.__dataclass_fields__)
    common = Common(**{**fields, "color": "auto"})  # type: ignore[arg-type]
    os.environ.pop("NO_COLOR", None)
    assert _colour(common, Terminal())
    os.environ["NO_COLOR"] = "1"
    try:
        assert not _colour(common, Terminal())
    finally:
        del os.environ["NO_COLOR"]


def test_fix_uses_the_cache_for_unchanged_files_and_no_cache_turns_it_off(tree: Path) -> None:
    (tree / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tree / "m.py").write_text(SLEEPY)
    (tree / "clean.py").write_text("async def f():\n    return 1\n")
    invoke("fix", "--no-cache", ".")
    assert not (tree / ".asyncmend_cache").exists()
    invoke("fix", ".")
    entries = list((tree / ".asyncmend_cache").rglob("*.json"))
    assert entries, "fix keeps files with nothing to change"
    assert (tree / "m.py").read_text() == FIXED
    # A file changed back is fixed again, not answered from the cache.
    (tree / "m.py").write_text(SLEEPY)
    assert invoke("fix", ".").exit_code == 0 and (tree / "m.py").read_text() == FIXED


def test_the_cache_lives_beside_the_pyproject_in_use(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tree / "project"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[tool.asyncmend]\n")
    (project / "src" / "m.py").write_text(SLEEPY)
    monkeypatch.chdir(project / "src")
    invoke("check", ".")
    assert (project / ".asyncmend_cache").is_dir()
    assert not (project / "src" / ".asyncmend_cache").exists()


def test_an_empty_files_from_list_is_an_empty_run_not_the_current_directory(tree: Path) -> None:
    (tree / "m.py").write_text(SLEEPY)
    (tree / "changed.txt").write_text("")
    result = invoke("check", "--no-cache", "--files-from", "changed.txt")
    assert result.exit_code == 0 and "m.py" not in result.stdout


def test_a_run_that_finds_no_python_file_warns(tree: Path) -> None:
    (tree / "empty").mkdir()
    result = invoke("check", "empty")
    assert result.exit_code == 0
    assert "warning: no Python files found in empty" in result.stderr
    (tree / "only").mkdir()
    (tree / "only" / "m.py").write_text(SLEEPY)
    excluded = invoke("check", "--exclude", "only/", "only")
    assert "warning: no Python files found in only (none there, or all excluded)" in excluded.stderr


def test_fix_diff_ends_with_what_it_would_fix(tree: Path) -> None:
    (tree / "a.py").write_text(SLEEPY)
    (tree / "b.py").write_text(SLEEPY + "\n\nasync def g():\n    time.sleep(2)\n")
    result = invoke("fix", "--no-cache", "--diff", ".")
    assert result.stderr.splitlines()[-1] == "Would fix 3 findings in 2 files."
    assert result.stdout.startswith("--- a/a.py")


def test_walking_follows_a_link_to_a_file_inside_and_warns_of_a_dangling_one(tree: Path) -> None:
    (tree / "src").mkdir()
    (tree / "real").mkdir()
    (tree / "src" / "real.py").write_text(SLEEPY)
    (tree / "src" / "linked.py").symlink_to(tree / "src" / "real.py")
    (tree / "real" / "outside.py").write_text(SLEEPY)
    (tree / "src" / "out.py").symlink_to(tree / "real" / "outside.py")
    (tree / "src" / "dangling.py").symlink_to(tree / "src" / "gone.py")
    (tree / "src" / "alias.py").symlink_to(tree / "src" / "other.py")
    (tree / "src" / "other.py").write_text(SLEEPY)
    result = invoke("check", "--no-cache", "src")
    reported = {line.split(":")[0] for line in result.stdout.splitlines() if ":5:5:" in line}
    # A link and its file are one file; the link out of the walked tree is not followed.
    assert len(reported & {"src/real.py", "src/linked.py"}) == 1
    assert len(reported & {"src/other.py", "src/alias.py"}) == 1
    assert "src/out.py" not in reported
    assert "warning: src/dangling.py: broken symbolic link" in result.stderr
    (tree / "solo").mkdir()
    (tree / "solo" / "link.py").symlink_to(tree / "real" / "outside.py")
    (tree / "solo" / "inner").mkdir()
    (tree / "solo" / "inner" / "target.py").write_text(SLEEPY)
    (tree / "solo" / "via.py").symlink_to(tree / "solo" / "inner" / "target.py")
    solo = invoke("check", "--no-cache", "solo")
    assert "solo/link.py" not in solo.stdout
    assert "solo/inner/target.py:5:5" in solo.stdout


def test_walking_honours_git_info_exclude(tree: Path) -> None:
    (tree / ".git" / "info").mkdir(parents=True)
    (tree / ".git" / "info" / "exclude").write_text("scratch/\n")
    (tree / "scratch").mkdir()
    (tree / "scratch" / "m.py").write_text(SLEEPY)
    (tree / "kept.py").write_text(SLEEPY)
    result = invoke("check", "--no-cache", ".")
    assert "kept.py:5:5" in result.stdout and "scratch" not in result.stdout


# -- outputs: json's fix message, gitlab, junit ----------------------------------


def test_json_fills_each_fix_message(tree: Path) -> None:
    (tree / "m.py").write_text(SLEEPY)
    (finding,) = json.loads(invoke("check", "--no-cache", "--output-format", "json", "m.py").stdout)
    assert finding["fix"]["message"] == (
        "Replace `import time` with `import asyncio`; replace `time.sleep(1)` with `await asyncio.sleep(1)`"
    )
    assert finding["fix"]["joint"] == []


# GitLab publishes no schema file for its code quality report; this is the
# format as its documentation gives it (the fields it requires and reads).
GITLAB_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path"],
                "properties": {
                    "path": {"type": "string", "minLength": 1},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {"begin": {"type": "integer", "minimum": 1}, "end": {"type": "integer", "minimum": 1}},
                    },
                    "positions": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {
                            "begin": {"type": "object", "required": ["line"], "properties": {"line": {"type": "integer", "minimum": 1}, "column": {"type": "integer", "minimum": 1}}},
                            "end": {"type": "object", "required": ["line"], "properties": {"line": {"type": "integer", "minimum": 1}, "column": {"type": "integer", "minimum": 1}}},
                        },
                    },
                },
                "anyOf": [{"required": ["lines"]}, {"required": ["positions"]}],
            },
        },
    },
}


def test_gitlab_code_quality_report_is_valid_with_unique_fingerprints(tree: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    (tree / "m.py").write_text(SLEEPY + "\n\nasync def g():\n    time.sleep(1)\n")
    (tree / "bad.py").write_text("def (:\n")
    result = invoke("check", "--no-cache", "--output-format", "gitlab", ".")
    report = json.loads(result.stdout)
    jsonschema.validate(report, GITLAB_SCHEMA)
    assert len(report) == 3
    assert len({issue["fingerprint"] for issue in report}) == 3, "GitLab shows one issue per fingerprint"
    assert {issue["location"]["path"] for issue in report} == {"m.py", "bad.py"}
    (tree / "m.py").write_text("# a new first line\n" + (tree / "m.py").read_text())
    moved = json.loads(invoke("check", "--no-cache", "--output-format", "gitlab", ".").stdout)
    assert sorted(i["fingerprint"] for i in moved) == sorted(i["fingerprint"] for i in report)


# JUnit XML has no official schema; this one encodes what its consumers
# require (the attributes Jenkins' junit-10 schema makes required, and only
# the attributes it allows where asyncmend writes them).
JUNIT_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:complexType name="outcome" mixed="true">
    <xs:attribute name="type" type="xs:string"/>
    <xs:attribute name="message" type="xs:string"/>
  </xs:complexType>
  <xs:element name="testcase">
    <xs:complexType>
      <xs:choice minOccurs="0" maxOccurs="unbounded">
        <xs:element name="failure" type="outcome"/>
        <xs:element name="error" type="outcome"/>
        <xs:element name="skipped" type="outcome"/>
      </xs:choice>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="classname" type="xs:string"/>
      <xs:attribute name="time" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuite">
    <xs:complexType>
      <xs:sequence><xs:element ref="testcase" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
      <xs:attribute name="name" type="xs:string" use="required"/>
      <xs:attribute name="tests" type="xs:nonNegativeInteger" use="required"/>
      <xs:attribute name="failures" type="xs:nonNegativeInteger" use="required"/>
      <xs:attribute name="errors" type="xs:nonNegativeInteger" use="required"/>
      <xs:attribute name="file" type="xs:string"/>
      <xs:attribute name="time" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="testsuites">
    <xs:complexType>
      <xs:sequence><xs:element ref="testsuite" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
      <xs:attribute name="name" type="xs:string"/>
      <xs:attribute name="tests" type="xs:nonNegativeInteger"/>
      <xs:attribute name="failures" type="xs:nonNegativeInteger"/>
      <xs:attribute name="errors" type="xs:nonNegativeInteger"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""


def test_junit_report_is_valid_and_counts_what_it_holds(tree: Path) -> None:
    xmlschema = pytest.importorskip("xmlschema")
    schema = xmlschema.XMLSchema(JUNIT_XSD)
    (tree / "m.py").write_text(SLEEPY)
    (tree / "bad.py").write_text("def (:\n")
    (tree / "clean.py").write_text("x = 1\n")
    report = invoke("check", "--no-cache", "--output-format", "junit", ".").stdout
    schema.validate(report)
    from xml.etree import ElementTree

    root = ElementTree.fromstring(report)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "1", "1")
    (failure,) = root.iter("failure")
    assert failure.get("type") == "AM101" and "m.py:5:5" in (failure.text or "")
    clean = invoke("check", "--no-cache", "--output-format", "junit", "clean.py").stdout
    schema.validate(clean)
    assert ElementTree.fromstring(clean).get("failures") == "0"


def test_every_new_option_is_in_help_and_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    check_help = invoke("check", "--help").stdout
    for option in ("--force-exclude", "--exit-zero", "--statistics", "--show-fixes", "--quiet", "--color", "--no-cache", "--stdin-filename"):
        assert option in check_help and option in readme, option
    assert "--no-cache" in invoke("fix", "--help").stdout
    for fmt in ("gitlab", "junit"):
        assert fmt in check_help and f"`{fmt}`" in readme
