"""Adding and removing imports, once per file after every rule has had its say."""

from __future__ import annotations

import ast
import re
import sys
import warnings
from typing import Any, Sequence

import libcst as cst
from libcst.helpers import get_full_name_for_node

from .traversal import children


def _is_import_line(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], (cst.Import, cst.ImportFrom))
    )


def _import_of(statement: cst.BaseStatement) -> cst.Import | cst.ImportFrom:
    """The import of a line :func:`_is_import_line` accepted."""
    assert isinstance(statement, cst.SimpleStatementLine)
    small = statement.body[0]
    assert isinstance(small, (cst.Import, cst.ImportFrom))
    return small


def _skips_first(module: cst.Module) -> bool:
    """A docstring or ``__strict__`` flag first, which no import goes before."""
    first_line = module.body[0] if module.body else None
    if not isinstance(first_line, cst.SimpleStatementLine) or len(first_line.body) != 1:
        return False
    first = first_line.body[0]
    if isinstance(first, cst.Expr):
        return isinstance(first.value, cst.SimpleString)
    return (
        isinstance(first, cst.Assign)
        and len(first.targets) == 1
        and isinstance(first.targets[0].target, cst.Name)
        and first.targets[0].target.value == "__strict__"
    )


def add_needed_imports(module: cst.Module, items: Sequence[Any]) -> cst.Module:
    """The imports the rules asked for (``AddImportsVisitor.add_needed_import``),
    placed as LibCST's AddImportsVisitor places them, without its two walks of
    the whole module (seven seconds of a ten-second fix on a 9,000-line file).

    Looked at, as there: the first block of import lines, after a docstring.
    A module already imported there is not imported again; names from a
    module imported there with ``from`` join that line. The rest follows the
    block: ``import m`` lines, sorted, then ``from m import a, b`` lines. The
    empty line LibCST puts after the block is added only to a module that had
    no import at all: in an existing block it would rewrite lines no rule
    touched.
    """
    body = list(module.body)
    start = 1 if _skips_first(module) else 0
    end = start
    while end < len(body) and _is_import_line(body[end]):
        end += 1
    block_end = end
    # A ``from __future__`` import must come first, also one that shares its
    # line with another statement (which the block above does not count).
    for index, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine) and any(
            isinstance(small, cst.ImportFrom)
            and small.module is not None
            and get_full_name_for_node(small.module) == "__future__"
            for small in statement.body
        ):
            end = max(end, index + 1)
    have_modules: set[str] = set()
    have_objects: dict[str, set[str]] = {}
    for statement in body[start:block_end]:
        small = _import_of(statement)
        if isinstance(small, cst.Import):
            have_modules.update(get_full_name_for_node(a.name) or "" for a in small.names if a.asname is None)
        elif not small.relative and small.module is not None:
            name = get_full_name_for_node(small.module) or ""
            if isinstance(small.names, cst.ImportStar):
                have_objects.setdefault(name, set()).add("*")
            else:
                have_objects.setdefault(name, set()).update(
                    a.evaluated_name for a in small.names if a.asname is None
                )
    modules: set[str] = set()
    objects: dict[str, set[str]] = {}
    for item in items:
        if item.relative or item.alias is not None or item.module_name == "__future__":
            raise ValueError(f"unsupported import request: {item!r}")
        if item.obj_name is None:
            if item.module_name not in have_modules:
                modules.add(item.module_name)
        elif not {"*", item.obj_name} & have_objects.get(item.module_name, set()):
            objects.setdefault(item.module_name, set()).add(item.obj_name)
    if not modules and not objects:
        return module
    # Names from a module already imported with ``from`` join its line.
    for index in range(start, block_end):
        small = _import_of(body[index])
        if not isinstance(small, cst.ImportFrom) or small.relative or small.module is None:
            continue
        if isinstance(small.names, cst.ImportStar):
            continue
        name = get_full_name_for_node(small.module) or ""
        if name in objects:
            added = [cst.ImportAlias(name=cst.Name(obj)) for obj in sorted(objects.pop(name))]
            body[index] = body[index].with_changes(body=[small.with_changes(names=[*added, *small.names])])
    config = module.config_for_parsing
    new = [cst.parse_statement(f"import {name}", config=config) for name in sorted(modules)]
    new += [
        cst.parse_statement(f"from {name} import {', '.join(sorted(names))}", config=config)
        for name, names in sorted(objects.items())
    ]
    after = body[end:]
    fresh = not any(
        isinstance(statement, cst.SimpleStatementLine)
        and any(isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body)
        for statement in body
    )
    if fresh and after:
        first = after[0]
        if not first.leading_lines:
            after[0] = first.with_changes(leading_lines=(cst.EmptyLine(),))
        elif first.leading_lines[0].comment is not None:
            after[0] = first.with_changes(leading_lines=(cst.EmptyLine(), *first.leading_lines))
    return module.with_changes(body=[*body[:end], *new, *after])


