"""Rules on a LibCST tree: one metadata resolution and one traversal for all
the rules of a file, imports added and removed once, positions found only
for what is reported.

Imported only when a file reaches LibCST (see ``codemods._engine``): a run
that needs no tree never pays for importing LibCST.
"""

from __future__ import annotations

import ast
import contextlib
import re
import sys
import warnings
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, Mapping, Sequence

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.matchers import MatcherDecoratableTransformer
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider, ProviderT
from libcst.metadata.position_provider import PositionProvidingCodegenState

from codemods._analysis import LexicalScopeProvider, has_attribute_hooks, transform
from codemods._base import FACTS_KEY, FINDINGS_KEY, SETTINGS_KEY, SUPPRESSIONS_KEY, Rule
from codemods._config import Settings
from codemods._engine import Suppressions, line_starts
from codemods._findings import Finding
from codemods._screen import Facts


class _BatchedRules(cst.CSTTransformer):
    """Runs several rules in one traversal, chaining their ``leave`` results.

    Most nodes interest no rule. Rather than asking every rule about every
    node (LibCST's matcher-aware ``on_visit`` costs a few attribute lookups
    per rule and node), the hooks are looked up once per node type into a
    table. A rule with matcher decorators or its own ``on_visit`` /
    ``on_leave`` is called through those, for every node, as LibCST would.
    """

    def __init__(self, rules: Sequence[Rule], positions: _PositionsOnDemand | None = None) -> None:
        super().__init__()
        self.rules = rules
        # Told which statement the traversal is in (see
        # _PositionsOnDemand.statement_ids), so that a position is found by
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
        # Read by codemods._analysis.transform: no attribute calls at all.
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
_PLAIN_DISPATCH: dict[type[Rule], bool] = {}


def _plain_dispatch(rule: Rule) -> bool:
    """Whether ``rule`` is visited exactly as ``CSTTransformer`` would visit
    it: no matcher decorators, no ``on_visit`` / ``on_leave`` of its own."""
    cls = type(rule)
    plain = _PLAIN_DISPATCH.get(cls)
    if plain is None:
        plain = _PLAIN_DISPATCH[cls] = (
            cls.on_visit is MatcherDecoratableTransformer.on_visit
            and cls.on_leave is MatcherDecoratableTransformer.on_leave
            and not rule._matchers
            and not rule._extra_visit_funcs
            and not rule._extra_leave_funcs
        )
    return plain


def _is_import_line(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], (cst.Import, cst.ImportFrom))
    )


def _import_of(statement: cst.BaseStatement) -> cst.Import | cst.ImportFrom:
    """The import of a line :func:`_is_import_line` accepted."""
    assert isinstance(statement, cst.SimpleStatementLine)
    small = statement.body[0]
    assert isinstance(small, (cst.Import, cst.ImportFrom))
    return small


def _skips_first(module: cst.Module) -> bool:
    """A docstring or ``__strict__`` flag first, which no import goes before."""
    first_line = module.body[0] if module.body else None
    if not isinstance(first_line, cst.SimpleStatementLine) or len(first_line.body) != 1:
        return False
    first = first_line.body[0]
    if isinstance(first, cst.Expr):
        return isinstance(first.value, cst.SimpleString)
    return (
        isinstance(first, cst.Assign)
        and len(first.targets) == 1
        and isinstance(first.targets[0].target, cst.Name)
        and first.targets[0].target.value == "__strict__"
    )


