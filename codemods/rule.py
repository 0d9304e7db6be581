"""What a rule is, and the registry that finds every rule.

A rule is one class in one module of this package, named by its slug
(``blocking_sleep.py`` for ``blocking-sleep``). The class holds all of it:

- its spec: ``CODE``, ``SLUG``, ``SAFETY``, ``DESCRIPTION``, ``OPTIONS``
  (configuration keys and defaults), ``EQUIVALENTS`` (codes of the same check
  in other tools), ``OPT_IN`` (not run unless selected);
- its screen, which decides on the stdlib ``ast`` whether a file may hold a
  finding: :meth:`Rule.prefilter` on the bytes, :meth:`Rule.screen` on the
  :class:`~codemods.screen.facts.Facts` of the tree;
- its fix: LibCST visitor methods (``visit_Call``, ``leave_Call``...), run by
  the LibCST stage on a class that joins the rule to
  :class:`~codemods.cst.transformer.RuleTransformer` (see
  :meth:`Rule.transformer`), and by ``python -m libcst.tool codemod`` on one
  that joins it to :class:`~codemods.cst.command.RuleCommand` (see
  :meth:`Rule.codemod`);
- its docstring: the user documentation (``asyncmend explain``, the README).

Importing a rule module imports no LibCST: the screen must run on every
file, and most files never reach LibCST. So a rule module names LibCST only
inside its methods, through :func:`codemods.lazy.lazy_module`. A test
imports every rule and checks that LibCST stayed unloaded.

The registry imports every public module of the package and keeps the rule
classes defined there: adding a rule is adding its module (and its fixture
folder); nothing else lists it.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import types
from abc import ABCMeta
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

from .findings import Safety

if TYPE_CHECKING:
    from .screen.facts import Facts
    from .settings import Settings


class RuleMeta(ABCMeta):
    """A rule class answers for its codemod (:meth:`Rule.codemod`) the class
    attributes it does not have itself, as ``python -m libcst.tool codemod``
    asks a command class (``get_inherited_dependencies``...). ABCMeta, as
    the codemod derives from LibCST's abstract classes too."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__") or name in ("_made_codemod", "_made_transformer"):
            raise AttributeError(name)
        # The rule as the engine runs it has all its attributes already
        # (and its codemod is another class).
        transformer = sys.modules.get(f"{__package__}.cst.transformer")
        if transformer is not None and issubclass(cls, transformer.RuleTransformer):
            raise AttributeError(name)
        codemod = cls.codemod()  # type: ignore[attr-defined]
        if codemod is cls:
            raise AttributeError(name)
        return getattr(codemod, name)


