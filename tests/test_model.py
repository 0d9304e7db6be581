"""The project model (codemods.model): what a call may read, write and
whether it may suspend, told across modules, and when it cannot be told.

Each test writes a small project to a temporary directory and asks the model
about one call, or runs the gather rules on it through the CLI. The answers
that matter most are the unknown ones: a rewrite rests on the model knowing
every function a call may run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from asyncmend.codemods.model.project import MAX_DEFINERS, MAX_OVERRIDES, Effects, Project, ProjectIndex
from tests.helpers import fixed_across_files, guarded_across_files, run_cli


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def call_effects(root: Path, module: str, qualname: str, func: str) -> Effects:
    """The model's answer for the call of ``func`` in ``module.qualname``."""
    project = Project(ProjectIndex.build(root))
    function = project.function(module, qualname)
    assert function is not None, f"{module}:{qualname} not in the model"
    calls = [call for call in function.calls if call.func == func]
    assert calls, f"no call of {func} in {qualname}: {[c.func for c in function.calls]}"
    return project.call_effects(module, qualname, calls[0], function)


def gather_diff(root: Path, *paths: str) -> str:
    result = run_cli(
        ["fix", "--diff", "--unsafe-fixes", "--select", "AM201,AM202", "--no-cache", "--no-progress", *paths],
        cwd=root,
    )
    assert result.exit_code == 0, result.output
    return result.output


# -- which functions a method call may run -----------------------------------------

BASE = """
class Device:
    async def refresh(self):
        self.seen = True

    async def poll(self, other):
        await self.refresh()
        await other.refresh()
"""


def test_a_call_on_self_reaches_what_a_subclass_override_writes(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/base.py": BASE,
        "app/lamp.py": """
            from .base import Device

            REGISTRY = {}

            class Lamp(Device):
                async def refresh(self):
                    REGISTRY[id(self)] = self
        """,
        "app/use.py": """
            from .base import Device

            async def poll(device: Device):
                await device.refresh()
        """,
    })
    effects = call_effects(tmp_path, "app.base", "Device.poll", "self.refresh")
    assert not effects.unknown
    assert "self.seen" in effects.writes
    assert "g:app.lamp.REGISTRY[]" in effects.writes
    # An annotated parameter is any instance of the class, a subclass's too.
    effects = call_effects(tmp_path, "app.use", "poll", "device.refresh")
    assert "g:app.lamp.REGISTRY[]" in effects.writes


def test_a_new_object_runs_its_own_class_method_only(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/base.py": BASE,
        "app/lamp.py": """
            from .base import Device

            REGISTRY = {}

            class Lamp(Device):
                async def refresh(self):
                    REGISTRY[id(self)] = self

            async def make():
                await Device().refresh()
        """,
    })
    effects = call_effects(tmp_path, "app.lamp", "make", "new:Device.refresh")
    assert not effects.unknown
    assert effects.writes == frozenset()  # the new object's own ``seen``


def test_a_mixin_before_the_class_may_supply_the_method(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/base.py": BASE,
        "app/mixins.py": """
            LOG = []

            class Logged:
                async def refresh(self):
                    LOG.append(self)
        """,
        "app/lamp.py": """
            from .base import Device
            from .mixins import Logged

            class Lamp(Logged, Device):
                pass
        """,
    })
    effects = call_effects(tmp_path, "app.base", "Device.poll", "self.refresh")
    assert not effects.unknown
    assert "g:app.mixins.LOG" in effects.writes


