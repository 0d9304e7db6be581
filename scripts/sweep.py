"""Run ``asyncmend fix --unsafe-fixes`` over real code and prove it breaks nothing.

The corpus is code nobody here wrote: the standard library of the running
interpreter and pinned async packages installed from PyPI into a temporary
directory. Every file goes through the engine with every rule (the opt-in ones
too) and every fix (the settings ``fix --unsafe-fixes`` builds), in memory:
nothing is written.
For each file:

- nothing but a ``SourceError`` for bad input may escape, and an engine
  "internal error" (a fix that would not compile, a rule that raised) counts
  as a crash too;
- a rewritten file must compile;
- a second run over the output must change nothing.

It prints the number of files, the rewrites per rule, and the three failure
counts, and exits 1 when any of them is not 0.

    python scripts/sweep.py                         # stdlib + pinned packages
    python scripts/sweep.py --no-stdlib --no-pypi src/   # any tree
    python scripts/sweep.py --cli                   # also `fix` a copy through the CLI

Precision (``--precision``): every rewrite of the unsafe gather rules must be
read by a person, since only a person can tell whether two awaited calls
really are independent. Each package of ``--packages FILE`` (one
``name==version`` a line) goes into a directory of its own; the sweep then
runs ``fix --unsafe-fixes --select AM201,AM202`` in memory and prints, per
package, the findings per rule (fixable or not) and the rewrites made, then
every rewrite as a unified diff, to be read and judged one by one::

    python scripts/sweep.py --precision --packages scripts/precision-packages.txt --corpus DIR
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent

from asyncmend.codemods import RULES, Rule, Settings, SourceError, fix_source
from asyncmend.codemods.settings import build_settings, resolve_codes, split_selectors

# Async code from PyPI, pinned so that two sweeps compare.
PINNED_PACKAGES = (
    "aiohttp==3.14.5",
    "anyio==4.16.0",
    "httpx==0.28.1",
    "redis==8.1.0",
    "starlette==1.10.0",
)
# Directories of the standard library that are not library code: test data
# with deliberate syntax errors, and what pip installed next to it.
STDLIB_SKIP = frozenset({"site-packages", "dist-packages", "__pycache__"})


@dataclass
class FileOutcome:
    path: str
    # "unchanged", "rewritten", "refused" (not valid Python), "unprocessable"
    # (valid Python asyncmend reports it cannot handle, e.g. beyond LibCST's
    # grammar), "crash", "non-compiling", "non-idempotent"
    status: str
    rewrites: Counter[str] = field(default_factory=Counter)
    message: str = ""
    seconds: float = 0.0


@dataclass
class SweepReport:
    files: int = 0
    lines: int = 0
    rewritten_files: int = 0
    rewrites: Counter[str] = field(default_factory=Counter)
    refused: list[FileOutcome] = field(default_factory=list)  # bad input, rightly reported
    unprocessable: list[FileOutcome] = field(default_factory=list)  # valid, but reported as an error
    crashes: list[FileOutcome] = field(default_factory=list)
    non_compiling: list[FileOutcome] = field(default_factory=list)
    non_idempotent: list[FileOutcome] = field(default_factory=list)
    slowest: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.crashes or self.non_compiling or self.non_idempotent)

    def add(self, outcome: FileOutcome, lines: int) -> None:
        self.files += 1
        self.lines += lines
        self.rewrites.update(outcome.rewrites)
        bucket = {
            "refused": self.refused,
            "unprocessable": self.unprocessable,
            "crash": self.crashes,
            "non-compiling": self.non_compiling,
            "non-idempotent": self.non_idempotent,
        }.get(outcome.status)
        if bucket is not None:
            bucket.append(outcome)
        if outcome.status == "rewritten":
            self.rewritten_files += 1
        self.slowest = sorted([*self.slowest, outcome], key=lambda o: -o.seconds)[:5]

    def render(self) -> str:
        out = [
            f"files: {self.files} ({self.lines} lines) in {self.seconds:.1f} s",
            f"rewritten files: {self.rewritten_files}",
            "rewrites per rule: "
            + (", ".join(f"{code} {n}" for code, n in sorted(self.rewrites.items())) or "none"),
            f"refused (not valid Python, reported by name): {len(self.refused)}",
            f"unprocessable (valid Python, reported by name): {len(self.unprocessable)}",
            f"crashes: {len(self.crashes)}",
            f"non-compiling outputs: {len(self.non_compiling)}",
            f"non-idempotent files: {len(self.non_idempotent)}",
        ]
        for title, items in (
            ("crash", self.crashes),
            ("non-compiling", self.non_compiling),
            ("non-idempotent", self.non_idempotent),
            ("unprocessable", self.unprocessable),
            ("refused", self.refused),
        ):
            for item in items:
                out.append(f"  {title}: {item.path}: {item.message}")
        out.append(
            "slowest: " + ", ".join(f"{Path(o.path).name} {o.seconds:.2f} s" for o in self.slowest)
        )
        return "\n".join(out) + "\n"


# What an opt-in rule needs before it fixes anything: AM304 bounds a wait
# only with a configured timeout.
OPT_IN_OPTIONS = {"unbounded-wait-timeout": 30.0}


def fix_unsafe_settings(rules: Sequence[type[Rule]] = RULES) -> Settings:
    """What ``asyncmend fix --unsafe-fixes --select <every rule>`` runs with:
    the opt-in rules included, with the options their fixes need."""
    return build_settings(
        rules, select=[rule.CODE for rule in rules], fix=True, unsafe_fixes=True, options=OPT_IN_OPTIONS
    )


def _compiles(data: bytes, path: str) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(data, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def check_file(path: str, settings: Settings, rules: Sequence[type[Rule]] | None = None) -> FileOutcome:
    """Run the fix twice on one file and classify what happened."""
    started = time.perf_counter()
    outcome = _check(path, settings, rules)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _check(path: str, settings: Settings, rules: Sequence[type[Rule]] | None) -> FileOutcome:
    data = Path(path).read_bytes()
    try:
        first = fix_source(data, settings, rules=rules, filename=path)
    except SourceError as exc:
        if "internal error" in str(exc):
            status = "crash"
        else:
            status = "refused" if _compiles(data, path) is not None else "unprocessable"
        return FileOutcome(path, status, message=str(exc))
    except BaseException as exc:  # noqa: BLE001 - any escape is what the sweep looks for
        if isinstance(exc, KeyboardInterrupt):
            raise
        return FileOutcome(path, "crash", message=f"{type(exc).__name__}: {exc}")
    rewrites = Counter(f.code for f in first.findings if f.fixed)
    # A fix that would not compile is declined and its finding says so.
    broken = [f"{f.code} line {f.line}: {f.message}" for f in first.findings if "internal error" in f.message]
    if broken:
        return FileOutcome(path, "crash", rewrites, "; ".join(broken))
    if not first.changed:
        return FileOutcome(path, "unchanged", rewrites)
    problem = _compiles(first.output, path)
    if problem is not None:
        return FileOutcome(path, "non-compiling", rewrites, problem)
    try:
        second = fix_source(first.output, settings, rules=rules, filename=path)
    except Exception as exc:  # noqa: BLE001
        return FileOutcome(path, "crash", rewrites, f"on the second run: {type(exc).__name__}: {exc}")
    if second.output != first.output:
        codes = sorted({f.code for f in second.findings if f.fixed})
        return FileOutcome(path, "non-idempotent", rewrites, f"the second run rewrote again ({', '.join(codes)})")
    return FileOutcome(path, "rewritten", rewrites)


def python_files(roots: Iterable[Path], skip: frozenset[str] = frozenset()) -> list[Path]:
    """Every ``*.py`` file under ``roots``, sorted; symbolic links are not followed."""
    found: set[Path] = set()
    for root in roots:
        if root.is_file():
            found.add(root)
            continue
        for directory, subdirs, files in os.walk(root):
            subdirs[:] = sorted(d for d in subdirs if d not in skip)
            found.update(Path(directory) / name for name in files if name.endswith(".py"))
    return sorted(found)


def _run_one(args: tuple[str, Settings]) -> tuple[FileOutcome, int]:
    path, settings = args
    try:
        lines = Path(path).read_bytes().count(b"\n")
    except OSError:
        lines = 0
    return check_file(path, settings), lines


def sweep(files: Sequence[Path], settings: Settings, *, jobs: int = 1) -> SweepReport:
    report = SweepReport()
    started = time.perf_counter()
    items = [(str(path), settings) for path in files]
    if jobs <= 1:
        results: Iterable[tuple[FileOutcome, int]] = map(_run_one, items)
        for outcome, lines in results:
            report.add(outcome, lines)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for outcome, lines in pool.map(_run_one, items, chunksize=8):
                report.add(outcome, lines)
    report.seconds = time.perf_counter() - started
    return report


def install_packages(packages: Sequence[str], target: Path) -> Path:
    """``pip install --target`` the pinned packages (wheels only, no deps)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--only-binary", ":all:", "--target", str(target), *packages],
        check=True,
    )
    return target