# Standard-library modules, to find where the file keeps them (3.10+ knows).
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) or frozenset(
    {"asyncio", "contextvars", "functools", "logging", "os", "re", "sys", "threading", "time", "typing"}
)


def _plain_import(statement: cst.BaseStatement) -> str | None:
    """``x.y`` for a line that is exactly ``import x.y``."""
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Import) and len(small.names) == 1 and small.names[0].asname is None:
            return get_full_name_for_node(small.names[0].name)
    return None


def place_new_imports(before: cst.Module, after: cst.Module) -> cst.Module:
    """Move each ``import x`` of the standard library that the import adder
    put after the file's last import into alphabetical place among the
    file's own ``import`` lines of the standard library (``import asyncio``,
    ``import contextvars``), where isort and ruff would have it. A file with
    no such line keeps the adder's placement."""
    existing = {name for name in map(_plain_import, before.body) if name is not None}
    body = list(after.body)
    for statement in list(body):
        name = _plain_import(statement)
        if name is None or name in existing or name.split(".")[0] not in _STDLIB:
            continue
        index = body.index(statement)
        anchors: list[tuple[int, str]] = []
        for i, other in enumerate(body[:index]):
            other_name = _plain_import(other)
            if other_name is not None and other_name in existing and other_name.split(".")[0] in _STDLIB:
                anchors.append((i, other_name))
        if not anchors:
            continue
        earlier = [i for i, other_name in anchors if other_name < name]
        target = earlier[-1] + 1 if earlier else anchors[0][0]
        if target == index:
            continue
        moved = body.pop(index)
        assert isinstance(moved, cst.SimpleStatementLine)
        if target < len(body) and target == anchors[0][0] and not earlier:
            # Before the first one: take over its leading lines.
            first = body[target]
            moved = moved.with_changes(leading_lines=first.leading_lines)
            body[target] = first.with_changes(leading_lines=[])
        else:
            moved = moved.with_changes(leading_lines=[])
        body.insert(target, moved)
    return after.with_changes(body=body)


# (module, imported object or None, alias or None), as RemoveImportsVisitor takes them.
_Removal = tuple[str, "str | None", "str | None"]


def remove_unused_imports(
    tree: cst.Module, requests: Sequence[_Removal], keep: frozenset[str] = frozenset()
) -> cst.Module:
    """Drop each import a rule asked to drop, once nothing names what it binds.

    ``keep`` names what another file reaches through this module
    (``retry.time.monotonic()``, ``from retry import time``,
    ``mock.patch("retry.time.sleep")``; see
    :func:`codemods.model.crossfile.imported_elsewhere`): an import that
    binds one of those stays, used here or not.

    LibCST's RemoveImportsVisitor decides per scope with its full scope and
    qualified-name analysis: over a few seconds on a 4,000-line file. Here
    the rewritten module is read with the stdlib ``ast``, and an import goes
    only when its name appears nowhere: as no name in any scope, in no
    ``global`` or ``nonlocal``, in no string (``__all__``, ``getattr``, or
    before a dot: ``eval("time.monotonic()")``), in no ``# type:`` comment,
    and the import carries no ``# noqa`` (kept on purpose: a re-export). A
    name still used anywhere keeps every import of it; an unused import
    left behind is harmless, a used one removed is a ``NameError``.
    """
    named: set[str] = set(keep)
    # (Generated once: a module's code is made anew at each ask.)
    code = tree.code
    try:
        with warnings.catch_warnings():
            # The user's own invalid escapes and such are not our business.
            warnings.simplefilter("ignore")
            rewritten = ast.parse(code)
    except (SyntaxError, ValueError):
        # Syntax newer than this interpreter (or a fix that will not
        # compile, which the check after it reports): LibCST names the uses.
        named = _named_by_libcst(tree)
        unused = {
            (module, obj, alias or (obj if obj is not None else module.split(".")[0]))
            for module, obj, alias in requests
            if (alias or (obj if obj is not None else module.split(".")[0])) not in named
        }
        return tree.visit(_DropImports(unused)) if unused else tree
    annotations: list[ast.expr] = []
    lines = code.splitlines()
    # A type comment (``# type: (time.struct_time) -> float``) names what it
    # holds for type checkers; scanned as text, which may also find one in a
    # string: that keeps an import, which is harmless.
    for comment in _TYPE_COMMENT.findall(code):
        named.update(_WORD.findall(comment))
    for node in ast.walk(rewritten):
        if isinstance(node, ast.Name):
            named.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            named.update(node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            named.add(node.value)
            named.update(_BEFORE_DOT.findall(node.value))
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and _marked_noqa(lines, node):
            named.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.arg) and node.annotation is not None:
            annotations.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
    # A string annotation ("time.struct_time") names what it holds, for
    # typing.get_type_hints: every word of it counts as a use.
    for annotation in annotations:
        for node in ast.walk(annotation):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                named.update(_WORD.findall(node.value))
    unused = set()
    for module, obj, alias in requests:
        bound = alias or (obj if obj is not None else module.split(".")[0])
        if bound not in named:
            unused.add((module, obj, bound))
    if not unused:
        return tree
    return tree.visit(_DropImports(unused))