def test_a_protocol_or_abstract_method_without_a_body_is_unknown(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/ports.py": """
            import abc
            from typing import Protocol

            class Store(Protocol):
                async def save(self, item): ...

            class Sink(abc.ABC):
                @abc.abstractmethod
                async def push(self, item):
                    raise NotImplementedError

            async def use(store: Store, sink: Sink, item):
                await store.save(item)
                await sink.push(item)
        """,
    })
    # A Protocol is met by any object with the method, of a class that may
    # bind it otherwise than by ``def`` (an assignment, ``__getattr__``).
    assert call_effects(tmp_path, "app.ports", "use", "store.save").unknown
    assert call_effects(tmp_path, "app.ports", "use", "sink.push").unknown


def test_an_abstract_method_is_what_its_implementations_do(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/ports.py": """
            import abc

            class Sink(abc.ABC):
                @abc.abstractmethod
                async def push(self, item):
                    raise NotImplementedError

            async def use(sink: Sink, item):
                await sink.push(item)
        """,
        "app/memory.py": """
            from .ports import Sink

            class MemorySink(Sink):
                def __init__(self):
                    self.items = []

                async def push(self, item):
                    self.items.append(item)
        """,
    })
    effects = call_effects(tmp_path, "app.ports", "use", "sink.push")
    assert not effects.unknown
    assert "sink.items" in effects.writes


def test_too_many_overrides_are_unknown(tmp_path: Path) -> None:
    subclasses = "\n".join(
        f"class Lamp{n}(Device):\n    async def refresh(self):\n        pass\n" for n in range(MAX_OVERRIDES + 1)
    )
    write(tmp_path, {
        "app/__init__.py": "",
        "app/base.py": BASE,
        "app/lamps.py": "from .base import Device\n\n" + subclasses,
    })
    assert call_effects(tmp_path, "app.base", "Device.poll", "self.refresh").unknown


def test_a_subclass_of_a_subscripted_generic_base_has_that_base(tmp_path: Path) -> None:
    """``class Lamp(Device[int])``: the MRO entry is ``Device`` (what a
    typing generic's ``__mro_entries__`` gives), with its methods and the
    types its ``__init__`` gives attributes."""
    write(tmp_path, {"app/__init__.py": "", "app/m.py": """
        from typing import Generic, TypeVar

        T = TypeVar("T")

        class Hub:
            def poll(self):
                self.polled = True

        class Device(Generic[T]):
            def __init__(self, hub: Hub):
                self.hub = hub

        class Lamp(Device[int]):
            def refresh(self):
                self.hub.poll()
    """})
    effects = call_effects(tmp_path, "app.m", "Lamp.refresh", "self.hub.poll")
    assert not effects.unknown and effects.writes == {"self.hub.polled"}, effects


# -- objects of classes the model does not know ------------------------------------


SCRIPT = """
    class Script:
        def __init__(self):
            self.cache = {}

        async def get_condition(self, config):
            self.cache[config] = object()

    class Run:
        def __init__(self, script):
            self.script = script

        async def step(self, config):
            await self.script.get_condition(config)
"""


def test_an_object_of_unknown_class_does_what_any_project_method_of_that_name_does(tmp_path: Path) -> None:
    """``self.script`` comes from an untyped parameter: it is a library's
    object or one of a project class defining ``get_condition``; the
    project's only such method writes its receiver's cache."""
    write(tmp_path, {"app/__init__.py": "", "app/script.py": SCRIPT})
    effects = call_effects(tmp_path, "app.script", "Run.step", "self.script.get_condition")
    assert not effects.unknown
    assert "self.script.cache[]" in effects.writes


def test_a_method_of_a_class_the_facts_do_not_describe_leaves_an_untyped_call_unknown(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/script.py": SCRIPT,
        "app/local.py": """
            def make():
                class Hidden:
                    async def get_condition(self, config):
                        raise SystemExit(config)
                return Hidden()
        """,
    })
    assert call_effects(tmp_path, "app.script", "Run.step", "self.script.get_condition").unknown


def test_two_classes_of_one_name_leave_an_untyped_call_unknown(tmp_path: Path) -> None:
    """Only one of the two is in the facts; the other may run."""
    write(tmp_path, {
        "app/__init__.py": "",
        "app/script.py": SCRIPT,
        "app/compat.py": """
            import sys

            if sys.version_info >= (3, 12):
                class Other:
                    async def get_condition(self, config):
                        pass
            else:
                class Other:
                    async def get_condition(self, config):
                        raise SystemExit(config)
        """,
    })
    assert call_effects(tmp_path, "app.script", "Run.step", "self.script.get_condition").unknown


def test_a_method_name_too_many_files_define_leaves_an_untyped_call_unknown(tmp_path: Path) -> None:
    files = {
        f"app/plugin{n}.py": "class Plugin:\n    async def get_condition(self, config):\n        pass\n"
        for n in range(MAX_DEFINERS)
    }
    write(tmp_path, {"app/__init__.py": "", "app/script.py": SCRIPT, **files})
    assert call_effects(tmp_path, "app.script", "Run.step", "self.script.get_condition").unknown


def test_an_attribute_annotated_through_its_parameter_has_that_class(tmp_path: Path) -> None:
    write(tmp_path, {"app/__init__.py": "", "app/script.py": SCRIPT.replace("(self, script)", "(self, script: Script)")})
    effects = call_effects(tmp_path, "app.script", "Run.step", "self.script.get_condition")
    assert not effects.unknown
    assert any(path.startswith("self.script.cache") for path in effects.writes)


def test_an_attribute_of_a_library_class_is_the_librarys(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/client.py": """
            from aiohttp import ClientSession

            class Api:
                def __init__(self, http: ClientSession):
                    self.http = http

                async def get(self, url):
                    return await self.http.get(url)
        """,
    })
    effects = call_effects(tmp_path, "app.client", "Api.get", "self.http.get")
    assert not effects.unknown
    assert not effects.writes  # a read of the remote side


def test_a_library_class_the_project_subclasses_is_not_taken_for_the_librarys(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/client.py": """
            from aiohttp import ClientSession

            class Api:
                def __init__(self, session: ClientSession):
                    self.session = session

                async def get(self, url):
                    return await self.session.get(url)
        """,
        "app/mine.py": """
            from aiohttp import ClientSession

            SEEN = []

            class Recording(ClientSession):
                async def get(self, url):
                    SEEN.append(url)
        """,
    })
    assert call_effects(tmp_path, "app.client", "Api.get", "self.session.get").unknown


# -- the remote side ----------------------------------------------------------------


def test_an_add_about_each_item_is_kept_in_order_but_a_delete_is_not(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/menu.py": """
            from discord import Message

            async def react(message: Message, emojis):
                for emoji in emojis:
                    await message.add_reaction(emoji)

            async def clean(message: Message, emojis):
                for emoji in emojis:
                    await message.delete_reaction(emoji)
        """,
    })
    added = call_effects(tmp_path, "app.menu", "react", "message.add_reaction")
    assert "remote:" in added.writes  # the whole remote side: in order
    deleted = call_effects(tmp_path, "app.menu", "clean", "message.delete_reaction")
    assert "remote:" not in deleted.writes
    assert any(path.startswith("remote:") for path in deleted.writes)


# -- module names ------------------------------------------------------------------


def test_a_namespace_package_inside_a_package_is_named_by_its_whole_path(tmp_path: Path) -> None:
    write(tmp_path, {
        "pyproject.toml": "",
        "src/app/__init__.py": "",
        "src/app/plugins/weather.py": "async def fetch(): pass\n",
    })
    index = ProjectIndex.build(tmp_path)
    assert index.modules["app.plugins.weather"] == str(tmp_path / "src/app/plugins/weather.py")


# -- the rules, across files ---------------------------------------------------------

CALLER = """
from .store import load_user, load_prefs


async def page(user_id):
    user = await load_user(user_id)
    prefs = await load_prefs(user_id)
    return user, prefs
"""


def test_awaits_whose_callees_in_another_module_are_independent_are_gathered(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/page.py": CALLER,
        "app/store.py": """
            import asyncio

            USERS = {1: "ada"}
            PREFS = {1: "dark"}

            async def load_user(user_id):
                await asyncio.sleep(0.01)
                return USERS[user_id]

            async def load_prefs(user_id):
                await asyncio.sleep(0.01)
                return PREFS[user_id]
        """,
    })
    assert "user, prefs = await asyncio.gather(" in gather_diff(tmp_path, "app/page.py")


def test_awaits_whose_callees_share_state_are_left_in_order(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/page.py": CALLER,
        "app/store.py": """
            import asyncio

            CACHE = {}

            async def load_user(user_id):
                await asyncio.sleep(0.01)
                CACHE["user"] = user_id
                return user_id

            async def load_prefs(user_id):
                await asyncio.sleep(0.01)
                return CACHE.get("user")
        """,
    })
    assert "gather" not in gather_diff(tmp_path, "app/page.py")


def test_a_warm_cache_sees_a_callee_change_and_a_new_override(tmp_path: Path) -> None:
    """A cached result depends on the files its questions read and on the
    subclasses of the classes whose methods it asked about: a change to
    either makes the next run ask again."""
    write(tmp_path, {
        "pyproject.toml": "",
        "app/__init__.py": "",
        "app/page.py": """
            from .store import Store


            class Page:
                def __init__(self, store: Store):
                    self.store = store

                async def show(self, user_id):
                    user = await self.store.load_user(user_id)
                    prefs = await self.store.load_prefs(user_id)
                    return user, prefs
        """,
        "app/store.py": """
            import asyncio


            class Store:
                def __init__(self):
                    self.users = {}
                    self.prefs = {}

                async def load_user(self, user_id):
                    await asyncio.sleep(0.01)
                    return self.users.get(user_id)

                async def load_prefs(self, user_id):
                    await asyncio.sleep(0.01)
                    return self.prefs.get(user_id)
        """,
    })

    def check() -> str:
        result = run_cli(["check", "--select", "AM201", "--no-progress", "app"], cwd=tmp_path)
        return result.output

    assert "AM201" in check()
    assert "AM201" in check()  # from the cache
    # A subclass in a new file whose override writes what the other reads.
    write(tmp_path, {
        "app/caching.py": """
            import asyncio

            from .store import Store


            class CachingStore(Store):
                async def load_user(self, user_id):
                    await asyncio.sleep(0.01)
                    self.prefs.clear()
                    return None
        """,
    })
    assert "AM201" not in check()
    (tmp_path / "app/caching.py").unlink()
    assert "AM201" in check()
    # The callee itself changes.
    store = tmp_path / "app/store.py"
    store.write_text(store.read_text().replace("return self.users.get(user_id)", "self.prefs[user_id] = 1"))
    assert "self.prefs[user_id] = 1" in store.read_text()
    assert "AM201" not in check()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_shard_sees_the_whole_project(tmp_path: Path, jobs: str) -> None:
    """Whichever files a run is given, the model is the project's: the
    caller alone, on one process or several, finds what the callee does."""
    write(tmp_path, {
        "pyproject.toml": "",
        "app/__init__.py": "",
        "app/page.py": CALLER,
        "app/store.py": """
            CACHE = {}

            async def load_user(user_id):
                CACHE["user"] = user_id

            async def load_prefs(user_id):
                return CACHE.get("user")
        """,
        "app/other.py": "async def unrelated():\n    pass\n",
    })
    result = run_cli(
        ["fix", "--diff", "--unsafe-fixes", "--select", "AM201", "--no-cache", "--no-progress", "-j", jobs,
         "app/page.py", "app/other.py"],
        cwd=tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert "gather" not in result.output


# -- imports inside a function ------------------------------------------------------


@pytest.mark.parametrize(
    ("imports", "call"),
    [
        ("import app.store", "app.store.save"),
        ("from app import store", "store.save"),
        ("from . import store", "store.save"),
        ("from .store import save as _", "_"),
    ],
)
def test_a_call_through_an_import_inside_the_function_reaches_the_callee(tmp_path: Path, imports: str, call: str) -> None:
    write(tmp_path, {
        "pyproject.toml": "",
        "app/__init__.py": "",
        "app/store.py": """
            ROWS = []

            async def save(row):
                ROWS.append(row)
        """,
        "app/views.py": f"""
            async def handle(row):
                {imports}
                await {call}(row)
        """,
    })
    effects = call_effects(tmp_path, "app.views", "handle", call)
    assert not effects.unknown
    assert "g:app.store.ROWS" in effects.writes


def test_a_local_value_named_like_an_imported_module_is_not_that_module(tmp_path: Path) -> None:
    write(tmp_path, {
        "pyproject.toml": "",
        "app/__init__.py": "",
        "app/store.py": "async def save(row):\n    pass\n",
        "app/views.py": """
            from app import store

            async def handle(row, stores):
                for store in stores:
                    await store.save(row)
        """,
    })
    project = Project(ProjectIndex.build(tmp_path))
    function = project.function("app.views", "handle")
    assert function is not None
    # (The loop's iteration is recorded too, as the call ``<iter>``.)
    (call,) = [c for c in function.calls if not c.func.startswith("<")]
    assert project.targets("app.views", function, call) is None


# -- an object of unknown class, end to end -----------------------------------------

DASHBOARD = """
import asyncio
import json
import time


class Dashboard:
    def __init__(self, client):
        self.client = client

    async def load(self):
        sites = await self.client.get_sites()
        name = await self.client.get_name()
        return sites, name


async def main():
    from client import Client

    start = time.perf_counter()
    result = await Dashboard(Client()).load()
    print(json.dumps({"result": result, "elapsed": time.perf_counter() - start}))


asyncio.run(main())
"""

CLIENT = """
import asyncio


class Client:
    def __init__(self):
        self.sites = ["north", "south"]
        self.name = "site controller"

    async def get_sites(self):
        await asyncio.sleep(0.2)
        {change}return list(self.sites)

    async def get_name(self):
        await asyncio.sleep(0.1)
        return self.name
"""


def _dashboard(root: Path, change: str) -> None:
    write(root, {"pyproject.toml": "", "main.py": DASHBOARD, "client.py": CLIENT.format(change=change)})


def _run_dashboard(root: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-B", "main.py"], cwd=root, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_two_reads_of_an_untyped_client_whose_project_class_only_reads_are_gathered(tmp_path: Path) -> None:
    """``self.client`` is untyped; the one project class with those methods
    reads its own state: the two awaits run together, with the same result
    in about half the time."""
    _dashboard(tmp_path, change="")
    before = _run_dashboard(tmp_path)
    assert "sites, name = await asyncio.gather(" in gather_diff(tmp_path, "main.py")
    run_cli(["fix", "--unsafe-fixes", "--select", "AM201", "--no-cache", "--no-progress", "main.py"], cwd=tmp_path)
    after = _run_dashboard(tmp_path)
    assert after["result"] == before["result"]
    assert after["elapsed"] < 0.75 * before["elapsed"]


def test_an_untyped_client_whose_project_class_writes_what_the_other_reads_is_left_in_order(tmp_path: Path) -> None:
    _dashboard(tmp_path, change="self.name = 'renamed'\n        ")
    before = _run_dashboard(tmp_path)
    assert "gather" not in gather_diff(tmp_path, "main.py")
    # Run together, the second read would see the name before the rename.
    naive = (tmp_path / "main.py").read_text().replace(
        "sites = await self.client.get_sites()\n        name = await self.client.get_name()",
        "sites, name = await asyncio.gather(self.client.get_sites(), self.client.get_name())",
    )
    (tmp_path / "main.py").write_text(naive)
    after = _run_dashboard(tmp_path)
    assert after["result"] != before["result"]


def test_a_warm_cache_sees_a_new_project_method_of_an_untyped_calls_name(tmp_path: Path) -> None:
    _dashboard(tmp_path, change="")

    def check() -> str:
        return run_cli(["check", "--select", "AM201", "--no-progress", "main.py"], cwd=tmp_path).output

    assert "AM201" in check()
    assert "AM201" in check()  # from the cache
    write(tmp_path, {"mirror.py": """
        import asyncio


        class Mirror:
            async def get_sites(self):
                await asyncio.sleep(0)
                self.name = "mirrored"
                return []
    """})
    assert "AM201" not in check()


MIRROR = """
import asyncio


class Mirror:
    async def get_title(self):
        await asyncio.sleep(0)
        return "mirror"
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_warm_cache_sees_a_project_method_added_to_a_file_that_was_there(
    tmp_path: Path, jobs: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files of the project stay the same; one of them now defines the
    method: what the cache kept of the project's byte scan is read again."""
    from asyncmend.codemods.model.project import _Scan

    _dashboard(tmp_path, change="")
    write(tmp_path, {"mirror.py": MIRROR})

    def check() -> str:
        return run_cli(["check", "--select", "AM201", "--no-progress", "-j", jobs, "main.py", "mirror.py"], tmp_path).output

    assert "AM201" in check()
    if jobs == "2":
        # The pool's run kept the scan it made for its workers.
        with monkeypatch.context() as patched:
            patched.setattr(_Scan, "of", lambda files: pytest.fail("the project was scanned again"))
            assert "AM201" in check()
    assert "AM201" in check()  # from the cache
    mirrored = "    async def get_sites(self):\n        await asyncio.sleep(0)\n        self.name = 'mirrored'\n        return []\n"
    write(tmp_path, {"mirror.py": MIRROR + "\n" + mirrored})
    assert "AM201" not in check()
    write(tmp_path, {"mirror.py": MIRROR})
    assert "AM201" in check()


# -- calls into libraries and worker threads -----------------------------------------

# A library the project does not hold (on PYTHONPATH, outside the project):
# a remote store whose get sees what an earlier post stored.
FAKE_REMOTE = """
import asyncio

_STORE = {}


async def post_json(path, value):
    await asyncio.sleep(0.1)
    _STORE[path] = value


async def get_json(path):
    await asyncio.sleep(0.05)
    return _STORE.get(path)
"""

SAVE_THEN_LOAD = """
import asyncio
import json

import fakeremote


async def save(value):
    await fakeremote.post_json("/item", value)


async def load():
    return await fakeremote.get_json("/item")


async def main():
    await save(1)
    value = await load()
    return value


print(json.dumps(asyncio.run(main())))
"""


def _run_with_library(root: Path, library: Path) -> object:
    env = {**os.environ, "PYTHONPATH": str(library)}
    done = subprocess.run([sys.executable, "-B", "main.py"], cwd=root, capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_an_awaited_library_function_in_a_callee_reaches_the_remote_side(tmp_path: Path) -> None:
    """``save`` and ``load`` share no name; what they share is the server
    behind the library: a post, then a get of it, stay in order."""
    write(tmp_path / "lib", {"fakeremote.py": FAKE_REMOTE})
    write(tmp_path / "app", {"pyproject.toml": "", "main.py": SAVE_THEN_LOAD})
    assert _run_with_library(tmp_path / "app", tmp_path / "lib") == 1
    assert "gather" not in gather_diff(tmp_path / "app", "main.py")
    # Gathered, the get would answer before the post stored the value.
    naive = SAVE_THEN_LOAD.replace(
        "await save(1)\n    value = await load()", "_, value = await asyncio.gather(save(1), load())"
    )
    write(tmp_path / "app", {"main.py": naive})
    assert _run_with_library(tmp_path / "app", tmp_path / "lib") is None


def _gathered_runs_the_same_faster(app: Path, library: Path) -> None:
    """Run ``app/main.py`` (which prints ``[a, b, seconds]``), let AM201
    gather its two awaits, run it again: the same values, in under 0.75x
    the time."""
    before = _run_with_library(app, library)
    done = run_cli(["fix", "--unsafe-fixes", "--select", "AM201", "--no-cache", "--no-progress", "main.py"], cwd=app)
    assert "a, b = await asyncio.gather(" in (app / "main.py").read_text(), done.output
    after = _run_with_library(app, library)
    assert after[:2] == before[:2] == [1, 2]  # type: ignore[index]
    assert after[2] < 0.75 * before[2]  # type: ignore[index]


THREADS = """
import asyncio
import json
import time

A = {{"x": 1}}
B = {{"y": 2}}


def read_a(key):
    time.sleep(0.2)
    return A.get(key)


def read_b(key):
    time.sleep(0.2)
    {change}return B.get(key)


async def main():
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    a = await asyncio.to_thread(read_a, "x")
    b = await loop.run_in_executor(None, read_b, "y")
    return [a, b, time.perf_counter() - start]


print(json.dumps(asyncio.run(main())))
"""


def test_two_threads_reading_different_state_are_gathered_and_run_together(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "", "main.py": THREADS.format(change="")})
    _gathered_runs_the_same_faster(tmp_path, tmp_path)


def test_a_thread_that_writes_what_the_other_thread_reads_is_left_in_order(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "", "main.py": THREADS.format(change="A['x'] = 3\n    ")})
    assert "gather" not in gather_diff(tmp_path, "main.py")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("requests.get, URL", "requests.get, OTHER"),
        ("requests.post, URL", "requests.get, URL"),
        ("lambda: requests.get(URL)", "requests.get, OTHER"),
        ("input, 'Press enter to go on'", "send, URL"),
    ],
)
def test_library_functions_in_threads_keep_their_order(tmp_path: Path, first: str, second: str) -> None:
    """The model does not see into them: two may not be thread-safe
    together, a post and a get of it are in order, a prompt waits for its
    answer."""
    write(tmp_path, {"pyproject.toml": "", "main.py": f"""
        import asyncio

        import requests

        from .client import send

        URL = "https://example.com/a"
        OTHER = "https://example.com/b"


        async def main():
            first = await asyncio.to_thread({first})
            second = await asyncio.to_thread({second})
            return first, second
    """})
    assert "gather" not in gather_diff(tmp_path, "main.py")


