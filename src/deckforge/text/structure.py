"""Recognising structure in note text: section headers, quiz labels, course and deck names."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import PurePosixPath

# Section headers are structure, never cards (ARCHITECTURE, style 1). Readers turn them into
# `section`; the cards pass refuses any that slip through.
# The words a question opens with: interrogatives, and the prompt verbs flashcard writers use
# ("Explain …", "Define …"). The alternating reader finds questions by them; asks.states_a_claim
# tells a quiz statement from a question by them.
INTERROGATIVES = ("what", "why", "how", "which", "when", "where", "who", "whom", "whose",
                  "is", "are", "does", "do", "did", "can", "could", "should", "would", "will")
PROMPT_WORDS = ("explain", "describe", "define", "write", "match", "compare", "contrast",
                "detail", "name", "state", "map", "list", "give", "derive", "show", "summarize",
                "identify", "outline", "discuss", "calculate", "compute", "prove", "sketch")

HEADER_PATTERNS = [
    re.compile(r"^\W*LECTURE\s+\d+\b", re.I),
    re.compile(r"^\W*QUIZ\s+\d+\s*[-—–:]", re.I),
    re.compile(r"^\W*(FINAL\s+)?FORMULAS?\b.*\b(CHEAT|LAWS|SHEET)\b", re.I),
    re.compile(r"^[\s⸻—–\-_=*~.]+$"),
]
_SHOUTING = re.compile(r"^[^a-z]*[A-Z]{3,}[^a-z]*$")

LABEL = re.compile(
    r"^\s*(?:[Qq]uiz\s*(?P<quiz>\d+)\s*)?"
    r"(?:[Qq](?P<qz>\d+)\s+(?=[Qq]\s*\d+\s*[a-z]\b))?"  # "Q3 Q1 b": quiz 3, item Q1b
    r"[Qq]\s*(?P<num>\d+)\s*(?P<sub>[a-z]?\d*)(?![a-z])"
)
BARE_LABEL_TEXT = re.compile(r"^\s*(?:quiz\s*\d+\s*)?q\s*\d+\s*[a-z]?\s*\d*\s*[.:]?\s*$", re.I)
# Causes (stable codes on RawItem.cause and Flag.cause) for quiz items the notes leave
# incomplete: only a label (`Q1b........True`), a label and the quiz's instruction but no
# statement, a statement with no answer, a label whose quiz cannot be told.
BARE_LABEL = "bare-label"
MISSING_STATEMENT = "missing-statement"
MISSING_ANSWER = "missing-answer"
AMBIGUOUS_QUIZ = "ambiguous-quiz"
STATEMENT_MISSING = (BARE_LABEL, MISSING_STATEMENT)

# Quiz-level instructions ("Please indicate true or false for each of the following
# statements.", "Select all that apply.", "Answer the following questions (show the formula).")
# are addressed to the quiz taker, state no fact and announce the items that follow. They are
# recognised by those features, not by their wording: a sentence that opens (after an optional
# "please" or "for each of the following …,") with an instruction verb in the imperative and
# refers to the items it governs.
INSTRUCTION_VERBS = (
    "indicate", "select", "choose", "pick", "answer", "mark", "circle", "tick", "check",
    "determine", "decide", "identify", "match", "fill", "complete", "classify", "label", "state",
)
# how an instruction refers to the items it governs: their position, or a plural item noun
# that ends the phrase ("choose all correct answers.", "the statements that are true"); "the two
# options for KV cache compression" asks about something else.
ITEM_REFERENCES = re.compile(
    r"\b(?:following|below|that apply|each of|each (?:statement|question|option|item))\b"
    r"|\b(?:statements|questions|options|answers|choices|items)\b"
    r"(?=\s*(?:[.!?:;,(]|$|that\b|which\b|above\b|given\b))",
    re.I,
)
_INSTRUCTION_START = re.compile(
    r"(?:^|(?<=[.!?:]))\s*(?P<s>(?:please\s+|for\s+each\b[^.!?:]{0,80}?,\s*)?"
    r"(?:" + "|".join(INSTRUCTION_VERBS) + r")\b)",
    re.I,
)
_SENTENCE_END = re.compile(r"[.!?:](?=\s|[A-Z(]|$)")
QUIZ_NAME = re.compile(r"\bquiz\s*(\d+)\b", re.I)
LECTURE_NAME = re.compile(r"\blecture\s*(\d+)\b", re.I)


def is_section_header(question: str, answer: str = "") -> bool:
    """A header line the reader did not recognise: `LECTURE 3 — …`, `✅ QUIZ 4 - …`, `⸻`."""
    text = question.strip()
    if not text:
        return True
    if any(p.match(text) for p in HEADER_PATTERNS):
        return not answer.strip(" .") or len(text.split()) > 2
    return False


def is_bare_label(question: str) -> bool:
    """`Q1b`, `Quiz 2 Q1a`: a quiz label with no question text."""
    return bool(BARE_LABEL_TEXT.match(question))


def split_instructions(text: str) -> tuple[str, tuple[str, ...]]:
    """(text without its quiz-level instruction sentences, the instructions removed)."""
    found, kept, pos = [], [], 0
    for match in _INSTRUCTION_START.finditer(text):
        start = match.start("s")
        if start < pos:
            continue
        end = _SENTENCE_END.search(text, match.end())
        stop = end.end() if end else len(text)
        sentence = text[start:stop]
        if not ITEM_REFERENCES.search(sentence):
            continue
        kept.append(text[pos:start])
        found.append(sentence.strip())
        pos = stop
    if not found:
        return text, ()
    kept.append(text[pos:])
    return re.sub(r"[ \t]{2,}", " ", "".join(kept)).strip(), tuple(found)


def is_instruction(text: str) -> bool:
    """The whole text is quiz-level instruction (no statement of its own)."""
    rest, found = split_instructions(text)
    return bool(found) and not re.search(r"\w", rest)


def canonical_label(text: str) -> str | None:
    """'Q 1b', 'Q1 b', 'q1b' -> 'Q1b' (the quiz-local part of a label)."""
    match = LABEL.match(text or "")
    if not match:
        return None
    return f"Q{int(match.group('num'))}{match.group('sub')}"


def label_quiz(text: str) -> str | None:
    """The quiz a label names itself ('Quiz 2 Q1a', 'Q3 Q1 b'), if any."""
    match = LABEL.match(text or "")
    if match and (match.group("quiz") or match.group("qz")):
        return f"Quiz {int(match.group('quiz') or match.group('qz'))}"
    return None


def quiz_of(*texts: str | None) -> str | None:
    for text in texts:
        match = QUIZ_NAME.search(text or "")
        if match:
            return f"Quiz {int(match.group(1))}"
    return None


_ACRONYMS = {"dl", "ml", "llm", "llms", "nlp", "gpu", "ai", "cv", "rl", "hpc", "cnn", "mmm"}
_FILLER = {"flashcards", "flashcard", "export", "cards", "deck"}


@lru_cache(maxsize=1024)
def course_name(path: str) -> str:
    """A readable course name from a source file name.

    `cs242-systems-flashcards.txt` -> 'CS242 Systems', `efficient-dl-midterm-recap.txt` ->
    'Efficient DL Midterm Recap', `cs336-lecture-notes.md` -> 'CS336'.
    """
    stem = PurePosixPath(path).stem.lower()
    words = [w for w in re.split(r"[-_\s.]+", stem) if w]
    if len(words) >= 2 and words[-2:] == ["lecture", "notes"]:
        words = words[:-2]
    words = [w for w in words if w not in _FILLER] or words
    out = []
    for w in words:
        if re.fullmatch(r"[a-z]+\d+[a-z]?", w) or w in _ACRONYMS:
            out.append(w.upper())
        else:
            out.append(w.capitalize())
    return " ".join(out) or "Notes"


_EMOJI = re.compile(r"[\u2600-\u27bf\U0001f000-\U0001faff\ufe0f\u200d]")


@lru_cache(maxsize=4096)
def pretty_section(section: str) -> str:
    """'✅ QUIZ 4 - DISTILLATION, …' -> 'Quiz 4 - Distillation, …'; keeps already-cased text."""
    text = _EMOJI.sub("", section).strip(" -—–:#")
    text = re.sub(r"\s+", " ", text).replace("::", ":")
    if _SHOUTING.match(text):
        text = " ".join(_title_word(w) for w in text.split(" "))
    return text


def _title_word(word: str) -> str:
    core = re.sub(r"\W", "", word)
    if core.lower() in _ACRONYMS or len(core) <= 3 and core.isupper() and core.lower() not in {"and", "the", "for", "of", "vs"}:
        return word
    if core.lower() in {"and", "the", "for", "of", "vs", "in", "to", "a"}:
        return word.lower()
    return word[:1].upper() + word[1:].lower()


def lecture_or_quiz(section: tuple[str, ...], label: str | None) -> str | None:
    """The deck's second level: 'Quiz 2' from a label, else the outermost section."""
    quiz = quiz_of(label)
    if quiz:
        return quiz
    if section:
        first = pretty_section(section[0])
        quiz = quiz_of(first)
        if quiz and QUIZ_NAME.match(first):
            return quiz
        return first or None
    return None
