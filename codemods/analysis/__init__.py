"""Analysis the rules share, in one place:

- :mod:`.names`: names every rule and screen knows (asyncio's task
  factories, loop getters, ordering primitives...);
- :mod:`.dependence`: what a statement reads and writes, and which awaited
  calls may run at once, on the stdlib ``ast`` (for the screens) and on
  LibCST (for the fixes), side by side;
- :mod:`.gather`: writing an ``asyncio.gather(...)`` for AM201 and AM202;
- :mod:`.suspension`: what a new suspension point lets other tasks see in
  one coroutine (AM101);
- :mod:`.coroutines`: which calls certainly create a coroutine (AM302 inside
  ``async def``, AM303 in plain code).

Importing these modules imports no LibCST (see :mod:`codemods.lazy`).
"""
