"""``--output-format github``: GitHub Actions workflow commands."""

from __future__ import annotations

from typing import Sequence

from ..findings import FileResult
from .common import fix_note, open_findings

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
        for finding in open_findings(result, fixing):
            props = {
                "file": result.path,
                "line": str(finding.line),
                "col": str(finding.column),
                "endLine": str(finding.end_line),
                "endColumn": str(finding.end_column),
                "title": finding.code,
            }
            prop_text = ",".join(f"{key}={_escape_property(value)}" for key, value in props.items())
            out.append(f"::warning {prop_text}::{_escape_data(finding.message + fix_note(finding))}")
    return "".join(line + "\n" for line in out)
