"""Check on real code that no rule's prefilter or ``ast`` screen drops a file
the rule finds something in.

The screens (``Rule.screen``, see ``codemods/_screen.py``) decide which files
reach LibCST at all; a screen that says no where the rule, run on the LibCST
tree, would have reported something loses that finding silently. This runs
every rule on every file that has one of its literals, without the screens,
and compares. It prints, per rule, the files the screen passes and the files
the rule finds something in, and every miss. It also checks that the rules,
given the file's ast facts (which let them skip work), find exactly what
they find without. It exits 1 on any miss or difference.

    python scripts/screens.py src/ other/tree/
    python scripts/screens.py --stdlib -j 2
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import sysconfig
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parent.parent

from asyncmend.codemods import RULES
from asyncmend.codemods.screen.facts import Facts
from asyncmend.codemods.settings import build_settings
from asyncmend.codemods.source.text import SourceError, decode

# What a check run decides: every rule, no fix applied.
SETTINGS = build_settings(RULES, fix=False)


def compare(path: str) -> tuple[set[str], set[str], str | None]:
    """(codes whose screen passes, codes that find something, error)."""
    import libcst as cst
    from asyncmend.codemods.cst.batch import run_rules

    data = Path(path).read_bytes()
    # The rules whose literals occur at all (the loosest filter), so that a
    # rule's own prefilter is checked along with its screen.
    rules = [rule for rule in RULES if not rule.PREFILTER or any(t in data for t in rule.PREFILTER)]
    if not rules:
        return set(), set(), None
    try:
        text, _ = decode(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
        module = cst.parse_module(text)
    except (SourceError, SyntaxError, ValueError, RecursionError, MemoryError, cst.ParserSyntaxError):
        return set(), set(), None  # not Python this interpreter and LibCST both read
    facts = Facts.of(tree)
    passed = {rule.CODE for rule in rules if rule.prefilter(data) and rule.screen(facts, SETTINGS)}
    try:
        _, findings = run_rules(module, rules, SETTINGS, filename=path)
        # The rules may skip work where the facts show it cannot apply
        # (Rule.facts), and positions are found statement by statement given
        # the source: with both, they must find exactly the same.
        _, with_facts = run_rules(module, rules, SETTINGS, filename=path, facts=facts, source=text)
    except RecursionError:
        return passed, set(), "too deeply nested"
    error = None if with_facts == findings else "the rules find other things when given the ast facts"
    return passed, {finding.code for finding in findings}, error


def python_files(roots: Sequence[Path]) -> list[str]:
    found = []
    for root in roots:
        if root.is_file():
            found.append(str(root))
            continue
        for directory, names, files in os.walk(root):
            names[:] = sorted(n for n in names if n not in {"__pycache__", "site-packages"})
            found.extend(os.path.join(directory, f) for f in sorted(files) if f.endswith(".py"))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="files and directories")
    parser.add_argument("--stdlib", action="store_true", help="also the running interpreter's standard library")
    parser.add_argument("-j", "--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    roots = list(args.paths)
    if args.stdlib:
        roots.append(Path(sysconfig.get_paths()["stdlib"]))
    files = python_files(roots)
    passes: Counter[str] = Counter()
    finds: Counter[str] = Counter()
    misses: list[tuple[str, str]] = []
    reaching = errors = 0
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for path, (passed, found, error) in zip(files, pool.map(compare, files, chunksize=8)):
            passes.update(passed)
            finds.update(found)
            reaching += bool(passed)
            misses.extend((code, path) for code in sorted(found - passed))
            if error:
                print(f"{path}: {error}", file=sys.stderr)
                errors += error != "too deeply nested"
    print(f"{len(files)} files, {reaching} pass some screen (reach LibCST)")
    for info in RULES:
        print(f"  {info.CODE}: screen passes {passes[info.CODE]:5d} files, rule finds something in {finds[info.CODE]:5d}")
    print(f"misses: {len(misses)}")
    for code, path in misses:
        print(f"  {code} {path}")
    print(f"files where the facts change what the rules find: {errors}")
    return 1 if misses or errors else 0


if __name__ == "__main__":
    sys.exit(main())
