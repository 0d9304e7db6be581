"""What one file's analysis cannot see: the other files of the project.

- :mod:`.crossfile`: which module-level names another file of the run imports.
- :mod:`.facts`: what one module says about itself (imports, classes, and per
  function what it reads, writes, calls and where each call stands).
- :mod:`.project`: the modules of a project and the calls between them,
  resolved, with a summary of what each function does.
- :mod:`.callers`: the calls of a function, read backwards.
"""
