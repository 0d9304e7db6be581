from __future__ import annotations

import pytest

# The fixtures are programs for the rules to read, some of them a project
# with its own tests: never collected as tests of asyncmend.
collect_ignore_glob = ["fixtures/*"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-fixtures",
        action="store_true",
        help="Rewrite each fixture's .after.py from the current output (review with git diff).",
    )


@pytest.fixture
def update_fixtures(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-fixtures"))
