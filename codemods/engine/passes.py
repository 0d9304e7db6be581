"""One source text through the rules: prefilter, screen, LibCST, verify, and
again on the fixed text until nothing changes.

Most files hold none of the rules' literals and need no tree at all; most of
the rest fail every screen on the stdlib ``ast``. LibCST (a quarter of a
second to import, many times a parse to use) is imported and run only for a
file with a candidate, and only with the rules whose screens passed.
"""

from __future__ import annotations

import ast
import functools
import gc
import warnings
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence, TypeVar, cast

from ..findings import Finding, SourceResult
from ..model.project import Project, Vocabulary, view_of
from ..rule import Rule
from ..rule import rules as registered_rules
from ..screen.facts import Facts
from ..settings import Options, Settings
from ..source.edits import byte_diff, line_opcodes
from .newer_syntax import parse_newer, verify_newer
from ..source.noqa import SKIP_FILE, Suppressions, skip_file_comment
from ..source.text import (
    SourceError,
    ascii_compatible,
    check_syntax,
    decode,
    encode,
    parse_ast,
    parse_error_message,
    split_lines,
)

# -- running rules ------------------------------------------------------------


def fix_source(
    source: bytes | str,
    settings: Settings | None = None,
    *,
    rules: Sequence[type[Rule]] | None = None,
    filename: str = "<string>",
    project: Project | None = None,
) -> SourceResult:
    """Run the rules on one source text and return its findings and fixed text.

    Raises :class:`SourceError` for input that is not valid Python. A fix
    whose output would not compile is not applied: its finding is reported
    without a fix, saying so, and the other fixes stand. ``project``: the
    model of the project around the text; without one, the rules see the
    text's own functions only.
    """
    settings = settings or Settings()
    if isinstance(source, str):
        try:
            data = source.encode("utf-8")
        except UnicodeEncodeError as exc:
            # A lone surrogate (from a bad decode upstream) is no source text.
            raise SourceError(f"cannot encode as utf-8: {exc.reason}") from None
    else:
        data = source
    text, encoding = decode(data)
    selected = [rule for rule in (rules if rules is not None else registered_rules()) if settings.runs(rule.CODE)]
    # Raises SourceError with the parser's message for invalid input.
    return _run_on_text(data, text, encoding, selected, settings, filename, validate=True, project=project)


# Deeper than this, the Python-level analysis hits the recursion limit anyway.
MAX_NESTING = 1000


def _nesting_depth(tree: ast.AST) -> int:
    """The depth of the tree LibCST will build, estimated on the stdlib ``ast``.

    ``a and b and c`` is one flat ``BoolOp`` in ``ast`` but a chain of nested
    binary operations in LibCST, so each extra operand counts as a level.
    """
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    pop, push, node_class = stack.pop, stack.append, ast.AST
    while stack:
        node, depth = pop()
        if type(node) is ast.BoolOp:
            depth += len(node.values) - 1
        if depth > deepest:
            deepest = depth
        depth += 1
        # ast.iter_child_nodes, without its generators (a tenth of a check
        # of a file that reaches LibCST).
        for name in node._fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, node_class):
                        push((item, depth))
            elif isinstance(value, node_class):
                push((value, depth))
    return deepest



def _prefiltered(data: bytes, rules: Sequence[type[Rule]]) -> list[type[Rule]]:
    """The rules whose literal prefilter occurs in ``data`` (a C-speed scan)."""
    return [
        rule
        for rule in rules
        if rule.prefilter(data)
    ]


# A fix can make another possible: AM302's ``await`` turns dropped calls into
# a run AM201 can gather; AM101's ``import asyncio`` lets AM201 and AM202 use
# asyncio. As ruff does, the rules run again on the fixed text until nothing
# changes, so that one run gives what a second run would; and as ruff's, a
# check reports the first pass alone, the findings of the source as read.
MAX_FIX_PASSES = 4


