"""Each rule's ``ast`` screen decides which files reach LibCST; it must pass
every file in which the rule, run without it, finds anything."""

from __future__ import annotations

import ast
import functools
from dataclasses import replace
from pathlib import Path

import libcst as cst
import pytest

from asyncmend.codemods import RULES, Settings
from asyncmend.codemods.rule import Rule
from asyncmend.codemods.source.text import decode
from asyncmend.codemods.cst.batch import run_rules
from asyncmend.codemods.screen.facts import Facts
from asyncmend.codemods.await_in_loop import AwaitInLoop
from asyncmend.codemods.coroutine_in_sync import CoroutineInSync
from asyncmend.codemods.missing_await import MissingAwait
from asyncmend.codemods.sequential_awaits import SequentialAwaits

ROOT = Path(__file__).parent.parent
SOURCES = sorted(
    [*(ROOT / "tests" / "fixtures").glob("*/*.py"), *(ROOT / "examples").rglob("*.py")]
)


@functools.lru_cache(maxsize=None)
def _parsed(source: str) -> cst.Module:
    return cst.parse_module(source)


def _findings(source: str, rule: type[Rule]) -> list[object]:
    _, findings = run_rules(_parsed(source), [rule], Settings(apply=frozenset()))
    return findings


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.CODE)
def test_screen_passes_every_file_the_rule_finds_something_in(rule: type[Rule]) -> None:
    # Every fixture of every rule, before and after: the other rules' cases
    # are near misses and neighbours of this rule's own.
    checked = 0
    for path in SOURCES:
        source, _ = decode(path.read_bytes())
        if _findings(source, rule):
            checked += 1
            assert rule.screen(Facts.of(ast.parse(source)), Settings()), f"{rule.CODE} screen drops {path.relative_to(ROOT)}"
            data = path.read_bytes()
            assert rule.prefilter(data), f"{rule.CODE} prefilter drops {path.relative_to(ROOT)}"
    assert checked, f"no source where {rule.CODE} finds anything"


SAME_RECEIVER = """
async def connect(self):
    await self.open()
    await self.authenticate()
"""

METHOD_IN_LOOP = """
async def stop(sites):
    for site in sites:
        await site.stop()
"""

IMPORTED_MODULE = """
import api

async def load(uids):
    for uid in uids:
        await api.fetch(uid)
    await api.a()
    await api.b()
"""


def test_gather_screens_skip_what_the_rules_never_gather() -> None:
    assert not SequentialAwaits.screen(Facts.of(ast.parse(SAME_RECEIVER)), Settings())
    assert not AwaitInLoop.screen(Facts.of(ast.parse(METHOD_IN_LOOP)), Settings())
    # A module reached through an import is no receiver: both pass.
    assert SequentialAwaits.screen(Facts.of(ast.parse(IMPORTED_MODULE)), Settings())
    assert AwaitInLoop.screen(Facts.of(ast.parse(IMPORTED_MODULE)), Settings())
    assert _findings(IMPORTED_MODULE, AwaitInLoop) and _findings(IMPORTED_MODULE, SequentialAwaits)


def _statements(source: str) -> tuple[list[cst.BaseSmallStatement], list[ast.stmt]]:
    """The simple statements of a source, in order, on both trees."""
    cst_small: list[cst.BaseSmallStatement] = []

    class Collect(cst.CSTVisitor):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
            cst_small.extend(node.body)

    _parsed(source).visit(Collect())
    simple = (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Delete, ast.Return, ast.Raise)
    ast_small = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.stmt)]
    by_position = sorted(
        (n for n in ast_small if isinstance(n, simple)), key=lambda n: (n.lineno, n.col_offset)
    )
    return cst_small, by_position


def test_read_and_write_sets_agree_on_both_trees() -> None:
    # The screens of AM201/AM202 judge dependences on the stdlib ast; a read
    # or write the LibCST side does not see would make them drop a run.
    from asyncmend.codemods.analysis.dependence import accesses
    from asyncmend.codemods.analysis.dependence import ast_accesses

    compared = 0
    for path in SOURCES:
        source, _ = decode(path.read_bytes())
        cst_small, ast_small = _statements(source)
        kinds = (cst.Expr, cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Del, cst.Return, cst.Raise)
        cst_small = [s for s in cst_small if isinstance(s, kinds)]
        assert len(cst_small) == len(ast_small), path
        for mine, theirs in zip(ast_small, cst_small):
            expected = accesses(theirs)
            # LibCST spells the constants None, True and False as names.
            expected = replace(expected, reads=expected.reads - {"None", "True", "False"})
            assert ast_accesses(mine) == expected, (path, ast.unparse(mine))
            compared += 1
    assert compared > 500


