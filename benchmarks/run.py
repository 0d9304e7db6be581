"""Speed benchmark: asyncmend side by side with ruff and fixit on real code.

Run it from a virtual environment that has the project, ruff and fixit
installed (see benchmarks/README.md)::

    python benchmarks/run.py --venv homeassistant=/tmp/venv313   # the whole benchmark
    python benchmarks/run.py --reps 1 --sizes 1 --corpus async --no-fixit   # a quick look

Corpora: the running interpreter's standard library; a set of async
packages installed from PyPI at the pinned versions below; home-assistant,
from its wheel at the pinned version below. Home-assistant needs Python 3.13
to parse, so asyncmend and the parser floor run on it from a 3.13
environment given with ``--venv homeassistant=DIR`` (a virtual environment
with asyncmend installed); the table says which Python ran each corpus.
Each corpus is copied into a scratch directory (so every tool sees the same
files, and the growth runs can use 2 and 4 copies of it). A generated file
whose findings grow with its length (``findings_file.py``) shows how one
file's cost grows with its findings.

Every measurement runs the tool in a fresh process under a small wrapper that
reports wall time and the largest resident set of any process of the run
(``ru_maxrss`` of its children). Repetitions of the different commands
alternate, so a slow spell of the machine hits all of them alike; the table
shows medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

# The generator of the findings-heavy file sits beside this script.
from findings_file import module_text

# Real async code, at fixed versions so runs on different days compare.
# --no-deps: the corpus is exactly these packages.
ASYNC_PACKAGES = (
    "aiohttp==3.14.5",
    "httpx==0.28.1",
    "starlette==1.10.0",
    "anyio==4.16.0",
    "redis==8.1.0",
)
# The newest home-assistant of the package index the benchmark was written
# against; its wheel holds the whole application (integrations included).
HOMEASSISTANT = "homeassistant==2025.4.4"
CORPORA = ("stdlib", "async", "homeassistant")
# The Python a corpus needs for every file to parse.
NEEDS_PYTHON = {"homeassistant": (3, 13)}
# The corpora also run as 2 and 4 copies (--sizes); home-assistant is large
# enough as it is.
GROWTH_CORPORA = {"stdlib", "async"}
# Directories no tool should see twice or at all: installer metadata, caches.
SKIP_DIRS = {"site-packages", "__pycache__", "bin"}
FLOOR = "CPython parser alone -j 2 (floor)"
FLOOR_J1 = "CPython parser alone -j 1 (floor)"
FLOOR_SCRIPT = str(Path(__file__).with_name("parser_floor.py"))
RUFF = "ruff ASYNC,RUF006"
RUFF_ARGS = ("check", "--select", "ASYNC,RUF006", "--no-cache", "--exit-zero", "--quiet")
COLD_J2 = "asyncmend check -j 2 (cold)"
COLD_J1 = "asyncmend check -j 1 (cold)"
WARM = "asyncmend check -j 2 (warm cache)"
NO_MODEL = "asyncmend check -j 2 (cold, project model off)"
PRECOMMIT_CLEAN = "pre-commit: check 2 files, no finding"
PRECOMMIT_FOUND = "pre-commit: check 2 files with findings"
GEN_CHECK = "asyncmend check -j 1 (cold)"
GEN_FIX = "asyncmend fix --diff -j 1"

# The targets (benchmarks/README.md says where they come from).
COLD_OVER_FLOOR = 2.0  # cold check -j 2 / parser floor -j 2, stdlib and async
WARM_OVER_RUFF = 2.0
PRECOMMIT_SECONDS = 0.150
OVER_FIXIT = 100.0  # lines/s
PEAK_MB = 200.0
FINDINGS_GROWTH = 8.0  # largest generated file / smallest, check wall

# Runs ``argv`` in a fresh interpreter so that RUSAGE_CHILDREN covers this one
# command only; prints wall seconds, CPU seconds (user and system, of every
# process of the run), peak RSS (KiB) and the exit status.
_WRAPPER = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[2:], cwd=sys.argv[1], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_kib": usage.ru_maxrss,
                  "status": proc.returncode,
                  "stderr": proc.stderr.decode("utf-8", "replace")[-2000:]}))
"""


