"""formulas: link every card to the registry formulas its text is about.

Runs after `cards`, before `repair` (which reads the links) and `dedupe` (which unions the links
of merged members). The evidence and its order are formula_match's: the question decides what
a card is about; the answer adds the formulas its fingerprints recognise, and its alias phrases
only when the question names nothing (answers mention neighbouring ideas: "Softmax temperature"
answers talk about the student of KD). Only the card's own text counts: a neighbour's topic is
a guess (in the export, adjacent cards differ).
"""

from __future__ import annotations

from deckforge.formula_match import FormulaMatcher
from deckforge.model import Card, KnowledgeGraph, _replace


def link_card(card: Card, matcher: FormulaMatcher) -> Card:
    found = matcher.formulas_for(card.question)
    answer_text = "\n".join((card.answer, *card.options))
    found += tuple(h.formula for h in matcher.fingerprint_hits(answer_text))
    if not found and not matcher.names_something(card.question):
        found = matcher.formulas_for(answer_text)
    found = tuple(dict.fromkeys(found))
    if not found:
        return card
    return _replace(card, formulas=tuple(dict.fromkeys((*card.formulas, *found))))


def link_formulas(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    matcher = FormulaMatcher.from_registry(ctx.registry)
    return graph.replace(cards=tuple(link_card(c, matcher) for c in graph.cards))