def _add_needed_imports(module: cst.Module, items: Sequence[Any]) -> cst.Module:
    """The imports the rules asked for (``AddImportsVisitor.add_needed_import``),
    placed as LibCST's AddImportsVisitor places them, without its two walks of
    the whole module (seven seconds of a ten-second fix on a 9,000-line file).

    Looked at, as there: the first block of import lines, after a docstring.
    A module already imported there is not imported again; names from a
    module imported there with ``from`` join that line. The rest follows the
    block: ``import m`` lines, sorted, then ``from m import a, b`` lines. The
    empty line LibCST puts after the block is added only to a module that had
    no import at all: in an existing block it would rewrite lines no rule
    touched.
    """
    body = list(module.body)
    start = 1 if _skips_first(module) else 0
    end = start
    while end < len(body) and _is_import_line(body[end]):
        end += 1
    block_end = end
    # A ``from __future__`` import must come first, also one that shares its
    # line with another statement (which the block above does not count).
    for index, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine) and any(
            isinstance(small, cst.ImportFrom)
            and small.module is not None
            and get_full_name_for_node(small.module) == "__future__"
            for small in statement.body
        ):
            end = max(end, index + 1)
    have_modules: set[str] = set()
    have_objects: dict[str, set[str]] = {}
    for statement in body[start:block_end]:
        small = _import_of(statement)
        if isinstance(small, cst.Import):
            have_modules.update(get_full_name_for_node(a.name) or "" for a in small.names if a.asname is None)
        elif not small.relative and small.module is not None:
            name = get_full_name_for_node(small.module) or ""
            if isinstance(small.names, cst.ImportStar):
                have_objects.setdefault(name, set()).add("*")
            else:
                have_objects.setdefault(name, set()).update(
                    a.evaluated_name for a in small.names if a.asname is None
                )
    modules: set[str] = set()
    objects: dict[str, set[str]] = {}
    for item in items:
        if item.relative or item.alias is not None or item.module_name == "__future__":
            raise ValueError(f"unsupported import request: {item!r}")
        if item.obj_name is None:
            if item.module_name not in have_modules:
                modules.add(item.module_name)
        elif not {"*", item.obj_name} & have_objects.get(item.module_name, set()):
            objects.setdefault(item.module_name, set()).add(item.obj_name)
    if not modules and not objects:
        return module
    # Names from a module already imported with ``from`` join its line.
    for index in range(start, block_end):
        small = _import_of(body[index])
        if not isinstance(small, cst.ImportFrom) or small.relative or small.module is None:
            continue
        if isinstance(small.names, cst.ImportStar):
            continue
        name = get_full_name_for_node(small.module) or ""
        if name in objects:
            added = [cst.ImportAlias(name=cst.Name(obj)) for obj in sorted(objects.pop(name))]
            body[index] = body[index].with_changes(body=[small.with_changes(names=[*added, *small.names])])
    config = module.config_for_parsing
    new = [cst.parse_statement(f"import {name}", config=config) for name in sorted(modules)]
    new += [
        cst.parse_statement(f"from {name} import {', '.join(sorted(names))}", config=config)
        for name, names in sorted(objects.items())
    ]
    after = body[end:]
    fresh = not any(
        isinstance(statement, cst.SimpleStatementLine)
        and any(isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body)
        for statement in body
    )
    if fresh and after:
        first = after[0]
        if not first.leading_lines:
            after[0] = first.with_changes(leading_lines=(cst.EmptyLine(),))
        elif first.leading_lines[0].comment is not None:
            after[0] = first.with_changes(leading_lines=(cst.EmptyLine(), *first.leading_lines))
    return module.with_changes(body=[*body[:end], *new, *after])


# Standard-library modules, to find where the file keeps them (3.10+ knows).
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) or frozenset(
    {"asyncio", "contextvars", "functools", "logging", "os", "re", "sys", "threading", "time", "typing"}
)


def _plain_import(statement: cst.BaseStatement) -> str | None:
    """``x.y`` for a line that is exactly ``import x.y``."""
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Import) and len(small.names) == 1 and small.names[0].asname is None:
            return get_full_name_for_node(small.names[0].name)
    return None


