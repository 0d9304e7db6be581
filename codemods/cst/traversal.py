"""Walking LibCST trees fast: children, read-only walks and transforms that
make the same calls as LibCST's own at a fraction of the cost, and a few
questions about nodes every rule asks."""

from __future__ import annotations

import ast
import inspect
import linecache
import textwrap
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

import libcst as cst

from ..analysis.names import FRAME_READERS


def attribute_hook(cls: type, name: str) -> tuple[str, type, str] | None:
    """(``visit`` or ``leave``, node type, attribute) when ``name`` is a
    ``visit_<Node>_<attribute>`` or ``leave_<Node>_<attribute>`` method of
    ``cls`` of its own, not one of LibCST's typed no-ops."""
    kind, _, rest = name.partition("_")
    node_name, _, attribute = rest.partition("_")
    node_type = getattr(cst, node_name, None)
    if kind not in ("visit", "leave") or not attribute or not isinstance(node_type, type):
        return None
    if not issubclass(node_type, cst.CSTNode) or getattr(cls, name) is getattr(cst.CSTVisitor, name, None):
        return None  # not a node, or LibCST's typed no-op (the same for visitors and transformers)
    return kind, node_type, attribute


def has_attribute_hooks(cls: type) -> bool:
    """Whether ``cls`` has a ``visit_<Node>_<attribute>`` or
    ``leave_<Node>_<attribute>`` method of its own."""
    return any(attribute_hook(cls, name) for name in dir(cls))


class AttributeHooksByTable:
    """A mixin for LibCST visitors: ``visit_<Node>_<attribute>`` hooks found
    through a table made once per class.

    LibCST builds the name of a possible attribute hook and looks it up for
    every attribute of every node, whether the visitor has any or not: a
    tenth of a traversal. With this mixin (before the LibCST base class), a
    visitor without such hooks pays one dictionary miss per attribute.
    """

    _visit_hooks: dict[tuple[type, str], str] = {}
    _leave_hooks: dict[tuple[type, str], str] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls._visit_hooks, cls._leave_hooks = {}, {}
        for name in dir(cls):
            hook = attribute_hook(cls, name)
            if hook is not None:
                kind, node_type, attribute = hook
                table = cls._visit_hooks if kind == "visit" else cls._leave_hooks
                table[(node_type, attribute)] = name

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        name = self._visit_hooks.get((type(node), attribute))
        if name is not None:
            getattr(self, name)(node)

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        name = self._leave_hooks.get((type(original_node), attribute))
        if name is not None:
            getattr(self, name)(original_node)


# -- children -------------------------------------------------------------------

# Per node type, the fields that hold child nodes, in the order LibCST visits
# them (which is the order of the source).
_CHILD_FIELDS: dict[type[cst.CSTNode], tuple[str, ...] | None] = {}
_HOOKED_WHEN_ABSENT: dict[type[cst.CSTNode], frozenset[str]] = {}
# Per node type and field, the visit helpers LibCST calls for it: what a
# child's removal means there (None, MaybeSentinel, an error, a shorter tuple).
_FIELD_HELPERS: dict[type[cst.CSTNode], dict[str, frozenset[str]]] = {}
_VISIT_HELPERS = frozenset(
    {
        "visit_required", "visit_optional", "visit_sentinel", "visit_sequence",
        "visit_iterable", "visit_body_sequence", "visit_body_iterable",
    }
)


def _child_fields(node_type: type[cst.CSTNode]) -> tuple[str, ...] | None:
    """The fields ``node_type._visit_and_replace_children`` visits, read
    from its source: each is a call ``visit_*(self, "field", ...)``. ``None``
    when the source cannot be read (``children`` is then used)."""
    if node_type in _CHILD_FIELDS:
        return _CHILD_FIELDS[node_type]
    fields: tuple[str, ...] | None
    try:
        tree = ast.parse(textwrap.dedent(_source_of(node_type._visit_and_replace_children)))
        if not _understood(tree, node_type):
            raise TypeError  # a LibCST newer than this reading: LibCST visits it
        calls = sorted(
            ((call.lineno, call.col_offset), call.args[1].value, call.func.id)
            for call in ast.walk(tree)
            if isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id in _VISIT_HELPERS
            and len(call.args) > 1
            and isinstance(call.args[1], ast.Constant)
        )
        # A field visited in two branches (ImportFrom's names) counts once.
        fields = tuple(dict.fromkeys(name for _, name, _ in calls))
        helpers: dict[str, set[str]] = {}
        for _, name, helper in calls:
            helpers.setdefault(name, set()).add(helper)
        _FIELD_HELPERS[node_type] = {name: frozenset(found) for name, found in helpers.items()}
        # An absent value (None, MaybeSentinel) still gets its attribute
        # hooks from these helpers; a sequence helper is not called for it.
        _HOOKED_WHEN_ABSENT[node_type] = frozenset(
            name for name, found in helpers.items() if found & {"visit_optional", "visit_sentinel"}
        )
    except (OSError, TypeError, SyntaxError):
        fields = None
    _CHILD_FIELDS[node_type] = fields
    return fields


