"""Stray HTML fragments in exported notes (`<br>`, `</p><p>`, `<span>`, `&nbsp;`) to plain text.

Only tags from a known list are touched, and only in their real shape (`<b>`, `</span>`,
`<a href="…">`), so math like `a<b and c>d` survives. Entities are decoded to characters:
the result is text (data); emitters escape it again for HTML, so nothing here can become
live markup.
"""

from __future__ import annotations

import html
import re

BLOCK_TAGS = ("p", "div", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6")
INLINE_TAGS = ("span", "em", "strong", "b", "i", "u", "font", "a", "sub", "sup", "code", "small",
               "td", "th", "tbody", "thead", "mark", "s", "del", "ins")
_ATTRS = r"(?:\s+[\w:-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))*\s*/?"
_BREAK = re.compile(r"<br" + _ATTRS + ">", re.I)
_BLOCK = re.compile(r"</?(?:" + "|".join(BLOCK_TAGS) + r")" + _ATTRS + ">", re.I)
_INLINE = re.compile(r"(?:</?(?:" + "|".join(INLINE_TAGS) + r")" + _ATTRS + ">)+", re.I)
_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{1,6}|#x[0-9a-fA-F]{1,6});")
_NUMBERED_STEP = re.compile(r"^(\d+\.)(?=\S)", re.M)  # "3.t_i^3" after a </p><p> split


def has_html(text: str) -> bool:
    return bool(_BREAK.search(text) or _BLOCK.search(text) or _INLINE.search(text) or _ENTITY.search(text))


def strip_html(text: str) -> str:
    """Tags to line breaks (block) or nothing (inline); entities to characters."""
    if "<" not in text and "&" not in text:
        return text
    had_blocks = bool(_BLOCK.search(text))
    text = _BREAK.sub("\n", text)
    text = _BLOCK.sub("\n", text)
    # `x</span><em>(note)` -> `x (note)`: a closing tag followed by an opening one was a gap.
    text = _INLINE.sub(lambda m: " " if re.search(r"</\w+>\s*<\w", m.group(0)) else "", text)
    text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text).replace("\xa0", " ")
    if had_blocks:
        text = _NUMBERED_STEP.sub(r"\1 ", text)
    lines = [ln.rstrip() for ln in text.split("\n")]
    return "\n".join(ln for ln in lines if ln.strip())
