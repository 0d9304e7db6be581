"""The layout is the architecture: a rule is one module and one fixture folder,
found without a list; its documentation is its docstring; importing the rules
imports no LibCST; the machinery has no import circle; installed, the package
has only namespaced names."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from asyncmend.codemods import Rule, rules

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "codemods"
FIXTURES = ROOT / "tests" / "fixtures"


def _rule_modules() -> list[str]:
    machinery = {"__init__", "api", "findings", "lazy", "rule", "settings"}
    return sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem not in machinery)


def test_every_rule_module_holds_one_rule_named_by_its_slug() -> None:
    by_module = {rule.__module__.rsplit(".", 1)[1]: rule for rule in rules()}
    assert sorted(by_module) == _rule_modules()
    for module, rule in by_module.items():
        assert rule.SLUG.replace("-", "_") == module
        assert rule.CODE and rule.DESCRIPTION and rule.SAFETY


def test_every_rule_has_a_fixture_folder_with_changing_and_noop_cases() -> None:
    for rule in rules():
        folder = FIXTURES / rule.SLUG.replace("-", "_")
        names = [path.name for path in folder.glob("*.before.py")]
        assert any(name.startswith("noop_") for name in names), rule.CODE
        assert any(not name.startswith("noop_") for name in names), rule.CODE
    assert sorted(path.name for path in FIXTURES.iterdir() if path.is_dir()) == sorted(
        rule.SLUG.replace("-", "_") for rule in rules()
    )


def test_every_rule_docstring_has_the_sections_of_a_rule_page() -> None:
    for rule in rules():
        doc = rule.__doc__ or ""
        for heading in ("## Example", "## Why is this bad", "## Fix", "## Fix safety"):
            assert f"\n    {heading}\n" in doc, f"{rule.CODE}: no {heading}"
        # One markup: Markdown literals, not reStructuredText ones (code in
        # a fenced block is the user's, as it is).
        prose = re.sub(r"```.*?```", "", doc, flags=re.DOTALL)
        assert "``" not in prose, rule.CODE


def test_readme_rule_sections_are_the_rule_docstrings() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "readme_rules.py"), "--check"],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_importing_the_api_and_every_rule_imports_no_libcst() -> None:
    script = (
        "import sys\n"
        "from asyncmend import cli\n"
        "from asyncmend.codemods import rules\n"
        "from asyncmend.codemods.output import docs\n"
        "for rule in rules():\n"
        "    rule.screen, rule.prefilter, docs.explain(rule)\n"
        "print(sorted(m for m in sys.modules if m == 'libcst' or m.startswith('libcst.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _module_imports(path: Path) -> set[str]:
    """The modules of the package that ``path`` imports at its top level (not
    inside functions, and not under ``if TYPE_CHECKING:``)."""
    package = list(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
            for candidate in candidates:
                module = ROOT / Path(*candidate.split("."))
                if module.with_suffix(".py").is_file() or (module / "__init__.py").is_file():
                    found.add(candidate)
    return found


def test_the_machinery_has_no_import_circle() -> None:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        graph[name] = {target for target in _module_imports(path) if target != name}
    # A package imports what its __init__ re-exports; a circle through a
    # package's own __init__ is not one between stages.
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if target.startswith(node + "."):
                continue
            if state.get(target) == 1:
                cycle = trail[trail.index(target):] + [target] if target in trail else [node, target]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if state.get(target) is None:
                visit(target, trail + [target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_pyproject_lists_every_package_of_the_tree() -> None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {"asyncmend", "asyncmend.codemods"} | {
        "asyncmend.codemods." + ".".join(path.parent.relative_to(PACKAGE).parts)
        for path in PACKAGE.rglob("__init__.py")
        if path.parent != PACKAGE
    }
    assert listed == packages


def test_a_project_with_its_own_cli_and_codemods_does_not_shadow_asyncmend(tmp_path: Path) -> None:
    # Installed under the generic names `cli` and `codemods`, the command
    # would run this project's cli.main and exit 0: a silent pass in CI.
    (tmp_path / "cli.py").write_text("def main():\n    print('the project cli')\n")
    (tmp_path / "codemods").mkdir()
    (tmp_path / "codemods" / "__init__.py").write_text("RULES = ()\n")
    (tmp_path / "service.py").write_text("import time\n\nasync def f():\n    time.sleep(1)\n")
    command = Path(sys.executable).parent / "asyncmend"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [str(command), "check", "--no-cache", "."], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "service.py:4:5: AM101" in done.stdout


def test_each_rule_runs_as_a_plain_libcst_codemod(tmp_path: Path) -> None:
    (tmp_path / ".libcst.codemod.yaml").write_text((ROOT / ".libcst.codemod.yaml").read_text())
    source = tmp_path / "service.py"
    source.write_text("import time\n\nasync def f():\n    time.sleep(1)\n")
    done = subprocess.run(
        [sys.executable, "-m", "libcst.tool", "codemod", "--no-format", "blocking_sleep.BlockingSleep", "."],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    assert source.read_text() == "import asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n"
    listed = subprocess.run(
        [sys.executable, "-m", "libcst.tool", "list"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert sorted(line.split(" - ")[0] for line in listed.splitlines()) == sorted(
        f"{rule.__module__.rsplit('.', 1)[1]}.{rule.__name__}" for rule in rules()
    )


def test_a_rule_defined_elsewhere_runs_with_its_own_spec() -> None:
    from asyncmend.codemods import Safety, Settings, fix_source

    class Shout(Rule):
        """Rename `quiet` to `loud`."""

        CODE = "XX001"
        SLUG = "shout"
        SAFETY = Safety.SAFE

        def leave_Name(self, original_node, updated_node):  # type: ignore[no-untyped-def]
            if original_node.value == "quiet" and self.report(original_node, "too quiet"):
                return updated_node.with_changes(value="loud")
            return updated_node

    result = fix_source(textwrap.dedent("quiet = 1\n"), Settings(), rules=[Shout])
    assert result.output == b"loud = 1\n"
    assert [finding.code for finding in result.findings] == ["XX001"]
