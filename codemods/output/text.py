"""Renderers: results in, text out. Nothing here decides what a finding is."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from codemods._findings import Edit, Finding, Safety
from codemods._engine import FileResult, split_lines

if TYPE_CHECKING:
    from codemods._base import Rule
    from codemods._registry import RuleInfo


@dataclass(frozen=True)
class Summary:
    findings: int
    fixed: int
    fixable_safe: int
    fixable_unsafe: int
    errors: int
    files: int
    changed: int

    @classmethod
    def of(cls, results: Sequence[FileResult], *, fixing: bool) -> Summary:
        findings = [f for r in results for f in r.findings]
        # When fixing, what is still fixable is what this run did not fix.
        open_ = [f for f in findings if not (fixing and f.fixed)]
        return cls(
            findings=len(findings),
            fixed=sum(f.fixed for f in findings) if fixing else 0,
            fixable_safe=sum(f.fixable and f.safety is Safety.SAFE for f in open_),
            fixable_unsafe=sum(f.fixable and f.safety is Safety.UNSAFE for f in open_),
            errors=sum(r.error is not None for r in results),
            files=len(results),
            changed=sum(r.changed for r in results),
        )


Style = Callable[..., str]


def _plain(text: str, **_: object) -> str:
    return text


def finding_line(path: str, finding: Finding, style: Style = _plain) -> str:
    marker = " [*]" if finding.fixable and finding.safety is Safety.SAFE else ""
    if finding.fixable and finding.safety is Safety.UNSAFE:
        marker = " [unsafe fix]"
    return (
        f"{style(path, bold=True)}:{finding.line}:{finding.column}: "
        f"{style(finding.code, fg='red', bold=True)} {finding.message}{marker}"
    )


def error_line(result: FileResult, style: Style = _plain) -> str:
    return f"{style(result.path, bold=True)}: {style('error', fg='red', bold=True)}: {result.error}"


def render_text(results: Sequence[FileResult], *, fixing: bool, style: Style = _plain) -> str:
    """One line per finding left to act on, then a summary line."""
    lines = []
    for result in results:
        for finding in result.findings:
            if fixing and finding.fixed:
                continue
            lines.append(finding_line(result.path, finding, style))
    summary = Summary.of(results, fixing=fixing)
    lines.append(summary_line(summary, fixing=fixing))
    return "\n".join(lines) + "\n"


def summary_line(summary: Summary, *, fixing: bool) -> str:
    parts = []
    if fixing:
        left = summary.findings - summary.fixed
        parts.append(
            f"Fixed {_count(summary.fixed, 'finding')} in {_count(summary.changed, 'file')}"
            f"; {left} left."
        )
    elif summary.findings:
        parts.append(f"Found {_count(summary.findings, 'finding')}.")
    else:
        parts.append("No findings.")
    if summary.fixable_safe:
        parts.append(f"{summary.fixable_safe} fixable with `asyncmend fix`.")
    if summary.fixable_unsafe:
        parts.append(f"{summary.fixable_unsafe} more fixable with `--unsafe-fixes`.")
    if summary.errors:
        parts.append(f"{_count(summary.errors, 'file')} could not be processed.")
    return " ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def finding_dict(path: str, finding: Finding) -> dict[str, object]:
    fix = None
    if finding.fixable:
        fix = {
            "applicability": finding.safety.value,
            "message": finding.fix.message if finding.fix else "",
            "edits": [
                {
                    "location": {"line": edit.start_line, "column": 1},
                    "end_location": {"line": edit.end_line, "column": 1},
                    "content": edit.content,
                }
                for edit in (finding.fix.edits if finding.fix else ())
            ],
        }
    return {
        "code": finding.code,
        "slug": finding.slug,
        "message": finding.message,
        "path": path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "fix": fix,
    }


# A lone surrogate: a byte of a file name that is not UTF-8 (os.fsdecode).
_SURROGATE = re.compile("[\ud800-\udfff]")


def _dumps(document: object, indent: int | None = None) -> str:
    """JSON text that is valid UTF-8: readable characters as they are, and a
    file name's undecodable bytes as ``\\udcXX`` escapes, which ``json.loads``
    gives back as the same surrogates (``os.fsencode`` then gives the name)."""
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def render_json(results: Sequence[FileResult], *, fixing: bool = False) -> str:
    items = [
        finding_dict(result.path, finding)
        for result in results
        for finding in result.findings
        if not (fixing and finding.fixed)
    ]
    return _dumps(items, indent=2) + "\n"


def render_diff(results: Sequence[FileResult]) -> bytes:
    """The patch of every changed file, in each file's own bytes."""
    return "".join(result.diff for result in results if result.diff).encode("latin-1")


