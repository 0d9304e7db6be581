"""``--output-format rdjson`` and ``rdjsonl``: reviewdog diagnostics, with
the fix of each finding as a one-click suggestion."""

from __future__ import annotations

from typing import Sequence

from ..findings import Edit, FileResult, Finding, Safety
from ..rule import rule_for
from ..source.edits import describe_edit
from .common import (
    HOMEPAGE,
    TOOL_NAME,
    SourceOf,
    Span,
    body_and_ending,
    byte_column,
    dumps,
    edit_span,
    help_uri,
    joint_edits,
    lines_for,
    merge_edits,
    open_findings,
    split_fix_edits,
    touches,
)


def _rd_position(lines: Sequence[str], line: int, column: int) -> dict[str, int]:
    return {"line": line, "column": byte_column(lines, line, column)}


def _rd_range(lines: Sequence[str], span: Span) -> dict[str, object]:
    return {
        "start": _rd_position(lines, span.start_line, span.start_column),
        "end": _rd_position(lines, span.end_line, span.end_column),
    }


def _lines_named(findings: Sequence[Finding]) -> str:
    at = ", ".join(str(f.line) for f in findings)
    return f"line{'s' if len(findings) > 1 else ''} {at}"


def _others(keys: Sequence[tuple[str, int, int]]) -> str:
    return f"line{'s' if len(keys) > 1 else ''} " + ", ".join(f"{line} ({code})" for code, line, _ in keys)


def rdjson_diagnostics(results: Sequence[FileResult], source_of: SourceOf, *, fixing: bool = False) -> list[dict[str, object]]:
    """Reviewdog diagnostics: one per finding, with its fix at the finding as
    its suggestion, and one per distinct edit elsewhere (an import it adds,
    a line it leaves unused) or shared with other fixes (a joint edit).

    GitHub takes a suggestion only on lines of the pull request's diff, and the
    import block usually is not among them: so an import edit is never folded
    into the call-site suggestion, and the call-site message names it. Each
    suggestion is exactly what its finding needs: accepting any of them
    leaves a program that works.
    """
    diagnostics: list[dict[str, object]] = []
    for result in results:
        findings = open_findings(result, fixing)
        if not findings:
            continue
        lines = lines_for(result, source_of)
        elsewhere: dict[Edit, list[Finding]] = {}
        joints = joint_edits(findings)
        placed: list[tuple[dict[str, object], Edit]] = []
        at_finding: set[Edit] = set()
        for finding in findings:
            here, away = split_fix_edits(finding)
            for edit in away:
                elsewhere.setdefault(edit, []).append(finding)
            joint = finding.fix.joint if finding.fix else ()
            # A fix that only other fixes make possible is a joint edit on its own lines.
            joint_here = [j for j in joint if touches(j.edit, finding)] if not here else []
            message = finding.message
            if finding.fixable and finding.safety is Safety.UNSAFE:
                message += " (unsafe fix: review it)"
            for edit in away:
                if not edit.content.strip():
                    message += (
                        f"; after the fix, {describe_edit(edit, lines).removeprefix('remove ')} at line "
                        f"{edit.start_line} is unused: its removal is a separate suggestion there"
                    )
                else:
                    message += (
                        f"; the fix also needs to {describe_edit(edit, lines)} at line "
                        f"{edit.start_line}, a separate suggestion there"
                    )
            for item in joint:
                if item in joint_here:
                    message += f"; apply this fix together with the fix at {_others(item.findings)}"
                else:
                    message += (
                        f"; with the fix at {_others(item.findings)} applied too, "
                        f"{describe_edit(item.edit, lines)} at line {item.edit.start_line} (a separate suggestion there)"
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
                "code": {"value": finding.code, "url": help_uri(rule_for(finding.code), finding.code)},
            }
            diagnostics.append(diagnostic)
            if here:
                placed.append((diagnostic, merge_edits(here, lines)))
            elif joint_here:
                placed.append((diagnostic, joint_here[0].edit))
                at_finding.add(joint_here[0].edit)
        for edit, users in elsewhere.items():
            if not edit.content.strip():
                why = "unused after"
            elif "".join(lines[edit.start_line - 1 : edit.end_line - 1]).strip():
                why = "part of"
            else:
                why = "needed by"
            placed.append((_edit_diagnostic(result.path, edit, lines, users, f"{why} the fix at {_lines_named(users)}"), edit))
        for edit, owners in joints.items():
            if edit not in at_finding and edit not in elsewhere:
                reason = f"completes the fixes at {_lines_named(owners)} once all of them are applied"
                placed.append((_edit_diagnostic(result.path, edit, lines, owners, reason), edit))
        shown = {id(d) for d in diagnostics}
        for diagnostic, span in _placed_spans(placed, lines):
            diagnostic["suggestions"] = [{"range": _rd_range(lines, span), "text": span.text}]
            if id(diagnostic) not in shown:
                # An edit's own diagnostic stands where its suggestion does.
                diagnostic["location"] = {"path": result.path, "range": _rd_range(lines, span)}
                diagnostics.append(diagnostic)
    return diagnostics


def _edit_diagnostic(
    path: str, edit: Edit, lines: Sequence[str], users: Sequence[Finding], reason: str
) -> dict[str, object]:
    codes = sorted({f.code for f in users})
    return {
        "message": f"{describe_edit(edit, lines)}: {reason}",
        "location": {"path": path, "range": _rd_range(lines, edit_span(edit, lines))},
        "severity": "WARNING",
        "code": {"value": codes[0], "url": help_uri(rule_for(codes[0]), codes[0])},
    }


def _placed_spans(
    placed: list[tuple[dict[str, object], Edit]], lines: Sequence[str]
) -> list[tuple[dict[str, object], Span]]:
    """Each suggestion's span. A review tool takes one suggestion per line:
    an insertion on a line another suggestion rewrites (``import asyncio``
    before an ``import time`` another suggestion removes) is shown at the
    end of the line before it instead, the same text in the same place."""
    spans = [edit_span(edit, lines) for _, edit in placed]
    out = []
    for index, ((diagnostic, edit), span) in enumerate(zip(placed, spans)):
        others = {line for i, other in enumerate(spans) if i != index for line in range(other.start_line, other.end_line + 1)}
        previous = edit.start_line - 1
        if (
            edit.start_line == edit.end_line
            and edit.start_line in others
            and previous >= 1
            and previous not in others
            and previous <= len(lines)
        ):
            body, ending = body_and_ending(lines[previous - 1])
            if ending and edit.content.endswith(ending):
                text = ending + edit.content[: -len(ending)]
                span = Span(previous, len(body) + 1, previous, len(body) + 1, text)
                spans[index] = span
        out.append((diagnostic, span))
    return out


def render_rdjson(results: Sequence[FileResult], source_of: SourceOf, *, fixing: bool = False) -> str:
    document = {
        "source": {"name": TOOL_NAME, "url": HOMEPAGE},
        "severity": "WARNING",
        "diagnostics": rdjson_diagnostics(results, source_of, fixing=fixing),
    }
    return dumps(document, indent=2) + "\n"


def render_rdjsonl(results: Sequence[FileResult], source_of: SourceOf, *, fixing: bool = False) -> str:
    source = {"name": TOOL_NAME, "url": HOMEPAGE}
    return "".join(
        dumps({"source": source, **diagnostic}) + "\n"
        for diagnostic in rdjson_diagnostics(results, source_of, fixing=fixing)
    )