def test_a_prompt_in_a_thread_keeps_its_place_before_a_coroutine(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "", "main.py": """
        import asyncio


        async def main(conversation, emoji):
            await asyncio.to_thread(input, "Press enter to continue")
            await conversation.send_message(emoji)
    """})
    assert "gather" not in gather_diff(tmp_path, "main.py")


def test_a_library_function_run_in_a_thread_by_a_callee_is_one_at_a_time(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "", "main.py": """
        import asyncio

        import requests


        async def save(url, item):
            await asyncio.to_thread(requests.post, url, json=item)


        async def load(url):
            return await asyncio.to_thread(requests.get, url)


        async def main(url):
            await save(url, {"a": 1})
            value = await load(url)
            return value
    """})
    assert "gather" not in gather_diff(tmp_path, "main.py")


def test_a_value_the_function_made_and_hands_to_two_calls_keeps_them_in_order(tmp_path: Path) -> None:
    """``data = []``: no caller sees it, but both statements do; the first
    call fills it, the second sums it."""
    write(tmp_path, {"pyproject.toml": "", "main.py": """
        import asyncio

        async def fill(items, n):
            await asyncio.sleep(0.05)
            items.extend(range(n))

        async def total(items):
            await asyncio.sleep(0)
            return sum(items)

        async def main():
            data = []
            await fill(data, 3)
            t = await total(data)
            return t
    """})
    assert "gather" not in gather_diff(tmp_path, "main.py")


TEXT_OF_A_THING = """
    import asyncio

    SEEN = []

    class Thing:
        def {dunder}(self, *spec):
            SEEN.append("text")
            return "thing"

    async def get_text(t):
        await asyncio.sleep(0.02)
        return {expression}

    async def get_seen():
        await asyncio.sleep(0)
        return len(SEEN)

    async def main(thing):
        a = await get_text(thing)
        n = await get_seen()
        return a, n
"""


@pytest.mark.parametrize(
    ("dunder", "expression"),
    [
        ("__str__", "str(t)"),
        ("__format__", 'f"{t}"'),
        ("__format__", 'f"{t:>8}"'),
        ("__repr__", 'f"{t!r}"'),
        ("__str__", 'f"{t!s}"'),
        ("__str__", '"%s" % t'),
        ("__str__", '"%s-%d" % (t, 1)'),
        ("__format__", '"{}".format(t)'),
        ("__repr__", 'f"{[t, 1]}"'),
        ("__repr__", "str((t, 1))"),
        ("__str__", '"<%(t)s>" % {"t": t}'),
        ("__str__", 'print(t) or "printed"'),
    ],
)
def test_text_made_of_an_object_runs_its_special_methods(tmp_path: Path, dunder: str, expression: str) -> None:
    """``str()``, ``print()``, an f-string, ``%`` and ``str.format`` run the
    special methods that make an object's text (a container's: its items'
    ``repr``): ``Thing``'s writes ``SEEN``, and a call making it and one
    reading ``SEEN`` keep their order."""
    source = TEXT_OF_A_THING.replace("{dunder}", dunder).replace("{expression}", expression)
    write(tmp_path, {"pyproject.toml": "", "main.py": source})
    assert "gather" not in gather_diff(tmp_path, "main.py")


def test_text_of_an_object_whose_class_makes_it_plainly_is_gathered(tmp_path: Path) -> None:
    """The control: the same calls where the special method changes
    nothing are independent."""
    source = TEXT_OF_A_THING.replace("{dunder}", "__format__").replace("{expression}", 'f"{t}"')
    source = source.replace('SEEN.append("text")', "pass")
    write(tmp_path, {"pyproject.toml": "", "main.py": source})
    assert "asyncio.gather(get_text(thing), get_seen())" in gather_diff(tmp_path, "main.py")


@pytest.mark.parametrize(
    ("dunder", "expression"),
    [
        ("__add__", "t + 1"),
        ("__radd__", "1 + t"),
        ("__eq__", 't == "x"'),
        ("__ne__", 't != "x"'),
        ("__lt__", "t < 1"),
        ("__neg__", "-t"),
        ("__bool__", '"yes" if t else "no"'),
        ("__bool__", "not t"),
        ("__len__", "t and 1"),
        ("__contains__", '"k" in t'),
        ("__getitem__", 't["k"]'),
        ("__iter__", "[x for x in t]"),
        ("__iter__", '"-".join(t)'),
        ("__index__", '"%d" % t'),
        ("__format__", '"{}".format(*[t])'),
        ("__bytes__", "bytes(t)"),
        ("__hash__", "len({t: 1})"),
        ("__hash__", "len({t})"),
        ("__hash__", "CACHE[t]"),
        ("__hash__", "t in CACHE"),
    ],
)
def test_an_operator_runs_the_special_methods_of_its_operands(tmp_path: Path, dunder: str, expression: str) -> None:
    """An operator, a truth test, a subscript, an iteration and a join run
    special methods of what they are given, as a builtin does: ``Thing``'s
    writes ``SEEN``, so the two calls keep their order."""
    source = TEXT_OF_A_THING.replace("{dunder}", dunder).replace("{expression}", expression)
    source = source.replace("SEEN = []", "SEEN = []\n    CACHE = {}")
    write(tmp_path, {"pyproject.toml": "", "main.py": source})
    assert "gather" not in gather_diff(tmp_path, "main.py")


