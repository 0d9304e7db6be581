"""Files written for a newer Python than the one running asyncmend.

CPython's parser knows only its own version's grammar: on 3.11, ``type X =
int`` and ``def f[T](x: T)`` are syntax errors. LibCST's parser reads the
grammar of every version it supports, so such a file is analysed and fixed
through LibCST alone: no ``ast`` screens (every rule whose literals occur
runs), and a fix verified by LibCST's parser plus the compiler on each
top-level statement the fix changed that this interpreter can read (a
statement that holds the newer syntax itself is verified by LibCST's
parser only). Slower, and only for those files.

A file LibCST reads but that holds no syntax newer than the running
interpreter is not valid Python: it stays the parser's error.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections import Counter
from typing import TYPE_CHECKING

from ..source.text import SourceError, parse_error_message

if TYPE_CHECKING:
    import libcst as cst


def parse_newer(text: str, error: SourceError) -> cst.Module:
    """``text`` parsed by LibCST when it is Python newer than this
    interpreter reads; otherwise ``error`` is raised again, naming the
    Python the file needs when LibCST can tell."""
    message = str(error)
    if (
        any(word in message for word in _NOT_GRAMMAR)
        or _MAY_BE_NEWER.search(text) is None
        or _bracket_depth(text) > MAX_BRACKET_DEPTH
    ):
        # Not a question of grammar: and LibCST's native parser can overflow
        # the C stack (a crash, not an exception) on deeply nested input.
        raise error
    import libcst as cst

    try:
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError, MemoryError):
        raise error from None
    needs = needed_python(module)
    if needs is None or needs <= sys.version_info[:2]:
        raise error from None
    return module


# What a file of newer syntax holds: a type statement, type parameters, an
# f-string or t-string. A broken file without any is not tried with LibCST
# (a quarter of a second to import, for a file that is an error anyway).
_MAY_BE_NEWER = re.compile(
    r"^[ \t]*type[ \t]+\w|\b(?:def|class)[ \t]+\w+[ \t]*\[|\b[rRbB]?[fFtT][rRbB]?['\"]", re.MULTILINE
)
# Errors that no newer grammar explains.
_NOT_GRAMMAR = ("nested", "too many", "NUL byte", "cannot decode", "null bytes")
# Deeper than CPython's own parser goes (200 levels of brackets).
MAX_BRACKET_DEPTH = 200


def _bracket_depth(text: str) -> int:
    """The deepest nesting of brackets in ``text``, strings and comments
    counted too: an overestimate is only a file not tried with LibCST."""
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif char in ")]}":
            depth -= 1
    return deepest


def needed_python(node: cst.CSTNode) -> tuple[int, int] | None:
    """The newest Python whose syntax ``node`` uses, among those this
    interpreter may lack (``None``: nothing newer than 3.11)."""
    import libcst as cst

    found: list[tuple[int, int]] = []

    class Finder(cst.CSTVisitor):
        def visit_TypeAlias(self, node: cst.TypeAlias) -> None:
            found.append((3, 12))

        def visit_TypeParameters(self, node: cst.TypeParameters) -> None:
            found.append((3, 12))

        def visit_TemplatedString(self, node: cst.TemplatedString) -> None:
            found.append((3, 14))

        def visit_FormattedString(self, node: cst.FormattedString) -> None:
            # PEP 701: the f-string's own quote, a backslash or a comment
            # inside a replacement field, or a line break in one of a
            # single-quoted f-string.
            quote = node.start.lstrip("rRfFbBuU")
            for part in node.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    code = cst.Module([]).code_for_node(part.expression)
                    whole = cst.Module([]).code_for_node(part)
                    if quote[0] in code or "\\" in code or "#" in code or (len(quote) == 1 and "\n" in whole):
                        found.append((3, 12))

    # Not PEP 758's `except A, B:` (3.14): it reads as Python 2's
    # `except E, e:`, far likelier what such a file is.
    node.visit(Finder())
    return max(found) if found else None


def verify_newer(before: cst.Module, after: cst.Module, filename: str) -> None:
    """Raise :class:`SourceError` unless the fixed module ``after`` is valid:
    LibCST reads it back, and each top-level statement the fix changed
    compiles, where this interpreter can read it."""
    import libcst as cst

    code = after.code
    try:
        cst.parse_module(code)
    except cst.ParserSyntaxError as exc:
        raise SourceError(f"internal error: the fix would not parse ({exc.message}); file left unchanged") from None
    unchanged = Counter(before.code_for_node(statement) for statement in before.body)
    for statement in after.body:
        text = after.code_for_node(statement)
        if unchanged[text]:
            unchanged[text] -= 1
            continue
        if needed_python(statement) is not None:
            continue  # holds the newer syntax itself: LibCST's parse is the check
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compile(text, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            reason = parse_error_message(exc).removeprefix("syntax error: ")
            raise SourceError(f"internal error: the fix would not compile ({reason}); file left unchanged") from None


__all__ = ["needed_python", "parse_newer", "verify_newer"]
