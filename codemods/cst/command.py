"""Each rule as a LibCST codemod command: the rule's visitor methods on
LibCST's ``VisitorBasedCodemodCommand``, as ``python -m libcst.tool codemod``
runs them (the engine runs them on :class:`~codemods.cst.transformer.RuleTransformer`)."""

from __future__ import annotations

from abc import ABC
from typing import ClassVar, Sequence

from libcst.codemod import Codemod, CodemodContext, VisitorBasedCodemodCommand
from libcst.metadata import ProviderT

from ..settings import Settings
from .transformer import (
    BASE_METADATA,
    FACTS_KEY,
    FINDINGS_KEY,
    SETTINGS_KEY,
    SUPPRESSIONS_KEY,
    RuleMethods,
)

# Per class: whether it has no matcher decorators (LibCST's ``@m.visit``,
# ``@m.call_if_inside``...), found at its first instance.
_UNDECORATED: dict[type, bool] = {}


class RuleCommand(RuleMethods, VisitorBasedCodemodCommand, ABC):
    """A rule as a LibCST codemod command (see :meth:`codemods.rule.Rule.codemod`).

    A rule is an ordinary LibCST codemod: it can run alone through
    ``python -m libcst.tool codemod``, or batched with the other rules in one
    pass by the engine. It records a finding with :meth:`report`, which also
    answers whether this run wants the fix applied; the rule rewrites only then.

    (``ABC`` among its bases keeps ``python -m libcst.tool list`` from
    listing it as a command of its own.)
    """

    METADATA_DEPENDENCIES: ClassVar[Sequence[ProviderT]] = BASE_METADATA

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


__all__ = ["FACTS_KEY", "FINDINGS_KEY", "SETTINGS_KEY", "SUPPRESSIONS_KEY", "RuleCommand"]