def _source_of(function: Callable[..., object]) -> str:
    """The source of ``function``, as ``inspect.getsource`` gives it: the
    lines from its ``def`` to the last its code spans (inspect finds that
    end by tokenizing the file from the ``def`` on, two thirds of the time
    the LibCST stage of a small run spends reading these tables)."""
    code = function.__code__  # type: ignore[attr-defined]
    positions = getattr(code, "co_positions", None)
    lines = linecache.getlines(code.co_filename)
    if positions is None or not lines:
        return inspect.getsource(function)
    last = max((end for _, end, _, _ in positions() if end is not None), default=code.co_firstlineno)
    return "".join(lines[code.co_firstlineno - 1 : last])


def _understood(tree: ast.Module, node_type: type) -> bool:
    """Whether a ``_visit_and_replace_children`` does nothing but call the
    visit helpers with constant field names and build the node: the calls of
    LibCST 1.x. Any other call (a helper of a later version) means its fields
    cannot be read from it."""
    known = {*_VISIT_HELPERS, node_type.__name__, "isinstance", "tuple", "list"}
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        if isinstance(func, ast.Attribute):
            if ast.unparse(func) != "self.__class__":
                return False
        elif not isinstance(func, ast.Name) or func.id not in known:
            return False
        elif func.id in _VISIT_HELPERS and (len(call.args) < 2 or not isinstance(call.args[1], ast.Constant)):
            return False
    return True


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """``node.children``, without its cost.

    LibCST's ``children`` runs the node's whole visit machinery and builds a
    copy of the node to collect them; a walk over a module through it costs
    several parses. This reads the same fields in the same order (a test
    checks both agree on every node of the fixtures).
    """
    fields = _child_fields(type(node))
    if fields is None:
        return list(node.children)
    found: list[cst.CSTNode] = []
    for name in fields:
        value = getattr(node, name)
        kind = _KINDS.get(type(value)) or _kind(type(value))
        if kind is _NODE:
            found.append(value)
        elif kind is _SEQUENCE:
            found.extend(item for item in value if (_KINDS.get(type(item)) or _kind(type(item))) is _NODE)
    return found


def descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``node`` and every node under it (through :func:`children`)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(children(current))


def reads_frame(node: cst.CSTNode) -> bool:
    """Whether ``node`` calls ``locals()``, ``vars()``, ``eval`` or ``exec``."""
    return any(
        isinstance(n, cst.Call) and isinstance(n.func, cst.Name) and n.func.value in FRAME_READERS
        for n in descendants(node)
    )


def in_self_documenting_fstring(node: cst.CSTNode, parents: Mapping[cst.CSTNode, cst.CSTNode]) -> bool:
    """Whether ``node`` is inside ``f"{...=}"``, within its statement: a
    rewrite of it would change the text the f-string prints."""
    parent = parents.get(node)
    while parent is not None and not isinstance(parent, cst.BaseStatement):
        if is_self_documenting(parent):
            return True
        parent = parents.get(parent)
    return False


def is_self_documenting(node: cst.CSTNode) -> bool:
    """Whether ``node`` is the ``{...=}`` of an f-string, which prints the
    text of its expression (for a visitor that meets it on the way down,
    with no map of parents: see :func:`in_self_documenting_fstring`)."""
    return isinstance(node, cst.FormattedStringExpression) and node.equal is not None


# What a field's value is, by its type: isinstance against CSTNode (an ABC)
# is a slow check, made for every field of every node of a walk.
_NODE, _SEQUENCE, _OTHER = "node", "sequence", "other"
_KINDS: dict[type, str] = {}


def _kind(value_type: type) -> str:
    kind = _NODE if issubclass(value_type, cst.CSTNode) else _SEQUENCE if issubclass(value_type, (tuple, list)) else _OTHER
    _KINDS[value_type] = kind
    return kind


# -- a walk for visitors that only read ------------------------------------------

# Per visitor class: how a walk calls it (see Dispatch).
_DISPATCH: dict[type[cst.CSTVisitor], Dispatch] = {}


