"""Shared test helpers: run the CLI in a directory, apply machine-format edits."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from click.testing import CliRunner, Result

from asyncmend import cli
from asyncmend.codemods.source.text import split_lines


def run_cli(args: Sequence[str], cwd: Path, input: bytes | str | None = None) -> Result:
    """The CLI in ``cwd``, as a user would run it there."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli.main, list(args), input=input, catch_exceptions=False)
    finally:
        os.chdir(old)


CODECS = {"utf-8": "utf-8", "utf-16": "utf-16-le"}


def line_starts(text: str, unit: str) -> list[int]:
    """Offset of each line's start (and of the end of the text), counted in
    ``unit``: "utf-8" bytes or "utf-16" code units."""
    starts = [0]
    for line in split_lines(text):
        size = len(line.encode(CODECS[unit]))
        starts.append(starts[-1] + (size // 2 if unit == "utf-16" else size))
    return starts


def apply_replacements(
    text: str, replacements: Iterable[tuple[int, int, int, int, str]], *, unit: str
) -> str:
    """Apply (start_line, start_col, end_line, end_col, text) replacements,
    1-based, end exclusive; columns counted in ``unit`` ("utf-8" bytes or
    "utf-16" code units).

    Each distinct replacement is applied once; overlapping ones are an error.
    """
    codec = CODECS[unit]
    width = 2 if unit == "utf-16" else 1
    data: Any = text.encode(codec)
    starts = line_starts(text, unit)

    def offset(line: int, column: int) -> int:
        assert 1 <= line <= len(starts), (line, column)
        return starts[line - 1] + column - 1

    spans = sorted({(offset(a, b) * width, offset(c, d) * width, new) for a, b, c, d, new in replacements})
    for (_, end, _), (start, _, _) in zip(spans, spans[1:]):
        assert end <= start, "two suggestions overlap"
    for start, end, new in reversed(spans):
        data = data[:start] + new.encode(codec) + data[end:]
    return data.decode(codec)
