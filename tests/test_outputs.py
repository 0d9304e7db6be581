"""The machine outputs a CI bot consumes: github, sarif, rdjson, rdjsonl.

The property that matters for a suggestion bot: applying every suggestion
(each distinct one once) to the original files gives exactly what
``asyncmend fix`` writes.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from asyncmend.codemods.findings import Finding, Safety
from asyncmend.codemods.findings import FileResult
from asyncmend.codemods.output.common import line_hash
from asyncmend.codemods.output.github import render_github
from tests.helpers import apply_replacements, run_cli, with_terminal_stderr

REPO = Path(__file__).resolve().parent.parent

# Sources with findings whose fixes need an import, reuse one, sit on
# adjacent lines, follow multi-byte and astral characters, or live in a file
# with CRLF endings, a form feed, or no final newline.
SOURCES: dict[str, bytes] = {
    "unicode.py": (
        "# ünïcødé — “quotes” before the findings\n"
        "import time\n\n\n"
        "async def f(x):\n"
        "    s = \"é😀\"; time.sleep(1)  # wait ✓\n"
        "    time.sleep(2)\n"
        "    return s, x\n"
    ).encode("utf-8"),
    "crlf.py": b"import time\r\nimport asyncio as aio\r\n\r\nasync def g():\r\n    time.sleep(0.1)\r\n    return time.monotonic()",
    "formfeed.py": b"from time import sleep\n\x0c\nasync def h():\n    sleep(3)\n\n\x0c\nasync def k():\n    x = [1]\n    sleep(4); return x\n",
    "deletion.py": b"import asyncio\nimport time\nimport os\n\n\nasync def f():\n    time.sleep(1)\n    return os.sep\n",
    "clean.py": b"async def nothing():\n    return 1\n",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, data in SOURCES.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


def fixed_files(project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """What `asyncmend fix --unsafe-fixes` writes, run on a copy of the
    project: a report previews every fix, unsafe ones included."""
    copy = tmp_path_factory.mktemp("fixed")
    for name, data in SOURCES.items():
        (copy / name).write_bytes(data)
    result = run_cli(["fix", "--unsafe-fixes", "-j", "1", "--no-progress", "."], copy)
    assert result.exit_code == 0, result.output
    return {name: (copy / name).read_bytes() for name in SOURCES}


def test_rdjson_suggestions_applied_give_exactly_what_fix_writes(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    result = run_cli(["check", "-j", "1", "--output-format", "rdjson", "."], project)
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["source"]["name"] == "asyncmend"
    expected = fixed_files(project, tmp_path_factory)
    by_path: dict[str, list[tuple[int, int, int, int, str]]] = {}
    for diagnostic in document["diagnostics"]:
        for suggestion in diagnostic.get("suggestions", []):
            rng = suggestion["range"]
            by_path.setdefault(diagnostic["location"]["path"], []).append(
                (rng["start"]["line"], rng["start"]["column"], rng["end"]["line"], rng["end"]["column"], suggestion["text"])
            )
    assert set(by_path) == {"unicode.py", "crlf.py", "formfeed.py", "deletion.py"}
    for name, original in SOURCES.items():
        applied = apply_replacements(original.decode("utf-8"), by_path.get(name, []), unit="utf-8")
        assert applied.encode("utf-8") == expected[name], name
    # The fix did change the files, so the comparison above is not vacuous.
    assert expected["unicode.py"] != SOURCES["unicode.py"]


def test_rdjson_columns_count_utf8_bytes(project: Path) -> None:
    result = run_cli(["check", "--output-format", "rdjson", "unicode.py"], project)
    diagnostics = json.loads(result.stdout)["diagnostics"]
    first = next(d for d in diagnostics if d["location"]["range"]["start"]["line"] == 6)
    line = SOURCES["unicode.py"].split(b"\n")[5]
    # The finding starts at `time.sleep(1)`: its byte offset, 1-based.
    assert first["location"]["range"]["start"]["column"] == line.index(b"time.sleep") + 1
    assert first["location"]["range"]["end"]["column"] == line.index(b"  # wait") + 1


def test_rdjson_import_is_its_own_suggestion_and_the_call_site_names_it(project: Path) -> None:
    result = run_cli(["check", "--output-format", "rdjson", "unicode.py"], project)
    diagnostics = json.loads(result.stdout)["diagnostics"]
    calls = [d for d in diagnostics if d["location"]["range"]["start"]["line"] in (6, 7)]
    imports = [d for d in diagnostics if d["location"]["range"]["start"]["line"] in (1, 2)]
    assert len(calls) == 2 and len(imports) == 2
    for call in calls:
        assert "add `import asyncio` at line 2" in call["message"]
        # `import time` goes only once both calls are fixed: each names the other.
        other = 13 - call["location"]["range"]["start"]["line"]
        assert f"with the fix at line {other} (AM101) applied too, remove `import time` at line 2" in call["message"]
        (suggestion,) = call["suggestions"]
        # The call-site suggestion stays on the finding's own line.
        assert suggestion["range"]["start"]["line"] == suggestion["range"]["end"]["line"] == call["location"]["range"]["start"]["line"]
        assert "import" not in suggestion["text"]
    added = next(d for d in imports if "add" in d["message"])
    removed = next(d for d in imports if "remove" in d["message"])
    assert added["message"] == "add `import asyncio`: needed by the fix at lines 6, 7"
    assert removed["message"] == "remove `import time`: completes the fixes at lines 6, 7 once all of them are applied"
    # Two suggestions cannot share a line: the import is added at the end
    # of the line before the one the removal takes.
    (suggestion,) = added["suggestions"]
    assert suggestion["range"]["start"]["line"] == 1 and suggestion["text"] == "\nimport asyncio"
    assert removed["suggestions"][0]["text"] == ""
    assert {d["code"]["value"] for d in imports} == {"AM101"}


def test_rdjsonl_holds_the_rdjson_diagnostics_one_per_line(project: Path) -> None:
    whole = json.loads(run_cli(["check", "--output-format", "rdjson", "."], project).stdout)
    lines = run_cli(["check", "--output-format", "rdjsonl", "."], project).stdout.splitlines()
    parsed = [json.loads(line) for line in lines]
    assert all(item.pop("source") == whole["source"] for item in parsed)
    assert parsed == whole["diagnostics"]


def test_github_annotations_escape_data_and_properties() -> None:
    finding = Finding("AM101", "blocking-sleep", "50% of\r\nthe time: a, b", 3, 5, 3, 18, False, Safety.SAFE)
    text = render_github([FileResult("dir,with:odd/file.py", findings=[finding])])
    assert text == (
        "::warning file=dir%2Cwith%3Aodd/file.py,line=3,col=5,endLine=3,endColumn=18,"
        "title=AM101::50%25 of%0D%0Athe time: a, b\n"
    )


def test_github_annotations_from_the_cli(project: Path) -> None:
    result = run_cli(["check", "--output-format", "github", "unicode.py"], project)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith(
        "::warning file=unicode.py,line=6,col=15,endLine=6,endColumn=28,title=AM101::"
    )
    assert len(result.stdout.splitlines()) == 2


def test_an_unparseable_file_is_an_error_annotation(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def (:\n")
    result = run_cli(["check", "--output-format", "github", "bad.py"], tmp_path)
    assert result.exit_code == 2
    assert result.stdout.startswith("::error file=bad.py,")


def sarif_of(project: Path, *args: str) -> dict:
    result = run_cli(["check", "-j", "1", "--output-format", "sarif", *args, "."], project)
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


def test_sarif_carries_rules_version_fingerprints_and_fixes(project: Path) -> None:
    from asyncmend.codemods import RULES, __version__

    document = sarif_of(project)
    assert document["version"] == "2.1.0"
    (run,) = document["runs"]
    driver = run["tool"]["driver"]
    assert driver["version"] == __version__
    assert [rule["id"] for rule in driver["rules"]] == [rule.CODE for rule in RULES]
    for descriptor, rule in zip(driver["rules"], RULES):
        assert descriptor["name"] == rule.SLUG
        assert descriptor["shortDescription"]["text"] == rule.DESCRIPTION
        assert descriptor["fullDescription"]["text"]
        assert descriptor["defaultConfiguration"]["level"] == "warning"
        assert descriptor["helpUri"].startswith("https://")
        # The rule's documentation, without the docstring's indentation: in
        # help.markdown four leading spaces would make every paragraph after
        # the first a code block (only the examples are meant as one).
        assert descriptor["help"]["text"] == inspect.cleandoc(rule.__doc__)
        assert descriptor["help"]["markdown"] == inspect.cleandoc(rule.__doc__)
        assert re.search(r"^## Why is this bad$", descriptor["help"]["markdown"], re.MULTILINE), rule.CODE
    results = run["results"]
    # One result per finding.
    findings = json.loads(run_cli(["check", "-j", "1", "--output-format", "json", "."], project).stdout)
    assert len(results) == len(findings) == 6
    assert [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["ruleId"]) for r in results] == [
        (f["path"], f["code"]) for f in findings
    ]
    for item in results:
        assert driver["rules"][item["ruleIndex"]]["id"] == item["ruleId"]
        assert item["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert item["partialFingerprints"]["primaryLocationLineHash"]
        assert item["fixes"][0]["artifactChanges"][0]["replacements"]
    hashes = [item["partialFingerprints"]["primaryLocationLineHash"] for item in results]
    assert len(set(hashes)) == len(hashes)


def test_sarif_help_uri_leads_to_the_rules_readme_section() -> None:
    """The README renderer PyPI uses gives a heading only a prefixed id
    (``user-content-am101-...``), so the bare fragment would lead nowhere
    there: each rule's section carries an explicit anchor, which that
    renderer and GitHub both keep."""
    from asyncmend.codemods import RULES
    from asyncmend.codemods.output.common import HOMEPAGE, help_uri

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for rule in RULES:
        uri = help_uri(rule, rule.CODE)
        base, _, fragment = uri.partition("#")
        assert base == HOMEPAGE and fragment, uri
        match = re.search(rf'^<a id="{re.escape(fragment)}"></a>\n\n(.*)$', readme, re.MULTILINE)
        assert match, f"README has no anchor {fragment!r}"
        assert match.group(1) == f"### {rule.CODE} {rule.SLUG}"


def test_sarif_fingerprint_survives_lines_moving(tmp_path: Path) -> None:
    source = "import time\n\n\nasync def f():\n    time.sleep(1)\n"
    (tmp_path / "m.py").write_text(source)
    before = sarif_of(tmp_path)["runs"][0]["results"][0]
    (tmp_path / "m.py").write_text("# a new comment\n\n" + source)
    after = sarif_of(tmp_path)["runs"][0]["results"][0]
    region = lambda r: r["locations"][0]["physicalLocation"]["region"]["startLine"]  # noqa: E731
    assert region(after) == region(before) + 2
    assert after["partialFingerprints"] == before["partialFingerprints"]
    assert line_hash("AM101", "  time.sleep(1)\n") == line_hash("AM101", "time.sleep(1)")


def test_sarif_fixes_applied_give_exactly_what_fix_writes(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    document = sarif_of(project)
    assert document["runs"][0]["columnKind"] == "utf16CodeUnits"
    expected = fixed_files(project, tmp_path_factory)
    by_path: dict[str, list[tuple[int, int, int, int, str]]] = {}
    for item in document["runs"][0]["results"]:
        for fix in item.get("fixes", []):
            for change in fix["artifactChanges"]:
                for replacement in change["replacements"]:
                    region = replacement["deletedRegion"]
                    by_path.setdefault(change["artifactLocation"]["uri"], []).append(
                        (region["startLine"], region["startColumn"], region["endLine"], region["endColumn"],
                         replacement["insertedContent"]["text"])
                    )
    for name, original in SOURCES.items():
        applied = apply_replacements(original.decode("utf-8"), by_path.get(name, []), unit="utf-16")
        assert applied.encode("utf-8") == expected[name], name


def sarif_multitool() -> str | None:
    """The SARIF Multitool: $SARIF_MULTITOOL, the copy .ci/run installs, or PATH."""
    candidates = [
        os.environ.get("SARIF_MULTITOOL", ""),
        str(REPO / ".ci" / "npm" / "node_modules" / ".bin" / "sarif-multitool"),
        shutil.which("sarif-multitool") or "",
    ]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def test_sarif_is_valid_for_the_sarif_multitool(project: Path, tmp_path: Path) -> None:
    tool = sarif_multitool()
    if tool is None:
        pytest.skip("SARIF Multitool not installed (npm install @microsoft/sarif-multitool)")
    log = tmp_path / "asyncmend.sarif"
    log.write_text(json.dumps(sarif_of(project)))
    report = tmp_path / "validation.sarif"
    completed = subprocess.run(
        [tool, "validate", str(log), "--output", str(report), "--log", "ForceOverwrite"],
        capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    problems = json.loads(report.read_text())["runs"][0]["results"]
    # Not only schema errors: the Multitool's warnings (missing version,
    # informationUri, ...) are what code scanning complains about too.
    assert problems == [], json.dumps(problems, indent=1)[:3000]


def test_stdin_source_is_reported_under_its_stdin_filename_with_its_own_text(tmp_path: Path) -> None:
    source = SOURCES["unicode.py"]
    result = run_cli(["check", "--output-format", "rdjsonl", "--stdin-filename", "src/é.py", "-"], tmp_path, input=source)
    diagnostics = [json.loads(line) for line in result.stdout.splitlines()]
    assert {d["location"]["path"] for d in diagnostics} == {"src/é.py"}
    suggestions = [
        (s["range"]["start"]["line"], s["range"]["start"]["column"], s["range"]["end"]["line"], s["range"]["end"]["column"], s["text"])
        for d in diagnostics for s in d.get("suggestions", [])
    ]
    fixed = run_cli(["fix", "--unsafe-fixes", "-"], tmp_path, input=source).stdout_bytes
    assert apply_replacements(source.decode(), suggestions, unit="utf-8").encode() == fixed


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "rdjson", "rdjsonl"])
def test_progress_bar_never_in_machine_formats(monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    import dataclasses
    import sys

    from asyncmend import cli

    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    options = {name: None for name in cli.Common.__dataclass_fields__}
    common = cli.Common(**{**options, "no_progress": False, "output_format": fmt})
    assert not cli._shows_progress(10_000, common)
    assert cli._shows_progress(10_000, dataclasses.replace(common, output_format="text"))


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals here")
def test_progress_bar_is_drawn_on_a_terminal_for_long_text_runs_only(tmp_path: Path) -> None:
    from asyncmend import cli

    for number in range(cli.PROGRESS_MIN_FILES):
        (tmp_path / f"m{number}.py").write_text("import time\n\n\nasync def f():\n    time.sleep(1)\n")
    code, out, shown = with_terminal_stderr(["check", "-j", "1", "--no-cache", "."], tmp_path)
    assert code == 1
    assert b"100%" in shown and b"asyncmend" in shown, shown[-500:]
    assert b"%" not in out and b"Found 50 findings." in out
    for args in (["--no-progress"], ["--output-format", "json"], ["--output-format", "sarif"]):
        code, out, shown = with_terminal_stderr(["check", "-j", "1", "--no-cache", *args, "."], tmp_path)
        assert code == 1 and b"100%" not in shown, args
    # A short run draws none.
    code, _, shown = with_terminal_stderr(["check", "-j", "1", "--no-cache", "m1.py", "m2.py"], tmp_path)
    assert code == 1 and shown == b""


FIXTURES = Path(__file__).parent / "fixtures"


def _changing_fixtures() -> list[Path]:
    return sorted(p for p in FIXTURES.glob("*/*.before.py") if p.with_name(p.name.replace(".before.", ".after.")).exists())


@pytest.mark.parametrize("before", _changing_fixtures(), ids=lambda p: f"{p.parent.name}/{p.name[:-10]}")
def test_every_rules_fixture_suggestions_and_sarif_fixes_rebuild_its_fix(before: Path, tmp_path: Path) -> None:
    """The property above, for every rule's fixtures as they come."""
    from asyncmend.codemods import RULES, Options
    from asyncmend.codemods.engine.passes import process_bytes
    from asyncmend.codemods.output.rdjson import rdjson_diagnostics
    from asyncmend.codemods.output.sarif import render_sarif
    from tests.test_fixtures import RULES_BY_SLUG, _settings

    from asyncmend.codemods.source.text import decode

    data = before.read_bytes()
    # Fixtures carry BOMs and coding cookies: decode as Python does.
    text, encoding = decode(data)
    settings = _settings(RULES_BY_SLUG[before.parent.name].CODE, text)
    # A fixture with companion modules is a module of that project.
    from tests.helpers import fixture_project

    filename, project = fixture_project(before, text, tmp_path)
    outcome = process_bytes(
        data, Options(settings=settings, edits=True), RULES, filename if project is not None else "case.py", project=project
    )
    assert outcome.changed
    result = FileResult("case.py", findings=outcome.findings, changed=True)
    suggestions = [
        (s["range"]["start"]["line"], s["range"]["start"]["column"], s["range"]["end"]["line"], s["range"]["end"]["column"], s["text"])
        for d in rdjson_diagnostics([result], lambda _: text)
        for s in d.get("suggestions", [])
    ]
    expected = decode(outcome.output)[0]
    assert apply_replacements(text, suggestions, unit="utf-8") == expected
    sarif = json.loads(render_sarif([result], lambda _: text))
    replacements = [
        (r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"], r["deletedRegion"]["endLine"],
         r["deletedRegion"]["endColumn"], r["insertedContent"]["text"])
        for item in sarif["runs"][0]["results"]
        for fix in item.get("fixes", [])
        for change in fix["artifactChanges"]
        for r in change["replacements"]
    ]
    assert apply_replacements(text, replacements, unit="utf-16") == expected


