"""``--output-format json``: a list of findings, each with its fix."""

from __future__ import annotations

from typing import Sequence

from ..findings import FileResult, Finding
from .common import dumps


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
    return dumps(items, indent=2) + "\n"
