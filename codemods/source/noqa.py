"""``# noqa`` and ``# asyncmend: skip-file`` comments."""

from __future__ import annotations

import io
import re
import tokenize
from typing import Iterable, Iterator

from .text import line_starts

SKIP_FILE = re.compile(rb"^[ \t]*#[ \t]*asyncmend:[ \t]*skip-file\b", re.MULTILINE)
_HAS_NOQA = re.compile(r"noqa", re.IGNORECASE)
_NOQA = re.compile(r"#[ \t]*noqa(?::[ \t]*(?P<codes>[A-Za-z]+[0-9]+(?:[ \t]*,[ \t]*[A-Za-z]+[0-9]+)*))?", re.IGNORECASE)

# -- suppression --------------------------------------------------------------


class Suppressions:
    """``# noqa`` comments of one file, by line."""

    def __init__(self, text: str) -> None:
        self._by_line: dict[int, frozenset[str] | None] = {}
        if not _HAS_NOQA.search(text):
            return
        for line, comment in _comments(text):
            match = _NOQA.search(comment)
            if match is None:
                continue
            codes = match.group("codes")
            self._by_line[line] = (
                None if codes is None else frozenset(c.strip().upper() for c in codes.split(","))
            )

    def __bool__(self) -> bool:
        """Whether the file has any ``# noqa`` comment at all."""
        return bool(self._by_line)

    def is_suppressed(self, line: int, codes: Iterable[str]) -> bool:
        if line not in self._by_line:
            return False
        named = self._by_line[line]
        return named is None or any(code in named for code in codes)


def _comments(text: str) -> Iterator[tuple[int, str]]:
    """(line, text) of every comment. Only comments count: ``# noqa`` inside
    a string literal or a docstring suppresses nothing."""
    # newline="" splits lines on \r, \n and \r\n alike, as LibCST counts them.
    readline = io.StringIO(text, newline="").readline
    try:
        for token in tokenize.generate_tokens(readline):
            if token.type == tokenize.COMMENT:
                yield token.start[0], token.string
    except (tokenize.TokenError, SyntaxError):
        # The text has parsed, so this is a tokenizer corner case: fall
        # back to reading every line, comment or not.
        starts = line_starts(text)
        for match in re.finditer(r"#[^\r\n]*", text):
            yield _line_of(starts, match.start()), match.group()


def skip_file_comment(text: str) -> bool:
    """Whether a real comment (not a line of a string) says skip-file; the
    byte search before it only rules files out cheaply."""
    return any(
        re.match(r"#[ \t]*asyncmend:[ \t]*skip-file\b", comment) is not None
        for _, comment in _comments(text)
    )


def _line_of(starts: list[int], offset: int) -> int:
    lo, hi = 0, len(starts)
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid
    return lo + 1
