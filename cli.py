"""asyncmend command line: parse options, call the API (``codemods``), render, exit.

Installed as ``asyncmend.cli`` (the ``asyncmend`` command runs :func:`main`).
"""

from __future__ import annotations

import gc

# What the imports below make lives as long as the process, and none of it
# is garbage: the cycle collector, run over it as it is made, cost a twentieth
# of a short run (a pre-commit hook's). On again once they are done.
_COLLECTING = gc.isenabled()
gc.disable()

import atexit  # noqa: E402
import contextlib  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any, Callable, Iterator, NoReturn, Sequence  # noqa: E402

import click  # noqa: E402

from . import codemods  # noqa: E402
from .codemods import output  # noqa: E402
from .codemods.output.common import count, duration  # noqa: E402
from .codemods.source.cache import DEFAULT_CACHE_DIR  # noqa: E402
from .codemods.source.discovery import parse_shard, read_path_list  # noqa: E402

if _COLLECTING:
    gc.enable()

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
# Below this many files a progress bar is noise.
PROGRESS_MIN_FILES = 50


def _fail(message: str) -> NoReturn:
    """Bad input: one line on stderr, exit status 2, never a traceback."""
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _check_format(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value not in output.FORMATS:
        _fail(f"--output-format: unknown format {value!r} (choose from {', '.join(output.FORMATS)})")
    return value


def _parse_shard(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        return parse_shard(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@dataclass(frozen=True)
class Common:
    """The options ``check`` and ``fix`` share, as parsed."""

    select: tuple[str, ...]
    ignore: tuple[str, ...]
    unsafe_fixes: bool | None
    output_format: str
    jobs: int | None
    exclude: tuple[str, ...]
    config_file: str | None
    target_version: str | None
    line_length: int | None
    no_progress: bool
    stdin_filename: str | None
    files_from: Any
    shard: tuple[int, int] | None
    force_exclude: bool | None
    exit_zero: bool
    statistics: bool
    show_fixes: bool
    quiet: bool
    color: str
    no_cache: bool


_COMMON_NAMES = tuple(Common.__dataclass_fields__)


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
                      metavar="|".join(output.FORMATS), help="How findings are printed."),
        click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                      help="Worker processes. Default: one per core, for a run large "
                           "enough to gain from them (a few files run in one process)."),
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
        click.option("--force-exclude/--no-force-exclude", default=None,
                      help="Apply --exclude (and the exclude config, the default excludes "
                           "and @generated markers) to files named on the command line "
                           "too, as pre-commit names them."),
        click.option("--exit-zero", is_flag=True,
                      help="Exit 0 even when there are findings (errors still exit 2)."),
        click.option("--statistics", is_flag=True,
                      help="Print how many findings of each rule instead of the findings "
                           "(text or json)."),
        click.option("--show-fixes", is_flag=True,
                      help="check: show each finding's fix as a diff; fix: list what was "
                           "fixed, per file and rule."),
        click.option("-q", "--quiet", is_flag=True,
                      help="Print the findings and errors only: no summary, no warnings, "
                           "no progress bar."),
        click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
                      show_default=True,
                      help="Colour the text output: auto (on a terminal, unless NO_COLOR "
                           "is set; FORCE_COLOR forces it), always or never."),
        click.option("--no-cache", is_flag=True,
                      help="Analyse every file again; do not read or write .asyncmend_cache/ "
                           "(beside the pyproject.toml in use; results of unchanged files "
                           "are otherwise reused)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _common(kwargs: dict[str, Any]) -> Common:
    return Common(**{name: kwargs.pop(name) for name in _COMMON_NAMES})


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
def check(paths: tuple[str, ...], **kwargs: Any) -> None:
    """Report findings in PATHS (files or directories; `-` reads standard
    input; none: the current directory).

    Nothing is written. Exit status: 0 no findings, 1 findings, 2 errors.

    \b
    Examples:
      asyncmend check src/
      asyncmend check --select AM1,AM3 --output-format json src/
      cat app.py | asyncmend check --stdin-filename app.py
    """
    common = _common(kwargs)
    fmt = common.output_format
    _check_statistics(common)
    shows_fixes = fmt != "text" or common.show_fixes
    # The fixes `fix` would apply with the same options are computed (and
    # checked to compile) for the text output too: a finding shows as
    # fixable only if `fix` would fix it. The machine formats carry every fix.
    # Only the findings of the source as read, each with the fix it has
    # there: one that another fix first makes possible is `fix`'s to report
    # (a suggestion for it would not apply to the code under review).
    resolved = _settings(paths, common, fix=not shows_fixes, preview=shows_fixes)
    cache = _cache_dir(resolved, common)
    options = codemods.Options(
        settings=resolved.settings, edits=shows_fixes, follow_fixes=False, cache_dir=cache, model_cache_dir=cache
    )
    done = _run(paths, options, common, resolved)
    _emit(done, common, resolved, fixing=False)
    _exit(done.results, common, findings_fail=True)


@main.command()
@_shared_options
@click.option("--diff", is_flag=True, help="Print a unified diff of the fixes; write nothing.")
@click.option("--check", "diff_check", is_flag=True,
              help="With --diff: exit 1 when there is anything to change.")
@click.option("-i", "--interactive", is_flag=True,
              help="Show each fix as a diff hunk and ask: apply, skip, apply all of "
                   "this rule, or quit. Only accepted fixes are written.")
@click.option("--verify", "verify_command", metavar="CMD",
              help="Keep only the fixes the project's tests accept: run CMD (through "
                   "the shell, in a scratch copy of the project) on the unchanged tree, "
                   "then with the fixes; drop each fix that makes it fail, found by "
                   "bisection (a failing run is retried once first); write the rest once "
                   "they have passed. A failure on the unchanged tree exits 2, writing "
                   "nothing.")
@click.option("--verify-timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="With --verify: stop a run of CMD after SECONDS and count it as failing. "
                   "Default: five times the unchanged tree's run, at least 60 s (that "
                   "run itself has no limit).")
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=str), metavar="FILE",
              help="Write a Markdown report for a pull request to FILE: a summary per rule, "
                   "then each finding's rule, place and outcome (applied, dropped by the "
                   "tests and why, unsafe and not applied, no fix and why).")
