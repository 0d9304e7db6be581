"""The LibCST half every rule runs on: a LibCST codemod command with the
rule's settings, its findings and the file's facts at hand."""

from __future__ import annotations

from abc import ABC
from typing import Any, ClassVar, Sequence

import libcst as cst
from libcst.codemod import Codemod, CodemodContext, VisitorBasedCodemodCommand
from libcst.metadata import CodeRange, PositionProvider, ProviderT

from ..findings import Finding, Safety
from ..model.project import ModuleView
from ..screen.facts import Facts
from ..settings import Settings
from .scope import LexicalScopeProvider, Scope

FINDINGS_KEY = "asyncmend.findings"
SETTINGS_KEY = "asyncmend.settings"
SUPPRESSIONS_KEY = "asyncmend.suppressions"
# The stdlib-ast facts of the file (codemods.screen.facts.Facts), when the engine has them.
FACTS_KEY = "asyncmend.facts"


# Per class: whether it has no matcher decorators (LibCST's ``@m.visit``,
# ``@m.call_if_inside``...), found at its first instance.
_UNDECORATED: dict[type, bool] = {}


class RuleCommand(VisitorBasedCodemodCommand, ABC):
    """What a rule's visitor methods run on (see :meth:`codemods.rule.Rule.codemod`).

    A rule is an ordinary LibCST codemod: it can run alone through
    ``python -m libcst.tool codemod``, or batched with the other rules in one
    pass by the engine. It records a finding with :meth:`report`, which also
    answers whether this run wants the fix applied; the rule rewrites only then.

    (``ABC`` among its bases keeps ``python -m libcst.tool list`` from
    listing it as a command of its own.)
    """

    # Set by the rule (see codemods.rule.Rule); declared for the type checker.
    CODE: ClassVar[str]
    SLUG: ClassVar[str]
    SAFETY: ClassVar[Safety]
    EQUIVALENTS: ClassVar[tuple[str, ...]]
    OPTIONS: ClassVar[Any]
    METADATA_DEPENDENCIES: ClassVar[Sequence[ProviderT]] = (
        PositionProvider,
        LexicalScopeProvider,
    )

    def __init__(self, context: CodemodContext) -> None:
        if _UNDECORATED.get(type(self)):
            # What LibCST's __init__ makes of a class without matcher
            # decorators, without looking for them at each of its few
            # hundred attributes again: 15-30 ms a rule and file.
            Codemod.__init__(self, context)
            self._matchers = {}
            self._extra_visit_funcs = {}
            self._extra_leave_funcs = {}
        else:
            super().__init__(context)
            _UNDECORATED[type(self)] = not (self._matchers or self._extra_visit_funcs or self._extra_leave_funcs)
        self.settings: Settings = context.scratch.get(SETTINGS_KEY) or Settings()
        context.scratch.setdefault(FINDINGS_KEY, [])

    @property
    def facts(self) -> Facts | None:
        """The file's :class:`~codemods.screen.facts.Facts`, which a rule may
        consult to skip an expensive analysis where they show it cannot
        apply; ``None`` when the rule runs on its own as a LibCST codemod."""
        return self.context.scratch.get(FACTS_KEY)

    @property
    def view(self) -> ModuleView | None:
        """The project model as this file's analysis asks it (see
        :mod:`codemods.model.project`); ``None`` when the rule runs on its
        own as a LibCST codemod."""
        facts = self.facts
        return facts.view if facts is not None else None

    def option(self, key: str) -> Any:
        return self.settings.options.get(key, self.OPTIONS[key])

    def scope(self, node: cst.CSTNode) -> Scope:
        return self.get_metadata(LexicalScopeProvider, node)

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        fixable: bool = True,
        needs_import: str | None = None,
        unsafe: bool = False,
    ) -> bool:
        """Record a finding at ``node`` (an original node); return whether to fix it.

        ``fixable=False`` reports a site the rule will not rewrite;
        ``unsafe=True``, one whose fix a safe rule cannot show to be right
        (applied with ``--unsafe-fixes``, as an unsafe rule's). A finding
        suppressed with ``# noqa`` is not recorded and never fixed.
        """
        safety = Safety.UNSAFE if unsafe and self.SAFETY is Safety.SAFE else self.SAFETY
        suppressions = self.context.scratch.get(SUPPRESSIONS_KEY)
        positions = self.metadata.get(PositionProvider)
        defer = getattr(positions, "defer", None)
        fixable = fixable and self.SAFETY is not Safety.NONE
        # Where the node is decides whether to fix it only when a fix may be
        # applied and a noqa comment or a declined fix could forbid it.
        placed_now = (
            fixable and self.settings.applies(self.CODE, unsafe=safety is not self.SAFETY)
            and (bool(suppressions) or bool(self.settings.declined))
        )
        if defer is not None and not placed_now:
            # The position is found after the traversal, with every other
            # deferred one (line 0 marks the finding until then), and a noqa
            # comment on its line removes it then.
            line = column = end_line = end_column = 0
            defer(node, (self.CODE, *self.EQUIVALENTS))
        else:
            rng: CodeRange = self.get_metadata(PositionProvider, node)
            line, column = rng.start.line, rng.start.column + 1
            end_line, end_column = rng.end.line, rng.end.column + 1
        if line and suppressions and suppressions.is_suppressed(line, (self.CODE, *self.EQUIVALENTS)):
            return False
        apply = (
            fixable
            and self.settings.applies(self.CODE, unsafe=safety is not self.SAFETY)
            and not (line and self.settings.declines(self.CODE, line, column))
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
                safety=safety,
                fixed=apply,
                needs_import=needs_import if apply else None,
            )
        )
        return apply


__all__ = ["FACTS_KEY", "FINDINGS_KEY", "SETTINGS_KEY", "SUPPRESSIONS_KEY", "RuleCommand"]
