"""``fix --verify CMD``: keep the fixes the project's tests accept.

A migration with ``--unsafe-fixes`` asks a reviewer to trust many rewrites
at once; the project's own tests can check them first. In a scratch copy of
the project (:mod:`.scratch`), the test command runs on the unchanged tree
(a failure there stops the run: nothing is written), then with every fix.
If that fails, the fixes that break it are found by bisection over the
findings' own fixes (:mod:`.own_fixes`: what each finding needs, standing
alone), the rest are kept, and only a set of fixes that has passed a run of
its own is written to the user's tree.

The bisection looks for the shortest run of fixes, in the order of the
files, that fails: its last fix breaks the tests (those before it pass
together), and is dropped; then again with the rest, from where it left off,
until what is left passes. That costs about ``log2(n) + 2`` runs of the
command for each breaking fix among ``n``: a fix that only breaks together
with another is found too (the later of the two is dropped). A run that
fails is retried once before a fix is blamed for it, so that a flaky test
costs a run, not a fix; and a run that fails only on tests known to be
flaky (they failed on the unchanged tree, or with fixes that then passed)
is made again, up to :data:`FLAKY_RERUNS` times, before it counts.

Nothing here prints; steps are told to ``progress`` as they start.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import AbstractSet, Callable, Generic, Protocol, Sequence, TypeVar

from ..findings import Edit, FileResult, Finding, RunFailure, Verification
from ..source.edits import EditConflict, byte_diff
from ..source.text import SourceError, decode, encode, split_lines
from ..source.write import write_atomic
from .own_fixes import Key, apply_own_fixes, fix_units, key_of, rewrites
from .scratch import ScratchError, inside, interrupts_deferred, project_root, scratch_copy, stops_as_interrupts

# Without --verify-timeout, a run with fixes may take this many times as
# long as the unchanged tree's run (and at least MIN_TIMEOUT seconds) before
# it counts as failing: a fix that makes the tests hang must not stop the run.
TIMEOUT_FACTOR = 5
MIN_TIMEOUT = 60.0
# The shell's statuses for a command it cannot find or cannot execute.
NOT_FOUND = (126, 127)
# How much of the command's output is kept: the end, where runners summarise.
TAIL_BYTES = 256 * 1024
# How many last lines of a failing baseline to show.
TAIL_LINES = 15
# How many more times a run is made when it fails only on tests known to
# be flaky (they failed on the unchanged tree, or with fixes that then passed).
FLAKY_RERUNS = 2


class VerifyError(Exception):
    """The fixes cannot be verified (the command fails on the unchanged tree,
    is not found, times out there; a path is outside the project): nothing
    was written. The message says why, with the command's last lines."""


# -- one run of the test command ---------------------------------------------


@dataclass(frozen=True)
class CommandRun:
    """One run of the test command."""

    returncode: int | None  # None: it timed out and was stopped
    seconds: float
    output: str  # the end of what it printed (stdout and stderr together)
    timeout: float | None = None

    @property
    def passed(self) -> bool:
        return self.returncode == 0

    @property
    def failures(self) -> list[RunFailure]:
        """Why it failed: each failing test its output names, in order;
        else that it timed out, or its last line."""
        if self.returncode is None:
            return [RunFailure(None, f"timed out after {self.timeout:g} s")]
        found = failing_tests(self.output)
        if found:
            return found
        last = next((line.strip() for line in reversed(self.output.splitlines()) if line.strip()), "")
        return [RunFailure(None, last or f"exit status {self.returncode}")]

    @property
    def failure(self) -> RunFailure:
        return self.failures[0]

    @property
    def reached(self) -> int | None:
        """How many tests ran, as far as its output tells (pytest's tests
        passed, unittest's tests run); ``None`` when it does not."""
        found = _PYTEST_PASSED.findall(self.output) or _UNITTEST_RAN.findall(self.output)
        return int(found[-1]) if found else None

    def last_lines(self, count: int = TAIL_LINES) -> list[str]:
        return [line.rstrip() for line in self.output.rstrip().splitlines()[-count:]]