def fix(
    paths: tuple[str, ...],
    diff: bool,
    diff_check: bool,
    interactive: bool,
    verify_command: str | None,
    verify_timeout: float | None,
    report_file: str | None,
    **kwargs: Any,
) -> None:
    """Apply fixes to PATHS in place (safe fixes; unsafe ones with
    --unsafe-fixes); none: the current directory.

    Each rewritten file is checked to parse and compile before it is written,
    atomically. With `-`, the fixed source goes to standard output.
    Exit status: 0 done, 1 findings left unfixed, 2 errors.
    With --diff: 0, or 1 with --check when there is a diff.

    \b
    Examples:
      asyncmend fix --diff src/            review first
      asyncmend fix src/                   then apply
      asyncmend fix --unsafe-fixes --select AM201 src/
      asyncmend fix --unsafe-fixes --verify "pytest -x -q" --report report.md src/
    """
    common = _common(kwargs)
    if diff_check and not diff:
        raise click.UsageError("--check goes with --diff")
    if verify_timeout is not None and verify_command is None:
        raise click.UsageError("--verify-timeout goes with --verify")
    if verify_command is not None and not verify_command.strip():
        # The shell runs an empty command and succeeds: every fix would pass.
        raise click.UsageError("--verify needs the project's test command")
    if (verify_command is not None or report_file is not None) and (
        interactive or "-" in paths or common.stdin_filename
    ):
        raise click.UsageError("--verify and --report work on files, without --interactive")
    _check_statistics(common)
    resolved = _settings(paths, common, fix=True, preview=False)
    settings = resolved.settings
    fmt = common.output_format
    if interactive:
        if diff or "-" in paths or common.stdin_filename or fmt != "text":
            _fail("--interactive works on files, with text output and without --diff")
        cache = _cache_dir(resolved, common)
        done = _run(paths, codemods.Options(settings=settings, edits=True, model_cache_dir=cache), common, resolved)
        done.results = _interactive(done, common)
        _emit(done, common, resolved, fixing=True)
        _exit(done.results, common, findings_fail=True, fixing=True)
    # No fix is shown after `fix` (what is left has none): no edits to compute.
    cache = _cache_dir(resolved, common)
    options = codemods.Options(settings=settings, write=not diff, diff=diff, cache_dir=cache, model_cache_dir=cache)
    verification = None
    if verify_command is not None:
        # Each finding's own fix, nothing written: the tests decide which are.
        options = codemods.Options(settings=settings, edits=True, cache_dir=cache, model_cache_dir=cache)
    done = _run(paths, options, common, resolved)
    if verify_command is not None:
        done.results, verification = _verify(done, verify_command, verify_timeout, diff, common, resolved)
    if report_file is not None:
        _write_report(report_file, done.results, diff, resolved, verification)
    results = done.results
    stdin_result = next((r for r in results if r.output is not None), None)
    if diff:
        sys.stdout.buffer.write(output.render_diff(results))
        sys.stdout.flush()
        for result in results:
            if result.error is not None:
                click.echo(output.error_line(result, _style(common, sys.stderr)), err=True, color=_colour(common, sys.stderr))
        if not common.quiet:
            would = sum(f.fixed for r in results for f in r.findings)
            files = sum(r.changed for r in results)
            click.echo(f"Would fix {count(would, 'finding')} in {count(files, 'file')}.", err=True)
        if any(r.error for r in results):
            sys.exit(EXIT_ERROR)
        sys.exit(EXIT_FINDINGS if diff_check and any(r.changed for r in results) else EXIT_OK)
    if stdin_result is not None:
        sys.stdout.buffer.write(stdin_result.output or b"")
        sys.stdout.flush()
        _emit(done, common, resolved, fixing=True, stream_err=True)
    else:
        _emit(done, common, resolved, fixing=True)
    _exit(results, common, findings_fail=True, fixing=True)


