"""What one file's analysis cannot see: the other files of the project.

- :mod:`.crossfile`: which module-level names another file of the run imports.
"""