def rdformat_validator() -> str | None:
    """The Reviewdog Diagnostic Format validator: $RDFORMAT_VALIDATOR, the copy
    .ci/run installs, or PATH."""
    candidates = [
        os.environ.get("RDFORMAT_VALIDATOR", ""),
        str(REPO / ".ci" / "npm" / "node_modules" / ".bin" / "rdformat-validator"),
        shutil.which("rdformat-validator") or "",
    ]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def test_rdjson_and_each_rdjsonl_line_are_valid_reviewdog_diagnostic_format(project: Path, tmp_path: Path) -> None:
    tool = rdformat_validator()
    if tool is None:
        pytest.skip("rdformat-validator not installed (npm install @umbrelladocs/rdformat-validator)")
    files = [tmp_path / "all.rdjson"]
    files[0].write_text(run_cli(["check", "-j", "1", "--output-format", "rdjson", "."], project).stdout)
    for number, line in enumerate(run_cli(["check", "-j", "1", "--output-format", "rdjsonl", "."], project).stdout.splitlines()):
        files.append(tmp_path / f"line{number}.json")
        files[-1].write_text(line)
    assert len(files) > 5
    completed = subprocess.run(
        [tool, "--strict", "--no-extra-fields", "--format", "json", *map(str, files)],
        capture_output=True, text=True, timeout=120,
    )
    report = json.loads(completed.stdout)
    assert completed.returncode == 0 and report["validFiles"] == len(files), json.dumps(report, indent=1)[:3000]


