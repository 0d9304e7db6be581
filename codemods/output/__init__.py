"""Renderers: results in, text out. Nothing here decides what a finding is.

One module per format (as ruff keeps one emitter per format); :func:`render`
picks one by name. The formats that point into the source (byte columns,
suggestions, fingerprints) read it through ``source_of(path)``.
"""

from __future__ import annotations

from typing import Sequence

from ..findings import FileResult
from .common import SourceOf, Style, plain
from .text import Hints, error_line, fix_hunk, render_diff, render_statistics, render_text

#: The names ``--output-format`` takes.
FORMATS = ("text", "json", "sarif", "github", "gitlab", "junit", "rdjson", "rdjsonl")
#: The formats that need each file's text.
SOURCE_FORMATS = frozenset({"sarif", "rdjson", "rdjsonl"})


def render(
    fmt: str,
    results: Sequence[FileResult],
    source_of: SourceOf,
    *,
    fixing: bool,
    style: Style = plain,
    hints: Hints = Hints(),
    quiet: bool = False,
    show_fixes: bool = False,
) -> str:
    """``results`` in the format ``fmt`` (one of :data:`FORMATS`); the text
    format's summary follows ``hints`` (none when ``quiet``), and
    ``show_fixes`` shows each fix (or, when fixing, what was fixed)."""
    # Each machine format is imported when asked for: most runs print text.
    if fmt == "json":
        from .json_report import render_json

        return render_json(results, fixing=fixing)
    if fmt == "github":
        from .github import render_github

        return render_github(results, fixing=fixing)
    if fmt == "gitlab":
        from .gitlab import render_gitlab

        return render_gitlab(results, fixing=fixing)
    if fmt == "junit":
        from .junit import render_junit

        return render_junit(results, fixing=fixing)
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
        return render_text(
            results, fixing=fixing, style=style, hints=hints, quiet=quiet, show_fixes=show_fixes, source_of=source_of
        )
    raise ValueError(f"unknown output format {fmt!r}")


__all__ = [
    "FORMATS",
    "Hints",
    "SOURCE_FORMATS",
    "SourceOf",
    "Style",
    "error_line",
    "fix_hunk",
    "plain",
    "render",
    "render_diff",
    "render_statistics",
    "render_text",
]
