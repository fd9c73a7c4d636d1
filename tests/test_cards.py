"""cards: kinds, true/false verdicts, decks, labels and reader flags, on real notes and units."""

from __future__ import annotations

from collections import Counter

import pytest

from deckforge.config import load_config
from deckforge.model import CARD_KINDS, KnowledgeGraph, RawItem, SourceSpan, card_id
from deckforge.passes import Context
from deckforge.passes.cards import make_cards, normalize_verdict, verdict
from deckforge.registry import Registry
from deckforge.text.structure import course_name
from tests.conftest import card_at

DOTTED = "sources/cs242-systems-flashcards.txt"


def _ctx() -> Context:
    return Context(config=load_config(), registry=Registry())


def _cards(*items: RawItem):
    return make_cards(KnowledgeGraph(raw_items=items), _ctx()).cards


def _item(q, a="", line=1, **kw) -> RawItem:
    return RawItem(q, a, SourceSpan("sources/cs242-systems-flashcards.txt", line, line), "dotted", **kw)


def test_all_five_kinds_occur_in_the_bundled_notes(bundled_graph):
    kinds = Counter(c.kind for c in bundled_graph.cards)
    print("\nkinds:", dict(sorted(kinds.items())))
    assert set(kinds) == set(CARD_KINDS)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("True ✅ (approximation depends on padding).", "True — Approximation depends on padding"),
        ("True ✅.", "True"),
        ("False", "False"),
        ("True. (Ridge = compute roof intersects bandwidth roof.)", "True — Ridge = compute roof intersects bandwidth roof."),
        ("False — it denoises in latent space via a VAE.", "False — It denoises in latent space via a VAE."),
    ],
)
def test_true_false_verdicts_are_normalized(answer, expected):
    assert normalize_verdict(answer) == expected
    assert verdict(expected) == expected.split(" ")[0]


def test_not_a_verdict():
    assert verdict("True positives are rare") is None
    assert verdict("Truely") is None


def test_real_true_false_cards(bundled_graph):
    card = card_at(bundled_graph, f"{DOTTED}:8")
    assert card.kind == "true-false" and card.answer.startswith("False — ")
    assert card.deck == ("deckforge", "CS242 Systems", "Quiz 2") and card.label == "Quiz 2 Q1b"
    assert card_at(bundled_graph, f"{DOTTED}:62").answer == "True"


def test_decks_name_the_course_and_lecture(bundled_graph):
    card = card_at(bundled_graph, f"{DOTTED}:95")
    assert card.deck[:2] == ("deckforge", "CS242 Systems") and card.deck[2].startswith("Lecture 3")
    assert all("::" not in part for c in bundled_graph.cards for part in c.deck)


@pytest.mark.parametrize(
    ("path", "name"),
    [("sources/cs242-systems-flashcards.txt", "CS242 Systems"), ("sources/transformers-flashcards-export.txt", "Transformers"),
     ("sources/cs336-lecture-notes.md", "CS336"), ("sources/efficient-dl-midterm-recap.txt", "Efficient DL Midterm Recap"),
     ("sources/ml-systems-reading-quizzes.txt", "ML Systems Reading Quizzes")],
)
def test_course_names(path, name):
    assert course_name(path) == name


def test_multiple_choice_has_an_answer_or_is_flagged(bundled_graph):
    mc = [c for c in bundled_graph.cards if c.kind == "multiple-choice"]
    assert mc
    for card in mc:
        assert card.options
        assert card.correct or card.has_flag("needs-review"), card.question


def test_cloze_cards_come_from_obsidian_highlights(bundled_graph):
    cloze = [c for c in bundled_graph.cards if c.kind == "cloze"]
    assert cloze and all("{{c1::" in c.question for c in cloze)
    # highlights of the Obsidian notes, and key terms of lecture claims (notes and slides)
    assert all(c.sources[0].path.endswith((".md", "efficient-dl-midterm-recap.txt")) for c in cloze)


def test_formula_kind_for_formula_questions(bundled_graph):
    for line in (102, 112, 95):  # GD update rule, Derivative of Sigmoid, achievable throughput
        assert card_at(bundled_graph, f"{DOTTED}:{line}").kind == "formula"


def test_headers_that_slip_through_a_reader_are_refused():
    cards = _cards(_item("LECTURE 5 — PRUNING"), _item("✅ QUIZ 4 - DISTILLATION"), _item("⸻"),
                   _item("What is pruning?", "Removing weights.", 4))
    assert [c.question for c in cards] == ["What is pruning?"]


def test_reader_review_notes_become_flags_and_highlights_cloze():
    (mc, cloze, bare) = _cards(
        _item("Which layer?", "", 1, options=("Layer 1", "Layer 2"), needs_review=True,
              notes=("no marker left before any option",)),
        _item("FLOPs forward: ==2 (# tokens) (# params)==", "", 2),
        _item("Q1b", "True — A pre-trained model can distill.", 3, section=("Quiz 4 — Distillation",)),
    )
    assert mc.kind == "multiple-choice"
    assert [(f.name, f.reason) for f in mc.flags] == [("needs-review", "no marker left before any option")]
    assert cloze.kind == "cloze" and cloze.question == "FLOPs forward: {{c1::2 (# tokens) (# params)}}"
    # a bare label is never shown as the question; the flag carries the cause as data
    assert bare.label == "Quiz 4 Q1b" and bare.question == "Quiz 4 Q1b: statement missing from the notes"
    assert bare.kind == "true-false" and bare.has_cause("bare-label") and bare.unfinished


def test_card_ids_are_model_card_ids():
    (card,) = _cards(_item("Derivative of Sigmoid", "σ′(x)", 1, section=("Lecture 4",)))
    assert card.id == card_id("Derivative of Sigmoid", ("Lecture 4",))
