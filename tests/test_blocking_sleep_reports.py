"""What AM101 reports at the sites its no-op fixtures leave unchanged.

A fixture only proves that nothing was rewritten; these say which of those
sites are still reported (without a fix) and which are not findings at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncmend.codemods import Settings, fix_source

FIXTURES = Path(__file__).parent / "fixtures" / "blocking_sleep"
APPLY = Settings(select=frozenset({"AM101"}), apply=frozenset({"AM101"}))


def _findings(name: str) -> list[tuple[int, bool, bool]]:
    result = fix_source((FIXTURES / name).read_bytes(), APPLY)
    return [(f.line, f.fixable, f.fixed) for f in result.findings]


@pytest.mark.parametrize(
    "name, line",
    [("noop_generator_expression.before.py", 6), ("noop_class_body.before.py", 7)],
)
def test_sleep_where_await_is_illegal_is_reported_without_a_fix(name: str, line: int) -> None:
    assert _findings(name) == [(line, False, False)]


@pytest.mark.parametrize(
    "name, line, reason",
    [
        ("noop_trio_and_asyncio.before.py", 9, "the module imports both"),
        ("noop_library_imported_for_type_checking.before.py", 12, "`trio` is imported only for type checking"),
        ("noop_asyncio_imported_for_type_checking.before.py", 12, "`asyncio` is imported only for type checking"),
    ],
)
def test_sleep_whose_replacement_library_is_unclear_is_reported_without_a_fix(
    name: str, line: int, reason: str
) -> None:
    # Regression: these used to become `await trio.sleep` / `await asyncio.sleep`
    # with a name that is unbound at run time or belongs to the other loop.
    result = fix_source((FIXTURES / name).read_bytes(), APPLY)
    assert [(f.line, f.fixable, f.fixed) for f in result.findings] == [(line, False, False)]
    assert reason in result.findings[0].message


@pytest.mark.parametrize(
    "name",
    [
        "noop_nested_def_and_lambda.before.py",
        "noop_local_names.before.py",
        "noop_method_of_other_object.before.py",
        "noop_plain_def.before.py",
        "noop_parameter_named_time.before.py",
    ],
)
def test_sleep_that_is_not_a_blocking_coroutine_sleep_is_not_reported(name: str) -> None:
    assert _findings(name) == []


def test_noqa_lines_are_not_reported_and_the_other_line_is_fixed() -> None:
    assert _findings("noqa_lines.before.py") == [(8, True, True)]


def test_genexp_message_says_why_it_is_not_fixed() -> None:
    result = fix_source((FIXTURES / "noop_generator_expression.before.py").read_bytes(), APPLY)
    assert "`await` is not allowed" in result.findings[0].message


@pytest.mark.parametrize(
    "name, lines, reason",
    [
        ("noop_negative_delay_caught.before.py", [10, 18, 25], "a negative delay raises `ValueError`"),
        ("noop_already_awaited.before.py", [7], "already awaited"),
    ],
)
def test_sleep_whose_rewrite_would_change_behaviour_is_reported_without_a_fix(
    name: str, lines: list[int], reason: str
) -> None:
    result = fix_source((FIXTURES / name).read_bytes(), APPLY)
    assert [(f.line, f.fixable, f.fixed) for f in result.findings] == [(line, False, False) for line in lines]
    assert all(reason in f.message for f in result.findings)
