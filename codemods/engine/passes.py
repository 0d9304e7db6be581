"""Files in, results out: discovery, decoding, prefilter, parse, rules, verify, write.

The engine never prints and never exits: every outcome, including bad input,
is data in a :class:`FileResult`.
"""

from __future__ import annotations

import ast
import codecs
import contextlib
import io
import os
import re
import signal
import stat
import symtable
import sys
import tempfile
import threading
import time
import tokenize
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence, TypeVar, Union

from codemods._findings import Edit, Finding, Fix
from codemods._cache import Cache, CachedResult, run_fingerprint
from codemods._config import Settings
from codemods._discovery import Target, discover
from codemods._rulescreens import SCREENS, Screen
from codemods._screen import Facts

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from codemods._base import Rule

# What the engine screens a file with: a rule class, or the screening of one
# of asyncmend's own rules, which stands for that rule until a file passes
# its screen (the rule module, and LibCST, are imported only then).
Screened = Union["type[Rule]", type[Screen]]

GENERATED_MARKER = b"@generated"
_T = TypeVar("_T")
_SKIP_FILE = re.compile(rb"^[ \t]*#[ \t]*asyncmend:[ \t]*skip-file\b", re.MULTILINE)
_HAS_NOQA = re.compile(r"noqa", re.IGNORECASE)
_NOQA = re.compile(r"#[ \t]*noqa(?::[ \t]*(?P<codes>[A-Za-z]+[0-9]+(?:[ \t]*,[ \t]*[A-Za-z]+[0-9]+)*))?", re.IGNORECASE)


class SourceError(Exception):
    """The file cannot be processed as Python source; the message says why."""


@dataclass(frozen=True)
class Options:
    """How a run treats each file (picklable, sent to worker processes)."""

    settings: Settings = field(default_factory=Settings)
    write: bool = False  # write fixed files in place
    diff: bool = False  # compute a unified diff of each change
    edits: bool = False  # attach line edits to each fixed finding
    # Where check results are cached (see codemods._cache); None: no cache.
    # A run that writes or diffs never uses it.
    cache_dir: str | None = None


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None
    changed: bool = False
    written: bool = False
    # The patch, its bytes held as latin-1 characters (see byte_diff).
    diff: str = ""
    output: bytes | None = None  # the fixed bytes, for stdin mode


@dataclass
class SourceResult:
    """What the rules make of one source text."""

    findings: list[Finding]
    source: bytes
    output: bytes

    @property
    def changed(self) -> bool:
        return self.output != self.source


# -- decoding -----------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """Decode as the interpreter does (BOM, PEP 263 cookie); return (text, encoding)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceError(f"cannot decode: {_detect_failure(data, str(exc.msg))}") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(
            f"cannot decode as {encoding}: {exc.reason} (byte 0x{data[exc.start]:02x} on line {line})"
        ) from None
    except LookupError as exc:
        raise SourceError(f"cannot decode as {encoding}: {exc}") from None
    if encoding == "utf-8-sig":
        # The BOM is re-added by encoding with utf-8-sig.
        text = text.removeprefix("\ufeff")
    return text, encoding


def _detect_failure(data: bytes, message: str) -> str:
    """Say in the user's terms why the encoding could not be determined
    (tokenize's own messages name neither the byte nor the cause)."""
    if message.startswith("encoding problem") and data.startswith(codecs.BOM_UTF8):
        return "a UTF-8 byte order mark and a coding cookie for another encoding"
    if message == "invalid or missing encoding declaration":
        # Only the first two lines are examined before a cookie may appear.
        head = b"\n".join(data.split(b"\n", 2)[:2])
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = head.count(b"\n", 0, exc.start) + 1
            return (
                f"not UTF-8 (byte 0x{head[exc.start]:02x} on line {line}) "
                "and no coding cookie names another encoding"
            )
    return message


def encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding)


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


def _skip_file_comment(text: str) -> bool:
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


# -- running rules ------------------------------------------------------------


def fix_source(
    source: bytes | str,
    settings: Settings | None = None,
    *,
    rules: Sequence[Screened] | None = None,
    filename: str = "<string>",
) -> SourceResult:
    """Run the rules on one source text and return its findings and fixed text.

    Raises :class:`SourceError` for input that is not valid Python, and for a
    fix whose output would not compile (nothing is then to be written).
    """
    settings = settings or Settings()
    if isinstance(source, str):
        try:
            data = source.encode("utf-8")
        except UnicodeEncodeError as exc:
            # A lone surrogate (from a bad decode upstream) is no source text.
            raise SourceError(f"cannot encode as utf-8: {exc.reason}") from None
    else:
        data = source
    text, encoding = decode(data)
    selected = [rule for rule in (rules if rules is not None else OWN_RULES) if settings.runs(rule.CODE)]
    # Raises SourceError with the parser's message for invalid input.
    return _run_on_text(data, text, encoding, selected, settings, filename, validate=True)


