"""cards: RawItem -> Card (basic, true-false, multiple-choice, cloze, formula)."""

from __future__ import annotations

from deckforge.model import Card, KnowledgeGraph, card_id


def make_cards(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    cards = []
    for item in graph.raw_items:
        kind = "multiple-choice" if item.options else "basic"
        cards.append(
            Card(
                id=card_id(item.question, item.section),
                kind=kind,
                question=item.question,
                answer=item.answer,
                sources=(item.span,),
                deck=(ctx.config.deck_name, *item.section[:1]),
                options=item.options,
                correct=item.correct,
                label=item.label,
            )
        )
    return graph.replace(cards=tuple(cards))