def test_findings_left_after_fix_point_into_the_file_as_written(tmp_path: Path) -> None:
    # The first call is fixed (`import asyncio` joins the imports, a line gets
    # longer), the one in a generator expression cannot be: it is reported at
    # its line and byte column in the file as it now is.
    source = "import time\n\n\nasync def f():\n    time.sleep(1)\n    s = 'é'; list(time.sleep(2) for _ in s)\n"
    (tmp_path / "m.py").write_text(source)
    result = run_cli(["fix", "--output-format", "rdjson", "m.py"], tmp_path)
    (left,) = json.loads(result.stdout)["diagnostics"]
    written = (tmp_path / "m.py").read_bytes()
    assert b"await asyncio.sleep(1)" in written
    number = next(i for i, line in enumerate(written.split(b"\n"), 1) if b"list(time.sleep(2)" in line)
    assert number == 7
    line = written.split(b"\n")[number - 1]
    assert left["location"]["range"]["start"] == {"line": number, "column": line.index(b"time.sleep") + 1}
    text = run_cli(["fix", "m.py"], tmp_path).output
    assert f"m.py:{number}:" in text


def _as_github_suggestions(original: bytes, diagnostics: list[dict]) -> bytes:
    """Apply suggestions the way reviewdog turns them into GitHub suggestion
    blocks: each replaces the whole lines from its start line to its end line
    with start_line[:start_column-1] + text + end_line[end_column-1:], columns
    in bytes."""
    lines = original.split(b"\n")
    blocks: dict[tuple[int, int], list[bytes]] = {}
    for diagnostic in diagnostics:
        for suggestion in diagnostic.get("suggestions", []):
            start, end = suggestion["range"]["start"], suggestion["range"]["end"]
            first, last = lines[start["line"] - 1], lines[end["line"] - 1]
            block = first[: start["column"] - 1] + suggestion["text"].encode("utf-8") + last[end["column"] - 1 :]
            blocks[(start["line"], end["line"])] = block.split(b"\n")
    out: list[bytes] = []
    next_line = 1
    for (start, end), block in sorted(blocks.items()):
        assert start >= next_line, "two suggestions cover the same line"
        out.extend(lines[next_line - 1 : start - 1])
        out.extend(block)
        next_line = end + 1
    out.extend(lines[next_line - 1 :])
    return b"\n".join(out)