@main.command()
def rules() -> None:
    """List the rules: code, slug, fix safety, summary.

    \b
    Example:
      asyncmend rules
      asyncmend explain AM101     then read one of them in full
    """
    every = codemods.rules()
    width = max(len(rule.SLUG) for rule in every)
    click.echo(f"{'code':<6} {'slug':<{width}} {'fix':<6} summary")
    for rule in every:
        summary = f"(opt-in) {rule.DESCRIPTION}" if rule.OPT_IN else rule.DESCRIPTION
        click.echo(f"{rule.CODE:<6} {rule.SLUG:<{width}} {rule.SAFETY.value:<6} {summary}")
    opt_in = [rule.CODE for rule in every if rule.OPT_IN]
    if opt_in:
        click.echo(f"\n(opt-in) runs only when selected by code or slug: --select {','.join(opt_in)}")


@main.command()
@click.argument("code")
def explain(code: str) -> None:
    """Explain one rule (by code or slug): what, why, fix, safety, limits.

    \b
    Example:
      asyncmend explain AM101
      asyncmend explain blocking-sleep
    """
    rule = codemods.rule_for(code)
    if rule is None:
        known = ", ".join(r.CODE for r in codemods.rules())
        click.echo(f"error: unknown rule {code!r} (known: {known})", err=True)
        sys.exit(EXIT_ERROR)
    from .codemods.output import docs

    click.echo(docs.explain(rule), nl=False)


# -- helpers ------------------------------------------------------------------


def _settings(paths: Sequence[str], common: Common, *, fix: bool, preview: bool) -> codemods.Resolved:
    """Command line over configuration file over defaults."""
    try:
        return codemods.configure(
            paths,
            fix=fix,
            preview_fixes=preview,
            select=common.select,
            ignore=common.ignore,
            unsafe_fixes=common.unsafe_fixes,
            exclude=common.exclude,
            force_exclude=common.force_exclude,
            target_version=common.target_version,
            line_length=common.line_length,
            config_file=common.config_file,
            stdin_filename=common.stdin_filename,
        )
    except codemods.ConfigError as exc:
        _fail(str(exc))


def _check_statistics(common: Common) -> None:
    if common.statistics and common.output_format not in ("text", "json"):
        _fail("--statistics prints text or json")


def _cache_dir(resolved: codemods.Resolved, common: Common) -> str | None:
    """The cache beside the pyproject.toml in use (the project's root), as
    ruff keeps its own; without one, in the current directory."""
    if common.no_cache:
        return None
    root = resolved.project_root
    return str(root / DEFAULT_CACHE_DIR) if root is not None else DEFAULT_CACHE_DIR