def test_screens_reject_only_what_the_rules_reject() -> None:
    # Near misses of each screen: shapes the LibCST analysis refuses too.
    cases = {
        SequentialAwaits: [
            "import asyncio\nasync def f(a):\n    x = await g(a)\n    await h(x)\n",
            "import asyncio\nasync def f(self):\n    await self.a()\n    await self.b()\n",
            "import asyncio\nasync def f(e, q):\n    await e.wait()\n    await q.get()\n",
            "import asyncio\nasync def f():\n    await record_hit()\n    await log_event()\n",
            # Names related by an assignment: one object, or parts of one.
            "import asyncio\nasync def f(conn, q):\n    async with conn.cursor() as cur:\n"
            "        await cur.execute(q)\n        await conn.commit()\n",
            "import asyncio\nasync def f(db, q):\n    cursor = db.cursor()\n    await cursor.execute(q)\n"
            "    await db.commit()\n",
            # Related by spelling, as LibCST relates them, across the module.
            "import asyncio\nasync def a(db):\n    cur = db.cursor()\nasync def b(cur, db, q):\n"
            "    await cur.execute(q)\n    await db.commit()\n",
            # A callee bound in an enclosing function may be a method of anything.
            "import asyncio\ndef test(port):\n    async def client():\n        pass\n    async def main(server):\n"
            "        await server.start_serving()\n        await client()\n    return main\n",
            # Related through a name of the enclosing method (self).
            "import asyncio\nclass E:\n    async def run(self, stack):\n        async def callback():\n"
            "            async with self.db.pipeline() as pipe:\n                r = await pipe.execute()\n"
            "                await self.record(stack)\n                return r\n        return callback\n",
        ],
        MissingAwait: [
            # A local plain function of the same name as an async def elsewhere.
            "import asyncio\ndef a():\n    async def f():\n        pass\n    return f\n"
            "def b():\n    def f():\n        pass\n    f()\n",
            # A module function named like an async method: a bare name never
            # resolves to a method from inside a function.
            "import asyncio\ndef to_list(g):\n    return list(g)\nclass T:\n"
            "    async def to_list(self, g):\n        pass\n    def test(self):\n        to_list(x)\n",
        ],
        CoroutineInSync: [
            # A coroutine awaited (in a comprehension, which the screen
            # reads as plain code), iterated, made in a comprehension, or
            # asked for its __await__: run, or handed on, where it stands.
            "import asyncio\nclass R:\n    async def read(self):\n        pass\n"
            "    async def many(self, n):\n        return [(await self.read()) for _ in range(n)]\n",
            "import asyncio\nclass F:\n    async def wait(self):\n        pass\n"
            "    def __await__(self):\n        return self.wait().__await__()\n",
            "import asyncio\nclass B:\n    async def chunks(self):\n        yield b''\n"
            "    async def read(self):\n        return [c async for c in self.chunks()]\n",
            "import asyncio\nasync def check(x):\n    pass\nasync def main(xs):\n"
            "    await asyncio.gather(*[check(x) for x in xs])\n",
            "import asyncio\nasync def check(x):\n    pass\ndef table(xs):\n"
            "    return {x: check(x) for x in xs}\n",
        ],
        AwaitInLoop: [
            "import asyncio\nasync def f(xs, conn):\n    for x in xs:\n        await conn.run(x)\n",
            "import asyncio\nasync def f(xs):\n    acc = 0\n    for x in xs:\n        acc.append(await g(acc, x))\n",
        ],
    }
    for rule, sources in cases.items():
        for source in sources:
            assert not _findings(source, rule), source
            assert not rule.screen(Facts.of(ast.parse(source)), Settings()), source


