"""Line and column of the nodes a finding is reported at, found on demand."""

from __future__ import annotations

import ast
import contextlib
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState

from ..source.text import line_starts

_NEWLINE = re.compile(r"\r\n?|\n")

class PositionsOnDemand:
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
        # Anchors generated for some of their nodes already (see _place_in).
        self._generated: set[int] = set()
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
            self._place_in(self._anchors[anchor], nodes, everything=anchor in self._generated)
            self._generated.add(anchor)
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

    def _place_in(self, anchor: _Anchor, nodes: list[cst.CSTNode], *, everything: bool = False) -> None:
        """Place ``nodes`` by generating ``anchor``'s statement alone, if it
        is where the ``ast`` says and holds them all.

        ``everything``: record every node of the statement, not only
        ``nodes``. A second look into the same statement does: the nodes
        of a statement asked for one at a time (a file with a ``# noqa``
        places each finding as it is reported) would otherwise generate it
        once per finding, a cost that grows with the square of the findings
        of a large class.
        """
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
        state.wanted = {anchor.statement} if everything else set(nodes)
        state.remaining = len(state.wanted)
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
        for node in placed._computed if everything else nodes:
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
