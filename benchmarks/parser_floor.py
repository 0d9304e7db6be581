"""The least a linter built on CPython's own parser can take on a tree.

Reads every ``.py`` file under ROOT, decodes it as Python does (BOM, coding
cookie), checks it with ``symtable`` (the parser and the symbol pass, which
is how asyncmend tells a broken file from a valid one without building a
tree) and builds an ``ast`` of each file that holds the word ``async`` (the
files any asyncio rule has to look into). No rule runs and nothing is
reported. The files go to ``-j`` processes, largest first, as asyncmend's
pool hands them out::

    python benchmarks/parser_floor.py ROOT -j 2

The benchmark runs it beside ruff and asyncmend: what asyncmend takes above
this is its own cost; what this takes above ruff is the price of the parser.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import os
import symtable
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def parse_all(paths: list[str]) -> int:
    """Parse ``paths``; the number of files Python rejects."""
    warnings.simplefilter("ignore")  # invalid escapes in the corpus
    rejected = 0
    for path in paths:
        data = Path(path).read_bytes()
        try:
            text = importlib.util.decode_source(data)
            symtable.symtable(text, path, "exec")
            if b"async" in data:
                ast.parse(text, filename=path)
        except (SyntaxError, ValueError, UnicodeError, RecursionError, MemoryError):
            rejected += 1
    return rejected


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    paths = [
        os.path.join(directory, name)
        for directory, _, names in os.walk(args.root)
        for name in names
        if name.endswith(".py")
    ]
    paths.sort(key=lambda path: -os.path.getsize(path))
    if args.jobs <= 1:
        rejected = parse_all(paths)
    else:
        # Several chunks per process, dealt in turn, so that no process is
        # left with a long tail.
        count = args.jobs * 8
        with ProcessPoolExecutor(args.jobs) as pool:
            rejected = sum(pool.map(parse_all, [paths[i::count] for i in range(count)]))
    print(f"{len(paths)} files, {rejected} rejected by the parser")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