def run_command(command: str, cwd: Path, env: dict[str, str], timeout: float | None) -> CommandRun:
    """``command`` through the shell in ``cwd``. It runs in a session of its
    own, so that a timeout or Ctrl-C stops everything it started (a test
    server, a worker pool) and a Ctrl-C at the terminal reaches asyncmend,
    not the tests (which would report it as a failure)."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            command, shell=True, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            returncode: int | None = process.wait(timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            returncode = None
        except BaseException:
            _stop(process)
            raise
        finally:
            _stop_group(process.pid)
        seconds = time.monotonic() - started
        size = output.seek(0, os.SEEK_END)
        output.seek(max(0, size - TAIL_BYTES))
        text = output.read().decode("utf-8", "replace")
    return CommandRun(returncode, seconds, text, timeout)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the command and what it started: SIGTERM, then SIGKILL."""
    for signum, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, None)):
        _signal_group(process.pid, signum)
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _stop_group(pid: int) -> None:
    """What the command left running in its session (a server it did not
    stop) goes with it: the next run must not meet it."""
    _signal_group(pid, signal.SIGKILL)


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


# pytest's short summary: "FAILED tests/test_a.py::test_b - AssertionError: ..."
_PYTEST_SUMMARY = re.compile(r"^(?:FAILED|ERROR) (?P<test>.+?)(?: - (?P<message>.*))?$")
# pytest's section of a failure: "_____ test_b _____", its message on "E " lines.
_PYTEST_SECTION = re.compile(r"^_{3,} (?P<test>.+?) _{3,}$")
# The last line of pytest's report: "1 failed, 235 passed, 3 warnings in 4.1s".
_PYTEST_PASSED = re.compile(r"\b(\d+) passed\b.* in [\d.]+s", re.MULTILINE)
# unittest's: "Ran 12 tests in 0.004s".
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in ", re.MULTILINE)
# unittest: "FAIL: test_b (module.Case.test_b)" (Python 3.11+) or "(module.Case)".
_UNITTEST_HEADER = re.compile(r"^(?:FAIL|ERROR): (?P<name>\S+) \((?P<where>[^)]*)\)")


def failing_tests(output: str) -> list[RunFailure]:
    """The failing tests that a test runner's ``output`` names, in order,
    each with its message: pytest's short summary (or its failure sections)
    and unittest's report are read."""
    lines = output.splitlines()
    sections = _pytest_sections(lines)
    found: list[RunFailure] = []
    for line in lines:
        match = _PYTEST_SUMMARY.match(line)
        if match and ("::" in match["test"] or match["message"] is not None):
            message = match["message"] or ""
            # The summary cuts a message to the width of a terminal; its
            # section holds the whole first line.
            whole = sections.get(match["test"].partition("::")[2].replace("::", "."))
            if whole and (not message or message.endswith("...")):
                message = whole
            found.append(RunFailure(match["test"], _one_line(message)))
    if found:
        return found
    for index, line in enumerate(lines):
        match = _UNITTEST_HEADER.match(line)
        if match:
            name, where = match["name"], match["where"]
            test = where if where.endswith("." + name) else f"{where}.{name}"
            found.append(RunFailure(test, _one_line(_unittest_message(lines[index + 1 :]))))
    return found or [RunFailure(test, _one_line(message)) for test, message in sections.items()]


def first_failure(output: str) -> RunFailure | None:
    """The first failing test that ``output`` names (see :func:`failing_tests`)."""
    found = failing_tests(output)
    return found[0] if found else None


