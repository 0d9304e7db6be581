"""``--output-format rdjson`` and ``rdjsonl``: reviewdog diagnostics, with
the fix of each finding as a one-click suggestion."""

from __future__ import annotations

from typing import Sequence

from ..findings import Edit, FileResult, Finding, Safety
from ..rule import rule_for
from .common import (
    HOMEPAGE,
    TOOL_NAME,
    SourceOf,
    Span,
    byte_column,
    describe_edit,
    dumps,
    edit_span,
    help_uri,
    lines_for,
    merge_edits,
    open_findings,
    split_fix_edits,
)


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
    diagnostics: list[dict[str, object]] = []
    for result in results:
        findings = open_findings(result, fixing)
        if not findings:
            continue
        lines = lines_for(result, source_of)
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
                "code": {"value": finding.code, "url": help_uri(rule_for(finding.code), finding.code)},
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
                    "code": {"value": codes[0], "url": help_uri(rule_for(codes[0]), codes[0])},
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
    return dumps(document, indent=2) + "\n"


def render_rdjsonl(results: Sequence[FileResult], source_of: SourceOf, *, fixing: bool = False) -> str:
    source = {"name": TOOL_NAME, "url": HOMEPAGE}
    return "".join(
        dumps({"source": source, **diagnostic}) + "\n"
        for diagnostic in rdjson_diagnostics(results, source_of, fixing=fixing)
    )
