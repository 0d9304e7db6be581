"""A scratch copy of the project, where ``fix --verify`` tries fixes and runs
the project's tests. The user's tree is only read while the tests run; what
passed is written to it at the end, by the caller.

Where the project is a git checkout the copy is a temporary ``git worktree``
of ``HEAD`` (cheap: no virtualenv, build output or other ignored file comes
along) with the working tree's uncommitted changes brought over: modified,
added, renamed, deleted and untracked files that are not ignored. Elsewhere
it is a copy of the project's directory, less the caches of tools. Either
way it is removed when the run ends, however it ends (an exception or
Ctrl-C), and so is git's note of the worktree. A run killed with SIGKILL
can leave only the temporary directory and that note, which ``git worktree
prune`` clears once the directory is gone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator, Sequence

# Caches of tools, never worth copying: each is rebuilt where it is missing.
CACHE_NAMES = (
    "__pycache__", ".asyncmend_cache", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", ".tox", ".nox",
)


class ScratchError(Exception):
    """The scratch copy cannot be made or used; the message says why."""


def _git_env() -> dict[str, str]:
    """The environment for git, less what a hook or an outer git sets: a run
    from inside a hook must ask about the project, not the hook's repository."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX")
    }


def _git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[bytes] | None:
    """``git ARGS`` in ``cwd``, never touching the index or running a hook
    (``None`` when git is not installed)."""
    try:
        return subprocess.run(
            ["git", "--no-optional-locks", "-c", f"core.hooksPath={os.devnull}", *args],
            cwd=cwd, env=_git_env(), capture_output=True, stdin=subprocess.DEVNULL,
        )
    except OSError:
        return None


def git_toplevel(directory: Path) -> Path | None:
    """The top of the git checkout holding ``directory``; ``None`` outside one."""
    done = _git(["rev-parse", "--show-toplevel"], directory)
    if done is None or done.returncode != 0:
        return None
    top = os.fsdecode(done.stdout.rstrip(b"\n"))
    return Path(os.path.realpath(top)) if top else None


def inside(path: Path, directory: Path) -> bool:
    """Whether ``path`` is ``directory`` or under it (both real paths)."""
    return path == directory or directory in path.parents


def project_root(paths: Sequence[str], cwd: Path, config_root: Path | None) -> Path:
    """The directory the scratch copy copies, with real paths: the git
    checkout that holds the ``paths``; else the current directory, or the
    directory of the configuration in use, when it holds them all; else the
    deepest directory that does."""
    real = [Path(os.path.realpath(path)) for path in paths]
    folders = [path if path.is_dir() else path.parent for path in real]
    common = Path(os.path.commonpath([str(folder) for folder in folders]))
    top = git_toplevel(common)
    if top is not None:
        return top
    for candidate in (cwd, config_root):
        if candidate is not None:
            candidate = Path(os.path.realpath(candidate))
            if all(inside(path, candidate) for path in real):
                return candidate
    return common


