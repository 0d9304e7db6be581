"""AM401 thread-local: which ``threading.local`` uses it reports (with or
without a fix, and why) and which it leaves alone, what tasks and threads see
before and after the rewrite, and a local that another file of the run imports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asyncmend.codemods import Options, Settings, check_paths
from tests.helpers import FIXTURES
from tests.helpers import fixed_by as _fixed
from tests.helpers import fixture_findings as _findings
from tests.helpers import printed as _run
from tests.helpers import OBSERVE_MAIN, guarded_across_files, parses_of_the_look, run_cli

# -- findings and messages ----------------------------------------------------
#
# The fixture test proves the no-op files come out unchanged; these prove the
# rule did not simply miss them where a report is owed, and stays quiet where
# the code is not a pitfall.

REPORTED_WITHOUT_FIX = [
    "thread_local/noop_handed_on_to_a_container",
    "thread_local/noop_handed_on_through_partial",
    "thread_local/noop_registered_by_decorator",
    "thread_local/noop_passed_to_call",
    "thread_local/noop_returned",
    "thread_local/noop_stored_elsewhere",
    "thread_local/noop_del_attribute",
    "thread_local/noop_subclass",
    "thread_local/noop_instance_attribute",
    "thread_local/noop_catches_attribute_error",
    "thread_local/noop_dynamic_attribute_name",
    "thread_local/noop_named_in_all",
    "thread_local/noop_shadowed_getattr",
    "thread_local/noop_case_pattern",
    "thread_local/noop_catches_through_an_alias",
    "thread_local/noop_caller_in_another_module_catches",
    "thread_local/noop_caller_two_calls_up_in_another_module_catches",
    "thread_local/noop_registered_and_called_from_another_module",
    "thread_local/noop_dispatched_through_the_module_object",
]


@pytest.mark.parametrize("case", REPORTED_WITHOUT_FIX)
def test_unfixable_site_is_reported_without_a_fix(case: str) -> None:
    findings = _findings(case)
    assert findings, "the pitfall was not reported"
    assert all(not f.fixable and not f.fixed for f in findings)


def test_rebinding_through_global_is_reported_without_a_fix() -> None:
    findings = _findings("thread_local/noop_rebound_through_global")
    # The module-level local and the one made inside reset(): neither is fixable.
    assert len(findings) == 2 and not any(f.fixable for f in findings)


def test_explain_thread_local_says_what_an_unset_attribute_raises_after_the_fix() -> None:
    from click.testing import CliRunner

    from asyncmend import cli

    result = CliRunner().invoke(cli.main, ["explain", "AM401"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "raised `AttributeError`" in text
    assert "raises `LookupError`" in text
    # ... and why code catching AttributeError is left alone.
    assert "catches `AttributeError` around a use is therefore left alone" in text


# -- guards -------------------------------------------------------------------

NOT_REPORTED = [
    "thread_local/noop_without_async_def",
]


@pytest.mark.parametrize("case", NOT_REPORTED)
def test_site_that_is_not_the_pitfall_is_not_reported(case: str) -> None:
    assert _findings(case) == []


# -- behaviour ----------------------------------------------------------------
#
# The rewrite changes which values a task or a thread sees: each program is
# fixed by the tool itself (``fix_source``), then the original and the fixed
# text run in a fresh interpreter, and what they print is compared.

TASKS_SHARE_A_LOCAL = '''\
import asyncio
import json
import threading

_request = threading.local()


async def handle(user):
    _request.user = user
    # Every task sets its value before any of them reads it back.
    await asyncio.sleep(0.05)
    return _request.user


async def main():
    return await asyncio.gather(handle("alice"), handle("bob"), handle("carol"))


print(json.dumps(asyncio.run(main())))
'''


def test_tasks_see_each_others_value_before_and_their_own_after(tmp_path: Path) -> None:
    fixed = _fixed(TASKS_SHARE_A_LOCAL, "AM401")
    assert "threading.local" not in fixed and "ContextVar" in fixed

    before = _run(TASKS_SHARE_A_LOCAL, tmp_path, "before")
    after = _run(fixed, tmp_path, "after")

    # One thread runs all three tasks: the last writer wins for everyone.
    assert before == ["carol", "carol", "carol"]
    assert after == ["alice", "bob", "carol"]


THREADS_USE_A_LOCAL = '''\
import asyncio
import json
import threading
import time

_state = threading.local()


def work(name, out):
    seen_before = hasattr(_state, "name")
    _state.name = name
    _state.count = 0
    for _ in range(3):
        _state.count = _state.count + 1
        time.sleep(0.01)
    out[name] = [_state.name, getattr(_state, "count", -1), seen_before, hasattr(_state, "name")]


async def unused():
    await asyncio.sleep(0)


out = {}
threads = [threading.Thread(target=work, args=(n, out)) for n in ("t1", "t2", "t3")]
for t in threads:
    t.start()
for t in threads:
    t.join()
# The main thread never set anything.
out["main"] = [getattr(_state, "name", None), hasattr(_state, "name")]
print(json.dumps(out, sort_keys=True))
'''


def test_plain_threads_keep_their_own_values_after_the_rewrite(tmp_path: Path) -> None:
    fixed = _fixed(THREADS_USE_A_LOCAL, "AM401")
    assert "threading.local" not in fixed

    before = _run(THREADS_USE_A_LOCAL, tmp_path, "before")
    after = _run(fixed, tmp_path, "after")

    expected = {name: [name, 3, False, True] for name in ("t1", "t2", "t3")}
    expected["main"] = [None, False]
    assert before == expected
    assert after == before


# -- cross-file ---------------------------------------------------------------
#
# A ``threading.local`` that another file of the run imports is reported
# without a fix, since rewriting it would leave the other file pointing at a
# name that no longer exists.

STATE = '''\
import asyncio
import threading

_req = threading.local()


async def handle(user):
    _req.user = user
    await asyncio.sleep(0)
    return _req.user
'''

# How another file can reach ``_req`` of ``app/state.py``.
IMPORTERS = {
    "from_import": "from app.state import _req\n\n\ndef who():\n    return _req.user\n",
    "from_import_as": "from app.state import _req as request\n\n\ndef who():\n    return request.user\n",
    "relative": "from .state import _req\n\n\ndef who():\n    return _req.user\n",
    "module_attribute": "import app.state\n\n\ndef who():\n    return app.state._req.user\n",
    "module_alias": "import app.state as st\n\n\ndef who():\n    return st._req.user\n",
    "module_from_package": "from app import state\n\n\ndef who():\n    return state._req.user\n",
    "relative_module": "from . import state\n\n\ndef who():\n    return state._req.user\n",
    "patched_by_name": "from unittest import mock\n\n\ndef test():\n    with mock.patch(\"app.state._req\"):\n        pass\n",
    "package_attribute_chain": "import app\n\n\ndef who():\n    return app.state._req.user\n",
    "imported_by_name": (
        "import importlib\n\n\ndef who():\n"
        "    return importlib.import_module(\"app.state\")._req.user\n"
    ),
    "imported_by_relative_name": (
        "import importlib\n\n\ndef who():\n"
        "    return importlib.import_module(\".state\", __package__)._req.user\n"
    ),
    "patched_object": (
        "from unittest import mock\n\nimport app.state as st\n\n\n"
        "def test():\n    with mock.patch.object(st, \"_req\"):\n        pass\n"
    ),
}


def make_project(root: Path, importer: str | None) -> None:
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "state.py").write_text(STATE)
    if importer is not None:
        (root / "app" / "views.py").write_text(importer)


def am401(result_stdout: str) -> list[dict]:
    return [f for f in json.loads(result_stdout) if f["code"] == "AM401"]


@pytest.mark.parametrize("form", sorted(IMPORTERS))
def test_a_local_imported_by_another_file_of_the_run_is_reported_without_a_fix(
    tmp_path: Path, form: str
) -> None:
    make_project(tmp_path, IMPORTERS[form])
    check = run_cli(["check", "-j", "1", "--output-format", "json", "."], tmp_path)
    (finding,) = am401(check.stdout)
    assert finding["path"] == "app/state.py"
    assert finding["fix"] is None
    assert "app/views.py" in finding["message"]

    fixed = run_cli(["fix", "--unsafe-fixes", "-j", "1", "."], tmp_path)
    assert fixed.exit_code == 1, fixed.output
    assert (tmp_path / "app" / "state.py").read_text() == STATE


def test_the_same_local_is_fixed_when_no_other_file_imports_it(tmp_path: Path) -> None:
    # Another file with the same attribute name on some other object, and one
    # importing something else from the module, do not hold the fix back.
    make_project(tmp_path, "from app.state import handle\n\n\nclass C:\n    def f(self):\n        return self._req\n")
    (tmp_path / "other.py").write_text("class D:\n    _req = None\n\n\ndef g(d):\n    return d._req\n")
    fixed = run_cli(["fix", "--unsafe-fixes", "-j", "1", "."], tmp_path)
    assert fixed.exit_code == 0, fixed.output
    assert "_req_user = contextvars.ContextVar" in (tmp_path / "app" / "state.py").read_text()


def test_an_importer_outside_the_run_and_without_a_project_around_it_is_not_seen(tmp_path: Path) -> None:
    make_project(tmp_path, IMPORTERS["from_import"])
    fixed = run_cli(["fix", "--unsafe-fixes", "app/state.py"], tmp_path)
    assert fixed.exit_code == 0, fixed.output
    assert "contextvars" in (tmp_path / "app" / "state.py").read_text()


def test_an_importer_outside_the_run_but_in_its_project_is_seen(tmp_path: Path) -> None:
    # The nearest directory above the run with a project marker is its root.
    make_project(tmp_path, IMPORTERS["from_import"])
    (tmp_path / ".git").mkdir()
    fixed = run_cli(["fix", "--unsafe-fixes", "app/state.py"], tmp_path)
    assert fixed.exit_code == 1, fixed.output
    assert "app/views.py" in fixed.output
    assert (tmp_path / "app" / "state.py").read_text() == STATE


def test_worker_processes_and_shards_see_the_whole_run(tmp_path: Path) -> None:
    make_project(tmp_path, IMPORTERS["from_import"])
    for extra in (["-j", "2"], ["-j", "1", "--shard", "1/2"], ["-j", "1", "--shard", "2/2"]):
        run_cli(["fix", "--unsafe-fixes", *extra, "."], tmp_path)
        assert (tmp_path / "app" / "state.py").read_text() == STATE, extra


def test_interactive_fix_never_applies_the_held_back_fix(tmp_path: Path) -> None:
    make_project(tmp_path, IMPORTERS["from_import"])
    run_cli(["fix", "-i", "--unsafe-fixes", "-j", "1", "."], tmp_path, input="y\n" * 5)
    assert (tmp_path / "app" / "state.py").read_text() == STATE


def test_check_paths_sees_the_other_files_too(tmp_path: Path) -> None:
    make_project(tmp_path, IMPORTERS["module_alias"])
    settings = Settings(select=frozenset({"AM401"}), apply=frozenset({"AM401"}))
    results = list(check_paths([str(tmp_path)], Options(settings=settings)))
    findings = [f for r in results for f in r.findings]
    assert len(findings) == 1 and not findings[0].fixable


def test_a_cached_check_follows_the_importers_coming_and_going(tmp_path: Path) -> None:
    make_project(tmp_path, IMPORTERS["from_import"])
    check = ["check", "-j", "1", "--output-format", "json", "."]
    assert am401(run_cli(check, tmp_path).stdout)[0]["fix"] is None
    (tmp_path / "app" / "views.py").unlink()
    assert am401(run_cli(check, tmp_path).stdout)[0]["fix"] is not None
    (tmp_path / "app" / "views.py").write_text(IMPORTERS["module_alias"])
    assert am401(run_cli(check, tmp_path).stdout)[0]["fix"] is None


def test_star_import_reaches_a_public_name_and_a_broken_file_is_no_obstacle(tmp_path: Path) -> None:
    make_project(tmp_path, None)
    (tmp_path / "app" / "state.py").write_text(STATE.replace("_req", "request"))
    (tmp_path / "app" / "views.py").write_text("from app.state import *\n")
    (tmp_path / "app" / "broken.py").write_text("def (:\n    request\n")
    fixed = run_cli(["fix", "--unsafe-fixes", "-j", "1", "."], tmp_path)
    assert fixed.exit_code == 2  # the broken file
    assert "app/broken.py" in fixed.stderr
    assert (tmp_path / "app" / "state.py").read_text() == STATE.replace("_req", "request")
    # A star import does not reach a private name.
    (tmp_path / "app" / "state.py").write_text(STATE)
    run_cli(["fix", "--unsafe-fixes", "-j", "1", "."], tmp_path)
    assert "_req_user = contextvars.ContextVar" in (tmp_path / "app" / "state.py").read_text()


def test_a_warm_cache_keeps_apart_identical_files_that_only_one_is_imported_from(tmp_path: Path) -> None:
    # Results are cached by a file's bytes; here two files have the same
    # bytes, and only one of them is imported elsewhere, so only its fix is
    # held back: the cache must not answer one with the other's result.
    make_project(tmp_path, IMPORTERS["from_import"])
    (tmp_path / "app" / "copy.py").write_text(STATE)

    def fixes() -> dict[str, bool]:
        result = run_cli(["check", "-j", "1", "--output-format", "json", "."], tmp_path)
        return {f["path"]: f["fix"] is not None for f in am401(result.stdout)}

    cold = fixes()
    assert cold == {"app/state.py": False, "app/copy.py": True}
    assert (tmp_path / ".asyncmend_cache").is_dir()
    assert fixes() == cold


def test_a_warm_check_answers_the_look_across_files_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    make_project(project, IMPORTERS["from_import"])
    parsed = parses_of_the_look(monkeypatch)
    options = Options(cache_dir=str(tmp_path / "cache"))

    def fixable() -> list[bool]:
        results = list(check_paths([str(project)], options))
        return [f.fixable for r in results for f in r.findings if f.code == "AM401"]

    assert fixable() == [False]
    assert len(parsed) == 2  # the file that defines the local, the one that imports it
    parsed.clear()
    assert fixable() == [False]
    assert parsed == []
    # A changed importer is looked at again.
    (project / "app" / "views.py").write_text(IMPORTERS["from_import"] + "\n# changed\n")
    assert fixable() == [False]
    assert len(parsed) == 1
    # Without a cache every run parses.
    parsed.clear()
    list(check_paths([str(project)], Options()))
    assert len(parsed) == 2


def test_a_damaged_entry_of_the_look_across_files_is_a_miss(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    make_project(project, IMPORTERS["from_import"])
    options = Options(cache_dir=str(tmp_path / "cache"))

    def fixable() -> list[bool]:
        return [f.fixable for r in check_paths([str(project)], options) for f in r.findings if f.code == "AM401"]

    assert fixable() == [False]
    # Every entry of the cache rewritten with a value of the wrong shape.
    entries = list((tmp_path / "cache").rglob("*.json"))
    assert entries
    for damaged in ([1, 2], [["a"]], [None], {"x": 1}, "text"):
        for entry in entries:
            entry.write_text(json.dumps(damaged))
        assert fixable() == [False], damaged


def test_a_local_from_an_aliased_import_of_local_is_seen_too(tmp_path: Path) -> None:
    # ``from threading import local as L; _req = L()``: no ``local(`` in the file.
    make_project(tmp_path, IMPORTERS["from_import"])
    aliased = STATE.replace("import threading\n", "from threading import local as L\n").replace(
        "threading.local()", "L()"
    )
    (tmp_path / "app" / "state.py").write_text(aliased)
    check = run_cli(["check", "-j", "1", "--output-format", "json", "."], tmp_path)
    (finding,) = am401(check.stdout)
    assert finding["fix"] is None and "app/views.py" in finding["message"]
    run_cli(["fix", "--unsafe-fixes", "-j", "1", "."], tmp_path)
    assert (tmp_path / "app" / "state.py").read_text() == aliased


def test_an_importer_that_cannot_be_parsed_holds_the_fix_back(tmp_path: Path) -> None:
    # A syntax error here, or syntax of a newer Python than the one running:
    # the file may import the name all the same.
    make_project(tmp_path, "from app.state import _req\n\n\ndef who(:\n    return _req.user\n")
    fixed = run_cli(["fix", "--unsafe-fixes", "-j", "1", "."], tmp_path)
    assert fixed.exit_code == 2  # the broken file
    assert (tmp_path / "app" / "state.py").read_text() == STATE


# -- functions reached other than by name -------------------------------------
#
# A function the module hands on (puts in a container, wraps in a partial,
# registers with a decorator) is called by whoever holds it; a call the
# module cannot resolve inside `except AttributeError` may be such a call.
# Each program is left as it was; the rewrite AM401 makes where no handler
# tells the two errors apart (the same program with `except KeyError`, the
# handler put back after) makes it crash with LookupError instead.

# Each fixture below, run with a driver that calls it the way its module
# would be used: before a user is set, and after (fixture: the call, the
# function that sets the user).
HANDED_ON = {
    "noop_handed_on_to_a_container": ('dispatch("whoami")', "login"),
    "noop_handed_on_through_partial": ("run_hooks()", "set_user"),
    "noop_registered_by_decorator": ('answer("whoami")', "set_user"),
}

DRIVER = '''

import asyncio
import json


def main():
    try:
        before = asyncio.run({call})
        {setter}("ann")
        return [before, asyncio.run({call})]
    except Exception as exc:
        return type(exc).__name__


print(json.dumps(main()))
'''

AM401_ONLY = Settings(select=frozenset({"AM401"}), apply=frozenset({"AM401"}))


@pytest.mark.parametrize("name", sorted(HANDED_ON))
def test_a_function_handed_on_and_called_unseen_under_a_handler_is_left_alone(name: str, tmp_path: Path) -> None:
    from asyncmend.codemods import fix_source

    source = (FIXTURES / "thread_local" / f"{name}.before.py").read_text()
    result = fix_source(source, AM401_ONLY)
    assert result.output == source.encode()
    (finding,) = result.findings
    assert not finding.fixable and "handed on, may be called" in finding.message
    unguarded = fix_source(source.replace("except AttributeError", "except KeyError"), AM401_ONLY)
    assert unguarded.changed
    rewrite = unguarded.output.decode().replace("except KeyError", "except AttributeError")
    call, setter = HANDED_ON[name]
    driver = DRIVER.format(call=call, setter=setter)
    assert _run(rewrite + driver, tmp_path, "rewrite") == "LookupError"
    before = _run(source + driver, tmp_path, "original")
    assert before[0] != before[1] and "ann" in str(before[1])


# -- callers in other modules ------------------------------------------------------
#
# Each program runs as written and as AM401 rewrites its module when it
# looks at that module alone: a read of an unset attribute raised
# AttributeError, which a handler in another module took; the ContextVar
# raises LookupError, which passes it. AM401 follows the callers of the
# function holding the read into other modules (by name, at any depth up,
# or through a call the model cannot name that may reach a function handed
# on or its module), leaves the program as it was and says why.

CAUGHT_IN_ANOTHER_MODULE: dict[str, tuple[str, str, dict[str, str]]] = {
    "caller_catches_one_call_up": ("`api.profile` (line 6) calls a function reading it", "auth.py", {
        "auth.py": """import threading

