"""A rule's documentation, from its docstring: ``asyncmend explain`` and the
README's rule sections are both rendered here, so they cannot drift apart.

A rule's docstring is Markdown: a one-line summary, then sections headed
``## Example``, ``## Why is this bad``, ``## Fix``, ``## Fix safety``,
``## Left alone``, ``## Limits`` (as ruff's rule pages).
"""

from __future__ import annotations

import inspect
import json
import re
from typing import Any

from ..rule import Rule


def toml_value(value: Any) -> str:
    """``value`` as it is written in ``pyproject.toml``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [toml_value(item) for item in value]
        one_line = f"[{', '.join(items)}]"
        if len(one_line) <= 60:
            return one_line
        return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + " }"
    raise TypeError(f"no TOML form for {value!r}")


def options_toml(rule: type[Rule]) -> str:
    """The rule's options with their defaults, as a ``[tool.asyncmend]`` table."""
    lines = ["[tool.asyncmend]"]
    lines.extend(f"{key} = {toml_value(default)}" for key, default in rule.OPTIONS.items())
    return "\n".join(lines)


def docstring(rule: type[Rule]) -> str:
    return inspect.cleandoc(rule.__doc__ or "")


def facts_line(rule: type[Rule]) -> str:
    """Fix safety, opt-in, and the codes of the same check elsewhere."""
    parts = [f"Fix: {rule.SAFETY.value}"]
    if rule.OPT_IN:
        parts.append(f"Opt-in: runs only when selected by its code or slug (`--select {rule.CODE}`)")
    if rule.EQUIVALENTS:
        parts.append(f"Same check as {', '.join(rule.EQUIVALENTS)} (honoured in `# noqa`)")
    return ". ".join(parts) + "."


def explain(rule: type[Rule]) -> str:
    """What ``asyncmend explain`` prints: the rule's heading, the docstring's
    summary, the rule's facts and options (as TOML), then the rest of the
    docstring; all Markdown, as the README's section of the rule."""
    summary, _, rest = docstring(rule).partition("\n\n")
    parts = [f"# {rule.CODE} {rule.SLUG}", summary, facts_line(rule)]
    if rule.OPTIONS:
        parts.append("## Options\n\n```toml\n" + options_toml(rule) + "\n```")
    parts.append(rest)
    return "\n\n".join(parts) + "\n"


def readme_section(rule: type[Rule]) -> str:
    """The rule's section of the README: the docstring with its headings one
    level under the rule's own (``###``)."""
    body = re.sub(r"^## ", "#### ", docstring(rule), flags=re.MULTILINE)
    summary, _, rest = body.partition("\n\n")
    parts = [
        f'<a id="{rule.CODE.lower()}-{rule.SLUG}"></a>',
        f"### {rule.CODE} {rule.SLUG}",
        f"{summary} {facts_line(rule)}",
    ]
    if rule.OPTIONS:
        parts.append("Options, with their defaults:\n\n```toml\n" + options_toml(rule) + "\n```")
    parts.append(rest)
    return "\n\n".join(parts) + "\n"


README_BEGIN = "<!-- rules: generated from the rule docstrings (python scripts/readme_rules.py); do not edit here -->"
README_END = "<!-- end of the generated rules -->"


def readme_rules(rules: tuple[type[Rule], ...]) -> str:
    """Every rule's README section, between the markers."""
    sections = "\n".join(readme_section(rule) for rule in rules)
    return f"{README_BEGIN}\n\n{sections}\n{README_END}"


__all__ = ["README_BEGIN", "README_END", "explain", "options_toml", "readme_rules", "readme_section", "toml_value"]
