"""Rules on a LibCST tree: one metadata resolution and one traversal for all
the rules of a file, imports added and removed once, positions found only
for what is reported.

Imported only when a file reaches LibCST (see :mod:`codemods.engine.passes`):
a run that needs no tree never pays for importing LibCST.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Mapping, Sequence

import sys

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, ProviderT

from ..findings import Finding
from ..rule import Rule
from ..screen.facts import Facts
from ..settings import Settings
from ..source.noqa import Suppressions
from .imports import add_needed_imports, place_new_imports, remove_unused_imports
from .positions import PositionsOnDemand
from .scope import LexicalScopeProvider
from .transformer import (
    FACTS_KEY,
    FINDINGS_KEY,
    SETTINGS_KEY,
    SUPPRESSIONS_KEY,
    AddImportsVisitor,
    Context,
    RemoveImportsVisitor,
    RuleMethods,
)
from .traversal import has_attribute_hooks, transform


class _BatchedRules(cst.CSTTransformer):
    """Runs several rules in one traversal, chaining their ``leave`` results.

    Most nodes interest no rule. Rather than asking every rule about every
    node (LibCST's matcher-aware ``on_visit`` costs a few attribute lookups
    per rule and node), the hooks are looked up once per node type into a
    table. A rule with matcher decorators or its own ``on_visit`` /
    ``on_leave`` is called through those, for every node, as LibCST would.
    """

    def __init__(self, rules: Sequence[RuleMethods], positions: PositionsOnDemand | None = None) -> None:
        super().__init__()
        self.rules = rules
        # Told which statement the traversal is in (see
        # PositionsOnDemand.statement_ids), so that a position is found by
        # generating that statement alone.
        self._positions = positions
        self._statements = positions.statement_ids() if positions is not None else None
        self._plain = [_plain_dispatch(rule) for rule in rules]
        self._visits: dict[type[cst.CSTNode], list[Callable[[Any], object]]] = {}
        self._leaves: dict[type[cst.CSTNode], list[Callable[[Any, Any], object]]] = {}
        # Attribute hooks (``visit_Call_func``) are rare, but dispatching to
        # them costs two lookups per attribute of every node (a third of a
        # traversal): only the rules that define one get those calls.
        self._attribute_rules = [rule for rule in rules if has_attribute_hooks(type(rule))]
        # Read by codemods.cst.traversal.transform: no attribute calls at all.
        self.attribute_hooks = bool(self._attribute_rules)

    def _hooks(self, kind: str, node_type: type[cst.CSTNode]) -> list[Callable[..., object]]:
        hooks: list[Callable[..., object]] = []
        for rule, plain in zip(self.rules, self._plain):
            if not plain:
                hooks.append(rule.on_visit if kind == "visit" else rule.on_leave)
                continue
            name = f"{kind}_{node_type.__name__}"
            # LibCST's typed base classes define every hook as a no-op.
            if getattr(type(rule), name, None) not in (None, getattr(cst.CSTTransformer, name, None)):
                hooks.append(getattr(rule, name))
        return hooks

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._statements is not None:
            anchor = self._statements.get(id(node))
            if anchor is not None:
                self._positions.enter(anchor)  # type: ignore[union-attr]
        hooks = self._visits.get(type(node))
        if hooks is None:
            hooks = self._visits[type(node)] = self._hooks("visit", type(node))
        for hook in hooks:
            hook(node)
        return True

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        for rule in self._attribute_rules:
            rule.on_visit_attribute(node, attribute)

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        for rule in self._attribute_rules:
            rule.on_leave_attribute(original_node, attribute)

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):  # type: ignore[override]
        if self._statements is not None and id(original_node) in self._statements:
            self._positions.leave()  # type: ignore[union-attr]
        hooks = self._leaves.get(type(original_node))
        if hooks is None:
            hooks = self._leaves[type(original_node)] = self._hooks("leave", type(original_node))
        result: object = updated_node
        for hook in hooks:
            result = hook(original_node, result)
            if not isinstance(result, cst.CSTNode):
                # A removal or a flattened sequence cannot be handed on.
                break
        return result


# Per rule class: whether its hooks can be called straight from the table.
_PLAIN_DISPATCH: dict[type[RuleMethods], bool] = {}


def _plain_dispatch(rule: RuleMethods) -> bool:
    """Whether ``rule`` is visited exactly as ``CSTTransformer`` would visit
    it: no matcher decorators, no ``on_visit`` / ``on_leave`` of its own."""
    cls = type(rule)
    plain = _PLAIN_DISPATCH.get(cls)
    if plain is None:
        # The generic dispatch of the rule's base: LibCST's plain one, or,
        # for a rule that runs as its codemod, the matchers' (loaded then).
        visits, leaves = {cst.CSTTransformer.on_visit}, {cst.CSTTransformer.on_leave}
        matchers = sys.modules.get("libcst.matchers")
        if matchers is not None:
            visits.add(matchers.MatcherDecoratableTransformer.on_visit)
            leaves.add(matchers.MatcherDecoratableTransformer.on_leave)
        plain = _PLAIN_DISPATCH[cls] = (
            cls.on_visit in visits  # type: ignore[attr-defined]
            and cls.on_leave in leaves  # type: ignore[attr-defined]
            and not getattr(rule, "_matchers", None)
            and not getattr(rule, "_extra_visit_funcs", None)
            and not getattr(rule, "_extra_leave_funcs", None)
        )
    return plain




def run_rules(
    module: cst.Module,
    rules: Sequence[type[Rule]],
    settings: Settings,
    *,
    filename: str = "<string>",
    suppressions: Suppressions | None = None,
    facts: Facts | None = None,
    source: str | None = None,
) -> tuple[cst.Module, list[Finding]]:
    """One metadata resolution and one traversal for all ``rules``.

    ``source`` is the text ``module`` was parsed from; with the ``facts`` of
    its ``ast``, a finding's position is found from its statement alone.
    """
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    context = Context(filename)
    context.wrapper = wrapper
    context.scratch[SETTINGS_KEY] = settings
    if suppressions is not None:
        context.scratch[SUPPRESSIONS_KEY] = suppressions
    if facts is not None:
        context.scratch[FACTS_KEY] = facts
    instances = [rule.transformer()(context) for rule in rules]
    # Resolved here rather than through the wrapper: besides each provider's
    # own pass, MetadataWrapper.resolve walks the module once more with an
    # empty batch of batchable providers (a fifth of the time on files that
    # reach this point). Positions are found only for what is reported.
    own: dict[ProviderT, Mapping[cst.CSTNode, object]] = {
        PositionProvider: PositionsOnDemand(  # type: ignore[dict-item]
            wrapper, source, facts.tree if facts is not None else None
        ),
    }
    if any(LexicalScopeProvider in instance.get_inherited_dependencies() for instance in instances):
        own[LexicalScopeProvider] = LexicalScopeProvider.scopes_of(wrapper.module)
    for instance in instances:
        dependencies = instance.get_inherited_dependencies()
        others = dependencies - own.keys()
        instance.metadata = {
            **{key: value for key, value in own.items() if key in dependencies},
            **(wrapper.resolve_many(others) if others else {}),
        }
    positions = own[PositionProvider]
    assert isinstance(positions, PositionsOnDemand)
    try:
        tree = transform(wrapper.module, _BatchedRules(instances, positions))
    finally:
        for instance in instances:
            instance.metadata = {}
    # Imports are added and removed once, after every rule has had its say.
    requested = context.scratch.get(AddImportsVisitor.CONTEXT_KEY)
    if requested:
        tree = place_new_imports(tree, add_needed_imports(tree, requested))
    removals = context.scratch.get(RemoveImportsVisitor.CONTEXT_KEY)
    if removals:
        # An import another file reaches through this module stays.
        reached = frozenset(name for path, name, _ in settings.imported_elsewhere if path == filename)
        tree = remove_unused_imports(tree, removals, keep=reached)
    findings = _placed(context.scratch[FINDINGS_KEY], positions, suppressions)
    return tree, sorted(findings, key=Finding.sort_key)


def _placed(
    findings: list[Finding], positions: PositionsOnDemand, suppressions: Suppressions | None
) -> list[Finding]:
    """The findings with the positions of those whose node was deferred, and
    without those a noqa comment on that line suppresses."""
    if not positions.deferred:
        return findings
    positions.resolve_deferred()
    nodes = iter(positions.deferred)
    placed = []
    for finding in findings:
        if finding.line == 0:
            node, codes = next(nodes)
            rng = positions[node]
            if suppressions and suppressions.is_suppressed(rng.start.line, codes):
                continue
            finding = replace(
                finding,
                line=rng.start.line,
                column=rng.start.column + 1,
                end_line=rng.end.line,
                end_column=rng.end.column + 1,
            )
        placed.append(finding)
    return placed
