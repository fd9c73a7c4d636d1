"""Answer lines that lost their first letter in an export ("he model…" for "The model…").

Dictionary-ish: the corpus itself is the dictionary. A line starting with a lowercase word `w`
is restored to `X + w` when `X + w` occurs capitalized elsewhere in the notes and more often
than `w` capitalized does ("he" -> "The": "The" is everywhere, "He" nowhere; "very" ->
"Every"; "nstead" -> "Instead"; "ltering" -> "Altering"). Lines whose first token is math
(`lrate=…`, `p(y…)`) or whose restoration is unknown (`where`, `headic`) are left alone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_CAP_WORD = re.compile(r"\b[A-Z][a-z]+\b")
_LINE_START = re.compile(r"^([a-z]+)(?=[\s,:;]|$)")


def capitalized_counts(texts: Iterable[str]) -> Counter:
    counts: Counter = Counter()
    for text in texts:
        counts.update(_CAP_WORD.findall(text))
    return counts


def restore_line(line: str, counts: Counter) -> str | None:
    """The restored line, or None when the line does not look clipped."""
    match = _LINE_START.match(line)
    if not match:
        return None
    word = match.group(1)
    own = counts.get(word.capitalize(), 0)
    best, best_count = None, 0
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        candidate = letter + word
        n = counts.get(candidate, 0)
        if n > best_count or (n == best_count and n and best is not None and candidate < best):
            best, best_count = candidate, n
    if best is None or best_count <= own:
        return None
    return best + line[len(word):]
