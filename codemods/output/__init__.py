"""Renderers: results in, text out. Nothing here decides what a finding is.

One module per format (as ruff keeps one emitter per format); :func:`render`
picks one by name. The formats that point into the source (byte columns,
suggestions, fingerprints) read it through ``source_of(path)``.
"""

from __future__ import annotations

from typing import Sequence

from ..findings import FileResult
from .common import SourceOf, Style, plain
from .text import error_line, fix_hunk, render_diff, render_text

#: The names ``--output-format`` takes.
FORMATS = ("text", "json", "sarif", "github", "rdjson", "rdjsonl")
#: The formats that need each file's text.
SOURCE_FORMATS = frozenset({"sarif", "rdjson", "rdjsonl"})


def render(
    fmt: str,
    results: Sequence[FileResult],
    source_of: SourceOf,
    *,
    fixing: bool,
    style: Style = plain,
) -> str:
    """``results`` in the format ``fmt`` (one of :data:`FORMATS`)."""
    # Each machine format is imported when asked for: most runs print text.
    if fmt == "json":
        from .json_report import render_json

        return render_json(results, fixing=fixing)
    if fmt == "github":
        from .github import render_github

        return render_github(results, fixing=fixing)
    if fmt == "sarif":
        from .sarif import render_sarif

        return render_sarif(results, source_of, fixing=fixing)
    if fmt == "rdjson":
        from .rdjson import render_rdjson

        return render_rdjson(results, source_of, fixing=fixing)
    if fmt == "rdjsonl":
        from .rdjson import render_rdjsonl

        return render_rdjsonl(results, source_of, fixing=fixing)
    if fmt == "text":
        return render_text(results, fixing=fixing, style=style)
    raise ValueError(f"unknown output format {fmt!r}")


__all__ = [
    "FORMATS",
    "SOURCE_FORMATS",
    "SourceOf",
    "Style",
    "error_line",
    "fix_hunk",
    "plain",
    "render",
    "render_diff",
    "render_text",
]