def _place_new_imports(before: cst.Module, after: cst.Module) -> cst.Module:
    """Move each ``import x`` of the standard library that the import adder
    put after the file's last import into alphabetical place among the
    file's own ``import`` lines of the standard library (``import asyncio``,
    ``import contextvars``), where isort and ruff would have it. A file with
    no such line keeps the adder's placement."""
    existing = {name for name in map(_plain_import, before.body) if name is not None}
    body = list(after.body)
    for statement in list(body):
        name = _plain_import(statement)
        if name is None or name in existing or name.split(".")[0] not in _STDLIB:
            continue
        index = body.index(statement)
        anchors: list[tuple[int, str]] = []
        for i, other in enumerate(body[:index]):
            other_name = _plain_import(other)
            if other_name is not None and other_name in existing and other_name.split(".")[0] in _STDLIB:
                anchors.append((i, other_name))
        if not anchors:
            continue
        earlier = [i for i, other_name in anchors if other_name < name]
        target = earlier[-1] + 1 if earlier else anchors[0][0]
        if target == index:
            continue
        moved = body.pop(index)
        assert isinstance(moved, cst.SimpleStatementLine)
        if target < len(body) and target == anchors[0][0] and not earlier:
            # Before the first one: take over its leading lines.
            first = body[target]
            moved = moved.with_changes(leading_lines=first.leading_lines)
            body[target] = first.with_changes(leading_lines=[])
        else:
            moved = moved.with_changes(leading_lines=[])
        body.insert(target, moved)
    return after.with_changes(body=body)


# (module, imported object or None, alias or None), as RemoveImportsVisitor takes them.
_Removal = tuple[str, "str | None", "str | None"]


def _remove_unused_imports(tree: cst.Module, requests: Sequence[_Removal]) -> cst.Module:
    """Drop each import a rule asked to drop, once nothing names what it binds.

    LibCST's RemoveImportsVisitor decides per scope with its full scope and
    qualified-name analysis: over a few seconds on a 4,000-line file. Here
    the rewritten module is read with the stdlib ``ast``, and an import goes
    only when its name appears nowhere: as no name in any scope, in no
    ``global`` or ``nonlocal``, in no string (``__all__``, ``getattr``, or
    before a dot: ``eval("time.monotonic()")``), in no ``# type:`` comment,
    and the import carries no ``# noqa`` (kept on purpose: a re-export). A
    name still used anywhere keeps every import of it; an unused import
    left behind is harmless, a used one removed is a ``NameError``.
    """
    named: set[str] = set()
    try:
        with warnings.catch_warnings():
            # The user's own invalid escapes and such are not our business.
            warnings.simplefilter("ignore")
            rewritten = ast.parse(tree.code)
    except (SyntaxError, ValueError):
        return tree  # the check that the fix compiles reports it
    annotations: list[ast.expr] = []
    code = tree.code
    lines = code.splitlines()
    # A type comment (``# type: (time.struct_time) -> float``) names what it
    # holds for type checkers; scanned as text, which may also find one in a
    # string: that keeps an import, which is harmless.
    for comment in _TYPE_COMMENT.findall(code):
        named.update(_WORD.findall(comment))
    for node in ast.walk(rewritten):
        if isinstance(node, ast.Name):
            named.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            named.update(node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            named.add(node.value)
            named.update(_BEFORE_DOT.findall(node.value))
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and _marked_noqa(lines, node):
            named.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.arg) and node.annotation is not None:
            annotations.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
    # A string annotation ("time.struct_time") names what it holds, for
    # typing.get_type_hints: every word of it counts as a use.
    for annotation in annotations:
        for node in ast.walk(annotation):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                named.update(_WORD.findall(node.value))
    unused = set()
    for module, obj, alias in requests:
        bound = alias or (obj if obj is not None else module.split(".")[0])
        if bound not in named:
            unused.add((module, obj, bound))
    if not unused:
        return tree
    return tree.visit(_DropImports(unused))


_WORD = re.compile(r"[^\W\d]\w*")
_BEFORE_DOT = re.compile(r"\b([^\W\d]\w*)\.")
_TYPE_COMMENT = re.compile(r"#\s*type:([^\n]*)")


def _marked_noqa(lines: list[str], node: ast.stmt) -> bool:
    """Whether a line of the import statement ``node`` carries ``# noqa``."""
    last = node.end_lineno or node.lineno
    return any("#" in line and "noqa" in line.lower() for line in lines[node.lineno - 1 : last])