def _named_by_libcst(tree: cst.Module) -> set[str]:
    """What :func:`remove_unused_imports` reads from the ``ast``, read from
    the LibCST tree instead, a little more broadly: every name, every word of
    every string (a string annotation, ``__all__``, ``eval``), every word of a
    ``# type:`` comment and of an import line marked ``# noqa``."""
    named: set[str] = set()
    code = tree.code
    for comment in _TYPE_COMMENT.findall(code):
        named.update(_WORD.findall(comment))
    for line in code.splitlines():
        if "import" in line and "noqa" in line.lower():
            named.update(_WORD.findall(line))

    class Names(cst.CSTVisitor):
        # What an import binds is no use of it.
        def visit_Import(self, node: cst.Import) -> bool:
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Name(self, node: cst.Name) -> None:
            named.add(node.value)

        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            named.update(_WORD.findall(node.value))

        def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
            named.update(_WORD.findall(node.value))

    tree.visit(Names())
    return named


_WORD = re.compile(r"[^\W\d]\w*")
_BEFORE_DOT = re.compile(r"\b([^\W\d]\w*)\.")
_TYPE_COMMENT = re.compile(r"#\s*type:([^\n]*)")


def _marked_noqa(lines: list[str], node: ast.stmt) -> bool:
    """Whether a line of the import statement ``node`` carries ``# noqa``."""
    last = node.end_lineno or node.lineno
    return any("#" in line and "noqa" in line.lower() for line in lines[node.lineno - 1 : last])


# What holds a sequence of statements lines, each with its leading lines.
_Block = Any  # cst.Module | cst.IndentedBlock: both have ``body`` and ``footer``


