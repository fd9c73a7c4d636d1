"""The formula registry: one module per formula family.

Each module declares `FORMULAS` (deckforge.model.Formula) and optionally `CONCEPTS`, holds a
reference implementation (numpy at import time, torch only inside functions), and marks the
code the site includes verbatim with `# --8<-- [start:NAME]` / `# --8<-- [end:NAME]`.
Tests in tests/snippets/ check each implementation against an independent computation.
"""