class _DropImports(cst.CSTTransformer):
    """Remove the aliases ``(module, object or None, bound name)`` from every
    import statement; a statement left with none goes."""

    def __init__(self, unused: set[tuple[str, str | None, str]]) -> None:
        super().__init__()
        self.unused = unused
        self._first: cst.CSTNode | None = None
        self._first_removed = False

    def visit_Module(self, node: cst.Module) -> None:
        self._first = node.body[0] if node.body else None

    def _keep(self, module: str, obj: str | None, alias: cst.ImportAlias) -> bool:
        bound = alias.evaluated_alias or (obj if obj is not None else module.split(".")[0])
        return (module, obj, bound) not in self.unused

    def leave_Import(
        self, original_node: cst.Import, updated_node: cst.Import
    ) -> cst.Import | cst.RemovalSentinel:
        names = [a for a in updated_node.names if self._keep(a.evaluated_name, None, a)]
        return self._with(updated_node, names)

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom | cst.RemovalSentinel:
        if updated_node.relative or updated_node.module is None or isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        module = get_full_name_for_node(updated_node.module) or ""
        names = [a for a in updated_node.names if self._keep(module, a.evaluated_name, a)]
        return self._with(updated_node, names)

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        # The first statement gone (``import threading`` on line 1): the blank
        # lines that parted it from the next one would open the file.
        if not self._first_removed or not updated_node.body:
            return updated_node
        if updated_node.header and updated_node.header[-1].comment is not None:
            return updated_node
        first = updated_node.body[0]
        lines = list(first.leading_lines)
        while lines and lines[0].comment is None:
            del lines[0]
        if len(lines) == len(first.leading_lines):
            return updated_node
        return updated_node.with_changes(
            body=[first.with_changes(leading_lines=lines), *updated_node.body[1:]]
        )

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        if not updated_node.body and self._first is original_node:
            self._first_removed = True
        # ``a; import time`` without the import: no semicolon left dangling.
        if updated_node.body and len(updated_node.body) < len(original_node.body):
            last = updated_node.body[-1]
            if not isinstance(last.semicolon, cst.MaybeSentinel):
                body = [*updated_node.body[:-1], last.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)]
                return updated_node.with_changes(body=body)
        return updated_node

    @staticmethod
    def _with(node: cst.Import | cst.ImportFrom, names: list[cst.ImportAlias]) -> Any:
        assert not isinstance(node.names, cst.ImportStar)
        if len(names) == len(node.names):
            return node
        if not names:
            return cst.RemoveFromParent()
        # The new last alias takes the comma (or none) of the old last one.
        names[-1] = names[-1].with_changes(comma=node.names[-1].comma)  # type: ignore[index]
        return node.with_changes(names=names)


