"""The registry (codemods/_registry.py) and the rule modules agree: every
rule has its entry and every entry its rule, in the module named after its
slug, whose docs state the safety the entry gives."""

from __future__ import annotations

import pytest

import codemods
from codemods._base import Rule
from codemods._registry import RULE_INFOS


def test_every_entry_has_its_rule_and_every_rule_its_entry() -> None:
    assert [rule.CODE for rule in codemods.RULES] == [info.CODE for info in RULE_INFOS]
    for info, rule in zip(RULE_INFOS, codemods.RULES):
        assert rule.__module__ == f"codemods.{info.MODULE}"
        # The module is named by the slug, as the fixture folder is.
        assert info.MODULE == info.SLUG.replace("-", "_")
        for name in ("SLUG", "SAFETY", "DESCRIPTION", "OPTIONS"):
            assert getattr(rule, name) == getattr(info, name), (info.CODE, name)
        assert f"**Safety: {info.SAFETY.value}.**" in (rule.__doc__ or ""), info.CODE


def test_a_registered_rule_cannot_restate_its_entry() -> None:
    with pytest.raises(TypeError, match="codemods/_registry.py"):

        class Restated(Rule):  # noqa: F841 - defining it is the test
            CODE = "AM101"
            SLUG = "something-else"


def test_a_registered_rule_cannot_restate_its_screening() -> None:
    # The engine screens files with codemods/_rulescreens.py alone: a screen
    # written in the rule class would never run there.
    with pytest.raises(TypeError, match="codemods/_rulescreens.py"):

        class Restated(Rule):  # noqa: F841 - defining it is the test
            CODE = "AM101"

            @classmethod
            def screen(cls, facts, settings):  # type: ignore[no-untyped-def]
                return True


def test_every_rule_screens_with_its_entry_in_rulescreens() -> None:
    from codemods import RULES
    from codemods._rulescreens import SCREENS

    assert sorted(SCREENS) == sorted(rule.CODE for rule in RULES)
    for rule in RULES:
        screening = SCREENS[rule.CODE]
        assert rule.PREFILTER == screening.PREFILTER
        assert rule.prefilter == screening.prefilter and rule.screen == screening.screen


def test_a_rule_from_elsewhere_keeps_its_own_metadata() -> None:
    class Plugin(Rule):
        CODE = "XY100"
        SLUG = "plugin-rule"

    assert Plugin.SLUG == "plugin-rule"
