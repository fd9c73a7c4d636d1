"""normalize: RawItem -> RawItem. Export junk, stray HTML, clipped letters, unicode math.

Each rule is a small pure function over text, listed in the order it runs. The rules are
conservative: text already written as `$…$` LaTeX is left alone, prose arrows stay prose, and
PDF-mangled formulas (`softmax(dkQKT)V`) are kept verbatim for the repair pass to replace.
What the pass fixes that a reader could not see (clipped letters) is recorded as an `info`
diagnostic naming file:line.
"""

from __future__ import annotations

import re
from dataclasses import replace

from deckforge.diagnostics import Diagnostic
from deckforge.model import KnowledgeGraph, RawItem
from deckforge.text.clipped import capitalized_counts, restore_line
from deckforge.text.html_fragments import strip_html
from deckforge.text.unicode_math import unicode_math_to_latex

# Lines that are export furniture, never content (quizlet-style export header, LMS scores,
# the study-mode banner of the dotted file).
JUNK_LINES = [
    re.compile(r"^\d+\s*/\s*\d+$"),  # "1/47" card counter
    re.compile(r"^Looks like no tags are added yet\.?$", re.I),
    re.compile(r"^Name \| Mastery \|.*$"),
    re.compile(r"^\|?\s*-{3,}\s*(\|\s*-*\s*)*\|?$"),  # markdown table rule "|---|"
    re.compile(r"^No analytics yet\.?$", re.I),
    re.compile(r"^Send a link to your students.*$", re.I),
    re.compile(r"^FLIP TO QUESTION; THIS IS ANSWER$", re.I),
    re.compile(r"^\d+(?:\.\d+)? / \d+ pts$"),
]
# Readers whose export clips the first letter of answer lines (the transformers export).
CLIPPED_READERS = {"alternating"}
# Readers whose separator can leave a ninth dot on the question ("line.........answer").
DOTTED_READERS = {"dotted"}
_TRAILING_HASH = re.compile(r"(?<=[:.;])#\s*$", re.M)  # "softmax function:#"
_NINTH_DOT = re.compile(r"(?<![.\s])\.$")
_SPACES = re.compile(r"[ \t\u00a0\u2009\u202f]+")
_STRAY_DISPLAY = re.compile(r"^(?!\s*\$\$)(.*?\S)\s*\$\$\s*$")


_ANY_JUNK = re.compile("|".join(f"(?:{r.pattern})" for r in JUNK_LINES), re.I)


def is_junk_line(line: str) -> bool:
    return bool(_ANY_JUNK.fullmatch(line.strip()))


def drop_junk_lines(text: str) -> str:
    return "\n".join(ln for ln in text.split("\n") if not is_junk_line(ln))


def tidy_whitespace(text: str) -> str:
    lines = [_SPACES.sub(" ", ln).strip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(ln for ln in lines if ln)


def drop_stray_display_dollars(text: str) -> str:
    """A `$$` closing a line that never opened one (HTML export debris) is removed."""
    out = []
    for line in text.split("\n"):
        match = _STRAY_DISPLAY.match(line)
        if match and line.count("$$") % 2 == 1:
            line = match.group(1)
        out.append(line)
    return "\n".join(out)


def drop_trailing_hash(text: str) -> str:
    return _TRAILING_HASH.sub("", text)


TEXT_RULES = [  # (name, fn) in order; each str -> str, idempotent
    ("strip-html", strip_html),
    ("junk-lines", drop_junk_lines),
    ("whitespace", tidy_whitespace),
    ("stray-display-dollars", drop_stray_display_dollars),
    ("trailing-hash", drop_trailing_hash),
    ("unicode-math", unicode_math_to_latex),
]


def clean_text(text: str) -> str:
    for _name, rule in TEXT_RULES:
        text = rule(text)
    return text


def drop_ninth_dot(question: str) -> str:
    """`Define memory wall.........CPU…`: the dot before the eight-dot separator is noise."""
    return _NINTH_DOT.sub("", question).rstrip()


def restore_clipped(answer: str, counts) -> tuple[str, list[tuple[int, str, str]]]:
    """The answer with clipped lines restored, and (answer line index, old word, new word)."""
    fixed, changes = [], []
    for index, line in enumerate(answer.split("\n")):
        restored = restore_line(line, counts)
        if restored is not None:
            changes.append((index, line.split(" ", 1)[0], restored.split(" ", 1)[0]))
            line = restored
        fixed.append(line)
    return "\n".join(fixed), changes


def normalize_item(item: RawItem, counts) -> tuple[RawItem | None, list[Diagnostic]]:
    diags: list[Diagnostic] = []
    answer = item.answer
    if item.reader in CLIPPED_READERS:
        answer, changes = restore_clipped(strip_html(answer), counts)
        first_answer_line = item.span.line + item.question.count("\n") + 1  # answer follows question
        for index, old, new in changes:
            line = min(first_answer_line + index, item.span.end_line)
            diags.append(Diagnostic(item.span.path, line, "clipped-letter-restored",
                                    f"answer line began with {old!r}; restored to {new!r}", level="info"))
    question = clean_text(item.question)
    if item.reader in DOTTED_READERS:
        question = drop_ninth_dot(question)
    if not question.strip(" .?:-—"):
        diags.append(Diagnostic(item.span.path, item.span.line, "junk-item",
                                "holds no question text after cleanup; skipped", level="info"))
        return None, diags
    return replace(
        item,
        question=question,
        answer=clean_text(answer),
        options=tuple(clean_text(o) for o in item.options),
    ), diags


def normalize(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    clipped = [i for i in graph.raw_items if i.reader in CLIPPED_READERS]
    counts = capitalized_counts(t for i in graph.raw_items for t in (i.question, i.answer)) if clipped else {}
    items, diags = [], []
    for item in graph.raw_items:
        new, found = normalize_item(item, counts)
        diags.extend(found)
        if new is not None:
            items.append(new)
    return graph.replace(raw_items=tuple(items)).warn(*diags)
