"""A generated module whose findings grow with its length, to show how the
cost of one file grows with the number of its findings.

Each of its N coroutines awaits two calls that depend on each other (no
AM201 finding: the rule must look and decide) and calls ``time.sleep``
(an AM101 finding with a safe fix, which needs ``import asyncio``)::

    python benchmarks/findings_file.py 4000 > /tmp/findings_4000.py
    asyncmend check --no-cache -j 1 /tmp/findings_4000.py

With ``--sizes`` it writes one file per size, each in its own directory
under ``--out``, and times ``check`` (and ``check --output-format json``,
``fix --diff``) on each, wall time and peak RSS of the whole command,
medians of alternated repetitions, and the CPU time's ratio to that of the
first size (CPU time moves less than wall time when the machine is busy)::

    python benchmarks/findings_file.py --sizes 500,1000,2000,4000 --out DIR --commands check,json,diff
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Sequence

# Six lines a function (the file the cost was first reported on had seven:
# 28,000 lines for 4,000 coroutines).
_FUNCTION = '''
async def handler_{n}(client, request):
    user = await client.fetch_user(request.user_id)
    orders = await client.fetch_orders(user.id)
    time.sleep(0.01)
    return orders
'''

_HEADER = '''"""Generated: {count} coroutines, each with a blocking sleep."""
import time

'''

# Runs argv; prints wall and CPU seconds and the peak RSS (KiB) of the child.
_WRAPPER = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_kib": usage.ru_maxrss,
                  "status": proc.returncode, "stderr": proc.stderr.decode()[-500:]}))
"""


# What --commands names: the label and the arguments.
_COMMANDS = {
    "check": ("check", ["check", "--no-cache", "-j", "1"]),
    "json": ("check json", ["check", "--no-cache", "-j", "1", "--output-format", "json"]),
    "diff": ("fix --diff", ["fix", "--diff", "-j", "1"]),
}


def _beside_python(name: str) -> str:
    """``name`` from the running interpreter's environment, if it has it."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else name


def module_text(count: int) -> str:
    """The source of a module of ``count`` coroutines."""
    return _HEADER.format(count=count) + "".join(_FUNCTION.format(n=n) for n in range(count))


def _measure(argv: Sequence[str]) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", _WRAPPER, *argv], capture_output=True, text=True, check=True)
    data: dict[str, object] = json.loads(out.stdout)
    if data["status"] not in (0, 1):
        sys.exit(f"error: {' '.join(argv)} exited {data['status']}: {data['stderr']}")
    return data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", nargs="?", type=int, help="write one module of COUNT coroutines to stdout")
    parser.add_argument("--sizes", help="comma-separated counts to time (needs --out)")
    parser.add_argument("--out", type=Path, help="directory for the generated files")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--asyncmend", default=_beside_python("asyncmend"), help="the asyncmend executable to time")
    parser.add_argument("--commands", default="check",
                        help="which of check, json (check --output-format json), diff (fix --diff) to time")
    args = parser.parse_args(argv)
    if args.count is not None:
        sys.stdout.write(module_text(args.count))
        return 0
    if not args.sizes or not args.out:
        parser.error("give COUNT, or --sizes and --out")
    args.out.mkdir(parents=True, exist_ok=True)
    commands: list[tuple[str, int, list[str]]] = []
    for count in (int(size) for size in args.sizes.split(",")):
        # Each file in a directory of its own: the project model reads the
        # directory as the project, so files side by side would each pay
        # for the others.
        path = args.out / str(count) / f"findings_{count}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(module_text(count))
        for name in args.commands.split(","):
            label, argv = _COMMANDS[name.strip()]
            commands.append((label, count, [args.asyncmend, *argv, str(path)]))
    runs: dict[tuple[str, int], list[dict[str, object]]] = {(label, count): [] for label, count, _ in commands}
    for _ in range(args.reps):
        for label, count, command in commands:
            runs[label, count].append(_measure(command))
    print(f"{'command':<12} {'functions':>9} {'lines':>7} {'wall s':>7} {'CPU s':>7} {'x first':>7} {'peak MB':>8}")
    first: dict[str, float] = {}
    for (label, count), measured in runs.items():
        lines = module_text(count).count("\n")
        wall = statistics.median(float(m["wall"]) for m in measured)  # type: ignore[arg-type]
        cpu = statistics.median(float(m["cpu"]) for m in measured)  # type: ignore[arg-type]
        rss = max(int(m["rss_kib"]) for m in measured) / 1024  # type: ignore[call-overload]
        base = first.setdefault(label, cpu)
        print(f"{label:<12} {count:>9} {lines:>7} {wall:>7.2f} {cpu:>7.2f} {cpu / base:>7.1f} {rss:>8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