@dataclass(frozen=True)
class Env:
    """Where asyncmend and the parser floor run from for a corpus."""

    python: str
    asyncmend: str
    version: str


@dataclass
class Corpus:
    name: str
    root: Path
    files: int
    lines: int
    env: Env | None = None  # set for the corpora asyncmend runs on
    kind: str = ""  # "stdlib", "async", "homeassistant" or "findings"


@dataclass
class Command:
    label: str
    argv: list[str]
    cwd: Path
    corpus: Corpus
    # The files it ran on when not the whole corpus (fixit's sample, a
    # pre-commit run's files); ``scaled``: its wall time is scaled from them
    # to the whole corpus by lines/s.
    sample: Corpus | None = None
    scaled: bool = False
    setup: list[str] | None = None  # run before each repetition, untimed
    env: dict[str, str] | None = None  # added to the environment
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)
    note: str = ""

    @property
    def measured(self) -> Corpus:
        return self.sample or self.corpus

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        """Median CPU seconds of all its processes: on a machine shared with
        other work it moves less than wall time (a pool's CPU is the sum of
        its workers', so it is no measure of what -j gains)."""
        return statistics.median(self.cpus)

    @property
    def lines_per_s(self) -> float:
        return self.measured.lines / self.wall

    @property
    def shown_wall(self) -> float:
        """Wall time as the table shows it: scaled to the whole corpus if
        ``scaled``, else as measured."""
        return self.corpus.lines / self.lines_per_s if self.scaled else self.wall

    @property
    def peak_mb(self) -> float:
        return max(self.rss_kib) / 1024


