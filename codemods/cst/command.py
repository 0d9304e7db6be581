"""The rule base class. (The data a run produces, findings, fixes and edits,
is in :mod:`codemods._findings`, which needs no LibCST.)"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping, Sequence

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand
from libcst.metadata import CodeRange, PositionProvider, ProviderT

from codemods._analysis import LexicalScopeProvider, Scope
from codemods._config import Settings
from codemods._findings import Edit, Finding, Fix, Safety
from codemods._registry import RULE_INFO
from codemods._rulescreens import SCREENS, Screen
from codemods._screen import Facts

FINDINGS_KEY = "asyncmend.findings"
SETTINGS_KEY = "asyncmend.settings"
SUPPRESSIONS_KEY = "asyncmend.suppressions"
# The stdlib-ast facts of the file (codemods._screen.Facts), when the engine has them.
FACTS_KEY = "asyncmend.facts"


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
    # A file none of whose bytes contain one of these cannot hold a finding
    # (see prefilter).
    PREFILTER: ClassVar[tuple[bytes, ...]] = ()
    # The rule's configuration keys (kebab-case, as in [tool.asyncmend]) and
    # their defaults; ``self.option(key)`` reads the effective value.
    OPTIONS: ClassVar[Mapping[str, Any]] = {}
    METADATA_DEPENDENCIES: ClassVar[Sequence[ProviderT]] = (
        PositionProvider,
        LexicalScopeProvider,
    )

    # For asyncmend's own rules, set from the entry in codemods/_registry.py,
    # never in the class.
    _FROM_REGISTRY: ClassVar[tuple[str, ...]] = ("SLUG", "SAFETY", "DESCRIPTION", "OPTIONS")
    _FROM_SCREENS: ClassVar[tuple[str, ...]] = ("PREFILTER", "prefilter", "screen")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.CODE:
            return
        info = RULE_INFO.get(cls.CODE)
        if info is None:
            return  # a rule from elsewhere (a plugin, a test) sets its own
        for name in cls._FROM_REGISTRY:
            if name in vars(cls):
                raise TypeError(f"{cls.__name__}.{name} is set in codemods/_registry.py, not in the class")
            setattr(cls, name, getattr(info, name))
        # The prefilter and the screen, which the engine runs without
        # importing the rule (or LibCST).
        screen = SCREENS.get(cls.CODE)
        if screen is None:
            raise TypeError(f"{cls.__name__}: no screening for {cls.CODE} in codemods/_rulescreens.py")
        for name in cls._FROM_SCREENS:
            if name in vars(cls):
                raise TypeError(f"{cls.__name__}.{name} is set in codemods/_rulescreens.py, not in the class")
        cls.PREFILTER = screen.PREFILTER
        cls.prefilter = staticmethod(screen.prefilter)  # type: ignore[method-assign]
        cls.screen = staticmethod(screen.screen)  # type: ignore[method-assign]

    def __init__(self, context: CodemodContext) -> None:
        super().__init__(context)
        self.settings: Settings = context.scratch.get(SETTINGS_KEY) or Settings()
        context.scratch.setdefault(FINDINGS_KEY, [])

    # -- detection ----------------------------------------------------------

    # The defaults of Screen (codemods._rulescreens), for a rule from
    # elsewhere; asyncmend's own rules take their entries there instead.
    prefilter = vars(Screen)["prefilter"]
    screen = vars(Screen)["screen"]

    @property
    def facts(self) -> Facts | None:
        """The file's :class:`~codemods._screen.Facts`, which a rule may
        consult to skip an expensive analysis where they show it cannot
        apply; ``None`` when the rule runs on its own as a LibCST codemod."""
        return self.context.scratch.get(FACTS_KEY)

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
        fixable = fixable and self.SAFETY is not Safety.NONE
        # Where the node is decides whether to fix it only when a fix may be
        # applied and a noqa comment or a declined fix could forbid it.
        placed_now = (
            fixable and self.settings.applies(self.CODE) and (bool(suppressions) or bool(self.settings.declined))
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
            and self.settings.applies(self.CODE)
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
                safety=self.SAFETY,
                fixed=apply,
                needs_import=needs_import if apply else None,
            )
        )
        return apply


# The data types are re-exported for the code that imported them from here.
__all__ = ["Edit", "Finding", "Fix", "Rule", "Safety"]