class Rule(metaclass=RuleMeta):
    """Base of every asyncmend rule (see the module's docstring).

    The LibCST half of a rule (finding nodes, reporting, rewriting) runs on
    :meth:`transformer` in the engine and on :meth:`codemod` as a LibCST
    codemod, which both provide ``report``, ``scope``, ``option``,
    ``settings``, ``facts`` and ``context`` (with the ``filename``; imports
    are asked for through ``codemods.cst.toolkit``). Rules look metadata up
    on *original* nodes, and must not rely on returning ``False`` from a
    ``visit_`` method to skip children: in a batched pass the other rules
    still need them.
    """

    CODE: ClassVar[str] = ""
    SLUG: ClassVar[str] = ""
    DESCRIPTION: ClassVar[str] = ""
    SAFETY: ClassVar[Safety] = Safety.SAFE
    # Codes of the same check in other tools, honoured in ``# noqa``.
    EQUIVALENTS: ClassVar[tuple[str, ...]] = ()
    # The rule's configuration keys (kebab-case, as in [tool.asyncmend]) and
    # their defaults; the LibCST half reads the effective value with
    # ``self.option(key)``.
    OPTIONS: ClassVar[Mapping[str, Any]] = {}
    # An opt-in rule runs only when ``select`` names it by its code or slug:
    # not by default, nor under ``ALL`` or a prefix (settings.resolve_codes).
    OPT_IN: ClassVar[bool] = False
    # A file none of whose bytes contain one of these cannot hold a finding
    # (see prefilter).
    PREFILTER: ClassVar[tuple[bytes, ...]] = ()
    # Qualified names of the functions whose calls the fix replaces
    # (``time.sleep``). Another file of the project may reach them, or the
    # imports the fix would leave unused, through the module
    # (``mock.patch("retry.time.sleep")``): codemods.model.crossfile finds
    # such files before the run, and rules and the shared import removal
    # hold back what would break them (Settings.imported_elsewhere).
    REWRITES: ClassVar[tuple[str, ...]] = ()
    # LibCST metadata the rule needs beyond RuleCommand's (positions and
    # scopes): provider classes, so only where LibCST is loaded.
    METADATA_DEPENDENCIES: ClassVar[tuple[Any, ...]] = ()

    # -- the screen (stdlib ast; no LibCST) -----------------------------------

    @classmethod
    def prefilter(cls, data: bytes) -> bool:
        """Whether a file's bytes may hold a finding: a scan at C speed,
        before anything is parsed. It must pass every file the screen does.
        The default: the file contains one of ``PREFILTER``."""
        return not cls.PREFILTER or any(token in data for token in cls.PREFILTER)

    @classmethod
    def screen(cls, facts: Facts, settings: Settings) -> bool:
        """Whether a file has a candidate site, judged on its stdlib ``ast``.

        It must be a superset of what the rule finds: ``False`` means the file
        is not parsed with LibCST for this rule at all. The default is ``True``.
        """
        return True

    @classmethod
    def check_option(cls, key: str, value: Any) -> str | None:
        """Why ``value`` (already of the default's type) is not a valid value
        of the rule's option ``key``, or ``None``. Called when a
        configuration file is read, so that a bad value is one error naming
        the key rather than a failure in every file."""
        return None

    # -- the LibCST half --------------------------------------------------------

    @classmethod
    def codemod(cls) -> type:
        """The rule as a LibCST codemod command: the class that joins it to
        :class:`~codemods.cst.command.RuleCommand`, made once, on first use
        (this imports LibCST)."""
        from .cst.command import RuleCommand

        if issubclass(cls, RuleCommand):
            return cls
        made = cls.__dict__.get("_made_codemod")
        if made is None:
            made = types.new_class(cls.__name__, (cls, RuleCommand))
            made.__module__ = cls.__module__
            # Where pickle finds it again: the rule's ``codemod_class``.
            made.__qualname__ = f"{cls.__qualname__}.codemod_class"
            cls._made_codemod = made  # type: ignore[attr-defined]
        return made

    @classmethod
    def transformer(cls) -> type:
        """The rule as the engine runs it: the class that joins it to
        :class:`~codemods.cst.transformer.RuleTransformer`, LibCST's plain
        transformer, made once, on first use. It imports LibCST, and none of
        LibCST's codemod package (whose matchers alone cost more than the
        LibCST stage of a small run); a rule with matcher decorators, which
        only that package honours, runs as its :meth:`codemod`."""
        from .cst.transformer import RuleTransformer, has_matcher_decorators

        made = cls.__dict__.get("_made_transformer")
        if made is None:
            # (A class that is a LibCST codemod already was made with it loaded.)
            codemods = sys.modules.get("libcst.codemod")
            if issubclass(cls, RuleTransformer):
                made = cls
            elif (codemods is not None and issubclass(cls, codemods.Codemod)) or has_matcher_decorators(cls):
                made = cls.codemod()
            else:
                # Its own instances (``Rule.__new__`` makes the codemod's).
                made = types.new_class(
                    cls.__name__, (cls, RuleTransformer), exec_body=lambda body: body.update(__new__=_plain_new)
                )
                made.__module__ = cls.__module__
                made.__qualname__ = f"{cls.__qualname__}.transformer"
            cls._made_transformer = made  # type: ignore[attr-defined]
        return made

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # ``BlockingSleep(context)``, as ``python -m libcst.tool codemod``
        # makes a command, makes the codemod.
        return object.__new__(cls.codemod())

    @classmethod
    def add_args(cls, arg_parser: Any) -> None:
        """A rule takes no command-line arguments of its own when it runs as
        a LibCST codemod (``python -m libcst.tool codemod``)."""

    # -- registration -----------------------------------------------------------

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.CODE and _under_libcst_tool():
            _register_with_libcst(cls)


