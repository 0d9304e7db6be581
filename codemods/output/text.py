"""The text report, its summary line, the diff of ``fix --diff`` and the
hunks of ``fix --interactive``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..findings import FileResult, Finding, Safety
from ..source.text import split_lines
from .common import SourceOf, Style, count, plain


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



@dataclass(frozen=True)
class Hints:
    """What the run's fixes include, so that each hint names the ``fix``
    that would do what it says."""

    # The run applies (or previews as applied) unsafe fixes too.
    unsafe_fixes: bool = False
    # ... because ``--unsafe-fixes`` was on the command line (not the config).
    from_flag: bool = False

    def fix_command(self) -> str:
        return "asyncmend fix --unsafe-fixes" if self.unsafe_fixes and self.from_flag else "asyncmend fix"


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


def render_text(
    results: Sequence[FileResult],
    *,
    fixing: bool,
    style: Style = plain,
    hints: Hints = Hints(),
    quiet: bool = False,
    show_fixes: bool = False,
    source_of: SourceOf | None = None,
) -> str:
    """One line per finding left to act on, then a summary line (none when
    ``quiet``). ``show_fixes``: when checking, each finding's fix as a diff
    under it; when fixing, what was fixed, per file and rule."""
    lines = []
    for result in results:
        source = split_lines(source_of(result.path) or "") if show_fixes and not fixing and source_of else []
        for finding in result.findings:
            if fixing and finding.fixed:
                continue
            lines.append(finding_line(result.path, finding, style))
            if source and finding.fix is not None:
                lines.extend("    " + line for line in fix_diff(finding, source, style))
    if fixing and show_fixes:
        lines.extend(fixed_enumeration(results))
    if not quiet:
        lines.append(summary_line(Summary.of(results, fixing=fixing), fixing=fixing, hints=hints))
    return "".join(line + "\n" for line in lines)


def fixed_enumeration(results: Sequence[FileResult]) -> list[str]:
    """ruff's ``--show-fixes``: the fixed findings, per file and rule."""
    out = []
    for result in results:
        counts: dict[tuple[str, str], int] = {}
        for finding in result.findings:
            if finding.fixed:
                counts[(finding.code, finding.slug)] = counts.get((finding.code, finding.slug), 0) + 1
        if counts:
            out.append(f"- {result.path}:")
            out.extend(f"    {n} × {code} ({slug})" for (code, slug), n in sorted(counts.items()))
    total = sum(finding.fixed for result in results for finding in result.findings)
    return ([f"Fixed {count(total, 'finding')}:"] + out) if out else []


def fix_diff(finding: Finding, lines: Sequence[str], style: Style = plain, context: int = 1) -> list[str]:
    """A finding's own fix as unified diff lines (no file header)."""
    import difflib

    from ..source.edits import apply_edits

    after, _ = apply_edits(lines, finding.fix.edits if finding.fix else ())
    out = []
    for line in list(difflib.unified_diff(list(lines), after, n=context))[2:]:
        line = line.rstrip("\r\n")
        colour = "cyan" if line.startswith("@@") else "green" if line.startswith("+") else "red" if line.startswith("-") else None
        out.append(style(line, fg=colour) if colour else line)
    return out


def summary_line(summary: Summary, *, fixing: bool, hints: Hints = Hints()) -> str:
    parts = []
    if fixing:
        left = summary.findings - summary.fixed
        parts.append(
            f"Fixed {count(summary.fixed, 'finding')} in {count(summary.changed, 'file')}"
            f"; {left} left."
        )
    elif summary.findings:
        parts.append(f"Found {count(summary.findings, 'finding')}.")
    else:
        parts.append("No findings.")
    if hints.unsafe_fixes and not fixing:
        fixable = summary.fixable_safe + summary.fixable_unsafe
        if fixable:
            parts.append(f"{fixable} fixable with `{hints.fix_command()}`.")
    else:
        if summary.fixable_safe:
            parts.append(f"{summary.fixable_safe} fixable with `asyncmend fix`.")
        if summary.fixable_unsafe and not hints.unsafe_fixes:
            where = "`--unsafe-fixes`" if fixing else "`asyncmend fix --unsafe-fixes`"
            parts.append(f"{summary.fixable_unsafe} more fixable with {where}.")
    if summary.errors:
        parts.append(f"{count(summary.errors, 'file')} could not be processed.")
    return " ".join(parts)


def render_statistics(results: Sequence[FileResult], *, fixing: bool, fmt: str = "text") -> str:
    """ruff's ``--statistics``: how many findings of each rule (those left,
    when fixing), most first; ``[*]`` marks a rule whose findings have fixes."""
    counts: dict[str, list[Finding]] = {}
    for result in results:
        for finding in result.findings:
            if not (fixing and finding.fixed):
                counts.setdefault(finding.code, []).append(finding)
    rows = sorted(counts.items(), key=lambda item: (-len(item[1]), item[0]))
    if fmt == "json":
        from .common import dumps

        return dumps([
            {"code": code, "name": found[0].slug, "count": len(found), "fixable": any(f.fixable for f in found)}
            for code, found in rows
        ], indent=2) + "\n"
    width = max((len(str(len(found))) for _, found in rows), default=1)
    return "".join(
        f"{len(found):>{width}}\t{code}\t{'[*]' if any(f.fixable for f in found) else '[ ]'} {found[0].slug}\n"
        for code, found in rows
    )




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
    from ..source.edits import describe_edit

    safety = "unsafe fix" if (finding.fix.applicability if finding.fix else finding.safety) is Safety.UNSAFE else "fix"
    out = [
        f"{style(path, bold=True)}:{finding.line}:{finding.column}: "
        f"{style(finding.code, fg='red', bold=True)} {finding.message} ({safety})"
    ]
    for other in together:
        why = "made possible by this fix" if other.after_fix else "one fix: they rewrite the same lines"
        out.append(f"  with {other.code} at line {other.line}: {other.message} ({why})")
    edits = finding.fix.edits if finding.fix else ()
    out.extend(fix_diff(finding, lines, style, context))
    if not edits:
        out.append("  (this fix is possible only together with others; see below)")
    for joint in finding.fix.joint if finding.fix else ():
        at = ", ".join(f"{code} at line {line}" for code, line, _ in joint.findings)
        out.append(f"  with the fix of {at} applied too, also: {describe_edit(joint.edit, lines)} at line {joint.edit.start_line}")
    return "\n".join(out) + "\n"