def _run(paths: Sequence[str], options: codemods.Options, common: Common, resolved: codemods.Resolved) -> codemods.Run:
    listed: list[str] = []
    if common.files_from is not None:
        if ("-" in paths or common.stdin_filename) and common.files_from.name == "<stdin>":
            raise click.UsageError("standard input cannot be both source (-) and --files-from -")
        listed = read_path_list(common.files_from.read())
    reads_stdin = "-" in paths or common.stdin_filename is not None
    if common.stdin_filename is not None:
        # As ruff: a --stdin-filename means the source is standard input.
        for ignored in (p for p in paths if p != "-"):
            _warn(common, f"ignoring {ignored} in favour of standard input (--stdin-filename)")
        paths = ("-",)
    elif not paths and common.files_from is None:
        # An empty --files-from list (no file changed) is an empty run, not ".".
        paths = (".",)
    stdin = sys.stdin.buffer.read() if reads_stdin else None
    done = codemods.run(
        paths,
        options,
        exclude=resolved.exclude,
        force_exclude=resolved.force_exclude,
        stdin=stdin,
        stdin_filename=common.stdin_filename,
        listed=listed,
        shard=common.shard,
        jobs=common.jobs,
        progress=lambda total: _progress(total, common),
    )
    for warning in done.warnings:
        _warn(common, warning)
    if not done.found and not any(r.error for r in done.results) and not reads_stdin:
        named = ", ".join(p for p in [*paths, *listed] if p != "-") or "."
        _warn(common, f"no Python files found in {named} (none there, or all excluded)")
    return done


def _warn(common: Common, message: str) -> None:
    if not common.quiet:
        click.echo(f"warning: {message}", err=True)


def _shows_progress(total: int, common: Common) -> bool:
    """A bar only for a long run, in text output, on a terminal, unless turned off."""
    return (
        total >= PROGRESS_MIN_FILES
        and not common.no_progress
        and not common.quiet
        and common.output_format == "text"
        and sys.stderr.isatty()
    )


@contextlib.contextmanager
def _progress(total: int, common: Common) -> Iterator[Callable[[int], object] | None]:
    """A bar on stderr, counting files as they finish in whatever order."""
    if not _shows_progress(total, common):
        yield None
        return
    bar: Any
    with click.progressbar(length=total, label="asyncmend", file=sys.stderr) as bar:
        yield bar.update


def _colour(common: Common, stream: Any) -> bool:
    """Whether to colour ``stream``: --color always/never; auto colours a
    terminal unless NO_COLOR is set, and FORCE_COLOR colours any stream."""
    if common.color != "auto":
        return common.color == "always"
    if os.environ.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    if os.environ.get("NO_COLOR", ""):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _style(common: Common, stream: Any) -> output.Style:
    return click.style if _colour(common, stream) else output.plain


def _emit(
    done: codemods.Run, common: Common, resolved: codemods.Resolved, *, fixing: bool, stream_err: bool = False
) -> None:
    for result in done.results:
        if result.error is not None:
            click.echo(output.error_line(result, _style(common, sys.stderr)), err=True, color=_colour(common, sys.stderr))
    out = sys.stderr if stream_err else sys.stdout
    if common.statistics:
        text = output.render_statistics(done.results, fixing=fixing, fmt=common.output_format)
    else:
        text = output.render(
            common.output_format,
            done.results,
            done.source_of,
            fixing=fixing,
            style=_style(common, out),
            hints=output.Hints(unsafe_fixes=resolved.unsafe_fixes, from_flag=resolved.unsafe_from_flag),
            quiet=common.quiet,
            show_fixes=common.show_fixes,
        )
    click.echo(text, nl=False, err=stream_err, color=_colour(common, out))


