"""link: cards -> concepts, concept <-> concept, tags. Deterministic: sorted everywhere.

Concepts come from two places:
- the registry (ctx.registry.concepts), matched by name and aliases, and through the formulas
  a card is linked to (a formula's concept);
- the notes' own definitions: Obsidian `**term**: text` items (tagged `definition` by the cards
  pass) and "Define X" / "What is X?" / "X — what is it?" cards. Each becomes a *derived*
  concept (id = slug of the term) whose definition is the card's answer, so the knowledge base
  has pages for topics without a formula too. A term that names a registry concept links to
  it instead of creating a duplicate.
`related` = the registry's own related ids, then concepts sharing the most cards (ties by id).
Tags (Anki-safe, no spaces): course::…, lecture::… or quiz::…, kind::…, flag::…, concept::….
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import replace
from functools import lru_cache

from deckforge.model import Card, Concept, KnowledgeGraph, slug
from deckforge.passes.cards import DEFINITION_TAG, is_placeholder
from deckforge.text.keys import fast_key

MAX_RELATED = 6
SHORT_ALIAS = 5  # one-word aliases up to this length ("ddp", "clip") only match in questions
_DEFINE = [
    re.compile(r"^(?:define|definition of)\s+(?:an?\s+|the\s+)?(?P<term>.+?)(?:\s+mathematically|\s+in one line)?[.?:]*$", re.I),
    re.compile(r"^what (?:is|are)\s+(?:an?\s+)?(?P<term>.+?)\?*$", re.I),
    re.compile(r"^(?P<term>.+?)\s*[—–-]+\s*what is it\??$", re.I),
]
_BAD_TERM = re.compile(
    r"^(?:the|this|that|these|those|its?|typical|key|core|main)\b"
    r"|\b(?:in|of|for|with|between|vs|when|do|does|to|idea|goal|purpose|role|difference|objective)\b"
    r"|'s\b|,",
    re.I,
)
_PAREN = re.compile(r"\s*\(([^()]{1,40})\)\s*")
_QUOTES = "\"“”'`*"


def defined_term(card: Card) -> tuple[str, tuple[str, ...]] | None:
    """(term, aliases) when the card defines a term: `Define X`, `What is X?`, `**X**: …`."""
    if is_placeholder(card.answer) or card.kind not in ("basic", "formula"):
        return None
    question = " ".join(card.question.split())
    if DEFINITION_TAG in card.tags:
        term = question.strip(_QUOTES + " :")
    else:
        term = None
        for rule in _DEFINE:
            match = rule.match(question)
            if match:
                term = match.group("term").strip(_QUOTES + " ")
                break
        if term is None:
            return None
    aliases = tuple(a.strip() for a in _PAREN.findall(term) if "$" not in a and len(a.split()) <= 4)
    term = _PAREN.sub(" ", term).strip(_QUOTES + " .:")
    if not term or "$" in term or len(term.split()) > 5 or _BAD_TERM.search(term):
        return None
    return term, aliases


MAX_ALIAS_WORDS = 6


def _ngram_hits(text_key: str, table: dict[str, str]) -> set[str]:
    """Concept ids whose alias key is a whole-word n-gram of `text_key`: dictionary look-ups
    per n-gram, so thousands of derived concept names cost no more than a few."""
    words = text_key.split()
    hits = set()
    for n in range(1, MAX_ALIAS_WORDS + 1):
        for i in range(len(words) - n + 1):
            cid = table.get(" ".join(words[i : i + n]))
            if cid is not None:
                hits.add(cid)
    return hits


def _alias_table(concepts: list[Concept]) -> tuple[dict[str, str], dict[str, str]]:
    """alias key -> concept id, split into (anywhere, question-only) by how specific it is."""
    anywhere: dict[str, str] = {}
    question_only: dict[str, str] = {}
    for concept in concepts:
        for alias in (concept.name, *concept.aliases, concept.id.replace("-", " ")):
            key = fast_key(alias)
            if len(key) < 2 or len(key.split()) > MAX_ALIAS_WORDS:
                continue
            table = question_only if (" " not in key and len(key) <= SHORT_ALIAS) else anywhere
            table.setdefault(key, concept.id)
    for key in list(question_only):
        anywhere.pop(key, None)
    return anywhere, question_only


def derive_concepts(cards: list[Card], registry_ids: dict[str, str]) -> tuple[list[Concept], dict[str, str]]:
    """Concepts from the notes' definitions, and card id -> the concept it defines."""
    found: dict[str, Concept] = {}
    defines: dict[str, str] = {}
    for card in sorted(cards, key=lambda c: (c.sources[0], c.id)):
        got = defined_term(card)
        if got is None:
            continue
        term, aliases = got
        key = fast_key(term)
        known = registry_ids.get(key) or next((registry_ids[fast_key(a)] for a in aliases if fast_key(a) in registry_ids), None)
        if known:
            defines[card.id] = known
            continue
        cid = slug(term)
        if cid in found:
            defines[card.id] = cid
            continue
        name = term[:1].upper() + term[1:]
        found[cid] = Concept(id=cid, name=name, aliases=tuple(dict.fromkeys(a for a in aliases if a != name)),
                             definition=card.answer)
        defines[card.id] = cid
    return sorted(found.values(), key=lambda c: c.id), defines


