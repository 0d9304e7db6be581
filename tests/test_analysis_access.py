"""Read and write sets of a statement, the shared analysis behind AM201/AM202."""

from __future__ import annotations

import libcst as cst
import pytest

from asyncmend.codemods.analysis.dependence import accesses
from asyncmend.codemods.analysis.dependence import depends_on, paths_overlap


def access(code: str):  # type: ignore[no-untyped-def]
    statement = cst.parse_statement(code)
    assert isinstance(statement, cst.SimpleStatementLine)
    return accesses(statement.body[0])


def test_assignment_binds_its_target_and_reads_its_value() -> None:
    result = access("user = await get_user(uid, key=k)")
    assert result.writes == {"user"}
    # ``key=`` names a parameter; it is not a read.
    assert result.reads == {"get_user", "uid", "k"}


def test_attribute_and_subscript_paths() -> None:
    result = access("self.token = await login(cfg.auth.user, table[i])")
    assert result.writes == {"self.token"}
    assert {"cfg.auth.user", "table[]", "i"} <= result.reads
    # Assigning an attribute does not read the object as a whole.
    assert "self" not in result.reads


def test_walrus_binds_in_the_statement() -> None:
    result = access("await store(first := items[0])")
    assert "first" in result.writes
    assert "items[]" in result.reads


def test_tuple_and_starred_targets() -> None:
    assert access("a, (b, *c) = await pair()").writes == {"a", "b", "c"}


def test_augmented_assignment_reads_and_writes_its_target() -> None:
    result = access("total += await count()")
    assert "total" in result.reads and "total" in result.writes


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("self.token", "self.token", True),
        ("self.token", "self", True),
        ("self.token", "self.token.value", True),
        ("self.token", "self.other", False),
        ("self.token", "self.tokens", False),
        ("d[]", "d", True),
        ("x", "xs", False),
    ],
)
def test_paths_overlap_by_prefix(a: str, b: str, overlap: bool) -> None:
    assert paths_overlap(a, b) is overlap
    assert paths_overlap(b, a) is overlap


def test_a_later_read_of_an_earlier_binding_is_a_dependence() -> None:
    login = access("self.token = await login()")
    fetch = access("await fetch(self.token)")
    other = access("await fetch(self.other)")
    assert depends_on(fetch, login)
    assert not depends_on(other, login)
    # Reading before the other binds is no dependence: the value read is the same.
    assert not depends_on(access("x = await make()"), access("await use(y)"))
    assert not depends_on(access("y = await make()"), access("await use(y)"))


def test_children_agrees_with_libcst_on_every_node_of_the_fixtures() -> None:
    from pathlib import Path

    import libcst as cst

    from asyncmend.codemods.cst.traversal import children

    root = Path(__file__).parent
    seen: set[str] = set()
    for path in sorted([*(root / "fixtures").glob("*/*.py"), *(root.parent / "examples").rglob("*.py")]):
        stack: list[cst.CSTNode] = [cst.parse_module(path.read_bytes())]
        while stack:
            node = stack.pop()
            expected = list(node.children)
            assert [id(c) for c in children(node)] == [id(c) for c in expected], (path, type(node).__name__)
            seen.add(type(node).__name__)
            stack.extend(expected)
    assert len(seen) > 100  # most node types were compared


def _walk_sources() -> list[bytes]:
    import sysconfig
    from pathlib import Path

    root = Path(__file__).parent
    paths = sorted([*(root / "fixtures").glob("*/*.py"), *(root.parent / "examples").rglob("*.py")])
    # The grammar's own tests: every statement and expression form.
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    paths += [p for p in (stdlib / "test" / "test_grammar.py", stdlib / "test" / "test_patma.py") if p.exists()]
    return [path.read_bytes() for path in paths]


def test_walk_calls_a_visitor_as_libcst_visits_it() -> None:
    import libcst as cst

    from asyncmend.codemods.cst.traversal import AttributeHooksByTable, walk

    class Recorder(cst.CSTVisitor):
        """Every call LibCST makes, through its own dispatch."""

        def __init__(self) -> None:
            super().__init__()
            self.calls: list[tuple[str, int, str]] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            self.calls.append(("visit", id(node), ""))
            # Children skipped under a lambda, as a visitor may ask.
            return not isinstance(node, cst.Lambda)

        def on_leave(self, original_node: cst.CSTNode) -> None:
            self.calls.append(("leave", id(original_node), ""))

        def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
            self.calls.append(("enter", id(node), attribute))

        def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
            self.calls.append(("exit", id(original_node), attribute))

    class Hooks(AttributeHooksByTable, cst.CSTVisitor):
        """Typed hooks, found through the walk's own tables."""

        def __init__(self) -> None:
            super().__init__()
            self.calls: list[tuple[str, int]] = []

        def visit_Name(self, node: cst.Name) -> None:
            self.calls.append(("name", id(node)))

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            self.calls.append(("def", id(node)))
            return node.asynchronous is not None  # plain functions skipped

        def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
            self.calls.append(("end def", id(original_node)))

        def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
            self.calls.append(("body", id(node)))

    compared = 0
    for source in _walk_sources():
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError:
            continue  # the grammar tests of a Python newer than LibCST's grammar
        for make in (Recorder, Hooks):
            by_libcst, by_walk = make(), make()
            module.visit(by_libcst)
            walk(module, by_walk)
            assert by_walk.calls == by_libcst.calls
            compared += len(by_walk.calls)
    assert compared > 100_000