@dataclass
class Dispatch:
    """How :func:`walk` calls one visitor class: its ``on_visit`` /
    ``on_leave`` when the class has its own, otherwise the ``visit_<Node>`` /
    ``leave_<Node>`` function per node type, looked up once; attribute hooks
    only when the class has some."""

    own_visit: bool
    own_leave: bool
    attributes: bool
    # The node types with attribute hooks, when the class finds its hooks
    # through AttributeHooksByTable (None: any node type may have some).
    attribute_types: frozenset[type] | None
    visits: dict[type, Callable[..., object] | None] = field(default_factory=dict)
    leaves: dict[type, Callable[..., object] | None] = field(default_factory=dict)

    @classmethod
    def of(cls, visitor_type: type[cst.CSTVisitor]) -> Dispatch:
        known = _DISPATCH.get(visitor_type)
        if known is None:
            attribute_types: frozenset[type] | None = None
            if issubclass(visitor_type, AttributeHooksByTable) and (
                visitor_type.on_visit_attribute is AttributeHooksByTable.on_visit_attribute
                and visitor_type.on_leave_attribute is AttributeHooksByTable.on_leave_attribute
            ):
                attribute_types = frozenset(
                    node_type for node_type, _ in (*visitor_type._visit_hooks, *visitor_type._leave_hooks)
                )
                attributes = bool(attribute_types)
            else:
                attributes = visitor_type.on_visit_attribute is not cst.CSTVisitor.on_visit_attribute or (
                    has_attribute_hooks(visitor_type)
                )
            known = _DISPATCH[visitor_type] = cls(
                own_visit=visitor_type.on_visit is not cst.CSTVisitor.on_visit,
                own_leave=visitor_type.on_leave is not cst.CSTVisitor.on_leave,
                attributes=attributes,
                attribute_types=attribute_types,
            )
        return known

    def hook(self, table: dict[type, Callable[..., object] | None], visitor_type: type, kind: str,
             node_type: type) -> Callable[..., object] | None:
        if node_type not in table:
            found = getattr(visitor_type, f"{kind}_{node_type.__name__}", None)
            # LibCST's typed base classes define every hook as a no-op.
            table[node_type] = None if found is getattr(cst.CSTVisitor, f"{kind}_{node_type.__name__}", None) else found
        return table[node_type]


def walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """``node.visit(visitor)`` for a visitor that only reads, at a fraction
    of the cost.

    LibCST visits a ``CSTVisitor`` as it runs a transformer: each node is
    rebuilt from its visited children (a constructor and a validation per
    node), and every hook is found by building its name. Here the children
    are read from the fields LibCST visits, in its order, with the same
    calls: ``on_visit`` (children skipped when it returns ``False``), the
    attribute hooks around each field when the visitor has any, ``on_leave``.
    A test walks every fixture with both and compares the calls.
    """
    visitor_type = type(visitor)
    dispatch = Dispatch.of(visitor_type)
    visits, leaves = dispatch.visits, dispatch.leaves
    own_visit, own_leave, hooked_types = dispatch.own_visit, dispatch.own_leave, dispatch.attribute_types
    any_attributes = dispatch.attributes
    hook = dispatch.hook

    def visit(node: cst.CSTNode) -> None:
        node_type = type(node)
        fields = _CHILD_FIELDS[node_type] if node_type in _CHILD_FIELDS else _child_fields(node_type)
        if fields is None:
            node.visit(visitor)  # fields not known: LibCST's own way, for this subtree
            return
        if own_visit:
            descend = visitor.on_visit(node)
        else:
            function = visits[node_type] if node_type in visits else hook(visits, visitor_type, "visit", node_type)
            descend = function is None or function(visitor, node) is not False
        if descend:
            # Attribute hooks only for the node types that have some.
            attributes = any_attributes and (hooked_types is None or node_type in hooked_types)
            for name in fields:
                value = getattr(node, name)
                kind = _KINDS.get(type(value)) or _kind(type(value))
                if kind is _NODE:
                    if attributes:
                        visitor.on_visit_attribute(node, name)
                    visit(value)
                elif kind is _SEQUENCE:
                    if attributes:
                        visitor.on_visit_attribute(node, name)
                    for item in value:
                        visit(item)
                elif not attributes or name not in _HOOKED_WHEN_ABSENT[node_type]:
                    continue
                else:
                    visitor.on_visit_attribute(node, name)
                if attributes:
                    visitor.on_leave_attribute(node, name)
        if own_leave:
            visitor.on_leave(node)
        else:
            function = leaves[node_type] if node_type in leaves else hook(leaves, visitor_type, "leave", node_type)
            if function is not None:
                function(visitor, node)

    try:
        visit(node)
    finally:
        # The nested function refers to itself through its closure: a cycle
        # that would keep the visitor (and all it holds of the tree) alive
        # until the cyclic collector runs.
        visit = None  # type: ignore[assignment]


