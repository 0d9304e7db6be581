"""The text report, its summary line, the diff of ``fix --diff`` and the
hunks of ``fix --interactive``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..findings import FileResult, Finding, Safety
from ..source.text import split_lines
from .common import Style, plain


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


def fix_hunk(
    path: str,
    finding: Finding,
    lines: Sequence[str],
    style: Style = plain,
    context: int = 2,
    together: Sequence[Finding] = (),
) -> str:
    """One finding's own fix as a diff for review at a terminal: exactly its
    edits (the call site, the import it adds, what it leaves unused), in
    line order. ``together``: other findings that share this fix (their
    fixes rewrite the same lines), answered with it."""
    import difflib

    from ..source.edits import apply_edits, describe_edit

    safety = "unsafe fix" if (finding.fix.applicability if finding.fix else finding.safety) is Safety.UNSAFE else "fix"
    out = [
        f"{style(path, bold=True)}:{finding.line}:{finding.column}: "
        f"{style(finding.code, fg='red', bold=True)} {finding.message} ({safety})"
    ]
    for other in together:
        out.append(f"  with {other.code} at line {other.line}: {other.message} (one fix: they rewrite the same lines)")
    edits = finding.fix.edits if finding.fix else ()
    after, _ = apply_edits(lines, edits)
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
    if not edits:
        out.append("  (this fix is possible only together with others; see below)")
    for joint in finding.fix.joint if finding.fix else ():
        at = ", ".join(f"{code} at line {line}" for code, line, _ in joint.findings)
        out.append(f"  with the fix of {at} applied too, also: {describe_edit(joint.edit, lines)} at line {joint.edit.start_line}")
    return "\n".join(out) + "\n"
