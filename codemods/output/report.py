"""The migration report of ``fix --report FILE``: Markdown, ready to paste
into a pull request.

A summary per rule, then one line per finding with its rule, its place and
what became of it: applied (or, with ``--diff``, in the diff); dropped by
the tests, with the first failing test and its message (``--verify``);
unsafe, not applied; not applied (declined); reported without a fix, with
the reason. Files that could not be processed are listed by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from ..findings import FileResult, Finding, RunFailure, Safety, Verification
from .common import count, duration

APPLIED, IN_DIFF, DROPPED, UNSAFE, NOT_APPLIED, NO_FIX = (
    "applied", "in the diff", "dropped by the tests", "unsafe, not applied", "not applied", "reported without a fix",
)
# The summary's columns, in order.
COLUMNS = (APPLIED, DROPPED, UNSAFE, NOT_APPLIED, NO_FIX)

# "(not fixed: REASON)" or "(not fixed here: REASON)" at the end of a message.
_REASON = re.compile(r"\(not fixed(?: here)?: (?P<reason>.*)\)\s*$", re.DOTALL)


@dataclass(frozen=True)
class Outcome:
    """What became of one finding: a column of the summary and its words."""

    kind: str
    text: str


def outcome_of(
    path: str, finding: Finding, *, diff: bool, unsafe_fixes: bool, verification: Verification | None
) -> Outcome:
    """What became of ``finding`` (of the file ``path``) in this run."""
    failure: RunFailure | None = None
    if verification is not None:
        failure = verification.dropped.get((path, finding.code, finding.line, finding.column))
    if failure is not None:
        test = f"`{failure.test}` fails" if failure.test else "the tests fail"
        return Outcome(DROPPED, f"{DROPPED}: {test}: {failure.message}" if failure.message else f"{DROPPED}: {test}")
    if finding.fixed:
        return Outcome(APPLIED, IN_DIFF if diff else APPLIED)
    if finding.fixable:
        if finding.safety is Safety.UNSAFE and not unsafe_fixes:
            return Outcome(UNSAFE, f"{UNSAFE} (`--unsafe-fixes` applies it)")
        return Outcome(NOT_APPLIED, NOT_APPLIED)
    match = _REASON.search(finding.message)
    reason = match["reason"] if match else "no rewrite is known to be right here"
    return Outcome(NO_FIX, f"{NO_FIX}: {reason}")


def render_report(
    results: Sequence[FileResult],
    *,
    diff: bool = False,
    unsafe_fixes: bool = False,
    verification: Verification | None = None,
) -> str:
    """The report of a ``fix`` (``diff``: ``fix --diff``) run's ``results``;
    ``verification``: what ``--verify`` did."""
    rows: list[tuple[str, Finding, Outcome]] = []
    for result in results:
        for finding in sorted(result.findings, key=Finding.sort_key):
            outcome = outcome_of(
                result.path, finding, diff=diff, unsafe_fixes=unsafe_fixes, verification=verification
            )
            rows.append((result.path, finding, outcome))
    out = ["# asyncmend migration report", ""]
    out.extend(_preamble(rows, results, diff=diff, unsafe_fixes=unsafe_fixes, verification=verification))
    out.extend(["", "## Summary", ""])
    out.extend(_summary(rows, diff=diff, verified=verification is not None))
    if rows:
        out.extend(["", "## Findings", "", "| place | rule | finding | outcome |", "|---|---|---|---|"])
        for path, finding, outcome in rows:
            out.append(
                f"| `{_cell(path)}:{finding.line}:{finding.column}` | {finding.code} {finding.slug} "
                f"| {_cell(_without_reason(finding.message))} | {_cell(outcome.text)} |"
            )
    errors = [result for result in results if result.error is not None]
    if errors:
        out.extend(["", "## Files not processed", ""])
        out.extend(f"- `{_cell(result.path)}`: {_cell(result.error or '')}" for result in errors)
    return "\n".join(out) + "\n"


def _preamble(
    rows: Sequence[tuple[str, Finding, Outcome]],
    results: Sequence[FileResult],
    *,
    diff: bool,
    unsafe_fixes: bool,
    verification: Verification | None,
) -> list[str]:
    applied = sum(outcome.kind == APPLIED for _, _, outcome in rows)
    files = sum(result.changed for result in results)
    verb = "would apply" if diff else "applied"
    kinds = "Fixes: safe and unsafe (`--unsafe-fixes`)." if unsafe_fixes else "Fixes: safe only (unsafe ones need `--unsafe-fixes`)."
    lines = [
        f"asyncmend {verb} {count(applied, 'fix', 'fixes')} in {count(files, 'file')}, "
        f"of {count(len(rows), 'finding')} in {count(len(results), 'file')} checked. {kinds}"
    ]
    if verification is not None and verification.runs:
        dropped = len(verification.dropped)
        lines.extend([
            "",
            f"Verified with `{verification.command}`: it passed on the unchanged tree and on "
            f"{'the fixes kept' if dropped else 'every fix'}; "
            f"{count(dropped, 'fix', 'fixes')} that made it fail "
            f"{'was' if dropped == 1 else 'were'} dropped "
            f"({count(verification.runs, 'run')} of the command, {duration(verification.seconds)}).",
        ])
    elif verification is not None:
        lines.extend(["", f"Nothing to verify with `{verification.command}`: no fix to apply."])
    return lines


def _summary(rows: Sequence[tuple[str, Finding, Outcome]], *, diff: bool, verified: bool) -> list[str]:
    # Without --verify no fix can be dropped by the tests: no such column.
    columns = [column for column in COLUMNS if verified or column != DROPPED]
    by_rule: dict[tuple[str, str], dict[str, int]] = {}
    for _, finding, outcome in rows:
        counts = by_rule.setdefault((finding.code, finding.slug), dict.fromkeys(COLUMNS, 0))
        counts[outcome.kind] += 1
    if not by_rule:
        return ["No findings."]
    names = [IN_DIFF if diff and column == APPLIED else column for column in columns]
    out = ["| rule | findings | " + " | ".join(names) + " |", "|---|" + "---:|" * (len(columns) + 1)]
    totals = dict.fromkeys(COLUMNS, 0)
    for (code, slug), counts in sorted(by_rule.items()):
        out.append(f"| {code} {slug} | {sum(counts.values())} | " + " | ".join(str(counts[c]) for c in columns) + " |")
        for column in COLUMNS:
            totals[column] += counts[column]
    out.append(f"| **all** | **{sum(totals.values())}** | " + " | ".join(f"**{totals[c]}**" for c in columns) + " |")
    return out


def _without_reason(message: str) -> str:
    """The message without its "(not fixed: ...)" tail, which the outcome says."""
    return _REASON.sub("", message).rstrip()


def _cell(text: str) -> str:
    """``text`` inside a Markdown table cell: one line, no column break."""
    return " ".join(text.split()).replace("|", "\\|")


__all__ = ["Outcome", "outcome_of", "render_report"]