@pytest.mark.parametrize(
    ("dunder", "statement"),
    [
        ("__iadd__", "t += 1"),
        ("__setitem__", 't["k"] = 1'),
        ("__delitem__", 'del t["k"]'),
        ("__iter__", "for _ in t:\n            pass"),
        ("__iter__", "a, b = t"),
        ("__enter__", "with t:\n            pass"),
        ("__bool__", "while t:\n            break"),
        ("__bool__", "assert t"),
        ("__hash__", "CACHE[t] = 1"),
    ],
)
def test_a_statement_runs_the_special_methods_of_what_it_is_given(tmp_path: Path, dunder: str, statement: str) -> None:
    source = TEXT_OF_A_THING.replace("{dunder}", dunder).replace("return {expression}", statement + "\n        return 1")
    source = source.replace("SEEN = []", "SEEN = []\n    CACHE = {}")
    write(tmp_path, {"pyproject.toml": "", "main.py": source})
    assert "gather" not in gather_diff(tmp_path, "main.py")


THING_DEF = '''        def {dunder}(self, *spec):
            SEEN.append("text")
            return "thing"
'''


def test_a_special_method_bound_by_assignment_is_unknown(tmp_path: Path) -> None:
    """``__format__ = _describe`` in the class body: no ``def`` names the
    special method, and the model does not guess it away."""
    source = TEXT_OF_A_THING.replace(THING_DEF, "        __format__ = _describe\n").replace(
        "    class Thing:", '    def _describe(self, spec):\n        SEEN.append("text")\n        return "thing"\n\n    class Thing:'
    ).replace("{expression}", 'f"{t}"')
    assert "__format__ = _describe" in source and "{dunder}" not in source
    write(tmp_path, {"pyproject.toml": "", "main.py": source})
    assert "gather" not in gather_diff(tmp_path, "main.py")


def test_operators_of_classes_whose_special_methods_change_nothing_are_gathered(tmp_path: Path) -> None:
    """The control: an ``__eq__`` that compares fields (through itself:
    ``self.key == other.key`` may run ``__eq__`` again) and a
    ``__getitem__`` that reads change nothing, and the calls using them are
    independent."""
    source = TEXT_OF_A_THING.replace(
        THING_DEF,
        "        def __init__(self, key):\n            self.key = key\n\n"
        "        def __eq__(self, other):\n            return isinstance(other, Thing) and self.key == other.key\n\n"
        "        def __getitem__(self, name):\n            return self.key[name]\n",
    ).replace("{expression}", 't == Thing("x") and t["k"]')
    assert "__eq__" in source
    write(tmp_path, {"pyproject.toml": "", "main.py": source})
    assert "asyncio.gather(get_text(thing), get_seen())" in gather_diff(tmp_path, "main.py")


COMPARED_THING = """
import asyncio
import json

SEEN = []


class Thing:
    def __eq__(self, other):
        {body}
        return False

    __hash__ = object.__hash__


async def render(t):
    await asyncio.sleep(0.02)
    await asyncio.sleep(0)
    return t == "x"


async def seen_so_far():
    await asyncio.sleep(0)
    return len(SEEN)


async def main():
    t = Thing()
    a = await render(t)
    n = await seen_so_far()
    print(json.dumps([a, n]))


asyncio.run(main())
"""
GATHERED = [("    a = await render(t)\n    n = await seen_so_far()\n", "    a, n = await asyncio.gather(render(t), seen_so_far())\n")]


def test_a_comparison_that_records_what_it_saw_keeps_the_order_it_runs_in(tmp_path: Path) -> None:
    """Run, not read: ``__eq__`` appends to ``SEEN``; the original prints
    ``[false, 1]``, the two calls gathered would print ``[false, 0]``, and
    ``fix`` leaves the program as it was."""
    files = {"pyproject.toml": "", "main.py": COMPARED_THING.replace("{body}", "SEEN.append(other)")}
    guarded_across_files(tmp_path, files, "main.py", GATHERED, "", "--unsafe-fixes", "--select", "AM201")


def test_a_comparison_that_changes_nothing_is_gathered_and_prints_the_same(tmp_path: Path) -> None:
    files = {"pyproject.toml": "", "main.py": COMPARED_THING.replace("{body}", "pass")}
    fixed = fixed_across_files(tmp_path, files, "main.py", "--unsafe-fixes", "--select", "AM201")
    assert "asyncio.gather(render(t), seen_so_far())" in fixed


ANY_CLASS_OF_METHOD = """
    import asyncio

    TOTAL = {"n": 0}

    class Source:
        async def get_value(self):
            ...

    {answerer}

    class Peek:
        async def get_value(self):
            await asyncio.sleep(0)
            return TOTAL["n"]

    async def go(a, b):
        x = await a.get_value()
        y = await b.get_value()
        return x, y
"""

BUMP = """
async def _bump(self):
    await asyncio.sleep(0.03)
    TOTAL["n"] += 1
    return TOTAL["n"]
"""


@pytest.mark.parametrize(
    "answerer",
    [
        BUMP + "\nclass Counter:\n    get_value = _bump\n",
        "class Proxy:\n    def __getattr__(self, name):\n        return _bump.__get__(self)\n" + BUMP,
        BUMP + "\nclass Counter:\n    if True:\n        get_value = _bump\n",
        BUMP + "\nclass Counter:\n    try:\n        get_value = _bump\n    except NameError:\n        pass\n",
        BUMP + "\nclass Counter:\n    def __init__(self):\n        self.get_value = self._count\n\n"
        "    async def _count(self):\n        return await _bump(self)\n",
        BUMP + "\nclass Counter:\n    pass\n\nCounter.get_value = _bump\n",
        BUMP + "\nclass Counter:\n    pass\n\nsetattr(Counter, 'get_value', _bump)\n",
        BUMP + "\ndef make_counter():\n    class Counter:\n        get_value = _bump\n\n    return Counter()\n",
        BUMP + "\nCounter = type('Counter', (), {'get_value': _bump})\n",
        BUMP + "\nclass Meta(type):\n    def __new__(mcls, name, bases, ns):\n        ns['get_value'] = _bump\n"
        "        return super().__new__(mcls, name, bases, ns)\n\n\nclass Counter(metaclass=Meta):\n    pass\n",
        BUMP + "\nclass Base:\n    def __init_subclass__(cls, **kwargs):\n        name = f'get_{cls.__name__.lower()}'\n"
        "        setattr(cls, name, _bump)\n\n\nclass Value(Base):\n    pass\n",
        BUMP + "\nNAMESPACE = {'get_value': _bump}\nCounter = type('Counter', (), NAMESPACE)\n",
    ],
    ids=[
        "method-bound-by-assignment", "getattr", "bound-under-if", "bound-under-try",
        "stored-on-the-instance", "set-on-the-class-after-it", "setattr", "bound-in-a-class-made-in-a-function",
        "type-namespace", "metaclass-namespace", "hook-sets-a-name-pattern", "type-namespace-held-in-a-name",
    ],
)
def test_a_method_of_an_object_of_unknown_class_may_be_one_no_def_names(tmp_path: Path, answerer: str) -> None:
    """``a.get_value()`` on an object of unknown class: a class that binds
    the name in its body by assignment, or answers any name by
    ``__getattr__``, may be the one that runs, and it writes ``TOTAL``."""
    source = ANY_CLASS_OF_METHOD.replace("    {answerer}", textwrap.indent(answerer, "    "))
    write(tmp_path, {"pyproject.toml": "", "main.py": source})
    assert "gather" not in gather_diff(tmp_path, "main.py")


def test_a_method_no_def_of_the_project_names_may_be_bound_in_a_class_body_elsewhere(tmp_path: Path) -> None:
    """No ``def get_value`` anywhere: two classes of other files bind it by
    assignment, one to a function that writes ``TOTAL``. The name is not
    a library's method."""
    write(tmp_path, {
        "pyproject.toml": "",
        "state.py": 'TOTAL = {"n": 0}\n',
        "counter.py": """
            import asyncio
            from state import TOTAL

            async def _bump(self):
                await asyncio.sleep(0.03)
                TOTAL["n"] += 1
                return TOTAL["n"]

            class Counter:
                get_value = _bump
        """,
        "peek.py": """
            import asyncio
            from state import TOTAL

            async def _peek(self):
                await asyncio.sleep(0)
                return TOTAL["n"]

            class Peek:
                get_value = _peek
        """,
        "core.py": """
            async def go(a, b):
                x = await a.get_value()
                y = await b.get_value()
                return x, y
        """,
    })
    assert "gather" not in gather_diff(tmp_path, "core.py")


def test_a_method_of_an_object_of_unknown_class_that_every_class_reads_is_gathered(tmp_path: Path) -> None:
    """The control: every class defining ``get_value`` by ``def`` reads."""
    source = ANY_CLASS_OF_METHOD.replace("    {answerer}", "")
    write(tmp_path, {"pyproject.toml": "", "main.py": source})
    assert "asyncio.gather(a.get_value(), b.get_value())" in gather_diff(tmp_path, "main.py")


# -- classes made without code of their own ---------------------------------------------

FAKE_CLIENT = """
import asyncio

_STORE = {"a": 1, "b": 2}


class Client:
    async def get(self, key):
        await asyncio.sleep(0.2)
        return _STORE.get(key)
"""

RAISES_NOT_FOUND = """
import asyncio
import json
import time

import fakeclient


class NotFound(LookupError):
    \"\"\"No such key.\"\"\"


async def fetch(client, key):
    value = await client.get(key)
    if value is None:
        raise NotFound(key)
    return value


async def main():
    client = fakeclient.Client()
    start = time.perf_counter()
    a = await fetch(client, "a")
    b = await fetch(client, "b")
    return [a, b, time.perf_counter() - start]


print(json.dumps(asyncio.run(main())))
"""


def test_raising_a_project_exception_class_without_init_leaves_the_callee_known(tmp_path: Path) -> None:
    """``raise NotFound(key)`` makes an object of a class that runs no code
    of its own: two fetches that may raise it read the client alone."""
    write(tmp_path / "lib", {"fakeclient.py": FAKE_CLIENT})
    write(tmp_path / "app", {"pyproject.toml": "", "main.py": RAISES_NOT_FOUND})
    _gathered_runs_the_same_faster(tmp_path / "app", tmp_path / "lib")


