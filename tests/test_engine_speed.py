"""The engine's shortcuts must not change what it reports or writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Iterator

import libcst as cst
import pytest

from asyncmend.codemods import RULES, FileResult, Options, Settings, SourceError, Target, fix_source, process
from asyncmend.codemods.rule import Rule
from asyncmend.codemods.findings import Safety
import libcst.matchers as m
from libcst.codemod import CodemodContext

from asyncmend.codemods.engine.pool import _chunks, _size

from asyncmend.codemods.source.text import decode

from asyncmend.codemods.engine.files import process_file
from asyncmend.codemods.cst.traversal import has_attribute_hooks as _has_attribute_hooks
from asyncmend.codemods.cst import toolkit
from asyncmend.codemods.cst.batch import _plain_dispatch
from asyncmend.codemods.cst.transformer import Context, RuleTransformer

SLEEPY = "import time\n\nasync def f():\n    time.sleep(1)\n"


def _result(tmp_path: Path, name: str, source: str | bytes, options: Options | None = None) -> FileResult:
    path = tmp_path / name
    path.write_bytes(source.encode() if isinstance(source, str) else source)
    return process_file(Target(path, name), options or Options(), RULES)


def test_files_no_screen_passes_never_import_libcst(tmp_path: Path) -> None:
    # Importing LibCST and the rules costs a quarter of a second, most of a
    # check of a few files (a pre-commit hook, an editor): the prefilters and
    # screens decide without them, and LibCST comes in with the first file
    # that passes a screen.
    import os
    import subprocess
    import sys

    (tmp_path / "plain.py").write_text("x = 1\n")
    # Past the prefilters of AM201, AM202 and AM302, stopped by their screens.
    (tmp_path / "awaits.py").write_text(
        "import asyncio\n\nasync def f(xs):\n    a = await g()\n    b = await h(a)\n"
        "    for x in xs:\n        x = await h(x)\n    return b\n\nasync def g(): ...\n"
    )
    (tmp_path / "broken.py").write_text("def f(:\n")
    (tmp_path / "sleepy.py").write_text(SLEEPY)
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from asyncmend import cli\n"
        "def check(*names):\n"
        "    result = CliRunner().invoke(cli.main, ['check', '--no-cache', '-j', '1', *names])\n"
        "    print(result.exit_code, 'libcst' in sys.modules)\n"
        "check('plain.py', 'awaits.py')\n"
        "check('broken.py')\n"
        "check('--output-format', 'sarif', 'plain.py')\n"
        "check('sleepy.py')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True,
                         env=dict(os.environ))
    assert out.stdout.split("\n")[:4] == ["0 False", "2 False", "0 False", "1 True"], out.stdout + out.stderr


def test_rule_docs_read_from_source_are_the_rules_docstrings() -> None:
    # SARIF's help texts come from the rule modules' source, not the imported
    # classes (which would import LibCST): they must be the same text.
    import inspect

    from asyncmend.codemods.output.sarif import rule_docs

    docs = rule_docs()
    assert sorted(docs) == sorted(rule.CODE for rule in RULES)
    for rule in RULES:
        assert docs[rule.CODE] == inspect.cleandoc(rule.__doc__ or ""), rule.CODE
        assert docs[rule.CODE]


# Accepted by CPython's parser, rejected by its symbol pass (3.10 to 3.13).
_SYMBOL_PASS_ERRORS = {
    "global after use": "def f():\n    x = 1\n    global x\n",
    "nonlocal without binding": "def f():\n    nonlocal y\n",
    "nonlocal at module level": "nonlocal z\n",
    "parameter and global": "def f(a):\n    global a\n",
    "duplicate parameter": "def f(a, *, a): pass\n",
    "duplicate lambda parameter": "g = lambda a, a: 0\n",
    "duplicate star parameter": "def f(a, *a): pass\n",
    "walrus rebinding a comprehension variable": "v = [i := 0 for i in range(3)]\n",
    "walrus in a comprehension iterable": "v = [x for x in (y := [1])]\n",
    "walrus in a comprehension in a class body": "class A:\n    v = [(j := x) for x in range(3)]\n",
    "yield in a comprehension": "def f():\n    return [(yield x) for x in y]\n",
    "yield from in a generator expression": "def f():\n    return ((yield from x) for x in y)\n",
    "star import in a function": "def f():\n    from os import *\n",
    "star import in a class body": "class A:\n    from os import *\n",
    "unknown future feature": "from __future__ import no_such_feature\n",
    "future braces": "from __future__ import braces\n",
    "await in a postponed annotation": "from __future__ import annotations\nasync def f(x: (await y)): pass\n",
    "yield in a postponed return annotation": "from __future__ import annotations\ndef f() -> (yield): pass\n",
    "walrus in a postponed variable annotation": "from __future__ import annotations\nx: (y := int) = 1\n",
}


@pytest.mark.parametrize("name", sorted(_SYMBOL_PASS_ERRORS))
def test_errors_of_the_symbol_pass_in_files_that_need_a_tree_are_reported(name: str) -> None:
    # The file passes a prefilter (an async def with awaits), so its ast is
    # built; the symbol pass must still run on it, and its message stand.
    import symtable

    source = _SYMBOL_PASS_ERRORS[name] + "\n\nasync def _h():\n    await _g()\n    await _g()\n"
    with pytest.raises(SyntaxError) as expected:
        symtable.symtable(source, "<string>", "exec")
    with pytest.raises(SourceError) as found:
        fix_source(source)
    assert str(found.value).startswith(f"syntax error: {expected.value.msg}")


def test_every_error_of_the_symbol_pass_in_cpythons_tests_is_seen_on_the_tree() -> None:
    # The snippets of CPython's own test suite (the string literals of its
    # Lib/test) that the parser accepts: wherever the symbol pass rejects
    # one, the facts of its tree must say that it needs the symbol pass.
    import ast
    import symtable
    import sys
    import sysconfig
    import warnings

    from asyncmend.codemods.screen.facts import Facts

    if not (3, 11) <= sys.version_info[:2] <= (3, 13):
        pytest.skip("the tree stands for the symbol pass only on Python 3.11 to 3.13")
    tests = Path(sysconfig.get_paths()["stdlib"], "test")
    files = sorted(tests.rglob("*.py"))
    if len(files) < 100:
        pytest.skip(f"CPython's test suite is not installed with this interpreter ({tests})")
    snippets: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            try:
                tree = ast.parse(path.read_bytes())
            except (SyntaxError, ValueError):
                continue
            snippets.update(
                node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            )
        rejected = missed = skipped = 0
        for snippet in snippets:
            try:
                tree = ast.parse(snippet)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            needed = Facts.of(tree).symbol_pass_needed
            skipped += not needed
            try:
                symtable.symtable(snippet, "<snippet>", "exec")
            except SyntaxError:
                rejected += 1
                missed += not needed
    assert missed == 0
    assert rejected > 50 and skipped > 1000  # the check has cases on both sides


def test_syntax_error_without_any_rule_literal_is_still_reported(tmp_path: Path) -> None:
    # No rule's prefilter matches this file, so no tree is built for the
    # rules; the syntax check must still see the error.
    result = _result(tmp_path, "bad.py", "x = (\n")
    assert result.error is not None and result.error.startswith("syntax error:")
    assert "line 1" in result.error


def test_error_found_only_by_the_symbol_pass_is_reported(tmp_path: Path) -> None:
    # ast.parse accepts this; the compiler does not: it is not valid Python.
    result = _result(tmp_path, "future.py", "from __future__ import braces\n")
    assert result.error == "syntax error: not a chance (line 1, column 1)"


def test_nul_byte_and_bad_encoding_are_errors(tmp_path: Path) -> None:
    assert _result(tmp_path, "nul.py", b"x = 1\0\n").error == "source contains a NUL byte"
    assert (_result(tmp_path, "enc.py", b"# coding: nope\nx = 1\n").error or "").startswith("cannot decode")


def test_finding_positions_are_resolved_on_demand(tmp_path: Path) -> None:
    result = _result(tmp_path, "a.py", "import time\n\n\nasync def f():\n    x = 1\n    time.sleep(1)\n")
    assert [(f.code, f.line, f.column, f.end_line) for f in result.findings] == [("AM101", 6, 5, 6)]


def test_check_mode_reports_without_changing(tmp_path: Path) -> None:
    options = Options(settings=Settings(apply=frozenset()))
    result = _result(tmp_path, "a.py", SLEEPY, options)
    assert [f.code for f in result.findings] == ["AM101"]
    assert not result.changed and not result.findings[0].fixed


def test_fix_still_rewrites() -> None:
    out = fix_source(SLEEPY)
    assert out.changed and b"await asyncio.sleep(1)" in out.output


class _AttributeHookRule(Rule):
    CODE: ClassVar[str] = "AM999"
    SLUG: ClassVar[str] = "attribute-hook-probe"
    DESCRIPTION: ClassVar[str] = "test rule that reports through an attribute hook"
    SAFETY: ClassVar[Safety] = Safety.NONE

    def visit_Call_func(self, node: cst.Call) -> None:
        self.report(node, "call", fixable=False)


def test_rules_with_attribute_hooks_still_get_them() -> None:
    assert _has_attribute_hooks(_AttributeHookRule)
    assert not any(_has_attribute_hooks(rule) for rule in RULES if "visit_Call_func" not in vars(rule))
    out = fix_source("f(1)\ng(2)\n", Settings(), rules=[_AttributeHookRule])
    assert [f.line for f in out.findings] == [1, 2]


class _MatcherRule(Rule):
    CODE: ClassVar[str] = "AM998"
    SLUG: ClassVar[str] = "matcher-probe"
    DESCRIPTION: ClassVar[str] = "test rule that reports calls of f inside a function only"
    SAFETY: ClassVar[Safety] = Safety.NONE

    @m.call_if_inside(m.FunctionDef())
    def visit_Call(self, node: cst.Call) -> None:
        self.report(node, "call in a function", fixable=False)


class _OwnDispatchRule(Rule):
    CODE: ClassVar[str] = "AM997"
    SLUG: ClassVar[str] = "own-dispatch-probe"
    DESCRIPTION: ClassVar[str] = "test rule that reports names through its own on_visit"
    SAFETY: ClassVar[Safety] = Safety.NONE

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Name) and node.value == "target":
            self.report(node, "name", fixable=False)
        return super().on_visit(node)


def test_shipped_rules_take_the_dispatch_table() -> None:
    # A rule with its own on_visit or matcher decorators pays for LibCST's
    # generic dispatch on every node; none of the shipped rules needs it.
    assert not _plain_dispatch(_MatcherRule(CodemodContext()))
    assert not _plain_dispatch(_OwnDispatchRule(CodemodContext()))
    assert all(_plain_dispatch(rule(CodemodContext())) for rule in RULES)
    # The same, as the engine runs them.
    assert not _plain_dispatch(_MatcherRule.transformer()(Context()))
    assert not _plain_dispatch(_OwnDispatchRule.transformer()(Context()))
    assert all(_plain_dispatch(rule.transformer()(Context())) for rule in RULES)


def test_the_engine_runs_a_rule_on_a_plain_transformer_and_a_decorated_one_as_its_codemod() -> None:
    from libcst.codemod import Codemod

    for rule in [*RULES, _OwnDispatchRule]:
        made = rule.transformer()
        assert issubclass(made, (rule, RuleTransformer)) and not issubclass(made, Codemod)
        assert type(made(Context())) is made
    # Only LibCST's codemod base honours matcher decorators.
    assert _MatcherRule.transformer() is _MatcherRule.codemod()


def test_the_libcst_stage_imports_neither_libcsts_codemod_package_nor_its_matchers() -> None:
    # Their import is 0.2 s of CPU: more than a pre-commit run's LibCST stage
    # spends on its files.
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from asyncmend.codemods import Settings, fix_source\n"
        f"out = fix_source({SLEEPY!r}, Settings())\n"
        "assert b'await asyncio.sleep(1)' in out.output and b'import asyncio' in out.output, out.output\n"
        "print(sorted(m for m in sys.modules if m.startswith(('libcst.codemod', 'libcst.matchers', 'libcst'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = eval(done.stdout)
    assert "libcst" in loaded
    assert not [m for m in loaded if m.startswith(("libcst.codemod", "libcst.matchers"))]


@pytest.mark.parametrize(
    "request_", [("asyncio", None, None, 0), ("contextvars", "ContextVar", None, 0), (".state", "x", "y", 0),
                 ("..pkg.mod", None, None, 1), ("", "sibling", None, 1)],
)
def test_an_import_request_is_recorded_as_libcsts_own_records_it(request_: tuple[Any, ...]) -> None:
    from libcst.codemod.visitors import AddImportsVisitor as LibCSTs

    ours, theirs = Context(), CodemodContext()
    toolkit.AddImportsVisitor.add_needed_import(ours, *request_)
    LibCSTs.add_needed_import(theirs, *request_)
    (got,) = ours.scratch[LibCSTs.CONTEXT_KEY]
    (expected,) = theirs.scratch[LibCSTs.CONTEXT_KEY]
    fields = ("module_name", "obj_name", "alias", "relative")
    assert [getattr(got, f) for f in fields] == [getattr(expected, f) for f in fields]
    # In a LibCST codemod's own context, LibCST's visitor records it.
    toolkit.AddImportsVisitor.add_needed_import(theirs, *request_)
    assert theirs.scratch[LibCSTs.CONTEXT_KEY][-1] == expected
    toolkit.RemoveImportsVisitor.remove_unused_import(ours, "time", "sleep", "nap")
    assert ours.scratch["RemoveImportsVisitor"] == [("time", "sleep", "nap")]


def test_rules_with_generic_dispatch_still_see_every_node() -> None:
    source = "f(1)\n\ndef g():\n    f(target)\n"
    out = fix_source(source, Settings(), rules=[_MatcherRule, _OwnDispatchRule, *RULES])
    assert [(f.code, f.line) for f in out.findings] == [("AM998", 4), ("AM997", 4)]


def test_a_rules_later_instances_hold_what_libcsts_own_init_gives() -> None:
    from libcst.codemod import ContextAwareTransformer

    context = CodemodContext()
    for rule in [*RULES, _MatcherRule]:
        first, later = rule(context), rule(context)  # the first tells whether it is decorated
        slow = object.__new__(type(later))
        ContextAwareTransformer.__init__(slow, context)
        for made in (first, later):
            assert set(vars(slow)) <= set(vars(made))
            assert made._matchers.keys() == slow._matchers.keys()
            assert made._extra_visit_funcs.keys() == slow._extra_visit_funcs.keys()
            assert made._extra_leave_funcs.keys() == slow._extra_leave_funcs.keys()
            assert made.context is context and made.metadata == {}
    # A decorated rule keeps LibCST's gathering: its matcher is there.
    assert _MatcherRule(context)._matchers


@pytest.mark.parametrize("jobs", [1, 2])
def test_pool_keeps_order_and_results(tmp_path: Path, jobs: int) -> None:
    targets = []
    for i in range(40):
        path = tmp_path / f"m{i:02}.py"
        path.write_text(SLEEPY if i % 3 == 0 else ("x = (\n" if i == 7 else f"y = {i}\n"))
        targets.append(Target(path, path.name))
    results = list(process(targets, Options(settings=Settings(apply=frozenset())), jobs=jobs))
    assert [r.path for r in results] == [t.display for t in targets]
    assert [bool(r.findings) for r in results] == [i % 3 == 0 for i in range(40)]
    assert [r.error is not None for r in results] == [i == 7 for i in range(40)]


def test_chunks_cover_every_target_once_in_order(tmp_path: Path) -> None:
    targets = []
    for i in range(100):
        path = tmp_path / f"m{i}.py"
        path.write_text("x = 1\n" * (1 + i * 50))
        targets.append(Target(path, path.name))
    targets.append(Target(tmp_path / "missing.py", "missing.py"))
    chunks = _chunks(targets, [_size(t) for t in targets], 2)
    assert [t for chunk in chunks for t in chunk] == targets
    assert all(chunks) and len(chunks) > 2


def test_positions_on_demand_match_libcst_for_every_node() -> None:
    # The targeted pass must give exactly PositionProvider's ranges: findings,
    # noqa lines and declined fixes are all keyed by them.
    from libcst.metadata import MetadataWrapper, PositionProvider

    from asyncmend.codemods.cst.positions import PositionsOnDemand as _PositionsOnDemand

    fixtures = sorted(Path(__file__).parent.joinpath("fixtures").glob("*/*.before.py"))[::7]
    checked = 0
    for path in fixtures:
        wrapper = MetadataWrapper(cst.parse_module(path.read_bytes()), unsafe_skip_copy=True)
        full = wrapper.resolve(PositionProvider)
        for node, expected in list(full.items())[::5]:
            assert _PositionsOnDemand(wrapper)[node] == expected, (path.name, node)
            checked += 1
    assert checked > 500


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "mixed"])
def test_deferred_positions_placed_together_match_libcst(newline: str) -> None:
    # Several nodes placed by one code generation that counts lines only
    # inside them and stops after the last: each range is PositionProvider's.
    from libcst.metadata import MetadataWrapper, PositionProvider

    from asyncmend.codemods.cst.positions import PositionsOnDemand as _PositionsOnDemand

    sources = [decode(p.read_bytes())[0] for p in sorted(Path(__file__).parent.joinpath("fixtures").glob("*/*.before.py"))[::5]]
    checked = 0
    for source in sources:
        if newline == "mixed":
            # A "\r" line end before a line that is a lone "\n": two line ends.
            lines = source.split("\n")
            source = "".join(line + ("\r" if i % 2 else "\n") for i, line in enumerate(lines[:-1])) + lines[-1]
            source = source.replace("\r\r", "\r\n\r")
        else:
            source = source.replace("\n", newline)
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError:
            continue
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        full = wrapper.resolve(PositionProvider)
        nodes = list(full)
        for step in (3, 17, len(nodes)):
            positions = _PositionsOnDemand(wrapper)
            chosen = nodes[step // 2 :: step]
            for node in chosen:
                positions.defer(node, ())
            positions.resolve_deferred()
            for node in chosen:
                assert positions[node] == full[node], (newline, type(node).__name__)
                checked += 1
            assert positions._passes == 0  # all from the one deferred pass
    assert checked > 200


class _EveryNodeDeferred(cst.CSTVisitor):
    """Walks a module as the batched rules do for the positions: entering
    and leaving the statements they can place from, and deferring every
    node on the way."""

    def __init__(self, positions: object) -> None:
        super().__init__()
        self.positions = positions
        self.ids = positions.statement_ids()  # type: ignore[attr-defined]
        self.deferred: list[cst.CSTNode] = []
        self.depth = 0

    def on_visit(self, node: cst.CSTNode) -> bool:
        if id(node) in self.ids:
            self.positions.enter(self.ids[id(node)])  # type: ignore[attr-defined]
            self.depth += 1
        if self.depth:  # the module and its header and footer are in no statement
            self.positions.defer(node, ())  # type: ignore[attr-defined]
            self.deferred.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if id(original_node) in self.ids:
            self.positions.leave()  # type: ignore[attr-defined]
            self.depth -= 1


# Layouts where a statement's first token is not where a naive count of
# lines would put it: decorators over several lines, a parenthesised
# decorator, continuation lines, semicolons, one-line blocks, comments
# between blocks, a docstring, form feeds, tabs, a last line without newline.
_AWKWARD = (
    '''"""Doc."""\n\n# lead\n@decorator(\n    1,\n)\n@(\n    other\n)\nasync def f(a,\n      b):\n    x = 1; y = 2\n    if x: pass\n    # trailing\n\n\x0c\nclass A: z = 1\nclass B:\n\t@property\n\tdef g(self): return \\\n\t\t1\n\tasync def h(self):\n\t\tawait \\\n\t\t\tf(1, 2)\ntry:\n    import q\nexcept ImportError:  # c\n    q = None\nelse:\n    pass\nfinally:\n    del q\nif x:\n    y = 1\nelif y:\n    y = 2\nx = [\n    1,\n]; w = """\n\n"""\nz = 3''',
    "def f():\n    return 1\n\n\n\n# only comments after\n",
    "class C:\n    def f(self):\n        pass\n    # at the end of the block\n# at the end of the file",
)


def _walked_sources(newline: str) -> Iterator[tuple[str, Any, Any, _EveryNodeDeferred]]:
    """For the awkward layouts and some fixtures, with ``newline`` line
    ends: the source, PositionProvider's ranges, the positions given the
    source and its ast, and the walk that deferred every node to them."""
    import ast

    from libcst.metadata import MetadataWrapper, PositionProvider

    from asyncmend.codemods.cst import positions as positions_module

    fixtures = [decode(p.read_bytes())[0] for p in sorted(Path(__file__).parent.joinpath("fixtures").glob("*/*.before.py"))[::6]]
    for source in [*_AWKWARD, *fixtures]:
        source = source.replace("\n", newline)
        module = cst.parse_module(source)
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        full = wrapper.resolve(PositionProvider)
        positions = positions_module.PositionsOnDemand(wrapper, source, ast.parse(source))
        walker = _EveryNodeDeferred(positions)
        module.visit(walker)
        yield source, full, positions, walker


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_positions_placed_statement_by_statement_match_libcst(newline: str) -> None:
    # With the source and its ast, each node is placed by generating the
    # statement the traversal met it in: the ranges must be
    # PositionProvider's, and no node may need the whole module generated.
    checked = 0
    for source, full, positions, walker in _walked_sources(newline):
        assert positions._record(set(walker.deferred)) is False, "a node needed the whole module"
        for node in walker.deferred:
            if node in full:
                assert positions[node] == full[node], (newline, type(node).__name__, source[:40])
                checked += 1
    assert checked > 2000


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_positions_asked_one_at_a_time_generate_each_statement_at_most_twice(
    newline: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A finding placed as it is reported (the file has a # noqa) asks for
    # one node at a time: the second node asked for in a statement has the
    # whole statement placed, so a class of many findings is not generated
    # once per finding. Every range is still PositionProvider's.
    from collections import Counter

    from asyncmend.codemods.cst import positions as positions_module

    generated: Counter[int] = Counter()
    place_in = positions_module.PositionsOnDemand._place_in

    def counted(self, anchor, nodes, **kwargs):  # type: ignore[no-untyped-def]
        generated[id(anchor)] += 1
        return place_in(self, anchor, nodes, **kwargs)

    monkeypatch.setattr(positions_module.PositionsOnDemand, "_place_in", counted)
    checked = 0
    for source, full, positions, walker in _walked_sources(newline):
        generated.clear()
        for node in walker.deferred:
            if node in full:
                assert positions[node] == full[node], (newline, type(node).__name__, source[:40])
                checked += 1
        assert positions._passes == 0, "a node needed the whole module"
        assert max(generated.values(), default=0) <= 2
    assert checked > 2000


def test_positions_from_a_statement_the_source_does_not_confirm_are_not_used() -> None:
    # An ast whose lines do not match the source (here: of the source with
    # two more lines at the top) puts every statement at the wrong line. The
    # generated statements are then not found there, and positions come from
    # the whole module, still right.
    import ast

    from libcst.metadata import MetadataWrapper, PositionProvider

    from asyncmend.codemods.cst.positions import PositionsOnDemand as _PositionsOnDemand

    source = _AWKWARD[0]
    module = cst.parse_module(source)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    full = wrapper.resolve(PositionProvider)
    positions = _PositionsOnDemand(wrapper, source, ast.parse("\n\n" + source))
    walker = _EveryNodeDeferred(positions)
    module.visit(walker)
    assert positions._record(set(walker.deferred)) is True
    for node in walker.deferred:
        if node in full:
            assert positions[node] == full[node]


def test_positions_need_trees_that_pair_up_statement_for_statement() -> None:
    import ast

    from libcst.metadata import MetadataWrapper

    from asyncmend.codemods.cst.positions import PositionsOnDemand as _PositionsOnDemand

    source = "x = 1; y = 2\ndef f():\n    pass\n"
    wrapper = MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)
    paired = _PositionsOnDemand(wrapper, source, ast.parse(source))
    paired.statement_ids()
    assert [anchor.node.lineno for anchor in paired._anchors if anchor.node] == [1, 2, 3]
    # The ast of a source with other statements: none is paired.
    for other_source in ("x = 1\ndef f():\n    pass\n", "def g(): pass\ny = 2\ndef f():\n    pass\n"):
        other = _PositionsOnDemand(wrapper, source, ast.parse(other_source))
        other.statement_ids()
        assert all(anchor.node is None for anchor in other._anchors), other_source


def test_findings_placed_during_the_traversal_are_the_same_from_statements() -> None:
    # With a noqa comment in the file and fixes applied, a finding's position
    # is needed during the traversal (it decides the fix): placed from its
    # statement or from the whole module, findings and fixes are the same.
    import ast

    from asyncmend.codemods.source.noqa import Suppressions

    from asyncmend.codemods.source.text import decode
    from asyncmend.codemods.screen.facts import Facts
    from asyncmend.codemods.cst.batch import run_rules

    every_fix = Settings()  # every rule, every fix
    fixtures = [decode(p.read_bytes())[0] for p in sorted(Path(__file__).parent.joinpath("fixtures").glob("*/*.before.py"))]
    # Fixtures with their own noqa comments, and others given one for a code
    # no rule has, which puts each of their findings on the spot too.
    sources = [source for source in fixtures if "noqa" in source]
    sources += [source + "# noqa: XX999\n" for source in fixtures[::4]]
    compared = 0
    for source in sources:
        facts = Facts.of(ast.parse(source))
        expected = run_rules(cst.parse_module(source), RULES, every_fix, suppressions=Suppressions(source), facts=facts)
        found = run_rules(
            cst.parse_module(source), RULES, every_fix, suppressions=Suppressions(source), facts=facts, source=source
        )
        assert found[0].code == expected[0].code
        assert found[1] == expected[1]
        compared += bool(expected[1])
    assert compared > 20


def test_nesting_depth_counts_as_ast_iter_child_nodes_would() -> None:
    import ast

    from asyncmend.codemods.engine.passes import _nesting_depth

    def reference(tree: ast.AST) -> int:
        deepest = 0
        stack = [(tree, 0)]
        while stack:
            node, depth = stack.pop()
            if isinstance(node, ast.BoolOp):
                depth += len(node.values) - 1
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
        return deepest

    sources: list[str | bytes] = [p.read_bytes() for p in sorted(Path(__file__).parent.joinpath("fixtures").glob("*/*.py"))]
    sources += ["x = " + "(" * 50 + "1" + ")" * 50, "y = a and b and c or d\n", "{1: [f(*a, **{k: v})]}\n"]
    depths = set()
    for source in sources:
        tree = ast.parse(source)
        assert _nesting_depth(tree) == reference(tree), source[:80]
        depths.add(_nesting_depth(tree))
    assert len(depths) > 5


def test_the_cycle_collector_is_paused_during_a_pass_and_restored_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Full collections walk every node of a large tree again and again; a
    # pass runs without them, and leaves the collector as it found it,
    # also when the file is rejected.
    import gc

    from asyncmend.codemods.engine import passes

    during: list[bool] = []
    parse_ast = passes.parse_ast

    def spied(text: str, filename: str):  # type: ignore[no-untyped-def]
        during.append(gc.isenabled())
        return parse_ast(text, filename)

    monkeypatch.setattr(passes, "parse_ast", spied)
    assert gc.isenabled()
    assert fix_source(SLEEPY, Settings()).findings
    assert during == [False, False] and gc.isenabled()  # the fixed text is a second pass
    with pytest.raises(SourceError):
        fix_source("import time\nasync def f(:\n    time.sleep(1)\n", Settings())
    assert gc.isenabled()
    gc.disable()
    try:
        fix_source(SLEEPY, Settings())
        assert not gc.isenabled()  # the caller's choice stands
    finally:
        gc.enable()


def test_the_source_of_each_libcst_visit_method_is_what_inspect_reads() -> None:
    # codemods.cst.traversal reads which fields a node visits from the source
    # of its _visit_and_replace_children; it takes the lines the code spans
    # rather than tokenizing the file as inspect does: the same text.
    import inspect

    from asyncmend.codemods.cst.traversal import _source_of

    node_types = [
        value for value in vars(cst).values()
        if isinstance(value, type) and issubclass(value, cst.CSTNode) and "_visit_and_replace_children" in vars(value)
    ]
    assert len(node_types) > 100
    for node_type in node_types:
        method = node_type._visit_and_replace_children
        assert _source_of(method) == inspect.getsource(method), node_type.__name__
