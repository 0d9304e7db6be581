"""asyncmend command line: parse options, call ``codemods``, render. Nothing else."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any, Callable, Sequence

import click

import codemods
from codemods import RULES, RULES_BY_CODE, ConfigError, FileResult, Options, Safety, Target
from codemods import _config, _report
from codemods._cache import DEFAULT_CACHE_DIR
from codemods._discovery import in_shard, parse_shard, read_path_list

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
OUTPUT_FORMATS = ("text", "json")
# Below this many files a progress bar is noise.
PROGRESS_MIN_FILES = 50


def _parse_shard(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        return parse_shard(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _shared_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.argument("paths", nargs=-1, type=click.Path(path_type=str)),
        click.option("--select", multiple=True, metavar="CODES",
                      help="Rules to run: codes (AM201), prefixes (AM2) or slugs "
                           "(sequential-awaits), comma-separated. Default: all."),
        click.option("--ignore", multiple=True, metavar="CODES",
                      help="Rules not to run, in the same forms as --select."),
        click.option("--unsafe-fixes", is_flag=True,
                      help="Also apply fixes that may reorder side effects or change "
                           "which exception surfaces (see `asyncmend rules`)."),
        click.option("--output-format", type=click.Choice(OUTPUT_FORMATS), default="text",
                      show_default=True, help="How findings are printed."),
        click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                      help="Worker processes. Default: one per core."),
        click.option("--exclude", multiple=True, metavar="GLOB",
                      help="Skip files and directories matching this .gitignore-style "
                           "pattern while walking directories. Repeatable."),
        click.option("--target-version", default="py39", show_default=True,
                      metavar="py39..py314",
                      help="Oldest Python the code must run on; no fix uses anything newer."),
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
    settings = _settings(kwargs, fix=False, preview=fmt != "text")
    options = Options(settings=settings, edits=fmt != "text",
                      cache_dir=None if no_cache else DEFAULT_CACHE_DIR)
    results = _run(paths, options, kwargs)
    _emit(results, fmt, fixing=False)
    _exit(results, findings_fail=True)


@main.command()
@_shared_options
@click.option("--diff", is_flag=True, help="Print a unified diff of the fixes; write nothing.")
@click.option("--check", "diff_check", is_flag=True,
              help="With --diff: exit 1 when there is anything to change.")
def fix(paths: tuple[str, ...], diff: bool, diff_check: bool, **kwargs: Any) -> None:
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
    settings = _settings(kwargs, fix=True, preview=False)
    fmt = kwargs["output_format"]
    options = Options(settings=settings, write=not diff, diff=diff, edits=fmt != "text")
    results = _run(paths, options, kwargs)
    stdin_result = next((r for r in results if r.output is not None), None)
    if diff:
        click.echo(_report.render_diff(results), nl=False)
        for result in results:
            if result.error is not None:
                click.echo(_report.error_line(result, _style_for(sys.stderr)), err=True)
        if any(r.error for r in results):
            sys.exit(EXIT_ERROR)
        sys.exit(EXIT_FINDINGS if diff_check and any(r.changed for r in results) else EXIT_OK)
    if stdin_result is not None:
        sys.stdout.buffer.write(stdin_result.output or b"")
        sys.stdout.flush()
        _emit(results, fmt, fixing=True, stream_err=True)
    else:
        _emit(results, fmt, fixing=True)
    _exit(results, findings_fail=True, fixing=True)


@main.command()
def rules() -> None:
    """List the rules: code, slug, fix safety, summary."""
    width = max(len(rule.SLUG) for rule in RULES)
    click.echo(f"{'code':<6} {'slug':<{width}} {'fix':<6} summary")
    for rule in RULES:
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
    rule = RULES_BY_CODE.get(code.upper()) or next(
        (r for r in RULES if r.SLUG == code.lower() or code.upper() in r.EQUIVALENTS), None
    )
    if rule is None:
        known = ", ".join(r.CODE for r in RULES)
        click.echo(f"error: unknown rule {code!r} (known: {known})", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(f"{rule.CODE} {rule.SLUG}: {rule.DESCRIPTION}")
    click.echo(f"Fix: {rule.SAFETY.value}")
    if rule.EQUIVALENTS:
        click.echo(f"Same check elsewhere: {', '.join(rule.EQUIVALENTS)} (honoured in # noqa)")
    click.echo()
    click.echo(textwrap.dedent(rule.__doc__ or "").strip())


# -- helpers ------------------------------------------------------------------


def _settings(kwargs: dict[str, Any], *, fix: bool, preview: bool) -> codemods.Settings:
    try:
        return _config.build_settings(
            RULES,
            select=kwargs["select"],
            ignore=kwargs["ignore"],
            unsafe_fixes=kwargs["unsafe_fixes"],
            fix=fix,
            preview_fixes=preview,
            target_version=_config.parse_target_version(kwargs["target_version"]),
        )
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)


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
    if "-" in paths:
        name = kwargs["stdin_filename"] or "-"
        data = sys.stdin.buffer.read()
        target = Target(Path(name), name, explicit=True, stdin=True, data=data)
        results.extend(codemods.process([target], options, jobs=1))
    if file_paths:
        targets, errors = codemods.discover(file_paths, exclude=kwargs["exclude"])
        if kwargs["shard"] is not None:
            # Errors are split too, so that the shards' outputs together
            # report each one once.
            targets = [t for t in targets if in_shard(t.display, *kwargs["shard"])]
            errors = [e for e in errors if in_shard(e.display, *kwargs["shard"])]
        results.extend(FileResult(e.display, error=e.message) for e in errors)
        jobs = kwargs["jobs"] or codemods.default_jobs()
        stream = codemods.process(targets, options, jobs=jobs)
        if _show_progress(len(targets), kwargs):
            with click.progressbar(stream, length=len(targets), label="asyncmend",
                                   file=sys.stderr) as bar:
                results.extend(bar)
        else:
            results.extend(stream)
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


def _emit(results: list[FileResult], fmt: str, *, fixing: bool, stream_err: bool = False) -> None:
    for result in results:
        if result.error is not None:
            click.echo(_report.error_line(result, _style_for(sys.stderr)), err=True)
    out = sys.stderr if stream_err else sys.stdout
    if fmt == "json":
        click.echo(_report.render_json(results, fixing=fixing), nl=False, err=stream_err)
    else:
        click.echo(_report.render_text(results, fixing=fixing, style=_style_for(out)),
                   nl=False, err=stream_err)


def _exit(results: list[FileResult], *, findings_fail: bool, fixing: bool = False) -> None:
    if any(r.error is not None for r in results):
        sys.exit(EXIT_ERROR)
    open_findings = [f for r in results for f in r.findings if not (fixing and f.fixed)]
    sys.exit(EXIT_FINDINGS if findings_fail and open_findings else EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    main()