def transform(module: cst.Module, transformer: cst.CSTTransformer) -> cst.Module:
    """``module.visit(transformer)``, rebuilding only the nodes whose
    children changed.

    LibCST rebuilds every node of the tree on a transformer's way back up,
    changed or not (a constructor and a validation per node: a third of a
    traversal). Here a node is rebuilt (``with_changes``, the same
    constructor) only when one of its children came back different, so
    ``leave_*`` receives the original node itself as ``updated_node`` where
    nothing below it changed. Everything else is as in LibCST: the same
    calls in the same order, and a child's removal or replacement by a
    sequence means what LibCST's visit helpers make of it for that field.
    """
    on_visit, on_leave = transformer.on_visit, transformer.on_leave
    on_visit_attribute, on_leave_attribute = transformer.on_visit_attribute, transformer.on_leave_attribute
    # A transformer may say that it has no attribute hooks (the batched
    # rules, when none of the rules has one): their calls are skipped.
    attributes = getattr(transformer, "attribute_hooks", True)
    removal_class, flatten_class = cst.RemovalSentinel, cst.FlattenSentinel

    def visit(node: cst.CSTNode) -> object:
        node_type = type(node)
        fields = _CHILD_FIELDS[node_type] if node_type in _CHILD_FIELDS else _child_fields(node_type)
        if fields is None:
            return node.visit(transformer)  # fields not known: LibCST's own way
        updated = node
        if on_visit(node):
            changes: dict[str, object] | None = None
            helpers = _FIELD_HELPERS[node_type]
            for name in fields:
                value = getattr(node, name)
                kind = _KINDS.get(type(value)) or _kind(type(value))
                if kind is _OTHER and name not in _HOOKED_WHEN_ABSENT[node_type]:
                    continue  # an absent sequence: LibCST calls no helper for it
                if attributes:
                    on_visit_attribute(node, name)
                if kind is _NODE:
                    new = visit(value)
                    if new is not value:
                        new = _single(helpers[name], value, new)
                        if new is not value:
                            if changes is None:
                                changes = {}
                            changes[name] = new
                elif kind is _SEQUENCE:
                    body = "visit_body_sequence" in helpers[name] or "visit_body_iterable" in helpers[name]
                    items: list[object] = []
                    changed = False
                    for item in value:
                        new = visit(item)
                        if new is item:
                            items.append(item)
                            continue
                        changed = True
                        if isinstance(new, removal_class):
                            continue
                        if isinstance(new, flatten_class):
                            items.extend(
                                child for child in new
                                if not (body and not item._is_removable() and child._is_removable())
                            )
                        elif not (body and not item._is_removable() and new._is_removable()):  # type: ignore[union-attr]
                            items.append(new)
                    if changed:
                        if changes is None:
                            changes = {}
                        changes[name] = tuple(items)
                if attributes:
                    on_leave_attribute(node, name)
            if changes:
                updated = node.with_changes(**changes)
        return on_leave(node, updated)

    try:
        result = visit(module)
    finally:
        visit = None  # type: ignore[assignment]  # the closure's cycle, as in walk()
    assert isinstance(result, cst.Module)
    return result


def _single(helpers: frozenset[str], old: cst.CSTNode, new: object) -> object:
    """What a field of one node becomes when its child's visit returned ``new``."""
    if isinstance(new, cst.RemovalSentinel):
        if "visit_optional" in helpers:
            return None
        if "visit_sentinel" in helpers:
            return cst.MaybeSentinel.DEFAULT
        raise TypeError(
            f"We got a RemovalSentinel while visiting a {type(old).__name__}. This "
            "node's parent does not allow it to be removed."
        )
    if isinstance(new, cst.FlattenSentinel):
        raise TypeError(
            f"We got a FlattenSentinel while visiting a {type(old).__name__}. This node's "
            "parent does not allow for it to be it to be replaced with a sequence."
        )
    return new


class OwnCalls(AttributeHooksByTable, cst.CSTVisitor):
    """The calls of a block that run as part of it: not those in the body of
    a nested def or lambda."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: set[cst.Call] = set()
        self.awaited: set[cst.Call] = set()

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.add(node)

    def visit_Await(self, node: cst.Await) -> None:
        if isinstance(node.expression, cst.Call):
            self.awaited.add(node.expression)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False
