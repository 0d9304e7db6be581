"""Each finding's own fix: exactly the edits that finding needs.

A reviewer who accepts some suggestions and not others must get a program
that works. Cutting the diff of the whole file into hunks and handing them
out by line cannot give that: the line AM402 deletes and the import AM101
leaves unused touch neither finding's lines, and which import becomes unused
depends on which fixes are applied. So a finding's fix is what the rules
write when that finding alone is fixed: they run again with every other
fixed finding of the file declined (as ``fix --interactive`` declines
them), and the difference from the original is its fix, with the import it
adds and the import or line it leaves unused.

Then the fixes are reconciled with what ``fix`` writes with all of them:

- fixes that rewrite the same lines differently (two findings on one line,
  a fix that needs another's) cannot be applied side by side: those findings
  share one fix, what the rules write with exactly them fixed;
- what is still missing once every fix is applied (an import that only the
  fixes together leave unused; a rewrite that one fix makes possible for
  another) is a joint edit of the findings that the rules need fixed to
  write it: dropping any one of them, the edit goes.

Applied alone, each finding's fix compiles (the rules' output is verified)
with no undefined or newly unused name (the rules' own import handling);
all of them together, joint edits included, give what ``fix`` writes. The
cost is one more run of the rules per fixed finding of a file, and one per
finding again when there are joint edits: only where a report shows fixes
(json, sarif, rdjson, ``fix --interactive``), never for ``check`` text or
``fix`` itself, and none for a file with a single fixed finding.

A file with more than :data:`MAX_GROUPS` fixed findings (a generated module,
a codebase never fixed before) would make that cost grow with the square of
its findings; there the findings start in :data:`MAX_GROUPS` groups of
neighbours, each group one fix shared by its members, so that the runs stay
at most twice :data:`MAX_GROUPS` and the cost linear in the file. Each fix
still stands alone; it is only coarser.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import AbstractSet, Callable, Iterable, Sequence

from ..findings import Edit, Finding, Fix, JointEdit, Safety
from ..settings import Settings
from ..source.edits import apply_edits, fix_message, line_edits, line_opcodes, overlap
from ..source.text import SourceError, split_lines

Key = tuple[str, int, int]

#: The most fixes a file's findings are given separately (see above).
MAX_GROUPS = 8


def key_of(finding: Finding) -> Key:
    """What :attr:`Settings.declined` names a finding by."""
    return (finding.code, finding.line, finding.column)


def attach_own_fixes(
    findings: list[Finding],
    before: str,
    after: str,
    rerun: Callable[[Settings], str],
    settings: Settings,
) -> list[Finding]:
    """``findings`` (of ``before``, which the rules rewrote into ``after``
    with every fixed one) with each fixed finding's own :class:`Fix`.

    ``rerun(settings)`` gives the text the rules write with ``settings``
    (raising :class:`SourceError` when that text would not compile).

    A fix made only on what other fixes wrote (``after_fix``: AM201
    gathering the awaits AM302 added) is no fix of ``before`` and cannot be
    declined apart from them: it is part of the fix whose lines it rewrites
    (see :func:`_with_following`).
    """
    fixed = [f for f in findings if f.fixed and not f.after_fix]
    if not fixed:
        return findings
    findings_with = functools.partial(
        _with_fixes, findings, following=[f for f in findings if f.fixed and f.after_fix]
    )
    old, new = split_lines(before), split_lines(after)
    if len(fixed) == 1:
        return findings_with([(fixed, line_edits(old, new))], [], old)
    runs: dict[frozenset[Key], list[str] | None] = {frozenset(map(key_of, fixed)): new}

    def output_with(members: Sequence[Finding]) -> list[str] | None:
        """The lines the rules write with only ``members`` fixed (``None``
        when that output would not compile)."""
        keys = frozenset(map(key_of, members))
        if keys not in runs:
            declined = frozenset(key_of(f) for f in fixed if key_of(f) not in keys) | settings.declined
            try:
                runs[keys] = split_lines(rerun(replace(settings, declined=declined)))
            except SourceError:
                runs[keys] = None
        return runs[keys]

    groups = _neighbours(fixed, MAX_GROUPS)
    edits: list[list[Edit] | None] = [_edits_of(old, output_with(group)) for group in groups]
    while True:
        groups, edits = _merge_conflicts(groups, edits, old, output_with)
        rank = _insertion_rank(after)
        lines, origin = apply_edits(old, [e for group_edits in edits for e in group_edits or ()], rank)
        residual = [op for op in line_opcodes(lines, new) if op[0] != "equal"]
        if not residual:
            return findings_with(list(zip(groups, edits)), [], old)  # type: ignore[arg-type]
        needed = _needed_by(residual, groups, new, output_with)
        joint: list[tuple[Edit, list[Finding]]] = []
        entangled: list[set[int]] = []
        for op, owners in zip(residual, needed):
            edit = _as_edit_of_original(op, origin, new, len(old))
            if edit is None:
                # It rewrites what a fix wrote: those fixes and the findings
                # it needs are one fix.
                members = {id(f) for f in owners}
                entangled.append(
                    _groups_writing(op, origin, edits)
                    | {i for i, group in enumerate(groups) if any(id(f) in members for f in group)}
                )
            else:
                joint.append((edit, owners))
        if entangled:
            before_merge = len(groups)
            groups, edits = _merge(groups, edits, entangled, old, output_with)
            if len(groups) == before_merge:
                # Nothing left to tell apart: all of them are one fix.
                groups, edits = _merge(groups, edits, [set(range(len(groups)))], old, output_with)
            continue
        return findings_with(list(zip(groups, edits)), joint, old)  # type: ignore[arg-type]


def _neighbours(fixed: list[Finding], most: int) -> list[list[Finding]]:
    """``fixed`` as at most ``most`` groups of findings next to each other in
    the file: one finding each when there are few enough."""
    ordered = sorted(fixed, key=Finding.sort_key)
    size = -(-len(ordered) // most)  # ceiling division
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def _edits_of(old: list[str], output: list[str] | None) -> list[Edit] | None:
    return None if output is None else line_edits(old, output)


def _merge_conflicts(
    groups: list[list[Finding]],
    edits: list[list[Edit] | None],
    old: list[str],
    output_with: Callable[[Sequence[Finding]], list[str] | None],
) -> tuple[list[list[Finding]], list[list[Edit] | None]]:
    """Groups whose edits overlap (different edits of the same lines) made
    one, until no two overlap. A group whose fix alone would not compile
    joins every other: together they are what ``fix`` writes."""
    while True:
        broken = [i for i, group_edits in enumerate(edits) if group_edits is None]
        if broken:
            if len(groups) == 1:
                raise SourceError("internal error: the fixes of this file cannot be told apart")
            groups, edits = _merge(groups, edits, [set(range(len(groups)))], old, output_with)
            continue
        clash = _first_clash(edits)  # type: ignore[arg-type]
        if clash is None:
            return groups, edits
        groups, edits = _merge(groups, edits, [set(clash)], old, output_with)


def _first_clash(edits: list[list[Edit]]) -> tuple[int, int] | None:
    for i in range(len(edits)):
        for j in range(i + 1, len(edits)):
            for a in edits[i]:
                if any(a != b and overlap(a, b) for b in edits[j]):
                    return i, j
    return None


def _merge(
    groups: list[list[Finding]],
    edits: list[list[Edit] | None],
    merging: list[set[int]],
    old: list[str],
    output_with: Callable[[Sequence[Finding]], list[str] | None],
) -> tuple[list[list[Finding]], list[list[Edit] | None]]:
    """``groups`` with each set of indexes in ``merging`` made one (sets that
    share an index are one set), their edits computed again."""
    parent = list(range(len(groups)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for indexes in merging:
        first, *rest = sorted(indexes)
        for other in rest:
            parent[find(other)] = find(first)
    merged: dict[int, list[int]] = {}
    for i in range(len(groups)):
        merged.setdefault(find(i), []).append(i)
    new_groups: list[list[Finding]] = []
    new_edits: list[list[Edit] | None] = []
    for indexes in merged.values():
        if len(indexes) == 1:
            new_groups.append(groups[indexes[0]])
            new_edits.append(edits[indexes[0]])
            continue
        group = sorted((f for i in indexes for f in groups[i]), key=Finding.sort_key)
        new_groups.append(group)
        new_edits.append(_edits_of(old, output_with(group)))
    return new_groups, new_edits


def _insertion_rank(after: str) -> Callable[[Edit], int]:
    """Insertions at one place in the order ``fix`` writes them."""

    def rank(edit: Edit) -> int:
        found = after.find(edit.content)
        return found if found >= 0 else len(after)

    return rank


def _needed_by(
    residual: list[tuple[str, int, int, int, int]],
    groups: list[list[Finding]],
    new: list[str],
    output_with: Callable[[Sequence[Finding]], list[str] | None],
) -> list[list[Finding]]:
    """For each hunk still missing (lines ``j1:j2`` of the full fix), the
    fixed findings without whose fix the rules do not write it: with all
    the other groups fixed, the output differs from the full fix there."""
    needed: list[list[list[Finding]]] = [[] for _ in residual]
    for group in groups:
        output = output_with([f for other in groups if other is not group for f in other])
        changed = [] if output is None else [op for op in line_opcodes(new, output) if op[0] != "equal"]
        for index, (_, _, _, j1, j2) in enumerate(residual):
            if output is None or any(i1 <= j2 and j1 <= i2 for _, i1, i2, _, _ in changed):
                needed[index].append(group)
    # Where no single fix is needed (several would each do), all of them are.
    everyone = [f for group in groups for f in group]
    return [[f for group in owners for f in group] if len(owners) > 1 else everyone for owners in needed]


def _as_edit_of_original(
    op: tuple[str, int, int, int, int], origin: list[int | Edit], new: list[str], size: int
) -> Edit | None:
    """The hunk ``op`` (of the text with every fix applied) as an edit of the
    original lines, or ``None`` when it touches a line some fix wrote."""
    _, u1, u2, j1, j2 = op
    content = "".join(new[j1:j2])
    if u1 < u2:
        sources = origin[u1:u2]
        first = sources[0]
        if not isinstance(first, int) or sources != list(range(first, first + len(sources))):
            return None
        return Edit(first + 1, first + len(sources) + 1, content)
    # An insertion: before the original line that follows it.
    if u1 < len(origin):
        following = origin[u1]
        return Edit(following + 1, following + 1, content) if isinstance(following, int) else None
    return Edit(size + 1, size + 1, content)


def _groups_writing(
    op: tuple[str, int, int, int, int], origin: list[int | Edit], edits: list[list[Edit] | None]
) -> set[int]:
    """The groups whose edits wrote lines of the fixed text inside hunk ``op``
    (or, for an insertion, right around it)."""
    _, u1, u2, _, _ = op
    around = origin[max(u1 - 1, 0) : u2 + 1] if u1 == u2 else origin[u1:u2]
    writers = {edit for edit in around if isinstance(edit, Edit)}
    return {index for index, group_edits in enumerate(edits) if writers & set(group_edits or ())}


def _with_following(
    groups: list[tuple[list[Finding], list[Edit]]], following: Sequence[Finding]
) -> list[tuple[list[Finding], list[Edit]]]:
    """``groups`` with each finding of ``following`` (fixed only on what
    other fixes wrote; placed on the original lines its text stands for)
    among the members of the first group whose edits rewrite those lines:
    it is applied with that fix and with no other, and its safety is the
    fix's too (AM302's safe ``await`` that AM201 then gathers makes one
    unsafe fix). It is never declined on its own, so the fix of any group
    that makes it possible holds its rewrite."""
    joined = [(list(members), edits) for members, edits in groups]
    for finding in following:
        for members, edits in joined:
            if rewrites(edits, finding):
                members.append(finding)
                break
    return joined


def rewrites(edits: Iterable[Edit], finding: Finding) -> bool:
    """Whether ``edits`` rewrite a line of ``finding`` (or insert right
    before its first line)."""
    return any(
        edit.start_line <= finding.end_line and finding.line < max(edit.end_line, edit.start_line + 1)
        for edit in edits
    )


def _with_fixes(
    findings: list[Finding],
    groups: list[tuple[list[Finding], list[Edit]]],
    joint: list[tuple[Edit, list[Finding]]],
    old: list[str],
    *,
    following: Sequence[Finding] = (),
) -> list[Finding]:
    fixes: dict[int, Fix] = {}
    for group, edits in _with_following(groups, following):
        ordered = tuple(sorted(edits, key=lambda e: (e.start_line, e.end_line)))
        safety = Safety.UNSAFE if any(f.safety is Safety.UNSAFE for f in group) else Safety.SAFE
        for finding in group:
            shared = tuple(
                JointEdit(edit, tuple(key_of(f) for f in owners if f is not finding))
                for edit, owners in joint
                if any(f is finding for f in owners)
            )
            fixes[id(finding)] = Fix(safety, ordered, fix_message(ordered, old), shared)
    return [replace(f, fix=fixes[id(f)]) if id(f) in fixes else f for f in findings]


def fix_units(findings: Sequence[Finding]) -> list[list[Finding]]:
    """The fixes of one file's ``findings`` as units that can be applied or
    left out alone, in the order of the file: findings that share one fix
    (it rewrites the same lines for all of them) are one unit, every other
    fixed finding is a unit of its own."""
    units: list[list[Finding]] = []
    by_edits: dict[tuple[Edit, ...], list[Finding]] = {}
    for finding in sorted(findings, key=Finding.sort_key):
        if not finding.fixed or finding.fix is None:
            continue
        edits = finding.fix.edits
        # A fix with no edits of its own is possible only with others (its
        # joint edits): no other finding shares it.
        if edits and edits in by_edits:
            by_edits[edits].append(finding)
            continue
        unit = [finding]
        units.append(unit)
        if edits:
            by_edits[edits] = unit
    return units


def apply_own_fixes(
    lines: Sequence[str], findings: Sequence[Finding], chosen: AbstractSet[Key]
) -> tuple[list[str], list[int | Edit]]:
    """``lines`` (the text the fixes of ``findings`` are edits of) with the
    own fixes of the findings named in ``chosen``, as a reviewer who accepts
    exactly those suggestions has it: their edits, and each joint edit once
    every finding it completes is chosen. Returns the lines and, for each,
    the index of the original line it is or the edit that wrote it (see
    :func:`~codemods.source.edits.apply_edits`). With every fixed finding
    chosen, that is what ``fix`` writes."""
    edits: list[Edit] = []
    for finding in findings:
        if finding.fix is None or key_of(finding) not in chosen:
            continue
        edits.extend(finding.fix.edits)
        edits.extend(joint.edit for joint in finding.fix.joint if chosen.issuperset(joint.findings))
    return apply_edits(lines, edits)


__all__ = ["apply_own_fixes", "attach_own_fixes", "fix_units", "key_of", "rewrites"]
