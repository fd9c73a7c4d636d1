"""Slide recap: PDF text of lecture slides (efficient-dl-midterm-recap.txt).

The extraction keeps one line per text box: a slide title (a Title-Case line followed by a
blank line), then `- ` bullets (` - ` indented for sub-bullets), `$$…$$` display math, loose
text boxes (diagram captions, variable legends such as `B: batch size`) and tab tables.

Structure:
* `Recap (Lecture N: …)` slides are structure: they set section ("Lecture N",) for the slides
  after them and give no items.
* Slides whose title is logistics (JUNK_TITLES: "General Information", "Midterm Coverage",
  "Example Question" without an answer, …) are skipped; so are tables and `(part N)` captions.
* Consecutive slides with the same title are one slide (the PDF repeats titles on build-up
  slides).

Items of a slide (section = ("Lecture N",); label = None; `$…$` kept verbatim):
* formula bullet `Label: $math$` / `Label $math$` -> question "<Label> of a <slide subject>"
  (e.g. "Number of MACs of a standard convolution"), answer = the math, followed by the slide's
  variable legend ("where B: batch size; …") when it has one; kind_hint "formula".
* definition bullet `**Term** is …` -> question "What is <Term>?", answer = the rest (the link
  pass derives the term's concept from the question).
* a bullet that asks (`… ?`) -> question "<slide title>: <bullet>", answer = its sub-bullets, or
  the display math right after it (kind_hint "formula").
* the display math of a slide -> question "<slide title> formula", answer = the math blocks
  and their legend lines (`X: HW × B × C`), or the captions of a math-only slide. A math-only
  slide that ends in a question ("How to compute $\\frac{\\partial W'}{\\partial W}$?")
  asks that question, with its math and captions as the setup (context) and no answer: the
  cards and compute passes flag it needs-review (`unanswered-question`).
* a tab table -> "<slide title>: what does the table show?", answer = the slide's bullets (its
  conclusions) and the table in Markdown.
* the other bullets and text boxes -> the shared lecture rules (readers/lecture.py: formulas,
  comparisons, instead-of, lead-ins, key-term clozes, key points). A title-only slide, one
  whose body is a figure caption, or one of a single short plain line (a title slide's
  tagline) gives no item; no question is the bare slide title. Points the notes cannot carry
  (a letter only the lost figure defined) come flagged needs-review (lecture.REVIEW_CAUSES).
* an "Example Question" slide -> one item per numbered question, its stem (the text above the
  questions) as context, no answer: the compute pass works it out from the stem with a
  registry formula's snippet code, or it stays needs-review.
Every item's context is "<Lecture N> › <slide title>".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from deckforge.model import RawItem, SourceSpan
from deckforge.readers import ReadResult, file_lines, lecture

NAME = "slides"

JUNK_TITLES = [
    re.compile(r"^(?:mid-?term|final)?\s*(?:exam\s*)?coverage$", re.I),
    re.compile(r"^general information$", re.I),
    re.compile(r"^(?:course\s+)?logistics$", re.I),
    re.compile(r"^(?:agenda|outline|thank you!?|questions\??|announcements?)$", re.I),
]
# Slides of worked exam questions: a stem, then numbered questions (no answers on the slide).
EXAMPLE_TITLES = [
    re.compile(r"^(?:example|sample|practice|exam|review)\s+(?:exam\s+)?(?:questions?|problems?)$",
               re.I),
    re.compile(r"^exercises?$", re.I),
]
_NUMBERED = re.compile(r"^\s*(\d{1,2})[.)]\s+(\S.*)$")
_HTML_EMPHASIS = re.compile(r"</?(?:i|em|b|strong)>", re.I)
_RECAP = re.compile(r"^recap\s*\(\s*lecture\s*(\d+)\b", re.I)
_BULLET = re.compile(r"^(\s*)[-•*]\s+(.*)$")
_CAPTION_JUNK = re.compile(r"^\(part \d+\)$", re.I)
_LEGEND = re.compile(r"^[A-Z](?:\s*,\s*[A-Z])*\s*:\s+\S")
_FORMULA_BULLET = re.compile(r"^(?P<label>[^$:()]{2,60}?)\s*:?\s*(?P<math>\$[^$]+\$)\s*$")
_DEFINITION = re.compile(r"^\*\*(?P<term>[^*]+)\*\*\s+(?:is|are|refers to|means)\s+(?P<text>.+)$")
_SMALL = {"a", "an", "the", "of", "to", "at", "as", "and", "for", "with", "in", "on", "by",
          "or", "vs", "via", "from", "into"}
LABELS = [
    (re.compile(r"^(?:the\s+)?number of macs?$", re.I), "Number of MACs"),
    (re.compile(r"^(?:the\s+)?original macs?$", re.I), "Original number of MACs"),
]


@dataclass
class _Element:
    kind: str  # bullet | math | text
    text: str
    first: int
    last: int
    children: list[_Element] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)  # a tab table's cells


@dataclass
class _Slide:
    title: str
    line: int
    lines: list[tuple[int, str]] = field(default_factory=list)


def is_title(text: str) -> bool:
    """A slide title: a short Title-Case line (small words such as 'of' may stay lower)."""
    if not text or len(text) > 90 or text.endswith((".", ",", ";", ":")):
        return False
    if any(ch in text for ch in "$×=\t") or text.startswith(("(", "-", "•")):
        return False
    words = text.split()
    if len(words) > 12:
        return False
    for n, word in enumerate(words):
        core = word.strip("()[]:?,!'\"")
        if not core:
            return False
        for part in core.split("-"):
            if not part or part[0].isdigit() or part[0].isupper():
                continue
            if n > 0 and part.lower() in _SMALL:
                continue
            return False
    return words[0][:1].isupper()


def sniff(text: str) -> float:
    lines = file_lines(text)
    nonblank = [ln for ln in lines if ln.strip()]
    if not nonblank:
        return 0.0
    bullets = sum(bool(_BULLET.match(ln)) for ln in nonblank)
    titles = sum(1 for a, b in zip(lines, [*lines[1:], ""], strict=False)
                 if is_title(a.strip()) and not b.strip())
    dotted = sum("........" in ln for ln in nonblank)
    score = (0.25 * bool(re.search(r"\$[^$\n]+\$", text))
             + 0.35 * min(1.0, 4 * bullets / len(nonblank))
             + 0.25 * min(1.0, 6 * titles / len(nonblank))
             + 0.15 * bool(_RECAP.search(text) or re.search(r"^recap\b", text, re.I | re.M)))
    return max(0.0, score - dotted / len(nonblank))


def read(text: str, path: str, **_options) -> ReadResult:
    result = ReadResult()
    lecture: str | None = None
    for slide in _slides(file_lines(text)):
        recap = _RECAP.match(slide.title)
        if recap:
            lecture = f"Lecture {recap.group(1)}"
            continue
        if any(p.match(slide.title) for p in JUNK_TITLES):
            continue
        section = (lecture,) if lecture else ()
        if any(p.match(slide.title) for p in EXAMPLE_TITLES):
            result.items.extend(_example_items(slide, path, section))
            continue
        result.items.extend(_slide_items(slide, _elements(slide.lines), path, section))
    return result


def _slides(lines: list[str]) -> list[_Slide]:
    slides: list[_Slide] = []
    for i, raw in enumerate(lines):
        text = raw.strip()
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        previous = lines[i - 1].strip() if i > 0 else ""
        if is_title(text) and not following and not previous:
            if slides and slides[-1].title == text:
                continue  # a build-up slide repeating its title: same slide
            slides.append(_Slide(text, i + 1))
        elif slides and text:
            slides[-1].lines.append((i + 1, raw.rstrip()))
    return slides


def _elements(lines: list[tuple[int, str]]) -> list[_Element]:
    out: list[_Element] = []
    previous_line = -1
    math_open: _Element | None = None
    for lineno, raw in lines:
        text = raw.strip()
        if math_open is not None:
            math_open.text += "\n" + text
            math_open.last = lineno
            if text.endswith("$$"):
                math_open = None
            previous_line = lineno
            continue
        bullet = _BULLET.match(raw)
        if "\t" in raw and len([c for c in raw.split("\t") if c.strip()]) >= 2:
            row = _HTML_EMPHASIS.sub("*", raw.strip("\n")).rstrip("\t").split("\t")
            if out and out[-1].kind == "table" and previous_line == lineno - 1:
                out[-1].rows.append(row)
                out[-1].last = lineno
            else:
                out.append(_Element("table", "", lineno, lineno, rows=[row]))
        elif _CAPTION_JUNK.match(text):
            pass
        elif text.startswith("$$"):
            element = _Element("math", text, lineno, lineno)
            out.append(element)
            if not (len(text) > 2 and text.endswith("$$")):
                math_open = element
        elif bullet:
            element = _Element("bullet", bullet.group(2).strip(), lineno, lineno)
            parent = out[-1] if out and out[-1].kind == "bullet" else None
            if bullet.group(1) and parent is not None:
                parent.children.append(element)
                parent.last = lineno
            else:
                out.append(element)
        elif raw[:1].isspace() and out and out[-1].kind == "bullet" and previous_line == lineno - 1:
            target = out[-1].children[-1] if out[-1].children else out[-1]
            target.text += " " + text  # a wrapped bullet (` $32 \times …$` under "Storage cost:")
            target.last = out[-1].last = lineno
        elif out and out[-1].kind == "text" and previous_line == lineno - 1:
            out[-1].text += " " + text
            out[-1].last = lineno
        else:
            out.append(_Element("text", text, lineno, lineno))
        previous_line = lineno
    return out


def _slide_items(slide: _Slide, elements: list[_Element], path: str,
                 section: tuple[str, ...]) -> list[RawItem]:
    items: list[RawItem] = []

    def add(question, answer, first, last, kind=None, context=(*section, slide.title),
            review="", note="", setup=""):
        items.append(RawItem(question, answer, SourceSpan(path, first, last), NAME,
                             section=section, kind_hint=kind,
                             context="\n\n".join(filter(None, [" › ".join(context), setup])),
                             needs_review=bool(review), cause=review,
                             notes=(note,) if note else ()))

    formulas = [e for e in elements if e.kind == "bullet" and not e.children
                and _FORMULA_BULLET.match(e.text) and len(_FORMULA_BULLET.match(e.text)
                                                          .group("label").split()) <= 6]
    legend = [e for e in elements if e.kind == "text" and _LEGEND.match(e.text)] if formulas else []
    where = ("\n\nwhere " + "; ".join(e.text for e in legend)) if legend else ""
    used = {id(e) for e in formulas + legend}
    for e in formulas:
        match = _FORMULA_BULLET.match(e.text)
        add(f"{_label(match.group('label'))} of {_subject(slide.title)}",
            match.group("math") + where, e.first, e.last, "formula")
    for k, e in enumerate(elements):
        if id(e) in used or e.kind == "math":
            continue
        definition = _DEFINITION.match(e.text) if e.kind == "bullet" else None
        if definition:
            # "What is X?", not the bare term: the term is often the slide's own title
            add(f"What is {definition.group('term').strip()}?",
                _capitalize(definition.group("text")), e.first, e.last)
            used.add(id(e))
        elif e.kind == "bullet" and e.text.endswith("?"):
            question = f"{slide.title}: {e.text}"
            if e.children:
                add(question, _markdown(e.children), e.first, e.last)
                used.add(id(e))
                continue
            maths = []
            for nxt in elements[k + 1:]:
                if nxt.kind != "math":
                    break
                maths.append(nxt)
            if maths:
                add(question, "\n\n".join(m.text for m in maths), e.first, maths[-1].last, "formula")
                used.update(id(m) for m in [e, *maths])
    rest = [e for e in elements if id(e) not in used]
    maths = [e for e in rest if e.kind == "math"]
    prose = [e for e in rest if e.kind not in ("math", "table")]
    math_only = all(e.kind == "text" and len(e.text.split()) <= 8 for e in prose)
    asked = [e for e in prose if e.kind == "text" and e.text.endswith("?")]
    if maths and math_only and asked and asked[-1] is prose[-1]:
        # Formulas that lead to a question the slide leaves open ("How to compute
        # ∂W'/∂W?"): the question, with the formulas as its setup; its answer is not on the
        # slide (the cards and compute passes flag it unanswered, out of the study path).
        block = sorted(maths + prose[:-1], key=lambda e: e.first)
        add(asked[-1].text, "", min(e.first for e in maths), asked[-1].last,
            setup="\n\n".join(e.text for e in block))
        rest = []
    elif maths:
        # Display math: with prose, the math and its legend; alone, the math and its captions.
        block = maths + ([e for e in prose if e.kind == "text" and _LEGEND.match(e.text)]
                         if not math_only else prose)
        add(f"{slide.title} formula", "\n\n".join(e.text for e in block),
            min(e.first for e in block), max(e.last for e in block), "formula")
        rest = [e for e in rest if e not in block]
    tables = [e for e in rest if e.kind == "table"]
    nodes = [_node(e) for e in rest if e.kind == "bullet" or
             (e.kind == "text" and len(e.text.split()) > 2 and not _LEGEND.match(e.text))]
    topic_path = (*section, slide.title)
    for table in tables:
        # A table is read with what the slide concludes from it (its bullets).
        answer = "\n\n".join(filter(None, [lecture._list(nodes), _table(table.rows)]))
        last = max([table.last, *(n.end for n in nodes)])
        add(f"{slide.title}: what does the table show?", answer, table.first, last)
    if not tables:
        # the slide's other text (its legend, math and captions) may define a point's letters
        known = " ".join(e.text for e in elements if e.kind in ("text", "math"))
        # a slide of one line and nothing else (no math, no table) is a title slide
        tagline = len(elements) == 1
        for d in lecture.cards(nodes, slide.title, topic_path, known=known, tagline=tagline):
            add(d.question, d.answer, d.first, d.last, d.kind_hint, context=d.path,
                review=d.review, note=d.note)
    return sorted(items, key=lambda item: (item.span.line, item.span.end_line))


def _node(e: _Element) -> lecture.Node:
    return lecture.Node(e.text, e.first, e.first if e.children else e.last,
                        [_node(c) for c in e.children])


def _table(rows: list[list[str]]) -> str:
    """Tab-separated rows -> a Markdown table (the first row is the header)."""
    width = max(len(r) for r in rows)
    cells = [[c.strip().replace("|", "\\|") for c in r] + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(r) + " |" for r in cells[1:]]
    return "\n".join(lines)


def _example_items(slide: _Slide, path: str, section: tuple[str, ...]) -> list[RawItem]:
    """An exam-question slide: its stem (the text before the first numbered line) becomes each
    question's context; the questions have no answer on the slide (needs-review, unless the
    compute pass can work one out from the stem with a registry formula)."""
    stem: list[str] = []
    questions: list[list] = []  # [first line, last line, text]
    for lineno, raw in slide.lines:
        match = _NUMBERED.match(raw)
        text = raw.strip()
        if match:
            questions.append([lineno, lineno, match.group(2).strip()])
        elif questions and text:
            questions[-1][1] = lineno
            questions[-1][2] += " " + text
        elif text:
            stem.append(text)
    context = " ".join(stem)
    # No needs_review here: the cards pass flags an empty answer, and the compute pass either
    # answers it or marks it unanswered.
    return [RawItem(q, "", SourceSpan(path, first, last), NAME, section=section,
                    context=context) for first, last, q in questions]


def _markdown(elements: list[_Element], depth: int = 0) -> str:
    parts: list[str] = []
    for e in elements:
        if e.kind == "bullet":
            lines = ["  " * depth + "- " + e.text]
            if e.children:
                lines.append(_markdown(e.children, depth + 1))
            parts.append("\n".join(lines))
        else:
            parts.append(e.text)
    out = parts[:1]
    for prev, e, part in zip(elements, elements[1:], parts[1:], strict=False):
        tight = depth or (prev.kind == e.kind == "bullet")
        out.append(("\n" if tight else "\n\n") + part)
    return "".join(out)


def _label(label: str) -> str:
    label = label.strip()
    for pattern, name in LABELS:
        if pattern.match(label):
            return name
    return _capitalize(label)


def _subject(title: str) -> str:
    """`Computational Cost: Standard Convolution` -> `a standard convolution`."""
    subject = title.split(":", 1)[-1].strip()
    words = [w.lower() if w[:1].isupper() and w[1:].islower() else w for w in subject.split()]
    text = " ".join(words)
    return ("an " if text[:1].lower() in "aeiou" else "a ") + text


def _capitalize(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:]