def card_concepts(card: Card, tables: tuple[dict, dict], formula_concept: dict[str, str]) -> set[str]:
    q, a = fast_key(card.question), fast_key(card.answer)
    out = {formula_concept[f] for f in card.formulas if f in formula_concept}
    out |= _ngram_hits(q, tables[0]) | _ngram_hits(a, tables[0])
    out |= _ngram_hits(q, tables[1])  # short one-word aliases ("ddp", "clip"): questions only
    return out


@lru_cache(maxsize=4096)
def _deck_tag(prefix: str, name: str) -> str:
    return f"{prefix}::{slug(name)}"


def card_tags(card: Card) -> tuple[str, ...]:
    tags = set(card.tags)
    if len(card.deck) >= 2:
        tags.add(_deck_tag("course", card.deck[1]))
    if len(card.deck) >= 3:
        level = card.deck[2]
        tags.add(_deck_tag("quiz" if re.match(r"quiz\b", level, re.I) else "lecture", level))
    tags.add(f"kind::{card.kind}")
    tags.update(f"flag::{f.name}" for f in card.flags)
    tags.update(f"concept::{c}" for c in card.concepts)
    return tuple(sorted(t.replace(" ", "_") for t in tags))


def related_concepts(concepts: list[Concept], cards: list[Card]) -> list[Concept]:
    ids = {c.id for c in concepts}
    together: dict[str, Counter] = defaultdict(Counter)
    for card in cards:
        present = sorted(set(card.concepts))
        for x in present:
            for y in present:
                if x != y:
                    together[x][y] += 1
    out = []
    for concept in concepts:
        own = [r for r in concept.related if r in ids and r != concept.id]
        shared = sorted(together[concept.id].items(), key=lambda kv: (-kv[1], kv[0]))
        extra = [cid for cid, _n in shared if cid not in own]
        out.append(replace(concept, related=tuple((own + extra)[: max(MAX_RELATED, len(own))])))
    return out


def link(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    registry = getattr(ctx, "registry", None)
    base = list(getattr(registry, "concepts", ()) or graph.concepts)
    formulas = list(getattr(registry, "formulas", ()) or graph.formulas)
    formula_concept = {f.id: f.concept for f in formulas}
    registry_tables = _alias_table(base)
    registry_ids = {**registry_tables[1], **registry_tables[0]}
    cards = list(graph.cards)
    derived, defines = derive_concepts(cards, registry_ids)
    base_ids = {c.id for c in base}
    derived = [c for c in derived if c.id not in base_ids]
    concepts = sorted(base + derived, key=lambda c: c.id)
    tables = _alias_table(concepts)
    linked = []
    for card in cards:
        found = card_concepts(card, tables, formula_concept)
        if card.id in defines:
            found.add(defines[card.id])
        card = replace(card, concepts=tuple(sorted(found | set(card.concepts))))
        linked.append(replace(card, tags=card_tags(card)))
    concepts = related_concepts(concepts, linked)
    return graph.replace(cards=tuple(linked), concepts=tuple(concepts))