def _pytest_sections(lines: list[str]) -> dict[str, str]:
    """pytest's failure sections: each one's title (``test_b``,
    ``Case.test_b[1]``) and the first line of its error (``E   ...``)."""
    sections: dict[str, str] = {}
    for index, line in enumerate(lines):
        match = _PYTEST_SECTION.match(line)
        if match and not match["test"].startswith(("_", "=")):
            message = ""
            for rest in lines[index + 1 :]:
                if rest.startswith("E "):
                    message = rest[1:].strip()
                    break
                if _PYTEST_SECTION.match(rest):
                    break
            sections.setdefault(match["test"], message)
    return sections


def blame(runs: Sequence[CommandRun], innocent: AbstractSet[str | None] = frozenset()) -> RunFailure:
    """What to tell of a fix that ``runs`` blame (the failing run that
    pointed at it and its retry). A test that failed in each of them is
    named. Else one run named a flake: with ``-x`` a flaky test stops a run
    before the test the fix breaks. The flake is a test that also failed in
    a run without this fix (``innocent``: those tests), or else the one of
    the run that stopped sooner: the other run got past it. The failure
    named is told with the other's, which may be the real one."""
    tests = [{failure.test for failure in run.failures} for run in runs]
    everywhere = [f for f in runs[-1].failures if f.test is not None and all(f.test in named for named in tests)]
    if everywhere:
        return everywhere[0]
    # The run that got furthest first; where no run tells, the latest.
    order = sorted(range(len(runs)), key=lambda i: (runs[i].reached or 0, i), reverse=True)
    firsts = [runs[i].failure for i in order]
    chosen = next((f for f in firsts if f.test is None or f.test not in innocent), firsts[0])
    other = next((f for f in firsts if f != chosen and (f.test is None or f.test not in innocent)), None)
    if other is None:
        return chosen
    return RunFailure(chosen.test, f"{chosen.message} (its other failing run failed on {other} instead)")


def _unittest_message(block: list[str]) -> str:
    """The exception line of a unittest failure: the first line after the
    traceback that is not part of it."""
    in_traceback = False
    for line in block:
        if line.startswith(("=" * 10, "-" * 10)) and in_traceback:
            break
        if line.startswith("Traceback"):
            in_traceback = True
            continue
        if in_traceback and line and not line[0].isspace():
            return line
    return ""


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- the bisection -----------------------------------------------------------


class _Run(Protocol):
    @property
    def passed(self) -> bool: ...


R = TypeVar("R", bound=_Run)


@dataclass
class Bisection(Generic[R]):
    """What :func:`bisect` found: the fixes kept (their set passed a run of
    its own), each dropped fix with the failing runs that blamed it (the
    run that pointed at it and its retry), and every run with its fixes."""

    kept: list[int]
    dropped: dict[int, tuple[R, ...]]
    runs: list[tuple[tuple[int, ...], R]]

    def failed_without(self, fix: int) -> list[R]:
        """The runs that failed without ``fix``: what they name is no
        evidence against it."""
        return [run for fixes, run in self.runs if fix not in fixes and not run.passed]


