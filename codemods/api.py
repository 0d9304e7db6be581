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

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, ContextManager, Generator, Iterator, Sequence

from .engine import crossfile_cache, process
from .engine.passes import fix_source
from .findings import FileResult, Finding
from .rule import rules
from .settings import Options, Settings, resolve
from .source.discovery import Target, discover, in_shard
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


def prepare(targets: Sequence[Target], options: Options) -> Options:
    """``options`` with what the rules must know about the other files of the
    run, which one file's analysis cannot see: the module-level names that
    another of ``targets`` imports (AM401 must not rename them).

    Call it with every target of the run, before splitting them into shards.
    """
    from .model.crossfile import imported_elsewhere

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
    # The bytes of each file before a fix wrote it (only when asked for).
    originals: dict[str, bytes | None] = field(default_factory=dict)
    _decoded: dict[str, str | None] = field(default_factory=dict, repr=False)

    def source_of(self, path: str) -> str | None:
        """The text the findings of ``path`` refer to (``None`` when it
        cannot be read): standard input's, the file's before a fix wrote it,
        or the file's as it is."""
        if path not in self._decoded:
            try:
                if self.stdin_data is not None and path == self.stdin_name:
                    data = self.stdin_data
                elif self.originals.get(path) is not None:
                    data = self.originals[path]  # type: ignore[assignment]
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
    keep_originals: bool = False,
    progress: Callable[[int], ContextManager[Callable[[int], object] | None]] | None = None,
) -> Run:
    """Process ``paths`` (files and directories; ``-`` is ``stdin``) and the
    ``listed`` paths, with ``options``.

    ``shard=(I, N)`` keeps the I-th of N stable parts of the files; what one
    file may rewrite depends on the others, so every file of the run is seen
    before the shard is taken. ``keep_originals`` keeps each file's bytes
    before a fix writes it. ``progress(total)``, when given, is entered
    once with the number of files; what it gives (or ``None``) is told of
    each ``n`` files done, in whatever order they finish.
    """
    results: list[FileResult] = []
    file_paths = [p for p in paths if p != "-"] + list(listed)
    stdin_targets: list[Target] = []
    stdin_name = None
    if stdin is not None:
        stdin_name = stdin_filename or "-"
        stdin_targets.append(Target(Path(stdin_name), stdin_name, explicit=True, stdin=True, data=stdin))
    targets, errors = discover(file_paths, exclude=exclude) if file_paths else ([], [])
    options = prepare([*stdin_targets, *targets], options)
    outcome = Run(results, options.settings, stdin_name=stdin_name, stdin_data=stdin)
    if stdin_targets:
        results.extend(process(stdin_targets, options, jobs=1))
    if not file_paths:
        return outcome
    if shard is not None:
        # Errors are split too, so that the shards' outputs together report
        # each one once.
        targets = [t for t in targets if in_shard(t.display, *shard)]
        errors = [e for e in errors if in_shard(e.display, *shard)]
    results.extend(FileResult(e.display, error=e.message) for e in errors)
    if keep_originals and options.write:
        outcome.originals = {t.display: _read_or_none(t) for t in targets}
    # No number given: one process per core, if the run is worth a pool.
    if progress is None:
        results.extend(process(targets, options, jobs=jobs))
        return outcome
    with progress(len(targets)) as tell:
        results.extend(process(targets, options, jobs=jobs, progress=tell))
    return outcome


def _read_or_none(target: Target) -> bytes | None:
    try:
        return target.read()
    except OSError:
        return None


# -- fix --interactive ------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One fix to accept or decline: its finding, in ``path``, whose text
    before any fix is ``lines``."""

    path: str
    finding: Finding
    lines: list[str]


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
        fixed = [f for f in result.findings if f.fixed]
        if result.error is not None or not fixed:
            plans.append((result, None, []))
            continue
        try:
            data = Path(result.path).read_bytes()
            lines = split_lines(decode(data)[0])
        except (OSError, SourceError) as exc:
            plans.append((FileResult(result.path, error=f"cannot read: {exc}"), None, []))
            continue
        declined = []
        for finding in fixed:
            if quitting:
                declined.append(finding)
                continue
            if finding.code in whole_rule:
                continue
            answer = yield Question(result.path, finding, lines)
            if answer == APPLY_RULE:
                whole_rule.add(finding.code)
            elif answer == SKIP:
                declined.append(finding)
            elif answer == QUIT:
                quitting = True
                declined.append(finding)
        plans.append((result, data, declined))
    return [
        result if data is None else _apply_accepted(result, data, settings, declined)
        for result, data, declined in plans
    ]


def _apply_accepted(
    result: FileResult, data: bytes, settings: Settings, declined: list[Finding]
) -> FileResult:
    keys = frozenset((f.code, f.line, f.column) for f in declined)
    try:
        outcome = fix_source(data, replace(settings, declined=keys), filename=result.path)
        if outcome.changed:
            write_atomic(Path(result.path), outcome.output, expected=data)
    except SourceError as exc:
        return FileResult(result.path, error=str(exc))
    return FileResult(result.path, findings=outcome.findings, changed=outcome.changed, written=outcome.changed)


__all__ = [
    "APPLY",
    "APPLY_RULE",
    "QUIT",
    "SKIP",
    "Question",
    "Run",
    "check_paths",
    "fix_source",
    "prepare",
    "resolve_settings",
    "review",
    "run",
]
