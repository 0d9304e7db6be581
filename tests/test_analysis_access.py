"""Read and write sets of a statement, the shared analysis behind AM201/AM202."""

from __future__ import annotations

import libcst as cst
import pytest

from codemods._analysis import accesses, depends_on, paths_overlap


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

    from codemods._analysis import children

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
