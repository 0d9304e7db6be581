"""``--output-format gitlab``: a GitLab code quality report.

A JSON array of issues, each with the fields GitLab reads: ``description``,
``check_name``, ``fingerprint`` (unique in the report: GitLab shows one
issue per fingerprint), ``severity`` and ``location`` (``path`` and
``lines.begin``; ``positions`` as the Code Climate spec gives them). A file
that could not be processed is an issue too, so that it is not taken for a
clean one.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

from ..findings import FileResult
from .common import dumps, fix_note, open_findings


def render_gitlab(results: Sequence[FileResult], *, fixing: bool = False) -> str:
    issues: list[dict[str, object]] = []
    seen: dict[str, int] = {}

    def fingerprint(*parts: object) -> str:
        # The rule, the path and the text of the finding, not its line: an
        # issue keeps its fingerprint when lines above it move. A repeat of
        # the same text counts on, so that each issue keeps its own.
        base = "\0".join(str(part) for part in parts)
        seen[base] = seen.get(base, 0) + 1
        return hashlib.sha256(f"{base}\0{seen[base]}".encode("utf-8", "surrogateescape")).hexdigest()[:32]

    for result in results:
        if result.error is not None:
            issues.append({
                "description": f"file not processed: {result.error}",
                "check_name": "asyncmend/error",
                "fingerprint": fingerprint("error", result.path, result.error),
                "severity": "major",
                "location": {"path": result.path, "lines": {"begin": 1}},
            })
        for finding in open_findings(result, fixing):
            issues.append({
                "description": f"{finding.code} {finding.message}{fix_note(finding)}",
                "check_name": finding.code,
                "fingerprint": fingerprint(finding.code, result.path, finding.message),
                "severity": "minor",
                "location": {
                    "path": result.path,
                    "lines": {"begin": finding.line, "end": finding.end_line},
                    "positions": {
                        "begin": {"line": finding.line, "column": finding.column},
                        "end": {"line": finding.end_line, "column": finding.end_column},
                    },
                },
            })
    return dumps(issues, indent=2) + "\n"
