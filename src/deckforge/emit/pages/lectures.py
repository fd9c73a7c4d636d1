"""One page per lecture / quiz (deck): its cards in source order, answers folded."""

from __future__ import annotations

from collections import Counter

from deckforge.emit.pages.cards import render_card
from deckforge.emit.pages.context import SiteContext, deck_title, rel
from deckforge.emit.pages.text import escape, front_matter

INDEX = "lectures/index.md"


def lecture_page(ctx: SiteContext, deck: tuple[str, ...]) -> str:
    page = ctx.lecture_page[deck]
    cards = ctx.cards_by_deck[deck]
    title = deck_title(deck)
    flagged = sum(1 for c in cards if c.flags)
    kinds = Counter(c.kind for c in cards)
    lines = front_matter(title)
    lines += [f"# {escape(title)}", ""]
    if len(deck) > 1:
        lines += ["*" + " › ".join(escape(p) for p in deck) + "*", ""]
    lines += [f"{len(cards)} card{'s' * (len(cards) != 1)} ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}); "
              f"{flagged} flagged. Click **Answer** to reveal it, like turning a flashcard.", ""]
    for card in cards:
        lines += render_card(card, ctx, page)
    return "\n".join(lines) + "\n"


def lectures_index(ctx: SiteContext) -> str:
    lines = front_matter("Lectures and quizzes") + ["# Lectures and quizzes", ""]
    lines += ["| Deck | Cards | Flagged |", "| --- | ---: | ---: |"]
    for deck, cards in ctx.cards_by_deck.items():
        name = " › ".join(escape(p) for p in deck)
        lines.append(f"| [{name}]({rel(INDEX, ctx.lecture_page[deck])}) | {len(cards)} | "
                     f"{sum(1 for c in cards if c.flags)} |")
    if not ctx.cards_by_deck:
        lines.append("| *no cards yet* | 0 | 0 |")
    return "\n".join(lines) + "\n"


def pages(ctx: SiteContext) -> dict[str, str]:
    out = {INDEX: lectures_index(ctx)}
    for deck in ctx.cards_by_deck:
        out[ctx.lecture_page[deck]] = lecture_page(ctx, deck)
    return out
