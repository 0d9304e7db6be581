"""Speed benchmark: asyncmend side by side with ruff and fixit on real code.

Run it from a virtual environment that has the project, ruff and fixit
installed (see benchmarks/README.md)::

    python benchmarks/run.py                   # the whole benchmark
    python benchmarks/run.py --reps 1 --sizes 1 --corpus async   # a quick look

Corpora: the running interpreter's standard library, and a set of async
packages installed from PyPI at the pinned versions below. Each corpus is
copied into a scratch directory (so every tool sees the same files, and the
growth runs can use 2 and 4 copies of it).

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

# Real async code, at fixed versions so runs on different days compare.
# --no-deps: the corpus is exactly these packages.
ASYNC_PACKAGES = (
    "aiohttp==3.14.5",
    "httpx==0.28.1",
    "starlette==1.10.0",
    "anyio==4.16.0",
    "redis==8.1.0",
)
# Directories no tool should see twice or at all: installer metadata, caches.
SKIP_DIRS = {"site-packages", "__pycache__", "bin"}
FLOOR = "CPython parser alone -j 2 (floor)"
FLOOR_J1 = "CPython parser alone -j 1 (floor)"
FLOOR_SCRIPT = str(Path(__file__).with_name("parser_floor.py"))
RUFF_ARGS = ("check", "--select", "ASYNC,RUF006", "--no-cache", "--exit-zero", "--quiet")

# Runs ``argv`` in a fresh interpreter so that RUSAGE_CHILDREN covers this one
# command only; prints wall seconds, peak RSS (KiB) and the exit status.
_WRAPPER = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[2:], cwd=sys.argv[1], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall": wall, "rss_kib": rss, "status": proc.returncode,
                  "stderr": proc.stderr.decode("utf-8", "replace")[-2000:]}))
"""


@dataclass
class Corpus:
    name: str
    root: Path
    files: int
    lines: int


@dataclass
class Command:
    label: str
    argv: list[str]
    cwd: Path
    corpus: Corpus
    # Extrapolated entries ran on a sample: lines/s is comparable, wall is scaled.
    sample: Corpus | None = None
    setup: list[str] | None = None  # run before each repetition, untimed
    walls: list[float] = field(default_factory=list)
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
    def lines_per_s(self) -> float:
        return self.measured.lines / self.wall

    @property
    def full_wall(self) -> float:
        """Wall time for the whole corpus (scaled from the sample if any)."""
        return self.corpus.lines / self.lines_per_s