class _PositionsOnDemand:
    """Positions of the nodes asked for, as :class:`PositionProvider` gives
    them, without recording every node's.

    A finding needs the position of one node; LibCST's provider records a
    position for every node of the module, which costs seven code
    generations (measured: 4.5 s against 0.65 s over 50 files of the async
    benchmark corpus). A finding whose position decides nothing during the
    traversal (no ``# noqa`` in the file, no declined fix) is :meth:`defer`-red:
    after the traversal, its position is found with every other deferred
    one. A lookup needed at once is found for that node alone; after a few
    such lookups that need the whole module generated, the full provider
    is cheaper and takes over.

    Given the source and its ``ast``, a node is placed by generating only
    the statement the traversal was in when it was asked for (a top-level
    statement, or one in the body of a top-level class, function or other
    compound statement): the ``ast`` says on which line that statement
    starts, and the generated statement must stand in the source from the
    start of that line, character for character, or it is not trusted.
    Nodes not so placed are placed by generating the module up to the last
    of them.
    """

    MAX_PASSES = 3

    def __init__(
        self, wrapper: MetadataWrapper, source: str | None = None, tree: ast.Module | None = None
    ) -> None:
        self._wrapper = wrapper
        self._computed: dict[cst.CSTNode, CodeRange] = {}
        self._passes = 0
        self._full: Mapping[cst.CSTNode, CodeRange] | None = None
        self.deferred: list[tuple[cst.CSTNode, tuple[str, ...]]] = []
        self._source = source
        self._tree = tree
        # The statements a node can be placed in (see statement_ids), the
        # traversal's path through them, and where each deferred node was met.
        self._anchors: list[_Anchor] = []
        self._path: list[int] = []
        self._anchor_of: dict[cst.CSTNode, int] = {}
        self._line_offsets: list[int] | None = None

    def statement_ids(self) -> dict[int, int] | None:
        """``id`` of each statement a node can be placed in -> its number,
        for :meth:`enter` and :meth:`leave`; ``None`` when the source or its
        ``ast`` is not known."""
        if self._source is None or self._tree is None:
            return None
        module = self._wrapper.module
        ids: dict[int, int] = {}

        def add(
            statements: Sequence[cst.BaseStatement], nodes: Sequence[ast.stmt], indents: tuple[str, ...]
        ) -> list[ast.stmt | None]:
            """Anchors for ``statements`` (paired with ``nodes`` if they pair up)."""
            paired: list[ast.stmt | None] = [*(_pairs(statements, nodes) or [None] * len(statements))]
            for statement, node in zip(statements, paired):
                ids[id(statement)] = len(self._anchors)
                self._anchors.append(_Anchor(statement, indents, node))
            return paired

        for statement, node in zip(module.body, add(module.body, self._tree.body, ())):
            block = getattr(statement, "body", None)
            if node is not None and isinstance(block, cst.IndentedBlock):
                indent = module.default_indent if block.indent is None else block.indent
                add(block.body, getattr(node, "body", []), (indent,))
        return ids

    def enter(self, anchor: int) -> None:
        """The traversal enters statement number ``anchor``."""
        self._path.append(anchor)

    def leave(self) -> None:
        """The traversal leaves the statement it entered last."""
        self._path.pop()

    def defer(self, node: cst.CSTNode, codes: tuple[str, ...]) -> None:
        """Place ``node`` after the traversal; ``codes`` are those a noqa
        comment on its line may name to suppress its finding."""
        self.deferred.append((node, codes))
        if self._path:
            self._anchor_of[node] = self._path[-1]

    def resolve_deferred(self) -> None:
        """Record the positions of every deferred node."""
        wanted = {node for node, _ in self.deferred if node not in self._computed}
        if wanted and self._full is None:
            self._record(wanted)

    def _record(self, wanted: set[cst.CSTNode]) -> bool:
        """Place ``wanted``; return whether the module had to be generated."""
        by_anchor: dict[int, list[cst.CSTNode]] = {}
        rest = set()
        for node in wanted:
            anchor = self._anchor_of.get(node)
            if anchor is None:
                rest.add(node)
            else:
                by_anchor.setdefault(anchor, []).append(node)
        for anchor, nodes in by_anchor.items():
            self._place_in(self._anchors[anchor], nodes)
            rest.update(node for node in nodes if node not in self._computed)
        if not rest:
            return False
        state = _TargetedPositions(
            default_indent=self._wrapper.module.default_indent,
            default_newline=self._wrapper.module.default_newline,
            provider=self,  # type: ignore[arg-type]
        )
        state.wanted = rest
        state.remaining = len(rest)
        try:
            self._wrapper.module._codegen(state)
        except _AllPlaced:
            pass
        return True

    def _place_in(self, anchor: _Anchor, nodes: list[cst.CSTNode]) -> None:
        """Place ``nodes`` by generating ``anchor``'s statement alone, if it
        is where the ``ast`` says and holds them all."""
        if anchor.node is None:
            return
        module = self._wrapper.module
        placed = _Placed()
        state = _TargetedPositions(
            default_indent=module.default_indent,
            default_newline=module.default_newline,
            provider=placed,  # type: ignore[arg-type]
        )
        for indent in anchor.indents:
            state.increase_indent(indent)
        state.wanted = set(nodes)
        state.remaining = len(nodes)
        state.anchor = anchor.statement
        state.stop_when_placed = False  # the whole statement, to compare with the source
        anchor.statement._codegen(state)
        if state.anchor_line is None or state.remaining:
            return
        # The statement's code began on line 1 of this generation; its first
        # token is on the line the ast gives it.
        shift = anchor.node.lineno - state.anchor_line
        if not self._stands_at("".join(state.tokens), 1 + shift):
            return
        for node in nodes:
            found = placed._computed[node]
            self._computed[node] = CodeRange(
                CodePosition(found.start.line + shift, found.start.column),
                CodePosition(found.end.line + shift, found.end.column),
            )

    def _stands_at(self, code: str, line: int) -> bool:
        """Whether the source holds ``code`` from the start of ``line``."""
        source = self._source
        assert source is not None
        offsets = self._line_offsets
        if offsets is None:
            offsets = self._line_offsets = line_starts(source)
        if not 1 <= line <= len(offsets):
            return False
        offset = offsets[line - 1]
        if source.startswith(code, offset):
            return True
        # A module without a newline at its end drops the one its last
        # statement generates.
        module = self._wrapper.module
        newline = module.default_newline
        return (
            not module.has_trailing_newline
            and code.endswith(newline)
            and offset + len(code) - len(newline) == len(source)
            and source.startswith(code[: -len(newline)], offset)
        )

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        found = self._computed.get(node)
        if found is not None:
            return found
        if self._full is None and self._passes < self.MAX_PASSES:
            if self._path and node not in self._anchor_of:
                self._anchor_of[node] = self._path[-1]
            if self._record({node}):
                self._passes += 1
            if node in self._computed:
                return self._computed[node]
        if self._full is None:
            self._full = self._wrapper.resolve(PositionProvider)
        return self._full[node]

    def get(self, node: cst.CSTNode, default: Any = None) -> Any:
        try:
            return self[node]
        except KeyError:
            return default


