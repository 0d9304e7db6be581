"""The rules as the command line and the configuration know them.

Code, slug, fix safety, summary and options of every rule, readable without
importing the rules themselves (which import LibCST, a quarter of a second):
``asyncmend check`` answered from its cache, ``--help`` and ``rules`` need
nothing more. Each rule class takes these from here by its ``CODE`` (see
``Rule.__init_subclass__``), so they are written once; a test checks that
every rule module has its entry and every entry its rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from codemods._findings import Safety

#: Calls that are sequencing, not work: running them concurrently with
#: something else changes what the program means. An entry with a leading dot
#: matches a method of that name on any object (a trailing ``*`` matches any
#: name with that prefix); any other entry matches the qualified name of a
#: function reached through the module's imports.
#: ``get``/``put``/``send``/``receive`` cannot be told apart from an HTTP
#: client's ``get`` by name alone; leaving both alone is the precise choice.
DEFAULT_ORDERING_PRIMITIVES: tuple[str, ...] = (
    "asyncio.sleep",
    "asyncio.wait",
    "asyncio.wait_for",
    "asyncio.shield",
    "trio.sleep",
    "trio.sleep_until",
    "trio.sleep_forever",
    "trio.lowlevel.checkpoint",
    "anyio.sleep",
    "anyio.sleep_until",
    "anyio.sleep_forever",
    "anyio.lowlevel.checkpoint",
    "anyio.wait_all_tasks_blocked",
    ".sleep",
    # ``wait``, ``wait_for``, ``wait_closed``, ``wait_for_connection``...
    ".wait*",
    ".acquire",
    ".get",
    ".put",
    ".join",
    ".drain",
    ".send",
    ".receive",
)


@dataclass(frozen=True)
class RuleInfo:
    """One rule, before its module is imported. The names are those of the
    rule class's attributes, so either can stand where the other is read."""

    CODE: str
    SLUG: str
    SAFETY: Safety
    DESCRIPTION: str
    # The module under codemods/ that holds the rule.
    MODULE: str
    # Configuration keys (kebab-case, as in [tool.asyncmend]) and defaults.
    OPTIONS: Mapping[str, Any] = field(default_factory=dict)


RULE_INFOS: tuple[RuleInfo, ...] = (
    RuleInfo("AM101", "blocking-sleep", Safety.SAFE,
             "time.sleep() in async def blocks the event loop", "blocking_sleep"),
    RuleInfo("AM201", "sequential-awaits", Safety.UNSAFE,
             "independent awaits in a row run one after another; gather them", "sequential_awaits",
             {"ordering-primitives": DEFAULT_ORDERING_PRIMITIVES}),
    RuleInfo("AM202", "await-in-loop", Safety.UNSAFE,
             "a loop awaits one independent call per item; gather them", "await_in_loop",
             {"ordering-primitives": DEFAULT_ORDERING_PRIMITIVES}),
    RuleInfo("AM301", "dangling-task", Safety.SAFE,
             "a task whose only reference is dropped can vanish before it finishes", "dangling_task",
             {"task-helper": "", "log-task-exceptions": False}),
    RuleInfo("AM302", "missing-await", Safety.SAFE,
             "a coroutine or awaitable is created and never awaited", "missing_await"),
    RuleInfo("AM401", "thread-local", Safety.UNSAFE,
             "threading.local() is shared by all tasks of the event loop", "thread_local"),
    RuleInfo("AM402", "executor-context", Safety.SAFE,
             "loop.run_in_executor() does not carry the caller's context variables", "executor_context"),
)
RULE_INFO: dict[str, RuleInfo] = {info.CODE: info for info in RULE_INFOS}

__all__ = ["DEFAULT_ORDERING_PRIMITIVES", "RULE_INFO", "RULE_INFOS", "RuleInfo"]
