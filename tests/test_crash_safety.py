"""A ``fix`` run killed at any moment leaves every file whole.

Each file is replaced through a temporary file and a rename, so a SIGKILL can
only ever leave the original or the complete fixed version. It can leave the
temporary file itself (between its creation and the rename); the next ``fix``
that writes into that directory removes it, and it never touches a temporary
file whose writer is still running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from asyncmend.codemods import Settings, fix_source
from asyncmend.codemods.source.write import TEMP_SUFFIX, remove_stale_temporaries, write_atomic

ROOT = Path(__file__).resolve().parent.parent
FILES = 2000

# A few shapes, so that the expected fixed text of each is computed once.
TEMPLATES = (
    b"import time\n\n\nasync def handler():\n    time.sleep(0.1)\n    return 1\n",
    b"import time as t\r\n\r\nasync def handler():\r\n    t.sleep(0.1)  # keep\r\n",
    b"from time import sleep\nimport asyncio as aio\n\nasync def handler():\n\tsleep(1)\n",
)


def _cli(*args: str, cwd: Path) -> list[str]:
    return [sys.executable, "-m", "asyncmend.cli", *args]


def _env() -> dict[str, str]:
    return dict(os.environ)


def _tree(root: Path) -> dict[Path, int]:
    """``FILES`` files, 60 per directory; returns each file's template index."""
    which: dict[Path, int] = {}
    for i in range(FILES):
        directory = root / f"pkg{i // 60:03d}"
        directory.mkdir(exist_ok=True)
        path = directory / f"mod{i:04d}.py"
        path.write_bytes(TEMPLATES[i % len(TEMPLATES)])
        which[path] = i % len(TEMPLATES)
    return which


def _leftovers(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.name.endswith(TEMP_SUFFIX))


