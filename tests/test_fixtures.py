"""Every fixture pair under tests/fixtures/<slug>/ as one parametrized test.

``<case>.before.py`` must become ``<case>.after.py``; a ``<case>.before.py``
without an ``.after.py`` (by convention named ``noop_*``) must come out
unchanged. Each output must compile, and a second run must change nothing.
A fixture may set options on a line ``# asyncmend-test: key=value, ...``
(``target-version``, ``line-length``, or a rule option).

What a rule sees across files is a fixture too: a folder ``<case>/`` beside
``<case>.before.py`` holds the other modules of its project (a caller, a
base class), and ``module=NAME`` on the options line names the module the
fixture is in that project; the rules then run with the project model of
those files.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from asyncmend.codemods import RULES, Settings, fix_source
from asyncmend.codemods.settings import parse_target_version
from asyncmend.codemods.source.text import decode
from tests.helpers import FIXTURE_OPTIONS as _OPTIONS
from tests.helpers import fixture_project

FIXTURES = Path(__file__).parent / "fixtures"
RULES_BY_SLUG = {rule.SLUG.replace("-", "_"): rule for rule in RULES}


def _cases() -> list[Path]:
    return sorted(FIXTURES.glob("*/*.before.py"))


# Rules whose fixes may uncover findings of other rules, by design.
ENABLES = {"AM302": frozenset({"AM201", "AM202"})}


def _settings(rule_code: str, source: str) -> Settings:
    kwargs: dict = {"select": frozenset({rule_code}), "apply": frozenset({rule_code})}
    options: dict = {}
    match = _OPTIONS.search(source)
    if match:
        for item in match.group(1).split(","):
            key, _, value = item.strip().partition("=")
            if key == "target-version":
                kwargs["target_version"] = parse_target_version(value)
            elif key == "line-length":
                kwargs["line_length"] = int(value)
            elif key != "module":
                options[key] = value
    return Settings(options=options, **kwargs)


def test_every_rule_has_fixtures() -> None:
    folders = {path.name for path in FIXTURES.iterdir() if path.is_dir()}
    for slug, rule in RULES_BY_SLUG.items():
        assert slug in folders, f"{rule.CODE} has no tests/fixtures/{slug}/"
        cases = list((FIXTURES / slug).glob("*.before.py"))
        changing = [c for c in cases if c.with_name(c.name.replace(".before.", ".after.")).exists()]
        assert len(changing) >= 1 and len(cases) - len(changing) >= 1, slug


@pytest.mark.parametrize("before", _cases(), ids=lambda p: f"{p.parent.name}/{p.name[:-10]}")
def test_fixture(before: Path, update_fixtures: bool, tmp_path: Path) -> None:
    rule = RULES_BY_SLUG[before.parent.name]
    after = before.with_name(before.name.replace(".before.", ".after."))
    source = before.read_bytes()
    # Decode as Python does (BOM, coding cookie), so that a BOM or a latin-1
    # file is read as the text the rules see.
    text, _ = decode(source)
    first = text.splitlines()[0] if text else ""
    assert first.startswith("#"), f"{before.name} must start with a comment saying what it checks"
    settings = _settings(rule.CODE, text)
    filename, project = fixture_project(before, text, tmp_path)

    result = fix_source(source, settings, filename=filename, project=project)

    if update_fixtures:
        if result.changed:
            after.write_bytes(result.output)
        elif after.exists():
            after.unlink()
    if after.exists():
        assert result.output == after.read_bytes()
    else:
        assert result.output == source, "a no-op fixture must come out unchanged"

    # The output compiles (fix_source already refuses one that does not) and
    # is a fixed point.
    compile(result.output, str(after), "exec", dont_inherit=True)
    again = fix_source(result.output, settings, filename=filename, project=project)
    assert again.output == result.output, "a second run changed the output"
    assert not [f for f in again.findings if f.fixable], "the fix left a fixable finding"

    # No rule finds more in the output than in the input, except where one
    # fix is meant to enable another: the awaits AM302 adds are awaits that
    # the gather rules may then run together (the engine's next pass does).
    everything = Settings(apply=frozenset())
    before_codes = Counter(f.code for f in fix_source(source, everything).findings)
    after_codes = Counter(f.code for f in fix_source(result.output, everything).findings)
    enabled = ENABLES.get(rule.CODE, frozenset())
    for code, count in after_codes.items():
        if code != rule.CODE and code not in enabled:
            assert count <= before_codes[code], f"the fix introduced a new {code} finding"
