"""Regression tests for engine defects found by the property tests and sweeps."""

from __future__ import annotations

import warnings

from codemods import Settings, fix_source


def test_verifying_a_fix_prints_no_warning_about_the_users_code() -> None:
    # The invalid escape and the call of a literal were in the file before the
    # fix; checking that the output compiles must not warn about them.
    source = (
        "import time\n"
        "async def f():\n"
        "    time.sleep(1)\n"
        "    pattern = '\\d+'\n"
        "    return 1(2) if False else pattern\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fix_source(source, Settings())
    assert result.changed
    assert b"await asyncio.sleep(1)" in result.output