_request = threading.local()


def login(name):
    _request.user = name


async def current_user():
    return _request.user
""", "api.py": """import auth


async def profile():
    try:
        user = await auth.current_user()
    except AttributeError:
        user = "guest"
    return f"profile of {user}"
""", "main.py": """import api


async def main():
    return await api.profile()
""" + OBSERVE_MAIN}),
    "caller_catches_two_calls_up": ("`views.home` (line 6) calls a function reading it", "session.py", {
        "session.py": """import threading

_session = threading.local()


def user_name():
    return _session.user


async def greeting():
    return f"hello {user_name()}"
""", "views.py": """import session


async def home():
    try:
        return await session.greeting()
    except AttributeError:
        return "hello stranger"
""", "main.py": """import views


async def main():
    return await views.home()
""" + OBSERVE_MAIN}),
    "registered_by_a_decorator_called_from_a_dict": ("which may reach `tools.whoami`", "tools.py", {
        "registry.py": """COMMANDS = {}


def command(name):
    def register(fn):
        COMMANDS[name] = fn
        return fn

    return register
""", "tools.py": """import threading

import registry

_local = threading.local()


@registry.command("whoami")
async def whoami():
    return _local.user
""", "bot.py": """import registry
import tools  # noqa: F401 - registers the commands


async def answer(name):
    try:
        return await registry.COMMANDS[name]()
    except AttributeError:
        return "nobody"
""", "main.py": """import bot


async def main():
    return await bot.answer("whoami")
""" + OBSERVE_MAIN}),
    "dispatched_through_the_module_object": ("which may reach `commands.cmd_whoami`", "commands.py", {
        "commands.py": """import threading

_local = threading.local()


async def cmd_whoami():
    return f"you are {_local.user}"
""", "router.py": """import commands


async def route(name):
    try:
        return await getattr(commands, "cmd_" + name)()
    except AttributeError:
        return "unknown command, or not logged in"
""", "main.py": """import router


async def main():
    return await router.route("whoami")
""" + OBSERVE_MAIN}),
}


@pytest.mark.parametrize("name", sorted(CAUGHT_IN_ANOTHER_MODULE))
def test_a_local_whose_reads_a_handler_of_another_module_sees_is_left_alone(name: str, tmp_path: Path) -> None:
    reason, target, files = CAUGHT_IN_ANOTHER_MODULE[name]
    # The rewrite of the module looked at alone.
    alone = _fixed(files[target], "AM401")
    guarded_across_files(tmp_path, files, target, [(files[target], alone)], reason, "--unsafe-fixes")
