"""Dotted flashcards: `question........answer` (cs242-systems-flashcards.txt).

Grammar, one line at a time (linear: one regex search per line, dict look-ups only):

* A *dotted line* holds the first run of 8 or more dots. The LAST eight dots of that run are the
  separator; dots before them belong to the question (`(roofline).........see image` is the
  question `Define arithmetic intensity (roofline).` and the answer `see image`).
* Header lines (dotted, empty answer) are structure, never items:
  `LECTURE 3 — …`, `✅ QUIZ 4 - …` (emoji allowed), all-caps blocks such as
  `FINAL FORMULAS & LAWS CHEAT BLOCK`. Separator lines (`⸻........`, a bare `........`) end the
  current lecture/block section.
* Lines without dots before a dotted line belong to its item (multi-line questions; the span
  covers all of them), within item boundaries: a label of another question number or another
  sub-question (`Q3a: …` with no dots, then `Q3b: …........`) starts a new item, so the earlier
  statement becomes its own item with no answer (cause `missing-answer`). Exception: an answer
  that starts an `A)` list continues on the following `B)`, `C)` … lines (and the line after a
  bare `B)`). A `FLIP TO QUESTION; THIS IS ANSWER` line reverses the next item. Lines without
  dots that end up attached to no dotted line get a `dotted-no-separator` warning.
* Quiz-level instructions ("Please indicate true or false for each of the following
  statements", "Select all that apply", "Answer the following …"; text.structure.
  split_instructions) are cut out wherever they stand, never part of a question or a stem.
* Inside a labelled item, a sub-question label (`Q1a`) introduces the statement (the question),
  a parent label (`Q1:`) the question's shared stem. Unlabelled lines before the statement, and
  those after a finished statement (students paste statement, setup, then the instruction line
  that carries the answer), are the stem; a lower-case line after an unfinished statement
  continues it. Without a label, every line is the question (as before).
* Quiz labels at the start of a line (`Quiz 2 Q1a — "…"`, `Q3 Q1 b:`, `Q1aQ 1a:`, a bare `Q1b`)
  are cut off the question text and normalized into `label` (`Quiz 2 Q1a`, `Quiz 3 Q1b`).
  A label without its quiz takes it from the quiz header above, except after that quiz block
  ended (an unlabelled item ends it): there an item whose label and answer repeat an earlier
  quiz item takes that quiz (noted in `notes`), else it falls back to the quiz header above,
  a guess (see below).
* After the file is read (`_link_quiz_items`), for items whose quiz is certain: each stem is
  carried onto the other sub-questions of its question number (a stem pasted from its middle
  gives way to the full one); an item with no statement takes the statement of the same quiz
  item elsewhere in the file, else is flagged `bare-label` (only a label) or
  `missing-statement` (a label and the instruction). An item whose quiz was guessed and whose
  label names another statement of that quiz is flagged `ambiguous-quiz`.

RawItem fields:
  question   the question text (a quiz item's statement), label prefix, instructions and
             wrapping quotes removed; the lines of a multi-line question joined with "\\n";
             a ninth dot kept (normalize may drop it); the label when the statement is missing
  answer     the text after the separator, verbatim ("" and "." are kept for repair)
  section    (quiz title,) for quiz-labelled items, e.g. ("Quiz 4 — Distillation, …",) or
             ("Quiz 2",); else (lecture/block header title,) such as
             ("Lecture 3 — Memory Hierarchy & Roofline Model",), or () before any header
  label      "Quiz N Qxy" when the quiz is known, "Qxy" otherwise, None without a label
  kind_hint  None (true/false is left to the cards pass), options/correct empty
  notes      how a quiz was resolved, a flipped item, why an item needs review
  needs_review, cause   set for `bare-label`, `missing-statement`, `missing-answer`,
             `ambiguous-quiz` (text.structure), the prose in notes
  context    the quiz question's shared stem ("" when it has none)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from rapidfuzz import fuzz

from deckforge.diagnostics import Diagnostic
from deckforge.model import RawItem, SourceSpan, normalize_key
from deckforge.readers import ReadResult, file_lines
from deckforge.text.structure import (
    AMBIGUOUS_QUIZ,
    BARE_LABEL,
    MISSING_ANSWER,
    MISSING_STATEMENT,
    split_instructions,
)

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
    metas: list[_Meta | None] = []  # per item, for the quiz post-pass

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
        made = _make_items(path, lineno, question, answer, pending, state, result)
        pending.lines.clear()
        pending.flip = False
        last_item = None
        for item, meta in made:
            result.items.append(item)
            metas.append(meta)
        if made:
            last_item = [len(result.items) - 1, bool(_ENUM.match(_enum_side(made[-1][0])))]
    flush_orphans()
    result.items[:] = _link_quiz_items(result.items, metas)
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


@dataclass
class _Line:
    lineno: int
    label: Label | None
    text: str  # the label and any quiz-level instruction cut off


@dataclass
class _Meta:
    """What the post-pass needs to link quiz items across the file."""

    quiz: int | None
    label: Label | None
    quiz_sure: bool  # the label names its quiz, stands in its quiz block, or matched an answer
    stem: str
    has_statement: bool
    missing_cause: str


def _split_lines(lines: list[tuple[int, str]]) -> tuple[list[_Line], bool]:
    out, instructed = [], False
    for n, line in lines:
        label, rest = parse_label(line)
        rest, found = split_instructions(rest)
        instructed = instructed or bool(found)
        out.append(_Line(n, label, rest))
    return out, instructed


def _segments(lines: list[_Line]) -> list[list[_Line]]:
    """Item boundaries inside one run of lines: a label of another question number, or another
    sub-question (`Q3a: …` then `Q3b: …`), starts a new item; a parent label (`Q1:`) or a
    repeat of the same label (`Q1a` then `Q 1a: …`) does not."""
    segments: list[list[_Line]] = [[]]
    number: int | None = None
    sub = ""
    for line in lines:
        label = line.label
        if label is not None and number is not None and (
                label.number != number or (label.sub and sub and label.sub != sub)):
            segments.append([])
            number, sub = None, ""
        if label is not None:
            number = label.number
            sub = sub or label.sub
        segments[-1].append(line)
    return segments


_TERMINAL = (".", "?", "!", ":")


def _parts(segment: list[_Line]) -> tuple[Label | None, list[str], list[str], list[str]]:
    """(label, statement lines, stem lines, lines before any label) of one item.

    A sub-question label (`Q1a`) introduces the statement; a parent label (`Q1:`) the shared
    stem of its sub-questions. Unlabelled lines after a statement are the stem (students paste
    statement, then setup, then the instruction line with the answer), unless they continue an
    unfinished statement on a lower-case line."""
    label: Label | None = None
    statement: list[str] = []
    stem: list[str] = []
    before: list[str] = []
    mode = "before"
    for line in segment:
        found = line.label
        if found is not None and (label is None or (not label.sub and found.sub)):
            label = found
        if found is not None:
            mode = "statement" if found.sub else "stem"
            if line.text:
                (statement if found.sub else stem).append(line.text)
            continue
        if not line.text:
            continue
        if mode == "before":
            before.append(line.text)
        elif mode == "statement" and (not statement or (
                not statement[-1].rstrip().endswith(_TERMINAL) and line.text[:1].islower())):
            statement.append(line.text)
        else:
            stem.append(line.text)
            mode = "stem"
    return label, statement, stem, before


def _make_items(path, lineno, question, answer, pending, state, result) -> list[tuple[RawItem, _Meta | None]]:
    lines, instructed = _split_lines([*pending.lines, (lineno, question)])
    segments = _segments(lines)
    out = []
    for segment in segments[:-1]:  # items the next label cut off before their dots
        made = _make_item(path, segment, "", False, state, result, instructed=False, last=False)
        if made is not None:
            out.append(made)
    made = _make_item(path, segments[-1], answer, pending.flip, state, result, instructed, True)
    if made is not None:
        out.append(made)
    return out


def _make_item(path, segment, answer, flip, state, result, instructed, last):
    label, statement, stem, before = _parts(segment)
    start, lineno = segment[0].lineno, segment[-1].lineno
    notes: list[str] = []
    if label is None:
        texts = before
        stem_text = ""
    else:
        texts = statement
        stem_text = "\n".join(before + stem)
    if not last and (label is None or not texts):
        for line in segment:  # a label alone, cut off by the next item: no card to make
            result.diagnostics.append(Diagnostic(
                path, line.lineno, "dotted-no-separator",
                f"line {line.text or 'label'!r} has no '........' and belongs to no card; put "
                "eight dots between its question and answer."))
        return None
    if not texts and label is None:
        if not _LETTER.search(answer):
            return None  # `..........`: a separator-like line without content
        what = ("only the quiz's instruction and an answer" if instructed
                else "an answer but no question")
        result.diagnostics.append(Diagnostic(
            path, lineno, "empty-question",
            f"this card has {what}; write the question before the dots."))
        return None
    question_text = "\n".join(texts)
    if flip and texts and answer:
        question_text, answer = answer, question_text
        notes.append(_FLIPPED + " as the note asks (FLIP TO QUESTION line above)")
    section: tuple[str, ...] = (state.lecture,) if state.lecture else ()
    label_text = None
    quiz, sure = None, False
    if label is None:
        state.quiz_block_open = False
    else:
        quiz, sure = _resolve_quiz(label, answer, state, notes)
        label_text = label.text(quiz)
        if quiz is not None:
            section = (state.quiz_titles.get(quiz, f"Quiz {quiz}"),)
            key = (label.text(None), _answer_key(answer))
            if key[1].count(" ") >= 2:
                state.seen_quiz_answers.setdefault(key, quiz)
    cause, needs_review = "", False
    if not texts:  # the statement is elsewhere (or nowhere): the post-pass looks for it
        question_text = label_text
    elif not last:
        cause, needs_review = MISSING_ANSWER, True
        notes.append(f"the notes give no answer to {label_text}: its line has no '........' "
                     "and the next line starts another item")
    item = RawItem(question_text, answer, SourceSpan(path, start, lineno), NAME,
                   section=section, label=label_text, notes=tuple(notes),
                   needs_review=needs_review, cause=cause, context=stem_text)
    meta = None if label is None else _Meta(
        quiz, label, sure, stem_text, bool(texts),
        MISSING_STATEMENT if instructed and last else BARE_LABEL)
    return item, meta


def _is_fragment(text: str) -> bool:
    """A stem pasted from its middle (`(2) pointwise 1x1 convolution. We are …`)."""
    first = text.lstrip()[:1]
    return not (first.isupper() or first.isdigit() or first in _QUOTES)


SAME_STATEMENT = 70  # rapidfuzz token_set_ratio: a reworded repeat of one quiz statement


def _same_statement(a: RawItem, b: RawItem) -> bool:
    return fuzz.token_set_ratio(normalize_key(a.question), normalize_key(b.question)) >= SAME_STATEMENT


def _link_quiz_items(items: list[RawItem], metas: list[_Meta | None]) -> list[RawItem]:
    """Carry each quiz question's shared stem onto its sub-questions, resolve bare labels to
    the full wording of the same quiz item elsewhere in the file, flag the rest.

    Only items whose quiz is certain give or take text: a label standing after its quiz block
    ended, matched to no earlier answer, may belong to another quiz."""
    stems: dict[tuple[int | None, int], str] = {}
    statements: dict[tuple[int | None, int, str], RawItem] = {}
    for item, meta in zip(items, metas, strict=True):
        if meta is None or not meta.quiz_sure:
            continue
        if meta.stem and not _is_fragment(meta.stem):
            stems.setdefault((meta.quiz, meta.label.number), meta.stem)
        if meta.has_statement and meta.label.sub:
            statements.setdefault((meta.quiz, meta.label.number, meta.label.sub), item)
    out = []
    for item, meta in zip(items, metas, strict=True):
        if meta is None:
            out.append(item)
            continue
        key = (meta.quiz, meta.label.number, meta.label.sub)
        full = statements.get(key) if meta.label.sub else None
        changes: dict = {}
        if meta.quiz_sure:
            shared = stems.get(key[:2])
            if shared and (not item.context or _is_fragment(item.context)):
                changes["context"] = shared
        elif full is not None and meta.has_statement and not _same_statement(full, item):
            changes.update(needs_review=True, cause=AMBIGUOUS_QUIZ, notes=item.notes + (
                f"but {item.label} at line {full.span.line} is another statement: which quiz "
                "(and so which setup and answer) this item belongs to is unclear",))
        if not meta.has_statement:
            if meta.quiz_sure and full is not None:
                changes["question"] = full.question
                if not item.context and "context" not in changes:
                    changes["context"] = full.context
            elif meta.missing_cause == MISSING_STATEMENT:
                changes.update(needs_review=True, cause=MISSING_STATEMENT, notes=item.notes + (
                    f"{item.label} has only its label and the quiz's instruction at "
                    f"{item.span}: the statement to judge is not in the notes",))
            else:
                changes.update(needs_review=True, cause=BARE_LABEL, notes=item.notes + (
                    f"bare quiz label: {item.span} gives only the answer to {item.label}; its "
                    "statement is not in the notes",))
        out.append(replace(item, **changes) if changes else item)
    return out


def _answer_key(answer: str) -> str:
    """Cheap case- and space-insensitive key: repeats of a quiz answer are verbatim copies."""
    return " ".join(answer.casefold().split())


def _resolve_quiz(label: Label, answer: str, state: _State,
                  notes: list[str]) -> tuple[int | None, bool]:
    """(quiz, certain): certain when the label names it, stands in its quiz block or repeats
    the label and answer of an earlier quiz item; a guess from the header above otherwise."""
    if label.quiz is not None:
        return label.quiz, True
    if state.quiz_block_open:
        return state.quiz, state.quiz is not None
    match = state.seen_quiz_answers.get((label.text(None), _answer_key(answer)))
    if match is not None:
        if match != state.quiz:
            notes.append(f"quiz {match} taken from the earlier {label.text(match)} with the "
                         "same label and answer (this label stands after the quiz block ended)")
        return match, True
    if state.quiz is not None:
        notes.append(f"label {label.text(None)} stands after the quiz {state.quiz} block "
                     f"ended; quiz {state.quiz} taken from the header above")
    return state.quiz, False