def tool(name: str) -> str:
    """An executable of the benchmark's own environment."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        sys.exit(f"error: {name} is not installed in this environment (pip install {name})")
    return found


def compile_bytecode() -> None:
    """Compile asyncmend's modules to bytecode, as ``pip install`` does for
    an installed package. An editable install under PYTHONDONTWRITEBYTECODE
    (set on some machines) never writes it, so every timed run would compile
    the package again (20 ms of a 100 ms warm run): not what users run."""
    found = subprocess.run(
        [sys.executable, "-c", "from asyncmend import cli, codemods; print(cli.__file__); print(codemods.__file__)"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    sources = [found[0], str(Path(found[1]).parent)]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *sources], check=True)


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


def measure_corpus(name: str, root: Path) -> Corpus:
    files = python_files(root)
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    return Corpus(name, root, len(files), lines)


def build_corpora(work: Path, which: Sequence[str], sizes: Sequence[int]) -> dict[tuple[str, int], Corpus]:
    sources: dict[str, Path] = {}
    if "stdlib" in which:
        sources["stdlib"] = Path(sysconfig.get_paths()["stdlib"])
    if "async" in which:
        installed = work / "pypi"
        if not installed.exists():
            print(f"installing {', '.join(ASYNC_PACKAGES)} ...", file=sys.stderr)
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
                 "--target", str(installed), *ASYNC_PACKAGES],
                check=True,
            )
        sources["async"] = installed
    corpora = {}
    for name, source in sources.items():
        files = python_files(source)
        for size in sizes:
            root = work / f"{name}-x{size}"
            if not root.exists():
                for copy in range(size):
                    copy_tree(files, source, root / f"copy{copy}")
            corpora[name, size] = measure_corpus(f"{name} x{size}", root)
    return corpora


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
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = subprocess.run(
        [sys.executable, "-c", _WRAPPER, str(command.cwd), *command.argv],
        check=True, capture_output=True, text=True,
    )
    data = json.loads(out.stdout)
    command.walls.append(data["wall"])
    command.rss_kib.append(data["rss_kib"])
    command.statuses.add(data["status"])
    # Exit status 1 means "findings" for every tool here; 2 and up, or a
    # traceback, means the measurement is suspect and the table says so.
    if data["status"] not in (0, 1) or "Traceback" in data["stderr"]:
        command.note = f"exit {data['status']}: {data['stderr'].strip().splitlines()[-1:]}"


def asyncmend_has(option: str) -> bool:
    helptext = subprocess.run([tool("asyncmend"), "check", "--help"],
                              capture_output=True, text=True).stdout
    return option in helptext


def commands_for(corpus: Corpus, work: Path, *, fixit_lines: int, with_fixit: bool,
                 growth_only: bool) -> list[Command]:
    am = [tool("asyncmend")]
    # The corpus directory is the working directory, so a cache lands in it.
    target = ["."]
    # The default text output: json also computes every fix to show it.
    common = ["--no-progress"]
    cache = asyncmend_has("--no-cache")
    no_cache = ["--no-cache"] if cache else []
    cmds = [
        Command("ruff ASYNC,RUF006", [tool("ruff"), *RUFF_ARGS, *target], corpus.root, corpus),
        Command("asyncmend check -j 2 (cold)", [*am, "check", "-j", "2", *common, *no_cache, *target],
                corpus.root, corpus),
    ]
    if growth_only:
        return cmds
    cmds += [
        # No tool: CPython's parser alone, on the files any asyncio rule needs,
        # on 2 processes and on 1 (what -j 2 can gain on this machine).
        Command(FLOOR, [sys.executable, FLOOR_SCRIPT, "-j", "2", *target], corpus.root, corpus),
        Command(FLOOR_J1, [sys.executable, FLOOR_SCRIPT, "-j", "1", *target], corpus.root, corpus),
        Command("asyncmend check -j 1 (cold)", [*am, "check", "-j", "1", *common, *no_cache, *target],
                corpus.root, corpus),
        Command("asyncmend fix --diff --unsafe-fixes -j 2",
                [*am, "fix", "--diff", "--unsafe-fixes", "-j", "2", "--no-progress", *target],
                corpus.root, corpus),
    ]
    if cache:
        # An untimed run of the same command first, so the cache is warm.
        warm = [*am, "check", "-j", "2", *common, *target]
        cmds.append(Command("asyncmend check -j 2 (warm cache)", warm, corpus.root, corpus,
                            setup=warm))
    if with_fixit:
        sample = fixit_sample(corpus, work, fixit_lines)
        cmds.append(Command("fixit lint (sample, extrapolated)",
                            [tool("fixit"), "lint", "."], sample.root, corpus, sample=sample))
    return cmds


def fmt_row(cols: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cols, widths)))


def report(groups: list[tuple[Corpus, list[Command]]]) -> str:
    header = ["corpus / command", "files", "lines", "wall s", "lines/s", "peak RSS MB", "x ruff"]
    rows: list[list[str]] = []
    notes: list[str] = []
    for corpus, cmds in groups:
        ruff = next(c for c in cmds if c.label.startswith("ruff"))
        rows.append([f"{corpus.name}", str(corpus.files), str(corpus.lines), "", "", "", ""])
        for c in cmds:
            measured = c.measured
            wall = f"{c.full_wall:.2f}" + ("*" if c.sample else "")
            rows.append([
                "  " + c.label, str(measured.files), str(measured.lines), wall,
                f"{c.lines_per_s:,.0f}", f"{max(c.rss_kib) / 1024:.0f}",
                f"{c.full_wall / ruff.wall:.1f}",
            ])
            if c.note:
                notes.append(f"{corpus.name} / {c.label}: {c.note}")
        ratios = ratio_lines(cmds)
        notes.extend(f"{corpus.name}: {r}" for r in ratios)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [fmt_row(header, widths), fmt_row(["-" * w for w in widths], widths)]
    lines += [fmt_row(r, widths) for r in rows]
    lines.append("")
    lines.append("* fixit ran on the sample in the files/lines columns; its wall time is "
                 "extrapolated to the whole corpus from lines/s.")
    lines.append("Peak RSS is the largest single process of the run (ru_maxrss).")
    lines += notes
    return "\n".join(lines)


def ratio_lines(cmds: list[Command]) -> list[str]:
    by = {c.label: c for c in cmds}
    ruff = by["ruff ASYNC,RUF006"]
    out = []
    for label, target in (("asyncmend check -j 2 (cold)", 10.0), ("asyncmend check -j 1 (cold)", 10.0),
                          ("asyncmend check -j 2 (warm cache)", 2.0)):
        if label in by:
            r = by[label].wall / ruff.wall
            out.append(f"{label} / ruff = {r:.1f}x (target <= {target:g}x: "
                       f"{'met' if r <= target else 'MISSED'})")
    j1, j2 = by.get("asyncmend check -j 1 (cold)"), by.get("asyncmend check -j 2 (cold)")
    if j1 and j2:
        out.append(f"-j 1 / -j 2 speed-up = {j1.wall / j2.wall:.2f} (target close to 2)")
    floor, floor_j1 = by.get(FLOOR), by.get(FLOOR_J1)
    if floor and j2:
        out.append(f"parser floor / ruff = {floor.wall / ruff.wall:.1f}x; asyncmend check -j 2 (cold) / "
                   f"parser floor = {j2.wall / floor.wall:.1f}x")
    if floor and floor_j1:
        out.append(f"parser floor -j 1 / -j 2 speed-up = {floor_j1.wall / floor.wall:.2f} "
                   "(what 2 processes gain on this machine with no tool at all)")
    fixit = next((c for c in cmds if c.label.startswith("fixit")), None)
    if fixit and j2:
        r = j2.lines_per_s / fixit.lines_per_s
        out.append(f"asyncmend -j 2 lines/s / fixit lines/s = {r:.0f}x "
                   f"(target >= 100x: {'met' if r >= 100 else 'MISSED'})")
    am = [c for c in cmds if c.label.startswith("asyncmend")]
    if am:
        peak = max(max(c.rss_kib) for c in am) / 1024
        out.append(f"asyncmend peak RSS {peak:.0f} MB (target <= 200 MB: "
                   f"{'met' if peak <= 200 else 'MISSED'})")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="stdlib,async", help="stdlib,async (default: both)")
    parser.add_argument("--sizes", default="1,2,4", help="corpus copies for the growth runs")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per command (median)")
    parser.add_argument("--fixit-lines", type=int, default=15000,
                        help="about how many lines of each corpus fixit lints (it is slow)")
    parser.add_argument("--no-fixit", action="store_true")
    parser.add_argument("--work", type=Path, help="scratch directory (kept; default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    args = parser.parse_args(argv)

    which = [c.strip() for c in args.corpus.split(",") if c.strip()]
    sizes = sorted({int(s) for s in args.sizes.split(",")} | {1})
    work = args.work or Path(tempfile.mkdtemp(prefix="asyncmend-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        compile_bytecode()
        corpora = build_corpora(work, which, sizes)
        groups: list[tuple[Corpus, list[Command]]] = []
        for (name, size), corpus in sorted(corpora.items()):
            cmds = commands_for(corpus, work, fixit_lines=args.fixit_lines,
                                with_fixit=not args.no_fixit, growth_only=size != 1)
            groups.append((corpus, cmds))
        for rep in range(args.reps):
            for corpus, cmds in groups:
                for command in cmds:
                    print(f"[{rep + 1}/{args.reps}] {corpus.name}: {command.label}", file=sys.stderr)
                    run_once(command)
        print(f"asyncmend benchmark: Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
              f"{args.reps} repetitions, medians")
        print(report(groups))
        if args.json:
            args.json.write_text(json.dumps([
                {"corpus": corpus.name, "files": corpus.files, "lines": corpus.lines,
                 "runs": [{"label": c.label, "walls": c.walls, "rss_kib": c.rss_kib,
                           "sample_lines": c.sample.lines if c.sample else None}
                          for c in cmds]}
                for corpus, cmds in groups
            ], indent=2))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
