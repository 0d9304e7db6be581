"""``--output-format sarif``: SARIF 2.1.0, as GitHub code scanning reads it."""

from __future__ import annotations

import inspect
import urllib.parse
from pathlib import Path
from typing import Sequence

from ..findings import Edit, FileResult, Finding
from ..rule import Rule, rules
from ..source.edits import describe_edit
from .common import (
    HOMEPAGE,
    TOOL_NAME,
    SourceOf,
    Span,
    dumps,
    edit_span,
    fix_note,
    help_uri,
    joint_edits,
    line_hash,
    lines_for,
    open_findings,
    utf16_column,
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


def _sarif_region(lines: Sequence[str], span: Span) -> dict[str, int]:
    return {
        "startLine": span.start_line,
        "startColumn": utf16_column(lines, span.start_line, span.start_column),
        "endLine": span.end_line,
        "endColumn": utf16_column(lines, span.end_line, span.end_column),
    }


def _rule_descriptor(rule: type[Rule], doc: str) -> dict[str, object]:
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
    block)."""
    return {rule.CODE: inspect.cleandoc(rule.__doc__ or "") for rule in rules()}


def _fixes(
    finding: Finding, location: dict[str, str], lines: Sequence[str], joint_owners: dict[Edit, list[Finding]]
) -> list[dict[str, object]]:
    """The finding's own fix; and, on the last of the findings a joint edit
    completes, a second one: the same with the joint edits, for when the
    fixes of the others are applied too."""
    assert finding.fix is not None

    def change(edits: Sequence[Edit]) -> dict[str, object]:
        replacements = [
            {"deletedRegion": _sarif_region(lines, span), "insertedContent": {"text": span.text}}
            for span in (edit_span(edit, lines) for edit in sorted(edits, key=lambda e: (e.start_line, e.end_line)))
        ]
        return {"artifactLocation": location, "replacements": replacements}

    description = f"{finding.fix.applicability.value} fix for {finding.code}"
    if finding.fix.message:
        description += f": {finding.fix.message}"
    fixes: list[dict[str, object]] = []
    own = list(finding.fix.edits)
    if own:
        fixes.append({"description": {"text": description}, "artifactChanges": [change(own)]})
    completing = [
        joint for joint in finding.fix.joint if max(joint_owners.get(joint.edit, [finding]), key=Finding.sort_key) is finding
    ]
    if completing:
        others = sorted({key for joint in completing for key in joint.findings}, key=lambda k: (k[1], k[2]))
        at = ", ".join(f"{line} ({code})" for code, line, _ in others)
        fixes.append({
            "description": {"text": f"{description}, with the fixes at lines {at} applied too: "
                            + "; ".join(describe_edit(joint.edit, lines) for joint in completing)},
            "artifactChanges": [change(own + [joint.edit for joint in completing])],
        })
    return fixes


def render_sarif(results: Sequence[FileResult], source_of: SourceOf, *, fixing: bool = False) -> str:
    from .. import __version__

    infos = rules()
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
        findings = open_findings(result, fixing)
        if not findings:
            continue
        lines = lines_for(result, source_of)
        joint_owners = joint_edits(findings)
        seen: dict[str, int] = {}
        for finding in findings:
            line_text = lines[finding.line - 1] if finding.line <= len(lines) else ""
            key = line_hash(finding.code, line_text)
            seen[key] = seen.get(key, 0) + 1
            item: dict[str, object] = {
                "ruleId": finding.code,
                "level": "warning",
                "message": {"text": finding.message + fix_note(finding)},
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
            if finding.fix is not None and (finding.fix.edits or finding.fix.joint):
                item["fixes"] = _fixes(finding, location, lines, joint_owners)
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
    return dumps(document, indent=2) + "\n"