@pytest.mark.parametrize(
    "made",
    [
        # code of its own when made
        "class Made(Exception):\n    def __init__(self, key):\n        LOG.append(key)\n",
        "class Made:\n    def __new__(cls, key):\n        LOG.append(key)\n        return object.__new__(cls)\n",
        # a library's class, or a decorator's, may run anything
        "import somelib\n\nclass Made(somelib.Error):\n    pass\n",
        # a library's class named like a builtin exception
        "from somelib.errors import ConnectionError\n\nclass Made(ConnectionError):\n    pass\n",
        "from dataclasses import dataclass\n\n@dataclass\nclass Made:\n    key: str\n\n    def __post_init__(self):\n        LOG.append(self.key)\n",
        "class Base:\n    def __init__(self, key):\n        LOG.append(key)\n\nclass Made(Base):\n    pass\n",
    ],
)
def test_a_class_whose_making_runs_code_is_not_taken_for_a_bare_one(tmp_path: Path, made: str) -> None:
    write(tmp_path, {"app/__init__.py": "", "app/m.py": "LOG = []\n\n" + made + "\n\ndef make(key):\n    return Made(key)\n"})
    project = Project(ProjectIndex.build(tmp_path))
    function = project.function("app.m", "make")
    assert function is not None
    effects = project.call_effects("app.m", "make", function.calls[0], function)
    # The bare answer would be the arguments read and nothing written.
    assert effects.unknown or effects.writes, effects


# -- callables handed in and called with what the caller passed ------------------------

# A hub that runs jobs in worker threads for its callers and keeps their
# futures in one of two sets (home-assistant's ``async_add_executor_job``).
HUB_JOBS = """
import asyncio
import json
import time

A = {"k": 1}
B = {"k": 2}


class Hub:
    def __init__(self):
        self.loop = asyncio.get_running_loop()
        self._tasks = set()
        self._background_tasks = set()

    def add_job(self, target, *args):
        task = self.loop.run_in_executor(None, target, *args)
        tracked = asyncio.current_task() in self._tasks
        bucket = self._tasks if tracked else self._background_tasks
        bucket.add(task)
        task.add_done_callback(bucket.remove)
        return task


def read_a(key):
    time.sleep(0.2)
    return A.get(key)


def read_b(key):
    time.sleep(0.2)
    return B.get(key)


async def fetch_both(hub: Hub):
    start = time.perf_counter()
    a = await hub.add_job(read_a, "k")
    b = await hub.add_job(read_b, "k")
    return [a, b, time.perf_counter() - start]


async def main():
    return await fetch_both(Hub())


print(json.dumps(asyncio.run(main())))
"""


def test_jobs_a_hub_runs_in_threads_for_the_caller_are_gathered_when_independent(tmp_path: Path) -> None:
    """``hub.add_job(read_a, "k")`` runs ``read_a("k")`` in a thread and
    hands back its future: the model reads ``read_a`` at the call, and the
    set the future is kept in, one of two, is the hub's own bookkeeping."""
    write(tmp_path, {"pyproject.toml": "", "main.py": HUB_JOBS})
    _gathered_runs_the_same_faster(tmp_path, tmp_path)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # the second job writes what the first reads
        ("    time.sleep(0.2)\n    return B.get(key)", "    time.sleep(0.2)\n    A[key] = 5\n    return B.get(key)"),
        # the hub passes on other arguments than the caller's
        ("    def add_job(self, target, *args):\n", "    def add_job(self, target, *args):\n        args = (A,)\n"),
        ("None, target, *args)", "None, target, *args, *args)"),
        # the hub does not hand the future back: the thread runs on unwaited
        ("        return task\n", "        return None\n"),
        # the hub runs another callable than the one it was given
        ("    def add_job(self, target, *args):\n", "    def add_job(self, target, *args):\n        target = read_b\n"),
        # a coroutine hands the future back: its caller's await is the coroutine's
        ("    def add_job(self, target, *args):\n", "    async def add_job(self, target, *args):\n"),
        # the job is a callable the caller was handed itself
        ("async def fetch_both(hub: Hub):", "async def fetch_both(hub: Hub, read_a=read_a):"),
    ],
)
def test_a_job_the_model_cannot_pin_down_is_left_in_order(tmp_path: Path, old: str, new: str) -> None:
    assert old in HUB_JOBS
    write(tmp_path, {"pyproject.toml": "", "main.py": HUB_JOBS.replace(old, new, 1)})
    assert "gather" not in gather_diff(tmp_path, "main.py")


def test_a_local_bound_to_one_of_two_paths_reads_and_writes_both(tmp_path: Path) -> None:
    write(tmp_path, {"app/__init__.py": "", "app/m.py": """
        class Box:
            def __init__(self):
                self.a = []
                self.b = []

            def put(self, item, first):
                bucket = self.a if first else self.b
                bucket.append(item)

            def pick(self, first):
                chosen = self.a if first else self.b
                return chosen

        def use(box: Box):
            box.put(1, True)
    """})
    project = Project(ProjectIndex.build(tmp_path))
    function = project.function("app.m", "use")
    assert function is not None
    put = project.call_effects("app.m", "use", function.calls[0], function)
    assert {"box.a", "box.b"} <= put.writes, put
    # Handed back, it may be either: a value of unknown origin.
    assert project.returns("app.m", "Box.pick") == "?"


def test_a_function_imported_from_a_pure_standard_module_changes_nothing(tmp_path: Path) -> None:
    write(tmp_path, {"app/__init__.py": "", "app/m.py": """
        from glob import glob
        from ipaddress import ip_address
        from json import dump

        def save(obj, fp):
            dump(obj, fp)

        def public(addr):
            return ip_address(addr).is_global

        def listed(pattern):
            return glob(pattern)
    """})
    project = Project(ProjectIndex.build(tmp_path))
    assert project.effects("app.m", "public").writes == frozenset()
    # The file system is no pure module's: glob is judged as a library's.
    assert project.effects("app.m", "listed").writes
    # A pure module's function that writes into what it is given.
    assert "$1" in project.effects("app.m", "save").writes


# -- a module's singletons -------------------------------------------------------------

SINGLETONS = """
import asyncio


class Settings:
    def __init__(self):
        self.values = {"a": 1, "b": 2}

    async def get_value(self, key):
        await asyncio.sleep(0.1)
        return self.values.get(key)

    async def set_value(self, key, value):
        await asyncio.sleep(0.1)
        self.values[key] = value


class Translator:
    def __init__(self, name):
        self.name = name

    def __call__(self, text):
        return text.upper()


settings = Settings()
_ = Translator("app")
"""

USES = """
import asyncio

from .config import settings, _


async def show():
    a = await settings.get_value("a")
    b = await settings.get_value("b")
    return _(str(a)), b


async def update():
    await settings.set_value("a", 3)
    b = await settings.get_value("a")
    return b
"""


def test_a_module_singleton_has_the_class_it_was_made_of(tmp_path: Path) -> None:
    """``settings = Settings()`` at module level, imported elsewhere: its
    methods are the class's; ``_ = Translator(...)`` called runs
    ``Translator.__call__``."""
    write(tmp_path, {"pyproject.toml": "", "app/__init__.py": "", "app/config.py": SINGLETONS, "app/main.py": USES})
    write_effects = call_effects(tmp_path, "app.main", "update", "settings.set_value")
    assert "g:app.config.settings.values[]" in write_effects.writes
    assert not call_effects(tmp_path, "app.main", "show", "_").unknown
    diff = gather_diff(tmp_path, "app/main.py")
    assert "a, b = await asyncio.gather(" in diff
    assert diff.count("gather(") == 1  # the write then the read stay in order


@pytest.mark.parametrize(
    "rebinding",
    [
        "\n\ndef reset():\n    global settings\n    settings = Settings()\n",
        "\n\nif __debug__:\n    settings = Settings()\n",
        "\n\nfor settings in [Settings()]:\n    pass\n",
    ],
)
def test_a_module_name_bound_more_than_once_is_no_singleton(tmp_path: Path, rebinding: str) -> None:
    write(tmp_path, {
        "pyproject.toml": "", "app/__init__.py": "", "app/config.py": SINGLETONS + rebinding, "app/main.py": USES,
    })
    assert call_effects(tmp_path, "app.main", "update", "settings.set_value").unknown


def test_a_loop_rebinding_its_item_to_a_call_of_it_is_answered(tmp_path: Path) -> None:
    """``x = await passthrough(x)``: ``x`` is the result of a call whose
    argument is ``x``; asking what it is must end."""
    write(tmp_path, {"pyproject.toml": "", "main.py": """
        import asyncio


        async def passthrough(value):
            return value


        async def render(items):
            for x in items:
                x = await passthrough(x)
                await asyncio.sleep(0)


        async def fetch():
            return 1


        async def main():
            await render([1, 2])
            await fetch()
    """})
    result = run_cli(["check", "--select", "AM201,AM202", "--no-cache", "--no-progress", "main.py"], cwd=tmp_path)
    assert result.exit_code in (0, 1), result.output
    assert "internal error" not in result.output


# -- which event loop runs a module that imports none ------------------------------------

CODEGEN = """
import time

from .server import lookup


async def emit(config):
    time.sleep(0.01)
    header = await render_header(config)
    body = await render_body(config)
    return header + body


async def render_header(config):
    return await lookup(config, "name")


async def render_body(config):
    return await lookup(config, "body")
"""

SERVER = "import asyncio\n\n\nasync def lookup(config, key):\n    await asyncio.sleep(0.01)\n    return config[key]\n"


@pytest.mark.parametrize(
    ("other", "named"),
    [
        ("def run(coro):\n    try:\n        coro.send(None)\n    except StopIteration as done:\n        return done.value\n",
         "a coroutine driver of the project's own"),
        ("def start(job):\n    steps = job().__await__()\n    return next(steps)\n", "a coroutine driver of the project's own"),
        ("from twisted.internet import defer\n\n\nasync def later():\n    await defer.succeed(None)\n", "Twisted's reactor"),
    ],
)
def test_a_project_that_runs_coroutines_without_asyncio_gets_no_asyncio_fix(
    tmp_path: Path, other: str, named: str
) -> None:
    """The project imports asyncio somewhere, and also steps coroutines
    itself (ESPHome's code generation), or runs Twisted: a module that
    imports no event loop's library may run under either."""
    write(tmp_path, {
        "pyproject.toml": "",
        "app/__init__.py": "",
        "app/server.py": SERVER,
        "app/driver.py": other,
        "app/codegen.py": CODEGEN,
    })
    result = run_cli(["check", "--unsafe-fixes", "--no-cache", "--no-progress", "app/codegen.py"], cwd=tmp_path)
    assert "AM101" in result.output and "AM201" in result.output, result.output
    assert "fixable" not in result.output.splitlines()[-1] or "0 fixable" in result.output, result.output
    assert named in result.output


