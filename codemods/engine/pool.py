"""Many files, over worker processes; results in the order of the files."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Callable, Iterator, Sequence, TypeVar

from ..findings import FileResult
from ..settings import Options
from ..source.discovery import Target
from ..source.write import process_alive
from ..model.project import indexes_for
from .files import answered_by_cache, forget_projects, model_cache, process_file

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

_T = TypeVar("_T")


# A worker's parent when it started: the run itself, or the fork server that
# started it for the run (None in the run's own process).
_PARENT_PID: int | None = None


# The options of a pool's run, set once per worker process by the pool's
# initializer rather than pickled again with every file.
_POOL_OPTIONS: Options | None = None


def _init_worker(run_pid: int, options: Options) -> None:
    """Keep the run's options, and tie a worker's life to the run's: killed
    with SIGKILL, the main process cannot stop its workers, which would go on
    writing files and then wait forever for work that never comes."""
    global _PARENT_PID, _POOL_OPTIONS
    _POOL_OPTIONS = options
    _PARENT_PID = parent = os.getppid()
    if not _die_with_parent():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent or not process_alive(run_pid):
        os._exit(1)  # the run died before the link was made


def _die_with_parent() -> bool:
    """Linux: have the kernel kill this process when its parent dies."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        return bool(libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def _parent_gone() -> bool:
    return _PARENT_PID is not None and os.getppid() != _PARENT_PID


def _worker(args: tuple[Target, Options]) -> FileResult:
    target, options = args
    try:
        return process_file(target, options, stopped=_parent_gone)
    except Exception as exc:  # a bug in a rule must not stop the other files
        # Exception texts (LibCST's among them) span lines; a report is one line.
        detail = " ".join(str(exc).split())
        return FileResult(target.display, error=f"internal error: {type(exc).__name__}: {detail}")


def _pool_chunk(targets: list[Target]) -> list[FileResult]:
    assert _POOL_OPTIONS is not None
    return [_worker((target, _POOL_OPTIONS)) for target in targets]


