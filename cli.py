"""asyncmend command line: parse options, call ``codemods``, render. Nothing else."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, NoReturn, Sequence

import click

import codemods
from codemods import RULE_INFOS, ConfigError, FileResult, Options, SourceError, Target
from codemods._engine import decode, write_atomic
from codemods import _config, _report
from codemods._cache import DEFAULT_CACHE_DIR
from codemods._discovery import in_shard, parse_shard, read_path_list

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
OUTPUT_FORMATS = ("text", "json", "sarif", "github", "rdjson", "rdjsonl")
# The formats that need each file's text (byte columns, fingerprints, suggestions).
SOURCE_FORMATS = ("sarif", "rdjson", "rdjsonl")
# Below this many files a progress bar is noise.
PROGRESS_MIN_FILES = 50


def _fail(message: str) -> NoReturn:
    """Bad input: one line on stderr, exit status 2, never a traceback."""
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _check_format(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value not in OUTPUT_FORMATS:
        _fail(f"--output-format: unknown format {value!r} (choose from {', '.join(OUTPUT_FORMATS)})")
    return value


def _parse_shard(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        return parse_shard(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _shared_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        # Not readable=True: click would stop the whole run at an unreadable
        # path; the engine reports it by name and goes on with the others.
        click.argument("paths", nargs=-1, type=click.Path(path_type=str, readable=False)),
        click.option("--select", multiple=True, metavar="CODES",
                      help="Rules to run: codes (AM201), prefixes (AM2) or slugs "
                           "(sequential-awaits), comma-separated. Default: all."),
        click.option("--ignore", multiple=True, metavar="CODES",
                      help="Rules not to run, in the same forms as --select."),
        click.option("--unsafe-fixes/--no-unsafe-fixes", default=None,
                      help="Also apply fixes that may reorder side effects or change "
                           "which exception surfaces (see `asyncmend rules`)."),
        click.option("--output-format", default="text", show_default=True, callback=_check_format,
                      metavar="|".join(OUTPUT_FORMATS), help="How findings are printed."),
        click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                      help="Worker processes. Default: one per core."),
        click.option("--exclude", multiple=True, metavar="GLOB",
                      help="Skip files and directories matching this .gitignore-style "
                           "pattern while walking directories. Repeatable."),
        click.option("--config", "config_file", metavar="FILE",
                      help="Read options from FILE ([tool.asyncmend] of a pyproject.toml, "
                           "or a TOML file of those keys) instead of the nearest "
                           "pyproject.toml."),
        click.option("--target-version", default=None, metavar="py39..py314",
                      help="Oldest Python the code must run on; no fix uses anything newer. "
                           "Default: from requires-python, else py39."),
        click.option("--line-length", type=int, default=None, metavar="N",
                      help="Longest line a fix may write (default 88)."),
        click.option("--no-progress", is_flag=True,
                      help="Never show the progress bar (it only appears on a terminal)."),
        click.option("--stdin-filename", metavar="PATH",
                      help="The file name to report for source read from `-`."),
        click.option("--files-from", type=click.File("r", encoding="utf-8"), metavar="FILE",
                      help="Also process the paths listed in FILE, one per line "
                           "(`-`: standard input), e.g. from `git diff --name-only`."),
        click.option("--shard", metavar="I/N", callback=_parse_shard,
                      help="Process only the I-th of N stable parts of the files (by a "
                           "hash of each path), for a CI matrix; the json outputs of "
                           "the N shards together are the whole run."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(codemods.__version__, prog_name="asyncmend")
def main() -> None:
    """Find and rewrite the asyncio pitfalls that make services slow, flaky
    or silently wrong.

    \b
      asyncmend check src/            report findings
      asyncmend fix --diff src/       show what fix would change
      asyncmend fix src/              apply the safe fixes in place
      asyncmend rules                 list the rules
      asyncmend explain AM201         one rule in full

    Exit status: 0 nothing to report, 1 findings, 2 errors (bad input or options).
    """
    _print_names_as_they_are()


def _print_names_as_they_are() -> None:
    """A file name that is not UTF-8 is held with surrogates (os.fsdecode).
    Under a UTF-8 locale Python's stdout refuses those; print such a name's
    own bytes instead, as ls and find do. (The JSON outputs escape them.)"""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="surrogateescape")
            except (ValueError, OSError):  # a closed or detached stream
                pass


@main.command()
@_shared_options
@click.option("--no-cache", is_flag=True,
              help="Analyse every file again; do not read or write .asyncmend_cache/ "
                   "(results of unchanged files are otherwise reused).")
def check(paths: tuple[str, ...], no_cache: bool, **kwargs: Any) -> None:
    """Report findings in PATHS (files or directories; `-` reads standard input).

    Nothing is written. Exit status: 0 no findings, 1 findings, 2 errors.

    \b
    Examples:
      asyncmend check src/
      asyncmend check --select AM1,AM3 --output-format json src/
      cat app.py | asyncmend check --stdin-filename app.py -
    """
    fmt = kwargs["output_format"]
    settings = _settings(paths, kwargs, fix=False, preview=fmt != "text")
    options = Options(settings=settings, edits=fmt != "text",
                      cache_dir=None if no_cache else DEFAULT_CACHE_DIR)
    results = _run(paths, options, kwargs)
    _emit(results, fmt, kwargs, fixing=False)
    _exit(results, findings_fail=True)


@main.command()
@_shared_options
@click.option("--diff", is_flag=True, help="Print a unified diff of the fixes; write nothing.")
@click.option("--check", "diff_check", is_flag=True,
              help="With --diff: exit 1 when there is anything to change.")
@click.option("-i", "--interactive", is_flag=True,
              help="Show each fix as a diff hunk and ask: apply, skip, apply all of "
                   "this rule, or quit. Only accepted fixes are written.")
def fix(paths: tuple[str, ...], diff: bool, diff_check: bool, interactive: bool, **kwargs: Any) -> None:
    """Apply fixes to PATHS in place (safe fixes; unsafe ones with --unsafe-fixes).

    Each rewritten file is checked to parse and compile before it is written,
    atomically. With `-`, the fixed source goes to standard output.
    Exit status: 0 done, 1 findings left unfixed, 2 errors.
    With --diff: 0, or 1 with --check when there is a diff.

    \b
    Examples:
      asyncmend fix --diff src/            review first
      asyncmend fix src/                   then apply
      asyncmend fix --unsafe-fixes --select AM201 src/
    """
    if diff_check and not diff:
        raise click.UsageError("--check goes with --diff")
    settings = _settings(paths, kwargs, fix=True, preview=False)
    fmt = kwargs["output_format"]
    if interactive:
        if diff or "-" in paths or fmt != "text":
            _fail("--interactive works on files, with text output and without --diff")
        results = _run(paths, Options(settings=settings, edits=True), kwargs)
        # The settings the run used, which know what other files import.
        results = _interactive(results, kwargs["_settings"])
        _emit(results, fmt, kwargs, fixing=True)
        _exit(results, findings_fail=True, fixing=True)
    options = Options(settings=settings, write=not diff, diff=diff, edits=fmt != "text")
    results = _run(paths, options, kwargs)
    stdin_result = next((r for r in results if r.output is not None), None)
    if diff:
        sys.stdout.buffer.write(_report.render_diff(results))
        sys.stdout.flush()
        for result in results:
            if result.error is not None:
                click.echo(_report.error_line(result, _style_for(sys.stderr)), err=True)
        if any(r.error for r in results):
            sys.exit(EXIT_ERROR)
        sys.exit(EXIT_FINDINGS if diff_check and any(r.changed for r in results) else EXIT_OK)
    if stdin_result is not None:
        sys.stdout.buffer.write(stdin_result.output or b"")
        sys.stdout.flush()
        _emit(results, fmt, kwargs, fixing=True, stream_err=True)
    else:
        _emit(results, fmt, kwargs, fixing=True)
    _exit(results, findings_fail=True, fixing=True)


@main.command()
def rules() -> None:
    """List the rules: code, slug, fix safety, summary.

    \b
    Example:
      asyncmend rules
      asyncmend explain AM101     then read one of them in full
    """
    width = max(len(rule.SLUG) for rule in RULE_INFOS)
    click.echo(f"{'code':<6} {'slug':<{width}} {'fix':<6} summary")
    for rule in RULE_INFOS:
        click.echo(f"{rule.CODE:<6} {rule.SLUG:<{width}} {rule.SAFETY.value:<6} {rule.DESCRIPTION}")


@main.command()
@click.argument("code")
def explain(code: str) -> None:
    """Explain one rule (by code or slug): what, why, fix, safety, limits.

    \b
    Example:
      asyncmend explain AM101
      asyncmend explain blocking-sleep
    """
    rules = codemods.RULES  # the docstrings are the rules' own
    rule = codemods.RULES_BY_CODE.get(code.upper()) or next(
        (r for r in rules if r.SLUG == code.lower() or code.upper() in r.EQUIVALENTS), None
    )
    if rule is None:
        known = ", ".join(r.CODE for r in rules)
        click.echo(f"error: unknown rule {code!r} (known: {known})", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(f"{rule.CODE} {rule.SLUG}: {rule.DESCRIPTION}")
    click.echo(f"Fix: {rule.SAFETY.value}")
    if rule.EQUIVALENTS:
        click.echo(f"Same check elsewhere: {', '.join(rule.EQUIVALENTS)} (honoured in # noqa)")
    if rule.OPTIONS:
        settings = ", ".join(f"{key} (default {default!r})" for key, default in rule.OPTIONS.items())
        click.echo(f"Options in [tool.asyncmend]: {settings}")
    click.echo()
    import inspect

    click.echo(inspect.cleandoc(rule.__doc__ or ""))


# -- helpers ------------------------------------------------------------------


def _settings(
    paths: Sequence[str], kwargs: dict[str, Any], *, fix: bool, preview: bool
) -> codemods.Settings:
    """Command line over configuration file over defaults (see
    :func:`codemods._config.resolve`); also settles ``kwargs["exclude"]``."""
    try:
        settings, kwargs["exclude"] = _config.resolve(
            RULE_INFOS,
            paths,
            fix=fix,
            preview_fixes=preview,
            select=kwargs["select"],
            ignore=kwargs["ignore"],
            unsafe_fixes=kwargs["unsafe_fixes"],
            exclude=kwargs["exclude"],
            target_version=kwargs["target_version"],
            line_length=kwargs["line_length"],
            config_file=kwargs["config_file"],
            stdin_filename=kwargs["stdin_filename"],
        )
    except ConfigError as exc:
        _fail(str(exc))
    return settings


def _run(paths: Sequence[str], options: Options, kwargs: dict[str, Any]) -> list[FileResult]:
    listed: list[str] = []
    if kwargs["files_from"] is not None:
        if "-" in paths and kwargs["files_from"].name == "<stdin>":
            raise click.UsageError("standard input cannot be both source (-) and --files-from -")
        listed = read_path_list(kwargs["files_from"].read())
    elif not paths:
        raise click.UsageError("give at least one path (a file, a directory, or - for stdin)")
    results: list[FileResult] = []
    file_paths = [p for p in paths if p != "-"] + listed
    stdin_targets: list[Target] = []
    if "-" in paths:
        name = kwargs["stdin_filename"] or "-"
        data = sys.stdin.buffer.read()
        kwargs["_stdin_data"] = data
        stdin_targets.append(Target(Path(name), name, explicit=True, stdin=True, data=data))
    targets, errors = codemods.discover(file_paths, exclude=kwargs["exclude"]) if file_paths else ([], [])
    # Every file of the run, before any shard is taken: what one file may
    # rewrite depends on what the others import from it.
    options = codemods.prepare([*stdin_targets, *targets], options)
    kwargs["_settings"] = options.settings
    if stdin_targets:
        results.extend(codemods.process(stdin_targets, options, jobs=1))
    if file_paths:
        if kwargs["shard"] is not None:
            # Errors are split too, so that the shards' outputs together
            # report each one once.
            targets = [t for t in targets if in_shard(t.display, *kwargs["shard"])]
            errors = [e for e in errors if in_shard(e.display, *kwargs["shard"])]
        results.extend(FileResult(e.display, error=e.message) for e in errors)
        if options.write and kwargs["output_format"] in SOURCE_FORMATS:
            # Findings left after a fix point into the source as it was; keep
            # it for the byte columns and fingerprints of those formats.
            kwargs["_originals"] = {t.display: _read_or_none(t) for t in targets}
        jobs = kwargs["jobs"] or codemods.default_jobs()
        if _show_progress(len(targets), kwargs):
            # The bar counts files as they finish, in whatever order.
            bar: Any
            with click.progressbar(length=len(targets), label="asyncmend", file=sys.stderr) as bar:
                results.extend(codemods.process(targets, options, jobs=jobs, progress=bar.update))
        else:
            results.extend(codemods.process(targets, options, jobs=jobs))
    return results


def _show_progress(count: int, kwargs: dict[str, Any]) -> bool:
    return (
        count >= PROGRESS_MIN_FILES
        and not kwargs["no_progress"]
        and kwargs["output_format"] == "text"
        and sys.stderr.isatty()
    )


def _style_for(stream: Any) -> _report.Style:
    if stream.isatty():
        return click.style
    return lambda text, **_: text


def _read_or_none(target: Target) -> bytes | None:
    try:
        return target.read()
    except OSError:
        return None


def _source_reader(kwargs: dict[str, Any]) -> _report.SourceOf:
    """The source text findings refer to, for formats that need line text
    (UTF-8 byte columns, fingerprints, suggestions)."""
    cache: dict[str, str | None] = {}

    def source_of(path: str) -> str | None:
        if path not in cache:
            stdin_data = kwargs.get("_stdin_data")
            originals = kwargs.get("_originals") or {}
            try:
                if stdin_data is not None and path == (kwargs["stdin_filename"] or "-"):
                    data = stdin_data
                elif originals.get(path) is not None:
                    data = originals[path]
                else:
                    data = Path(path).read_bytes()
                cache[path] = decode(data)[0]
            except (OSError, SourceError):
                cache[path] = None
        return cache[path]

    return source_of


def _emit(
    results: list[FileResult],
    fmt: str,
    kwargs: dict[str, Any],
    *,
    fixing: bool,
    stream_err: bool = False,
) -> None:
    for result in results:
        if result.error is not None:
            click.echo(_report.error_line(result, _style_for(sys.stderr)), err=True)
    out = sys.stderr if stream_err else sys.stdout
    if fmt == "json":
        text = _report.render_json(results, fixing=fixing)
    elif fmt == "github":
        text = _report.render_github(results, fixing=fixing)
    elif fmt == "sarif":
        text = _report.render_sarif(results, _source_reader(kwargs), fixing=fixing)
    elif fmt == "rdjson":
        text = _report.render_rdjson(results, _source_reader(kwargs), fixing=fixing)
    elif fmt == "rdjsonl":
        text = _report.render_rdjsonl(results, _source_reader(kwargs), fixing=fixing)
    else:
        text = _report.render_text(results, fixing=fixing, style=_style_for(out))
    click.echo(text, nl=False, err=stream_err)


ANSWERS = {"y": "apply", "n": "skip", "a": "apply all of this rule", "q": "quit"}


def _interactive(results: list[FileResult], settings: codemods.Settings) -> list[FileResult]:
    """Ask about each fix; rewrite each file with only the accepted ones.

    A declined fix is left out by running the rules again with that finding
    declined, not by dropping its edits: a shared edit such as removing an
    import that became unused is right only for the set of fixes applied.
    """
    style = _style_for(sys.stdout)
    prompt = ", ".join(f"[{key}] {meaning}" for key, meaning in ANSWERS.items())
    whole_rule: set[str] = set()
    quitting = False
    # Every question first, every write after: an interrupted review (Ctrl-C,
    # end of input) writes nothing.
    plans: list[tuple[FileResult, bytes | None, list[codemods.Finding]]] = []
    for result in results:
        fixed = [f for f in result.findings if f.fixed]
        if result.error is not None or not fixed:
            plans.append((result, None, []))
            continue
        try:
            data = Path(result.path).read_bytes()
            lines = _report.split_lines(decode(data)[0])
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
            click.echo(_report.fix_hunk(result.path, finding, lines, style))
            answer = click.prompt(prompt, type=click.Choice(list(ANSWERS)), show_choices=False)
            click.echo()
            if answer == "a":
                whole_rule.add(finding.code)
            elif answer == "n":
                declined.append(finding)
            elif answer == "q":
                quitting = True
                declined.append(finding)
        plans.append((result, data, declined))
    return [
        result if data is None else _apply_accepted(result, data, settings, declined)
        for result, data, declined in plans
    ]


def _apply_accepted(
    result: FileResult, data: bytes, settings: codemods.Settings, declined: list[codemods.Finding]
) -> FileResult:
    keys = frozenset((f.code, f.line, f.column) for f in declined)
    try:
        outcome = codemods.fix_source(data, replace(settings, declined=keys), filename=result.path)
        if outcome.changed:
            write_atomic(Path(result.path), outcome.output, expected=data)
    except SourceError as exc:
        return FileResult(result.path, error=str(exc))
    return FileResult(result.path, findings=outcome.findings, changed=outcome.changed, written=outcome.changed)


def _exit(results: list[FileResult], *, findings_fail: bool, fixing: bool = False) -> None:
    if any(r.error is not None for r in results):
        sys.exit(EXIT_ERROR)
    open_findings = [f for r in results for f in r.findings if not (fixing and f.fixed)]
    sys.exit(EXIT_FINDINGS if findings_fail and open_findings else EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    # `python -m cli` should name itself as the installed command does.
    main(prog_name="asyncmend")
