"""`fix --report FILE`: a Markdown migration report to paste into a pull
request, with `fix` and `fix --diff` (with `--verify`: tests/test_verify.py).
A summary per rule, then each finding's place, rule and outcome."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import run_cli

# One finding of each outcome: a safe fix (AM101), an unsafe one (AM201),
# and one reported without a fix (AM101 under a thread lock).
SERVICE = '''\
import asyncio
import threading
import time

lock = threading.Lock()


async def fetch_user(uid):
    await asyncio.sleep(0)
    return {"id": uid}


async def fetch_orders(uid):
    await asyncio.sleep(0)
    return [uid]


async def page(uid):
    user = await fetch_user(uid)
    orders = await fetch_orders(uid)
    return user, orders


async def pause():
    time.sleep(1)


async def guarded():
    with lock:
        time.sleep(1)
'''


def report_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_fix_diff_report_tells_each_finding_in_the_diff_unsafe_or_without_a_fix(tmp_path: Path) -> None:
    (tmp_path / "service.py").write_text(SERVICE)

    result = run_cli(["fix", "--diff", "--no-cache", "-j", "1", "--report", "report.md", "."], tmp_path)

    assert result.exit_code == 0
    assert (tmp_path / "service.py").read_text() == SERVICE  # --diff writes only the report
    lines = report_lines(tmp_path / "report.md")
    assert lines[0] == "# asyncmend migration report"
    assert (
        "asyncmend would apply 1 fix in 1 file, of 3 findings in 1 file checked. "
        "Fixes: safe only (unsafe ones need `--unsafe-fixes`)."
    ) in lines
    assert "| rule | findings | in the diff | unsafe, not applied | not applied | reported without a fix |" in lines
    assert "| AM101 blocking-sleep | 2 | 1 | 0 | 0 | 1 |" in lines
    assert "| AM201 sequential-awaits | 1 | 0 | 1 | 0 | 0 |" in lines
    assert "| **all** | **3** | **1** | **1** | **0** | **1** |" in lines
    rows = [line for line in lines if line.startswith("| `service.py:")]
    assert [row.split(" | ")[0] for row in rows] == ["| `service.py:19:5`", "| `service.py:25:5`", "| `service.py:30:9`"]
    assert rows[0].endswith("| unsafe, not applied (`--unsafe-fixes` applies it) |")
    assert rows[1].endswith("| in the diff |")
    # The reason a finding has no fix is its outcome, not part of its message.
    assert rows[2].endswith(
        "| `time.sleep()` blocks the event loop; use `await asyncio.sleep()` | reported without a fix: inside a "
        "plain `with` or after a plain `.acquire()`, which may hold a thread lock that another task would then "
        "block on while this one waits |"
    )


def test_fix_report_with_unsafe_fixes_tells_them_applied(tmp_path: Path) -> None:
    (tmp_path / "service.py").write_text(SERVICE)
    (tmp_path / "broken.py").write_text("def f(:\n")

    result = run_cli(["fix", "--unsafe-fixes", "--no-cache", "-j", "1", "--report", "report.md", "."], tmp_path)

    assert result.exit_code == 2  # the broken file
    assert "asyncio.gather(" in (tmp_path / "service.py").read_text()
    lines = report_lines(tmp_path / "report.md")
    assert (
        "asyncmend applied 2 fixes in 1 file, of 3 findings in 2 files checked. "
        "Fixes: safe and unsafe (`--unsafe-fixes`)."
    ) in lines
    assert "| AM201 sequential-awaits | 1 | 1 | 0 | 0 | 0 |" in lines
    assert sum(line.endswith("| applied |") for line in lines) == 2
    assert lines[-3:-1] == ["## Files not processed", ""]
    assert lines[-1].startswith("- `broken.py`: syntax error")


def test_a_report_that_cannot_be_written_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "service.py").write_text(SERVICE)

    result = run_cli(["fix", "--diff", "--no-cache", "-j", "1", "--report", "missing/report.md", "."], tmp_path)

    assert result.exit_code == 2
    assert "error: --report: cannot write missing/report.md: No such file or directory" in result.output
