"""Split text into the parts a rewrite may touch and the parts it must leave alone.

Text already written as LaTeX (`$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]`) and code spans (`` `…` ``)
are protected: rewrites (unicode math, bare-TeX wrapping) only see the prose in between.
"""

from __future__ import annotations

import re
from collections.abc import Callable

PROTECTED = re.compile(
    r"\$\$.+?\$\$"  # display math
    r"|(?<![\\$])\$(?!\s)[^$\n]+?(?<![\s\\])\$(?!\d)"  # inline math, not a price like $5
    r"|\\\(.+?\\\)|\\\[.+?\\\]"  # MathJax delimiters
    r"|`[^`\n]+`"  # code spans
    r"|\{\{c\d+::.*?\}\}",  # cloze deletions (their content is rewritten by the cards pass)
    re.S,
)


def map_prose(text: str, fn: Callable[[str], str]) -> str:
    """Apply `fn` to every unprotected stretch of `text`, keeping protected spans verbatim."""
    out: list[str] = []
    pos = 0
    for match in PROTECTED.finditer(text):
        if match.start() > pos:
            out.append(fn(text[pos : match.start()]))
        out.append(match.group(0))
        pos = match.end()
    if pos < len(text):
        out.append(fn(text[pos:]))
    return "".join(out)
