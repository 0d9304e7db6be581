"""Renderers: results in, text out. Nothing here decides what a finding is."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Sequence

from codemods._base import Finding, Safety
from codemods._engine import FileResult


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


def render_json(results: Sequence[FileResult], *, fixing: bool = False) -> str:
    items = [
        finding_dict(result.path, finding)
        for result in results
        for finding in result.findings
        if not (fixing and finding.fixed)
    ]
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


def render_diff(results: Sequence[FileResult]) -> str:
    return "".join(result.diff for result in results if result.diff)