def read_package_list(path: Path) -> list[str]:
    """``name==version`` lines of a file; blank lines and ``#`` comments skipped."""
    specs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            specs.append(line)
    return specs


def install_each(packages: Sequence[str], corpus: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """Install every package into ``corpus/<name>`` (no deps), each on its
    own so that one that does not install leaves the others; a directory
    that is already there is reused. Returns the installed (spec, directory)
    pairs and the specs that failed."""
    installed: list[tuple[str, Path]] = []
    failed: list[str] = []
    for spec in packages:
        target = corpus / spec.split("==")[0].strip()
        if not target.is_dir():
            # --ignore-requires-python: the code is only read, never run, and
            # an application pinned to a newer Python (Home Assistant) is
            # still code to measure (run the sweep on that Python to parse it).
            done = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 "--no-deps", "--ignore-requires-python", "--target", str(target), spec],
                capture_output=True, text=True,
            )
            if done.returncode != 0:
                shutil.rmtree(target, ignore_errors=True)
                failed.append(spec)
                continue
        installed.append((spec, target))
    return installed, failed


@dataclass
class PrecisionFile:
    path: str
    runs: Counter[str] = field(default_factory=Counter)  # findings per rule, fixable or not
    rewrites: Counter[str] = field(default_factory=Counter)
    diff: str = ""
    error: str = ""