def test_a_project_that_runs_asyncio_alone_gets_the_asyncio_fix(tmp_path: Path) -> None:
    write(tmp_path, {
        "pyproject.toml": "",
        "app/__init__.py": "",
        "app/server.py": SERVER,
        "app/codegen.py": CODEGEN,
    })
    result = run_cli(["check", "--unsafe-fixes", "--no-cache", "--no-progress", "app/codegen.py"], cwd=tmp_path)
    assert "2 fixable" in result.output, result.output


@pytest.mark.parametrize(
    ("other", "fixable"),
    [
        # anyio's streams, on the loop the project starts: asyncio's
        ("from anyio.streams.memory import MemoryObjectSendStream\n\n\nasync def push(stream: MemoryObjectSendStream, item):\n"
         "    await stream.send(item)\n\n\ndef main():\n    asyncio.run(push(None, 1))\n", True),
        # anyio's runner, whose backend may be trio
        ("import anyio\n\n\nasync def main():\n    await anyio.sleep(0)\n\n\nanyio.run(main, backend='trio')\n", False),
        # code that asks which loop runs it
        ("import sniffio\nimport trio\n\n\ndef which():\n    return sniffio.current_async_library()\n", False),
        # trio's runner, imported by name, or trio under another name
        ("from trio import run, sleep\n\n\nasync def nap():\n    await sleep(0)\n\n\nrun(nap)\n", False),
        ("import trio as t\n\n\nasync def nap():\n    await t.sleep(0)\n\n\nstart = t.run\n", False),
        # trio imported for a library's sake and never used: no trio code
        ("import trio  # noqa: F401\n", True),
    ],
)
def test_a_project_that_imports_anyio_but_starts_asyncio_alone_gets_the_asyncio_fix(
    tmp_path: Path, other: str, fixable: bool
) -> None:
    write(tmp_path, {
        "pyproject.toml": "",
        "app/__init__.py": "",
        # (the project starts asyncio's loop in every case)
        "app/server.py": SERVER + "\n\ndef serve():\n    asyncio.run(lookup({}, 'a'))\n",
        "app/streams.py": "import asyncio\n" + other,
        "app/codegen.py": CODEGEN,
    })
    result = run_cli(["check", "--unsafe-fixes", "--no-cache", "--no-progress", "app/codegen.py"], cwd=tmp_path)
    assert ("2 fixable" in result.output) is fixable, result.output


@pytest.mark.parametrize(
    ("backend", "sleep", "gathered"),
    [("asyncio", "await asyncio.sleep(1)", True), ("trio", "await trio.sleep(1)", False), ("auto", "time.sleep(1)", False)],
)
def test_the_async_backend_setting_names_the_loop_of_a_module_that_imports_none(
    tmp_path: Path, backend: str, sleep: str, gathered: bool
) -> None:
    """A project that imports trio and starts no loop itself (a library):
    ``auto`` cannot tell which loop runs ``work``; the setting can."""
    write(tmp_path, {
        "pyproject.toml": f"[tool.asyncmend]\nasync-backend = \"{backend}\"\n",
        "app/__init__.py": "",
        "app/nap.py": "import asyncio\nimport trio\n\n\nasync def nap():\n    await trio.sleep(0)\n",
        "app/m.py": "import time\n\n\nasync def work(client):\n    time.sleep(1)\n    a = await client.get_a()\n    b = await client.get_b()\n    return a, b\n",
    })
    run_cli(["fix", "--unsafe-fixes", "--no-cache", "--no-progress", "app/m.py"], cwd=tmp_path)
    text = (tmp_path / "app" / "m.py").read_text()
    assert sleep in text, text
    assert ("asyncio.gather(" in text) is gathered, text


# -- how the model is read ----------------------------------------------------------

TABLE_SOURCE = '''
import asyncio

def helper(x):
    return x

if asyncio:
    def helper(x):  # a second definition: the first written is the one kept
        return x.value

class Box:
    @property
    def size(self):
        return self._size

    @size.setter
    def size(self, value):
        self._size = value

    async def fill(self, items):
        async def one(item):
            def inner():
                return item
            self.items.append(item)
        for item in items:
            await one(item)

def outer():
    def one():
        pass
    return one
'''


def test_a_lazy_function_table_reads_what_module_facts_reads_in_the_same_order() -> None:
    import ast

    from asyncmend.codemods.model.facts import FunctionTable, module_facts

    eager = module_facts(ast.parse(TABLE_SOURCE), "m", False).functions
    # Asked one by one (methods and nested functions included), then iterated.
    lazy = module_facts(ast.parse(TABLE_SOURCE), "m", False, lazy=True).functions
    assert isinstance(lazy, FunctionTable)
    for name in ("helper", "Box.size", "Box.fill", "missing", "Box.fill.<locals>.one"):
        assert lazy.get(name) == eager.get(name)
        assert (name in lazy) == (name in eager)
    assert list(lazy.items()) == list(eager.items())
    assert "Box.fill.<locals>.one.<locals>.inner" in eager
    assert eager["helper"].returns == ["x"]  # the first written, not x.value
    # Only asked for, a function is read alone and still the same.
    alone = module_facts(ast.parse(TABLE_SOURCE), "m", False, lazy=True).functions
    assert alone["Box.size"] == eager["Box.size"]
    assert module_facts(ast.parse(TABLE_SOURCE), "m", False, lazy=True).to_json() == module_facts(
        ast.parse(TABLE_SOURCE), "m", False
    ).to_json()


def test_a_function_table_past_its_keepers_budget_parses_its_bytes_again_and_reads_the_same() -> None:
    import ast

    from asyncmend.codemods.model.facts import TreeKeeper, module_facts

    eager = module_facts(ast.parse(TABLE_SOURCE), "m", False).functions
    data = TABLE_SOURCE.encode()
    # Room for one module's tree: reading the second lets the first's go.
    keeper = TreeKeeper(budget=len(data))
    first = module_facts(ast.parse(data), "m", False, lazy=True, source=data, keeper=keeper).functions
    assert first.get("Box.fill") == eager["Box.fill"]  # read while its tree is kept
    second = module_facts(ast.parse(data), "m", False, lazy=True, source=data, keeper=keeper).functions
    assert first._nodes is None  # the first's tree went
    assert second.get("helper") == eager["helper"]
    # Asked again, the first parses its bytes again (and the second's tree
    # goes): a nested function of a function read before its tree went,
    # and the rest, as module_facts reads them.
    assert first.get("Box.fill.<locals>.one") == eager["Box.fill.<locals>.one"]
    assert second._nodes is None
    assert list(first.items()) == list(eager.items())
    assert list(second.items()) == list(eager.items())


def test_the_project_index_reads_the_files_bytes_only_when_asked(tmp_path: Path) -> None:
    import pickle

    write(tmp_path, {
        "app/__init__.py": "",
        "app/base.py": "import trio\n\nclass Device:\n    def refresh(self):\n        pass\n",
        "app/lamp.py": "from .base import Device\n\nclass Lamp(Device):\n    pass\n",
    })
    index = ProjectIndex.build(tmp_path)
    assert "_scanned" not in index.__dict__
    assert index.loops == {"trio"}
    # The loops are read apart: asking them reads no def or class.
    assert "_scanned" not in index.__dict__
    assert index.files[index.defined["refresh"][0]].endswith("base.py")
    assert [bases for _, bases in index.classes["Lamp"]] == [("Device",)]
    # Handed to a pool's workers, what was read goes with the index.
    handed = pickle.loads(pickle.dumps(index)).__dict__
    assert handed["_scanned"] == index.scan() and handed["_loops"] == index.loops


