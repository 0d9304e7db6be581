"""The screen stage: the stdlib ``ast`` of a file, asked by each rule's
screen whether the file may hold a finding (see :mod:`.facts`)."""
