"""asyncmend: find and rewrite the asyncio pitfalls that make services slow,
flaky or silently wrong.

The public API (installed as ``asyncmend.codemods``):

- the rules: :func:`rules` (every rule class, by code order), :func:`rule_for`
  (by code, slug or an equivalent code), :class:`Rule` (their base);
- running them: :func:`run` (paths, standard input, shards, as the command
  line does), :func:`check_paths`, :func:`fix_source` (one source text),
  :func:`review` (the interactive apply), :func:`verify_fixes` (keep the
  fixes the project's tests accept), :func:`resolve_settings`;
- the data: :class:`Settings`, :class:`Options`, :class:`FileResult`,
  :class:`Finding`, :class:`Fix`, :class:`Edit`, :class:`Safety`.

The layout under this package shows the stages a file goes through:
``source/`` (discovery, decoding, noqa, edits, writing, cache) -> ``screen/``
(the stdlib ``ast`` facts each rule's screen reads) -> ``model/`` (what other
files of the project tell) -> ``cst/`` (the LibCST stage) -> the rules, one
module each, named by slug -> ``analysis/`` (what the rules share);
``engine/`` runs the stages, ``output/`` renders results. Importing this
package imports no LibCST.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .api import (
    APPLY,
    APPLY_RULE,
    QUIT,
    SKIP,
    Question,
    Run,
    check_paths,
    configure,
    fix_source,
    prepare,
    resolve_settings,
    review,
    run,
)
from .engine import default_jobs, process
from .findings import Edit, FileResult, Finding, Fix, RunFailure, Safety, SourceResult, Verification
from .rule import Rule, rule_for, rules
from .settings import ConfigError, Options, Resolved, Settings
from .source.discovery import DiscoveryError, Target, discover
from .source.text import SourceError

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .engine.verify import Step, Verified, VerifyError, verify_fixes

    RULES: tuple[type[Rule], ...]
    RULES_BY_CODE: dict[str, type[Rule]]

# fix --verify's, imported on first use (most runs verify nothing).
_VERIFY = frozenset({"Step", "Verified", "VerifyError", "verify_fixes"})


def __getattr__(name: str) -> Any:
    # Every rule, as a tuple and by code: imported on first use.
    if name == "RULES":
        return rules()
    if name == "RULES_BY_CODE":
        return {rule.CODE: rule for rule in rules()}
    if name in _VERIFY:
        from .engine import verify

        return getattr(verify, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "APPLY",
    "APPLY_RULE",
    "QUIT",
    "RULES",
    "RULES_BY_CODE",
    "SKIP",
    "ConfigError",
    "DiscoveryError",
    "Edit",
    "FileResult",
    "Finding",
    "Fix",
    "Options",
    "Question",
    "Resolved",
    "Rule",
    "Run",
    "RunFailure",
    "Safety",
    "Settings",
    "SourceError",
    "SourceResult",
    "Step",
    "Target",
    "Verification",
    "Verified",
    "VerifyError",
    "check_paths",
    "configure",
    "default_jobs",
    "discover",
    "fix_source",
    "prepare",
    "process",
    "resolve_settings",
    "review",
    "rule_for",
    "rules",
    "run",
    "verify_fixes",
]