# Programs a screen once dropped although its rule reports them.
FOUND_BY_THE_RULE = {
    # A callee bound in an enclosing function: LibCST gives it the receiver
    # "?", which keeps it apart from every other call; the two before it
    # are still a run.
    "closure_callee": (SequentialAwaits, '''\
import asyncio


def outer(f):
    async def inner(x):
        a = await get(x.id)
        b = await put(x.id)
        await f(x)
        return a, b
    return inner
'''),
    # A walrus in a lambda binds in the lambda, not in the coroutine.
    "walrus_in_lambda_run": (SequentialAwaits, '''\
import asyncio


async def main(db):
    cb = lambda: (f := 1)
    a = await db.fetch()
    b = await f()
    return a, b, cb
'''),
    # An async def of the function's own scope, called there without await
    # (in a plain function: AM303's).
    "local_coroutine_function": (CoroutineInSync, '''\
import asyncio


def test():
    async def f():
        pass
    f()
'''),
    # A call in a class body sees the class's own names.
    "class_body_call": (CoroutineInSync, '''\
import asyncio


class C:
    async def m(self):
        pass
    m(None)
'''),
    # A name computed from a module-level object is not related to it.
    "module_level_root": (SequentialAwaits, '''\
import asyncio

pool = make_pool()


async def main(q):
    cur = pool.cursor()
    await cur.execute(q)
    await pool.refresh()
'''),
    "walrus_in_lambda_loop": (AwaitInLoop, '''\
import asyncio

async def f(x):
    pass

async def main(xs):
    cb = lambda: (f := 1)
    for x in xs:
        await f(x)
    return cb
'''),
}


@pytest.mark.parametrize("name", sorted(FOUND_BY_THE_RULE))
def test_screens_pass_what_the_rules_find_in_scoping_corners(name: str) -> None:
    rule, source = FOUND_BY_THE_RULE[name]
    assert _findings(source, rule)
    assert rule.prefilter(source.encode()) and rule.screen(Facts.of(ast.parse(source)), Settings())


def test_the_missing_await_screen_sees_methods_in_blocks_of_the_class_body() -> None:
    from asyncmend.codemods.missing_await import MissingAwait

    source = '''\
import sys

class C:
    if sys.version_info >= (3, 8):
        async def save(self):
            pass

    async def run(self):
        self.save()
'''
    assert _findings(source, MissingAwait)
    assert MissingAwait.screen(Facts.of(ast.parse(source)), Settings())


@pytest.mark.parametrize(
    "data",
    [
        b"# coding: utf-7\nimport +AHQ-ime\nasync def f():\n    +AHQ-ime.sleep(1)\n",
        b"# coding: raw_unicode_escape\nimport \\u0074ime\nasync def f():\n    \\u0074ime.sleep(1)\n",
    ],
    ids=["utf-7", "raw_unicode_escape"],
)
def test_prefilters_read_the_text_of_a_file_whose_bytes_spell_ascii_otherwise(data: bytes) -> None:
    # The literal "time" is not among the bytes of these files, but in their text.
    from asyncmend.codemods import fix_source

    assert [f.code for f in fix_source(data, Settings(apply=frozenset())).findings] == ["AM101"]


@pytest.mark.parametrize("word", [b"await\\b", b"async(?:\\s|\\\\)+def\\b", b"local\\s*\\(", b"import\\s*\\*", b"-x\\b"])
def test_search_word_finds_what_a_leading_word_boundary_would(word: bytes) -> None:
    # search_word stands in for re.search(rb"\b" + pattern) in the prefilters
    # and the cross-file look; every byte around the literal is tried.
    import itertools
    import re

    from asyncmend.codemods.screen.facts import search_word

    pattern = re.compile(word)
    bounded = re.compile(rb"\b" + word)
    literal = {b"await\\b": b"await", b"local\\s*\\(": b"local(", b"import\\s*\\*": b"import *", b"-x\\b": b"-x"}.get(
        word, b"async def"
    )
    neighbours = [b"", b"a", b"_", b"0", b" ", b"\n", b".", b"\xc3\xa9", b"\\", b"-"]
    for before, after, again in itertools.product(neighbours, neighbours, [b"", b" " + literal]):
        data = before + literal + after + again
        expected = bounded.search(data)
        found = search_word(pattern, data)
        assert (found and found.span()) == (expected and expected.span()), data
