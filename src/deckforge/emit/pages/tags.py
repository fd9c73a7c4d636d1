"""The tags index: every tag of every card, each with links to its cards."""

from __future__ import annotations

from deckforge.emit.pages.cards import tag_anchor
from deckforge.emit.pages.context import SiteContext, natural_key
from deckforge.emit.pages.text import escape, front_matter, short

PAGE = "tags.md"


def tags_page(ctx: SiteContext) -> str:
    by_tag: dict[str, list] = {}
    for cards in ctx.cards_by_deck.values():
        for card in cards:
            for tag in dict.fromkeys(card.tags):
                by_tag.setdefault(tag, []).append(card)
    lines = front_matter("Tags") + ["# Tags", ""]
    if not by_tag:
        return "\n".join(lines + ["*No card has a tag yet.*", ""])
    tags = sorted(by_tag, key=natural_key)
    lines += [" · ".join(f"[{escape(t)}](#{tag_anchor(t)}) ({len(by_tag[t])})" for t in tags), ""]
    for tag in tags:
        lines += [f"## {escape(tag)} {{#{tag_anchor(tag)}}}", ""]
        lines += [f"- [{short(c.question)}]({ctx.card_link(PAGE, c)})" for c in by_tag[tag]]
        lines.append("")
    return "\n".join(lines) + "\n"


def pages(ctx: SiteContext) -> dict[str, str]:
    return {PAGE: tags_page(ctx)}