def _run_on_text(
    data: bytes,
    text: str,
    encoding: str,
    rules: Sequence[type[Rule]],
    settings: Settings,
    filename: str,
    tree: ast.Module | None = None,
    *,
    validate: bool = False,
    project: Project | None = None,
    passes: int = MAX_FIX_PASSES,
) -> SourceResult:
    """The rules run on ``text`` until nothing changes, at most ``passes``
    times (1: the findings of ``text`` as it is, each fixed as it stands
    there, as ``check`` reports them). ``validate``: the text is not yet
    known to be valid Python (see :func:`_one_pass`)."""
    # Fixes found not to compile, by (code, line, column) of ``text``: each
    # is declined, and its finding says why, in every later pass too.
    broken: dict[tuple[str, int, int], str] = {}
    findings, current = _one_pass(
        _scanned(data, text, encoding), text, rules, settings, filename, tree,
        validate=validate, broken=broken, project=project,
    )
    # The findings of the output at its own positions: those of the last
    # pass, which saw the output as it is.
    remaining: list[Finding] | None = findings if current is None else None
    if current is not None:
        for _ in range(passes - 1):
            declined = settings.declined | broken.keys()
            pass_settings = settings
            if declined:
                # A fix declined (in review, or found broken) stays declined
                # where the text moved.
                moved = {old: new for new, old in _unchanged_lines(text, current).items()}
                pass_settings = replace(settings, declined=frozenset(
                    (code, moved[line], column) for code, line, column in declined if line in moved
                ))
            found: dict[tuple[str, int, int], str] = {}
            more, following = _one_pass(
                _scanned(None, current, encoding), current, rules, pass_settings, filename,
                broken=found, project=project,
            )
            unchanged = _unchanged_lines(text, current)
            broken.update(
                ((code, unchanged[line], column), reason)
                for (code, line, column), reason in found.items()
                if line in unchanged
            )
            findings = _merge_findings(findings, more, text, current)
            if following is None:
                remaining = [f for f in more if not f.fixed]
                break
            current = following
    if broken:
        findings = [_unfixable(f, broken.get((f.code, f.line, f.column))) for f in findings]
    if current is None or current == text:
        return SourceResult(findings, data, data, remaining)
    return SourceResult(findings, data, encode(current, encoding), remaining)


def _unfixable(finding: Finding, reason: str | None) -> Finding:
    """``finding`` reported without a fix when ``reason`` says its fix broke the file."""
    if reason is None or "internal error" in finding.message:
        return finding
    return replace(
        finding,
        fixable=False,
        fixed=False,
        needs_import=None,
        message=f"{finding.message} (not fixed: internal error: its fix would not compile: {reason})",
    )


def _scanned(data: bytes | None, text: str, encoding: str) -> bytes:
    """The bytes the prefilters read for ``text``: the file's own (``data``,
    or ``text`` encoded again) where its encoding spells ASCII as ASCII,
    otherwise (utf-7, unicode_escape) the text's in UTF-8."""
    if not ascii_compatible(encoding):
        return text.encode("utf-8", "surrogatepass")
    return data if data is not None else encode(text, encoding)


_F = TypeVar("_F", bound=Callable[..., Any])


def _without_cycle_collection(function: _F) -> _F:
    """``function`` run with the cyclic garbage collector paused.

    A file that reaches LibCST makes a tree of a few hundred objects a line,
    and each full collection during its analysis walks all of them again: a
    fifth of the CPU of a 24,000-line file, and a share that grows with the
    file. Its trees are freed by reference counting; the few cycles made
    meanwhile wait for the next collection, after the pass (measured: the
    same peak RSS).
    """

    @functools.wraps(function)
    def paused(*args: Any, **kwargs: Any) -> Any:
        if not gc.isenabled():
            return function(*args, **kwargs)
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            gc.enable()

    return cast(_F, paused)


