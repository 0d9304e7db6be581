"""The rule base class and the data a run produces: findings, fixes and edits."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping, Sequence

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.metadata import CodeRange, PositionProvider, ProviderT

from codemods._analysis import LexicalScopeProvider, Scope
from codemods._config import Settings
from codemods._screen import Facts

FINDINGS_KEY = "asyncmend.findings"
SETTINGS_KEY = "asyncmend.settings"
SUPPRESSIONS_KEY = "asyncmend.suppressions"


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
class Fix:
    applicability: Safety
    # The edit at the finding itself, then any edit it needs elsewhere (an
    # added import), each kept apart so that a reviewer can accept them one by one.
    edits: tuple[Edit, ...] = ()
    message: str = ""


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

    def sort_key(self) -> tuple[int, int, str]:
        return (self.line, self.column, self.code)


class Rule(VisitorBasedCodemodCommand):
    """Base of every asyncmend rule.

    A rule is an ordinary LibCST codemod: it can run alone through
    ``python -m libcst.tool codemod``, or batched with the other rules in one
    pass by the engine. It records a finding with :meth:`report`, which also
    answers whether this run wants the fix applied; the rule rewrites only then.

    Rules look metadata up on *original* nodes, and must not rely on returning
    ``False`` from a ``visit_`` method to skip children: in a batched pass the
    other rules still need them.
    """

    CODE: ClassVar[str] = ""
    SLUG: ClassVar[str] = ""
    DESCRIPTION: ClassVar[str] = ""
    SAFETY: ClassVar[Safety] = Safety.SAFE
    # Codes of the same check in other tools, honoured in ``# noqa``.
    EQUIVALENTS: ClassVar[tuple[str, ...]] = ()
    # A file none of whose bytes contain one of these cannot hold a finding.
    PREFILTER: ClassVar[tuple[bytes, ...]] = ()
    # The rule's configuration keys (kebab-case, as in [tool.asyncmend]) and
    # their defaults; ``self.option(key)`` reads the effective value.
    OPTIONS: ClassVar[Mapping[str, Any]] = {}
    METADATA_DEPENDENCIES: ClassVar[Sequence[ProviderT]] = (
        PositionProvider,
        LexicalScopeProvider,
    )

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self.settings: Settings = context.scratch.get(SETTINGS_KEY) or Settings()
        context.scratch.setdefault(FINDINGS_KEY, [])

    # -- detection ----------------------------------------------------------

    @classmethod
    def screen(cls, facts: Facts, settings: Settings) -> bool:
        """Whether a file has a candidate site, judged on its stdlib ``ast``
        (see :mod:`codemods._screen`).

        It must be a superset of what the rule finds: ``False`` means the file
        is not parsed with LibCST for this rule at all. The default is ``True``.
        """
        return True

    def option(self, key: str) -> Any:
        return self.settings.options.get(key, self.OPTIONS[key])

    def scope(self, node: cst.CSTNode) -> Scope:
        return self.get_metadata(LexicalScopeProvider, node)

    # -- reporting ----------------------------------------------------------

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        fixable: bool = True,
        needs_import: str | None = None,
    ) -> bool:
        """Record a finding at ``node`` (an original node); return whether to fix it.

        ``fixable=False`` reports a site the rule will not rewrite. A finding
        suppressed with ``# noqa`` is not recorded and never fixed.
        """
        suppressions = self.context.scratch.get(SUPPRESSIONS_KEY)
        positions = self.metadata.get(PositionProvider)
        defer = getattr(positions, "defer", None)
        if defer is not None and not suppressions and not self.settings.declined:
            # Nothing here depends on where the node is: its position is
            # found after the traversal, with every other deferred one
            # (line 0 marks the finding until then).
            line = column = end_line = end_column = 0
            defer(node)
        else:
            rng: CodeRange = self.get_metadata(PositionProvider, node)
            line, column = rng.start.line, rng.start.column + 1
            end_line, end_column = rng.end.line, rng.end.column + 1
        if suppressions and suppressions.is_suppressed(line, (self.CODE, *self.EQUIVALENTS)):
            return False
        fixable = fixable and self.SAFETY is not Safety.NONE
        apply = (
            fixable
            and self.settings.applies(self.CODE)
            and not self.settings.declines(self.CODE, line, column)
        )
        self.context.scratch[FINDINGS_KEY].append(
            Finding(
                code=self.CODE,
                slug=self.SLUG,
                message=message,
                line=line,
                column=column,
                end_line=end_line,
                end_column=end_column,
                fixable=fixable,
                safety=self.SAFETY,
                fixed=apply,
                needs_import=needs_import if apply else None,
            )
        )
        return apply