@dataclass(frozen=True)
class _Anchor:
    """A statement positions can be found from: the indentation its block
    gives it, and its ``ast`` counterpart (``None``: not known)."""

    statement: cst.BaseStatement
    indents: tuple[str, ...]
    node: ast.stmt | None


# The ast's compound statements; every other statement is one of the small
# statements of a LibCST SimpleStatementLine.
_AST_COMPOUND: tuple[type[ast.stmt], ...] = tuple(
    getattr(ast, name)
    for name in (
        "FunctionDef", "AsyncFunctionDef", "ClassDef", "If", "For", "AsyncFor", "While",
        "With", "AsyncWith", "Try", "TryStar", "Match",
    )
    if hasattr(ast, name)
)


def _pairs(statements: Sequence[cst.BaseStatement], nodes: Sequence[ast.stmt]) -> list[ast.stmt] | None:
    """Per LibCST statement, the ``ast`` statement that starts it (the first
    of a line's small statements); ``None`` if the two do not pair up."""
    paired = []
    position = 0
    for statement in statements:
        simple = isinstance(statement, cst.SimpleStatementLine)
        if position >= len(nodes) or isinstance(nodes[position], _AST_COMPOUND) == simple:
            return None
        paired.append(nodes[position])
        position += len(statement.body) if simple else 1  # type: ignore[attr-defined]
    return paired if position == len(nodes) else None


class _Placed:
    """Where a code generation of one statement records positions."""

    def __init__(self) -> None:
        self._computed: dict[cst.CSTNode, CodeRange] = {}


class _AllPlaced(Exception):
    """Raised by :class:`_TargetedPositions` once the last wanted node is placed."""


