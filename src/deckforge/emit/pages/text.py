"""Note text -> safe Markdown: math and code kept, everything else inert, concept names linked.

Text from the notes is data. It may hold `<script>`, `[links](javascript:…)`, `*`, `#` or `1.`
at a line start; none of that may become markup. So plain text is entity-encoded character by
character (entities survive every Markdown extension and turn back into the same text in the
browser and in the search index), while math (`$…$`, `$$…$$`, `\\(…\\)`, `\\[…\\]`) goes to
arithmatex, which HTML-escapes it, and code spans stay code spans. Concept names are linked only
in plain text, never inside math or code.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Order matters: display math before inline, `$$` before `$`.
_SEGMENT = re.compile(
    r"(?P<code>`+)(?P<code_body>.+?)(?P=code)"
    r"|\$\$(?P<dd>.+?)\$\$"
    r"|\\\[(?P<sq>.+?)\\\]"
    r"|\\\((?P<rd>.+?)\\\)"
    r"|(?<![\\$\w])\$(?P<d>[^\s$](?:[^$]*?[^\s$\\])?)\$(?!\w)",
    re.S,
)
# Characters that are markup anywhere in a line for the extensions the site enables (HTML,
# emphasis, code, links, attr_list braces, tables, arithmatex dollars, backslash escapes).
# Everything else (`.`, `-`, `(`, `:` …) is inert mid-line and stays as it is: every entity
# costs Python-Markdown an inline-pattern match, and notes are full of punctuation.
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", **{ch: f"&#{ord(ch)};" for ch in "\\`*_{}[]#|$"}}
_ESCAPE_TABLE = str.maketrans(_ENTITIES)
# Markup only at the start of a line: list items, headings' cousins, setext/hr, snippets.
_LINE_START = re.compile(r"^([ \t]*)([-+=]|\d+[.)])")
_CLOZE = re.compile(r"\{\{c\d+::(.*?)(?:::(.*?))?\}\}", re.S)


@dataclass(frozen=True)
class Segment:
    kind: str  # "text", "code", "math", "display"
    text: str


def segments(text: str) -> list[Segment]:
    """Split note text into plain text, code spans, inline math and display math."""
    out: list[Segment] = []
    pos = 0
    for m in _SEGMENT.finditer(text):
        if m.start() > pos:
            out.append(Segment("text", text[pos:m.start()]))
        if m.group("code") is not None:
            out.append(Segment("code", m.group("code_body")))
        elif m.group("dd") is not None or m.group("sq") is not None:
            out.append(Segment("display", (m.group("dd") or m.group("sq")).strip()))
        else:
            out.append(Segment("math", (m.group("rd") or m.group("d")).strip()))
        pos = m.end()
    if pos < len(text):
        out.append(Segment("text", text[pos:]))
    return out


def escape(text: str) -> str:
    """Plain text -> Markdown that renders as exactly this text (no markup, no HTML) when it
    does not start a line; `protect_line_start` covers the line start."""
    return text.translate(_ESCAPE_TABLE)


def protect_line_start(line: str) -> str:
    """A Markdown line whose first character would start a list, a rule or a snippet include
    (`- x`, `1. x`, `---`, `--8<--`) gets that character as an entity."""
    m = _LINE_START.match(line)
    if not m:
        return line
    marker = m.group(2)
    return m.group(1) + marker[:-1] + f"&#{ord(marker[-1])};" + line[m.end():]


def code_span(text: str) -> str:
    text = " ".join(text.split("\n"))
    ticks = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def inline_math(tex: str) -> str:
    return "\\(" + " ".join(tex.split()) + "\\)"


def display_math(tex: str) -> list[str]:
    return ["$$", *[line for line in tex.splitlines() if line.strip()], "$$"]


# A linker gets plain text and returns Markdown (escaped text with concept links in it).
Linker = Callable[[str], str]


class ConceptLinker:
    """Links the first mention of each concept (name or alias) in a piece of text.

    Matching is case-insensitive on whole words; all-caps aliases (GQA, KD) match only in
    capitals so that ordinary words are not linked. Longest names win.
    """

    def __init__(self, names: Iterable[tuple[str, str]]):
        names = sorted(names)
        by_name: dict[str, str] = {}
        for concept_id, name in names:
            name = " ".join(name.split())
            if len(name) >= 2 and name.casefold() not in by_name:
                by_name[name.casefold()] = concept_id
        self._ids = by_name
        caps = sorted({n for n in by_name if _is_acronym(n, names)}, key=lambda n: (-len(n), n))
        words = sorted(set(by_name) - set(caps), key=lambda n: (-len(n), n))
        parts = []
        if words:
            parts.append("(?i:" + "|".join(re.escape(w) for w in words) + ")")
        if caps:
            parts.append("|".join(re.escape(c.upper()) for c in caps))
        self._pattern = re.compile(r"(?<!\w)(" + "|".join(parts) + r")(?!\w)") if parts else None

    def link(self, text: str, href: Callable[[str], str], skip: frozenset[str] = frozenset(),
             seen: set[str] | None = None) -> str:
        """Escaped `text` with its first mention of each concept (not in `skip` or `seen`)
        linked to `href(concept_id)`; `seen` is updated so a card links each concept once."""
        if self._pattern is None:
            return escape(text)
        seen = set() if seen is None else seen
        out, pos = [], 0
        for m in self._pattern.finditer(text):
            concept_id = self._ids.get(m.group(1).casefold())
            if concept_id is None or concept_id in skip or concept_id in seen:
                continue
            seen.add(concept_id)
            out.append(escape(text[pos:m.start()]))
            out.append(f"[{escape(m.group(1))}]({href(concept_id)})")
            pos = m.end()
        out.append(escape(text[pos:]))
        return "".join(out)


def _is_acronym(key: str, names: Iterable[tuple[str, str]]) -> bool:
    return any(n.casefold() == key and n.isupper() and len(n) <= 5 for _, n in names)


def cloze_front(text: str) -> str:
    """`{{c1::answer::hint}}` -> `[…]` (or `[hint]`) for the question side."""
    return _CLOZE.sub(lambda m: f"[{m.group(2) or '…'}]", text)


def cloze_back(text: str) -> str:
    return _CLOZE.sub(lambda m: m.group(1), text)


def has_cloze(text: str) -> bool:
    return bool(_CLOZE.search(text))


def to_markdown(text: str, link: Linker | None = None) -> list[str]:
    """Note text -> Markdown lines (paragraphs separated by blank lines, unindented).

    Line breaks inside a paragraph become hard breaks; display math gets its own block.
    """
    link = link or escape
    lines: list[str] = []
    current = ""

    def flush() -> None:
        nonlocal current
        if current.strip():
            lines.extend([protect_line_start(current.rstrip()), ""])
        current = ""

    for seg in segments(text.replace("\r\n", "\n")):
        if seg.kind == "display":
            flush()
            lines.extend([*display_math(seg.text), ""])
        elif seg.kind == "math":
            current += inline_math(seg.text)
        elif seg.kind == "code":
            current += code_span(seg.text)
        else:
            for i, chunk in enumerate(re.split(r"\n[ \t]*\n", seg.text)):
                if i:
                    flush()
                for j, part in enumerate(chunk.split("\n")):
                    if j and current.strip():
                        current = current.rstrip() + "<br>"
                    if j or not current:
                        part = part.lstrip()  # never a 4-space code block
                    current += link(part)
    flush()
    while lines and not lines[-1]:
        lines.pop()
    return lines


def inline(text: str, link: Linker | None = None) -> str:
    """Note text -> one line of Markdown (for list items and table cells)."""
    link = link or escape
    out = []
    for seg in segments(" ".join(text.split())):
        if seg.kind in ("math", "display"):
            out.append(inline_math(seg.text))
        elif seg.kind == "code":
            out.append(code_span(seg.text))
        else:
            out.append(link(seg.text))
    return "".join(out)


def indent(lines: Iterable[str], prefix: str = "    ") -> list[str]:
    return [prefix + line if line else "" for line in lines]


def front_matter(title: str, **extra: str) -> list[str]:
    lines = ["---", f"title: {_yaml_str(title)}", "generated: true"]
    lines += [f"{k}: {_yaml_str(v)}" for k, v in extra.items()]
    return [*lines, "---", ""]


def _yaml_str(text: str) -> str:
    # JSON strings are YAML strings. Titles reach MkDocs templates unescaped (nav, <title>),
    # so note text in a title is HTML-escaped here.
    return json.dumps(html.escape(" ".join(text.split()), quote=False), ensure_ascii=False)


def short(text: str, limit: int = 90, link: Linker | None = None) -> str:
    """A one-line preview of note text for lists: cut at a segment boundary (never inside
    math or code) once `limit` characters are reached."""
    link = link or escape
    out, used = [], 0
    for seg in segments(" ".join(text.split())):
        if used >= limit:
            out.append("…")
            break
        if seg.kind in ("math", "display"):
            out.append(inline_math(seg.text))
        elif seg.kind == "code":
            out.append(code_span(seg.text))
        else:
            piece = seg.text if used + len(seg.text) <= limit else seg.text[: limit - used].rstrip() + "…"
            out.append(link(piece))
        used += len(seg.text)
    return "".join(out) or "(empty)"