# -- positions and edits for machine formats ----------------------------------

HOMEPAGE = "https://pypi.org/project/asyncmend/"
TOOL_NAME = "asyncmend"

# path -> the source text the findings of that path refer to (None: unreadable)
SourceOf = Callable[[str], "str | None"]


def _body(line: str) -> tuple[str, str]:
    """(line without its ending, the ending)."""
    stripped = line.rstrip("\r\n")
    return stripped, line[len(stripped) :]


@dataclass(frozen=True)
class Span:
    """A replacement of the text between two positions (1-based lines and
    character columns, end exclusive) by ``text``."""

    start_line: int
    start_column: int
    end_line: int
    end_column: int
    text: str


def edit_span(edit: Edit, lines: Sequence[str]) -> Span:
    """The span form of a whole-line edit.

    A replacement ends at the end of its last line (before the line ending)
    and leaves that ending in place: that is the form a review tool can turn
    into a suggestion for exactly the replaced lines. An insertion or a
    deletion runs from the start of its first line to the start of the line
    after it.
    """
    s, e, content = edit.start_line, edit.end_line, edit.content
    if e > s and content and e - 2 < len(lines):
        body, ending = _body(lines[e - 2])
        if content.endswith(ending) and (ending or not _body(content)[1]):
            return Span(s, 1, e - 1, len(body) + 1, content[: len(content) - len(ending)])
    return Span(s, 1, e, 1, content)


def merge_edits(edits: Sequence[Edit], lines: Sequence[str]) -> Edit:
    """One edit spanning several, with the original lines between them kept."""
    ordered = sorted(edits, key=lambda edit: (edit.start_line, edit.end_line))
    start, end = ordered[0].start_line, ordered[0].start_line
    content = []
    for edit in ordered:
        content.extend(lines[end - 1 : edit.start_line - 1])
        content.append(edit.content)
        end = max(end, edit.end_line)
    return Edit(start, end, "".join(content))


def split_fix_edits(finding: Finding) -> tuple[list[Edit], list[Edit]]:
    """(the edits at the finding itself, the edits elsewhere such as imports).

    The same rule as :func:`codemods._engine.attach_edits` uses to hand a
    hunk to a finding: the hunk touches the finding's lines.
    """
    own: list[Edit] = []
    shared: list[Edit] = []
    for edit in finding.fix.edits if finding.fix else ():
        last = max(edit.start_line, edit.end_line - 1)
        if finding.line <= last and edit.start_line <= finding.end_line:
            own.append(edit)
        else:
            shared.append(edit)
    return own, shared


def byte_column(lines: Sequence[str], line: int, column: int) -> int:
    """A 1-based character column as a 1-based UTF-8 byte column."""
    if not 1 <= line <= len(lines):
        return column
    return len(_body(lines[line - 1])[0][: column - 1].encode("utf-8")) + 1


def describe_edit(edit: Edit, lines: Sequence[str]) -> str:
    """``add `import asyncio``` / ``remove `import time``` / ``replace ...``."""
    old = "".join(lines[edit.start_line - 1 : edit.end_line - 1]).strip()
    new = edit.content.strip()
    if not old:
        return f"add `{new}`"
    if not new:
        return f"remove `{old}`"
    return f"replace `{old}` with `{new}`"


def help_uri(rule: type[Rule] | RuleInfo | None, code: str) -> str:
    slug = rule.SLUG if rule is not None else ""
    return f"{HOMEPAGE}#{code.lower()}-{slug}" if slug else HOMEPAGE


def _open_findings(result: FileResult, fixing: bool) -> list[Finding]:
    return [f for f in result.findings if not (fixing and f.fixed)]


def _lines_for(result: FileResult, source_of: SourceOf) -> list[str]:
    text = source_of(result.path)
    return split_lines(text) if text is not None else []


