"""The engine: files in, results out. It never prints and never exits; every
outcome, bad input included, is data in a :class:`~codemods.findings.FileResult`.

- :mod:`.passes`: one source text through prefilter, screen, LibCST and
  verification, again until nothing changes;
- :mod:`.files`: one file read, answered from the cache or analysed, written;
- :mod:`.pool`: many files over worker processes.
"""

from __future__ import annotations

from .files import GENERATED_MARKER, crossfile_cache, process_file
from .passes import fix_source, process_bytes
from .pool import default_jobs, process

__all__ = [
    "GENERATED_MARKER",
    "crossfile_cache",
    "default_jobs",
    "fix_source",
    "process",
    "process_bytes",
    "process_file",
]