def _verify(
    done: codemods.Run, command: str, timeout: float | None, diff: bool, common: Common, resolved: codemods.Resolved
) -> tuple[list[codemods.FileResult], codemods.Verification]:
    """``fix --verify``: the fixes of ``done`` that the tests accept, written
    (or, with --diff, diffed); a step line on a terminal's stderr."""
    status = _status_line(common)
    try:
        verified = codemods.verify_fixes(
            done.results, command, config_root=resolved.project_root, timeout=timeout, diff=diff,
            progress=lambda step: status(f"verify: run {step.run}: {step.text}"),
        )
    except codemods.VerifyError as exc:
        status(None)
        _fail(f"--verify: {exc}")
    except KeyboardInterrupt as exc:
        # The shell's status for a process a signal stopped: 128 + its number.
        signum = getattr(exc, "signum", signal.SIGINT)
        status(None)
        how = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
        click.echo(f"{how}: nothing was written", err=True)
        sys.exit(128 + signum)
    status(None)
    check = verified.verification
    if not check.runs:
        _warn(common, f"nothing to verify with `{command}`: no fix to apply")
    elif not common.quiet:
        dropped = len(check.dropped)
        click.echo(
            f"Verified with `{command}`: {count(check.runs, 'run')} in {duration(check.seconds)}; "
            f"kept {count(check.kept, 'fix', 'fixes')}, dropped {dropped} that "
            f"{'makes' if dropped == 1 else 'make'} the tests fail.",
            err=True,
        )
    return verified.results, check


def _status_line(common: Common) -> Callable[[str | None], None]:
    """A one-line status on a terminal's stderr, rewritten in place
    (``None`` clears it); nothing elsewhere, or with -q or --no-progress."""
    shown = not common.quiet and not common.no_progress and sys.stderr.isatty()

    def show(text: str | None) -> None:
        if shown:
            width = max(20, shutil.get_terminal_size().columns - 1)
            sys.stderr.write("\r\x1b[K" + (text or "")[:width])
            sys.stderr.flush()

    return show


def _write_report(
    path: str,
    results: list[codemods.FileResult],
    diff: bool,
    resolved: codemods.Resolved,
    verification: codemods.Verification | None,
) -> None:
    from .codemods.output.report import render_report

    text = render_report(results, diff=diff, unsafe_fixes=resolved.unsafe_fixes, verification=verification)
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        _fail(f"--report: cannot write {path}: {exc.strerror or exc}")


ANSWERS = {
    "y": ("apply", codemods.APPLY),
    "n": ("skip", codemods.SKIP),
    "a": ("apply all of this rule", codemods.APPLY_RULE),
    "q": ("quit", codemods.QUIT),
}


def _interactive(done: codemods.Run, common: Common) -> list[codemods.FileResult]:
    """Ask about each fix (see :func:`codemods.review`)."""
    style = _style(common, sys.stdout)
    prompt = ", ".join(f"[{key}] {meaning}" for key, (meaning, _) in ANSWERS.items())
    questions = codemods.review(done.results, done.settings)
    try:
        question = next(questions)
        while True:
            hunk = output.fix_hunk(question.path, question.finding, question.lines, style, together=question.together)
            click.echo(hunk, color=_colour(common, sys.stdout))
            key = click.prompt(prompt, type=click.Choice(list(ANSWERS)), show_choices=False)
            click.echo()
            question = questions.send(ANSWERS[key][1])
    except StopIteration as stop:
        return list(stop.value)


def _exit(results: list[codemods.FileResult], common: Common, *, findings_fail: bool, fixing: bool = False) -> None:
    if any(r.error is not None for r in results):
        sys.exit(EXIT_ERROR)
    open_findings = [f for r in results for f in r.findings if not (fixing and f.fixed)]
    sys.exit(EXIT_FINDINGS if findings_fail and open_findings and not common.exit_zero else EXIT_OK)


def run() -> NoReturn:
    """The ``asyncmend`` command: :func:`main`, then out of the process
    without taking its objects apart one by one.

    A cold run ends holding the trees and facts of the modules its model
    read: freeing them, and the collection of cycles at shutdown, took a
    tenth of its CPU (and most of a short run's after its imports). The
    exit handlers still run and the output is flushed, as at any exit.
    """
    try:
        main(prog_name="asyncmend")
        status: Any = EXIT_OK
    except SystemExit as exc:
        status = exc.code
    if status is None:
        status = EXIT_OK
    elif not isinstance(status, int):
        # As sys.exit("message"): the message on stderr, status 1.
        print(status, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        # As Python's own shutdown when it cannot flush standard output.
        status = 120
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    # `python -m asyncmend.cli` should name itself as the installed command does.
    run()