@pytest.mark.parametrize(
    "data",
    [
        b"class A:\n    def f(self): return undef  y\n\tasync  def g(self): pass\n",
        b"def top():\n  async\tdef inner():\n    x = 'def quoted'\n",
        b"def module_level():\n    pass\n#    def commented\n",
        b"import asyncio_extras\nfrom trio import x\n  import anyio",
        b"x = 'import asyncio'\nimport twisted.internet\n#import curio\n",
        b"from  curio.x import y\r\nimport asyncio",
    ],
)
def test_the_byte_scan_finds_indented_defs_and_loop_imports_as_line_patterns_do(data: bytes) -> None:
    import re

    from asyncmend.codemods.model.project import indented_defs, loop_imports

    defs = re.compile(rb"^[ \t]+(?:async[ \t]+)?def[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)
    loops = re.compile(rb"^[ \t]*(?:import|from)[ \t]+(asyncio|trio|anyio|curio|twisted)\b", re.MULTILINE)
    assert indented_defs(data) == set(defs.findall(data))
    assert loop_imports(data) == set(loops.findall(data))


GLOBALS_SOURCES = [
    TABLE_SOURCE,
    "import m\nclass A:\n    class B:\n        def f(self):\n            global x\n            x = 1\nsettings = m.S()\n",
    "def f():\n    class Local:\n        def run(self):\n            pass\n    return Local\n",
    "import helpers\nhelpers.register(globals())\nvalue = helpers.Value()\n",
    "# -*- coding: latin-1 -*-\nname = 'caf\xe9'\ng = globals\ng()['x'] = 1\n",
]


@pytest.mark.parametrize("source", GLOBALS_SOURCES)
def test_module_facts_read_the_same_with_the_bytes_or_text_that_may_spare_a_walk(source: str) -> None:
    import ast

    from asyncmend.codemods.model.facts import module_facts

    data = source.encode("latin-1" if "latin-1" in source else "utf-8")
    alone = module_facts(ast.parse(data), "m", False).to_json()
    assert module_facts(ast.parse(data), "m", False, source=data).to_json() == alone
    assert module_facts(ast.parse(source), "m", False, text=source).to_json() == alone


WALKED_SOURCE = '''
async def f(items, point):
    try:
        result = [await g(x) for x in items if x]
    except* ValueError as group:
        result = {k: v for k, v in group}
    match point:
        case {"x": x, **rest} if x > 0:
            lambda y=x: (yield y)
        case _:
            pass
    async with lock as held, other():
        global counter
        counter += 1
'''


@pytest.mark.parametrize("source", [TABLE_SOURCE, WALKED_SOURCE, *GLOBALS_SOURCES])
def test_the_models_walks_give_what_ast_gives_in_its_order(source: str) -> None:
    import ast

    from asyncmend.codemods.model.facts import child_nodes, statement_nodes, walk

    tree = ast.parse(source)
    everything = list(ast.walk(tree))
    assert walk(tree) == everything
    assert all(child_nodes(node) == list(ast.iter_child_nodes(node)) for node in everything)
    holding = (ast.stmt, ast.excepthandler, ast.match_case)
    assert statement_nodes(tree) == [tree, *(n for n in everything if isinstance(n, holding))]


# -- the words by which a library's calls are read ------------------------------------

NOUN_GETTERS = """
    import asyncio

    import tankerkoenig


    async def update(client: tankerkoenig.Client, a, b):
        first = await client.prices(a)
        second = await client.prices(b)
        return first, second


    async def both(session: tankerkoenig.Pool, a, b):
        first = await session.get_prices(a)
        second = await session.get_prices(b)
        return first, second
"""


def test_read_verbs_and_single_operation_words_are_options(tmp_path: Path) -> None:
    """By default ``prices`` says nothing of reading (two calls keep their
    order) and a ``session`` is one connection; a project whose library
    reads by nouns and whose sessions are pools says so."""
    write(tmp_path, {"pyproject.toml": "", "main.py": NOUN_GETTERS})
    assert "gather" not in gather_diff(tmp_path, "main.py")

    write(tmp_path, {"pyproject.toml": '[tool.asyncmend]\nread-verbs = ["get", "prices"]\n'})
    diff = gather_diff(tmp_path, "main.py")
    assert "asyncio.gather(client.prices(a), client.prices(b))" in diff
    assert "session.get_prices(a), session.get_prices(b)" not in diff

    write(tmp_path, {"pyproject.toml": '[tool.asyncmend]\nsingle-operation-words = ["conn", "ws"]\n'})
    diff = gather_diff(tmp_path, "main.py")
    assert "asyncio.gather(session.get_prices(a), session.get_prices(b))" in diff
    assert "client.prices(a), client.prices(b)" not in diff


# -- the class of a container's items ------------------------------------------------

ITEMS_OF_A_CONTAINER = """
    import asyncio
    from typing import Iterable, Sequence


    class Device:
        def __init__(self, name):
            self.name = name
            self.state = None

        async def update_state(self):
            await asyncio.sleep(0.1)
            return self.name


    async def refresh(devices: ANNOTATION):
        for device in devices:
            await device.update_state()
"""


@pytest.mark.parametrize(
    ("annotation", "gathered"),
    [
        ("list[Device]", True),
        ("Sequence[Device]", True),
        ("Iterable[Device]", True),
        ('"set[Device]"', True),
        ("tuple[Device, ...]", True),
        ("tuple[Device, Device]", False),
        ("dict[str, Device]", False),
        ("list[list[Device]]", False),
        ("list", False),
    ],
)
def test_a_loop_variable_is_of_the_class_its_container_declares(tmp_path: Path, annotation: str, gathered: bool) -> None:
    """Iterating a list, a sequence, a set or a homogeneous tuple gives its
    items, of the declared class; a mapping gives its keys, a fixed tuple
    items of several classes, a bare ``list`` anything."""
    write(tmp_path, {"pyproject.toml": "", "main.py": ITEMS_OF_A_CONTAINER.replace("ANNOTATION", annotation)})
    diff = gather_diff(tmp_path, "main.py")
    assert ("asyncio.gather(*(device.update_state() for device in devices))" in diff) is gathered


@pytest.mark.parametrize(("annotation", "gathered"), [("list[Device]", False), ("set[Device]", True)])
def test_a_method_changing_its_item_is_gathered_only_over_different_objects(
    tmp_path: Path, annotation: str, gathered: bool
) -> None:
    """``update_state`` sets ``self.state`` after it suspends: a list may
    hold one device twice, whose two calls would then change it at once; a
    set's items are different objects."""
    source = ITEMS_OF_A_CONTAINER.replace("ANNOTATION", annotation).replace(
        "            return self.name\n", "            self.state = self.name\n"
    )
    write(tmp_path, {"pyproject.toml": "", "main.py": source})
    diff = gather_diff(tmp_path, "main.py")
    assert ("asyncio.gather(*(device.update_state() for device in devices))" in diff) is gathered


def test_a_property_declared_to_return_a_container_types_its_items(tmp_path: Path) -> None:
    """``for device in self.devices`` with ``@property def devices(self) ->
    set[Device]``: each item a ``Device``, whose method the model reads."""
    write(tmp_path, {"pyproject.toml": "", "main.py": """
        import asyncio


        class Device:
            def __init__(self, name):
                self.name = name
                self.state = None

            async def update_state(self):
                await asyncio.sleep(0.1)
                self.state = self.name


        class Hub:
            def __init__(self, devices):
                self._devices = devices

            @property
            def devices(self) -> set[Device]:
                return set(self._devices)

            async def refresh(self):
                for device in self.devices:
                    await device.update_state()
    """})
    assert "asyncio.gather(*(device.update_state() for device in self.devices))" in gather_diff(tmp_path, "main.py")


def test_a_name_the_module_binds_over_a_builtin_is_the_module_s(tmp_path: Path) -> None:
    """``sorted`` defined in the module counts what it sorts in ``CALLS``:
    it is no builtin, and a call of it and a read of ``CALLS`` keep their
    order; an f-string in a module that defines ``format`` still runs the
    builtin."""
    write(tmp_path, {"pyproject.toml": "", "main.py": """
        import asyncio

        CALLS = []

        def sorted(items):
            CALLS.append(len(items))
            return list(items)

        def format(value):
            CALLS.append(value)
            return str(value)

        async def ordered(items):
            await asyncio.sleep(0.02)
            return sorted(items)

        async def label(x):
            await asyncio.sleep(0.02)
            return f"{x}"

        async def tally():
            await asyncio.sleep(0)
            return len(CALLS)

        async def main(items):
            a = await ordered(items)
            n = await tally()
            return a, n

        async def labels(x, y):
            a = await label(x)
            b = await label(y)
            return a, b
    """})
    diff = gather_diff(tmp_path, "main.py")
    assert "asyncio.gather(ordered(items), tally())" not in diff
    assert "asyncio.gather(label(x), label(y))" in diff


def test_a_classmethod_called_on_its_class_writes_the_class_s_attributes(tmp_path: Path) -> None:
    """``Job.note()`` bumps ``cls.started``: a call that runs it and a call
    that reads ``Job.started`` keep their order."""
    write(tmp_path, {"pyproject.toml": "", "main.py": """
        import asyncio


        class Job:
            started = 0

            @classmethod
            def note(cls):
                cls.started += 1


        async def run_job(name):
            await asyncio.sleep(0.01)
            Job.note()
            return name


        async def peek():
            await asyncio.sleep(0)
            return Job.started


        async def main():
            a = await run_job("a")
            b = await peek()
            return a, b
    """})
    assert "gather" not in gather_diff(tmp_path, "main.py")


@pytest.mark.parametrize(
    "reader",
    [
        "async def check(name):\n    await asyncio.sleep(0)\n    return name in cache\n",
        "async def check(name, store=CACHE):\n    await asyncio.sleep(0)\n    return name in store\n",
        "async def check(name, store=cache):\n    await asyncio.sleep(0)\n    return name in store\n",
    ],
    ids=["module-level-alias", "default-parameter", "default-of-an-alias"],
)
def test_one_module_object_under_another_name_is_the_same_object(tmp_path: Path, reader: str) -> None:
    """``cache = CACHE`` at module level, or a parameter left to its
    default ``CACHE``: reading it reads what ``load`` writes."""
    source = (
        "import asyncio\n\nCACHE = {}\ncache = CACHE\n\n\n"
        "async def load(name):\n    await asyncio.sleep(0.01)\n    CACHE[name] = 1\n\n\n"
        + reader
        + "\n\nasync def main():\n    await load('a')\n    found = await check('a')\n    return found\n"
    )
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "main.py").write_text(source)
    assert "gather" not in gather_diff(tmp_path, "main.py")


def test_a_parameter_left_to_an_immutable_default_is_no_one_s(tmp_path: Path) -> None:
    """The control: ``limit=10`` and ``name=None`` share nothing."""
    write(tmp_path, {"pyproject.toml": "", "main.py": """
        import asyncio

        CACHE = {}


        async def load(name, limit=10):
            await asyncio.sleep(0.01)
            CACHE[name] = limit


        async def fetch(name=None):
            await asyncio.sleep(0)
            return name


        async def main():
            await load("a")
            found = await fetch("b")
            return found
    """})
    assert "asyncio.gather(load('a'), fetch('b'))" in gather_diff(tmp_path, "main.py").replace('"', "'")


# -- names the model knows the type of without a class statement ---------------------

KEYED = """
    import asyncio

    SEEN = []

    class Ledger:
        def get(self, key):
            SEEN.append(key)

        def __getattr__(self, name):
            SEEN.append(name)

    async def get_a(hub):
        await asyncio.sleep(0.02)
        return {a}

    async def get_b(hub):
        await asyncio.sleep(0.02)
        return {b}

    async def main(hub):
        a = await get_a(hub)
        b = await get_b(hub)
        return a, b
"""


def keyed(a: str, b: str) -> str:
    return KEYED.replace("{a}", a).replace("{b}", b)


def test_a_type_bound_to_a_builtin_by_an_alias_is_the_builtin(tmp_path: Path) -> None:
    """``Registry = dict`` in another module (a typing shim's runtime
    side): ``hub.data`` is a dict, whose ``get`` reads; not a ``Ledger``,
    whose ``get`` would write."""
    main = keyed('hub.data.get("a")', 'hub.data.get("b")').replace(
        "    async def get_a(hub):", "    class Hub:\n        def __init__(self):\n            self.data = Registry()\n\n    async def get_a(hub: Hub):"
    ).replace("async def get_b(hub):", "async def get_b(hub: Hub):").replace("import asyncio", "import asyncio\n    from kinds import Registry")
    write(tmp_path, {"pyproject.toml": "", "kinds.py": "Registry = dict\n", "main.py": main})
    assert "asyncio.gather(get_a(hub), get_b(hub))" in gather_diff(tmp_path, "main.py")
    # The control: an alias of a class of the project is that class.
    write(tmp_path, {"kinds.py": "from main import Ledger\nRegistry = Ledger\n"})
    assert "gather" not in gather_diff(tmp_path, "main.py")