# -- github -------------------------------------------------------------------


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render_github(results: Sequence[FileResult], *, fixing: bool = False) -> str:
    """GitHub Actions workflow commands: one annotation per finding or error."""
    out = []
    for result in results:
        if result.error is not None:
            out.append(
                f"::error file={_escape_property(result.path)},"
                f"title={_escape_property('asyncmend: file not processed')}"
                f"::{_escape_data(result.error)}"
            )
        for finding in _open_findings(result, fixing):
            props = {
                "file": result.path,
                "line": str(finding.line),
                "col": str(finding.column),
                "endLine": str(finding.end_line),
                "endColumn": str(finding.end_column),
                "title": finding.code,
            }
            prop_text = ",".join(f"{key}={_escape_property(value)}" for key, value in props.items())
            out.append(f"::warning {prop_text}::{_escape_data(finding.message + _fix_note(finding))}")
    return "".join(line + "\n" for line in out)


def _fix_note(finding: Finding) -> str:
    if not finding.fixable:
        return ""
    if finding.safety is Safety.SAFE:
        return " (fixable with `asyncmend fix`)"
    return " (fixable with `asyncmend fix --unsafe-fixes`)"


# -- rdjson (reviewdog) -------------------------------------------------------


def _rd_position(lines: Sequence[str], line: int, column: int) -> dict[str, int]:
    return {"line": line, "column": byte_column(lines, line, column)}


def _rd_range(lines: Sequence[str], span: Span) -> dict[str, object]:
    return {
        "start": _rd_position(lines, span.start_line, span.start_column),
        "end": _rd_position(lines, span.end_line, span.end_column),
    }


def rdjson_diagnostics(results: Sequence[FileResult], source_of: SourceOf, *, fixing: bool = False) -> list[dict[str, object]]:
    """Reviewdog diagnostics: one per finding, with the fix at the finding as
    its suggestion, and one per distinct edit elsewhere (an import).

    GitHub takes a suggestion only on lines of the pull request's diff, and the
    import block usually is not among them: so an import edit is never folded
    into the call-site suggestion, and the call-site message names it.
    """
    from codemods._registry import RULE_INFO as RULES_BY_CODE

    diagnostics: list[dict[str, object]] = []
    for result in results:
        findings = _open_findings(result, fixing)
        if not findings:
            continue
        lines = _lines_for(result, source_of)
        shared_users: dict[Edit, list[Finding]] = {}
        for finding in findings:
            own, shared = split_fix_edits(finding)
            for edit in shared:
                shared_users.setdefault(edit, []).append(finding)
            message = finding.message
            if finding.fixable and finding.safety is Safety.UNSAFE:
                message += " (unsafe fix: review it)"
            for edit in shared:
                if edit.content.strip():
                    message += (
                        f"; the fix also needs to {describe_edit(edit, lines)} at line "
                        f"{edit.start_line}, a separate suggestion there"
                    )
                else:
                    message += (
                        f"; after the fix, {describe_edit(edit, lines).removeprefix('remove ')} at line "
                        f"{edit.start_line} is unused: its removal is a separate suggestion there"
                    )
            diagnostic: dict[str, object] = {
                "message": message,
                "location": {
                    "path": result.path,
                    "range": _rd_range(
                        lines,
                        Span(finding.line, finding.column, finding.end_line, finding.end_column, ""),
                    ),
                },
                "severity": "WARNING",
                "code": {"value": finding.code, "url": help_uri(RULES_BY_CODE.get(finding.code), finding.code)},
            }
            if own:
                span = edit_span(merge_edits(own, lines), lines)
                diagnostic["suggestions"] = [{"range": _rd_range(lines, span), "text": span.text}]
            diagnostics.append(diagnostic)
        for edit, users in shared_users.items():
            span = edit_span(edit, lines)
            codes = sorted({f.code for f in users})
            at = ", ".join(str(f.line) for f in users)
            why = "needed by" if edit.content.strip() else "unused after"
            diagnostics.append(
                {
                    "message": f"{describe_edit(edit, lines)}: {why} the fix at line{'s' if len(users) > 1 else ''} {at}",
                    "location": {"path": result.path, "range": _rd_range(lines, span)},
                    "severity": "WARNING",
                    "code": {"value": codes[0], "url": help_uri(RULES_BY_CODE.get(codes[0]), codes[0])},
                    "suggestions": [{"range": _rd_range(lines, span), "text": span.text}],
                }
            )
    return diagnostics


