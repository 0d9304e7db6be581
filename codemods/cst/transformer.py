"""What a rule's visitor methods run on in the engine: a plain LibCST
transformer with the rule's settings, its findings and the file's facts at
hand (:class:`RuleTransformer`), and the context the rules read and ask for
imports through (:class:`Context`).

The same methods make each rule a LibCST codemod command too
(:class:`codemods.cst.command.RuleCommand`, for ``python -m libcst.tool
codemod``). The engine does not run that one: LibCST's codemod package
imports its matchers, 0.2 s of CPU, more than the LibCST stage of a
pre-commit run spends on its files. Nothing here imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider, ProviderT

from ..findings import Finding, Safety
from ..settings import Settings
from .scope import LexicalScopeProvider, Scope

if TYPE_CHECKING:
    from ..model.project import ModuleView
    from ..screen.facts import Facts

FINDINGS_KEY = "asyncmend.findings"
SETTINGS_KEY = "asyncmend.settings"
SUPPRESSIONS_KEY = "asyncmend.suppressions"
# The stdlib-ast facts of the file (codemods.screen.facts.Facts), when the engine has them.
FACTS_KEY = "asyncmend.facts"
# What every rule reads of a tree (LibCST looks a class's dependencies up
# on the bases that are its MetadataDependent classes, so each base names them).
BASE_METADATA: tuple[ProviderT, ...] = (PositionProvider, LexicalScopeProvider)


class Context:
    """What the rules of one file share, as LibCST's ``CodemodContext``
    holds it for a codemod: the file's name, the scratch space of the pass
    (findings, settings, the imports asked for), warnings, the tree's
    metadata wrapper."""

    def __init__(self, filename: str | None = None) -> None:
        self.filename = filename
        self.scratch: dict[str, Any] = {}
        self.warnings: list[str] = []
        self.wrapper: MetadataWrapper | None = None

    @property
    def module(self) -> cst.Module | None:
        return self.wrapper.module if self.wrapper is not None else None


class RuleMethods:
    """What a rule's visitor methods call, whichever base runs them: the
    engine's :class:`RuleTransformer` or the LibCST codemod
    :class:`~codemods.cst.command.RuleCommand`."""

    # Set by the rule (see codemods.rule.Rule); declared for the type checker.
    CODE: ClassVar[str]
    SLUG: ClassVar[str]
    SAFETY: ClassVar[Safety]
    EQUIVALENTS: ClassVar[tuple[str, ...]]
    OPTIONS: ClassVar[Any]
    context: Any
    settings: Settings
    metadata: Any
    get_metadata: Any  # LibCST's MetadataDependent, further along the bases

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


class RuleTransformer(RuleMethods, cst.CSTTransformer):
    """What the engine runs a rule's visitor methods on (see
    :meth:`codemods.rule.Rule.transformer`): LibCST's plain transformer,
    with ``context`` and ``warn`` as a codemod has them. A rule with
    matcher decorators, which only LibCST's codemod base honours, runs as
    its codemod instead."""

    METADATA_DEPENDENCIES: ClassVar[Sequence[ProviderT]] = BASE_METADATA

    def __init__(self, context: Context) -> None:
        super().__init__()
        self.context = context
        self.settings = context.scratch.get(SETTINGS_KEY) or Settings()
        context.scratch.setdefault(FINDINGS_KEY, [])

    @property
    def module(self) -> cst.Module | None:
        return self.context.module

    def warn(self, warning: str) -> None:
        self.context.warnings.append(warning)


# What LibCST's matcher decorators (``@m.visit``, ``@m.call_if_inside``...)
# set on the methods they decorate (libcst.matchers._decorators).
MATCHER_ATTRIBUTES = ("_call_if_inside_matcher", "_call_if_not_inside_matcher", "_visit_matcher", "_leave_matcher")


def has_matcher_decorators(cls: type) -> bool:
    """Whether a method of ``cls`` or of a base of its own (not LibCST's)
    carries a matcher decorator."""
    for klass in cls.__mro__:
        if klass.__module__.startswith("libcst.") or klass is object:
            continue
        for value in vars(klass).values():
            if callable(value) and any(hasattr(value, name) for name in MATCHER_ATTRIBUTES):
                return True
    return False


# -- imports a rule asks for --------------------------------------------------------------


class ImportRequest:
    """An import a rule asked for, as LibCST's ``ImportItem`` holds it."""

    __slots__ = ("module_name", "obj_name", "alias", "relative")

    def __init__(self, module_name: str, obj_name: str | None, alias: str | None, relative: int) -> None:
        # ``.mod`` is ``mod`` one package up, as LibCST reads it.
        bare = module_name.lstrip(".")
        self.module_name = bare
        self.obj_name = obj_name
        self.alias = alias
        self.relative = relative + len(module_name) - len(bare)

    def __repr__(self) -> str:
        return f"ImportRequest({self.module_name!r}, {self.obj_name!r}, {self.alias!r}, {self.relative})"


class AddImportsVisitor:
    """``AddImportsVisitor.add_needed_import(context, ...)``, as a rule asks
    LibCST's: recorded under the same key, in the engine's context; handed
    to LibCST's own in a codemod's (``python -m libcst.tool``), which adds
    the imports after the codemod runs."""

    CONTEXT_KEY = "AddImportsVisitor"

    @staticmethod
    def add_needed_import(
        context: Any, module: str, obj: str | None = None, asname: str | None = None, relative: int = 0
    ) -> None:
        if not isinstance(context, Context):
            from libcst.codemod.visitors import AddImportsVisitor as LibCSTs

            LibCSTs.add_needed_import(context, module, obj, asname, relative)
            return
        if module == "__future__" and obj is None:
            raise ValueError("Cannot import __future__ directly!")
        context.scratch.setdefault(AddImportsVisitor.CONTEXT_KEY, []).append(
            ImportRequest(module, obj, asname, relative)
        )


class RemoveImportsVisitor:
    """``RemoveImportsVisitor.remove_unused_import(context, ...)``, as
    :class:`AddImportsVisitor` takes an import to add."""

    CONTEXT_KEY = "RemoveImportsVisitor"

    @staticmethod
    def remove_unused_import(context: Any, module: str, obj: str | None = None, asname: str | None = None) -> None:
        if not isinstance(context, Context):
            from libcst.codemod.visitors import RemoveImportsVisitor as LibCSTs

            LibCSTs.remove_unused_import(context, module, obj, asname)
            return
        context.scratch.setdefault(RemoveImportsVisitor.CONTEXT_KEY, []).append((module, obj, asname))


__all__ = [
    "FACTS_KEY",
    "FINDINGS_KEY",
    "SETTINGS_KEY",
    "SUPPRESSIONS_KEY",
    "BASE_METADATA",
    "AddImportsVisitor",
    "Context",
    "RemoveImportsVisitor",
    "RuleMethods",
    "RuleTransformer",
    "has_matcher_decorators",
]