def _precision_one(args: tuple[str, str, Settings]) -> PrecisionFile:
    path, label, settings = args
    outcome = PrecisionFile(label)
    try:
        data = Path(path).read_bytes()
        result = fix_source(data, settings, filename=path)
    except SourceError as exc:
        outcome.error = str(exc)
        return outcome
    outcome.runs.update(f.code for f in result.findings)
    outcome.rewrites.update(f.code for f in result.findings if f.fixed)
    if result.changed:
        before = data.decode("utf-8", "replace").splitlines(keepends=True)
        after = result.output.decode("utf-8", "replace").splitlines(keepends=True)
        outcome.diff = "".join(difflib.unified_diff(before, after, f"a/{label}", f"b/{label}"))
    return outcome


def precision(
    installed: Sequence[tuple[str, Path]], select: str, jobs: int
) -> tuple[str, list[PrecisionFile]]:
    """The per-package table of findings and rewrites, and every rewritten file."""
    selectors = split_selectors([select])
    settings = build_settings(RULES, select=selectors, fix=True, unsafe_fixes=True)
    codes = sorted(resolve_codes(selectors, RULES, "--select"))
    items: list[tuple[str, str, str, Settings]] = []
    for spec, base in installed:
        for path in python_files([base], STDLIB_SKIP):
            items.append((spec, str(path), f"{base.name}/{path.relative_to(base)}", settings))
    with ProcessPoolExecutor(max_workers=max(jobs, 1)) as pool:
        outcomes = list(pool.map(_precision_one, [item[1:] for item in items], chunksize=8))
    rows: dict[str, tuple[Counter[str], Counter[str], int]] = {spec: (Counter(), Counter(), 0) for spec, _ in installed}
    for (spec, *_), outcome in zip(items, outcomes):
        runs, rewrites, errors = rows[spec]
        runs.update(outcome.runs)
        rewrites.update(outcome.rewrites)
        rows[spec] = (runs, rewrites, errors + bool(outcome.error))
    lines = ["package | " + " | ".join(f"{c} runs" for c in codes) + " | "
             + " | ".join(f"{c} rewrites" for c in codes) + " | unparseable files"]
    total_runs: Counter[str] = Counter()
    total_rewrites: Counter[str] = Counter()
    for spec, (runs, rewrites, errors) in rows.items():
        total_runs.update(runs)
        total_rewrites.update(rewrites)
        lines.append(f"{spec} | " + " | ".join(str(runs[c]) for c in codes) + " | "
                     + " | ".join(str(rewrites[c]) for c in codes) + f" | {errors}")
    lines.append("total | " + " | ".join(str(total_runs[c]) for c in codes) + " | "
                 + " | ".join(str(total_rewrites[c]) for c in codes) + " |")
    return "\n".join(lines) + "\n", [o for o in outcomes if o.diff]