def tool(name: str) -> str:
    """An executable of the benchmark's own environment."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        sys.exit(f"error: {name} is not installed in this environment (pip install {name})")
    return found


def environment(venv: Path | None) -> Env:
    """The running environment, or the virtual environment ``venv``."""
    if venv is None:
        python, asyncmend = sys.executable, tool("asyncmend")
    else:
        python, asyncmend = str(venv / "bin" / "python"), str(venv / "bin" / "asyncmend")
        for path in (python, asyncmend):
            if not Path(path).exists():
                sys.exit(f"error: {path} does not exist (a virtual environment with asyncmend installed?)")
    version = subprocess.run(
        [python, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    return Env(python, asyncmend, version)


def compile_bytecode(env: Env) -> None:
    """Compile asyncmend's modules to bytecode, as ``pip install`` does for
    an installed package. An editable install under PYTHONDONTWRITEBYTECODE
    (set on some machines) never writes it, so every timed run would compile
    the package again (20 ms of a 100 ms warm run): not what users run."""
    found = subprocess.run(
        [env.python, "-c", "from asyncmend import cli, codemods; print(cli.__file__); print(codemods.__file__)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    sources = [found[0], str(Path(found[1]).parent)]
    subprocess.run([env.python, "-m", "compileall", "-q", *sources], check=True)


def python_files(root: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        out.extend(Path(dirpath, f) for f in sorted(filenames) if f.endswith(".py"))
    return out


def copy_tree(files: Sequence[Path], source: Path, dest: Path) -> None:
    for path in files:
        target = dest / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def measure_corpus(name: str, root: Path, kind: str = "", env: Env | None = None) -> Corpus:
    files = python_files(root)
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    return Corpus(name, root, len(files), lines, env, kind)


def corpus_source(name: str, work: Path, given: dict[str, Path]) -> Path:
    """Where the files of corpus ``name`` come from (built in ``work`` once)."""
    if name in given:
        return given[name]
    if name == "stdlib":
        return Path(sysconfig.get_paths()["stdlib"])
    if name == "async":
        installed = work / "pypi"
        if not installed.exists():
            print(f"installing {', '.join(ASYNC_PACKAGES)} ...", file=sys.stderr)
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
                 "--target", str(installed), *ASYNC_PACKAGES],
                check=True,
            )
        return installed
    unpacked = work / "homeassistant-wheel"
    if not unpacked.exists():
        print(f"downloading {HOMEASSISTANT} ...", file=sys.stderr)
        wheels = work / "wheels"
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             "--python-version", "3.13", "--dest", str(wheels), HOMEASSISTANT],
            check=True,
        )
        (wheel,) = wheels.glob("homeassistant-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(unpacked)
    return unpacked


def build_corpora(
    work: Path, which: Sequence[str], sizes: Sequence[int], envs: dict[str, Env], given: dict[str, Path]
) -> dict[tuple[str, int], Corpus]:
    corpora = {}
    for name in which:
        source = corpus_source(name, work, given)
        files = python_files(source)
        for size in sizes if name in GROWTH_CORPORA else [1]:
            root = work / f"{name}-x{size}"
            if not root.exists():
                for copy in range(size):
                    copy_tree(files, source, root / f"copy{copy}")
            corpora[name, size] = measure_corpus(f"{name} x{size}", root, name, envs[name])
    return corpora


def findings_corpora(work: Path, counts: Sequence[int], env: Env) -> list[Corpus]:
    """One directory per size, holding one generated file of ``count`` coroutines."""
    out = []
    for count in counts:
        root = work / f"findings-{count}"
        root.mkdir(parents=True, exist_ok=True)
        (root / f"findings_{count}.py").write_text(module_text(count))
        out.append(measure_corpus(f"generated file, {count} coroutines", root, "findings", env))
    return out


def fixit_sample(corpus: Corpus, work: Path, max_lines: int) -> Corpus:
    """Every k-th file of the corpus, about ``max_lines`` lines in all."""
    files = python_files(corpus.root)
    step = max(1, round(corpus.lines / max_lines))
    root = work / f"fixit-sample-{corpus.name.replace(' ', '')}"
    if not root.exists():
        copy_tree(files[::step], corpus.root, root)
    sample = measure_corpus(f"{corpus.name} sample 1/{step}", root)
    return sample


def run_once(command: Command) -> None:
    if command.setup:
        subprocess.run(command.setup, cwd=command.cwd, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, **(command.env or {})})
    out = subprocess.run(
        [sys.executable, "-c", _WRAPPER, str(command.cwd), *command.argv],
        check=True, capture_output=True, text=True, env={**os.environ, **(command.env or {})},
    )
    data = json.loads(out.stdout)
    command.walls.append(data["wall"])
    command.cpus.append(data["cpu"])
    command.rss_kib.append(data["rss_kib"])
    command.statuses.add(data["status"])
    # Exit status 1 means "findings" for every tool here; 2 and up, or a
    # traceback, means the measurement is suspect and the table says so.
    if data["status"] not in (0, 1) or "Traceback" in data["stderr"]:
        command.note = f"exit {data['status']}: {data['stderr'].strip().splitlines()[-1:]}"


def asyncmend_has(env: Env, option: str) -> bool:
    helptext = subprocess.run([env.asyncmend, "check", "--help"], capture_output=True, text=True).stdout
    return option in helptext


def precommit_files(corpus: Corpus) -> tuple[list[str], list[str]]:
    """Two files of ``corpus`` with a finding, and two that hold ``async
    def`` and no finding (paths relative to its root): in each group the
    two nearest its median size, the files of a typical commit. The
    findings come from an untimed run of asyncmend over the corpus."""
    assert corpus.env is not None
    out = subprocess.run(
        [corpus.env.asyncmend, "check", "--no-progress", "--no-cache", "--output-format", "json", "."],
        cwd=corpus.root, capture_output=True, text=True,
    )
    try:
        found = {Path(finding["path"]).as_posix() for finding in json.loads(out.stdout)}
    except (ValueError, KeyError, TypeError):
        sys.exit(f"error: asyncmend check --output-format json on {corpus.root} gave no findings list:\n"
                 + out.stderr[-2000:])
    by_size = sorted(python_files(corpus.root), key=lambda path: (path.stat().st_size, path))
    with_findings, clean = [], []
    for path in by_size:
        relative = path.relative_to(corpus.root).as_posix()
        if relative in found:
            with_findings.append(relative)
        elif b"async def" in path.read_bytes():
            clean.append(relative)
    return _middle_two(with_findings), _middle_two(clean)


def _middle_two(paths: list[str]) -> list[str]:
    middle = max(len(paths) // 2 - 1, 0)
    return paths[middle : middle + 2]


def model_switch(switch: str | None) -> tuple[list[str], dict[str, str]] | None:
    """``--flag`` (an option of ``check``) or ``NAME=VALUE`` (an environment
    variable) that turns the project model off; ``None`` when not given."""
    if not switch:
        return None
    if switch.startswith("-"):
        return switch.split(), {}
    name, _, value = switch.partition("=")
    return [], {name: value}


def commands_for(corpus: Corpus, work: Path, *, fixit_lines: int, with_fixit: bool,
                 growth_only: bool, model_off: tuple[list[str], dict[str, str]] | None) -> list[Command]:
    assert corpus.env is not None
    env = corpus.env
    am = [env.asyncmend]
    # The corpus directory is the working directory, so a cache lands in it.
    target = ["."]
    # The default text output: json also computes every fix to show it.
    common = ["--no-progress"]
    cache = asyncmend_has(env, "--no-cache")
    no_cache = ["--no-cache"] if cache else []
    floor = [env.python, FLOOR_SCRIPT]
    if corpus.kind == "findings":
        # One file: the pool has nothing to share out.
        return [
            Command(RUFF, [tool("ruff"), *RUFF_ARGS, *target], corpus.root, corpus),
            Command(GEN_CHECK, [*am, "check", "-j", "1", *common, *no_cache, *target], corpus.root, corpus),
            Command(GEN_FIX, [*am, "fix", "--diff", "-j", "1", *common, *target], corpus.root, corpus),
            Command(FLOOR_J1, [*floor, "-j", "1", *target], corpus.root, corpus),
        ]
    cmds = [
        Command(RUFF, [tool("ruff"), *RUFF_ARGS, *target], corpus.root, corpus),
        Command(COLD_J2, [*am, "check", "-j", "2", *common, *no_cache, *target], corpus.root, corpus),
    ]
    if growth_only:
        return cmds
    cmds += [
        # No tool: CPython's parser alone, on the files any asyncio rule needs,
        # on 2 processes and on 1 (what -j 2 can gain on this machine).
        Command(FLOOR, [*floor, "-j", "2", *target], corpus.root, corpus),
        Command(FLOOR_J1, [*floor, "-j", "1", *target], corpus.root, corpus),
        Command(COLD_J1, [*am, "check", "-j", "1", *common, *no_cache, *target], corpus.root, corpus),
        Command("asyncmend fix --diff --unsafe-fixes -j 2",
                [*am, "fix", "--diff", "--unsafe-fixes", "-j", "2", "--no-progress", *target],
                corpus.root, corpus),
    ]
    if cache:
        # An untimed run of the same command first, so the cache is warm.
        warm = [*am, "check", "-j", "2", *common, *target]
        cmds.append(Command(WARM, warm, corpus.root, corpus, setup=warm))
    if model_off is not None:
        extra, variables = model_off
        cmds.append(Command(NO_MODEL, [*am, "check", "-j", "2", *common, *no_cache, *extra, *target],
                            corpus.root, corpus, env=variables))
    # What a pre-commit hook runs: asyncmend on the files of a commit, with
    # the default -j; cold, as the files of a commit have just changed.
    for label, paths in zip((PRECOMMIT_FOUND, PRECOMMIT_CLEAN), precommit_files(corpus)):
        if paths:
            lines = sum((corpus.root / path).read_bytes().count(b"\n") for path in paths)
            files = Corpus(label, corpus.root, len(paths), lines)
            cmds.append(Command(label, [*am, "check", *common, *no_cache, *paths], corpus.root, corpus,
                                sample=files, note="files: " + ", ".join(paths)))
    if with_fixit:
        sample = fixit_sample(corpus, work, fixit_lines)
        cmds.append(Command("fixit lint (sample, extrapolated)",
                            [tool("fixit"), "lint", "."], sample.root, corpus, sample=sample, scaled=True))
    return cmds


def fmt_row(cols: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cols, widths)))


def report(groups: list[tuple[Corpus, list[Command]]], model_note: str) -> str:
    header = ["corpus / command", "files", "lines", "wall s", "CPU s", "lines/s", "peak RSS MB", "x ruff"]
    rows: list[list[str]] = []
    notes: list[str] = []
    for corpus, cmds in groups:
        ruff = next(c for c in cmds if c.label == RUFF)
        python = f" (asyncmend and the floor on Python {corpus.env.version})" if corpus.env else ""
        rows.append([f"{corpus.name}{python}", str(corpus.files), str(corpus.lines), "", "", "", "", ""])
        by = {c.label: c for c in cmds}
        for c in cmds:
            measured = c.measured
            wall = c.shown_wall
            rows.append([
                "  " + c.label, str(measured.files), str(measured.lines),
                f"{wall:.2f}*" if c.scaled else f"{wall:.3f}" if wall < 1 else f"{wall:.2f}",
                "" if c.scaled else f"{c.cpu:.3f}" if c.cpu < 1 else f"{c.cpu:.2f}",
                f"{c.lines_per_s:,.0f}", f"{c.peak_mb:.0f}", f"{wall / ruff.wall:.1f}",
            ])
            if c.note:
                notes.append(f"{corpus.name} / {c.label}: {c.note}")
        if corpus.kind != "findings" and COLD_J1 in by:
            # Its own line, measured or not, so that the model's cost stays in view.
            if NO_MODEL in by:
                cost = by[COLD_J2].wall - by[NO_MODEL].wall
                rows.append(["  project model cost (cold -j 2, with - without)", "", "", f"{cost:+.3f}",
                             "", "", "", ""])
            else:
                rows.append(["  project model cost", "", "", "n/a", "", "", "", ""])
                notes.append(f"{corpus.name} / project model cost: {model_note}")
        notes.extend(f"{corpus.name}: {r}" for r in ratio_lines(corpus, cmds))
    notes.extend(growth_lines(groups))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [fmt_row(header, widths), fmt_row(["-" * w for w in widths], widths)]
    lines += [fmt_row(r, widths) for r in rows]
    lines.append("")
    labels = {c.label for _, cmds in groups for c in cmds}
    if any(label.startswith("fixit") for label in labels):
        lines.append("* fixit ran on the sample in the files/lines columns; its wall time is "
                     "extrapolated to the whole corpus from lines/s.")
    if labels & {PRECOMMIT_CLEAN, PRECOMMIT_FOUND}:
        lines.append("Pre-commit rows run on the files in their files/lines columns (default -j, "
                     "no cache); their x ruff is against ruff on the whole corpus.")
    lines.append("Peak RSS is the largest single process of the run (ru_maxrss). CPU s is user and system "
                 "time of all its processes (a pool's workers summed; ruff's threads too).")
    lines += notes
    return "\n".join(lines)


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def ratio_lines(corpus: Corpus, cmds: list[Command]) -> list[str]:
    by = {c.label: c for c in cmds}
    ruff = by[RUFF]
    out = []
    if corpus.kind == "findings":
        return out
    floor, floor_j1 = by.get(FLOOR), by.get(FLOOR_J1)
    j1, j2 = by.get(COLD_J1), by.get(COLD_J2)
    if j2:
        out.append(f"{COLD_J2} / ruff = {j2.wall / ruff.wall:.1f}x")
    if floor and j2:
        r = j2.wall / floor.wall
        target = (f"target <= {COLD_OVER_FLOOR:g}x: {_verdict(r <= COLD_OVER_FLOOR)}"
                  if corpus.kind in ("stdlib", "async") else "no target set on this corpus")
        out.append(f"{COLD_J2} / parser floor -j 2 = {r:.2f}x ({target}); "
                   f"the parser floor / ruff = {floor.wall / ruff.wall:.1f}x; CPU time {j2.cpu / floor.cpu:.2f}x the floor's")
    if floor_j1 and j1:
        out.append(f"{COLD_J1} / parser floor -j 1 = {j1.wall / floor_j1.wall:.2f}x; CPU time "
                   f"{j1.cpu / floor_j1.cpu:.2f}x")
    if j1 and j2:
        out.append(f"-j 1 / -j 2 speed-up = {j1.wall / j2.wall:.2f}"
                   + (f" (the parser floor's own: {floor_j1.wall / floor.wall:.2f})" if floor and floor_j1 else ""))
    if WARM in by:
        r = by[WARM].wall / ruff.wall
        out.append(f"{WARM} / ruff = {r:.1f}x (target <= {WARM_OVER_RUFF:g}x: {_verdict(r <= WARM_OVER_RUFF)})")
    for label in (PRECOMMIT_CLEAN, PRECOMMIT_FOUND):
        if label in by:
            wall = by[label].wall
            out.append(f"{label}: {wall * 1000:.0f} ms (target < {PRECOMMIT_SECONDS * 1000:.0f} ms: "
                       f"{_verdict(wall < PRECOMMIT_SECONDS)})")
    if NO_MODEL in by and j2:
        cost = j2.wall - by[NO_MODEL].wall
        out.append(f"project model: cold check -j 2 {j2.wall:.2f} s with it, {by[NO_MODEL].wall:.2f} s "
                   f"without: {cost:+.2f} s ({cost / by[NO_MODEL].wall:+.0%})")
    fixit = next((c for c in cmds if c.label.startswith("fixit")), None)
    if fixit and j2:
        r = j2.lines_per_s / fixit.lines_per_s
        out.append(f"asyncmend -j 2 lines/s / fixit lines/s = {r:.0f}x "
                   f"(target >= {OVER_FIXIT:g}x: {_verdict(r >= OVER_FIXIT)})")
    am = [c for c in cmds if c.label.startswith(("asyncmend", "pre-commit"))]
    if am:
        peak = max(c.peak_mb for c in am)
        out.append(f"asyncmend peak RSS {peak:.0f} MB (target <= {PEAK_MB:g} MB: {_verdict(peak <= PEAK_MB)})")
    return out


def growth_lines(groups: list[tuple[Corpus, list[Command]]]) -> list[str]:
    """How one file's cost grows with its findings: the largest generated
    file against the smallest."""
    found = [(corpus, {c.label: c for c in cmds}) for corpus, cmds in groups if corpus.kind == "findings"]
    if len(found) < 2:
        return []
    (small, first), (large, last) = found[0], found[-1]
    out = []
    for label in (GEN_CHECK, GEN_FIX):
        r = last[label].wall / first[label].wall
        target = f" (target <= {FINDINGS_GROWTH:g}x: {_verdict(r <= FINDINGS_GROWTH)})" if label == GEN_CHECK else ""
        out.append(f"generated files: {label}, {large.lines} lines / {small.lines} lines = {r:.1f}x{target}; "
                   f"CPU time {last[label].cpu / first[label].cpu:.1f}x")
    peak = max(last[label].peak_mb for label in (GEN_CHECK, GEN_FIX))
    out.append(f"generated file of {large.lines} lines: asyncmend peak RSS {peak:.0f} MB "
               f"(target < {PEAK_MB:g} MB: {_verdict(peak < PEAK_MB)}); "
               f"the parser floor alone {last[FLOOR_J1].peak_mb:.0f} MB")
    return out


def named_paths(values: Sequence[str], option: str) -> dict[str, Path]:
    """``NAME=PATH`` values of a repeatable option."""
    out = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or name not in CORPORA:
            sys.exit(f"error: {option} takes CORPUS=PATH with CORPUS one of {', '.join(CORPORA)}: {value!r}")
        out[name] = Path(path).resolve()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=",".join(CORPORA), help="of stdlib,async,homeassistant (default: all)")
    parser.add_argument("--sizes", default="1,2,4", help="corpus copies for the growth runs (stdlib, async)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per command (median)")
    parser.add_argument("--fixit-lines", type=int, default=15000,
                        help="about how many lines of each corpus fixit lints (it is slow)")
    parser.add_argument("--no-fixit", action="store_true")
    parser.add_argument("--findings-sizes", default="500,4000",
                        help="coroutines of the generated findings-heavy files ('' for none)")
    parser.add_argument("--venv", action="append", default=[], metavar="CORPUS=DIR",
                        help="run asyncmend and the parser floor on CORPUS from this virtual environment "
                             "(homeassistant needs Python 3.13)")
    parser.add_argument("--corpus-dir", action="append", default=[], metavar="CORPUS=DIR",
                        help="take CORPUS's files from DIR rather than building it")
    parser.add_argument("--model-switch", metavar="SWITCH",
                        help="what turns the project model off: an option of check (--flag) or an "
                             "environment variable (NAME=VALUE); adds a row without the model")
    parser.add_argument("--work", type=Path, help="scratch directory (kept; default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    args = parser.parse_args(argv)

    which = [c.strip() for c in args.corpus.split(",") if c.strip()]
    unknown = set(which) - set(CORPORA)
    if unknown:
        parser.error(f"unknown corpus: {', '.join(sorted(unknown))}")
    sizes = sorted({int(s) for s in args.sizes.split(",")} | {1})
    counts = sorted({int(s) for s in args.findings_sizes.split(",") if s.strip()})
    venvs = named_paths(args.venv, "--venv")
    given = named_paths(args.corpus_dir, "--corpus-dir")
    default_env = environment(None)
    envs = {name: environment(venvs[name]) if name in venvs else default_env for name in which}
    for name in which:
        needed = NEEDS_PYTHON.get(name)
        running = tuple(int(part) for part in envs[name].version.split(".")[:2])
        if needed and running < needed:
            parser.error(f"{name} needs Python {'.'.join(map(str, needed))} to parse; asyncmend would run on "
                         f"{envs[name].version}: pass --venv {name}=DIR (a virtual environment of Python "
                         f"{'.'.join(map(str, needed))} with asyncmend installed)")
    model_off = model_switch(args.model_switch)
    model_note = (
        "not measured: asyncmend has no switch here that turns the project model off "
        "(give it with --model-switch to add a row without the model)"
    )
    work = args.work or Path(tempfile.mkdtemp(prefix="asyncmend-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        for env in {*envs.values(), default_env}:
            compile_bytecode(env)
        corpora = build_corpora(work, which, sizes, envs, given)
        groups: list[tuple[Corpus, list[Command]]] = []
        for (name, size), corpus in sorted(corpora.items(), key=lambda item: (CORPORA.index(item[0][0]), item[0][1])):
            cmds = commands_for(corpus, work, fixit_lines=args.fixit_lines, with_fixit=not args.no_fixit,
                                growth_only=size != 1, model_off=model_off)
            groups.append((corpus, cmds))
        for corpus in findings_corpora(work, counts, default_env):
            groups.append((corpus, commands_for(corpus, work, fixit_lines=0, with_fixit=False,
                                                growth_only=False, model_off=None)))
        for rep in range(args.reps):
            for corpus, cmds in groups:
                for command in cmds:
                    print(f"[{rep + 1}/{args.reps}] {corpus.name}: {command.label}", file=sys.stderr, end="", flush=True)
                    run_once(command)
                    # Each measurement as it comes: a run stopped early still tells what it measured.
                    print(f": {command.walls[-1]:.2f} s wall, {command.cpus[-1]:.2f} s CPU, "
                          f"{command.rss_kib[-1] / 1024:.0f} MB", file=sys.stderr)
        versions = sorted({env.version for env in envs.values()} | {default_env.version})
        print(f"asyncmend benchmark: Python {', '.join(versions)}, {os.cpu_count()} cores, "
              f"{args.reps} repetitions, medians")
        print(report(groups, model_note))
        if args.json:
            args.json.write_text(json.dumps([
                {"corpus": corpus.name, "files": corpus.files, "lines": corpus.lines,
                 "python": corpus.env.version if corpus.env else None,
                 "runs": [{"label": c.label, "walls": c.walls, "cpus": c.cpus, "rss_kib": c.rss_kib,
                           "sample_lines": c.sample.lines if c.sample else None, "argv": c.argv}
                          for c in cmds]}
                for corpus, cmds in groups
            ], indent=2))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
