"""asyncmend: find and rewrite the asyncio pitfalls that make services slow,
flaky or silently wrong.

The public API: :data:`RULES` (every rule class, by code), :func:`fix_source`
for one source text, and :func:`check_paths` for files and directories.
:data:`RULE_INFOS` describes the rules without importing them: the rule
modules import LibCST, which a run answered from the cache never needs.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from codemods._config import ConfigError, Settings
from codemods._discovery import DiscoveryError, Target, discover
from codemods._findings import Edit, Finding, Fix, Safety
from codemods._registry import RULE_INFO, RULE_INFOS, RuleInfo
from codemods._engine import (
    FileResult,
    Options,
    SourceError,
    SourceResult,
    default_jobs,
    fix_source,
    process,
)

__version__ = "0.1.0"


def _load_rules() -> tuple[type[Rule], ...]:
    """Every rule of every public module of this package.

    A rule class takes its slug, safety and options from its entry in
    ``codemods/_registry.py`` (and fails to be created without one); here
    every entry must have found its class, in the module it names.
    """
    from codemods._base import Rule

    found: dict[str, type[Rule]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Rule)
                and value.CODE
                and value.__module__ == module.__name__
            ):
                if value.CODE in found and found[value.CODE] is not value:
                    raise RuntimeError(f"two rules share the code {value.CODE}")
                found[value.CODE] = value
    for entry in RULE_INFOS:
        rule = found.get(entry.CODE)
        if rule is None or rule.__module__ != f"{__name__}.{entry.MODULE}":
            raise RuntimeError(f"{entry.CODE}: no rule class in codemods/{entry.MODULE}.py")
    return tuple(found[code] for code in sorted(found))


if TYPE_CHECKING:
    from codemods._base import Rule

    RULES: tuple[type[Rule], ...]
    RULES_BY_CODE: dict[str, type[Rule]]


def __getattr__(name: str) -> Any:
    # RULES, RULES_BY_CODE and Rule import every rule module, and LibCST:
    # only on first use.
    if name in ("RULES", "RULES_BY_CODE"):
        rules = _load_rules()
        globals()["RULES"] = rules
        globals()["RULES_BY_CODE"] = {rule.CODE: rule for rule in rules}
        return globals()[name]
    if name == "Rule":
        from codemods._base import Rule

        return Rule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def prepare(targets: Sequence[Target], options: Options) -> Options:
    """``options`` with what the rules must know about the other files of the
    run, which one file's analysis cannot see: the module-level names that
    another of ``targets`` imports (AM401 must not rename them).

    Call it with every target of the run, before splitting them into shards.
    """
    from codemods._crossfile import imported_elsewhere
    from codemods._engine import crossfile_cache

    if not options.settings.runs("AM401"):
        return options

    def sources() -> Iterator[tuple[str, bytes]]:
        for target in targets:
            try:
                yield target.display, target.read()
            except OSError:
                continue  # reported when the file itself is processed

    found = imported_elsewhere(sources, crossfile_cache(options))
    if not found:
        return options
    return replace(options, settings=replace(options.settings, imported_elsewhere=found))


def check_paths(
    paths: Sequence[str],
    options: Options | None = None,
    *,
    jobs: int = 1,
    exclude: Sequence[str] = (),
) -> Iterator[FileResult]:
    """Discover and process files; discovery errors come first, as results."""
    targets, errors = discover(paths, exclude=exclude)
    for error in errors:
        yield FileResult(error.display, error=error.message)
    yield from process(targets, prepare(targets, options or Options()), jobs)


__all__ = [
    "RULES",
    "RULES_BY_CODE",
    "RULE_INFO",
    "RULE_INFOS",
    "RuleInfo",
    "ConfigError",
    "DiscoveryError",
    "Edit",
    "FileResult",
    "Finding",
    "Fix",
    "Options",
    "Rule",
    "Safety",
    "Settings",
    "SourceError",
    "SourceResult",
    "Target",
    "check_paths",
    "default_jobs",
    "discover",
    "fix_source",
    "prepare",
    "process",
]
