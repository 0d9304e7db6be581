"""The data a run produces: findings, their fixes and the edits that make
them, and the result of each file.

Plain data, importable without LibCST: a run answered from the cache, and
every report renderer, needs no tree.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Safety(str, enum.Enum):
    """How much a rule's fix may change what the program does.

    A safe fix keeps what the coroutine computes and only removes the pitfall;
    an unsafe one may reorder side effects, change which exception surfaces or
    change data visibility, so it runs only when asked for.
    """

    SAFE = "safe"
    UNSAFE = "unsafe"
    NONE = "none"  # the rule reports only


@dataclass(frozen=True)
class Edit:
    """Replace source lines ``[start_line, end_line)`` (1-based) with ``content``.

    Edits are whole lines: that is what a review suggestion can carry, and a
    line range survives any change of encoding or column counting.
    ``start_line == end_line`` inserts before ``start_line``.
    """

    start_line: int
    end_line: int
    content: str


@dataclass(frozen=True)
class JointEdit:
    """An edit that completes the fixes of several findings once all of them
    are applied, and belongs to none alone: the removal of an import that
    each of those fixes leaves used by the others. ``findings`` names the
    other findings, as (code, line, column)."""

    edit: Edit
    findings: tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class Fix:
    """A finding's own fix: ``edits`` are exactly what this finding needs
    (its call site, the import it adds, the line or import it leaves
    unused), in line order; applied alone they give a program that compiles
    with no undefined and no newly unused name. ``joint`` are the edits it
    shares with other findings' fixes (see :class:`JointEdit`). All fixes of
    a file applied together, joint edits included, give what ``fix`` writes.
    Findings whose fixes rewrite the same lines share one fix, with the
    boldest applicability among them."""

    applicability: Safety
    edits: tuple[Edit, ...] = ()
    message: str = ""
    joint: tuple[JointEdit, ...] = ()


@dataclass(frozen=True)
class Finding:
    code: str
    slug: str
    message: str
    line: int
    column: int  # 1-based, in characters
    end_line: int
    end_column: int
    fixable: bool
    safety: Safety
    fixed: bool = False
    needs_import: str | None = None
    fix: Fix | None = None
    # Found only in the text that other fixes of the run wrote (a later
    # pass of ``fix``), not in the source as read: placed on the line of the
    # source its text stands for, counted among what ``fix`` did, never a
    # finding of ``check`` (whose fixes must apply to the source as read).
    after_fix: bool = False

    def sort_key(self) -> tuple[int, int, str]:
        return (self.line, self.column, self.code)


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
    # The findings of ``output`` itself, at its own positions: what is left
    # once the fixes are written (the findings above point into ``source``).
    remaining: list[Finding] | None = None

    @property
    def changed(self) -> bool:
        return self.output != self.source


@dataclass(frozen=True)
class RunFailure:
    """Why a run of the project's test command failed: the first failing
    test its output names (``None`` when it names none) and that test's
    message (else the command's last line, or that it timed out)."""

    test: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.test}: {self.message}" if self.test else self.message


@dataclass
class Verification:
    """What ``fix --verify`` did: the test command, how many times it ran
    and for how long in all, and the findings whose fixes it dropped, by
    (path, code, line, column) as the run reports them, with the failure
    each fix caused."""

    command: str
    runs: int = 0
    seconds: float = 0.0
    kept: int = 0
    dropped: dict[tuple[str, str, int, int], RunFailure] = field(default_factory=dict)


__all__ = [
    "Edit",
    "FileResult",
    "Finding",
    "Fix",
    "JointEdit",
    "RunFailure",
    "Safety",
    "SourceResult",
    "Verification",
]
