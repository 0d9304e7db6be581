"""Source files in and out: finding them, decoding them, their ``# noqa``
comments, the edits and diffs of a fix, writing them back, and the cache of
results. Nothing here knows a rule."""