class Stopped(KeyboardInterrupt):
    """SIGTERM (a cancelled CI job, ``kill``) or SIGHUP (the terminal went
    away) while the fixes are verified: the run stops as after Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# The signals that stop a run as Ctrl-C does (those this platform has).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _raise_stopped(signum: int, frame: object) -> None:
    raise Stopped(signum)


@contextlib.contextmanager
def stops_as_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Stopped` (a
    ``KeyboardInterrupt``): by default they end the process where it
    stands, which would leave the copy and git's note of its worktree
    behind. A signal the user ignores (``nohup``) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(signum, _raise_stopped)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def interrupts_deferred(*, then_raise: bool = True) -> Iterator[None]:
    """Hold off Ctrl-C (and the signals of :func:`stops_as_interrupts`)
    while the block runs (removing the copy, writing the fixes that passed):
    stopped halfway, it would leave a worktree behind or a tree half
    migrated. The block is short; a signal that came meanwhile is raised
    after it as its interrupt, or, with ``then_raise=False`` (the block
    finished the work), dropped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, *STOP_SIGNALS)}
    for signum, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(signum, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
    if received and then_raise:
        raise KeyboardInterrupt if received[0] == signal.SIGINT else Stopped(received[0])


class Scratch:
    """The copy of ``root`` at ``tree``. Files are written into it by their
    path relative to ``root``."""

    def __init__(self, root: Path, tree: Path, git: bool) -> None:
        self.root = root
        self.tree = tree
        self.git = git
        # Each batch of writes stamps its files one second later than the
        # last: Python trusts a cached .pyc whose source has the same size
        # and modification second, and two versions of a file written within
        # a second often have the same size.
        self._stamp = int(time.time()) + 1

    def where(self, relative: Path) -> Path:
        """The copy's counterpart of ``root / relative``."""
        return self.tree / relative

    def write(self, files: dict[Path, bytes]) -> None:
        """Write ``files`` (by path relative to ``root``) into the copy, so
        that the next run of the tests sees exactly these bytes."""
        if not files:
            return
        self._stamp += 1
        for relative, data in files.items():
            target = self.tree / relative
            # Never through a link: the copy's link may point into the user's tree.
            real = Path(os.path.realpath(target))
            if not inside(real, Path(os.path.realpath(self.tree))) or target.is_symlink():
                raise ScratchError(f"{relative}: the copy of this file is a link out of the copy; not written")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            os.utime(target, (self._stamp, self._stamp))
            for cached in (target.parent / "__pycache__").glob(f"{target.stem}.*.pyc"):
                with contextlib.suppress(OSError):
                    cached.unlink()


@contextlib.contextmanager
def scratch_copy(root: Path) -> Iterator[Scratch]:
    """A scratch copy of ``root`` (a real path) for the block; removed after it."""
    # Real, as git lists its worktrees.
    parent = Path(os.path.realpath(tempfile.mkdtemp(prefix="asyncmend-verify-")))
    tree = parent / Path(root).name
    checkout = git_toplevel(root) == root
    try:
        git = checkout and _add_worktree(root, tree)
        if git:
            _bring_over_changes(root, tree)
        else:
            _copy_tree(root, tree, parent)
        yield Scratch(root, tree, git)
    finally:
        with interrupts_deferred():
            # Also where `git worktree add` was interrupted: it may have
            # noted the worktree before it stopped.
            if checkout and _listed_worktree(root, tree):
                _git(["worktree", "remove", "--force", str(tree)], root)
            shutil.rmtree(parent, ignore_errors=True)
            if checkout and _listed_worktree(root, tree):
                _git(["worktree", "prune"], root)


def _add_worktree(root: Path, tree: Path) -> bool:
    done = _git(["worktree", "add", "--detach", "--quiet", str(tree), "HEAD"], root)
    return done is not None and done.returncode == 0


def _listed_worktree(root: Path, tree: Path) -> bool:
    done = _git(["worktree", "list", "--porcelain"], root)
    return done is not None and b"worktree " + os.fsencode(tree) + b"\n" in done.stdout


def _bring_over_changes(root: Path, tree: Path) -> None:
    """Make the worktree of ``HEAD`` what the checkout is now: each path git
    reports as changed or untracked (not ignored) is copied, or removed
    where the checkout no longer has it."""
    done = _git(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"], root)
    if done is None or done.returncode != 0:
        raise ScratchError("git status failed: " + (done.stderr.decode(errors="replace").strip() if done else ""))
    for entry in done.stdout.split(b"\0"):
        if len(entry) < 4:
            continue
        relative = Path(os.fsdecode(entry[3:]))
        source, target = root / relative, tree / relative
        if source.is_symlink() or source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink()
            shutil.copy2(source, target, follow_symlinks=False)
        elif not source.exists() and (target.is_symlink() or target.is_file()):
            target.unlink()
        # A directory entry is a submodule or a nested checkout: left as HEAD has it.


def _copy_tree(root: Path, tree: Path, parent: Path) -> None:
    own = os.path.realpath(parent)

    def skipped(directory: str, names: list[str]) -> list[str]:
        # The copy itself, where the temporary directory is inside the project.
        return [
            name for name in names
            if name in CACHE_NAMES or os.path.realpath(os.path.join(directory, name)) == own
        ]

    try:
        shutil.copytree(root, tree, symlinks=True, ignore=skipped)
    except (OSError, shutil.Error) as exc:
        raise ScratchError(f"cannot copy {root}: {exc}") from None


__all__ = [
    "CACHE_NAMES",
    "Scratch",
    "STOP_SIGNALS",
    "ScratchError",
    "Stopped",
    "git_toplevel",
    "inside",
    "interrupts_deferred",
    "project_root",
    "scratch_copy",
    "stops_as_interrupts",
]
