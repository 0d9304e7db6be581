"""The project model (codemods.model): what a call may read, write and
whether it may suspend, told across modules, and when it cannot be told.

Each test writes a small project to a temporary directory and asks the model
about one call, or runs the gather rules on it through the CLI. The answers
that matter most are the unknown ones: a rewrite rests on the model knowing
every function a call may run."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from asyncmend.codemods.model.project import MAX_OVERRIDES, Effects, Project, ProjectIndex
from tests.helpers import run_cli


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


# -- objects of classes the model does not know ------------------------------------


def test_an_object_of_unknown_class_whose_method_the_project_defines_is_unknown(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/script.py": """
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
        """,
    })
    assert call_effects(tmp_path, "app.script", "Run.step", "self.script.get_condition").unknown


def test_an_attribute_annotated_through_its_parameter_has_that_class(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/script.py": """
            class Script:
                def __init__(self):
                    self.cache = {}

                async def get_condition(self, config):
                    self.cache[config] = object()

            class Run:
                def __init__(self, script: Script):
                    self.script = script

                async def step(self, config):
                    await self.script.get_condition(config)
        """,
    })
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
    (call,) = function.calls
    assert project.targets("app.views", function, call) is None


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
    assert index.files[index.defined["refresh"][0]].endswith("base.py")
    assert [bases for _, bases in index.classes["Lamp"]] == [("Device",)]
    # Handed to a pool's workers, the scan goes with the index.
    assert pickle.loads(pickle.dumps(index)).__dict__["_scanned"] == index.scan()