# Not formfeed.py: there the removal of the file's first line (once both
# fixes are applied) and the `import asyncio` each fix adds after it touch
# the same line in GitHub's terms, and no line before the first can carry
# the import instead. Their ranges still apply exactly (the rdjson test above).
@pytest.mark.parametrize("name", ["unicode.py", "deletion.py"])
def test_suggestions_as_github_suggestion_blocks_give_what_fix_writes(
    project: Path, tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    diagnostics = json.loads(run_cli(["check", "--output-format", "rdjson", name], project).stdout)["diagnostics"]
    # reviewdog comments on the lines of the first suggestion, and requires any
    # other suggestion of the same diagnostic to cover the same lines.
    assert all(len(d.get("suggestions", [])) <= 1 for d in diagnostics)
    expected = fixed_files(project, tmp_path_factory)[name]
    assert _as_github_suggestions(SOURCES[name], diagnostics) == expected


def test_an_import_left_unused_is_named_as_such_not_as_needed(project: Path) -> None:
    diagnostics = json.loads(run_cli(["check", "--output-format", "rdjson", "deletion.py"], project).stdout)["diagnostics"]
    call = next(d for d in diagnostics if d["location"]["range"]["start"]["line"] == 7)
    removal = next(d for d in diagnostics if d["location"]["range"]["start"]["line"] == 2)
    assert "`import time` at line 2 is unused" in call["message"]
    assert removal["message"] == "remove `import time`: unused after the fix at line 7"
    assert removal["suggestions"][0]["text"] == ""


def test_sarif_columns_count_utf16_code_units(project: Path) -> None:
    results = sarif_of(project)["runs"][0]["results"]
    region = next(
        r["locations"][0]["physicalLocation"]["region"]
        for r in results
        if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "unicode.py"
        and r["locations"][0]["physicalLocation"]["region"]["startLine"] == 6
    )
    line = SOURCES["unicode.py"].decode().split("\n")[5]
    before = line[: line.index("time.sleep")]
    assert region["startColumn"] == len(before.encode("utf-16-le")) // 2 + 1 == len(before) + 2
