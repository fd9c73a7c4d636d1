"""The check pass on the real notes: wrong quiz claims are flagged with the values the snippet
code computes, right ones are marked verified and never flagged."""

from __future__ import annotations

from pathlib import Path

import pytest

from deckforge.config import load_config
from deckforge.model import Card, SourceSpan
from deckforge.passes.check import RULES, RuleContext, Snippets, check_card
from deckforge.pipeline import build_graph
from deckforge.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
CS242 = "sources/cs242-systems-flashcards.txt"

# Wrong claims: (line, words the reason must contain: the computed values).
WRONG = [
    (10, ["activation_lifetimes(4 layers) = [7, 5, 3, 1]"]),  # "Deeper layer activations are kept longer."
    (8, ["ridge_shift(0.5) = 2", "moves right"]),  # "Ridge moves right if BW decreases" -> False
    (17, ["error_bound_ratio(2) = 0.25"]),  # +2 bits halves the UQ error -> True
    (24, ["19/31", "6/31"]),  # more mantissa bits reduce swamping -> False
    (25, ["is_swamped(1.5, +2^-12, fp16) = True", "is_swamped(1.5, -2^-12, fp16) = True"]),
    (63, ["[0, 1000]", "192 → -0.616 (claimed -0.416)", "835 → 0.670 (claimed 0.372)"]),
    (64, ["559 → 0.118 (claimed 0.138)", "629 → 0.258 (claimed 0.648)"]),
    (72, ["stride_ops_ratio", "2.247", "not 1.5×"]),
    (195, ["filters 64 → 128", "0.873 → 0.881"]),  # savings decrease as N increases -> True
    (208, ["False at", "n=5 → 5×5"]),  # QKᵀ is n×n: the False side of the conflict
    (211, ["True at sources/cs242-systems-flashcards.txt:232", "d_model = 8 inputs"]),  # FFN neuron
]
# Right claims the code confirms: (path, line).
RIGHT = [(CS242, n) for n in (4, 7, 11, 23, 33, 47, 62, 65, 71, 142, 167, 196, 203, 222, 246, 273, 274)] + [
    ("sources/cs336-lecture-notes.md", 85),  # forward FLOPs 2 (# tokens)(# parameters)
    ("sources/cs336-lecture-notes.md", 91),  # backward FLOPs (2+2) ...
    ("sources/transformers-flashcards-export.txt", 98),  # d_k = 512/8 = 64
    ("sources/efficient-dl-midterm-recap.txt", 337),  # KL = 0 iff P = Q (its key points)
    ("sources/efficient-dl-midterm-recap.txt", 355),  # SVD without truncation has more parameters
]


@pytest.fixture(scope="module")
def graph():
    return build_graph(load_config(root=ROOT))


def at(cards, path: str, line: int) -> Card:
    found = [c for c in cards if any(s.path == path and s.line == line for s in c.sources)]
    assert found, f"no card from {path}:{line}"
    return found[0]


@pytest.mark.parametrize(("line", "words"), WRONG, ids=[f"L{n}" for n, _ in WRONG])
def test_wrong_claims_are_flagged_with_computed_values(graph, line, words):
    card = at(graph.cards, CS242, line)
    reasons = " | ".join(f.reason for f in card.flags if f.name == "claim-mismatch")
    assert reasons, f"{CS242}:{line} not flagged"
    for word in words:
        assert word in reasons


@pytest.mark.parametrize(("path", "line"), RIGHT, ids=[f"{p[8:14]}-L{n}" for p, n in RIGHT])
def test_right_claims_are_verified_not_flagged(graph, path, line):
    card = at(graph.cards, path, line)
    assert card.verified, f"{path}:{line} not verified"
    assert not card.has_flag("claim-mismatch")


def test_only_the_wrong_claims_are_flagged(graph):
    flagged = {(s.path, s.line) for c in graph.cards if c.has_flag("claim-mismatch") for s in c.sources[:1]}
    assert flagged == {(CS242, n) for n, _ in WRONG}


def test_a_conflict_is_settled_side_by_side(graph):
    """QKᵀ is n×n: the notes answer False at 208-210 and 231, True at 238."""
    card = at(graph.cards, CS242, 238)
    assert card.has_flag("conflict")
    assert any("False at sources/cs242-systems-flashcards.txt:208-210" in f.reason
               for f in card.flags if f.name == "claim-mismatch")
    assert any("the notes say True (one side)" in v for v in card.verified)
    assert not any("sources/" in v for c in graph.cards for v in c.verified)  # card text: no file:line


def test_rules_are_named_and_tied_to_registry_formulas():
    registry = load_registry(ROOT / "snippets")
    names = [r.name for r in RULES]
    assert len(names) == len(set(r.pattern.pattern for r in RULES))
    for rule in RULES:
        assert registry.formula(rule.formula) is not None, rule.name


def _ctx():
    from deckforge.model import KnowledgeGraph

    registry = load_registry(ROOT / "snippets")
    return RuleContext(Snippets(registry), KnowledgeGraph(formulas=registry.formulas))


def _tf(question: str, answer: str) -> Card:
    return Card(id="c1", kind="true-false", question=question, answer=answer,
                sources=(SourceSpan("quiz.txt", 3, 3),))


@pytest.mark.parametrize(("question", "answer", "mismatch"), [
    ("Increase bit-width by 1 bits ⇒ max UQ error halves", "True", False),
    ("Increase bit-width by 2 bits ⇒ max UQ error quarters", "True", False),
    ("Increase bit-width by 2 bits ⇒ max UQ error quarters", "False", True),
    ("Ridge moves left if I/O bandwidth increases", "True", False),
    ("Stride 2→1 incurs 4× more ops?", "True", False),
    ("Tying embeddings depends on number of transformer layers L", "True", True),
])
def test_rules_judge_the_statement_not_the_wording(question, answer, mismatch):
    card, diags = check_card(_tf(question, answer), _ctx())
    assert not diags
    assert card.has_flag("claim-mismatch") == mismatch
    assert bool(card.verified) != mismatch


def test_a_claim_without_a_rule_is_left_alone():
    card, _ = check_card(_tf("Stable Diffusion operates in pixel space", "False"), _ctx())
    assert not card.verified and not card.flags
