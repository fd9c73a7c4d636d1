"""The quality report: what the passes merged, repaired and flagged, and what the build
warned about, each with a link to the card and to its source lines."""

from __future__ import annotations

from collections import Counter

from deckforge.emit.pages.context import SiteContext
from deckforge.emit.pages.text import escape, front_matter, inline, short
from deckforge.model import FLAGS, SourceSpan
from deckforge.pull import hardest, read_reviews

PAGE = "quality.md"
HARDEST = 20  # rows of the hardest-cards table
FLAG_TEXT = {
    "repaired": "Answers filled in from the formula registry (the LaTeX was missing or garbled).",
    "conflict": "Cards whose copies in the notes disagree; both answers are kept. A human decides.",
    "needs-review": "Cards the tool could not complete on its own (e.g. a quiz answer it could not recover).",
    "claim-mismatch": "Numeric claims that a snippet evaluated and found wrong, and answer formulas "
                      "that differ from the registry's tested formula or leave out a part it "
                      "declares essential (the formula is shown on the card's back).",
    "verified": "Answer formulas equal to the registry's tested formula at seeded random points "
                "(the counts, unparseable ones included, are the formula-verification line under "
                "Build problems).",
    "computed": "Answers computed by the registry's snippet code from the numbers the question gives.",
}


def _source(ctx: SiteContext, span: SourceSpan) -> str:
    url = ctx.source_url(span.path, span.line)
    return f"[{escape(str(span))}]({url})" if url else f"`{span}`"


def quality_page(ctx: SiteContext) -> str:
    g = ctx.graph
    cards = {c.id: c for cards in ctx.cards_by_deck.values() for c in cards}
    flagged = {name: [c for c in cards.values() if c.has_flag(name)] for name in FLAGS}
    levels = Counter(d.level for d in g.diagnostics)
    lines = front_matter("Quality report") + ["# Quality report", ""]
    lines += ["What the build did to the notes, so that nothing happens silently. Each entry links "
              "to the card and to its lines in the notes (edit them there, see Contributing).", ""]
    lines += ["| What | Count |", "| --- | ---: |",
              f"| Raw items read | {len(g.raw_items)} |", f"| Cards | {len(cards)} |",
              f"| Merges | {len(g.merges)} ({sum(len(m.members) - 1 for m in g.merges)} items absorbed) |"]
    lines += [f"| [{name}](#{name}) | {len(flagged[name])} |" for name in FLAGS]
    lines += [f"| [Build problems](#build-problems) | {levels.get('error', 0)} errors, "
              f"{levels.get('warning', 0)} warnings, {levels.get('info', 0)} infos |"]
    reviews = read_reviews(ctx.config.out_dir)
    hard = [(e, cards[e["id"]]) for e in hardest(reviews, HARDEST) if e["id"] in cards]
    lines += [f"| [Hardest cards](#hardest-cards) | {len(hard)} |", ""]

    lines += ["## Merged {#merged}", ""]
    if not g.merges:
        lines += ["*No duplicates were merged.*", ""]
    for merge in sorted(g.merges, key=lambda m: (min(m.members) if m.members else SourceSpan("", 0, 0), m.card_id)):
        card = cards.get(merge.card_id)
        title = f"[{short(card.question)}]({ctx.card_link(PAGE, card)})" if card else f"`{merge.card_id}`"
        members = ", ".join(_source(ctx, s) for s in merge.members)
        lines += [f"- {title} — {inline(merge.reason)}<br>from {members}"]
    lines.append("")

    for name in FLAGS:
        lines += [f"## {name} {{#{name}}}", "", f"*{FLAG_TEXT[name]}*", ""]
        if not flagged[name]:
            lines += ["*None.*", ""]
            continue
        for card in flagged[name]:
            reasons = "; ".join(dict.fromkeys(inline(f.reason) for f in card.flags if f.name == name))
            sources = ", ".join(_source(ctx, s) for s in card.sources)
            lines.append(f"- [{short(card.question)}]({ctx.card_link(PAGE, card)}) — {reasons}<br>{sources}")
        lines.append("")

    lines += ["## Hardest cards {#hardest-cards}", ""]
    if not reviews:
        lines += ["*No review data yet: `deckforge pull EXPORT` reads an Anki export into "
                  "`build/reviews.json` (see Contributing).*", ""]
    elif not hard:
        lines += [f"*{len(reviews)} cards have review data; none has been forgotten yet.*", ""]
    else:
        lines += [f"*From {len(reviews)} cards' review data (`deckforge pull`): the cards "
                  "learners fail most, hardest first. Rewrite these first.*", ""]
        for rank, (entry, card) in enumerate(hard, 1):
            facts = [f"{entry['lapses']} lapses in {entry['reviews']} answers"]
            if entry.get("ease") is not None:
                facts.append(f"ease {entry['ease']:.2f}")
            if entry.get("difficulty") is not None:
                facts.append(f"difficulty {entry['difficulty']:.1f}")
            if entry.get("leech"):
                facts.append("**leech**")
            sources = ", ".join(_source(ctx, s) for s in card.sources)
            lines.append(f"{rank}. [{short(card.question)}]({ctx.card_link(PAGE, card)}) — "
                         f"{', '.join(facts)}<br>{sources}")
        lines.append("")

    lines += ["## Build problems {#build-problems}", ""]
    if not g.diagnostics:
        lines += ["*The build reported no problems.*", ""]
    for d in sorted(g.diagnostics, key=lambda d: (d.path, d.line, d.col, d.code)):
        where = _source(ctx, SourceSpan(d.path, d.line, d.line)) if d.line >= 1 else f"`{d.path}`"
        lines.append(f"- **{d.level}** `{d.code}` {where}: {escape(d.message)}")
    lines.append("")
    return "\n".join(lines) + "\n"


def pages(ctx: SiteContext) -> dict[str, str]:
    return {PAGE: quality_page(ctx)}