def test_transform_gives_what_libcst_gives_for_changes_removals_and_sequences() -> None:
    import libcst as cst

    from asyncmend.codemods.cst.traversal import transform

    class Edits(cst.CSTTransformer):
        """Replaces, removes and flattens nodes of every kind of field, and
        records the calls it gets."""

        def __init__(self) -> None:
            super().__init__()
            self.calls: list[tuple[str, str, bool]] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            self.calls.append(("visit", type(node).__name__, False))
            return super().on_visit(node)

        def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
            self.calls.append(("enter", attribute, False))

        def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
            self.calls.append(("exit", attribute, False))

        def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):  # type: ignore[no-untyped-def]
            # Whether a child changed, as the node handed up shows it.
            self.calls.append(("leave", type(original_node).__name__, original_node.deep_equals(updated_node)))
            return super().on_leave(original_node, updated_node)

        def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
            return updated_node.with_changes(value=updated_node.value.upper()) if original_node.value == "x" else updated_node

        def leave_Pass(self, original_node: cst.Pass, updated_node: cst.Pass) -> cst.RemovalSentinel:
            return cst.RemoveFromParent()  # a block left empty keeps its statement line

        def leave_Param(self, original_node: cst.Param, updated_node: cst.Param):  # type: ignore[no-untyped-def]
            # An optional child removed (the default) and a parameter removed from a sequence.
            if original_node.name.value == "drop":
                return cst.RemoveFromParent()
            return updated_node

        def leave_Comment(self, original_node: cst.Comment, updated_node: cst.Comment):  # type: ignore[no-untyped-def]
            return cst.RemoveFromParent() if "drop" in original_node.value else updated_node

        def leave_Expr(self, original_node: cst.Expr, updated_node: cst.Expr):  # type: ignore[no-untyped-def]
            if isinstance(original_node.value, cst.Ellipsis):
                return cst.FlattenSentinel([updated_node, cst.Expr(cst.Name("after"))])
            return updated_node

        def leave_ImportAlias(self, original_node: cst.ImportAlias, updated_node: cst.ImportAlias):  # type: ignore[no-untyped-def]
            return cst.RemoveFromParent() if original_node.evaluated_name == "gone" else updated_node

        def leave_SimpleStatementLine(self, original_node, updated_node):  # type: ignore[no-untyped-def]
            if any(isinstance(s, cst.Expr) and isinstance(s.value, cst.Integer) for s in original_node.body):
                return cst.FlattenSentinel([updated_node, cst.parse_statement("y = 2\n")])
            return updated_node

    source = '''\
import os, gone, sys
from m import (a, gone, b)
x = 1  # keep
# drop this comment
def f(x, drop, y=x, *, z=x):
    pass
def g():
    pass; x
async def h(drop):
    ...
    7
    return f"{x}{x!r:>{x}}"
class C:
    pass
'''
    sources = [source, *_walk_sources()]
    for text in sources:
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError:
            continue
        by_libcst, by_walk = Edits(), Edits()
        expected = module.visit(by_libcst)
        assert transform(module, by_walk).code == expected.code
        assert by_walk.calls == by_libcst.calls

    # The edits above did happen.
    edited = transform(cst.parse_module(source), Edits()).code
    assert "gone" not in edited and "drop" not in edited and "X = 1" in edited
    assert "after" in edited and "y = 2" in edited


def test_a_node_type_whose_visit_cannot_be_read_is_left_to_libcst(monkeypatch: pytest.MonkeyPatch) -> None:
    # A later LibCST may visit a node type with a helper this reading does
    # not know: its fields are then unknown, and LibCST visits that subtree.
    import ast

    import libcst as cst

    from asyncmend.codemods.cst import traversal as _analysis

    newer = "def _visit_and_replace_children(self, visitor):\n    return Call(func=visit_required_v2(self, 'func', self.func, visitor))\n"
    assert not _analysis._understood(ast.parse(newer), cst.Call)
    current = "def _visit_and_replace_children(self, visitor):\n    return Call(func=visit_required(self, 'func', self.func, visitor))\n"
    assert _analysis._understood(ast.parse(current), cst.Call)

    module = cst.parse_module("def f(a):\n    return g(a, h(1))\n\nx = [f(2) for _ in y]\n")
    for node_type in (cst.Call, cst.FunctionDef):
        monkeypatch.setitem(_analysis._CHILD_FIELDS, node_type, None)

    class Names(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[str] = []

        def visit_Name(self, node: cst.Name) -> None:
            self.seen.append(node.value)

    by_libcst, by_walk = Names(), Names()
    module.visit(by_libcst)
    _analysis.walk(module, by_walk)
    assert by_walk.seen == by_libcst.seen == ["f", "a", "g", "a", "h", "x", "f", "_", "y"]

    class Rename(cst.CSTTransformer):
        def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
            return updated_node.with_changes(value=updated_node.value.upper())

    assert _analysis.transform(module, Rename()).code == module.visit(Rename()).code