def render_rdjson(results: Sequence[FileResult], source_of: SourceOf, *, fixing: bool = False) -> str:
    document = {
        "source": {"name": TOOL_NAME, "url": HOMEPAGE},
        "severity": "WARNING",
        "diagnostics": rdjson_diagnostics(results, source_of, fixing=fixing),
    }
    return _dumps(document, indent=2) + "\n"


def render_rdjsonl(results: Sequence[FileResult], source_of: SourceOf, *, fixing: bool = False) -> str:
    source = {"name": TOOL_NAME, "url": HOMEPAGE}
    return "".join(
        _dumps({"source": source, **diagnostic}) + "\n"
        for diagnostic in rdjson_diagnostics(results, source_of, fixing=fixing)
    )


# -- sarif --------------------------------------------------------------------

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _artifact_location(path: str) -> dict[str, str]:
    """A path relative to the working directory (the repository root in CI,
    which is what code scanning expects), else an absolute file URI."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            candidate = candidate.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            return {"uri": candidate.as_uri()}
    # A URI names bytes: those of a name that is not UTF-8 are percent-encoded as they are.
    raw = candidate.as_posix().encode("utf-8", "surrogateescape")
    return {"uri": urllib.parse.quote(raw), "uriBaseId": "%SRCROOT%"}


def utf16_column(lines: Sequence[str], line: int, column: int) -> int:
    """A 1-based character column as a 1-based UTF-16 code unit column, the
    unit SARIF counts in by default and GitHub code scanning assumes."""
    if not 1 <= line <= len(lines):
        return column
    before = _body(lines[line - 1])[0][: column - 1]
    return column + sum(1 for char in before if ord(char) > 0xFFFF)


def _sarif_region(lines: Sequence[str], span: Span) -> dict[str, int]:
    return {
        "startLine": span.start_line,
        "startColumn": utf16_column(lines, span.start_line, span.start_column),
        "endLine": span.end_line,
        "endColumn": utf16_column(lines, span.end_line, span.end_column),
    }


def line_hash(code: str, line_text: str) -> str:
    """Identifies a finding by its rule and its line's text (whitespace
    ignored), not its line number, so it survives edits elsewhere in the file."""
    normalized = "".join(line_text.split())
    return hashlib.sha256(f"{code}\0{normalized}".encode("utf-8")).hexdigest()[:16]


def _rule_descriptor(rule: RuleInfo, doc: str) -> dict[str, object]:
    first = doc.split("\n\n", 1)[0].replace("\n", " ") if doc else rule.DESCRIPTION
    level = "warning"
    return {
        "id": rule.CODE,
        "name": rule.SLUG,
        "shortDescription": {"text": rule.DESCRIPTION},
        "fullDescription": {"text": first},
        "help": {"text": doc or rule.DESCRIPTION, "markdown": doc or rule.DESCRIPTION},
        "helpUri": help_uri(rule, rule.CODE),
        "defaultConfiguration": {"level": level},
        "properties": {"fix": rule.SAFETY.value, "tags": ["asyncio"]},
    }


def rule_docs() -> dict[str, str]:
    """Each rule's docstring, cleaned (``inspect.cleandoc``: a docstring's
    first line has no indentation, so ``dedent`` would leave the rest
    indented, and in SARIF's help.markdown an indented paragraph is a code
    block). Read from the rule modules' source with ``ast``, so that a SARIF
    report of a run that met no candidate imports no rule, nor LibCST; a
    rule whose source cannot be read is imported."""
    import ast
    import importlib.util
    import inspect

    from codemods._registry import RULE_INFOS

    docs: dict[str, str] = {}
    for info in RULE_INFOS:
        try:
            spec = importlib.util.find_spec(f"codemods.{info.MODULE}")
            tree = ast.parse(Path(spec.origin).read_bytes()) if spec and spec.origin else None
        except (OSError, SyntaxError, ValueError, ImportError):
            tree = None
        for node in tree.body if tree is not None else ():
            if isinstance(node, ast.ClassDef) and any(
                isinstance(statement, ast.Assign)
                and [getattr(target, "id", None) for target in statement.targets] == ["CODE"]
                and isinstance(statement.value, ast.Constant)
                and statement.value.value == info.CODE
                for statement in node.body
            ):
                docs[info.CODE] = ast.get_docstring(node) or ""
        if info.CODE not in docs:
            from codemods import RULES_BY_CODE

            docs[info.CODE] = inspect.cleandoc(RULES_BY_CODE[info.CODE].__doc__ or "")
    return docs


def render_sarif(results: Sequence[FileResult], source_of: SourceOf, *, fixing: bool = False) -> str:
    from codemods import __version__
    from codemods._registry import RULE_INFOS

    infos = sorted(RULE_INFOS, key=lambda info: info.CODE)
    index = {rule.CODE: i for i, rule in enumerate(infos)}
    sarif_results: list[dict[str, object]] = []
    notifications: list[dict[str, object]] = []
    for result in results:
        location = _artifact_location(result.path)
        if result.error is not None:
            notifications.append(
                {
                    "level": "error",
                    "message": {"text": f"{result.path}: {result.error}"},
                    "locations": [{"physicalLocation": {"artifactLocation": location}}],
                }
            )
        findings = _open_findings(result, fixing)
        if not findings:
            continue
        lines = _lines_for(result, source_of)
        seen: dict[str, int] = {}
        for finding in findings:
            line_text = lines[finding.line - 1] if finding.line <= len(lines) else ""
            key = line_hash(finding.code, line_text)
            seen[key] = seen.get(key, 0) + 1
            item: dict[str, object] = {
                "ruleId": finding.code,
                "level": "warning",
                "message": {"text": finding.message + _fix_note(finding)},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": location,
                            "region": _sarif_region(
                                lines,
                                Span(finding.line, finding.column, finding.end_line, finding.end_column, "")
                            ),
                        }
                    }
                ],
                # Which occurrence of that line's text: two identical lines
                # of one file stay two results.
                "partialFingerprints": {"primaryLocationLineHash": f"{key}:{seen[key]}"},
            }
            if finding.code in index:
                item["ruleIndex"] = index[finding.code]
            if finding.fix is not None and finding.fix.edits:
                own, shared = split_fix_edits(finding)
                replacements = [
                    {"deletedRegion": _sarif_region(lines, span), "insertedContent": {"text": span.text}}
                    for span in (edit_span(edit, lines) for edit in sorted(own + shared, key=lambda e: e.start_line))
                ]
                item["fixes"] = [
                    {
                        "description": {"text": f"{finding.safety.value} fix for {finding.code}"
                                        + (f" (adds `import {finding.needs_import}`)" if finding.needs_import else "")},
                        "artifactChanges": [{"artifactLocation": location, "replacements": replacements}],
                    }
                ]
            sarif_results.append(item)
    docs = rule_docs()
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": HOMEPAGE,
                "rules": [_rule_descriptor(rule, docs[rule.CODE]) for rule in infos],
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().resolve().as_uri().rstrip("/") + "/"}},
        # Stated, though it is the default: columns count UTF-16 code units.
        "columnKind": "utf16CodeUnits",
        "invocations": [
            {"executionSuccessful": not notifications, "toolExecutionNotifications": notifications}
        ],
        "results": sarif_results,
    }
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return _dumps(document, indent=2) + "\n"


# -- interactive review -------------------------------------------------------


def fix_hunk(path: str, finding: Finding, lines: Sequence[str], style: Style = _plain, context: int = 2) -> str:
    """One finding's fix as a diff hunk for review at a terminal: the edit at
    the finding, then any edit it needs elsewhere (an import)."""
    safety = "unsafe fix" if finding.safety is Safety.UNSAFE else "fix"
    out = [
        f"{style(path, bold=True)}:{finding.line}:{finding.column}: "
        f"{style(finding.code, fg='red', bold=True)} {finding.message} ({safety})"
    ]
    own, shared = split_fix_edits(finding)
    if not own:
        out.append("  (its change is part of the fix of another finding on the same lines)")
    edits = ([merge_edits(own, lines)] if own else []) + shared
    for edit in edits:
        after = [*lines[: edit.start_line - 1], *split_lines(edit.content), *lines[edit.end_line - 1 :]]
        import difflib

        diff = difflib.unified_diff(list(lines), after, n=context)
        for line in list(diff)[2:]:  # no ---/+++ header: the path is above
            line = line.rstrip("\r\n")
            if line.startswith("@@"):
                out.append(style(line, fg="cyan"))
            elif line.startswith("+"):
                out.append(style(line, fg="green"))
            elif line.startswith("-"):
                out.append(style(line, fg="red"))
            else:
                out.append(line)
    return "\n".join(out) + "\n"
