"""An import a fix made unused goes; one whose name is still used anywhere stays."""

from __future__ import annotations

import pytest

from asyncmend.codemods import Settings, fix_source

CASES = {
    # One alias of several goes, the others and the line stay.
    "import os, time\n\nasync def f():\n    time.sleep(1)\n    return os.sep\n":
        "import os\n",
    "from time import sleep, monotonic\n\nasync def f():\n    sleep(1)\n    return monotonic()\n":
        "from time import monotonic\n",
    # A parenthesised list keeps its trailing comma.
    "from time import (\n    monotonic,\n    sleep,\n)\n\nasync def f():\n    sleep(1)\n    return monotonic()\n":
        "from time import (\n    monotonic,\n)\n",
}

KEPT = {
    # Named in __all__: a re-export.
    "__all__": "from time import sleep\n\n__all__ = ['sleep']\n\nasync def f():\n    sleep(1)\n",
    # The same name as a local elsewhere: kept (an unused import is harmless,
    # a used one removed is a NameError).
    "local elsewhere": "import time\n\ndef g():\n    time = 3\n    return time\n\nasync def f():\n    time.sleep(1)\n",
    "still used": "import time\n\nasync def f():\n    time.sleep(1)\n    return time.monotonic()\n",
    # Named in a string annotation, which typing.get_type_hints evaluates.
    "string annotation": 'import time\n\n\nasync def pause() -> "time.struct_time":\n    time.sleep(1)\n',
    "string variable annotation": 'import time\n\nasync def f():\n    t: "list[time.struct_time]" = []\n    time.sleep(1)\n',
}


@pytest.mark.parametrize("source", sorted(CASES))
def test_the_alias_the_fix_made_unused_goes_and_the_rest_stays(source: str) -> None:
    output = fix_source(source, Settings()).output.decode()
    assert output.startswith(CASES[source]), output
    assert "await asyncio.sleep(1)" in output
    compile(output, "<fixed>", "exec")


@pytest.mark.parametrize("name", sorted(KEPT))
def test_an_import_whose_name_is_still_used_anywhere_stays(name: str) -> None:
    source = KEPT[name]
    output = fix_source(source, Settings()).output.decode()
    assert "await asyncio.sleep(1)" in output
    first_import = source.splitlines()[0]
    assert first_import in output.splitlines(), output


# -- adding: the same placement as LibCST's AddImportsVisitor -----------------

import libcst as cst  # noqa: E402
from libcst.codemod import CodemodContext  # noqa: E402
from libcst.codemod.visitors import AddImportsVisitor  # noqa: E402

from asyncmend.codemods.cst.imports import add_needed_imports as _add_needed_imports  # noqa: E402


class _LibCSTAdder(AddImportsVisitor):
    """LibCST's adder with the one change asyncmend makes on purpose: the
    empty line after the block only for a module that had no import."""

    _fresh_block = False

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        self._fresh_block = not any(
            isinstance(statement, cst.SimpleStatementLine)
            and any(isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body)
            for statement in updated_node.body
        )
        return super().leave_Module(original_node, updated_node)

    def _insert_empty_line(self, statements: list) -> list:  # type: ignore[override]
        return super()._insert_empty_line(statements) if self._fresh_block else statements


MODULES = [
    "",
    "x = 1\n",
    '"""Doc."""\n',
    '"""Doc."""\nx = 1\n',
    '"""Doc."""\n\nimport os\n\nx = 1\n',
    "import os\nimport sys\n\nx = 1\n",
    "# comment\nx = 1\n",
    "from __future__ import annotations\n\nimport os\n",
    "import os\nx = 1\nimport sys\n",
    "from myapp.tasks import other\n\nx = 1\n",
    "from myapp.tasks import *\n",
    "import asyncio as aio\n",
    "import os, sys\n\ndef f():\n    pass\n",
    "__strict__ = True\nimport os\n",
    "if True:\n    import os\n",
    "import os\r\n\r\nx = 1\r\n",
    '"""Doc."""; x = 1\n',
]
REQUESTS = [
    [("asyncio", None)],
    [("asyncio", None), ("contextvars", None)],
    [("myapp.tasks", "spawn")],
    [("asyncio", None), ("myapp.tasks", "spawn")],
    [("os", None)],
    [("zmod", "a"), ("amod", "b")],
]


@pytest.mark.parametrize("source", MODULES)
@pytest.mark.parametrize("requests", REQUESTS, ids=str)
def test_new_imports_go_where_libcst_puts_them(source: str, requests: list[tuple[str, str | None]]) -> None:
    module = cst.parse_module(source)
    context = CodemodContext()
    for name, obj in requests:
        AddImportsVisitor.add_needed_import(context, name, obj)
    items = context.scratch[AddImportsVisitor.CONTEXT_KEY]
    expected = _LibCSTAdder(context).transform_module(module).code
    assert _add_needed_imports(module, items).code == expected


def test_a_future_import_sharing_its_line_stays_first_and_loses_no_semicolon() -> None:
    source = "from __future__ import annotations; import time\n\nasync def f():\n    time.sleep(1)\n"
    output = fix_source(source, Settings()).output.decode()
    assert output.startswith("from __future__ import annotations\nimport asyncio\n"), output
    compile(output, "<fixed>", "exec")


def test_an_import_another_file_reaches_stays_though_unused_here() -> None:
    import libcst as cst

    from asyncmend.codemods.cst.imports import remove_unused_imports

    tree = cst.parse_module("import threading\nimport time\n\nx = 1\n")
    requests = [("time", None, None), ("threading", None, None)]
    assert remove_unused_imports(tree, requests).code == "x = 1\n"
    # ``retry.time.monotonic()`` elsewhere: the module's ``time`` stays.
    assert remove_unused_imports(tree, requests, keep=frozenset({"time"})).code == "import time\n\nx = 1\n"
