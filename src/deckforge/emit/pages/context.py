"""What every page generator needs: the graph plus lookups, page paths and relative links.

Page paths are docs-relative Markdown paths (`concepts/roofline.md`); links between pages are
relative `.md` links, so MkDocs validates every one of them in strict mode.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from deckforge.config import Config
from deckforge.diagnostics import Diagnostic
from deckforge.emit.pages.text import ConceptLinker
from deckforge.model import Card, Concept, Formula, KnowledgeGraph, slug
from deckforge.registry import Registry

UNSORTED_DECK = ("Unsorted",)


def natural_key(text: str) -> tuple:
    """"Lecture 2" sorts before "Lecture 10"."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.casefold()) for p in re.split(r"(\d+)", text))


def deck_key(deck: tuple[str, ...]) -> tuple:
    return tuple(natural_key(part) for part in deck)


def card_order(card: Card) -> tuple:
    first = min(card.sources) if card.sources else None
    return (first.path, first.line) if first else ("", 0), card.id


def rel(from_page: str, to_page: str, anchor: str | None = None) -> str:
    """Relative link from one docs page to another (or to an asset), optional #anchor."""
    if from_page == to_page and anchor:
        return f"#{anchor}"
    target = posixpath.relpath(to_page, posixpath.dirname(from_page) or ".")
    return f"{target}#{anchor}" if anchor else target


def url_of(page: str) -> str:
    """The URL path MkDocs gives a page with use_directory_urls (`concepts/x.md` -> `concepts/x/`)."""
    stem = page[:-3] if page.endswith(".md") else page
    if stem == "index":
        return ""
    if stem.endswith("/index"):
        return stem[: -len("index")]
    return stem + "/"


def href_from(from_page: str, to_page: str) -> str:
    """A raw-HTML href (not rewritten by MkDocs) from one page's URL to another's."""
    return posixpath.relpath("/" + url_of(to_page), "/" + url_of(from_page)) + "/"


@dataclass
class SiteContext:
    graph: KnowledgeGraph
    config: Config
    lecture_page: dict[tuple[str, ...], str]
    card_page: dict[str, str]
    concepts: dict[str, Concept]
    concept_page: dict[str, str]
    formulas: dict[str, Formula]
    cards_by_concept: dict[str, list[Card]]
    cards_by_deck: dict[tuple[str, ...], list[Card]]
    linker: ConceptLinker
    bench: dict[str, list] = field(default_factory=dict)  # concept id -> [BenchResult]
    test_status: dict[str, str] = field(default_factory=dict)  # formula id -> status word
    status_source: str = ""  # where test_status came from (shown on the pages)
    apkg: Path | None = None
    plot_cache_dir: Path | None = None  # matplotlib SVGs by content hash (see bench.cached_plot)
    plot_memo: dict = field(default_factory=dict)
    registry: Registry | None = None  # where each formula's code lives (site includes)
    problems: list[Diagnostic] = field(default_factory=list)

    def concept_href(self, from_page: str):
        return lambda concept_id: rel(from_page, self.concept_page[concept_id])

    def card_link(self, from_page: str, card: Card) -> str:
        return rel(from_page, self.card_page[card.id], card.id)

    def source_url(self, path: str, line: int) -> str | None:
        return self.config.source_url(path, line)


def deck_of(card: Card) -> tuple[str, ...]:
    return tuple(card.deck) or UNSORTED_DECK


def _unique_paths(keys, folder: str, name) -> dict:
    """One page path per key; slug collisions get -2, -3 in sorted key order."""
    out, used = {}, set()
    for key in keys:
        base = slug(name(key))
        candidate, n = base, 1
        while candidate in used or candidate == "index":
            n += 1
            candidate = f"{base}-{n}"
        used.add(candidate)
        out[key] = f"{folder}/{candidate}.md"
    return out


def make_context(graph: KnowledgeGraph, config: Config) -> SiteContext:
    cards = sorted(graph.cards, key=card_order)
    by_deck: dict[tuple[str, ...], list[Card]] = {}
    for card in cards:
        by_deck.setdefault(deck_of(card), []).append(card)
    decks = sorted(by_deck, key=deck_key)
    # The course root every deck shares ("deckforge") adds nothing to a page's URL.
    shared = 1 if len({d[0] for d in decks}) == 1 and all(len(d) > 1 for d in decks) else 0
    lecture_page = _unique_paths(decks, "lectures", lambda d: "-".join(d[shared:]))

    formulas = {f.id: f for f in graph.formulas}
    concepts = {c.id: c for c in graph.concepts}
    # Every concept a card or formula names gets a page, declared or not, so no link dangles.
    for cid in sorted({c for card in cards for c in card.concepts} | {f.concept for f in formulas.values() if f.concept}):
        if cid not in concepts:
            concepts[cid] = Concept(id=cid, name=cid.replace("-", " ").capitalize(),
                                    formulas=tuple(f.id for f in formulas.values() if f.concept == cid))
    concept_ids = sorted(concepts)
    concept_page = _unique_paths(concept_ids, "concepts", lambda c: c)

    by_concept: dict[str, list[Card]] = {cid: [] for cid in concept_ids}
    for card in cards:
        for cid in dict.fromkeys(card.concepts):
            by_concept[cid].append(card)

    names = [(c.id, n) for c in concepts.values() for n in (c.name, *c.aliases) if n]
    return SiteContext(
        graph=graph,
        config=config,
        lecture_page=lecture_page,
        card_page={c.id: lecture_page[deck_of(c)] for c in cards},
        concepts={cid: concepts[cid] for cid in concept_ids},
        concept_page=concept_page,
        formulas=formulas,
        cards_by_concept=by_concept,
        cards_by_deck={d: by_deck[d] for d in decks},
        linker=ConceptLinker(names),
    )


def concept_formulas(ctx: SiteContext, concept: Concept) -> list[Formula]:
    """A concept's formulas: the ones it declares and the ones that name it, in a stable order."""
    ids = list(dict.fromkeys([*concept.formulas, *sorted(f.id for f in ctx.formulas.values() if f.concept == concept.id)]))
    return [ctx.formulas[i] for i in ids if i in ctx.formulas]


def deck_title(deck: tuple[str, ...]) -> str:
    return deck[-1] if deck else "Unsorted"
