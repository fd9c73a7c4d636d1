"""Dotted flashcards: `question........answer` (cs242-systems-flashcards.txt).

Grammar, one line at a time (linear: one regex search per line, dict look-ups only):

* A *dotted line* holds the first run of 8 or more dots. The LAST eight dots of that run are the
  separator; dots before them belong to the question (`(roofline).........see image` is the
  question `Define arithmetic intensity (roofline).` and the answer `see image`).
* Header lines (dotted, empty answer) are structure, never items:
  `LECTURE 3 — …`, `✅ QUIZ 4 - …` (emoji allowed), all-caps blocks such as
  `FINAL FORMULAS & LAWS CHEAT BLOCK`. Separator lines (`⸻........`, a bare `........`) end the
  current lecture/block section.
* Lines without dots before a dotted line are part of its question (multi-line questions; the
  span covers all of them). Exception: an answer that starts an `A)` list continues on the
  following `B)`, `C)` … lines (and the line after a bare `B)`). A `FLIP TO QUESTION; THIS IS
  ANSWER` line reverses the next item. Lines without dots that end up attached to no dotted line
  get a `dotted-no-separator` warning.
* Quiz labels at the start of a line (`Quiz 2 Q1a — "…"`, `Q3 Q1 b:`, `Q1aQ 1a:`, a bare `Q1b`)
  are cut off the question text and normalized into `label` (`Quiz 2 Q1a`, `Quiz 3 Q1b`).
  A label without its quiz takes it from the quiz header above, except after that quiz block
  ended (an unlabelled item ends it): there an item whose label and answer repeat an earlier
  quiz item takes that quiz (noted in `notes`), else it falls back to the quiz header above.

RawItem fields:
  question   the question text, label prefix and wrapping quotes removed; the lines of a
             multi-line question joined with "\\n"; a ninth dot kept (normalize may drop it)
  answer     the text after the separator, verbatim ("" and "." are kept for repair)
  section    (quiz title,) for quiz-labelled items, e.g. ("Quiz 4 — Distillation, …",) or
             ("Quiz 2",); else (lecture/block header title,) such as
             ("Lecture 3 — Memory Hierarchy & Roofline Model",), or () before any header
  label      "Quiz N Qxy" when the quiz is known, "Qxy" otherwise, None without a label
  kind_hint  None (true/false is left to the cards pass), options/correct empty
  notes      how a quiz was resolved, a flipped item
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from deckforge.diagnostics import Diagnostic
from deckforge.model import RawItem, SourceSpan
from deckforge.readers import ReadResult, file_lines

NAME = "dotted"

_DOTS = re.compile(r"\.{8,}")
_LETTER = re.compile(r"\w")
_LEAD_SYMBOLS = re.compile(r"^[\W_]+(?=\w)")  # emoji / bullets before a header word
_LECTURE = re.compile(r"^(lecture|lec)\s*(\d+)\s*[-—–:]*\s*(.*)$", re.I)
_QUIZ = re.compile(r"^quiz\s*(\d+)\s*[-—–:]*\s*(.*)$", re.I)
_FLIP = re.compile(r"\bflip\b.*\bquestion\b", re.I)
_ENUM = re.compile(r"^([A-Z])\)")
_FLIPPED = "question and answer reversed"

# Quiz labels: `Quiz 2 Q1a`, `Q3 Q1 b` (quiz 3, Q1b), `Q 1a`, `Q2b1`; repeats such as
# `Q2c Q2 c:` or `Q1aQ 1a:` are one label. Case-sensitive `Q` + digit so `QKV` is no label.
_QUIZ_PREFIX = re.compile(r"(?:Quiz\s*(\d+)|Q(\d+)(?=\s+Q\s*\d))\s*")
_LABEL = re.compile(r"Q\s?(\d+)\s?([a-z]\d?)?(?=Q|\W|$)")
_LABEL_SEP = re.compile(r"[\s:.\-—–]*(?:T/F\s*:)?\s*")
_QUOTES = "\"“”'"

_SMALL_WORDS = {"and", "of", "the", "to", "for", "with", "in", "on", "vs", "a", "an", "or"}


@dataclass(frozen=True)
class Label:
    quiz: int | None
    number: int
    sub: str  # "a", "b1", "" for a bare parent label such as "Q1:"

    def text(self, quiz: int | None) -> str:
        core = f"Q{self.number}{self.sub}"
        return f"Quiz {quiz} {core}" if quiz is not None else core


@dataclass
class _Pending:
    """Lines seen since the last item that are not (yet) part of one."""

    lines: list[tuple[int, str]] = field(default_factory=list)
    flip: bool = False


@dataclass
class _State:
    lecture: str | None = None  # title of the current LECTURE / block header
    quiz: int | None = None  # number of the quiz header above
    quiz_titles: dict[int, str] = field(default_factory=dict)
    quiz_block_open: bool = False  # no unlabelled item since the quiz header
    seen_quiz_answers: dict[tuple[str, str], int] = field(default_factory=dict)


def sniff(text: str) -> float:
    """Share of non-blank lines that hold a run of eight dots."""
    total = dotted = 0
    for line in file_lines(text):
        if line.strip():
            total += 1
            dotted += "........" in line
    return dotted / total if total else 0.0


def split_dotted(line: str) -> tuple[str, str] | None:
    """`question........answer` -> (question, answer); the last 8 dots of the run separate."""
    match = _DOTS.search(line)
    if match is None:
        return None
    cut = match.end() - 8
    return line[:cut].strip(), line[match.end():].strip()


def header_kind(question: str) -> str | None:
    """'lecture', 'quiz', 'block' or 'separator' for a structure line, else None."""
    core = _LEAD_SYMBOLS.sub("", question.strip()).strip()
    if not _LETTER.search(core):
        return "separator"
    if _QUIZ.match(core):
        return "quiz"
    if _LECTURE.match(core):
        return "lecture"
    letters = [ch for ch in core if ch.isalpha()]
    if len(core.split()) >= 3 and sum(ch.isupper() for ch in letters) >= 0.8 * len(letters):
        return "block"
    return None


def _title_word(word: str) -> str:
    """Title-case one all-caps word; short ones (CNN, SIMD, CLIP) are likely acronyms."""
    letters = sum(ch.isalpha() for ch in word)
    if not word.isupper() or letters <= 4 and word.strip("()[],;:").lower() not in _SMALL_WORDS:
        return word
    if word.lower() in _SMALL_WORDS:
        return word.lower()
    return "-".join(part[:1] + part[1:].lower() if part[:1].isalpha() else
                    part[:2] + part[2:].lower() for part in word.split("-"))


def pretty_title(text: str) -> str:
    """`LECTURE 3 - MEMORY HIERARCHY` -> `Lecture 3 — Memory Hierarchy` (short all-caps words,
    likely acronyms such as CNN or SIMD, are kept)."""
    core = _LEAD_SYMBOLS.sub("", text.strip()).strip()
    for pattern, word in ((_LECTURE, "Lecture"), (_QUIZ, "Quiz")):
        match = pattern.match(core)
        if match:
            number, rest = match.group(match.lastindex - 1), match.group(match.lastindex)
            head = f"{word} {number}"
            break
    else:
        head, rest = "", core
    words = re.split(r"(\s+)", rest.strip())
    rest = "".join(_title_word(w) if w.strip() else w for w in words).strip()
    if rest and rest[:1].islower():
        rest = rest[:1].upper() + rest[1:]
    return f"{head} — {rest}" if head and rest else head or rest


def parse_label(text: str) -> tuple[Label | None, str]:
    """Cut quiz labels off the start of `text`: (label, remaining text)."""
    pos, quiz, label = 0, None, None
    prefix = _QUIZ_PREFIX.match(text)
    if prefix:
        quiz = int(prefix.group(1) or prefix.group(2))
        pos = prefix.end()
    while True:
        match = _LABEL.match(text, pos)
        if match is None:
            break
        found = Label(quiz, int(match.group(1)), match.group(2) or "")
        if label is None or not label.sub:
            label = found
        pos = _LABEL_SEP.match(text, match.end()).end()
    if label is None:  # also "Quiz 3" without a question number: not a label after all
        return None, text
    rest = text[pos:].strip()
    return label, _strip_quotes(rest)


def _strip_quotes(text: str) -> str:
    if text[:1] in _QUOTES:
        text = text[1:]
        if text[-1:] in _QUOTES:
            text = text[:-1]
    return text.strip()


def read(text: str, path: str, **_options) -> ReadResult:
    result = ReadResult()
    state = _State()
    pending = _Pending()
    last_item: list | None = None  # [index into result.items, continuation allowed]

    def flush_orphans() -> None:
        for lineno, line in pending.lines:
            result.diagnostics.append(Diagnostic(
                path, lineno, "dotted-no-separator",
                f"line {line[:60]!r} has no '........' and belongs to no card; put eight dots "
                "between its question and answer, or join it to the card it belongs to."))
        pending.lines.clear()

    for lineno, raw in enumerate(file_lines(text), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = split_dotted(line)
        if parts is None:
            if last_item is not None and last_item[1] and _continues(result.items[last_item[0]], line):
                result.items[last_item[0]] = _extend_answer(result.items[last_item[0]], lineno, line)
                continue
            last_item = None
            if _FLIP.search(line) and line.upper() == line:
                pending.flip = True
                continue
            pending.lines.append((lineno, line))
            continue
        question, answer = parts
        kind = header_kind(question) if not answer else None
        if kind is not None:
            flush_orphans()
            pending.flip = False
            last_item = None
            _enter_header(state, kind, question)
            continue
        item = _make_item(path, lineno, question, answer, pending, state, result)
        pending.lines.clear()
        pending.flip = False
        if item is None:
            last_item = None
            continue
        result.items.append(item)
        last_item = [len(result.items) - 1, bool(_ENUM.match(_enum_side(item)))]
    flush_orphans()
    return result


def _enter_header(state: _State, kind: str, question: str) -> None:
    if kind == "quiz":
        number = int(_QUIZ.match(_LEAD_SYMBOLS.sub("", question).strip()).group(1))
        state.quiz = number
        state.quiz_titles[number] = pretty_title(question)
        state.quiz_block_open = True
    elif kind == "separator":
        state.lecture = None
    else:  # lecture or block: a new context; quiz headers above no longer apply
        state.lecture = pretty_title(question)
        state.quiz = None
        state.quiz_block_open = False


def _enum_side(item: RawItem) -> str:
    """The text that holds the `A)` list: the answer, or the question of a flipped item."""
    return item.question if item.notes and item.notes[0].startswith(_FLIPPED) else item.answer


def _continues(item: RawItem, line: str) -> bool:
    """After an answer starting `A)`, the next enumerator (or the text after a bare one)."""
    side = _enum_side(item).splitlines()
    if _ENUM.fullmatch(side[-1].strip()):
        return True
    match = _ENUM.match(line)
    if match is None:
        return False
    previous = [m.group(1) for ln in side if (m := _ENUM.match(ln.strip()))]
    return bool(previous) and ord(match.group(1)) == ord(previous[-1]) + 1


def _extend_answer(item: RawItem, lineno: int, line: str) -> RawItem:
    span = SourceSpan(item.span.path, item.span.line, lineno)
    if _enum_side(item) is item.question:
        return replace(item, question=item.question + "\n" + line, span=span)
    return replace(item, answer=item.answer + "\n" + line, span=span)


def _make_item(path, lineno, question, answer, pending, state, result) -> RawItem | None:
    lines = [*pending.lines, (lineno, question)]
    label, texts = None, []
    for _n, line in lines:
        found, rest = parse_label(line)
        if found is not None and (label is None or (not label.sub and found.sub)):
            label = found
        if rest:
            texts.append(rest)
    start = lines[0][0]
    notes: list[str] = []
    needs_review = False
    if not texts and label is None:
        if not _LETTER.search(answer):
            return None  # `..........`: a separator-like line without content
        result.diagnostics.append(Diagnostic(
            path, lineno, "empty-question",
            "this card has an answer but no question; write the question before the dots."))
        return None
    question_text = "\n".join(texts)
    if pending.flip and texts and answer:
        question_text, answer = answer, question_text
        notes.append(_FLIPPED + " as the note asks (FLIP TO QUESTION line above)")
    section: tuple[str, ...] = (state.lecture,) if state.lecture else ()
    label_text = None
    if label is None:
        state.quiz_block_open = False
    else:
        quiz = _resolve_quiz(label, answer, state, notes)
        label_text = label.text(quiz)
        if quiz is not None:
            section = (state.quiz_titles.get(quiz, f"Quiz {quiz}"),)
            key = (label.text(None), _answer_key(answer))
            if key[1].count(" ") >= 2:
                state.seen_quiz_answers.setdefault(key, quiz)
    if not texts:  # a bare label such as `Q1b........True — …`: the statement is elsewhere
        question_text = label_text
        needs_review = True
        notes.append("bare quiz label: the question text is not in the notes (question = label)")
    return RawItem(question_text, answer, SourceSpan(path, start, lineno), NAME,
                   section=section, label=label_text, notes=tuple(notes),
                   needs_review=needs_review)


def _answer_key(answer: str) -> str:
    """Cheap case- and space-insensitive key: repeats of a quiz answer are verbatim copies."""
    return " ".join(answer.casefold().split())


def _resolve_quiz(label: Label, answer: str, state: _State, notes: list[str]) -> int | None:
    if label.quiz is not None:
        return label.quiz
    if state.quiz_block_open:
        return state.quiz
    match = state.seen_quiz_answers.get((label.text(None), _answer_key(answer)))
    if match is not None:
        if match != state.quiz:
            notes.append(f"quiz {match} taken from the earlier {label.text(match)} with the "
                         "same label and answer (this label stands after the quiz block ended)")
        return match
    if state.quiz is not None:
        notes.append(f"label {label.text(None)} stands after the quiz {state.quiz} block "
                     f"ended; quiz {state.quiz} taken from the header above")
    return state.quiz