def _chunks(items: Sequence[_T], sizes: Sequence[int], jobs: int) -> list[list[_T]]:
    """``items`` cut, in order, into chunks of about equal bytes, several per
    worker, so that per-task overhead stays small and no worker is left
    with a long tail."""
    budget = max(sum(sizes) // (jobs * 16), 1)
    chunks: list[list[_T]] = [[]]
    filled = 0
    for item, size in zip(items, sizes):
        if chunks[-1] and (filled + size > budget or len(chunks[-1]) >= 64):
            chunks.append([])
            filled = 0
        chunks[-1].append(item)
        filled += size
    return chunks


def process(
    targets: Sequence[Target],
    options: Options,
    jobs: int | None = 1,
    progress: Callable[[int], object] | None = None,
) -> Iterator[FileResult]:
    """Results in the order of ``targets``, processed on ``jobs`` processes;
    ``jobs=None``: one per core (:func:`default_jobs`) when the files the
    cache does not answer are enough work to pay for starting them
    (:func:`worth_a_pool`), else this process alone.

    ``progress(n)`` is told each time ``n`` more files are done, in whatever
    order they finish (in a pool, the largest files go first, and a result
    waits for those before it).
    """
    tell = progress or (lambda n: None)
    forget_projects()
    chosen = default_jobs() if jobs is None else jobs
    if chosen <= 1 or len(targets) <= 1:
        yield from _one_process(targets, options, tell)
        return
    answered = answered_by_cache(targets, options)
    if answered is None:
        answered = [None] * len(targets)
    else:
        tell(sum(answer is not None for answer in answered))
    misses = [target for target, answer in zip(targets, answered) if answer is None]
    if len(misses) > 1 and (jobs is not None or worth_a_pool(misses, options, chosen)):
        computed = _pooled(misses, with_projects(options, misses), chosen, tell)
    else:
        computed = _one_process(misses, options, tell)
    for answer in answered:
        yield answer if answer is not None else next(computed)


def with_projects(options: Options, targets: Sequence[Target]) -> Options:
    """``options`` with the projects of ``targets`` found, once, before the
    workers start: each then has the model of the whole project, whichever
    files (a shard, a list) it is given."""
    if options.projects is not None or not targets:
        return options
    from dataclasses import replace

    projects = indexes_for([t.path for t in targets if not t.stdin])
    cache = model_cache(options)
    for index in projects:
        # Read here once, not by each worker that asks the model (and kept
        # for a later run that checks what a result read of the project).
        if cache is None:
            index.scan()
        else:
            index.scan_from(cache)
        index.loops  # noqa: B018
    return replace(options, projects=projects)


def _one_process(
    targets: Sequence[Target], options: Options, tell: Callable[[int], object]
) -> Iterator[FileResult]:
    for target in targets:
        result = _worker((target, options))
        tell(1)
        yield result


# What a file costs one process, in CPU seconds per byte (measured over the
# standard library and the async packages of the benchmark, Python 3.11):
# bytes that no rule's prefilter lets through are decoded and syntax-checked
# (75-85 ns a byte); the others are parsed into an ``ast`` and screened, and
# a few of those files go on to LibCST and the project model (1.6 us a byte
# over all of them: 2.3 on the async packages, 1.6 on the standard library).
PLAIN_COST = 80e-9
CANDIDATE_COST = 1.6e-6
# The least time a pool must be expected to save, in seconds: starting its
# processes and handing out files and results takes 0.02-0.05 s, and each
# worker that meets a file for LibCST imports it again (0.3 s of CPU, which
# a machine busy with other work pays in wall time).
MIN_POOL_GAIN = 0.25


def worth_a_pool(targets: Sequence[Target], options: Options, jobs: int) -> bool:
    """Whether ``jobs`` processes are expected to finish ``targets`` at
    least :data:`MIN_POOL_GAIN` sooner than one process.

    The work is estimated from the files' sizes, at :data:`PLAIN_COST` or
    :data:`CANDIDATE_COST` a byte; a pool takes at least the share of one
    process and at least its largest file. Sizes alone often settle it
    (every byte at the lower cost saves enough, or every byte at the higher
    cost does not); otherwise the prefilters are run on the files, largest
    first, until they do.
    """
    from ..rule import rules

    order = sorted(targets, key=_size, reverse=True)
    sizes = [_size(target) for target in order]
    selected = [rule for rule in rules() if options.settings.runs(rule.CODE)]

    def gain(work: float, largest: float) -> float:
        return work - max(work / jobs, largest)

    # Files [0, known) are priced by their prefilter, the rest by bounds.
    known_work = known_largest = 0.0
    unknown = sum(sizes)
    for known, target in enumerate([*order, None]):
        next_size = sizes[known] if target is not None else 0
        least = gain(known_work + unknown * PLAIN_COST, max(known_largest, next_size * PLAIN_COST))
        most = gain(known_work + unknown * CANDIDATE_COST, max(known_largest, next_size * CANDIDATE_COST))
        if least >= MIN_POOL_GAIN or most < MIN_POOL_GAIN or target is None:
            return least >= MIN_POOL_GAIN
        try:
            data = target.read()
        except OSError:
            data = b""  # the run reports it; it costs nothing
        candidate = any(rule.prefilter(data) for rule in selected)
        cost = len(data) * (CANDIDATE_COST if candidate else PLAIN_COST)
        known_work += cost
        known_largest = max(known_largest, cost)
        unknown -= next_size
    return False  # pragma: no cover - the loop returns at its sentinel


def _pooled(
    targets: Sequence[Target], options: Options, jobs: int, tell: Callable[[int], object]
) -> Iterator[FileResult]:
    """Results in the order of ``targets``, computed largest file first.

    The few files that reach LibCST take most of a run, and they are the
    large ones: started last, one of them would keep a worker busy while
    the others wait. Results are held until those before them are done.
    """
    # Imported here: a run the cache answers, or -j 1, needs no pool.
    from concurrent.futures import as_completed
    from concurrent.futures.process import BrokenProcessPool

    sizes = [_size(target) for target in targets]
    order = sorted(range(len(targets)), key=lambda i: -sizes[i])
    done: dict[int, FileResult] = {}
    next_index = 0
    futures: dict[Future[list[FileResult]], list[int]] = {}
    taken: set[Future[list[FileResult]]] = set()
    _share_libcst()
    try:
        with _pool(jobs, options) as pool:
            for indexes in _chunks(order, [sizes[i] for i in order], jobs):
                futures[pool.submit(_pool_chunk, [targets[i] for i in indexes])] = indexes
            for future in as_completed(futures):
                taken.add(future)
                results = future.result()
                done.update(zip(futures[future], results))
                tell(len(results))
                while next_index in done:
                    yield done.pop(next_index)
                    next_index += 1
    except BrokenProcessPool:
        # A worker process died (a crash in native code, the OOM killer).
        # Chunks finished before it stand (their files may be written: done
        # again they would report nothing fixed); the rest go one at a time,
        # so the file that kills its process is named and every other file
        # is still processed.
        for future, indexes in futures.items():
            if future not in taken and future.done() and not future.cancelled() and future.exception() is None:
                done.update(zip(indexes, future.result()))
                tell(len(indexes))
        rest = [i for i in range(next_index, len(targets)) if i not in done]
        done.update(zip(rest, _one_by_one([targets[i] for i in rest], options)))
        tell(len(rest))
    while next_index < len(targets):
        yield done.pop(next_index)
        next_index += 1


def _share_libcst() -> None:
    """Import the LibCST stage before forking the workers, which then share
    it: each worker that meets a file for LibCST (in a run worth a pool,
    most often every one) would import it on its own, a third of a second
    of CPU each. Not where workers start afresh (no fork), as elsewhere
    than Linux: there the parent would pay it besides."""
    import multiprocessing

    if multiprocessing.get_start_method() == "fork":
        from ..cst import batch  # noqa: F401


def _size(target: Target) -> int:
    try:
        return target.path.stat().st_size if target.data is None else len(target.data)
    except OSError:
        return 0  # process_file reports the error


def _pool(jobs: int, options: Options) -> ProcessPoolExecutor:
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        max_workers=jobs, initializer=_init_worker, initargs=(os.getpid(), options)
    )


def _one_by_one(targets: Sequence[Target], options: Options) -> Iterator[FileResult]:
    from concurrent.futures.process import BrokenProcessPool

    pool = _pool(1, options)
    try:
        for target in targets:
            try:
                (result,) = pool.submit(_pool_chunk, [target]).result()
            except BrokenProcessPool:
                pool.shutdown(wait=True)
                pool = _pool(1, options)
                result = FileResult(
                    target.display,
                    error="internal error: the worker process died while processing this file",
                )
            yield result
    finally:
        pool.shutdown(wait=True)


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
