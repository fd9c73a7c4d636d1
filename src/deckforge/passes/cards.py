"""cards: RawItem -> Card (basic, true-false, multiple-choice, cloze, formula).

Decides the kind, the deck (`deck_name :: course :: lecture-or-quiz`), the label and the
reader's flags. Section headers that slipped through a reader are refused here (they are
structure, never cards), as are items without question text.

Contract for later passes:
- true-false answers are normalized to `True` / `False`, optionally followed by ` — ` and the
  explanation; `verdict(card)` reads it back.
- a quiz item whose statement is not in the notes (a bare label `Q1b` with only an answer, a
  label with only the quiz's instruction) never shows the label as its question: the question
  says the statement is missing, and a `needs-review` flag carries the cause (`bare-label`,
  `missing-statement`; text.structure.STATEMENT_MISSING). Dedupe drops that flag when the card
  merges with the full wording of the item; passes decide on the cause, never on the reason.
- an empty or placeholder answer outside formula/cloze/choice cards is flagged with the cause
  `missing-answer`.
"""

from __future__ import annotations

import re

from deckforge.diagnostics import Diagnostic
from deckforge.model import Card, Flag, KnowledgeGraph, RawItem, card_id
from deckforge.text.structure import (
    BARE_LABEL,
    MISSING_ANSWER,
    STATEMENT_MISSING,
    canonical_label,
    course_name,
    is_bare_label,
    is_section_header,
    label_quiz,
    lecture_or_quiz,
    pretty_section,
    quiz_of,
)

STATEMENT_MISSING_TEXT = "statement missing from the notes"
DEFINITION_TAG = "definition"  # a `**term**: text` item; the link pass derives a concept from it
EMPTY_ANSWER_REASON = "the notes give no answer"
_VERDICT = re.compile(
    r"^\s*\**(?P<v>true|false)\b\**(?P<sep>[\s.!,:;—–\-✅✔️❌✗]*)(?P<rest>.*)\Z", re.I | re.S
)
_ASKS_FORMULA = re.compile(
    r"\b(formula|formulas|equation|equations|update rule|rule|relation|derivative|loss function|"
    r"loss|objective|expression|mathematically|law|parameter count)\b",
    re.I,
)
_MATHY_ANSWER = re.compile(r"\$|\\[A-Za-z]+|=|≈")
_CLOZE = re.compile(r"\{\{c\d+::")
_HIGHLIGHT = re.compile(r"==(?=\S)(.+?)(?<=\S)==")
# A question longer than this is no flashcard: most likely a file whose separators the reader
# did not find (a million dot-less lines became one 2-million-character question). The bundled
# notes' longest question has 580 characters.
QUESTION_WARN_CHARS = 2000
PLACEHOLDER_ANSWERS = {"", ".", "..", "...", "see image", "see slide", "see diagram", "tbd", "todo", "?"}


_PLACEHOLDER_KEYS = frozenset(p.rstrip(".") for p in PLACEHOLDER_ANSWERS)


def is_placeholder(answer: str) -> bool:
    if len(answer) > 20:
        return False
    return answer.strip().strip("*").strip().lower().rstrip(".") in _PLACEHOLDER_KEYS


def verdict(card_or_answer) -> str | None:
    """'True' / 'False' for a true-false answer, else None."""
    answer = getattr(card_or_answer, "answer", card_or_answer)
    match = _VERDICT.match(answer or "")
    if not match:
        return None
    sep, rest = match.group("sep"), match.group("rest")
    if rest and not sep.strip() and rest[:1] not in "(\n":
        # "Truelove…" / "True positives are…": not a verdict
        if not sep:
            return None
        if rest[:1].islower():
            return None
    return match.group("v").capitalize()


def normalize_verdict(answer: str) -> str:
    """'True ✅ (depends on padding).' -> 'True — depends on padding'."""
    match = _VERDICT.match(answer)
    v = verdict(answer)
    if not match or v is None:
        return answer
    rest = match.group("rest").strip()
    if rest.startswith("(") and rest.endswith((")", ").")) and rest.count("(") == 1:
        rest = rest.rstrip(".")[1:-1].strip()
    rest = rest.strip()
    if rest in {"", "."}:
        return v
    return f"{v} — {rest[:1].upper()}{rest[1:]}"


def highlights_to_cloze(text: str) -> str:
    counter = iter(range(1, 1000))
    return _HIGHLIGHT.sub(lambda m: f"{{{{c{next(counter)}::{m.group(1)}}}}}", text)