@_without_cycle_collection
def _one_pass(
    data: bytes,
    text: str,
    rules: Sequence[type[Rule]],
    settings: Settings,
    filename: str,
    tree: ast.Module | None = None,
    *,
    validate: bool = False,
    broken: dict[tuple[str, int, int], str],
    project: Project | None = None,
) -> tuple[list[Finding], str | None]:
    """The findings of one run of the rules, and the fixed text (``None``
    when nothing changed).

    When the fixed text would not compile, the fixes that break it are found
    and declined (see :func:`_without_broken_fixes`), the others kept: one
    finding that cannot be fixed never costs the file's other fixes. Their
    places go into ``broken`` with the compiler's reason.

    ``validate`` raises :class:`SourceError` unless ``text`` is valid Python.
    A file no prefilter passes is checked with ``symtable`` alone; one that
    needs its ``ast`` anyway is checked by building it, and goes through
    ``symtable`` too only if the tree holds something the symbol pass may
    reject (``Facts.symbol_pass_needed``): one parse instead of two.
    """
    # Most files hold none of the rules' literals: they need no tree at all.
    candidates = _prefiltered(data, rules)
    if not candidates:
        if validate:
            try:
                check_syntax(text, filename)
            except SourceError as exc:
                # Python newer than this interpreter is valid; anything else not.
                parse_newer(text, exc)
        return [], None
    if tree is None:
        try:
            tree = parse_ast(text, filename)
        except SourceError as exc:
            return _one_pass_newer(parse_newer(text, exc), text, candidates, settings, filename)
    facts = Facts.of(tree)
    facts.view_factory = functools.partial(view_of, project, filename, tree, text, Vocabulary.of(settings.options))
    if validate and facts.symbol_pass_needed:
        check_syntax(text, filename)
    candidates = [rule for rule in candidates if rule.screen(facts, settings)]
    if not candidates:
        return [], None
    depth = _nesting_depth(tree)
    if depth > MAX_NESTING:
        # LibCST's native parser can overflow the C stack (a segfault, not an
        # exception) on such input; the analysis could not recurse this deep anyway.
        raise SourceError(f"too deeply nested to analyse (depth {depth}, more than {MAX_NESTING})")
    # LibCST (a quarter of a second to import) and the rules' LibCST half
    # only for a file with a candidate.
    import libcst as cst

    from ..cst.batch import run_rules

    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise SourceError(f"syntax error (LibCST): {exc.message} (line {exc.raw_line}, column {exc.raw_column + 1})") from None
    except RecursionError:
        raise SourceError("too deeply nested for LibCST to parse") from None
    def attempt(declined: frozenset[tuple[str, int, int]]) -> tuple[list[Finding], str | None, str | None]:
        """The findings, the fixed text (``None``: unchanged) and why that
        text does not compile (``None``: it does), with ``declined`` declined."""
        run = settings if not declined else replace(settings, declined=settings.declined | declined)
        try:
            new_module, findings = run_rules(
                module, candidates, run, filename=filename, suppressions=Suppressions(text), facts=facts,
                source=text,
            )
        except RecursionError:
            raise SourceError("too deeply nested to analyse") from None
        if not any(finding.fixed for finding in findings):
            # Rules rewrite only what they report as fixed (Rule.report), so the
            # tree is unchanged: skip generating its code again.
            return findings, None, None
        new_text = new_module.code
        if new_text == text:
            return findings, None, None
        return findings, new_text, _compile_error(new_text, filename)

    findings, new_text, error = attempt(frozenset())
    if error is None:
        return findings, new_text
    # The parser accepts some invalid Python that only the compiler rejects
    # ('return' or 'await' outside a function, 'break' outside a loop). Such a
    # file never compiled: report the input, not the fix. (Compiled only here,
    # on the way to an error, so valid files pay nothing.)
    _compile_input(text, filename)
    return _without_broken_fixes(findings, error, attempt, broken)


def _without_broken_fixes(
    findings: list[Finding],
    error: str,
    attempt: Callable[[frozenset[tuple[str, int, int]]], tuple[list[Finding], str | None, str | None]],
    broken: dict[tuple[str, int, int], str],
) -> tuple[list[Finding], str | None]:
    """The findings and fixed text of the pass with every fix that breaks
    the text declined; each goes into ``broken`` with the compiler's reason.

    The fixes are taken in the order of the file. A bisection finds the
    shortest run of them, from the first, that does not compile: its last
    fix breaks the text (those before it compile together), and is declined.
    Again with the rest, until the text compiles: a few passes of the rules
    for each broken fix, paid only on the way to what was an error.
    """
    declined: frozenset[tuple[str, int, int]] = frozenset()
    while error is not None:
        applied = [(f.code, f.line, f.column) for f in findings if f.fixed]
        good, bad = 0, len(applied)  # the first `good` compile; the first `bad` do not
        culprit_error = error
        while bad - good > 1:
            middle = (good + bad) // 2
            _, _, problem = attempt(declined | frozenset(applied[middle:]))
            if problem is None:
                good = middle
            else:
                bad, culprit_error = middle, problem
        culprit = applied[bad - 1]
        broken[culprit] = culprit_error
        declined |= {culprit}
        findings, new_text, error = attempt(declined)
    return findings, new_text


