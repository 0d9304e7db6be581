"""Writing a fixed file: atomically, only if it did not change meanwhile,
and cleaning up after a run that was killed mid-write."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Callable

from .text import SourceError


def write_atomic(
    path: Path, data: bytes, *, expected: bytes, stopped: Callable[[], bool] | None = None
) -> None:
    """Write ``data`` to ``path``, refusing if the file changed since it was
    read (``expected``) or if this user may not write it. ``stopped()``
    tells a worker process that its run is gone.

    A file is replaced through a temporary file and a rename, keeping its
    mode, so that a run killed mid-write leaves it whole. A file with other
    hard links, or owned by another user, is written in place through the
    same inode instead, as ruff and black write every file: a rename would
    give it a new inode, leaving the other links with the old text and the
    file with a new owner. A file this user cannot write (read-only, another
    owner's) is an error for that file, left untouched, even where the
    directory would let a rename replace it.
    """
    if stopped is not None and stopped():
        # The run was killed: a worker left behind writes nothing more.
        raise SourceError("the run was stopped before this file was written; left as it is")
    real = Path(os.path.realpath(path))
    try:
        if real.read_bytes() != expected:
            raise SourceError("changed on disk while asyncmend ran; left as it is")
        info = real.stat()
    except OSError as exc:
        raise SourceError(f"cannot write: {exc.strerror or exc}") from None
    if not os.access(real, os.W_OK):
        raise SourceError("cannot write: Permission denied")
    if info.st_nlink > 1 or (hasattr(os, "geteuid") and info.st_uid != os.geteuid()):
        _write_in_place(real, data)
        return
    mode = stat.S_IMODE(info.st_mode)
    remove_stale_temporaries(real.parent)
    # The writer's pid in the name tells a later run whether the file is stale.
    try:
        fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.{os.getpid()}.", suffix=TEMP_SUFFIX)
    except OSError as exc:
        # A read-only directory (or a full disk) refuses the temporary file.
        raise SourceError(f"cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise SourceError(f"cannot write: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _write_in_place(real: Path, data: bytes) -> None:
    """Overwrite ``real`` through its own inode (its links and owner stay)."""
    try:
        with open(real, "r+b") as handle:
            handle.write(data)
            handle.truncate()
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise SourceError(f"cannot write: {exc.strerror or exc}") from None


TEMP_SUFFIX = ".asyncmend.tmp"
_TEMP_NAME = re.compile(r"^\..+\.(?P<pid>[0-9]+)\.[A-Za-z0-9_]+" + re.escape(TEMP_SUFFIX) + "$")
# Directories this process has already cleaned: once each is enough.
_cleaned: set[Path] = set()


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Remove the temporary files a killed run left in ``directory``.

    A run killed (SIGKILL, power loss) between creating its temporary file and
    renaming it over the target leaves the target as it was and the temporary
    file behind. The target still needs its fix, so the next ``fix`` writes
    into the same directory and first removes what was left. Only files whose
    writer process is gone are stale: another run working in the same tree at
    the same time keeps its own.
    """
    if directory in _cleaned:
        return []
    _cleaned.add(directory)
    removed: list[Path] = []
    try:
        entries = [e for e in os.scandir(directory) if e.name.endswith(TEMP_SUFFIX)]
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if match is None or process_alive(int(match.group("pid"))):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        # Another user's process, or a pid this system cannot hold: keep it.
        return True
    # A killed writer whose parent died too may stay a zombie until some
    # process reaps it (in a container, often nobody): it writes nothing more.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc: signal 0 is all there is to tell
    return state not in ("Z", "X")
