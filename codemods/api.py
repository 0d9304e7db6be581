"""The public API: what the command line (and any other front end) calls.

- :func:`resolve_settings`: command-line values over ``[tool.asyncmend]``
  over the defaults;
- :func:`run`: discover the files (and standard input), split a shard,
  process them on worker processes; returns a :class:`Run`;
- :func:`review`: the interactive apply of ``fix --interactive``, as a
  generator that asks about each fix and writes what was accepted;
- :func:`fix_source`, :func:`check_paths`: one text, or paths, as a library.

Nothing here prints or exits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, ContextManager, Generator, Iterator, Sequence

from .engine import crossfile_cache, process
from .engine.files import project_for
from .engine.passes import fix_source
from .findings import FileResult, Finding
from .rule import rules
from .settings import Options, Resolved, Settings, resolve, resolve_all
from .source.cache import content_hash, file_hash
from .source.discovery import Target, discover, exclude_spec, force_excluded, in_shard
from .source.text import SourceError, decode, split_lines
from .source.write import write_atomic


def resolve_settings(
    paths: Sequence[str],
    *,
    fix: bool,
    preview_fixes: bool = False,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    unsafe_fixes: bool | None = None,
    exclude: Sequence[str] = (),
    target_version: str | None = None,
    line_length: int | None = None,
    config_file: str | None = None,
    stdin_filename: str | None = None,
) -> tuple[Settings, tuple[str, ...]]:
    """The run's settings and exclude patterns (see :func:`codemods.settings.resolve`);
    raises :class:`~codemods.settings.ConfigError` for a bad option or file."""
    return resolve(
        rules(),
        paths,
        fix=fix,
        preview_fixes=preview_fixes,
        select=select,
        ignore=ignore,
        unsafe_fixes=unsafe_fixes,
        exclude=exclude,
        target_version=target_version,
        line_length=line_length,
        config_file=config_file,
        stdin_filename=stdin_filename,
    )


def configure(paths: Sequence[str], **kwargs: object) -> Resolved:
    """What the command line (``kwargs``: the keywords of
    :func:`resolve_settings`, and ``force_exclude``) and the configuration
    file decide for a run, with the configuration file in use (see
    :class:`~codemods.settings.Resolved`)."""
    return resolve_all(rules(), paths, **kwargs)  # type: ignore[arg-type]


def prepare(targets: Sequence[Target], options: Options, walked: Sequence[str] = ()) -> Options:
    """``options`` with what the rules must know about the other files of the
    run and of the project around it, which one file's analysis cannot see:
    what another file reaches of a module through it (a name AM401 must not
    rename, an import no fix may remove, a ``time.sleep`` a test patches
    there; see :mod:`codemods.model.crossfile`).

    Call it with every target of the run, before splitting them into shards;
    ``walked``: the paths the run walked (a project inside one of them has no
    file the run does not hold already).
    """
    from .model.crossfile import imported_elsewhere, project_files

    selected = [rule for rule in rules() if options.settings.runs(rule.CODE) and rule.REWRITES]
    if not selected:
        return options

    def sources() -> Iterator[tuple[str, bytes]]:
        for target in targets:
            try:
                yield target.display, target.read()
            except OSError:
                continue  # reported when the file itself is processed

    def hashes() -> Iterator[tuple[str, str]]:
        # A file's hash is taken once a process (see file_hash): the cache
        # of each file's result asks for it again.
        for target in targets:
            try:
                if target.data is not None:
                    yield target.display, content_hash(target.data)
                else:
                    yield target.display, file_hash(os.path.abspath(target.path))
            except OSError:
                continue

    on_disk = [target for target in targets if not target.stdin or target.display != "-"]
    found = imported_elsewhere(
        sources,
        crossfile_cache(options),
        rules=selected,
        settings=options.settings,
        project=project_files(on_disk, walked),
        hashes=hashes,
    )
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
    yield from process(targets, prepare(targets, options or Options(), paths), jobs)


@dataclass
class Run:
    """What :func:`run` did: the results in order (standard input first,
    then errors of discovery, then the files), and what a renderer needs to
    point into the sources as they were."""

    results: list[FileResult]
    # The settings the files were processed with (they know what other
    # files import).
    settings: Settings
    stdin_name: str | None = None
    stdin_data: bytes | None = None
    # What discovery warns of (a dangling symbolic link), one line each.
    warnings: list[str] = field(default_factory=list)
    # How many files discovery found (before a shard was taken).
    found: int = 0
    _decoded: dict[str, str | None] = field(default_factory=dict, repr=False)

    def source_of(self, path: str) -> str | None:
        """The text the findings of ``path`` refer to (``None`` when it
        cannot be read): standard input's (after ``fix -``, the text given
        back), or the file's as it is (after ``fix``, as written: what is
        left is reported where it now stands)."""
        if path not in self._decoded:
            try:
                if self.stdin_data is not None and path == self.stdin_name:
                    data = self.stdin_data
                else:
                    data = Path(path).read_bytes()
                self._decoded[path] = decode(data)[0]
            except (OSError, SourceError):
                self._decoded[path] = None
        return self._decoded[path]


def run(
    paths: Sequence[str],
    options: Options,
    *,
    exclude: Sequence[str] = (),
    stdin: bytes | None = None,
    stdin_filename: str | None = None,
    listed: Sequence[str] = (),
    shard: tuple[int, int] | None = None,
    jobs: int | None = None,
    progress: Callable[[int], ContextManager[Callable[[int], object] | None]] | None = None,
    force_exclude: bool = False,
) -> Run:
    """Process ``paths`` (files and directories; ``-`` is ``stdin``) and the
    ``listed`` paths, with ``options``.

    ``shard=(I, N)`` keeps the I-th of N stable parts of the files; what one
    file may rewrite depends on the others, so every file of the run is seen
    before the shard is taken. ``force_exclude`` leaves out named files
    (and the file standard input stands for) that ``exclude`` or an
    ``@generated`` marker would leave out of a walk. ``progress(total)``, when given, is entered
    once with the number of files; what it gives (or ``None``) is told of
    each ``n`` files done, in whatever order they finish.
    """
    results: list[FileResult] = []
    file_paths = [p for p in paths if p != "-"] + list(listed)
    stdin_targets: list[Target] = []
    stdin_name = None
    if stdin is not None:
        stdin_name = stdin_filename or "-"
        excluded = force_exclude and stdin_filename is not None and force_excluded(
            Path(os.path.abspath(stdin_filename)), exclude_spec(list(exclude)), Path.cwd()
        )
        if excluded:
            # Excluded, it is given back as it came (an editor replaces its
            # buffer with what `fix -` prints).
            results.append(FileResult(stdin_name, skipped="excluded", output=stdin))
        else:
            stdin_targets.append(
                Target(Path(stdin_name), stdin_name, explicit=not force_exclude, stdin=True, data=stdin)
            )
    targets, found_errors = (
        discover(file_paths, exclude=exclude, force_exclude=force_exclude) if file_paths else ([], [])
    )
    errors = [e for e in found_errors if not e.warning]
    options = prepare([*stdin_targets, *targets], options, file_paths)
    outcome = Run(results, options.settings, stdin_name=stdin_name, stdin_data=stdin)
    outcome.warnings = [f"{e.display}: {e.message}" for e in found_errors if e.warning]
    outcome.found = len(targets) + len(stdin_targets)
    if stdin_targets:
        results.extend(process(stdin_targets, options, jobs=1))
        if options.write and results[-1].output is not None:
            # After `fix -`, findings point into the text given back.
            outcome.stdin_data = results[-1].output
    if not file_paths:
        return outcome
    if shard is not None:
        # Errors are split too, so that the shards' outputs together report
        # each one once.
        targets = [t for t in targets if in_shard(t.display, *shard)]
        errors = [e for e in errors if in_shard(e.display, *shard)]
    results.extend(FileResult(e.display, error=e.message) for e in errors)
    # No number given: one process per core, if the run is worth a pool.
    if progress is None:
        results.extend(process(targets, options, jobs=jobs))
        return outcome
    with progress(len(targets)) as tell:
        results.extend(process(targets, options, jobs=jobs, progress=tell))
    return outcome


# -- fix --interactive ------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One fix to accept or decline: its finding, in ``path``, whose text
    before any fix is ``lines``."""

    path: str
    finding: Finding
    lines: list[str]
    # Other findings that share this fix (their fixes rewrite the same
    # lines): the answer is theirs too.
    together: tuple[Finding, ...] = ()