def choose_kind(item: RawItem, question: str, answer: str) -> str:
    if item.kind_hint == "cloze" or _CLOZE.search(question):
        return "cloze"
    if item.options:
        return "multiple-choice"
    if verdict(answer):
        return "true-false"
    if item.kind_hint == "formula":
        return "formula"
    if _ASKS_FORMULA.search(question) and (_MATHY_ANSWER.search(answer) or is_placeholder(answer)):
        return "formula"
    return "basic"


def item_label(item: RawItem) -> str | None:
    """'Quiz 2 Q1a' where the quiz is known, else the reader's/question's local label."""
    source = item.label or (item.question if canonical_label(item.question) else None)
    if not source:
        return None
    local = canonical_label(source)
    if local is None:
        return item.label
    quiz = label_quiz(source) or quiz_of(item.label) or _section_quiz(item.section)
    return f"{quiz} {local}" if quiz else local


def _section_quiz(section: tuple[str, ...]) -> str | None:
    for part in section:
        pretty = pretty_section(part)
        if re.match(r"quiz\s*\d+", pretty, re.I):
            return quiz_of(pretty)
    return None


def item_flags(item: RawItem, kind: str, answer: str, label: str | None,
               missing: bool) -> tuple[Flag, ...]:
    flags = []
    if item.needs_review:
        reason = "; ".join(item.notes) or f"the {item.reader} reader could not recover this item fully"
        flags.append(Flag("needs-review", reason, cause=item.cause))
    if missing and item.cause not in STATEMENT_MISSING:  # a reader that did not say so itself
        flags.append(Flag("needs-review", f"bare quiz label: {item.span} gives only the answer "
                          f"to {label}; its statement is not in the notes", cause=BARE_LABEL))
    if kind == "multiple-choice" and not item.correct and not item.needs_review:
        flags.append(Flag("needs-review", "the correct option is not marked in the notes"))
    if (is_placeholder(answer) and kind not in ("formula", "cloze", "multiple-choice")
            and item.cause != MISSING_ANSWER):
        flags.append(Flag("needs-review", f"{EMPTY_ANSWER_REASON} ({item.span})",
                          cause=MISSING_ANSWER))
    return tuple(flags)


def make_card(item: RawItem, deck_name: str) -> Card:
    question = item.question.strip()
    answer = item.answer.strip()
    label = item_label(item)
    missing = item.cause in STATEMENT_MISSING or is_bare_label(question)
    # a quiz item without its statement is known by its label: the id (and so the Anki GUID)
    # stays that of the label, while the question says what is missing instead of showing it
    identity = label or question if missing else None
    if missing:
        question = f"{label or question}: {STATEMENT_MISSING_TEXT}"
    if "==" in question and not _CLOZE.search(question):
        question = highlights_to_cloze(question)
    kind = choose_kind(item, question, answer)
    if kind == "true-false":
        answer = normalize_verdict(answer)
    level2 = lecture_or_quiz(item.section, label)
    deck = (deck_name, course_name(item.span.path)) + ((level2,) if level2 else ())
    extra = "" if item.needs_review else "\n".join(item.notes)
    return Card(
        id=card_id(identity or question, item.section),
        kind=kind,
        question=question,
        answer=answer,
        sources=(item.span,),
        deck=deck,
        options=item.options,
        correct=item.correct,
        label=label,
        flags=item_flags(item, kind, answer, label, missing),
        extra=extra,
        tags=(DEFINITION_TAG,) if item.kind_hint == "definition" else (),
        context=item.context,
    )


def make_cards(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    cards, diags = [], []
    for item in graph.raw_items:
        if is_section_header(item.question, item.answer):
            diags.append(Diagnostic(item.span.path, item.span.line, "header-not-card",
                                    f"section header {item.question[:40]!r} read as an item; "
                                    "kept as structure, not as a card", level="info"))
            continue
        if len(item.question) > QUESTION_WARN_CHARS:
            diags.append(Diagnostic(item.span.path, item.span.line, "question-too-long",
                                    f"a question of {len(item.question):,} characters (lines "
                                    f"{item.span.line}–{item.span.end_line}); a separator is "
                                    "probably missing. Split it into cards."))
        cards.append(make_card(item, ctx.config.deck_name))
    return graph.replace(cards=tuple(_unique_ids(cards))).warn(*diags)


def _unique_ids(cards: list[Card]) -> list[Card]:
    """Two items with the same question and section get the same id; keep ids unique by
    suffixing later ones (`-2`, …) until dedupe merges them (it keeps the first id)."""
    seen: dict[str, int] = {}
    out = []
    for card in cards:
        n = seen.get(card.id, 0) + 1
        seen[card.id] = n
        out.append(card if n == 1 else _with_id(card, f"{card.id}-{n}"))
    return out


def _with_id(card: Card, new_id: str) -> Card:
    from dataclasses import replace

    return replace(card, id=new_id)
