"""Dotted flashcards: `question........answer` (exactly eight dots separate; a ninth is the question's)."""

from __future__ import annotations

import re

from deckforge.model import RawItem, SourceSpan
from deckforge.readers import ReadResult

NAME = "dotted"
SEPARATOR = re.compile(r"\.{8}(?!\.)")


def sniff(text: str) -> float:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return 0.0
    return sum(1 for ln in lines if "........" in ln) / len(lines)


def read(text: str, path: str) -> ReadResult:
    # Minimal placeholder: one item per dotted line. The full reader (headers, labels,
    # multi-line questions) replaces this.
    result = ReadResult()
    for lineno, line in enumerate(text.splitlines(), start=1):
        parts = SEPARATOR.split(line, maxsplit=1)
        if len(parts) != 2 or not parts[0].strip():
            continue
        result.items.append(
            RawItem(parts[0].strip(), parts[1].strip(), SourceSpan(path, lineno, lineno), NAME)
        )
    return result
