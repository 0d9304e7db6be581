"""Run settings, rule selection, and ``[tool.asyncmend]`` configuration."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:
    from codemods._base import Rule

DEFAULT_TARGET_VERSION = (3, 9)
DEFAULT_LINE_LENGTH = 88
SUPPORTED_TARGETS = tuple((3, minor) for minor in range(9, 15))


class ConfigError(ValueError):
    """A bad option or configuration value; the message names it."""


@dataclass(frozen=True)
class Settings:
    """What one run does, as the rules see it. Picklable for worker processes."""

    # Codes of the rules to run; ``None`` runs all.
    select: frozenset[str] | None = None
    # Codes whose fixes this run applies; ``None`` applies every fix (the
    # behaviour of a rule run alone as a LibCST codemod).
    apply: frozenset[str] | None = None
    target_version: tuple[int, int] = DEFAULT_TARGET_VERSION
    line_length: int = DEFAULT_LINE_LENGTH
    # Per-rule options by key, e.g. {"ordering-primitives": [...]}.
    options: Mapping[str, Any] = field(default_factory=dict)

    def applies(self, code: str) -> bool:
        return self.apply is None or code in self.apply

    def runs(self, code: str) -> bool:
        return self.select is None or code in self.select


def parse_target_version(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"py3(\d{1,2})", value.strip().lower())
    if match is None or (3, int(match.group(1))) not in SUPPORTED_TARGETS:
        choices = ", ".join(f"py3{minor}" for _, minor in SUPPORTED_TARGETS)
        raise ConfigError(f"unknown target version {value!r} (choose from {choices})")
    return (3, int(match.group(1)))


def resolve_codes(selectors: Iterable[str], rules: Iterable[type[Rule]], option: str) -> set[str]:
    """Codes named by selectors: a code (``AM201``), a prefix (``AM2``, ``AM``,
    ``ALL``) or a slug (``sequential-awaits``)."""
    rules = list(rules)
    codes: set[str] = set()
    for raw in selectors:
        selector = raw.strip()
        if not selector:
            continue
        upper = selector.upper()
        if upper == "ALL":
            matched = {rule.CODE for rule in rules}
        else:
            matched = {
                rule.CODE
                for rule in rules
                if rule.CODE.startswith(upper) or rule.SLUG == selector.lower()
            }
        if not matched:
            known = ", ".join(sorted(rule.CODE for rule in rules))
            raise ConfigError(f"{option}: unknown rule {selector!r} (known: {known})")
        codes |= matched
    return codes


def split_selectors(values: Iterable[str]) -> list[str]:
    """``--select AM1,AM2 --select AM3`` -> ["AM1", "AM2", "AM3"]."""
    return [part for value in values for part in value.split(",") if part.strip()]


def build_settings(
    rules: Iterable[type[Rule]],
    *,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    unsafe_fixes: bool = False,
    fix: bool = False,
    preview_fixes: bool = False,
    target_version: tuple[int, int] = DEFAULT_TARGET_VERSION,
    line_length: int = DEFAULT_LINE_LENGTH,
    options: Mapping[str, Any] | None = None,
) -> Settings:
    """Turn command-line and configuration choices into :class:`Settings`.

    ``fix``: the run writes or diffs fixes, so only safe fixes apply, plus
    unsafe ones with ``unsafe_fixes`` or whose rule is named by code or slug
    in ``select``. ``preview_fixes``: the run only reports, but computes every
    fix so that it can show it (json, sarif, rdjson).
    """
    from codemods._base import Safety

    rules = list(rules)
    select = split_selectors(select)
    selected = resolve_codes(select or ["ALL"], rules, "--select")
    selected -= resolve_codes(split_selectors(ignore), rules, "--ignore")
    named = {s.strip().upper() for s in select} | {s.strip().lower() for s in select}
    if fix:
        apply = {
            rule.CODE
            for rule in rules
            if rule.SAFETY is Safety.SAFE
            or (rule.SAFETY is Safety.UNSAFE and (unsafe_fixes or rule.CODE in named or rule.SLUG in named))
        }
    elif preview_fixes:
        apply = {rule.CODE for rule in rules if rule.SAFETY is not Safety.NONE}
    else:
        apply = set()
    return Settings(
        select=frozenset(selected),
        apply=frozenset(apply & selected),
        target_version=target_version,
        line_length=line_length,
        options=dict(options or {}),
    )
