"""Which event loop a module's coroutines run under: what a fix that writes
``asyncio.sleep`` or ``asyncio.gather`` must know before it adds ``import
asyncio`` (AM101, AM201, AM202).

A module's own imports decide first (anyio's calls work on every anyio
backend, so anyio wins; trio next). A module that imports none of them runs
under whatever loop its callers start: the project's, when the project's
modules import asyncio and no other loop's library (see
:attr:`codemods.model.project.ProjectIndex.event_loop`).

Importing this module imports no LibCST (see :mod:`codemods.lazy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..cst.scope import Scope
    from ..model.project import ModuleView


@dataclass(frozen=True)
class EventLoop:
    # "asyncio", "trio" or "anyio"
    library: str
    # told by the module's own imports (not the project's)
    own: bool
    # the module imports trio and asyncio both: which loop runs a given
    # coroutine cannot be told
    ambiguous: bool = False


#: Libraries with a loop of their own that runs ``async def`` (Twisted's
#: reactor through Deferreds, curio's kernel), where no call of asyncio's
#: works; and the name the project index gives a project that drives
#: coroutines itself (it calls ``.send(None)`` or ``__await__()``).
FOREIGN_LOOPS = ("twisted", "curio")
OWN_DRIVER = "driver"
#: The name the project index gives a project that may pick its loop at run
#: time: it names another loop's library in a string and imports a module
#: by a computed name (``importlib.import_module(config.BACKEND)``).
BY_NAME = "by-name"


def describe(library: str) -> str:
    """A loop's library as a message names it."""
    if library == OWN_DRIVER:
        return "a coroutine driver of the project's own (it calls `.send(None)` or `__await__()` itself)"
    if library == BY_NAME:
        return "a loop it may pick by name (it names trio, anyio or curio in a string, and imports a module by a computed name)"
    return {"twisted": "Twisted's reactor"}.get(library, library)


def runs_elsewhere(library: str, cure: str) -> str:
    """Why a fix into asyncio's calls is withheld from a module that may run
    under ``library``; ``cure``: what to write there instead, for trio or
    anyio (``{library}`` stands for its name)."""
    if library in ("anyio", "trio"):
        return f"the module may run under {library}, whose cure is {cure.format(library=library)}"
    return f"the module may run under {describe(library)}, where asyncio's calls do not work"


def module_event_loop(scope: Scope, view: ModuleView | None, backend: str = "auto") -> EventLoop | None:
    """The event loop the module's coroutines run under; ``None`` when the
    module imports none and the project does not tell (no project, one
    that imports trio or anyio, or none at all). ``backend``: the
    ``async-backend`` setting, which names the loop of a module that
    imports none ("auto": the project tells)."""
    if scope.imports_any(("anyio",)):
        return EventLoop("anyio", True)
    if scope.imports_any(("trio",)):
        return EventLoop("trio", True, ambiguous=scope.imports_any(("asyncio",)))
    for library in FOREIGN_LOOPS:
        if scope.imports_any((library,)):
            return EventLoop(library, True)
    if scope.imports_any(("asyncio",)):
        return EventLoop("asyncio", True)
    if backend != "auto":
        return EventLoop(backend, False)
    if view is not None and view.project.index.event_loop == "asyncio":
        return EventLoop("asyncio", False)
    return None


__all__ = ["FOREIGN_LOOPS", "OWN_DRIVER", "EventLoop", "describe", "module_event_loop", "runs_elsewhere"]


def own_loop_class(view: ModuleView | None, methods: tuple[str, ...]) -> str | None:
    """A class of the project that derives from an event loop class (a base
    named ``...EventLoop``: ``asyncio.SelectorEventLoop``,
    ``AbstractEventLoop``, or such a class of the project) and defines one
    of ``methods`` (``create_task``, ``run_in_executor``), as
    ``module.Class``: a run may use it (``asyncio.Runner(loop_factory=
    ...)``, a policy), and then that method is the project's own. One whose
    body the model does not read counts too. ``None`` where the project has
    none, or no model."""
    if view is None:
        return None
    index = view.project.index
    loops = {name for name, statements in index.classes.items() if any(
        base.endswith("EventLoop") for _, bases in statements for base in bases
    )}
    grown = True
    while grown:  # (and the project's classes that derive from those)
        more = {name for name, statements in index.classes.items() if any(
            base in loops for _, bases in statements for base in bases
        )}
        grown = not more <= loops
        loops |= more
    for name in sorted(loops):
        for number, _ in index.classes[name]:
            module = index.paths.get(index.files[number])
            facts = view.project.facts(module) if module is not None else None
            cls = facts.classes.get(name) if facts is not None else None
            if cls is None or any(
                method in cls.methods or method in cls.assigned or method in facts.unlisted  # type: ignore[union-attr]
                for method in methods
            ):
                return f"{module or index.files[number]}.{name}"
    return None