def test_sigkill_during_fix_leaves_every_file_original_or_fully_fixed(tmp_path: Path) -> None:
    fixed = [fix_source(t, Settings()).output for t in TEMPLATES]
    assert all(f != t for f, t in zip(fixed, TEMPLATES))
    which = _tree(tmp_path)
    sample = sorted(which)[: FILES // 2 : 7]  # the first half is written first

    proc = subprocess.Popen(
        _cli("fix", "--no-progress", "-j", "2", str(tmp_path), cwd=tmp_path),
        cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    # Kill once the run is well under way, but long before it is done.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        written = sum(path.read_bytes() != TEMPLATES[which[path]] for path in sample)
        if written >= 5:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed: make the tree larger"
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)  # reaped: its pid is no longer alive
    # The workers die with the run: none goes on writing, none waits forever.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.05)
    survivors = [pid for pid in workers if _alive(pid)]
    for pid in survivors:  # do not leave them behind when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not survivors, "worker processes outlived the killed run"

    counts = {"original": 0, "fixed": 0}
    for path, index in which.items():
        data = path.read_bytes()
        if data == TEMPLATES[index]:
            counts["original"] += 1
        else:
            assert data == fixed[index], f"{path} is neither its original nor its fixed version"
            counts["fixed"] += 1
    assert counts["fixed"] >= 5 and counts["original"] > 0, counts
    # Whatever the kill left must be asyncmend's own temporary files, nothing else.
    for leftover in _leftovers(tmp_path):
        assert leftover.name.startswith(".mod") and leftover.parent in {p.parent for p in which}

    # A second run completes the job where the kill struck (the directories
    # that hold a leftover, and the one the run was in) and leaves no
    # temporary file anywhere. (Only there: a full second run over thousands
    # of files would make this test minutes long.)
    frontier = next(path.parent for path in sorted(which) if path.read_bytes() == TEMPLATES[which[path]])
    again = sorted({frontier, *(leftover.parent for leftover in _leftovers(tmp_path))})
    done = subprocess.run(
        _cli("fix", "--no-progress", "-j", "2", *map(str, again), cwd=tmp_path),
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert all(path.read_bytes() == fixed[index] for path, index in which.items() if path.parent in again)
    assert _leftovers(tmp_path) == []


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc; empty elsewhere)."""
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat_file.parent.name))
    return found


def _alive(pid: int) -> bool:
    """Alive and not a zombie (a zombie writes nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_next_write_removes_temporaries_of_a_killed_run_only(tmp_path: Path) -> None:
    target = tmp_path / "app.py"
    target.write_bytes(b"x = 1\n")
    stale = tmp_path / f".app.py.{_dead_pid()}.k3j9x_2a{TEMP_SUFFIX}"
    stale.write_bytes(b"half a fi")
    live = tmp_path / f".other.py.{os.getppid()}.abcdefgh{TEMP_SUFFIX}"
    live.write_bytes(b"being written by a run still going")
    mine = tmp_path / f".third.py.{os.getpid()}.abcdefgh{TEMP_SUFFIX}"
    mine.write_bytes(b"being written by this process")
    foreign = tmp_path / f"notes{TEMP_SUFFIX}"  # not a name asyncmend makes
    foreign.write_bytes(b"")

    write_atomic(target, b"x = 2\n", expected=b"x = 1\n")

    assert target.read_bytes() == b"x = 2\n"
    assert not stale.exists()
    assert live.exists() and mine.exists() and foreign.exists()
    # Once per directory and process: a second write does not scan again.
    assert remove_stale_temporaries(tmp_path) == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="zombies are told apart through /proc")
def test_a_temporary_of_a_writer_left_a_zombie_is_stale(tmp_path: Path) -> None:
    # A killed run's worker whose parent died too may stay a zombie until
    # something reaps it: it writes nothing more, so its file is stale.
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(zombie.pid):
        time.sleep(0.01)
    try:
        target = tmp_path / "app.py"
        target.write_bytes(b"x = 1\n")
        stale = tmp_path / f".app.py.{zombie.pid}.k3j9x_2a{TEMP_SUFFIX}"
        stale.write_bytes(b"half a fi")
        assert Path(f"/proc/{zombie.pid}").exists()  # not reaped: a zombie
        write_atomic(target, b"x = 2\n", expected=b"x = 1\n")
        assert not stale.exists()
    finally:
        zombie.wait()


def test_write_leaves_no_temporary_and_keeps_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "app.py"
    target.write_bytes(b"x = 1\n")
    target.chmod(0o751)
    write_atomic(target, b"x = 2\n", expected=b"x = 1\n")
    assert target.read_bytes() == b"x = 2\n"
    assert (target.stat().st_mode & 0o777) == 0o751
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_write_through_a_symlink_replaces_the_target_not_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.py"
    real.write_bytes(b"x = 1\n")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    write_atomic(link, b"x = 2\n", expected=b"x = 1\n")
    assert link.is_symlink() and real.read_bytes() == b"x = 2\n"
    assert _leftovers(tmp_path) == []


def test_a_real_temporary_name_carries_the_writers_pid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The names write_atomic makes are the names the cleanup recognises."""
    from asyncmend.codemods.source import write as _engine

    target = tmp_path / "app.py"
    target.write_bytes(b"x = 1\n")

    def fail_replace(src: str, dst: object) -> None:
        raise OSError(5, "simulated failure before the rename")

    monkeypatch.setattr(os, "replace", fail_replace)
    monkeypatch.setattr(os, "unlink", lambda path: None)  # as if killed before cleaning up
    with pytest.raises(_engine.SourceError):
        write_atomic(target, b"x = 2\n", expected=b"x = 1\n")
    monkeypatch.undo()
    [leftover] = _leftovers(tmp_path)
    match = _engine._TEMP_NAME.match(leftover.name)
    assert match is not None and int(match.group("pid")) == os.getpid()
    assert target.read_bytes() == b"x = 1\n"


def test_a_directory_that_refuses_the_temporary_file_is_a_write_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only directory refuses the temporary file itself: that is a
    file that cannot be written, reported as such, not an internal error."""
    from asyncmend.codemods.source import write as _engine

    target = tmp_path / "app.py"
    target.write_bytes(b"x = 1\n")

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied", str(tmp_path / ".app.py.tmp"))

    monkeypatch.setattr(_engine.tempfile, "mkstemp", refuse)
    with pytest.raises(_engine.SourceError, match=r"^cannot write: Permission denied$"):
        write_atomic(target, b"x = 2\n", expected=b"x = 1\n")
    assert target.read_bytes() == b"x = 1\n"
