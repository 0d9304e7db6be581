"""The README's CI section and hook file agree with the tool."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from asyncmend import cli
from asyncmend.codemods import output

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
yaml = pytest.importorskip("yaml")


def test_every_yaml_block_of_the_readme_parses() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", README, re.DOTALL)
    assert len(blocks) >= 3
    for block in blocks:
        assert yaml.safe_load(block)


def test_readme_names_only_real_output_formats_and_documents_them_all() -> None:
    named = set(re.findall(r"--output-format[ =]`?(\w+)", README))
    assert named <= set(output.FORMATS)
    for fmt in output.FORMATS:
        assert f"`{fmt}`" in README


def test_hook_file_declares_both_hooks_with_real_commands() -> None:
    hooks = {hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"asyncmend", "asyncmend-check"}
    assert hooks["asyncmend"]["entry"].split()[:2] == ["asyncmend", "fix"]
    assert hooks["asyncmend-check"]["entry"].split()[:2] == ["asyncmend", "check"]
    for hook in hooks.values():
        for option in hook["entry"].split()[2:]:
            assert option in {p.opts[0] for p in cli.check.params if p.opts} | {"--no-progress"}


def test_explain_lists_every_option_a_rule_declares() -> None:
    from click.testing import CliRunner

    from asyncmend.codemods import RULES

    with_options = [rule for rule in RULES if rule.OPTIONS]
    if not with_options:
        pytest.skip("no rule declares options yet")
    for rule in with_options:
        output = CliRunner().invoke(cli.main, ["explain", rule.CODE]).output
        for key in rule.OPTIONS:
            assert key in output, (rule.CODE, key)