def bisect(count: int, attempt: Callable[[tuple[int, ...], str], R], name: Callable[[int], str]) -> Bisection[R]:
    """Find the fixes ``0 .. count-1`` (in the order of the files) that
    break the tests. ``attempt(fixes, step)`` runs the tests with exactly
    ``fixes`` applied (``step`` says which step that is, for a progress
    line); ``name(i)`` names fix ``i``. The tests are known to pass with no
    fix applied."""
    dropped: dict[int, tuple[R, ...]] = {}
    history: list[tuple[tuple[int, ...], R]] = []

    def attempt_and_note(fixes: tuple[int, ...], step: str) -> R:
        run = attempt(fixes, step)
        history.append((fixes, run))
        return run

    passed: set[tuple[int, ...]] = {()}
    good = 0  # this many leading fixes of `live` are known to pass together
    first = True
    while True:
        live = tuple(i for i in range(count) if i not in dropped)
        if live in passed:
            return Bisection(list(live), dropped, history)
        if first:
            what = f"all {len(live)} fixes" if len(live) > 1 else "the one fix"
        else:
            what = f"the {len(live)} fixes left" if len(live) > 1 else "the one fix left"
        run = attempt_and_note(live, what)
        tries = [run]
        if not run.passed and first:
            # Most test suites pass with every fix: before a whole bisection,
            # make sure this failure is no flake.
            again = attempt_and_note(live, f"{what}, again (a failing run is retried once)")
            if again.passed:
                return Bisection(list(live), dropped, history)
            tries.append(again)
        first = False
        if run.passed:
            return Bisection(list(live), dropped, history)
        # The failing runs of the first `size` fixes of `live`, by size.
        failing: dict[int, list[R]] = {len(live): tries}
        while True:
            bad = min(size for size in failing if size > good)
            if bad - good > 1:
                middle = (good + bad) // 2
                trial = attempt_and_note(live[:middle], f"bisecting: the first {middle} of {len(live)} fixes")
                if trial.passed:
                    good = middle
                    passed.add(live[:middle])
                else:
                    failing[middle] = [trial]
                continue
            culprit = live[bad - 1]
            if len(failing[bad]) == 1:
                again = attempt_and_note(
                    live[:bad], f"before dropping {name(culprit)}, again (a failing run is retried once)"
                )
                if again.passed:
                    passed.add(live[:bad])
                    del failing[bad]
                    good = bad
                    if good == len(live):
                        return Bisection(list(live), dropped, history)
                    continue
                failing[bad].append(again)
            dropped[culprit] = tuple(failing[bad])
            break


# -- fix --verify ------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A run of the test command about to start: its number and what it tries."""

    run: int
    text: str


@dataclass
class _File:
    """One file with fixes: its result, the bytes read and their lines."""

    result: FileResult
    relative: Path  # within the project root
    data: bytes
    encoding: str
    lines: list[str]
    compiles: bool
    versions: dict[frozenset[Key], bytes]

    def with_fixes(self, chosen: frozenset[Key]) -> bytes:
        """The file with exactly the own fixes of ``chosen`` applied."""
        if chosen not in self.versions:
            try:
                lines, _ = apply_own_fixes(self.lines, self.result.findings, chosen)
            except EditConflict as exc:
                # Own fixes never overlap (own_fixes.py); this holds that too.
                raise VerifyError(f"internal error: {self.result.path}: these fixes overlap: {exc}") from None
            text = "".join(lines)
            if self.compiles:
                # The own fixes of any subset compile (own_fixes.py); this
                # holds that promise before the tests or the user see a file.
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        compile(text, self.result.path, "exec", dont_inherit=True)
                except (SyntaxError, ValueError) as exc:
                    raise VerifyError(
                        f"internal error: {self.result.path}: these fixes together do not compile: {exc}"
                    ) from None
            self.versions[chosen] = encode(text, self.encoding)
        return self.versions[chosen]


@dataclass(frozen=True)
class _Unit:
    """A fix that is kept or dropped as one: a finding's own fix (shared by
    the findings whose fixes rewrite the same lines)."""

    file: int
    findings: tuple[Finding, ...]

    def name(self, files: Sequence[_File]) -> str:
        first = self.findings[0]
        return f"{first.code} at {files[self.file].result.path}:{first.line}"


@dataclass
class Verified:
    """The results as written (or, with ``diff``, as the diff shows them)
    and what the verification did."""

    results: list[FileResult]
    verification: Verification