def _plain_new(cls: type, *args: Any, **kwargs: Any) -> Any:
    return object.__new__(cls)


class _CodemodClass:
    """``Rule.codemod_class``: the rule's codemod, looked up as an attribute
    (how pickle finds the class of a codemod instance by its qualified name)."""

    def __get__(self, instance: object, owner: type[Rule]) -> type:
        return owner.codemod()


Rule.codemod_class = _CodemodClass()  # type: ignore[attr-defined]


def _under_libcst_tool() -> bool:
    """Whether this process is ``python -m libcst.tool``."""
    main = sys.argv[0].replace("\\", "/") if sys.argv else ""
    return main.endswith("libcst/tool.py")


def _register_with_libcst(rule: type[Rule]) -> None:
    """Under ``python -m libcst.tool``, make ``list`` see ``rule`` as a
    codemod command (a virtual subclass: its LibCST half is made on use;
    ``codemod`` makes it through :meth:`Rule.__new__`)."""
    from libcst.codemod import CodemodCommand

    from .cst.command import RuleCommand

    if not issubclass(rule, (CodemodCommand, RuleCommand)):
        CodemodCommand.register(rule)


_RULES: tuple[type[Rule], ...] | None = None


def rules() -> tuple[type[Rule], ...]:
    """Every rule of the package, in the order of their codes.

    Each public module of the package is imported (rule modules import no
    LibCST) and the :class:`Rule` subclasses defined in it with a ``CODE``
    are kept. Two rules sharing a code or a slug is an error.
    """
    global _RULES
    if _RULES is None:
        package = sys.modules[__package__]
        found: dict[str, type[Rule]] = {}
        slugs: dict[str, str] = {}
        for info in pkgutil.iter_modules(package.__path__):
            if info.name.startswith("_") or info.ispkg or info.name in _MACHINERY:
                continue
            module = importlib.import_module(f"{__package__}.{info.name}")
            for value in vars(module).values():
                if not (
                    isinstance(value, type)
                    and issubclass(value, Rule)
                    and value.CODE
                    and value.__module__ == module.__name__
                ):
                    continue
                if value.CODE in found and found[value.CODE] is not value:
                    raise RuntimeError(f"two rules share the code {value.CODE}")
                if slugs.setdefault(value.SLUG, value.CODE) != value.CODE:
                    raise RuntimeError(f"two rules share the slug {value.SLUG}")
                if info.name != value.SLUG.replace("-", "_"):
                    raise RuntimeError(f"{value.CODE}: the module of {value.SLUG!r} must be named {value.SLUG.replace('-', '_')}.py")
                found[value.CODE] = value
        _RULES = tuple(found[code] for code in sorted(found))
    return _RULES


def rule_for(name: str) -> type[Rule] | None:
    """The rule named by ``name``: its code, its slug, or an equivalent code
    of another tool; ``None`` when no rule has that name."""
    upper, lower = name.strip().upper(), name.strip().lower()
    for rule in rules():
        if rule.CODE == upper or rule.SLUG == lower:
            return rule
    return next((rule for rule in rules() if upper in rule.EQUIVALENTS), None)


# The package's public modules that are not rules.
_MACHINERY = frozenset({"api", "findings", "lazy", "rule", "settings"})


__all__ = ["Rule", "rule_for", "rules"]
