"""One graph card -> the note type, fields, tags and deck of its Anki note.

The card kinds map to note types: multiple-choice -> "choice"; cloze -> "cloze" (when the text
really holds a cloze deletion, else Basic, so Anki never sees a cloze note without one);
basic, true-false and formula -> "basic".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from deckforge.emit.anki.html import (
    ImageResolver,
    _no_templates,
    cloze_to_html,
    escape,
    has_cloze,
    inline_html,
    markdown_to_html,
)
from deckforge.model import Card

_TAG_UNSAFE = re.compile(r"[\s\"]+")
EMPTY_ANSWER = '<span class="df-empty">No answer in the notes yet (see the source below).</span>'


@dataclass(slots=True)
class NoteSpec:
    """Everything the package writer needs for one note."""

    card_id: str
    guid: str
    note_type: str
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    deck: str


def note_type_for(card: Card) -> str:
    if card.kind == "multiple-choice" and card.options:
        return "choice"
    if card.kind == "cloze" and has_cloze(card.question):
        return "cloze"
    return "basic"


# Unfinished cards (`Card.unfinished`: flagged needs-review) go to their own top-level deck, so
# studying a course deck never shows them; a student opens this deck only by choice. Measured
# with Anki's backend (tests/test_anki.py, docs/anki.md): a deck survives Anki's default import,
# a suspended card (`queue = -1`) does not (scheduling is reset unless "import any learning
# progress" is ticked), and an update never moves or unsuspends a card the user already has.
UNFINISHED_DECK = "Needs review"


def deck_name(card: Card, default: str) -> str:
    name = _deck_name(tuple(card.deck), default)
    return f"{UNFINISHED_DECK}::{name}" if card.unfinished else name


@lru_cache(maxsize=4096)  # a deck has few sub-decks and many notes
def _deck_name(deck: tuple[str, ...], default: str) -> str:
    parts = [p.strip().replace("::", ":") for p in deck if p and p.strip()]
    return "::".join(parts) or default


@lru_cache(maxsize=4096)  # a deck has few distinct tags and many notes
def anki_tag(tag: str) -> str:
    return _TAG_UNSAFE.sub("_", tag.strip()).strip("_")


def note_tags(card: Card) -> tuple[str, ...]:
    """card.tags plus namespaced kind, flag and concept tags (Anki tags hold no spaces)."""
    flags = tuple(f.name for f in card.flags) if card.flags else ()
    return _tags(card.tags, card.kind, flags, card.concepts)


@lru_cache(maxsize=4096)  # many cards share one combination
def _tags(tags, kind, flags, concepts) -> tuple[str, ...]:
    raw = [*tags, f"kind::{kind}", *(f"flag::{f}" for f in flags), *(f"concept::{c}" for c in concepts)]
    return tuple(sorted({t for t in map(anki_tag, raw) if t}))


def source_html(card: Card, source_url) -> str:
    """Where the card came from (linked when a repository URL is configured), why it is
    flagged and which claims a snippet verified. Shown on the back of every card."""
    if len(card.sources) == 1 and not card.flags and not card.verified:  # the common case
        span = card.sources[0]
        label = escape(str(span))
        url = source_url(span.path, span.line) if source_url else None
        return (f'<div class="df-from">From <a href="{escape(url)}">{label}</a></div>' if url
                else f'<div class="df-from">From {label}</div>')
    links = []
    for span in card.sources:
        label = escape(str(span))
        url = source_url(span.path, span.line) if source_url else None
        links.append(f'<a href="{escape(url)}">{label}</a>' if url else label)
    parts = [f'<div class="df-from">From {", ".join(links)}</div>'] if links else []
    if card.flags:
        items = "".join(f'<li><span class="df-flag">{escape(f.name)}</span> {_no_templates(escape(f.reason))}</li>'
                        for f in card.flags)
        parts.append(f'<ul class="df-flags">{items}</ul>')
    if card.verified:
        items = "".join(f'<li class="df-verified">✓ {_no_templates(escape(v))}</li>' for v in card.verified)
        parts.append(f'<ul class="df-flags">{items}</ul>')
    return "".join(parts)


def _context(card: Card, image: ImageResolver | None) -> str:
    """The setup the question depends on (a quiz's shared stem, a heading path), on the front."""
    if not card.context.strip():
        return ""
    return f'<div class="df-context">{markdown_to_html(card.context, image)}</div>'


def _question(card: Card, image: ImageResolver | None) -> str:
    html = markdown_to_html(card.question, image)
    if html:
        return _context(card, image) + html
    where = escape(str(card.sources[0])) if card.sources else card.id
    return f'<span class="df-empty">(empty question at {where})</span>'


def _options(card: Card, image, mark_correct: bool) -> str:
    items = []
    for i, option in enumerate(card.options):
        correct = mark_correct and i in card.correct
        body = inline_html(option, image)
        items.append(f'<li class="df-correct">{body} <span class="df-mark">✓</span></li>'
                     if correct else f"<li>{body}</li>")
    return f'<ol class="df-options">{"".join(items)}</ol>'


def basic_fields(card: Card, image, source: str) -> tuple[str, ...]:
    answer = markdown_to_html(card.answer, image) or EMPTY_ANSWER
    return (_question(card, image), answer, markdown_to_html(card.extra, image), source)


def cloze_fields(card: Card, image, source: str) -> tuple[str, ...]:
    extra = [card.answer] if card.answer.strip() and card.answer.strip() != card.question.strip() else []
    extra += [card.extra] if card.extra.strip() else []
    return (_context(card, image) + cloze_to_html(card.question, image),
            markdown_to_html("\n\n".join(extra), image), source)


def choice_fields(card: Card, image, source: str) -> tuple[str, ...]:
    if card.correct:
        answer = _options(card, image, mark_correct=True)
    else:
        answer = (markdown_to_html(card.answer, image) or
                  '<span class="df-empty">The correct option was not recovered from the '
                  "export (see the flags below).</span>")
    explanation = markdown_to_html(card.extra, image)
    if card.correct and card.answer.strip():
        explanation = markdown_to_html(card.answer, image) + explanation
    return (_question(card, image), _options(card, image, mark_correct=False), answer,
            explanation, source)


FIELD_BUILDERS = {"basic": basic_fields, "cloze": cloze_fields, "choice": choice_fields}


def note_spec(card: Card, default_deck: str, source_url, image: ImageResolver | None) -> NoteSpec:
    kind = note_type_for(card)
    fields = FIELD_BUILDERS[kind](card, image, source_html(card, source_url))
    return NoteSpec(card.id, card.guid or "", kind, fields, note_tags(card),
                    deck_name(card, default_deck))
