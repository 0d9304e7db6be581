"""A content cache of check results, so that an unchanged file is not analysed again.

An entry holds what a ``check`` found in one file: its findings, or its error,
or why it was skipped. It is keyed by a hash of the file's bytes and of
everything else that decides the result: the tool's version, the source of the
``codemods`` package itself (a rule edited in a checkout must not be answered
from old entries), the effective settings (selected rules, fixes computed,
target version, options) and the run's result options. A file's path is not in
the key: the results hold no path, so a moved or copied file is a hit.

Only pure results are cached: the engine never consults the cache for a run
that writes or diffs fixes. Entries are JSON (never pickle: a cache directory
committed to a repository must not be able to run code), written through a
temporary file and a rename, so concurrent runs can share a cache: a reader
sees a whole entry or none, and a damaged or foreign entry is a miss.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

from ..findings import Edit, Finding, Fix, JointEdit, Safety

DEFAULT_CACHE_DIR = ".asyncmend_cache"
# Bumped when the entry format changes.
FORMAT = 2


def _canonical(value: Any) -> Any:
    """``value`` in a form whose JSON is the same in every process (sets are
    ordered by a per-process string hash, so they are sorted here)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


@functools.lru_cache(maxsize=None)
def _code_fingerprint() -> str:
    """A hash of the package's own source files: rules, engine, base (read
    once per process: a run's caches share it)."""
    digest = hashlib.sha256()
    package = Path(__file__).parent.parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def digest_of(value: Any) -> str:
    """A hash of ``value`` (settings, options, plain data) that is the same
    in every process."""
    return hashlib.sha256(json.dumps(_canonical(value), sort_keys=True).encode()).hexdigest()


def run_fingerprint(version: str, settings: Any, **result_options: Any) -> str:
    """Everything besides the file's bytes that decides a cached result."""
    return digest_of({
        "format": FORMAT,
        "version": version,
        "code": _code_fingerprint(),
        "settings": settings,
        "options": result_options,
    })


@dataclasses.dataclass
class CachedResult:
    findings: list[Finding]
    error: str | None
    skipped: str | None
    changed: bool
    # The other files the result was computed from (the modules the project
    # model read), with a hash of their bytes then: a change in any of them
    # makes the entry stale.
    depends: dict[str, str] = dataclasses.field(default_factory=dict)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# (path, mtime_ns, size) -> hash of the file's bytes, for this process: a
# warm run checks the same few dependencies for many files, and the files
# of the project behind what it read of the whole project (ProjectIndex.scan).
_HASHES: dict[tuple[str, int, int], str] = {}


def file_hash(path: str) -> str:
    """The hash of the bytes of the file ``path`` (absolute), read once a
    process for each of its versions (by modification time and size);
    OSError when it cannot be read."""
    status = os.stat(path)
    key = (path, status.st_mtime_ns, status.st_size)
    known = _HASHES.get(key)
    if known is None:
        known = _HASHES[key] = content_hash(Path(path).read_bytes())
    return known


def read_hashed(path: str) -> tuple[bytes, str]:
    """The bytes of the file ``path`` (absolute) and their hash, which
    :func:`file_hash` then knows. OSError when it cannot be read."""
    # Its version is taken before the bytes are read: a file changed
    # meanwhile has another version by the time anyone asks again.
    status = os.stat(path)
    data = Path(path).read_bytes()
    digest = _HASHES[(path, status.st_mtime_ns, status.st_size)] = content_hash(data)
    return data, digest


def still_current(depends: dict[str, str]) -> bool:
    """Whether every file a cached result depends on has the bytes it had."""
    for path, digest in depends.items():
        try:
            known = file_hash(path)
        except OSError:
            return False
        if known != digest:
            return False
    return True


class Cache:
    """Entries under ``root``, for one run's fingerprint."""

    def __init__(self, root: Path, fingerprint: str) -> None:
        self.root = Path(root)
        self.fingerprint = fingerprint.encode()
        self._ready = False

    def key(self, data: bytes, context: str = "") -> str:
        """The entry of a file's bytes; ``context`` is what else decides its
        result (the file's path, where a rule's answer depends on it)."""
        return self.key_of(content_hash(data), context)

    def key_of(self, digest: str, context: str = "") -> str:
        """:meth:`key`, from the hash of the bytes (:func:`content_hash`)."""
        return hashlib.sha256(
            self.fingerprint + b"\0" + context.encode("utf-8", "surrogateescape") + b"\0" + digest.encode()
        ).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / "entries" / key[:2] / f"{key[2:]}.json"

    def get(self, key: str) -> CachedResult | None:
        entry = self.load(key)
        if entry is None:
            return None
        try:
            return CachedResult(
                findings=[_finding(f) for f in entry["findings"]],
                error=entry["error"],
                skipped=entry["skipped"],
                changed=bool(entry["changed"]),
                depends={str(path): str(digest) for path, digest in entry.get("depends", {}).items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None  # damaged or foreign: analyse the file again

    def put(self, key: str, result: CachedResult) -> None:
        """Store an entry; a cache that cannot be written only costs speed."""
        self.store(key, {
            "findings": [_canonical(f) for f in result.findings],
            "error": result.error,
            "skipped": result.skipped,
            "changed": result.changed,
            "depends": result.depends,
        })

    def load(self, key: str) -> Any:
        """The JSON value stored under ``key``; ``None`` for a miss."""
        try:
            raw = self._path(key).read_bytes()
        except OSError:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def store(self, key: str, value: Any) -> None:
        """Store a JSON value; a cache that cannot be written only costs speed."""
        path = self._path(key)
        try:
            self._prepare()
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    # (Encoded whole: json.dump encodes piece by piece in
                    # Python, three times slower.)
                    handle.write(json.dumps(value, separators=(",", ":")))
                # A rename is atomic: a concurrent reader sees the old entry,
                # the new one, or none; two writers of one key write the same.
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError:
            pass

    def _prepare(self) -> None:
        if self._ready:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        # Keep the cache out of version control and backups, as ruff and
        # pytest do with theirs.
        for name, text in (
            (".gitignore", "# Created by asyncmend.\n*\n"),
            ("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n"
                             "# This is a cache directory created by asyncmend.\n"),
        ):
            marker = self.root / name
            if not marker.exists():
                marker.write_text(text, encoding="utf-8")
        self._ready = True


def _finding(data: dict[str, Any]) -> Finding:
    fields = dict(data)
    fields["safety"] = Safety(fields["safety"])
    fix = fields.get("fix")
    if fix is not None:
        fields["fix"] = Fix(
            applicability=Safety(fix["applicability"]),
            edits=tuple(Edit(**edit) for edit in fix["edits"]),
            message=fix["message"],
            joint=tuple(
                JointEdit(Edit(**joint["edit"]), tuple(tuple(key) for key in joint["findings"]))
                for joint in fix["joint"]
            ),
        )
    return Finding(**fields)


__all__ = ["DEFAULT_CACHE_DIR", "Cache", "CachedResult", "file_hash", "read_hashed", "run_fingerprint"]
