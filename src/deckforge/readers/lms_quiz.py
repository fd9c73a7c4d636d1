"""LMS (Canvas-style) quiz export with clipped correctness markers (ml-systems-reading-quizzes.txt).

Layout: a reading title line ("Flash Attention"), `Question N`, a score `0 / 1 pts`, the stem,
then the options. The export clipped the marker words Canvas prints beside options:
`swer` / `wer` / `Answer` (from "Correct Answer") stand before the correct option, `ered` /
`ed` / `swered` (from "You Answered") before the option the student chose, and `ct!` (from
"Correct!") lost its position. Some questions are one long line ("Kishu Question 1 0 / 1 pts …").

Blocks: a block starts at a `Question N` line (the title may share the line) and ends where the
next block's title or `Question` line starts. The title is the short line just above
`Question N` (blank lines and markers skipped); a block without one gets section ().

Stem and options (multi-line block), in this order of evidence:
1. the stem runs to the first line that asks (ends with `?` or says "which of the following");
   short context lines before it (one token: diagram labels such as `M_3`) are dropped;
2. display math (`$$…$$`) after the asking line and the lines before it are stem context;
3. with markers: every remaining line is an option (a marker applies to the option after it);
   without markers but with `- ` bullets: the bullets are the options (other lines are diagram
   residue, dropped with a note); else the trailing run of short lines (radio residue `O`
   stripped) is the option list and longer lines before it are stem context.
One-line blocks: the stem runs to the asking sentence; with markers, text before the first
marker is stem context and each marker segment holds options (parenthesized groups and the text
between them); without markers, the options are split where the first word of the remainder
repeats ("P1's … P1's …").

Correct option(s), recovered only where the markers allow it (the reason is in `notes`):
* an option after a "Correct Answer" marker is correct;
* else an option after a "You Answered" marker with full points (`1 / 1 pts`) is correct;
* else, with full points, the single option without the empty radio mark `O` is the chosen one
  and so the correct one;
* otherwise `correct` stays empty and `needs_review=True` with the reason (e.g. the chosen
  option scored 0 and the correct marker was clipped, or full points but the position of
  `ct!` was lost).

RawItem fields: question = stem paragraphs joined with "\\n\\n" ($…$ kept); answer = the
correct option text(s) joined with "; " or ""; options = option texts; correct = indices;
section = (reading title,); label = None (every question is "Question 1" of its own reading);
kind_hint = "multiple-choice"; span = the `Question` line .. the last option line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from deckforge.diagnostics import Diagnostic
from deckforge.model import RawItem, SourceSpan
from deckforge.readers import ReadResult, file_lines

NAME = "lms_quiz"

_QUESTION = re.compile(r"^(?P<title>(?:[^\W\d][\w.-]*\s+){0,4}?)Question\s+(?P<num>\d+)\b\s*(?P<rest>.*)$")
_PTS = re.compile(r"^(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*pts\b\s*", re.I)
CORRECT_MARKERS = {"swer", "wer", "answer", "correct answer", "correct answers"}
CHOSEN_MARKERS = {"ered", "ed", "swered", "answered", "you answered"}
LOST_MARKERS = {"ct!", "correct!", "incorrect!"}
_ONE_LINE_MARKER = re.compile(r"(?<!\S)(swered|Answered|Answer|swer|wer|ered)(?!\S)")
_ASKS = re.compile(r"\?\s*$|\bwhich of the following\b", re.I)
_RADIO = re.compile(r"^O(?=\s|[a-z])\s*")
_NUMBER_ONLY = re.compile(r"^\d+$")


@dataclass
class _Unit:
    line: int
    text: str
    kind: str = "text"  # text | bullet | math | correct | chosen | lost

    @property
    def marker(self) -> bool:
        return self.kind in ("correct", "chosen", "lost")


@dataclass
class _Question:
    start: int
    title: str | None
    score: tuple[float, float] | None
    units: list[_Unit] = field(default_factory=list)
    inline: str = ""  # the rest of a one-line question


def sniff(text: str) -> float:
    lines = [ln.strip() for ln in file_lines(text) if ln.strip()]
    if not lines:
        return 0.0
    questions = sum(bool("Question" in ln and _QUESTION.match(ln)) for ln in lines)
    pts = sum(bool(re.search(r"\d\s*/\s*\d+\s*pts\b", ln)) for ln in lines)
    markers = sum(ln.lower() in CORRECT_MARKERS | CHOSEN_MARKERS | LOST_MARKERS for ln in lines)
    if not questions:
        return 0.0
    if not pts:  # "Question 3" alone is weak evidence
        return 0.3 * min(1.0, markers / questions + 0.5)
    return min(1.0, 0.7 + 0.15 * min(1.0, pts / questions) + 0.15 * min(1.0, markers / questions))


def _classify(line: int, text: str) -> _Unit:
    low = text.lower()
    if low in CORRECT_MARKERS:
        return _Unit(line, text, "correct")
    if low in CHOSEN_MARKERS:
        return _Unit(line, text, "chosen")
    if low in LOST_MARKERS:
        return _Unit(line, text, "lost")
    if text.startswith("$$"):
        return _Unit(line, text, "math")
    if text.startswith(("- ", "* ", "• ")):
        return _Unit(line, text[2:].strip(), "bullet")
    return _Unit(line, text)


def _is_title(text: str) -> bool:
    words = text.split()
    return (0 < len(words) <= 5 and not text.endswith((".", "?", ":", ","))
            and not text.startswith(("-", "$", "(")) and not _NUMBER_ONLY.match(text)
            and text.lower() not in CORRECT_MARKERS | CHOSEN_MARKERS | LOST_MARKERS
            and not _PTS.match(text) and text[:1].isupper())


def _blocks(lines: list[str]) -> list[_Question]:
    starts = [i for i, ln in enumerate(lines) if "Question" in ln and _QUESTION.match(ln.strip())]
    blocks: list[_Question] = []
    for k, i in enumerate(starts):
        match = _QUESTION.match(lines[i].strip())
        title = match.group("title").strip() or None
        title_line = i
        if title is None:  # the title line above, skipping blanks and lost markers
            j = i - 1
            while j >= 0 and (not lines[j].strip() or lines[j].strip().lower() in LOST_MARKERS):
                j -= 1
            if j >= 0 and _is_title(lines[j].strip()) and (not blocks or j > blocks[-1].start):
                title, title_line = lines[j].strip(), j
        if blocks:  # the previous block ends before this one's title
            blocks[-1].units = [u for u in blocks[-1].units if u.line - 1 < title_line]
        rest = match.group("rest").strip()
        score = None
        pts = _PTS.match(rest)
        if pts:
            score, rest = (float(pts.group(1)), float(pts.group(2))), rest[pts.end():].strip()
        block = _Question(i + 1, title, score, inline=rest)
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        for j in range(i + 1, end):
            text = lines[j].strip()
            if not text or _NUMBER_ONLY.match(text):
                continue
            pts = _PTS.match(text)
            if pts and block.score is None:
                block.score = (float(pts.group(1)), float(pts.group(2)))
                text = text[pts.end():].strip()
                if not text:
                    continue
            block.units.append(_classify(j + 1, text))
        blocks.append(block)
    return blocks


def read(text: str, path: str, **_options) -> ReadResult:
    result = ReadResult()
    lines = file_lines(text)
    for block in _blocks(lines):
        if block.inline and not block.units:
            item = _one_line(block, path)
        else:
            if block.inline:
                block.units.insert(0, _Unit(block.start, block.inline))
            item = _multi_line(block, path)
        if item is None:
            result.diagnostics.append(Diagnostic(
                path, block.start, "quiz-unreadable",
                "no question text or options found after 'Question'; check the export.",
                level="warning"))
            continue
        result.items.append(item)
    return result


def _multi_line(block: _Question, path: str) -> RawItem | None:
    units = block.units
    ask = next((k for k, u in enumerate(units) if u.kind == "text" and _ASKS.search(u.text)), None)
    if ask is None:
        return None
    notes: list[str] = []
    stem = [u for u in units[:ask] if u.kind == "text" and len(u.text.split()) > 1]
    if len(stem) < sum(u.kind == "text" for u in units[:ask]):
        notes.append("dropped one-word diagram labels before the question")
    stem.append(units[ask])
    tail = units[ask + 1:]
    last_math = max((k for k, u in enumerate(tail) if u.kind == "math"), default=-1)
    stem += [u for u in tail[: last_math + 1] if not u.marker]
    tail = tail[last_math + 1:]
    has_markers = any(u.kind in ("correct", "chosen") for u in tail)
    radio = False
    if has_markers:
        candidates = tail
    elif any(u.kind == "bullet" for u in tail):
        candidates = [u for u in tail if u.kind == "bullet" or u.marker]
        if any(u.kind == "text" for u in tail):
            notes.append("dropped diagram text between the question and the options")
    else:
        run: list[_Unit] = []
        for u in reversed(tail):
            if u.marker or len(u.text.split()) <= 4:
                run.insert(0, u)
            else:
                break
        stem += [u for u in tail[: len(tail) - len(run)] if not u.marker]
        candidates = run
        radio = sum(bool(_RADIO.match(u.text)) for u in run if not u.marker) >= 2
    options, marks = _options(candidates, radio)
    return _item(block, path, [u.text for u in stem], options, marks, notes,
                 end=max([u.line for u in units if not u.marker] or [block.start]))


def _options(units: list[_Unit], radio: bool) -> tuple[list[str], list[set[str]]]:
    options: list[str] = []
    marks: list[set[str]] = []
    pending: set[str] = set()
    for u in units:
        if u.marker:
            if u.kind != "lost":
                pending.add(u.kind)
            continue
        text, unmarked = u.text, set()
        if radio:
            if _RADIO.match(text):
                text = _RADIO.sub("", text)
            else:
                unmarked.add("radio-chosen")
        options.append(text)
        marks.append(pending | unmarked)
        pending = set()
    return options, marks


def _one_line(block: _Question, path: str) -> RawItem | None:
    text = block.inline
    cut = text.rfind("?") + 1  # the asking sentence ends at the last '?'
    if cut == 0:
        return None
    stem, rest = text[:cut].strip(), text[cut:].strip()
    notes: list[str] = []
    parts = _ONE_LINE_MARKER.split(rest)
    options: list[str] = []
    marks: list[set[str]] = []
    if len(parts) > 1:
        context = parts[0].strip()
        if context:
            stem = f"{stem}\n\n{context}"
        for k in range(1, len(parts), 2):
            kind = "correct" if parts[k].lower() in CORRECT_MARKERS else "chosen"
            for n, option in enumerate(_split_segment(parts[k + 1])):
                options.append(option)
                marks.append({kind} if n == 0 else set())
        notes.append("one-line export: text before the first marker is taken as stem context")
    else:
        options = _split_repeated(rest)
        marks = [set() for _ in options]
    return _item(block, path, [stem], options, marks, notes, end=block.start)


def _split_segment(segment: str) -> list[str]:
    """`(a, b) (c) No correct answers` -> ["(a, b)", "(c)", "No correct answers"]."""
    segment = segment.strip()
    if not segment.startswith("("):
        return _split_repeated(segment)
    out, pos = [], 0
    for match in re.finditer(r"\([^()]*\)", segment):
        between = segment[pos:match.start()].strip()
        if between:
            out.append(between)
        out.append(match.group(0))
        pos = match.end()
    if segment[pos:].strip():
        out.append(segment[pos:].strip())
    return out


def _split_repeated(text: str) -> list[str]:
    """Split where the first word repeats: "P1's a P1's b" -> ["P1's a", "P1's b"]."""
    words = text.split()
    if not words:
        return []
    first = words[0]
    out: list[list[str]] = []
    for word in words:
        if word == first or not out:
            out.append([word])
        else:
            out[-1].append(word)
    return [" ".join(o) for o in out] if len(out) >= 2 else [text.strip()]


def _item(block, path, stem, options, marks, notes, end) -> RawItem | None:
    if not stem or not options:
        return None
    correct, needs_review = _recover(block, options, marks, notes)
    answer = "; ".join(options[i] for i in correct)
    section = (block.title,) if block.title else ()
    if not block.title:
        notes.append("the reading title is missing in the export")
    return RawItem("\n\n".join(stem), answer, SourceSpan(path, block.start, end), NAME,
                   section=section, kind_hint="multiple-choice", options=tuple(options),
                   correct=tuple(correct), notes=tuple(notes), needs_review=needs_review)


def _recover(block, options, marks, notes) -> tuple[list[int], bool]:
    score = block.score
    full = score is not None and score[1] > 0 and score[0] >= score[1]
    marked = [i for i, m in enumerate(marks) if "correct" in m]
    chosen = [i for i, m in enumerate(marks) if "chosen" in m]
    radio = [i for i, m in enumerate(marks) if "radio-chosen" in m]
    pts = f"{score[0]:g} / {score[1]:g} pts" if score else "no score"
    if marked:
        names = ", ".join(str(i + 1) for i in marked)
        notes.append(f"correct option {names} recovered from the clipped 'Correct Answer' marker")
        if chosen and score is not None and (set(chosen) == set(marked)) != full:
            notes.append(f"the chosen option and the score ({pts}) disagree; check the quiz")
        return marked, False
    if chosen and full:
        notes.append(f"correct option {chosen[0] + 1}: the chosen option ('You Answered' marker) "
                     f"scored {pts}")
        return chosen, False
    if len(radio) == 1 and full:
        notes.append(f"correct option {radio[0] + 1}: the only option without the empty radio "
                     f"mark 'O' is the chosen one, and it scored {pts}")
        return radio, False
    if chosen:
        reason = (f"the chosen option {chosen[0] + 1} scored {pts} and the 'Correct Answer' "
                  "marker was clipped")
    elif full:
        reason = f"scored {pts} but the marker of the chosen option was clipped"
    else:
        reason = f"no correctness marker survived ({pts})"
    notes.append(f"correct option unknown: {reason}; check the quiz and mark it")
    return [], True
