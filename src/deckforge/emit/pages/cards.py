"""One card as a flashcard block: question, folded answer, visible flags, source edit links.

The same block appears on the card's lecture page and on each of its concepts' pages; its
`id` (the card id) is the stable anchor that links and the quality report point at.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from deckforge.emit.pages.context import SiteContext, deck_of, deck_title, href_from
from deckforge.emit.pages.text import (
    cloze_back,
    cloze_front,
    escape,
    has_cloze,
    indent,
    inline,
    to_markdown,
)
from deckforge.model import Card, slug

# Flag word -> admonition type (Material colours: blue, red, orange, red-cross).
FLAG_STYLE = {"repaired": "info", "conflict": "danger", "needs-review": "warning", "claim-mismatch": "failure"}
OPTION_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def letter(i: int) -> str:
    return OPTION_LETTERS[i] if i < len(OPTION_LETTERS) else str(i + 1)


def badge(text: str, kind: str) -> str:
    return f'<span class="df-badge df-badge--{slug(kind)}">{escape(text)}</span>'


def tag_anchor(tag: str) -> str:
    return "tag-" + slug(tag)


def _question_and_answer(card: Card) -> tuple[str, str]:
    if has_cloze(card.question):
        return cloze_front(card.question), card.answer.strip() or cloze_back(card.question)
    return card.question, card.answer


def _options(card: Card, link) -> list[str]:
    return [f"- **{letter(i)}.** {inline(opt, link)}" for i, opt in enumerate(card.options)]


def _answer_body(card: Card, answer: str, link) -> list[str]:
    body: list[str] = []
    if card.options:
        correct = [i for i in card.correct if 0 <= i < len(card.options)]
        if correct:
            body += [f"**Correct: {letter(i)}.** {inline(card.options[i], link)}" + ("<br>" if n < len(correct) - 1 else "")
                     for n, i in enumerate(correct)]
        else:
            body.append("*No correct option could be recovered from the notes.*")
        body.append("")
    if answer.strip():
        body += to_markdown(answer, link) + [""]
    elif not card.options:
        body += ["*The notes give no answer.*", ""]
    if card.extra.strip():
        body += ["**Note.** " + inline(card.extra, link), ""]
    return body


def _flags(card: Card, link) -> list[str]:
    lines: list[str] = []
    reasons: dict[str, list[str]] = {}
    for flag in card.flags:
        reasons.setdefault(flag.name, []).append(flag.reason)
    for name in sorted(reasons):
        lines += [f'!!! {FLAG_STYLE.get(name, "note")} "Flagged: {name}"', ""]
        lines += indent([f"- {inline(r, link)}" for r in dict.fromkeys(reasons[name])]) + [""]
    if card.verified:
        lines += ['!!! success "Checked by a snippet"', ""]
        lines += indent([f"- {inline(v, link)}" for v in card.verified]) + [""]
    return lines


def _a(href: str, text: str, title: str = "") -> str:
    extra = f' title="{html.escape(title)}"' if title else ""
    return f'<a href="{html.escape(href)}"{extra}>{html.escape(text, quote=False)}</a>'


def _href(page: str, target: str, anchor: str | None = None) -> str:
    if target == page and anchor:
        return f"#{anchor}"
    return href_from(page, target) + (f"#{anchor}" if anchor else "")


def _meta(card: Card, ctx: SiteContext, page: str, show_deck: bool) -> list[str]:
    """Source lines, deck, concepts, formulas and tags as one raw HTML block: Python-Markdown
    does not run its inline patterns over it (a third of the build time on large decks). The
    browser test resolves every one of these links."""
    parts = []
    for span in card.sources:
        url = ctx.source_url(span.path, span.line)
        parts.append(_a(url, str(span), "Edit this line") if url else f"<code>{html.escape(str(span))}</code>")
    rows = ["<strong>Source:</strong> " + ", ".join(parts)]
    if show_deck:
        rows.append("<strong>In:</strong> " + _a(_href(page, ctx.card_page[card.id], card.id), deck_title(deck_of(card))))
    concepts = [c for c in dict.fromkeys(card.concepts) if c in ctx.concepts]
    if concepts:
        rows.append("<strong>Concepts:</strong> " + ", ".join(
            _a(_href(page, ctx.concept_page[c]), ctx.concepts[c].name) for c in concepts))
    if card.formulas:
        links = []
        for fid in dict.fromkeys(card.formulas):
            formula = ctx.formulas.get(fid)
            if formula and formula.concept in ctx.concept_page:
                links.append(_a(_href(page, ctx.concept_page[formula.concept], "formula-" + slug(fid)), formula.name))
            else:
                links.append(f"<code>{html.escape(fid)}</code>")
        rows.append("<strong>Formulas:</strong> " + ", ".join(links))
    if card.tags:
        rows.append("<strong>Tags:</strong> " + " ".join(
            _a(_href(page, "tags.md", tag_anchor(t)), t) for t in card.tags))
    return ['<div class="df-card__meta">' + "<br>".join(rows) + "</div>"]


def render_card(card: Card, ctx: SiteContext, page: str, *, skip_concepts: Iterable[str] = (),
                show_deck: bool = False) -> list[str]:
    seen: set[str] = set()
    skip = frozenset(skip_concepts)
    href = ctx.concept_href(page)

    def link(text: str) -> str:
        return ctx.linker.link(text, href, skip, seen)

    question, answer = _question_and_answer(card)
    badges = [badge(card.kind, "kind")] + [badge(name, name) for name in sorted({f.name for f in card.flags})]
    if card.label:
        badges.append(badge(card.label, "label"))
    q_lines = to_markdown(question, link)
    if q_lines and not q_lines[0].startswith("$$"):
        q_lines[0] = "**Q.** " + q_lines[0]
    # The setup the question depends on (a quiz's shared stem, a heading path), before it.
    context = to_markdown(card.context, link) if card.context.strip() else []
    if context and not context[0].startswith("$$"):
        context[0] = "*Setup:* " + context[0]
    if context and context[-1]:
        context.append("")  # a setup ending in display math: its block must end before the Q.
    lines = [f'<div class="df-card" id="{card.id}" markdown>', "", " ".join(badges), "",
             *context, *q_lines, ""]
    if card.options:
        lines += _options(card, link) + [""]
    body = _answer_body(card, answer, link)
    missing = not answer.strip() and not card.correct
    lines += [f'??? {"failure" if missing else "success"} "{"Answer (missing)" if missing else "Answer"}"', ""]
    lines += indent(body)
    lines += _flags(card, link)
    lines += _meta(card, ctx, page, show_deck)
    lines += ["", "</div>", ""]
    return lines
