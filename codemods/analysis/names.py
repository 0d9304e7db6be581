"""Names the rules and their screens both know: asyncio's task factories,
loop getters and coroutine functions, the ordering primitives, the builtins
that read a frame. Plain data, for the ``ast`` and the LibCST halves alike."""

from __future__ import annotations

# Builtins that read the caller's variables by name, unseen by any analysis
# of names (``render("page.html", **locals())``, ``eval("x")``).
FRAME_READERS = frozenset({"locals", "vars", "eval", "exec"})

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


TASK_FACTORIES = frozenset(
    {
        "asyncio.create_task",
        "asyncio.ensure_future",
        "asyncio.tasks.create_task",
        "asyncio.tasks.ensure_future",
    }
)
LOOP_GETTERS = frozenset(
    {
        "asyncio.get_event_loop",
        "asyncio.get_running_loop",
        "asyncio.events.get_event_loop",
        "asyncio.events.get_running_loop",
    }
)
# Coroutine functions of asyncio: calling one without ``await`` runs nothing.
ASYNCIO_COROUTINES = frozenset(
    f"asyncio.{name}"
    for name in (
        "sleep",
        "wait_for",
        "to_thread",
        "wait",
        "open_connection",
        "open_unix_connection",
        "start_server",
        "start_unix_server",
        "create_subprocess_exec",
        "create_subprocess_shell",
    )
)
ASYNCIO_COROUTINES |= {
    "asyncio.tasks.sleep",
    "asyncio.tasks.wait_for",
    "asyncio.tasks.wait",
    "asyncio.threads.to_thread",
    "asyncio.streams.open_connection",
    "asyncio.streams.start_server",
    "asyncio.subprocess.create_subprocess_exec",
    "asyncio.subprocess.create_subprocess_shell",
}
# These schedule their arguments as tasks at once, so a dropped result still
# runs them in the background: the code may mean that, so it is reported
# without a fix.
ASYNCIO_SCHEDULING = frozenset(
    {"asyncio.gather", "asyncio.shield", "asyncio.tasks.gather", "asyncio.tasks.shield"}
)
# The loop getters whose loop runs_in_executor is called on (AM402).
EXECUTOR_LOOP_GETTERS = ("asyncio.get_running_loop", "asyncio.get_event_loop")


class Screen:
    """The screening of one rule: what its class takes as ``PREFILTER``,
    ``prefilter`` and ``screen`` (see ``Rule.prefilter`` and ``Rule.screen``)."""