#: The answers :func:`review` takes for a :class:`Question`.
APPLY, SKIP, APPLY_RULE, QUIT = "apply", "skip", "apply-rule", "quit"


def review(
    results: Sequence[FileResult], settings: Settings
) -> Generator[Question, str, list[FileResult]]:
    """Ask about each fix of ``results`` (a run with edits, nothing written);
    rewrite each file with only the accepted ones.

    Send :data:`APPLY`, :data:`SKIP`, :data:`APPLY_RULE` (this and every
    later fix of the rule) or :data:`QUIT` (decline this and every later
    fix) for each :class:`Question`; the generator returns the results of the
    files as written. Every question comes before any write: an interrupted
    review writes nothing.

    A declined fix is left out by running the rules again with that finding
    declined, not by dropping its edits: a shared edit such as removing an
    import that became unused is right only for the set of fixes applied.
    """
    whole_rule: set[str] = set()
    quitting = False
    plans: list[tuple[FileResult, bytes | None, list[Finding]]] = []
    for result in results:
        # A fix found only on what another wrote is asked about with that
        # one, which it follows (see Finding.after_fix).
        fixed = sorted((f for f in result.findings if f.fixed), key=lambda f: f.after_fix)
        if result.error is not None or not fixed:
            plans.append((result, None, []))
            continue
        try:
            data = Path(result.path).read_bytes()
            lines = split_lines(decode(data)[0])
        except (OSError, SourceError) as exc:
            plans.append((FileResult(result.path, error=f"cannot read: {exc}"), None, []))
            continue
        declined: list[Finding] = []
        answered: set[int] = set()
        for finding in fixed:
            if id(finding) in answered:
                continue
            together = tuple(
                f for f in fixed
                if f is not finding and f.fix and finding.fix and f.fix.edits and f.fix.edits == finding.fix.edits
            )
            answered.update(id(f) for f in together)
            if quitting:
                declined.extend((finding, *together))
                continue
            if finding.code in whole_rule:
                continue
            answer = yield Question(result.path, finding, lines, together)
            if answer == APPLY_RULE:
                whole_rule.add(finding.code)
            elif answer == SKIP:
                declined.extend((finding, *together))
            elif answer == QUIT:
                quitting = True
                declined.extend((finding, *together))
        plans.append((result, data, declined))
    return [
        result if data is None else _apply_accepted(result, data, settings, declined)
        for result, data, declined in plans
    ]


def _apply_accepted(
    result: FileResult, data: bytes, settings: Settings, declined: list[Finding]
) -> FileResult:
    keys = frozenset((f.code, f.line, f.column) for f in declined)
    # The same model and per-file settings as the run whose fixes were shown.
    project = project_for(Options(settings=settings), Target(Path(result.path), result.path))
    try:
        outcome = fix_source(
            data, replace(settings.for_file(result.path), declined=keys), filename=result.path, project=project
        )
        if outcome.changed:
            write_atomic(Path(result.path), outcome.output, expected=data)
    except SourceError as exc:
        return FileResult(result.path, findings=[replace(f, fixed=False) for f in result.findings], error=str(exc))
    findings = outcome.findings
    if outcome.remaining is not None:
        # What is left, where it stands in the file as written.
        findings = [f for f in findings if f.fixed] + outcome.remaining
    return FileResult(result.path, findings=findings, changed=outcome.changed, written=outcome.changed)


__all__ = [
    "APPLY",
    "APPLY_RULE",
    "QUIT",
    "SKIP",
    "Question",
    "Run",
    "check_paths",
    "configure",
    "fix_source",
    "prepare",
    "resolve_settings",
    "review",
    "run",
]