def verify_fixes(
    results: Sequence[FileResult],
    command: str,
    *,
    config_root: Path | None = None,
    timeout: float | None = None,
    diff: bool = False,
    progress: Callable[[Step], object] | None = None,
) -> Verified:
    """Run ``command`` on a scratch copy of the project without and with
    the fixes of ``results`` (a run with each finding's own fix, nothing
    written), drop the fixes that make it fail, and write the rest (with
    ``diff``: give each file's diff instead, writing nothing).

    Raises :class:`VerifyError`, with nothing written, when the command
    fails on the unchanged tree, and ``KeyboardInterrupt``, with nothing
    written and the copy removed, when interrupted before the write (by
    Ctrl-C; by SIGTERM or SIGHUP: :class:`~.scratch.Stopped`).
    """
    verification = Verification(command)
    cwd = Path(os.path.realpath(os.getcwd()))
    with_fixes = [r.path for r in results if r.error is None and any(f.fixed for f in r.findings)]
    if not with_fixes:
        return Verified(list(results), verification)
    root = project_root(with_fixes, cwd, config_root)
    files, units = _plan(results, root)
    started = time.monotonic()

    def tell(text: str) -> None:
        verification.runs += 1
        if progress is not None:
            progress(Step(verification.runs, text))

    with stops_as_interrupts():
        try:
            found, flaky = _search(command, root, cwd, files, units, timeout, tell)
        finally:
            verification.seconds = time.monotonic() - started
        failures = {
            i: blame(runs, flaky | {f.test for run in found.failed_without(i) for f in run.failures if f.test})
            for i, runs in found.dropped.items()
        }
        verification.kept = sum(len(units[i].findings) for i in found.kept)
        final = _versions(files, units, tuple(found.kept))
        with interrupts_deferred(then_raise=False):
            if not diff:
                _unchanged_since_read(files, final)
            done = [
                _finish(f, final[f.relative], [units[i] for i in found.kept if units[i].file == index],
                        {units[i]: failure for i, failure in failures.items() if units[i].file == index},
                        diff, verification)
                for index, f in enumerate(files)
            ]
    by_path = {id(f.result): new for f, new in zip(files, done)}
    return Verified([by_path.get(id(result), result) for result in results], verification)


def _search(
    command: str,
    root: Path,
    cwd: Path,
    files: Sequence[_File],
    units: Sequence[_Unit],
    timeout: float | None,
    tell: Callable[[str], None],
) -> tuple[Bisection[CommandRun], set[str]]:
    """In a scratch copy of ``root``: the run on the unchanged tree (see
    :func:`_baseline`), then the bisection over ``units``; ``tell(step)``
    before each run. Returns what the bisection found and the tests known
    to be flaky."""
    try:
        with scratch_copy(root) as scratch:
            # What the copy lacks of the files to fix (ignored by git) or has
            # otherwise (a link, an unsaved change): the tests see them as read.
            scratch.write({f.relative: f.data for f in files if _read(scratch.where(f.relative)) != f.data})
            where = scratch.where(cwd.relative_to(root)) if inside(cwd, root) else scratch.tree
            env = _environment(where)
            tell("the unchanged tree")
            baseline, flakes = _baseline(
                command, where, env, timeout, lambda: tell("the unchanged tree, again (a failing run is retried once)")
            )
            limit = timeout if timeout is not None else max(MIN_TIMEOUT, TIMEOUT_FACTOR * baseline.seconds)
            current = {f.relative: f.data for f in files}
            flaky = {failure.test for run in flakes for failure in run.failures if failure.test is not None}
            failed: dict[tuple[int, ...], CommandRun] = {}

            def attempt(chosen: tuple[int, ...], step: str) -> CommandRun:
                wanted = _versions(files, units, chosen)
                scratch.write({path: data for path, data in wanted.items() if current[path] != data})
                current.update(wanted)
                tell(step)
                run = run_command(command, where, env, limit)
                for _ in range(FLAKY_RERUNS):
                    # A run that stopped at a test known to be flaky tells
                    # nothing of these fixes (with -x it ran no further).
                    named = {failure.test for failure in run.failures}
                    if run.passed or None in named or not named <= flaky:
                        break
                    tell(f"{step}, again (it failed only on tests known to be flaky)")
                    run = run_command(command, where, env, limit)
                if run.passed and chosen in failed:
                    # These fixes failed once and passed now: what failed then is flaky.
                    flaky.update(failure.test for failure in failed.pop(chosen).failures if failure.test is not None)
                elif not run.passed:
                    failed[chosen] = run
                return run

            found = bisect(len(units), attempt, lambda i: units[i].name(files))
            # What failed on the unchanged tree fails without any fix.
            found.runs[:0] = [((), run) for run in flakes]
            return found, flaky
    except ScratchError as exc:
        raise VerifyError(f"cannot use a scratch copy of the project: {exc}") from None


