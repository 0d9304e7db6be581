"""asyncmend: find and rewrite the asyncio pitfalls that make services slow,
flaky or silently wrong.

The public API: :data:`RULES` (every rule class, by code), :func:`fix_source`
for one source text, and :func:`check_paths` for files and directories.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import replace
from typing import Iterator, Sequence

from codemods._base import Edit, Finding, Fix, Rule, Safety
from codemods._config import ConfigError, Settings
from codemods._discovery import DiscoveryError, Target, discover
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

    Rules register by existing: a new module with a Rule subclass is picked up
    with no list to update.
    """
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
    return tuple(found[code] for code in sorted(found))


RULES: tuple[type[Rule], ...] = _load_rules()
RULES_BY_CODE: dict[str, type[Rule]] = {rule.CODE: rule for rule in RULES}


def prepare(targets: Sequence[Target], options: Options) -> Options:
    """``options`` with what the rules must know about the other files of the
    run, which one file's analysis cannot see: the module-level names that
    another of ``targets`` imports (AM401 must not rename them).

    Call it with every target of the run, before splitting them into shards.
    """
    from codemods.thread_local import ThreadLocal, imported_elsewhere

    if not options.settings.runs(ThreadLocal.CODE):
        return options

    def sources() -> Iterator[tuple[str, bytes]]:
        for target in targets:
            try:
                yield target.display, target.read()
            except OSError:
                continue  # reported when the file itself is processed

    found = imported_elsewhere(sources())
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
