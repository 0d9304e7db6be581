"""The text report, its summary line, the diff of ``fix --diff`` and the
hunks of ``fix --interactive``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..findings import FileResult, Finding, Safety
from ..source.text import split_lines
from .common import Style, merge_edits, plain, split_fix_edits


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



def finding_line(path: str, finding: Finding, style: Style = plain) -> str:
    marker = " [*]" if finding.fixable and finding.safety is Safety.SAFE else ""
    if finding.fixable and finding.safety is Safety.UNSAFE:
        marker = " [unsafe fix]"
    return (
        f"{style(path, bold=True)}:{finding.line}:{finding.column}: "
        f"{style(finding.code, fg='red', bold=True)} {finding.message}{marker}"
    )


def error_line(result: FileResult, style: Style = plain) -> str:
    return f"{style(result.path, bold=True)}: {style('error', fg='red', bold=True)}: {result.error}"


def render_text(results: Sequence[FileResult], *, fixing: bool, style: Style = plain) -> str:
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


def render_diff(results: Sequence[FileResult]) -> bytes:
    """The patch of every changed file, in each file's own bytes."""
    return "".join(result.diff for result in results if result.diff).encode("latin-1")


# -- interactive review -------------------------------------------------------


def fix_hunk(path: str, finding: Finding, lines: Sequence[str], style: Style = plain, context: int = 2) -> str:
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