def _compile_error(text: str, filename: str) -> str | None:
    """Why ``text`` does not compile, without the file's name (results are
    cached by the file's bytes, and the same bytes may stand under another
    name); ``None`` when it compiles."""
    try:
        with warnings.catch_warnings():
            # The user's own invalid escapes and such were there before the fix.
            warnings.simplefilter("ignore")
            compile(text, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return parse_error_message(exc).removeprefix("syntax error: ")
    return None


def _one_pass_newer(
    module: object, text: str, candidates: Sequence[type[Rule]], settings: Settings, filename: str
) -> tuple[list[Finding], str | None]:
    """:func:`_one_pass` for a file in syntax newer than this interpreter
    (see :mod:`codemods.engine.newer_syntax`): LibCST alone, every rule
    whose prefilter passed, the fix verified statement by statement."""
    import libcst as cst

    from ..cst.batch import run_rules

    assert isinstance(module, cst.Module)
    try:
        new_module, findings = run_rules(
            module, candidates, settings, filename=filename, suppressions=Suppressions(text), source=text
        )
    except RecursionError:
        raise SourceError("too deeply nested to analyse") from None
    if not any(finding.fixed for finding in findings) or new_module.code == text:
        return findings, None
    verify_newer(module, new_module, filename)
    return findings, new_module.code


def _compile_input(text: str, filename: str) -> None:
    """Raise :class:`SourceError` with the compiler's message unless ``text`` compiles."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise SourceError(parse_error_message(exc)) from None


def _merge_findings(
    findings: list[Finding], later: list[Finding], original: str, current: str
) -> list[Finding]:
    """``findings`` (on ``original``) updated with those of a later pass (on
    ``current``), placed back on the original's lines.

    A later finding that stands where one of its rule was already found (at
    the same place of a line the earlier fixes left alone, or on the line a
    fix rewrote) is that finding again, as this pass sees it: a report-only
    AM201 that became fixable once AM101 imported asyncio. Any other is a
    finding of the text the fixes wrote, marked ``after_fix``: placed on
    the line of the original its line stands for (for a line a fix wrote,
    that of its place in the fix's hunk), fixed (AM201 gathering the awaits
    AM302 added) or not (the run they complete cannot be gathered), so that
    the run counts every fix it applies and tells of what is left.
    """
    unchanged, written = _line_correspondence(original, current)
    merged = {(f.code, f.line, f.column): f for f in findings}
    for finding in later:
        line = unchanged.get(finding.line)
        key: tuple[str, int, int] | None = None
        if line is not None:
            key = (finding.code, line, finding.column)
        else:
            line = written.get(finding.line)
            if line is None:
                continue
            # On a rewritten line, columns have moved: the same rule on the
            # same original line, still unfixed, is the same finding.
            key = next(
                (k for k, f in merged.items() if k[:2] == (finding.code, line) and not f.fixed), None
            )
        end_line = max(line, unchanged.get(finding.end_line, written.get(finding.end_line, line)))
        known = merged.get(key) if key is not None else None
        if key is None or known is None:
            merged[(finding.code, line, finding.column)] = replace(
                finding, line=line, end_line=end_line, after_fix=True
            )
        else:
            # It keeps the name a reviewer declines it by (code, line, column).
            merged[key] = replace(
                finding, line=line, column=known.column, end_line=end_line, after_fix=known.after_fix
            )
    return sorted(merged.values(), key=Finding.sort_key)


def _unchanged_lines(original: str, current: str) -> dict[int, int]:
    """1-based line numbers of ``current`` -> those of ``original``, for the
    lines that are the same in both."""
    return _line_correspondence(original, current)[0]


def _line_correspondence(original: str, current: str) -> tuple[dict[int, int], dict[int, int]]:
    """Lines of ``current`` -> lines of ``original`` (1-based): those that are
    the same in both, and those a change wrote, each to the line it stands
    for (the same place in its hunk, or the hunk's last original line)."""
    old_lines = split_lines(original)
    unchanged: dict[int, int] = {}
    written: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in line_opcodes(old_lines, split_lines(current)):
        for offset in range(j2 - j1):
            if tag == "equal":
                unchanged[j1 + offset + 1] = i1 + offset + 1
            else:
                written[j1 + offset + 1] = min(i1 + offset, max(i2 - 1, i1), max(len(old_lines) - 1, 0)) + 1
    return unchanged, written



@dataclass
class Outcome:
    findings: list[Finding]
    output: bytes
    changed: bool = False
    diff: str = ""
    skipped: str | None = None
    # The findings of the output at its own positions (see SourceResult).
    remaining: list[Finding] | None = None


def process_bytes(
    data: bytes, options: Options, rules: Sequence[type[Rule]], display: str, *, project: Project | None = None
) -> Outcome:
    text, encoding = decode(data)
    # The literal first: a multi-line pattern tries every line's start.
    checked = b"skip-file" in data and SKIP_FILE.search(data) is not None
    if checked:
        check_syntax(text, display)  # a broken file is reported, skip-file or not
        if skip_file_comment(text):
            return Outcome([], data, skipped="skip-file")
    settings = options.settings.for_file(display)
    selected = [rule for rule in rules if settings.runs(rule.CODE)]
    # `check` reports the source as read: a fix that only another fix makes
    # possible would not apply to it (ruff's check shows the same).
    passes = MAX_FIX_PASSES if options.follow_fixes else 1
    source = _run_on_text(
        data, text, encoding, selected, settings, display, validate=not checked, project=project, passes=passes
    )
    outcome = Outcome(source.findings, source.output, source.changed, remaining=source.remaining)
    if source.changed:
        new_text = source.output.decode(encoding).removeprefix("\ufeff")
        if options.diff:
            # The bytes of the file, not its decoded text: a BOM or a latin-1
            # file must come out of the patch exactly as `fix` writes it.
            outcome.diff = byte_diff(display, data, source.output)
        if options.edits:
            from .own_fixes import attach_own_fixes

            def rerun(declining: Settings) -> str:
                output = _run_on_text(
                    data, text, encoding, selected, declining, display, project=project, passes=passes
                ).output
                return output.decode(encoding).removeprefix("\ufeff")

            outcome.findings = attach_own_fixes(source.findings, text, new_text, rerun, settings)
    return outcome