class _TargetedPositions(PositionProvidingCodegenState):
    """Code generation that records positions inside the wanted nodes only
    (the bookkeeping of :class:`PositionProvidingCodegenState`, skipped elsewhere).

    Outside the wanted nodes the tokens are only collected; the line and
    column are brought up to date from them when a wanted node begins (the
    provider counts each token's newlines as it adds it: most of a code
    generation's time). The generation stops once the last wanted node is
    placed: what follows it moves no position asked for.
    """

    wanted: set[cst.CSTNode] = set()
    inside = 0
    remaining = 0
    # tokens[:counted] are in line and column.
    counted = 0
    # Stop generating once the last wanted node is placed.
    stop_when_placed = True
    # A node whose start line is recorded (``anchor_line``) even though it is
    # not wanted: the statement a generation of one statement starts from.
    anchor: cst.CSTNode | None = None
    anchor_line: int | None = None

    def add_token(self, value: str) -> None:
        if self.inside:
            super().add_token(value)
        else:
            self.tokens.append(value)

    def add_indent_tokens(self) -> None:
        if self.inside:
            super().add_indent_tokens()
        else:
            self.tokens.extend(self.indent_tokens)

    def _count(self) -> None:
        # Joined with a character no token holds (the source has no NUL), so
        # that a "\r" ending one token and a "\n" starting the next count as
        # two line ends, as the provider counts them token by token.
        pending = "\0".join(self.tokens[self.counted:])
        segments = _NEWLINE.split(pending)
        if len(segments) == 1:
            self.column += len(pending) - pending.count("\0")
        else:
            self.line += len(segments) - 1
            self.column = len(segments[-1]) - segments[-1].count("\0")
        self.counted = len(self.tokens)

    def before_codegen(self, node: cst.CSTNode) -> None:
        if node in self.wanted:
            if not self.inside:
                self._count()
            self.inside += 1
        if self.inside:
            super().before_codegen(node)

    def after_codegen(self, node: cst.CSTNode) -> None:
        if self.inside:
            super().after_codegen(node)
        if node in self.wanted:
            self.inside -= 1
            if not self.inside:
                self.counted = len(self.tokens)
            self.remaining -= 1
            if not self.remaining and self.stop_when_placed:
                raise _AllPlaced

    @contextlib.contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> Iterator[None]:
        if node is self.anchor:
            if not self.inside:
                self._count()
            self.anchor_line = self.line
        if not self.inside:
            yield
            return
        with super().record_syntactic_position(node, start_node=start_node, end_node=end_node):
            yield


_NEWLINE = re.compile(r"\r\n?|\n")


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
    context = CodemodContext(filename=filename)
    context.scratch[SETTINGS_KEY] = settings
    if suppressions is not None:
        context.scratch[SUPPRESSIONS_KEY] = suppressions
    if facts is not None:
        context.scratch[FACTS_KEY] = facts
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    context = replace(context, wrapper=wrapper)
    instances = [rule(context) for rule in rules]
    # Resolved here rather than through the wrapper: besides each provider's
    # own pass, MetadataWrapper.resolve walks the module once more with an
    # empty batch of batchable providers (a fifth of the time on files that
    # reach this point). Positions are found only for what is reported.
    own: dict[ProviderT, Mapping[cst.CSTNode, object]] = {
        PositionProvider: _PositionsOnDemand(  # type: ignore[dict-item]
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
    assert isinstance(positions, _PositionsOnDemand)
    try:
        tree = transform(wrapper.module, _BatchedRules(instances, positions))
    finally:
        for instance in instances:
            instance.metadata = {}
    # Imports are added and removed once, after every rule has had its say.
    requested = context.scratch.get(AddImportsVisitor.CONTEXT_KEY)
    if requested:
        tree = _place_new_imports(tree, _add_needed_imports(tree, requested))
    removals = context.scratch.get(RemoveImportsVisitor.CONTEXT_KEY)
    if removals:
        tree = _remove_unused_imports(tree, removals)
    findings = _placed(context.scratch[FINDINGS_KEY], positions, suppressions)
    return tree, sorted(findings, key=Finding.sort_key)


def _placed(
    findings: list[Finding], positions: _PositionsOnDemand, suppressions: Suppressions | None
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
