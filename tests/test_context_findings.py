"""Which AM401/AM402 no-op cases are still reported (without a fix), and which are not.

The fixture test proves these files come out unchanged; this proves the rule
did not simply miss them where a report is owed, and stays quiet where the
code is not a pitfall.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncmend.codemods import Settings, fix_source

FIXTURES = Path(__file__).parent / "fixtures"

REPORTED_WITHOUT_FIX = [
    "thread_local/noop_passed_to_call",
    "thread_local/noop_returned",
    "thread_local/noop_stored_elsewhere",
    "thread_local/noop_del_attribute",
    "thread_local/noop_subclass",
    "thread_local/noop_instance_attribute",
    "thread_local/noop_catches_attribute_error",
    "thread_local/noop_dynamic_attribute_name",
    "thread_local/noop_named_in_all",
    "thread_local/noop_shadowed_getattr",
    "thread_local/noop_case_pattern",
    "thread_local/noop_catches_through_an_alias",
    "executor_context/noop_unknown_executor",
    "executor_context/noop_closure_pool",
]
NOT_REPORTED = [
    "thread_local/noop_without_async_def",
    "executor_context/noop_process_pool",
    "executor_context/noop_other_object",
    "executor_context/noop_already_copies_context",
    "executor_context/noop_loop_parameter",
    "executor_context/noop_loop_rebound",
]
CODES = {"thread_local": "AM401", "executor_context": "AM402"}


def _findings(case: str) -> list:
    code = CODES[case.split("/")[0]]
    source = (FIXTURES / f"{case}.before.py").read_bytes()
    settings = Settings(select=frozenset({code}), apply=frozenset({code}))
    return fix_source(source, settings).findings


@pytest.mark.parametrize("case", REPORTED_WITHOUT_FIX)
def test_unfixable_site_is_reported_without_a_fix(case: str) -> None:
    findings = _findings(case)
    assert findings, "the pitfall was not reported"
    assert all(not f.fixable and not f.fixed for f in findings)


@pytest.mark.parametrize("case", NOT_REPORTED)
def test_site_that_is_not_the_pitfall_is_not_reported(case: str) -> None:
    assert _findings(case) == []


def test_rebinding_through_global_is_reported_without_a_fix() -> None:
    findings = _findings("thread_local/noop_rebound_through_global")
    # The module-level local and the one made inside reset(): neither is fixable.
    assert len(findings) == 2 and not any(f.fixable for f in findings)


def test_explain_thread_local_says_what_an_unset_attribute_raises_after_the_fix() -> None:
    from click.testing import CliRunner

    from asyncmend import cli

    result = CliRunner().invoke(cli.main, ["explain", "AM401"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "raised `AttributeError`" in text
    assert "raises `LookupError`" in text
    # ... and why code catching AttributeError is left alone.
    assert "catches `AttributeError` around a use is therefore left alone" in text