def check_syntax(text: str, filename: str) -> None:
    """Raise :class:`SourceError` unless ``text`` is valid Python.

    Every file is checked, so that no unparseable file goes unreported, but
    most files never need a tree: ``symtable`` runs the same parser as
    ``ast.parse`` without building Python objects for the tree, in about a
    third of the time (measured on the standard library: 3.5 s against
    9.8 s). It also rejects what only the compiler's symbol pass catches (a
    misplaced ``from __future__`` import), which is invalid Python too.
    """
    if "\0" in text:
        raise SourceError("source contains a NUL byte")
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences in user code are not our business.
            warnings.simplefilter("ignore")
            symtable.symtable(text, filename, "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise SourceError(_parse_error_message(exc)) from None


def _parse_error_message(exc: Exception) -> str:
    """One line for why Python's parser rejected a source."""
    if isinstance(exc, SyntaxError):
        where = f" (line {exc.lineno}, column {exc.offset})" if exc.lineno else ""
        return f"syntax error: {exc.msg}{where}"
    if isinstance(exc, (RecursionError, MemoryError)):
        # CPython's parser gives up on very deep nesting with one of these,
        # MemoryError often without a message.
        return "too deeply nested for the Python parser"
    return f"cannot parse: {exc}"


def _parse_ast(text: str, filename: str) -> ast.Module:
    if "\0" in text:
        raise SourceError("source contains a NUL byte")
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences in user code are not our business.
            warnings.simplefilter("ignore")
            return ast.parse(text, filename=filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise SourceError(_parse_error_message(exc)) from None


# Deeper than this, the Python-level analysis hits the recursion limit anyway.
MAX_NESTING = 1000


def _nesting_depth(tree: ast.AST) -> int:
    """The depth of the tree LibCST will build, estimated on the stdlib ``ast``.

    ``a and b and c`` is one flat ``BoolOp`` in ``ast`` but a chain of nested
    binary operations in LibCST, so each extra operand counts as a level.
    """
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    pop, push, node_class = stack.pop, stack.append, ast.AST
    while stack:
        node, depth = pop()
        if type(node) is ast.BoolOp:
            depth += len(node.values) - 1
        if depth > deepest:
            deepest = depth
        depth += 1
        # ast.iter_child_nodes, without its generators (a tenth of a check
        # of a file that reaches LibCST).
        for name in node._fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, node_class):
                        push((item, depth))
            elif isinstance(value, node_class):
                push((value, depth))
    return deepest


_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\t\n\r"
_ASCII_COMPATIBLE: dict[str, bool] = {}
# Codecs that turn escapes of plain bytes into ASCII letters: ``+AHQ-`` and
# ``\u0074`` both read as "t".
_ESCAPING_CODECS = frozenset({"utf-7", "unicode-escape", "raw-unicode-escape"})


def _ascii_compatible(encoding: str) -> bool:
    """Whether every ASCII character of text in ``encoding`` stands in its
    bytes as itself, so that a search of the bytes for an ASCII word finds
    every place the text holds it (not so EBCDIC, utf-7, unicode_escape)."""
    known = _ASCII_COMPATIBLE.get(encoding)
    if known is None:
        try:
            name = codecs.lookup(encoding).name.replace("_", "-")
            known = name not in _ESCAPING_CODECS and _PRINTABLE_ASCII.decode(encoding) == _PRINTABLE_ASCII.decode("ascii")
        except (UnicodeError, LookupError):
            known = False
        _ASCII_COMPATIBLE[encoding] = known
    return known


#: asyncmend's own rules, by their screenings, in the order of their codes.
OWN_RULES: tuple[Screened, ...] = tuple(SCREENS[code] for code in sorted(SCREENS))


def _rule_classes(candidates: Sequence[Screened]) -> list[type[Rule]]:
    """The rule classes of the screened ``candidates``."""
    from codemods import RULES_BY_CODE

    return [
        RULES_BY_CODE[candidate.CODE] if issubclass(candidate, Screen) else candidate  # type: ignore[misc]
        for candidate in candidates
    ]


def _prefiltered(data: bytes, rules: Sequence[Screened]) -> list[Screened]:
    """The rules whose literal prefilter occurs in ``data`` (a C-speed scan)."""
    return [
        rule
        for rule in rules
        if rule.prefilter(data)
    ]


# A fix can make another possible: AM302's ``await`` turns dropped calls into
# a run AM201 can gather; AM101's ``import asyncio`` lets AM201 and AM202 use
# asyncio. As ruff does, the rules run again on the fixed text until nothing
# changes, so that one run gives what a second run would.
MAX_FIX_PASSES = 4


def _run_on_text(
    data: bytes,
    text: str,
    encoding: str,
    rules: Sequence[Screened],
    settings: Settings,
    filename: str,
    tree: ast.Module | None = None,
    *,
    validate: bool = False,
) -> SourceResult:
    """The rules run on ``text`` until nothing changes. ``validate``: the
    text is not yet known to be valid Python (see :func:`_one_pass`)."""
    findings, current = _one_pass(
        _scanned(data, text, encoding), text, rules, settings, filename, tree, validate=validate
    )
    if current is None:
        return SourceResult(findings, data, data)
    for _ in range(MAX_FIX_PASSES - 1):
        pass_settings = settings
        if settings.declined:
            # A fix declined in review stays declined where the text moved.
            moved = {old: new for new, old in _unchanged_lines(text, current).items()}
            pass_settings = replace(settings, declined=frozenset(
                (code, moved[line], column) for code, line, column in settings.declined if line in moved
            ))
        more, following = _one_pass(_scanned(None, current, encoding), current, rules, pass_settings, filename)
        findings = _merge_findings(findings, more, text, current)
        if following is None:
            break
        current = following
    if current == text:
        return SourceResult(findings, data, data)
    return SourceResult(findings, data, encode(current, encoding))


def _scanned(data: bytes | None, text: str, encoding: str) -> bytes:
    """The bytes the prefilters read for ``text``: the file's own (``data``,
    or ``text`` encoded again) where its encoding spells ASCII as ASCII,
    otherwise (utf-7, unicode_escape) the text's in UTF-8."""
    if not _ascii_compatible(encoding):
        return text.encode("utf-8", "surrogatepass")
    return data if data is not None else encode(text, encoding)


def _one_pass(
    data: bytes,
    text: str,
    rules: Sequence[Screened],
    settings: Settings,
    filename: str,
    tree: ast.Module | None = None,
    *,
    validate: bool = False,
) -> tuple[list[Finding], str | None]:
    """The findings of one run of the rules, and the fixed text (``None``
    when nothing changed).

    ``validate`` raises :class:`SourceError` unless ``text`` is valid Python.
    A file no prefilter passes is checked with ``symtable`` alone; one that
    needs its ``ast`` anyway is checked by building it, and goes through
    ``symtable`` too only if the tree holds something the symbol pass may
    reject (``Facts.symbol_pass_needed``): one parse instead of two.
    """
    # Most files hold none of the rules' literals: they need no tree at all.
    candidates = _prefiltered(data, rules)
    if not candidates:
        if validate:
            check_syntax(text, filename)
        return [], None
    if tree is None:
        tree = _parse_ast(text, filename)
    facts = Facts.of(tree)
    if validate and facts.symbol_pass_needed:
        check_syntax(text, filename)
    candidates = [rule for rule in candidates if rule.screen(facts, settings)]
    if not candidates:
        return [], None
    depth = _nesting_depth(tree)
    if depth > MAX_NESTING:
        # LibCST's native parser can overflow the C stack (a segfault, not an
        # exception) on such input; the analysis could not recurse this deep anyway.
        raise SourceError(f"too deeply nested to analyse (depth {depth}, more than {MAX_NESTING})")
    # LibCST (a quarter of a second to import) and the rules only for a
    # file with a candidate.
    import libcst as cst

    from codemods._transform import run_rules

    candidates = _rule_classes(candidates)

    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise SourceError(f"syntax error (LibCST): {exc.message} (line {exc.raw_line}, column {exc.raw_column + 1})") from None
    except RecursionError:
        raise SourceError("too deeply nested for LibCST to parse") from None
    try:
        new_module, findings = run_rules(
            module, candidates, settings, filename=filename, suppressions=Suppressions(text), facts=facts,
            source=text,
        )
    except RecursionError:
        raise SourceError("too deeply nested to analyse") from None
    if not any(finding.fixed for finding in findings):
        # Rules rewrite only what they report as fixed (Rule.report), so the
        # tree is unchanged: skip generating its code again.
        return findings, None
    new_text = new_module.code
    if new_text == text:
        return findings, None
    try:
        with warnings.catch_warnings():
            # The user's own invalid escapes and such were there before the fix.
            warnings.simplefilter("ignore")
            compile(new_text, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        # The parser accepts some invalid Python that only the compiler
        # rejects ('return' or 'await' outside a function, 'break' outside a
        # loop). Such a file never compiled: report the input, not the fix.
        # (Compiled only here, on the way to an error, so valid files pay nothing.)
        _compile_input(text, filename)
        codes = ", ".join(sorted({f.code for f in findings if f.fixed}))
        # The message without the file's name: results are cached by the
        # file's bytes, and the same bytes may stand under another name.
        reason = _parse_error_message(exc).removeprefix("syntax error: ")
        raise SourceError(
            f"internal error: the fix for {codes} would not compile ({reason}); file left unchanged"
        ) from None
    return findings, new_text


def _compile_input(text: str, filename: str) -> None:
    """Raise :class:`SourceError` with the compiler's message unless ``text`` compiles."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise SourceError(_parse_error_message(exc)) from None


def _merge_findings(
    findings: list[Finding], later: list[Finding], original: str, current: str
) -> list[Finding]:
    """``findings`` (on ``original``) updated with those of a later pass (on
    ``current``), placed back on the original's lines.

    A later finding on a line the earlier fixes left alone replaces the
    earlier one of its rule at that place (a report-only AM201 that became
    fixable once AM101 imported asyncio) or is added. A fixed one on a line
    that an earlier fix wrote has no place of its own in the original: its
    change shows in the hunk of that earlier fix. One left unfixed there
    (the await AM302 added completed a run AM201 cannot gather) is reported
    at the line the earlier fix rewrote, so that the run tells of it.
    """
    unchanged, written = _line_correspondence(original, current)
    merged = {(f.code, f.line, f.column): f for f in findings}
    for finding in later:
        line = unchanged.get(finding.line)
        if line is None:
            if finding.fixed or finding.line not in written:
                continue
            line = written[finding.line]
        end_line = max(line, unchanged.get(finding.end_line, written.get(finding.end_line, line)))
        merged[(finding.code, line, finding.column)] = replace(finding, line=line, end_line=end_line)
    return sorted(merged.values(), key=Finding.sort_key)


def _unchanged_lines(original: str, current: str) -> dict[int, int]:
    """1-based line numbers of ``current`` -> those of ``original``, for the
    lines that are the same in both."""
    return _line_correspondence(original, current)[0]


def _line_correspondence(original: str, current: str) -> tuple[dict[int, int], dict[int, int]]:
    """Lines of ``current`` -> lines of ``original`` (1-based): those that are
    the same in both, and those a change wrote, each to the line it stands
    for (the same place in its hunk, or the hunk's last original line)."""
    old_lines = split_lines(original)
    unchanged: dict[int, int] = {}
    written: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in line_opcodes(old_lines, split_lines(current)):
        for offset in range(j2 - j1):
            if tag == "equal":
                unchanged[j1 + offset + 1] = i1 + offset + 1
            else:
                written[j1 + offset + 1] = min(i1 + offset, max(i2 - 1, i1), max(len(old_lines) - 1, 0)) + 1
    return unchanged, written


# -- edits and diffs ----------------------------------------------------------

Opcode = tuple[str, int, int, int, int]


def line_opcodes(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    """Opcodes as ``difflib.SequenceMatcher.get_opcodes`` gives them, that
    turn the lines ``a`` into the lines ``b``: for two versions of a file,
    in about linear time.

    SequenceMatcher without its junk heuristic takes quadratic time on a
    file of many equal lines (blank lines, ``pass``): three minutes on a
    100,000-line file. A fix changes few lines, so the common prefix and
    suffix are taken first, then the lines that occur once in each version
    anchor the rest (the longest increasing run of such pairs, as patience
    diff does), and SequenceMatcher aligns only the short stretches between
    anchors. The alignment may differ from SequenceMatcher's in a corner,
    never in kind: every ``equal`` opcode is a true match and the others
    cover the rest, so edits made from them rebuild ``b`` exactly.
    """
    blocks = _matching_blocks(a, b)
    opcodes: list[Opcode] = []
    i = j = 0
    for bi, bj, size in blocks:
        if i < bi and j < bj:
            opcodes.append(("replace", i, bi, j, bj))
        elif i < bi:
            opcodes.append(("delete", i, bi, j, j))
        elif j < bj:
            opcodes.append(("insert", i, i, j, bj))
        if size:
            opcodes.append(("equal", bi, bi + size, bj, bj + size))
        i, j = bi + size, bj + size
    return opcodes


def _matching_blocks(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int, int]]:
    """Matching blocks ``(i, j, size)`` in increasing order, ending with
    ``(len(a), len(b), 0)``, adjacent blocks merged."""
    prefix = 0
    limit = min(len(a), len(b))
    while prefix < limit and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and a[len(a) - 1 - suffix] == b[len(b) - 1 - suffix]:
        suffix += 1
    raw: list[tuple[int, int, int]] = [(0, 0, prefix)] if prefix else []
    a_end, b_end = len(a) - suffix, len(b) - suffix
    # Lines that occur once in each middle part, as (i, j) pairs.
    seen_a: dict[str, int] = {}
    for i in range(prefix, a_end):
        seen_a[a[i]] = -1 if a[i] in seen_a else i
    seen_b: dict[str, int] = {}
    for j in range(prefix, b_end):
        seen_b[b[j]] = -1 if b[j] in seen_b else j
    pairs = sorted(
        (i, seen_b[line]) for line, i in seen_a.items() if i >= 0 and seen_b.get(line, -1) >= 0
    )
    anchors = _longest_increasing(pairs)
    i, j = prefix, prefix
    for ai, aj in [*anchors, (a_end, b_end)]:
        if i < ai and j < aj:
            # A short stretch between anchors: SequenceMatcher is quick here.
            import difflib

            matcher = difflib.SequenceMatcher(None, a[i:ai], b[j:aj], autojunk=False)
            raw.extend((i + x, j + y, n) for x, y, n in matcher.get_matching_blocks() if n)
        if (ai, aj) != (a_end, b_end):
            raw.append((ai, aj, 1))
        i, j = ai + 1, aj + 1
    if suffix:
        raw.append((a_end, b_end, suffix))
    merged: list[tuple[int, int, int]] = []
    for block in raw:
        if merged and merged[-1][0] + merged[-1][2] == block[0] and merged[-1][1] + merged[-1][2] == block[1]:
            merged[-1] = (merged[-1][0], merged[-1][1], merged[-1][2] + block[2])
        else:
            merged.append(block)
    merged.append((len(a), len(b), 0))
    return merged


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest run of ``pairs`` (sorted by first item) whose second
    items increase too."""
    tails: list[int] = []  # index into pairs of the last pair of each length
    previous: list[int] = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if pairs[tails[mid]][1] < j:
                lo = mid + 1
            else:
                hi = mid
        if lo:
            previous[index] = tails[lo - 1]
        if lo == len(tails):
            tails.append(index)
        else:
            tails[lo] = index
    run: list[tuple[int, int]] = []
    index = tails[-1] if tails else -1
    while index != -1:
        run.append(pairs[index])
        index = previous[index]
    return run[::-1]


_LINE_END = re.compile(r"\r\n|\r|\n")


def line_starts(text: str) -> list[int]:
    """The offset in ``text`` at which each line starts (lines end at CR, LF
    and CRLF, as in :func:`split_lines`)."""
    return [0, *(match.end() for match in _LINE_END.finditer(text))]


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split only at CR, LF and CRLF.

    ``str.splitlines`` also splits at form feeds, U+2028 and other separators:
    line numbers would then differ from the findings' and every editor's, and
    a diff would hold "lines" that git does not see as lines.
    """
    lines: list[str] = []
    start = 0
    for match in _LINE_END.finditer(text):
        lines.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


def attach_edits(findings: list[Finding], before: str, after: str) -> list[Finding]:
    """Give each fixed finding the line edits that make its fix.

    Each changed hunk goes to the fixed findings whose lines it touches (split
    line by line between them when it keeps the line count); hunks that
    touch no finding (an added or removed import) go with every
    fixed finding of the file, after its own edits. Applying each distinct
    edit once to ``before`` gives exactly ``after``.
    """
    old = split_lines(before)
    new = split_lines(after)
    fixed = [f for f in findings if f.fixed]
    own: dict[int, list[Edit]] = {id(f): [] for f in fixed}
    shared: list[Edit] = []
    for tag, i1, i2, j1, j2 in line_opcodes(old, new):
        if tag == "equal":
            continue
        first, last = i1 + 1, max(i1 + 1, i2)
        touching = [f for f in fixed if f.line <= last and first <= f.end_line]
        if tag == "replace" and i2 - i1 == j2 - j1 and len(touching) > 1:
            # Adjacent lines fixed by different findings form one hunk; split
            # it line by line so that each finding carries its own edit (a
            # line no finding touches stays with the one before it).
            owner = touching[0]
            for offset in range(i2 - i1):
                line = i1 + offset + 1
                owner = next((f for f in touching if f.line <= line <= f.end_line), owner)
                own[id(owner)].append(Edit(line, line + 1, new[j1 + offset]))
            continue
        edit = Edit(i1 + 1, i2 + 1, "".join(new[j1:j2]))
        if not touching:
            shared.append(edit)
        # A hunk that cannot be split by line (two loops rewritten into
        # fewer lines, side by side) belongs to each finding it touches:
        # the fixes are entangled, and either suggestion applies both.
        for finding in touching:
            own[id(finding)].append(edit)
    result = []
    for finding in findings:
        if finding.fixed:
            edits = tuple(own[id(finding)] + shared)
            finding = replace(finding, fix=Fix(finding.safety, edits, _fix_message(finding)))
        result.append(finding)
    return result


def _fix_message(finding: Finding) -> str:
    if finding.needs_import:
        return f"needs `import {finding.needs_import}` (a separate edit at the top of the file)"
    return ""


def unified_diff(path: str, before: str, after: str) -> str:
    """A diff that ``git apply`` and ``patch -p1`` accept, CRLF and missing
    final newlines included.

    Lines end at LF only, as git and patch see them (a CR stays part of its
    line). For a byte-exact patch of a file in any encoding, pass its bytes
    decoded as latin-1 (see :func:`byte_diff`).
    """
    import difflib

    lines = difflib.unified_diff(
        _lf_lines(before),
        _lf_lines(after),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    out = []
    for line in lines:
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _lf_lines(text: str) -> list[str]:
    lines = text.split("\n")
    result = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        result.append(lines[-1])
    return result


def byte_diff(path: str, before: bytes, after: bytes) -> str:
    """The unified diff of two byte strings, as a str holding those bytes
    one character each (latin-1), so that ``.encode("latin-1")`` gives a
    patch that keeps the file's own encoding and BOM byte for byte."""
    header_path = path.encode("utf-8", "surrogateescape").decode("latin-1")
    return unified_diff(header_path, before.decode("latin-1"), after.decode("latin-1"))


# -- files --------------------------------------------------------------------


def process_file(
    target: Target, options: Options, rules: Sequence[Screened] | None = None
) -> FileResult:
    """Read, analyse and (per ``options``) fix one file. ``rules``: every
    rule (imported, with LibCST, only when the cache does not answer)."""
    result = FileResult(target.display)
    try:
        data = target.read()
    except OSError as exc:
        result.error = f"cannot read: {exc.strerror or exc}"
        return result
    if not target.explicit and GENERATED_MARKER in data[:4096]:
        result.skipped = "generated"
        return result
    cache = None if target.stdin else _cache_for(options)
    key = ""
    if cache is not None:
        key = _cache_key(cache, target, options, data)
        hit = cache.get(key)
        if hit is not None:
            result.findings, result.error = hit.findings, hit.error
            result.skipped, result.changed = hit.skipped, hit.changed
            return result
    if rules is None:
        rules = OWN_RULES
    try:
        outcome = process_bytes(data, options, rules, target.display)
    except SourceError as exc:
        result.error = str(exc)
        if target.stdin:
            # A filter must give its input back unchanged when it cannot fix
            # it: an editor replaces the buffer with whatever is on stdout.
            result.output = data
        if cache is not None:
            cache.put(key, CachedResult([], result.error, None, False))
        return result
    if cache is not None:
        cache.put(key, CachedResult(outcome.findings, None, outcome.skipped, outcome.changed))
    result.findings, result.changed, result.diff = outcome.findings, outcome.changed, outcome.diff
    result.skipped = outcome.skipped
    # Source read from standard input goes back to standard output, never to
    # a file of the name it was given.
    if outcome.changed and options.write and not target.stdin:
        try:
            write_atomic(target.path, outcome.output, expected=data)
            result.written = True
        except SourceError as exc:
            result.error = str(exc)
    if target.stdin:
        result.output = outcome.output
    return result


def _cache_key(cache: Cache, target: Target, options: Options, data: bytes) -> str:
    # What other files import from this one changes its result (AM401):
    # the same bytes at another path are another entry then.
    mentioned = any(entry[0] == target.display for entry in options.settings.imported_elsewhere)
    return cache.key(data, target.display if mentioned else "")


def _answered_by_cache(targets: Sequence[Target], options: Options) -> list[FileResult | None] | None:
    """Each target's result as the cache holds it (``None`` for a miss), or
    ``None`` when the run uses no cache. Run in the main process before any
    worker starts: a warm run then needs no worker, and no rule imported."""
    cache = _cache_for(options)
    if cache is None:
        return None
    answers: list[FileResult | None] = []
    for target in targets:
        try:
            data = target.read()
        except OSError:
            answers.append(None)  # the worker reports it
            continue
        if target.stdin or (not target.explicit and GENERATED_MARKER in data[:4096]):
            answers.append(None)
            continue
        hit = cache.get(_cache_key(cache, target, options, data))
        if hit is None:
            answers.append(None)
            continue
        answers.append(FileResult(
            target.display, findings=hit.findings, error=hit.error, skipped=hit.skipped, changed=hit.changed
        ))
    return answers


# One cache per process and run, found by the identity of the run's options
# (kept alive here, so the identity stays theirs).
_CACHES: dict[int, tuple[Options, Cache]] = {}


def _cache_for(options: Options) -> Cache | None:
    """The cache of a pure run (nothing written, no diff); ``None`` when the
    run does not use one."""
    if options.cache_dir is None or options.write or options.diff:
        return None
    known = _CACHES.get(id(options))
    if known is not None and known[0] is options:
        return known[1]
    from codemods import __version__

    fingerprint = run_fingerprint(__version__, options.settings, edits=options.edits)
    cache = Cache(Path(os.path.abspath(options.cache_dir)), fingerprint)
    _CACHES[id(options)] = (options, cache)
    return cache


def crossfile_cache(options: Options) -> Cache | None:
    """The cache of the look across the files of a pure run
    (:mod:`codemods._crossfile`): its answers for one file's bytes depend on
    the tool alone, not on the run's settings."""
    if options.cache_dir is None or options.write or options.diff:
        return None
    from codemods import __version__

    fingerprint = run_fingerprint(__version__, None, purpose="crossfile")
    return Cache(Path(os.path.abspath(options.cache_dir)), fingerprint)


@dataclass
class _Outcome:
    findings: list[Finding]
    output: bytes
    changed: bool = False
    diff: str = ""
    skipped: str | None = None


def process_bytes(data: bytes, options: Options, rules: Sequence[Screened], display: str) -> _Outcome:
    text, encoding = decode(data)
    # The literal first: a multi-line pattern tries every line's start.
    checked = b"skip-file" in data and _SKIP_FILE.search(data) is not None
    if checked:
        check_syntax(text, display)  # a broken file is reported, skip-file or not
        if _skip_file_comment(text):
            return _Outcome([], data, skipped="skip-file")
    selected = [rule for rule in rules if options.settings.runs(rule.CODE)]
    source = _run_on_text(data, text, encoding, selected, options.settings, display, validate=not checked)
    outcome = _Outcome(source.findings, source.output, source.changed)
    if source.changed:
        new_text = source.output.decode(encoding).removeprefix("\ufeff")
        if options.diff:
            # The bytes of the file, not its decoded text: a BOM or a latin-1
            # file must come out of the patch exactly as `fix` writes it.
            outcome.diff = byte_diff(display, data, source.output)
        if options.edits:
            outcome.findings = attach_edits(source.findings, text, new_text)
    return outcome


def write_atomic(path: Path, data: bytes, *, expected: bytes) -> None:
    """Replace ``path`` with ``data`` through a temporary file and a rename,
    keeping its mode; refuse if the file changed since it was read."""
    if _parent_gone():
        # The run was killed: a worker left behind writes nothing more.
        raise SourceError("the run was stopped before this file was written; left as it is")
    real = Path(os.path.realpath(path))
    try:
        if real.read_bytes() != expected:
            raise SourceError("changed on disk while asyncmend ran; left as it is")
        mode = stat.S_IMODE(real.stat().st_mode)
    except OSError as exc:
        raise SourceError(f"cannot write: {exc.strerror or exc}") from None
    remove_stale_temporaries(real.parent)
    # The writer's pid in the name tells a later run whether the file is stale.
    try:
        fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.{os.getpid()}.", suffix=TEMP_SUFFIX)
    except OSError as exc:
        # A read-only directory (or a full disk) refuses the temporary file.
        raise SourceError(f"cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise SourceError(f"cannot write: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


TEMP_SUFFIX = ".asyncmend.tmp"
_TEMP_NAME = re.compile(r"^\..+\.(?P<pid>[0-9]+)\.[A-Za-z0-9_]+" + re.escape(TEMP_SUFFIX) + "$")
# Directories this process has already cleaned: once each is enough.
_cleaned: set[Path] = set()


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Remove the temporary files a killed run left in ``directory``.

    A run killed (SIGKILL, power loss) between creating its temporary file and
    renaming it over the target leaves the target as it was and the temporary
    file behind. The target still needs its fix, so the next ``fix`` writes
    into the same directory and first removes what was left. Only files whose
    writer process is gone are stale: another run working in the same tree at
    the same time keeps its own.
    """
    if directory in _cleaned:
        return []
    _cleaned.add(directory)
    removed: list[Path] = []
    try:
        entries = [e for e in os.scandir(directory) if e.name.endswith(TEMP_SUFFIX)]
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if match is None or _process_alive(int(match.group("pid"))):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        # Another user's process, or a pid this system cannot hold: keep it.
        return True
    # A killed writer whose parent died too may stay a zombie until some
    # process reaps it (in a container, often nobody): it writes nothing more.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc: signal 0 is all there is to tell
    return state not in ("Z", "X")


# -- runs ---------------------------------------------------------------------


# A worker's parent when it started: the run itself, or the fork server that
# started it for the run (None in the run's own process).
_PARENT_PID: int | None = None


# The options of a pool's run, set once per worker process by the pool's
# initializer rather than pickled again with every file.
_POOL_OPTIONS: Options | None = None


def _init_worker(run_pid: int, options: Options) -> None:
    """Keep the run's options, and tie a worker's life to the run's: killed
    with SIGKILL, the main process cannot stop its workers, which would go on
    writing files and then wait forever for work that never comes."""
    global _PARENT_PID, _POOL_OPTIONS
    _POOL_OPTIONS = options
    _PARENT_PID = parent = os.getppid()
    if not _die_with_parent():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent or not _process_alive(run_pid):
        os._exit(1)  # the run died before the link was made


def _die_with_parent() -> bool:
    """Linux: have the kernel kill this process when its parent dies."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        return bool(libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def _parent_gone() -> bool:
    return _PARENT_PID is not None and os.getppid() != _PARENT_PID


def _worker(args: tuple[Target, Options]) -> FileResult:
    target, options = args
    try:
        return process_file(target, options)
    except Exception as exc:  # a bug in a rule must not stop the other files
        # Exception texts (LibCST's among them) span lines; a report is one line.
        detail = " ".join(str(exc).split())
        return FileResult(target.display, error=f"internal error: {type(exc).__name__}: {detail}")


def _pool_chunk(targets: list[Target]) -> list[FileResult]:
    assert _POOL_OPTIONS is not None
    return [_worker((target, _POOL_OPTIONS)) for target in targets]


def _chunks(items: Sequence[_T], sizes: Sequence[int], jobs: int) -> list[list[_T]]:
    """``items`` cut, in order, into chunks of about equal bytes, several per
    worker, so that per-task overhead stays small and no worker is left
    with a long tail."""
    budget = max(sum(sizes) // (jobs * 16), 1)
    chunks: list[list[_T]] = [[]]
    filled = 0
    for item, size in zip(items, sizes):
        if chunks[-1] and (filled + size > budget or len(chunks[-1]) >= 64):
            chunks.append([])
            filled = 0
        chunks[-1].append(item)
        filled += size
    return chunks


def process(
    targets: Sequence[Target],
    options: Options,
    jobs: int = 1,
    progress: Callable[[int], object] | None = None,
) -> Iterator[FileResult]:
    """Results in the order of ``targets``, processed on ``jobs`` processes.

    ``progress(n)`` is told each time ``n`` more files are done, in whatever
    order they finish (with ``jobs`` > 1, the largest files go first, and a
    result waits for those before it).
    """
    tell = progress or (lambda n: None)
    if jobs <= 1 or len(targets) <= 1:
        for target in targets:
            result = _worker((target, options))
            tell(1)
            yield result
        return
    answered = _answered_by_cache(targets, options)
    if answered is None:
        yield from _pooled(targets, options, jobs, tell)
        return
    tell(sum(answer is not None for answer in answered))
    misses = [target for target, answer in zip(targets, answered) if answer is None]
    if len(misses) > 1:
        computed = _pooled(misses, options, jobs, tell)
    else:
        computed = (_worker((target, options)) for target in misses)
        tell(len(misses))
    for answer in answered:
        yield answer if answer is not None else next(computed)


def _pooled(
    targets: Sequence[Target], options: Options, jobs: int, tell: Callable[[int], object]
) -> Iterator[FileResult]:
    """Results in the order of ``targets``, computed largest file first.

    The few files that reach LibCST take most of a run, and they are the
    large ones: started last, one of them would keep a worker busy while
    the others wait. Results are held until those before them are done.
    """
    # Imported here: a run the cache answers, or -j 1, needs no pool.
    from concurrent.futures import as_completed
    from concurrent.futures.process import BrokenProcessPool

    sizes = [_size(target) for target in targets]
    order = sorted(range(len(targets)), key=lambda i: -sizes[i])
    done: dict[int, FileResult] = {}
    next_index = 0
    futures: dict[Future[list[FileResult]], list[int]] = {}
    taken: set[Future[list[FileResult]]] = set()
    try:
        with _pool(jobs, options) as pool:
            for indexes in _chunks(order, [sizes[i] for i in order], jobs):
                futures[pool.submit(_pool_chunk, [targets[i] for i in indexes])] = indexes
            for future in as_completed(futures):
                taken.add(future)
                results = future.result()
                done.update(zip(futures[future], results))
                tell(len(results))
                while next_index in done:
                    yield done.pop(next_index)
                    next_index += 1
    except BrokenProcessPool:
        # A worker process died (a crash in native code, the OOM killer).
        # Chunks finished before it stand (their files may be written: done
        # again they would report nothing fixed); the rest go one at a time,
        # so the file that kills its process is named and every other file
        # is still processed.
        for future, indexes in futures.items():
            if future not in taken and future.done() and not future.cancelled() and future.exception() is None:
                done.update(zip(indexes, future.result()))
                tell(len(indexes))
        rest = [i for i in range(next_index, len(targets)) if i not in done]
        done.update(zip(rest, _one_by_one([targets[i] for i in rest], options)))
        tell(len(rest))
    while next_index < len(targets):
        yield done.pop(next_index)
        next_index += 1


def _size(target: Target) -> int:
    try:
        return target.path.stat().st_size if target.data is None else len(target.data)
    except OSError:
        return 0  # process_file reports the error


def _pool(jobs: int, options: Options) -> ProcessPoolExecutor:
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        max_workers=jobs, initializer=_init_worker, initargs=(os.getpid(), options)
    )


def _one_by_one(targets: Sequence[Target], options: Options) -> Iterator[FileResult]:
    from concurrent.futures.process import BrokenProcessPool

    pool = _pool(1, options)
    try:
        for target in targets:
            try:
                (result,) = pool.submit(_pool_chunk, [target]).result()
            except BrokenProcessPool:
                pool.shutdown(wait=True)
                pool = _pool(1, options)
                result = FileResult(
                    target.display,
                    error="internal error: the worker process died while processing this file",
                )
            yield result
    finally:
        pool.shutdown(wait=True)


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


__all__ = [
    "FileResult",
    "Options",
    "SourceError",
    "SourceResult",
    "Suppressions",
    "attach_edits",
    "decode",
    "discover",
    "fix_source",
    "process",
    "process_file",
    "remove_stale_temporaries",
    "split_lines",
    "byte_diff",
    "unified_diff",
    "write_atomic",
]