def _unchanged_since_read(files: Sequence[_File], final: dict[Path, bytes]) -> None:
    """:class:`VerifyError` when a file to write changed on disk while the
    tests ran: the fixes were tested together, so none is written then."""
    changed = [
        f.result.path for f in files if final[f.relative] != f.data and _read(Path(f.result.path)) != f.data
    ]
    if changed:
        raise VerifyError(
            f"{', '.join(changed)} changed on disk while the tests ran; nothing was written (run again to verify "
            "the fixes of the files as they are now)"
        )


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _environment(where: Path) -> dict[str, str]:
    """The command's environment: the user's, with the copy first on
    ``PYTHONPATH`` (its ``src/`` too, where there is one), so that tests of
    a project installed in editable mode import the copy, not the tree the
    install points at."""
    env = dict(os.environ)
    first = [str(where / "src")] if (where / "src").is_dir() else []
    env["PYTHONPATH"] = os.pathsep.join([*first, str(where), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _baseline(
    command: str, where: Path, env: dict[str, str], timeout: float | None, retrying: Callable[[], None]
) -> tuple[CommandRun, list[CommandRun]]:
    """The run on the unchanged tree that passed, and the failing run
    before it, if any (a flake); :class:`VerifyError` unless one passes."""
    run = run_command(command, where, env, timeout)
    flakes: list[CommandRun] = []
    if run.returncode is not None and run.returncode not in NOT_FOUND and not run.passed:
        retrying()
        flakes.append(run)
        run = run_command(command, where, env, timeout)
    if run.passed:
        return run, flakes
    if run.returncode in NOT_FOUND:
        raise VerifyError(
            f"the test command cannot be run (exit status {run.returncode}, not found or not executable): "
            f"{' '.join(run.last_lines(2)) or command}; nothing was written"
        )
    if run.returncode is None:
        reason = f"timed out after {timeout:g} s (--verify-timeout)"
    else:
        reason = f"fails (exit status {run.returncode})"
    message = (
        f"the test command {reason} on the unchanged tree, so it cannot tell which fixes break it; "
        "nothing was written"
    )
    tail = "".join(f"\n    {line}" for line in run.last_lines())
    raise VerifyError(f"{message}. Its last lines:{tail}" if tail else message)


def _plan(results: Sequence[FileResult], root: Path) -> tuple[list[_File], list[_Unit]]:
    """The files with fixes, as read now, and their fixes as units, in the
    order of the files."""
    files: list[_File] = []
    units: list[_Unit] = []
    for result in results:
        if result.error is not None or not any(f.fixed for f in result.findings):
            continue
        real = Path(os.path.realpath(result.path))
        if not inside(real, root):
            raise VerifyError(
                f"{result.path} is outside the project ({root}), which the test command runs in a copy of"
            )
        try:
            data = real.read_bytes()
            text, encoding = decode(data)
        except (OSError, SourceError) as exc:
            raise VerifyError(f"{result.path}: cannot read it again: {exc}") from None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compile(text, result.path, "exec", dont_inherit=True)
            compiles = True
        except (SyntaxError, ValueError):
            compiles = False  # syntax newer than this interpreter
        index = len(files)
        files.append(_File(result, real.relative_to(root), data, encoding, split_lines(text), compiles, {}))
        units.extend(_Unit(index, tuple(unit)) for unit in fix_units(result.findings))
    return files, units


def _versions(files: Sequence[_File], units: Sequence[_Unit], chosen: Sequence[int]) -> dict[Path, bytes]:
    """Each file with exactly the fixes ``chosen`` (indexes into ``units``)."""
    keys: list[set[Key]] = [set() for _ in files]
    for index in chosen:
        unit = units[index]
        keys[unit.file].update(key_of(f) for f in unit.findings)
    return {f.relative: f.with_fixes(frozenset(keys[i])) for i, f in enumerate(files)}


def _finish(
    file: _File,
    output: bytes,
    kept: Sequence[_Unit],
    failures: dict[_Unit, RunFailure],
    diff: bool,
    verification: Verification,
) -> FileResult:
    """The file's result with its ``kept`` fixes written (or diffed): what
    was fixed where it was, what is left where it now stands, the finding of
    each dropped fix saying which test it fails."""
    result = file.result
    applied = {key_of(f) for unit in kept for f in unit.findings}
    blamed = {key_of(f): failure for unit, failure in failures.items() for f in unit.findings}
    dropped = [edit for unit in failures for edit in (unit.findings[0].fix.edits if unit.findings[0].fix else ())]
    changed = output != file.data
    if changed and not diff:
        try:
            write_atomic(Path(result.path), output, expected=file.data)
        except SourceError as exc:
            verification.kept -= len(applied)
            return FileResult(result.path, [replace(f, fixed=False) for f in result.findings], error=str(exc))
    # What is left is reported where the file has it: as written, or, with
    # --diff, as it was read.
    moved: Callable[[int], int] = lambda line: line
    if changed and not diff:
        moved = _line_map(apply_own_fixes(file.lines, result.findings, frozenset(applied))[1])
    fixed: list[Finding] = []
    left: list[Finding] = []
    for finding in result.findings:
        key = key_of(finding)
        if finding.fixed and key in applied:
            fixed.append(finding)
            continue
        if finding.after_fix and (key in blamed or rewrites(dropped, finding)):
            # Found only on what a dropped fix wrote: not in the file now.
            continue
        line, end_line = moved(finding.line), moved(finding.end_line)
        finding = replace(finding, line=line, end_line=max(line, end_line), fixed=False)
        if key in blamed:
            failure = blamed[key]
            finding = replace(
                finding, fixable=False, fix=None,
                message=f"{finding.message} (not fixed: its fix fails the tests: {failure})",
            )
            verification.dropped[(result.path, finding.code, finding.line, finding.column)] = failure
        left.append(finding)
    return FileResult(
        result.path,
        fixed + sorted(left, key=Finding.sort_key),
        changed=changed,
        written=changed and not diff,
        diff=byte_diff(result.path, file.data, output) if diff and changed else "",
    )


def _line_map(origin: Sequence[int | Edit]) -> Callable[[int], int]:
    """Original line numbers (1-based) -> where they stand once the fixes
    are applied; a rewritten line goes to the first line its edit wrote."""
    where: dict[int, int] = {}
    written: dict[Edit, int] = {}
    for index, source in enumerate(origin):
        if isinstance(source, int):
            where[source + 1] = index + 1
        else:
            written.setdefault(source, index + 1)

    def moved(line: int) -> int:
        if line in where:
            return where[line]
        for edit, at in written.items():
            if edit.start_line <= line < max(edit.end_line, edit.start_line + 1):
                return at
        # Removed: the next line that is still there.
        later = [new for old, new in where.items() if old > line]
        return min(later) if later else max(len(origin), 1)

    return moved


__all__ = [
    "Bisection",
    "CommandRun",
    "Step",
    "Verified",
    "VerifyError",
    "bisect",
    "blame",
    "failing_tests",
    "first_failure",
    "run_command",
    "verify_fixes",
]
