"""Which files a run looks at: named files, and ``*.py`` under named directories,
less what ``.gitignore``, ``--exclude`` and the default excludes leave out."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

if TYPE_CHECKING:
    import pathspec

# The directories ruff and black skip by default: tool caches, virtual
# environments, VCS metadata, build output.
DEFAULT_EXCLUDES = frozenset(
    {
        ".asyncmend_cache",
        ".bzr",
        ".direnv",
        ".eggs",
        ".git",
        ".git-rewrite",
        ".hg",
        ".ipynb_checkpoints",
        ".mypy_cache",
        ".nox",
        ".pants.d",
        ".pyenv",
        ".pytest_cache",
        ".pytype",
        ".ruff_cache",
        ".svn",
        ".tox",
        ".venv",
        ".vscode",
        "__pycache__",
        "__pypackages__",
        "_build",
        "buck-out",
        "build",
        "dist",
        "node_modules",
        "site-packages",
        "venv",
    }
)


@dataclass(frozen=True)
class Target:
    """One file to process. ``data`` is set for standard input."""

    path: Path
    display: str
    explicit: bool = True
    stdin: bool = False
    data: bytes | None = None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        return self.path.read_bytes()


@dataclass(frozen=True)
class DiscoveryError:
    display: str
    message: str
    # A warning (a dangling symbolic link met while walking) reports, and
    # fails nothing.
    warning: bool = False


def display_path(path: Path, cwd: Path) -> str:
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return path.as_posix()


class _Ignores:
    """The ``.gitignore`` files that apply to a directory, root first."""

    def __init__(self, specs: tuple[tuple[Path, pathspec.GitIgnoreSpec], ...] = ()) -> None:
        self.specs = specs

    def descend(self, directory: Path) -> _Ignores:
        spec = _load_gitignore(directory)
        return _Ignores(self.specs + ((directory, spec),)) if spec is not None else self

    def ignored(self, path: Path, is_dir: bool) -> bool:
        verdict = False
        # A deeper .gitignore overrides a shallower one (negations included).
        for base, spec in self.specs:
            try:
                rel = path.relative_to(base).as_posix()
            except ValueError:
                continue
            result = spec.check_file(rel + "/" if is_dir else rel)
            if result.include is not None:
                verdict = result.include
        return verdict


def _spec(lines: Sequence[str]) -> pathspec.GitIgnoreSpec:
    # pathspec is imported on first need (a fifth of the start-up of a run
    # over named files, which needs none).
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


def exclude_spec(patterns: Sequence[str]) -> pathspec.GitIgnoreSpec | None:
    """The exclude patterns as one spec; ``None`` for none (which matches nothing)."""
    return _spec(patterns) if patterns else None


def _load_gitignore(directory: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        text = (directory / ".gitignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return _spec(text.splitlines())


def _repository_ignores(directory: Path) -> _Ignores:
    """The repository's ``.git/info/exclude`` and the .gitignore files from
    its root down to ``directory`` (git gives the latter precedence)."""
    root = None
    for parent in [directory, *directory.parents]:
        if os.path.exists(parent / ".git"):  # False, not an error, where the user may not look
            root = parent
            break
    if root is None:
        return _Ignores().descend(directory)
    chain = [root]
    for part in directory.relative_to(root).parts:
        chain.append(chain[-1] / part)
    ignores = _Ignores()
    try:
        exclude = (root / ".git" / "info" / "exclude").read_text(encoding="utf-8", errors="replace")
    except OSError:  # no such file, or .git is a worktree's file
        exclude = ""
    if exclude.strip():
        ignores = _Ignores(((root, _spec(exclude.splitlines())),))
    for step in chain:
        ignores = ignores.descend(step)
    return ignores


def force_excluded(path: Path, excludes: pathspec.GitIgnoreSpec | None, cwd: Path) -> bool:
    """Whether a file named on the command line is left out under
    ``--force-exclude``: it, or a directory above it (below ``cwd``), matches
    an exclude pattern or is one of the default excludes. A hook that names
    files one by one (pre-commit) leaves them out as a walk would."""
    rel = display_path(path, cwd)
    parts = Path(rel).parts
    if any(part in DEFAULT_EXCLUDES for part in parts[:-1]):
        return True
    if excludes is None:
        return False
    if excludes.match_file(rel):
        return True
    return any(excludes.match_file("/".join(parts[:i]) + "/") for i in range(1, len(parts)))


# What ``Path.exists()`` takes for "not there" (a symbolic link loop too).
_NOT_THERE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EBADF})


def discover(
    paths: Iterable[str | os.PathLike[str]],
    *,
    exclude: Iterable[str] = (),
    respect_gitignore: bool = True,
    cwd: Path | None = None,
    force_exclude: bool = False,
) -> tuple[list[Target], list[DiscoveryError]]:
    """Expand ``paths`` into targets, sorted by path and without duplicates.

    A named file is always a target, whatever its name (with
    ``force_exclude``, unless the exclude patterns or an ``@generated``
    marker leave it out, as they do while walking); a named directory is
    walked for ``*.py`` files. A symbolic link to a file inside the named
    directories is followed (a dangling one is a warning); a link to a
    directory is not: it can lead out of the tree or into a loop.
    """
    cwd = cwd or Path.cwd()
    excludes = exclude_spec(list(exclude))
    targets: dict[Path, Target] = {}
    errors: list[DiscoveryError] = []
    for raw in paths:
        path = Path(os.path.abspath(cwd / raw))
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            if exc.errno in _NOT_THERE:
                reason = "broken symbolic link" if os.path.islink(path) else "no such file or directory"
            else:
                # Inside a directory this user may not search, say.
                reason = f"cannot read: {exc.strerror or exc}"
            errors.append(DiscoveryError(str(raw), reason))
            continue
        if stat.S_ISDIR(mode):
            ignores = _repository_ignores(path) if respect_gitignore else _Ignores()
            if ignores.ignored(path, True):
                # A directory named on the command line is walked even where
                # an enclosing .gitignore leaves it out (as ruff does): those
                # rules would otherwise silence everything below it, and an
                # empty report would read as a clean bill.
                ignores = _Ignores().descend(path)
            for found in _walk(path, ignores, excludes, cwd, errors, respect_gitignore):
                # One file reached twice (through a link) is processed once.
                targets.setdefault(
                    Path(os.path.realpath(found)), Target(found, display_path(found, cwd), explicit=False)
                )
        elif not stat.S_ISREG(mode):
            # A FIFO or a device would block the run forever or never end.
            errors.append(DiscoveryError(str(raw), "not a regular file"))
        elif force_exclude and force_excluded(path, excludes, cwd):
            continue
        else:
            targets[Path(os.path.realpath(path))] = Target(
                path, display_path(path, cwd), explicit=not force_exclude
            )
    return sorted(targets.values(), key=lambda t: t.display), errors


def _walk(
    directory: Path,
    ignores: _Ignores,
    excludes: pathspec.GitIgnoreSpec | None,
    cwd: Path,
    errors: list[DiscoveryError],
    respect_gitignore: bool,
) -> Iterator[Path]:
    """The files under ``directory``, depth first, each directory's entries
    in name order. A stack, not recursion: a tree may be nested deeper than
    Python's recursion limit."""
    entries = _entries(directory, cwd, errors)
    if entries is None:
        return
    root = os.path.realpath(directory)
    pending: list[tuple[Iterator[os.DirEntry[str]], _Ignores]] = [(iter(entries), ignores)]
    while pending:
        remaining, ignores = pending[-1]
        entry = next(remaining, None)
        if entry is None:
            pending.pop()
            continue
        path = Path(entry.path)
        if entry.is_symlink():
            if entry.name.endswith(".py") and _linked_file_inside(entry, root, cwd, errors):
                rel = display_path(path, cwd)
                if not ((excludes is not None and excludes.match_file(rel)) or ignores.ignored(path, False)):
                    yield path
            continue
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_dir and entry.name in DEFAULT_EXCLUDES:
            continue
        if not is_dir and not entry.name.endswith(".py"):
            continue
        rel = display_path(path, cwd)
        if (excludes is not None and excludes.match_file(rel + "/" if is_dir else rel)) or ignores.ignored(path, is_dir):
            continue
        if is_dir:
            child = ignores.descend(path) if respect_gitignore else ignores
            inside = _entries(path, cwd, errors)
            if inside is not None:
                pending.append((iter(inside), child))
        elif entry.is_file(follow_symlinks=False):
            yield path


