"""The LibCST stage: a file with a candidate site is parsed with LibCST, and
the rules whose screens passed run on it in one batched traversal.

- :mod:`.transformer`: :class:`~.transformer.RuleTransformer`, what a
  rule's visitor methods run on in the engine (``report``, ``scope``,
  ``option``), without LibCST's codemod package;
- :mod:`.command`: :class:`~.command.RuleCommand`, the same rule as a LibCST
  codemod command (``python -m libcst.tool codemod``);
- :mod:`.batch`: every rule of a file in one traversal, imports added and
  removed once, positions found only for what is reported;
- :mod:`.scope`: lexical scopes and name resolution from the file's imports;
- :mod:`.traversal`: fast walks and transforms, children of a node;
- :mod:`.imports`: adding and removing imports;
- :mod:`.positions`: line and column of a node, computed on demand.

Importing this package imports nothing; its modules import LibCST.
"""
