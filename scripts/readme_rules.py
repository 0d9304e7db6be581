"""Write the README's rule sections from the rule docstrings.

    python scripts/readme_rules.py           # rewrite README.md between the markers
    python scripts/readme_rules.py --check   # exit 1 when README.md is out of date

The sections are rendered by ``asyncmend.codemods.output.docs``, as
``asyncmend explain`` renders one rule; a test runs ``--check``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from asyncmend.codemods import rules
from asyncmend.codemods.output.docs import README_BEGIN, README_END, readme_rules

README = Path(__file__).resolve().parent.parent / "README.md"


def updated(text: str) -> str:
    """``text`` with the part between the markers rendered anew."""
    start, end = text.index(README_BEGIN), text.index(README_END) + len(README_END)
    return text[:start] + readme_rules(rules()) + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md is out of date")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    new = updated(text)
    if args.check:
        if new != text:
            print("README.md: the rule sections differ from the docstrings; run python scripts/readme_rules.py")
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
