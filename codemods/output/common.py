"""What the machine formats share: positions in a file's text (UTF-8 bytes,
UTF-16 units), the edits of a fix, which findings are still open."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

from ..findings import Edit, FileResult, Finding, Safety
from ..source.text import split_lines

if TYPE_CHECKING:
    from ..rule import Rule

Style = Callable[..., str]


def plain(text: str, **_: object) -> str:
    return text


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 fix``, ``2 fixes``: ``n`` and the noun in the number it takes."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def duration(seconds: float) -> str:
    """``4.2 s``, ``3 min 5 s``."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{seconds:.1f} s"


_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps(document: object, indent: int | None = None) -> str:
    """JSON text that is valid UTF-8: readable characters as they are, and a
    file name's undecodable bytes as ``\\udcXX`` escapes, which ``json.loads``
    gives back as the same surrogates (``os.fsencode`` then gives the name)."""
    text = json.dumps(document, indent=indent, ensure_ascii=False)
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)



HOMEPAGE = "https://pypi.org/project/asyncmend/"
TOOL_NAME = "asyncmend"

# path -> the source text the findings of that path refer to (None: unreadable)
SourceOf = Callable[[str], "str | None"]


def body_and_ending(line: str) -> tuple[str, str]:
    """(line without its ending, the ending)."""
    stripped = line.rstrip("\r\n")
    return stripped, line[len(stripped) :]


@dataclass(frozen=True)
class Span:
    """A replacement of the text between two positions (1-based lines and
    character columns, end exclusive) by ``text``."""

    start_line: int
    start_column: int
    end_line: int
    end_column: int
    text: str


def edit_span(edit: Edit, lines: Sequence[str]) -> Span:
    """The span form of a whole-line edit.

    A replacement ends at the end of its last line (before the line ending)
    and leaves that ending in place: that is the form a review tool can turn
    into a suggestion for exactly the replaced lines. An insertion or a
    deletion runs from the start of its first line to the start of the line
    after it.
    """
    s, e, content = edit.start_line, edit.end_line, edit.content
    if e > s and content and e - 2 < len(lines):
        body, ending = body_and_ending(lines[e - 2])
        if content.endswith(ending) and (ending or not body_and_ending(content)[1]):
            return Span(s, 1, e - 1, len(body) + 1, content[: len(content) - len(ending)])
    return Span(s, 1, e, 1, content)


def merge_edits(edits: Sequence[Edit], lines: Sequence[str]) -> Edit:
    """One edit spanning several, with the original lines between them kept."""
    ordered = sorted(edits, key=lambda edit: (edit.start_line, edit.end_line))
    start, end = ordered[0].start_line, ordered[0].start_line
    content = []
    for edit in ordered:
        content.extend(lines[end - 1 : edit.start_line - 1])
        content.append(edit.content)
        end = max(end, edit.end_line)
    return Edit(start, end, "".join(content))


def touches(edit: Edit, finding: Finding) -> bool:
    """Whether ``edit`` rewrites lines of ``finding`` itself."""
    last = max(edit.start_line, edit.end_line - 1)
    return finding.line <= last and edit.start_line <= finding.end_line


def split_fix_edits(finding: Finding) -> tuple[list[Edit], list[Edit]]:
    """A finding's own fix as (the edits at the finding itself, the edits
    elsewhere: an import it adds, a line or import it leaves unused)."""
    here: list[Edit] = []
    elsewhere: list[Edit] = []
    for edit in finding.fix.edits if finding.fix else ():
        (here if touches(edit, finding) else elsewhere).append(edit)
    return here, elsewhere


def joint_edits(findings: Sequence[Finding]) -> dict[Edit, list[Finding]]:
    """Each joint edit of ``findings`` (see :class:`~codemods.findings.JointEdit`)
    with the findings whose fixes it completes."""
    owners: dict[Edit, list[Finding]] = {}
    for finding in findings:
        for joint in finding.fix.joint if finding.fix else ():
            owners.setdefault(joint.edit, []).append(finding)
    return owners


def fix_edits(finding: Finding) -> list[Edit]:
    """A fix's own edits, in line order."""
    return sorted(finding.fix.edits if finding.fix else (), key=lambda e: (e.start_line, e.end_line))


def byte_column(lines: Sequence[str], line: int, column: int) -> int:
    """A 1-based character column as a 1-based UTF-8 byte column."""
    if not 1 <= line <= len(lines):
        return column
    return len(body_and_ending(lines[line - 1])[0][: column - 1].encode("utf-8")) + 1


def help_uri(rule: type[Rule] | None, code: str) -> str:
    slug = rule.SLUG if rule is not None else ""
    return f"{HOMEPAGE}#{code.lower()}-{slug}" if slug else HOMEPAGE


def open_findings(result: FileResult, fixing: bool) -> list[Finding]:
    return [f for f in result.findings if not (fixing and f.fixed)]


def lines_for(result: FileResult, source_of: SourceOf) -> list[str]:
    text = source_of(result.path)
    return split_lines(text) if text is not None else []



def fix_note(finding: Finding) -> str:
    if not finding.fixable:
        return ""
    if finding.safety is Safety.SAFE:
        return " (fixable with `asyncmend fix`)"
    return " (fixable with `asyncmend fix --unsafe-fixes`)"


def utf16_column(lines: Sequence[str], line: int, column: int) -> int:
    """A 1-based character column as a 1-based UTF-16 code unit column, the
    unit SARIF counts in by default and GitHub code scanning assumes."""
    if not 1 <= line <= len(lines):
        return column
    before = body_and_ending(lines[line - 1])[0][: column - 1]
    return column + sum(1 for char in before if ord(char) > 0xFFFF)


def line_hash(code: str, line_text: str) -> str:
    """Identifies a finding by its rule and its line's text (whitespace
    ignored), not its line number, so it survives edits elsewhere in the file."""
    normalized = "".join(line_text.split())
    return hashlib.sha256(f"{code}\0{normalized}".encode("utf-8")).hexdigest()[:16]