def test_an_objects_namespace_is_a_dict(tmp_path: Path) -> None:
    """``obj.__dict__`` is a dict whatever ``obj`` is: its ``get`` reads."""
    write(tmp_path, {"pyproject.toml": "", "main.py": keyed('hub.__dict__.get("a")', 'hub.__dict__.get("b")')})
    assert "asyncio.gather(get_a(hub), get_b(hub))" in gather_diff(tmp_path, "main.py")
    # The control: an attribute of an object of unknown class may be a Ledger.
    write(tmp_path, {"main.py": keyed('hub.items.get("a")', 'hub.items.get("b")')})
    assert "gather" not in gather_diff(tmp_path, "main.py")


def test_getattr_runs_getattr_of_its_object_alone(tmp_path: Path) -> None:
    """``hasattr(text, NAME)`` runs ``__getattr__`` of ``text``, a str, and
    of nothing else: not of the name it is given, which the model cannot
    type (a module constant). (``getattr`` with a computed name is opaque.)"""
    main = keyed("hasattr(hub, NAME)", "hasattr(hub, NAME)").replace(
        "async def get_a(hub):", "async def get_a(hub: str):").replace("async def get_b(hub):", "async def get_b(hub: str):"
    ).replace("SEEN = []", 'SEEN = []\n    NAME = "upper"')
    write(tmp_path, {"pyproject.toml": "", "main.py": main})
    assert "asyncio.gather(get_a(hub), get_b(hub))" in gather_diff(tmp_path, "main.py")
    # The control: the object itself of unknown class may be a Ledger.
    write(tmp_path, {"main.py": main.replace("hub: str", "hub")})
    assert "gather" not in gather_diff(tmp_path, "main.py")


# -- properties ------------------------------------------------------------------------

GETTER = TEXT_OF_A_THING.replace(
    THING_DEF, "        @property\n        def label(self):\n            {body}\n            return \"thing\"\n"
)


@pytest.mark.parametrize(
    "expression",
    [
        "t.label", "t.label.upper()", "[t.label for _ in range(2)]",
        '"<{0.label}>".format(t)', '"{x.label}".format(x=t)', '"{}-{.label}".format(1, t)',
    ],
)
def test_reading_a_property_runs_its_getter(tmp_path: Path, expression: str) -> None:
    """``t.label`` runs ``Thing.label``, which writes ``SEEN``: the call
    reading it and the one reading ``SEEN`` keep their order."""
    source = GETTER.replace("{body}", 'SEEN.append("label")').replace("{expression}", expression)
    write(tmp_path, {"pyproject.toml": "", "main.py": source})
    assert "gather" not in gather_diff(tmp_path, "main.py")


def test_a_getter_that_changes_nothing_is_gathered(tmp_path: Path) -> None:
    source = GETTER.replace("{body}", "pass").replace("{expression}", "t.label")
    write(tmp_path, {"pyproject.toml": "", "main.py": source})
    assert "asyncio.gather(get_text(thing), get_seen())" in gather_diff(tmp_path, "main.py")


def test_a_getter_of_a_typed_object_in_another_module_runs(tmp_path: Path) -> None:
    """The object's class is known (an annotation) and defined in another
    module: its getter is the one that runs, wherever it is."""
    thing = 'SEEN = []\n\n\nclass Thing:\n    @property\n    def label(self):\n        SEEN.append("label")\n        return "thing"\n'
    main = GETTER.replace(
        '''    SEEN = []

    class Thing:
        @property
        def label(self):
            {body}
            return "thing"
''', "    from things import SEEN, Thing\n").replace("async def get_text(t):", "async def get_text(t: Thing):").replace(
        "{expression}", "t.label"
    )
    write(tmp_path, {"pyproject.toml": "", "things.py": thing, "main.py": main})
    assert "gather" not in gather_diff(tmp_path, "main.py")


def test_the_getter_of_an_awaited_calls_receiver_runs_before_the_call(tmp_path: Path) -> None:
    """``await box.api.fetch()``: ``Box.api`` runs as the statement makes
    the call, and writes ``SEEN``, which the call before it reads; gathered,
    the getter would run before that call starts."""
    source = """
    import asyncio

    SEEN = []

    class Api:
        async def fetch(self):
            await asyncio.sleep(0.02)
            return 1

    class Box:
        @property
        def api(self):
            {body}
            return Api()

    async def get_seen():
        await asyncio.sleep(0)
        return len(SEEN)

    async def main(box: Box):
        n = await get_seen()
        a = await box.api.fetch()
        return a, n
    """
    write(tmp_path, {"pyproject.toml": "", "main.py": source.replace("{body}", 'SEEN.append("api")')})
    assert "gather" not in gather_diff(tmp_path, "main.py")
    # The control: a getter that changes nothing.
    write(tmp_path, {"main.py": source.replace("{body}", "pass")})
    assert "asyncio.gather(get_seen(), box.api.fetch())" in gather_diff(tmp_path, "main.py")


@pytest.mark.parametrize(("body", "gathered"), [('SEEN.append("label")', False), ("pass", True)])
def test_reading_an_attribute_bound_to_a_descriptor_runs_its_get(tmp_path: Path, body: str, gathered: bool) -> None:
    """``label = Desc()`` in the class body: reading ``t.label`` runs
    ``Desc.__get__``, which writes ``SEEN`` (or, in the control, nothing)."""
    source = GETTER.replace(
        '''    class Thing:
        @property
        def label(self):
            {body}
            return "thing"
''', '''    class Desc:
        def __get__(self, obj, owner):
            {body}
            return "thing"

    class Thing:
        label = Desc()
''').replace("{body}", body).replace("{expression}", "t.label")
    write(tmp_path, {"pyproject.toml": "", "main.py": source})
    assert ("asyncio.gather(get_text(thing), get_seen())" in gather_diff(tmp_path, "main.py")) is gathered


def test_a_getter_of_a_class_with_a_hook_runs_as_written(tmp_path: Path) -> None:
    """``Thing`` has an ``__init_subclass__`` (what its subclasses hold may
    not be what their bodies say): its getter as written still runs, and a
    plain attribute of it stays a plain read."""
    hook = "    class Thing:\n        def __init_subclass__(cls, **kwargs):\n            super().__init_subclass__(**kwargs)\n\n"
    source = GETTER.replace("    class Thing:\n", hook).replace("async def get_text(t):", "async def get_text(t: Thing):")
    write(tmp_path, {"pyproject.toml": "", "main.py": source.replace("{body}", 'SEEN.append("label")').replace("{expression}", "t.label")})
    assert "gather" not in gather_diff(tmp_path, "main.py")
    write(tmp_path, {"main.py": source.replace("{body}", 'SEEN.append("label")').replace("{expression}", "t.name")})
    assert "asyncio.gather(get_text(thing), get_seen())" in gather_diff(tmp_path, "main.py")


def test_a_name_pattern_a_hook_sets_answers_for_those_names_alone(tmp_path: Path) -> None:
    """``setattr(cls, f"_attr_{name}", ...)`` in a metaclass binds names
    with that prefix alone: ``a.get_value()`` is still ``Peek``'s."""
    hook = (
        "class Meta(type):\n    def __init__(cls, name, bases, ns):\n        for key in ns.get('cached', ()):\n"
        "            attr = f'_attr_{key}'\n            setattr(cls, attr, None)\n"
    )
    source = ANY_CLASS_OF_METHOD.replace("    {answerer}", textwrap.indent(hook, "    ")).replace(
        "    class Source:\n        async def get_value(self):\n            ...\n", ""
    ).replace('TOTAL["n"]', "1").replace('TOTAL = {"n": 0}', "")
    write(tmp_path, {"pyproject.toml": "", "main.py": source})
    assert "asyncio.gather(a.get_value(), b.get_value())" in gather_diff(tmp_path, "main.py")


@pytest.mark.parametrize(
    "proxy",
    [
        # In a module the caller's module does not import: the object is
        # handed in from elsewhere.
        {"proxy.py": "class Proxy:\n    def __getattr__(self, name):\n        return _bump.__get__(self)\n"},
        # A subclass of a class the module does not see, in a third module.
        {"base.py": "class Base:\n    def __getattribute__(self, name):\n        return _bump.__get__(self)\n",
         "proxy.py": "from base import Base\n\n\nclass Proxy(Base):\n    pass\n"},
        # Bound by assignment in the class body.
        {"proxy.py": "def _lookup(self, name):\n    return _bump.__get__(self)\n\n\nclass Proxy:\n    __getattr__ = _lookup\n"},
    ],
    ids=["not-imported", "subclass-elsewhere", "bound-by-assignment"],
)
def test_a_class_that_answers_any_name_anywhere_may_be_an_objects(tmp_path: Path, proxy: dict[str, str]) -> None:
    """``a.get_value()`` on an object of unknown class, in a module that
    imports no class answering any name: one elsewhere in the project may
    still be the object's class."""
    bump = "import asyncio\nfrom main import TOTAL\n" + BUMP
    files = {name: text.replace("class ", bump + "\n\nclass ", 1) if "__get" in text else text for name, text in proxy.items()}
    write(tmp_path, {"pyproject.toml": "", "main.py": ANY_CLASS_OF_METHOD.replace("    {answerer}", ""), **files})
    assert "gather" not in gather_diff(tmp_path, "main.py")


def test_a_modules_own_getattr_answers_for_no_object(tmp_path: Path) -> None:
    """A module-level ``__getattr__`` (PEP 562) answers for its module's
    names alone: the two reads of unknown class are gathered."""
    source = ANY_CLASS_OF_METHOD.replace("    {answerer}", "").replace(
        "    class Source:\n        async def get_value(self):\n            ...\n", ""
    )
    write(tmp_path, {
        "pyproject.toml": "",
        "main.py": source.replace('TOTAL["n"]', '1').replace('TOTAL = {"n": 0}', ""),
        "compat.py": "def __getattr__(name):\n    raise AttributeError(name)\n",
    })
    assert "asyncio.gather(a.get_value(), b.get_value())" in gather_diff(tmp_path, "main.py")
