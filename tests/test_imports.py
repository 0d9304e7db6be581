"""An import a fix made unused goes; one whose name is still used anywhere stays."""

from __future__ import annotations

import pytest

from codemods import Settings, fix_source

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