def cli_command(path: Path, jobs: int, *extra: str) -> list[str]:
    """The real ``asyncmend fix --unsafe-fixes`` over ``path`` (``extra``:
    more options of ``fix``, such as ``--diff``)."""
    return [sys.executable, "-m", "asyncmend.cli", "fix", *extra, "--unsafe-fixes", "--no-progress", "-j", str(jobs), str(path)]


def _cli_env() -> dict[str, str]:
    return dict(os.environ)


def _run_problems(run: subprocess.CompletedProcess[str], what: str) -> list[str]:
    """What a CLI run itself says went wrong: a traceback, an internal error,
    an exit status other than 0, 1 or 2, or a usage error (the command was
    built wrong, so it checked nothing)."""
    problems = [f"{what}: {line}" for line in run.stderr.splitlines() if "internal error" in line or "Traceback" in line]
    if run.returncode not in (0, 1, 2) or "Usage:" in run.stderr:
        problems.append(f"{what} failed (exit {run.returncode}): {run.stderr[-2000:]}")
    return problems


def second_run_problems(command: Sequence[str], cwd: Path) -> list[str]:
    """Run ``command`` (a ``fix``) again as ``fix --diff``: any diff it prints
    is a file the first run did not leave at its fixed point."""
    index = list(command).index("fix") + 1
    diff = [*command[:index], "--diff", *command[index:]]
    second = subprocess.run(diff, capture_output=True, text=True, errors="surrogateescape", env=_cli_env(), cwd=cwd)
    problems = _run_problems(second, "the second `fix --diff`")
    if second.stdout.strip():
        problems.append("a second `fix --diff` still changes:\n" + second.stdout[:2000])
    return problems


def cli_round_trip(files: Sequence[Path], bases: Sequence[Path], workdir: Path, jobs: int) -> list[str]:
    """Copy the corpus, run the real ``asyncmend fix --unsafe-fixes`` on the copy,
    then ``fix --diff`` again: every file must compile and the diff be empty.
    Returns the problems found."""
    copy = workdir / "copy"
    for path in files:
        base = next(b for b in bases if path.is_relative_to(b))
        dest = copy / base.name / path.relative_to(base)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    command = cli_command(copy, jobs)
    first = subprocess.run(command, capture_output=True, text=True, errors="surrogateescape", env=_cli_env(), cwd=workdir)
    problems = _run_problems(first, "`fix`")
    for path in sorted(copy.rglob("*.py")):
        error = _compiles(path.read_bytes(), str(path))
        # A file that did not compile before (test data) is left as it was.
        original = _original_of(path, copy, bases)
        if error is not None and _compiles(original.read_bytes(), str(original)) is None:
            problems.append(f"{path}: does not compile after fix: {error}")
    problems += second_run_problems(command, workdir)
    return problems


