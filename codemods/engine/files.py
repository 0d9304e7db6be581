"""One file: read it, answer from the cache or run the rules, write it back."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

from ..findings import FileResult
from ..model.project import DERIVED, Project, ProjectIndex, derived_current, indexes_for
from ..rule import Rule
from ..rule import rules as all_rules
from ..settings import Options
from ..source.cache import (
    Cache,
    CachedResult,
    content_hash,
    file_hash,
    read_hashed,
    run_fingerprint,
    still_current,
)
from ..source.discovery import Target
from ..source.text import SourceError
from ..source.write import write_atomic
from .passes import process_bytes

GENERATED_MARKER = b"@generated"

# The model of each project of a run, made once per process (a worker keeps
# what it read of the modules for every file it processes).
_PROJECTS: dict[tuple[str, str | None], Project] = {}


def project_for(options: Options, target: Target) -> Project | None:
    """The project model ``target`` belongs to: that of the deepest project
    root of the run above it (``options.projects``; when the run left them
    to be found, the file's own, found here once per process); ``None`` for
    standard input, whose rules then see that text alone."""
    if target.stdin:
        return None
    indexes = options.projects
    if indexes is None:
        indexes = _found_indexes(target.path)
    where = os.path.abspath(target.path)
    best = None
    for index in indexes:
        root = index.root.rstrip(os.sep) + os.sep
        if where.startswith(root) and (best is None or len(index.root) > len(best.root)):
            best = index
    if best is None:
        return None
    key = (best.root, options.model_cache_dir)
    project = _PROJECTS.get(key)
    if project is None or project.index is not best:
        project = _PROJECTS[key] = Project(best, model_cache(options))
    return project


def model_cache(options: Options) -> Cache | None:
    """Where the project model keeps what it read (``None``: nowhere)."""
    if options.model_cache_dir is None:
        return None
    from .. import __version__

    fingerprint = run_fingerprint(__version__, None, purpose="model")
    return Cache(Path(os.path.abspath(options.model_cache_dir)), fingerprint)


def _current(depends: dict[str, str], options: Options, target: Target) -> bool:
    """Whether a cached result's dependencies are as they were: the files
    its questions read, and what it read of the whole project (the
    subclasses of a class)."""
    files = {path: digest for path, digest in depends.items() if not path.startswith(DERIVED)}
    if not still_current(files):
        return False
    if len(files) == len(depends):
        return True
    project = project_for(options, target)
    if project is None:
        return False
    if project.cache is not None:
        # What a warm run knows of the files already: the byte scan of the
        # project is taken from the cache while none of them changed.
        project.index.scan_from(project.cache)
    return all(
        derived_current(project.index, key, digest) for key, digest in depends.items() if key.startswith(DERIVED)
    )


# Indexes found file by file (a run of one process that did not find them
# for all its files at once), by the project root they cover.
_FOUND: list[ProjectIndex] = []


def forget_projects() -> None:
    """Start a run: the models and indexes of an earlier run in this process
    (an editor's, a test's) may describe files that have changed since."""
    _PROJECTS.clear()
    _FOUND.clear()


def _found_indexes(path: Path) -> list[ProjectIndex]:
    where = os.path.abspath(path)
    if not any(where.startswith(index.root.rstrip(os.sep) + os.sep) for index in _FOUND):
        _FOUND.extend(indexes_for([Path(where)]))
    return _FOUND


def process_file(
    target: Target,
    options: Options,
    rules: Sequence[type[Rule]] | None = None,
    *,
    stopped: Callable[[], bool] | None = None,
) -> FileResult:
    """Read, analyse and (per ``options``) fix one file. ``rules``: the
    rules to run (default: every rule). ``stopped()`` says, in a worker
    process, that the run is gone and nothing may be written any more."""
    result = FileResult(target.display)
    cache = None if target.stdin else _cache_for(options)
    try:
        data, digest = _read(target, cache is not None)
    except OSError as exc:
        result.error = f"cannot read: {exc.strerror or exc}"
        return result
    if not target.explicit and GENERATED_MARKER in data[:4096]:
        result.skipped = "generated"
        return result
    key = ""
    if cache is not None:
        key = _cache_key(cache, target, options, digest)
        hit = cache.get(key)
        if hit is not None and not (hit.changed and _fixing(options)) and _current(hit.depends, options, target):
            result.findings, result.error = hit.findings, hit.error
            result.skipped, result.changed = hit.skipped, hit.changed
            return result
    project = project_for(options, target)
    if project is not None:
        project.used, project.derived = set(), {}
    try:
        outcome = process_bytes(
            data, options, rules if rules is not None else all_rules(), target.display, project=project,
        )
    except SourceError as exc:
        result.error = str(exc)
        if target.stdin:
            # A filter must give its input back unchanged when it cannot fix
            # it: an editor replaces the buffer with whatever is on stdout.
            result.output = data
        if cache is not None:
            cache.put(key, CachedResult([], result.error, None, False))
        return result
    if cache is not None and not (outcome.changed and _fixing(options)):
        # A run that fixes keeps only what it need not do again: a file with
        # nothing to change.
        depends = {}
        if project is not None and project.used:
            own = os.path.abspath(target.path)
            depends = {path: project.hashes[path] for path in sorted(project.used) if path != own}
        if project is not None and project.derived:
            depends.update(sorted(project.derived.items()))
        cache.put(key, CachedResult(outcome.findings, None, outcome.skipped, outcome.changed, depends))
    result.findings, result.changed, result.diff = outcome.findings, outcome.changed, outcome.diff
    result.skipped = outcome.skipped
    # Source read from standard input goes back to standard output, never to
    # a file of the name it was given.
    if outcome.changed and options.write and not target.stdin:
        try:
            write_atomic(target.path, outcome.output, expected=data, stopped=stopped)
            result.written = True
        except SourceError as exc:
            # Nothing was fixed: the findings stand as they were, unfixed.
            result.error = str(exc)
            result.changed = False
            result.findings = [replace(f, fixed=False) for f in outcome.findings]
    if options.write and (result.written or target.stdin) and outcome.remaining is not None:
        # What is left is reported where it now stands: in the file as
        # written (or the text given back on standard output).
        result.findings = [f for f in outcome.findings if f.fixed] + outcome.remaining
    if target.stdin:
        result.output = outcome.output
    return result


def _read(target: Target, hashed: bool) -> tuple[bytes, str]:
    """The target's bytes, and with ``hashed`` their hash (a file's, then
    known to this process for what else asks for it: see ``file_hash``)."""
    if not hashed or target.data is not None:
        data = target.read()
        return data, content_hash(data) if hashed else ""
    return read_hashed(os.path.abspath(target.path))


def _head(path: Path) -> bytes:
    """The first bytes of a file, where a generated file is marked."""
    with open(path, "rb") as handle:
        return handle.read(4096)


def _cache_key(cache: Cache, target: Target, options: Options, digest: str) -> str:
    # What other files import from this one changes its result (AM401), and
    # so do the rules its path switches off: the same bytes at another path
    # are another entry then.
    mentioned = any(entry[0] == target.display for entry in options.settings.imported_elsewhere)
    ignored = options.settings.for_file(target.display) is not options.settings
    return cache.key_of(digest, target.display if mentioned or ignored else "")


def answered_by_cache(targets: Sequence[Target], options: Options) -> list[FileResult | None] | None:
    """Each target's result as the cache holds it (``None`` for a miss), or
    ``None`` when the run uses no cache. Run in the main process before any
    worker starts: a warm run then needs no worker, and no rule imported."""
    cache = _cache_for(options)
    if cache is None:
        return None
    # Every file is hashed before any entry is checked: checking one may
    # ask for the hashes of the whole project (ProjectIndex.scan_from).
    # Nothing is analysed here: the hash of each file's version (once a
    # process: the look across files took it already) is enough, and the
    # head of a walked file, for its marker.
    digests: list[str | None] = []
    for target in targets:
        if target.stdin:
            digests.append(None)
            continue
        try:
            digest = file_hash(os.path.abspath(target.path))
            generated = not target.explicit and GENERATED_MARKER in _head(target.path)
        except OSError:
            digests.append(None)  # the worker reports it
            continue
        digests.append(None if generated else digest)
    answers: list[FileResult | None] = []
    for target, digest in zip(targets, digests):
        if digest is None:
            answers.append(None)
            continue
        hit = cache.get(_cache_key(cache, target, options, digest))
        if hit is None or (hit.changed and _fixing(options)) or not _current(hit.depends, options, target):
            answers.append(None)
            continue
        answers.append(FileResult(
            target.display, findings=hit.findings, error=hit.error, skipped=hit.skipped, changed=hit.changed
        ))
    return answers


# One cache per process and run, found by the identity of the run's options
# (kept alive here, so the identity stays theirs).
_CACHES: dict[int, tuple[Options, Cache]] = {}


def _fixing(options: Options) -> bool:
    return options.write or options.diff


def _cache_for(options: Options) -> Cache | None:
    """The run's cache; ``None`` when it uses none. A run that writes or
    diffs fixes is answered from it only for files with nothing to change
    (its settings, which say which fixes apply, are in the key)."""
    if options.cache_dir is None:
        return None
    known = _CACHES.get(id(options))
    if known is not None and known[0] is options:
        return known[1]
    from .. import __version__

    # A run that stops after the first pass (check) reports other findings
    # than one that follows the fixes, but only for a file with something to
    # fix: a run that writes or diffs takes no such file from the cache, so
    # it shares check's entries of the files with nothing to change.
    fingerprint = run_fingerprint(
        __version__, options.settings, edits=options.edits,
        follow_fixes=options.follow_fixes and not _fixing(options),
    )
    cache = Cache(Path(os.path.abspath(options.cache_dir)), fingerprint)
    _CACHES[id(options)] = (options, cache)
    return cache


def crossfile_cache(options: Options) -> Cache | None:
    """The cache of the look across the files of a pure run
    (:mod:`codemods.model.crossfile`): its answers for one file's bytes depend on
    the tool alone, not on the run's settings."""
    if options.cache_dir is None:
        return None
    from .. import __version__

    fingerprint = run_fingerprint(__version__, None, purpose="crossfile")
    return Cache(Path(os.path.abspath(options.cache_dir)), fingerprint)