def _linked_file_inside(entry: os.DirEntry[str], root: str, cwd: Path, errors: list[DiscoveryError]) -> bool:
    """Whether a symbolic link met while walking leads to a regular file
    under ``root`` (the real path of the directory walked); a dangling link
    is a warning."""
    target = os.path.realpath(entry.path)
    try:
        mode = os.stat(target).st_mode
    except OSError:
        errors.append(DiscoveryError(display_path(Path(entry.path), cwd), "broken symbolic link; skipped", warning=True))
        return False
    return stat.S_ISREG(mode) and os.path.commonpath([root, target]) == root


def _entries(directory: Path, cwd: Path, errors: list[DiscoveryError]) -> list[os.DirEntry[str]] | None:
    """The entries of ``directory`` sorted by name, or ``None`` (the error recorded)."""
    try:
        with os.scandir(directory) as scan:
            return sorted(scan, key=lambda e: e.name)
    except OSError as exc:
        errors.append(DiscoveryError(display_path(directory, cwd), f"cannot read directory: {exc.strerror or exc}"))
        return None


# -- splitting a run ----------------------------------------------------------


def parse_shard(value: str) -> tuple[int, int]:
    """``"I/N"`` (1 <= I <= N) as ``(I, N)``; ValueError with a message otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if match is None:
        raise ValueError(f"expected I/N such as 1/4, got {value!r}")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= index <= count:
        raise ValueError(f"shard {index}/{count}: I must be between 1 and N")
    return index, count


def in_shard(display: str, index: int, count: int) -> bool:
    """Whether the file shown as ``display`` belongs to shard ``index`` of ``count``.

    A hash of the path, not its position in a listing: a file stays in its
    shard when others are added or removed, and every machine that runs from
    the same directory computes the same partition.
    """
    digest = hashlib.sha256(display.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1


def read_path_list(text: str) -> list[str]:
    """Paths one per line (``git diff --name-only``, ``find``); blank lines skipped."""
    return [line.strip() for line in text.splitlines() if line.strip()]