class _DropImports(cst.CSTTransformer):
    """Remove the aliases ``(module, object or None, bound name)`` from every
    import statement; a statement left with none goes.

    A removed import takes only its own line: the comment lines above it
    (a licence tag, a region marker, a note on the code below) are not the
    import's, and pass to the statement that follows it.
    """

    def __init__(self, unused: set[tuple[str, str | None, str]]) -> None:
        super().__init__()
        self.unused = unused
        self._first: cst.CSTNode | None = None
        self._first_removed = False
        # The leading lines of each removed line that hold a comment, by the
        # identity of the original line.
        self._orphaned: dict[int, Sequence[cst.EmptyLine]] = {}

    def visit_Module(self, node: cst.Module) -> None:
        self._first = node.body[0] if node.body else None

    def _keep(self, module: str, obj: str | None, alias: cst.ImportAlias) -> bool:
        bound = alias.evaluated_alias or (obj if obj is not None else module.split(".")[0])
        return (module, obj, bound) not in self.unused

    def leave_Import(
        self, original_node: cst.Import, updated_node: cst.Import
    ) -> cst.Import | cst.RemovalSentinel:
        names = [a for a in updated_node.names if self._keep(a.evaluated_name, None, a)]
        return self._with(updated_node, names)

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom | cst.RemovalSentinel:
        if updated_node.relative or updated_node.module is None or isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        module = get_full_name_for_node(updated_node.module) or ""
        names = [a for a in updated_node.names if self._keep(module, a.evaluated_name, a)]
        return self._with(updated_node, names)

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        return self._keep_comments(original_node, updated_node)

    def _keep_comments(self, original_node: _Block, updated_node: _Block) -> _Block:
        """``updated_node`` with the comment lines of its removed import lines
        on the statement after each (or in the block's footer, after the last)."""
        if not self._orphaned:
            return updated_node
        body = list(updated_node.body)
        carried: list[cst.EmptyLine] = []
        index = 0
        for statement in original_node.body:
            lines = self._orphaned.pop(id(statement), None)
            if lines is not None:
                carried.extend(lines)
                continue
            if carried and index < len(body):
                body[index] = body[index].with_changes(leading_lines=[*carried, *body[index].leading_lines])
                carried = []
            index += 1
        if not carried and body == list(updated_node.body):
            return updated_node
        return updated_node.with_changes(body=body, footer=[*carried, *updated_node.footer])

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        updated_node = self._keep_comments(original_node, updated_node)
        # The first statement gone (``import threading`` on line 1): the blank
        # lines that parted it from the next one would open the file.
        if not self._first_removed or not updated_node.body:
            return updated_node
        if updated_node.header and updated_node.header[-1].comment is not None:
            return updated_node
        first = updated_node.body[0]
        lines = list(first.leading_lines)
        while lines and lines[0].comment is None:
            del lines[0]
        if len(lines) == len(first.leading_lines):
            return updated_node
        return updated_node.with_changes(
            body=[first.with_changes(leading_lines=lines), *updated_node.body[1:]]
        )

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        if not updated_node.body:
            if self._first is original_node:
                self._first_removed = True
            if any(line.comment is not None for line in original_node.leading_lines):
                self._orphaned[id(original_node)] = original_node.leading_lines
        # ``a; import time`` without the import: no semicolon left dangling.
        if updated_node.body and len(updated_node.body) < len(original_node.body):
            last = updated_node.body[-1]
            if not isinstance(last.semicolon, cst.MaybeSentinel):
                body = [*updated_node.body[:-1], last.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)]
                return updated_node.with_changes(body=body)
        return updated_node

    @staticmethod
    def _with(node: cst.Import | cst.ImportFrom, names: list[cst.ImportAlias]) -> Any:
        assert not isinstance(node.names, cst.ImportStar)
        if len(names) == len(node.names):
            return node
        if not names:
            return cst.RemoveFromParent()
        # The new last alias takes the comma (or none) of the old last one.
        names[-1] = names[-1].with_changes(comma=node.names[-1].comma)  # type: ignore[index]
        return node.with_changes(names=names)


def insert_after_imports(module: cst.Module, text: str) -> cst.Module:
    """``module`` with the statements of ``text`` (a helper a rule adds:
    a comment, a module-level name, a def) after its docstring and leading
    imports, two blank lines around them as around any def."""
    # A leading statement keeps the helper's comment out of the module header.
    helper = list(cst.parse_module("pass\n\n\n" + text).body[1:])
    body = list(module.body)
    index = _after_imports(body)
    first = helper[0]
    blank = [cst.EmptyLine()] * 2 if index else []
    helper[0] = first.with_changes(
        leading_lines=[*blank, *[line for line in first.leading_lines if line.comment is not None]]
    )
    if index < len(body):
        # Two blank lines after the helper's def, as after any def.
        following = body[index]
        blank_before = 0
        for line in following.leading_lines:
            if line.comment is not None:
                break
            blank_before += 1
        if blank_before < 2:
            body[index] = following.with_changes(
                leading_lines=[*[cst.EmptyLine()] * (2 - blank_before), *following.leading_lines]
            )
    return module.with_changes(body=[*body[:index], *helper, *body[index:]])


def _after_imports(body: list[cst.BaseStatement]) -> int:
    """The index just past the module's docstring and leading imports,
    counting the ``try``/``except ImportError`` and ``if TYPE_CHECKING:``
    blocks of imports among them (the helper after them would push their
    imports below code, which linters flag as E402)."""
    index = 0
    for i, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine):
            if all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body):
                index = i + 1
                continue
            if i == 0 and len(statement.body) == 1 and isinstance(statement.body[0], cst.Expr) and isinstance(
                statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString)
            ):
                index = 1
                continue
        elif isinstance(statement, (cst.Try, cst.If)) and _import_block(statement):
            index = i + 1
            continue
        break
    return index


def _import_block(statement: cst.Try | cst.If) -> bool:
    """Whether a compound statement holds imports and nothing but imports,
    ``pass`` and plain assignments (``HAS_UJSON = False``)."""
    found = False
    stack: list[cst.CSTNode] = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.BaseSmallStatement):
            if isinstance(node, (cst.Import, cst.ImportFrom)):
                found = True
            elif not isinstance(node, (cst.Pass, cst.Assign, cst.AnnAssign)):
                return False
        elif isinstance(node, cst.BaseCompoundStatement) and not isinstance(node, (cst.Try, cst.If)):
            return False
        else:
            stack.extend(children(node))
    return found