def _original_of(path: Path, copy: Path, bases: Sequence[Path]) -> Path:
    rel = path.relative_to(copy)
    base = next(b for b in bases if b.name == rel.parts[0])
    return base.joinpath(*rel.parts[1:])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="more files or directories to sweep")
    parser.add_argument("--no-stdlib", action="store_true", help="leave out the standard library")
    parser.add_argument("--no-pypi", action="store_true", help="leave out the pinned PyPI packages")
    parser.add_argument("--package", action="append", default=None, metavar="NAME==VERSION",
                        help=f"a PyPI package to sweep instead of the defaults ({', '.join(PINNED_PACKAGES)})")
    parser.add_argument("--packages", type=Path, metavar="FILE",
                        help="PyPI packages to sweep instead of the defaults, one name==version a line")
    parser.add_argument("--precision", action="store_true",
                        help="list the findings and every rewrite of the --select rules, per package, to read")
    parser.add_argument("--select", default="AM201,AM202", metavar="CODES",
                        help="the rules of --precision (default: AM201,AM202)")
    parser.add_argument("--corpus", type=Path, metavar="DIR",
                        help="with --precision: install the packages into DIR/<name> and keep them there")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cli", action="store_true",
                        help="also run the real CLI over a copy and check the written files")
    args = parser.parse_args(argv)
    packages = list(args.package or [])
    if args.packages is not None:
        packages.extend(read_package_list(args.packages))
    if args.precision:
        return _main_precision(args, packages or list(PINNED_PACKAGES))

    with tempfile.TemporaryDirectory(prefix="asyncmend-sweep-") as tmp:
        bases: list[Path] = []
        if not args.no_stdlib:
            bases.append(Path(sysconfig.get_paths()["stdlib"]))
        if not args.no_pypi:
            bases.append(install_packages(packages or PINNED_PACKAGES, Path(tmp) / "pypi"))
        bases.extend(path.resolve() for path in args.paths)
        files = python_files(bases, STDLIB_SKIP)
        print(f"sweeping {len(files)} files from: {', '.join(map(str, bases))}", flush=True)
        report = sweep(files, fix_unsafe_settings(), jobs=args.jobs)
        print(report.render(), end="")
        ok = report.ok
        if args.cli:
            problems = cli_round_trip(files, bases, Path(tmp), args.jobs)
            print(f"cli round trip: {len(problems)} problems")
            for problem in problems:
                print(f"  {problem}")
            ok = ok and not problems
    return 0 if ok else 1


def _main_precision(args: argparse.Namespace, packages: Sequence[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="asyncmend-precision-") as tmp:
        corpus = args.corpus if args.corpus is not None else Path(tmp)
        corpus.mkdir(parents=True, exist_ok=True)
        installed, failed = install_each(packages, corpus)
        for spec in failed:
            print(f"not installed: {spec}")
        installed += [(str(path), path.resolve()) for path in args.paths]
        table, rewritten = precision(installed, args.select, args.jobs)
        print(table, end="")
        print(f"\nrewritten files: {len(rewritten)}; read every hunk below and judge it\n")
        for outcome in rewritten:
            print(f"# {outcome.path}: " + ", ".join(f"{c} {n}" for c, n in sorted(outcome.rewrites.items())))
            print(outcome.diff)
    return 0


if __name__ == "__main__":
    sys.exit(main())
