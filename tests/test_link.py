"""link: cards -> concepts (registry aliases + the notes' own definitions), related, tags."""

from __future__ import annotations

import re

from deckforge.config import load_config
from deckforge.model import Card, Concept, KnowledgeGraph, SourceSpan
from deckforge.passes import Context
from deckforge.passes.link import defined_term, link
from deckforge.registry import Registry
from tests.conftest import card_at

DOTTED = "sources/cs242-systems-flashcards.txt"
ANKI_TAG = re.compile(r"^[^\s\"]+$")


def test_cards_link_to_registry_concepts(bundled_graph):
    assert "roofline" in card_at(bundled_graph, f"{DOTTED}:95").concepts
    assert "lora" in card_at(bundled_graph, f"{DOTTED}:51").concepts
    assert "kv-cache" in card_at(bundled_graph, f"{DOTTED}:166").concepts
    linked = sum(1 for c in bundled_graph.cards if c.concepts)
    print(f"\n{linked}/{len(bundled_graph.cards)} cards linked to a concept")
    assert linked >= 0.8 * len(bundled_graph.cards)


def test_graph_concepts_are_registry_plus_derived(bundled_graph):
    from deckforge.registry import load_registry
    from tests.conftest import ROOT

    registry_ids = {c.id for c in load_registry(ROOT / "snippets").concepts}
    ids = [c.id for c in bundled_graph.concepts]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert registry_ids <= set(ids)
    derived = [c for c in bundled_graph.concepts if c.id not in registry_ids]
    print(f"\n{len(registry_ids)} registry + {len(derived)} derived concepts:", [c.id for c in derived])
    assert derived and all(c.definition for c in derived)
    # "floating-point operation (FLOP) is a basic operation …" -> "What is …?" -> a concept
    flop = next(c for c in bundled_graph.concepts if c.id == "floating-point-operation")
    assert flop.definition.startswith("A basic operation like addition") and "FLOP" in flop.aliases
    ssl = next(c for c in bundled_graph.concepts if c.id == "self-supervised-learning")
    assert ssl.aliases == ("SSL",)


def test_every_card_concept_exists_and_related_is_symmetric_enough(bundled_graph):
    ids = {c.id for c in bundled_graph.concepts}
    assert all(set(card.concepts) <= ids for card in bundled_graph.cards)
    for concept in bundled_graph.concepts:
        assert concept.id not in concept.related and set(concept.related) <= ids


def test_tags_are_anki_safe_and_structured(bundled_graph):
    for card in bundled_graph.cards:
        assert card.tags == tuple(sorted(card.tags))
        assert all(ANKI_TAG.match(t) for t in card.tags), card.tags
        assert f"kind::{card.kind}" in card.tags
        assert all(f"concept::{c}" in card.tags for c in card.concepts)
        # flags of passes after link (check: claim-mismatch) are tagged by the Anki emitter
        assert all(f"flag::{f.name}" in card.tags for f in card.flags if f.name != "claim-mismatch")
    tags = card_at(bundled_graph, f"{DOTTED}:8").tags
    assert "course::cs242-systems" in tags and "quiz::quiz-2" in tags


def test_defined_terms():
    def card(q, a="An answer.", tags=()):
        return Card(id="c", kind="basic", question=q, answer=a, sources=(SourceSpan("n", 1, 1),), tags=tags)

    assert defined_term(card("Define swamping (catastrophic cancellation)")) == ("swamping", ("catastrophic cancellation",))
    assert defined_term(card("What is self-supervised learning (SSL)?")) == ("self-supervised learning", ("SSL",))
    assert defined_term(card("LoRA — what is it?")) == ("LoRA", ())
    assert defined_term(card("Mechanics", tags=("definition",))) == ("Mechanics", ())
    assert defined_term(card("What is the core goal of CS242?")) is None
    assert defined_term(card("What is K in Approximate MMM?")) is None
    assert defined_term(card("Define memory wall", a="")) is None  # no answer, no definition


def test_link_is_deterministic_and_uses_registry_aliases():
    registry = Registry(concepts=(Concept("roofline", "Roofline model", aliases=("roofline", "ridge point")),
                                  Concept("ddp", "Distributed data parallel", aliases=("ddp",))))
    cards = tuple(
        Card(id=f"c{i}", kind="basic", question=q, answer=a, sources=(SourceSpan("n", i, i),), deck=("d", "C", "Lecture 3"))
        for i, (q, a) in enumerate([("Interpret ridge point on roofline.", "Threshold."),
                                    ("What is DDP?", "Copies of the model; the roofline does not matter."),
                                    ("Define memory wall.", "DRAM bandwidth limits compute.")], 1)
    )
    ctx = Context(config=load_config(), registry=registry)
    one, two = link(KnowledgeGraph(cards=cards), ctx), link(KnowledgeGraph(cards=cards), ctx)
    assert one == two
    by_id = {c.id: c for c in one.cards}
    assert by_id["c1"].concepts == ("roofline",)
    assert by_id["c2"].concepts == ("ddp", "roofline")
    assert by_id["c3"].concepts == ("memory-wall",)
    assert [c.id for c in one.concepts] == ["ddp", "memory-wall", "roofline"]
    assert dict((c.id, c.related) for c in one.concepts)["ddp"] == ("roofline",)
    assert "lecture::lecture-3" in by_id["c1"].tags
