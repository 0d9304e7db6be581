"""``--output-format json``: a list of findings, each with its fix."""

from __future__ import annotations

from typing import Sequence

from ..findings import Edit, FileResult, Finding
from .common import dumps


def _edit_dict(edit: Edit) -> dict[str, object]:
    return {
        "location": {"line": edit.start_line, "column": 1},
        "end_location": {"line": edit.end_line, "column": 1},
        "content": edit.content,
    }


def finding_dict(path: str, finding: Finding) -> dict[str, object]:
    """A finding as ruff's json gives one; its ``fix.edits`` are exactly its
    own (valid applied alone), and ``fix.joint`` the edits that complete it
    together with the fixes of the findings named there."""
    fix = None
    if finding.fixable:
        fix = {
            "applicability": (finding.fix.applicability if finding.fix else finding.safety).value,
            "message": finding.fix.message if finding.fix else None,
            "edits": [_edit_dict(edit) for edit in (finding.fix.edits if finding.fix else ())],
            "joint": [
                {
                    "with": [{"code": code, "line": line, "column": column} for code, line, column in joint.findings],
                    "edits": [_edit_dict(joint.edit)],
                }
                for joint in (finding.fix.joint if finding.fix else ())
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
    return dumps(items, indent=2) + "\n"
