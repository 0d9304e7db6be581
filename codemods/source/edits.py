"""What a fix changed, as line edits per finding and as a unified diff."""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Sequence

from ..findings import Edit
from .text import split_lines

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


def line_edits(old: Sequence[str], new: Sequence[str]) -> list[Edit]:
    """The hunks that turn the lines ``old`` into ``new``, as edits of ``old``."""
    return [
        Edit(i1 + 1, i2 + 1, "".join(new[j1:j2]))
        for tag, i1, i2, j1, j2 in line_opcodes(old, new)
        if tag != "equal"
    ]


def overlap(a: Edit, b: Edit) -> bool:
    """Whether two edits of one text touch the same lines, so that they
    cannot both apply (unless they are the same edit). An insertion at the
    edge of a replaced range does not overlap it; two insertions at one
    place do not either: they apply one after the other."""
    a_insert, b_insert = a.start_line == a.end_line, b.start_line == b.end_line
    if a_insert and b_insert:
        return False
    if a_insert:
        return b.start_line < a.start_line < b.end_line
    if b_insert:
        return a.start_line < b.start_line < a.end_line
    return a.start_line < b.end_line and b.start_line < a.end_line


class EditConflict(ValueError):
    """Two different edits of the same lines."""


def apply_edits(
    lines: Sequence[str], edits: Iterable[Edit], rank: Callable[[Edit], int] | None = None
) -> tuple[list[str], list[int | Edit]]:
    """``lines`` with each distinct edit applied once, and, for each line of
    the result, the index of the line of ``lines`` it is, or the edit that
    wrote it. Insertions at one place go in the order of ``rank``
    (default: their text). Raises :class:`EditConflict` for overlapping edits.
    """
    order = sorted(
        set(edits),
        key=lambda e: (e.start_line, e.end_line != e.start_line, rank(e) if rank else 0, e.content, e.end_line),
    )
    for first, second in zip(order, order[1:]):
        if overlap(first, second) or first.end_line > second.start_line:
            raise EditConflict(f"{first} and {second} change the same lines")
    out: list[str] = []
    origin: list[int | Edit] = []
    position = 0  # 0-based index of the next line of ``lines`` to copy
    for edit in order:
        start = edit.start_line - 1
        out.extend(lines[position:start])
        origin.extend(range(position, start))
        written = split_lines(edit.content)
        out.extend(written)
        origin.extend([edit] * len(written))
        position = max(position, edit.end_line - 1)
    out.extend(lines[position:])
    origin.extend(range(position, len(lines)))
    return out, origin


def describe_edit(edit: Edit, lines: Sequence[str]) -> str:
    """``add `import asyncio``` / ``remove `import time``` / ``replace `a`
    with `b``` (one line each side), or which lines it rewrites."""
    old_lines = lines[edit.start_line - 1 : edit.end_line - 1]
    new_lines = split_lines(edit.content)
    old = "".join(old_lines).strip()
    new = edit.content.strip()
    if not old:
        return f"add `{new}`" if len(new_lines) == 1 else f"add {len(new_lines)} lines"
    if not new:
        return f"remove `{old}`" if len(old_lines) == 1 else f"remove lines {edit.start_line}-{edit.end_line - 1}"
    if len(old_lines) == 1 and len(new_lines) == 1:
        return f"replace `{old}` with `{new}`"
    if len(old_lines) == 1:
        return f"rewrite line {edit.start_line}"
    return f"rewrite lines {edit.start_line}-{edit.end_line - 1}"


def fix_message(edits: Sequence[Edit], lines: Sequence[str]) -> str:
    """What a fix does, in one line: each edit described, in line order."""
    described = [describe_edit(edit, lines) for edit in sorted(edits, key=lambda e: (e.start_line, e.end_line))]
    if not described:
        return ""
    text = "; ".join(described)
    return text[0].upper() + text[1:]


# A few hundredths of a second of difflib's matching at worst: the diffs of
# nearly every file are difflib's own (see unified_diff).
DIFFLIB_BUDGET = 1_000_000


def unified_diff(path: str, before: str, after: str) -> str:
    """A diff that ``git apply`` and ``patch -p1`` accept, CRLF and missing
    final newlines included.

    Lines end at LF only, as git and patch see them (a CR stays part of its
    line). For a byte-exact patch of a file in any encoding, pass its bytes
    decoded as latin-1 (see :func:`byte_diff`).

    The hunks are ``difflib.unified_diff``'s: its grouping and headers, three
    lines of context. Its matcher looks for the longest match first, and
    again on each side of it: with many changes in a long file of repeated
    lines it takes quadratic time (twenty seconds for a 24,000-line file
    with 4,000 fixes). Where that search would cost more than
    :data:`DIFFLIB_BUDGET` line comparisons, the lines are aligned by
    :func:`line_opcodes` instead, which may show an added line on the other
    side of an equal blank line, never a different change.
    """
    old, new = _lf_lines(before), _lf_lines(after)
    opcodes = line_opcodes(old, new)
    changes = sum(1 for opcode in opcodes if opcode[0] != "equal")
    if changes * (len(old) + len(new)) <= DIFFLIB_BUDGET:
        import difflib

        opcodes = difflib.SequenceMatcher(None, old, new).get_opcodes()
    out: list[str] = []
    for group in _grouped_opcodes(opcodes, context=3):
        if not out:
            out += [f"--- a/{path}\n", f"+++ b/{path}\n"]
        first, last = group[0], group[-1]
        out.append(f"@@ -{_unified_range(first[1], last[2])} +{_unified_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [" " + line for line in old[i1:i2]]
                continue
            if tag in ("replace", "delete"):
                out += ["-" + line for line in old[i1:i2]]
            if tag in ("replace", "insert"):
                out += ["+" + line for line in new[j1:j2]]
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in out)


def _grouped_opcodes(opcodes: list[Opcode], context: int) -> Iterator[list[Opcode]]:
    """The hunks of ``opcodes``, each with up to ``context`` equal lines
    around its changes, as ``SequenceMatcher.get_grouped_opcodes`` makes them."""
    codes = list(opcodes) or [("equal", 0, 1, 0, 1)]
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = tag, max(i1, i2 - context), i2, max(j1, j2 - context), j2
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        # A long run of equal lines ends one hunk and starts the next.
        if tag == "equal" and i2 - i1 > 2 * context:
            group.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            yield group
            group = []
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        yield group


def _unified_range(start: int, stop: int) -> str:
    """A hunk header's range, as ``difflib`` writes it (1-based; ``n,0``
    for an empty range, which names the line before it)."""
    beginning = start + 1
    length = stop - start
    if length == 1:
        return f"{beginning}"
    if not length:
        beginning -= 1
    return f"{beginning},{length}"


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
