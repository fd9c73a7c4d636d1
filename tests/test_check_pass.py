"""The check pass on the real notes: wrong quiz claims are flagged with the values the snippet
code computes, right ones are marked verified and never flagged."""

from __future__ import annotations

from pathlib import Path

import pytest

from deckforge.config import load_config
from deckforge.model import Card, SourceSpan
from deckforge.passes.check import RuleContext, Snippets, check_card
from deckforge.pipeline import build_graph
from deckforge.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
CS242 = "sources/cs242-systems-flashcards.txt"

# Wrong claims: (line, words the reason must contain: the computed values).
WRONG = [
    (10, ["activation_lifetime with layer 2 → 6", "13 → 5"]),  # "Deeper layer activations are kept longer."
    (8, ["ridge_point with bandwidth 2 → 4", "falls as bandwidth rises"]),  # "Ridge moves right if BW decreases" -> False
    (17, ["×0.2493, not ×0.5"]),  # +2 bits halves the UQ error -> True
    (24, ["0.6129 → 0.1935"]),  # more mantissa bits reduce swamping -> False
    (25, ["sign=1: 0.6129, sign=-1: 0.6129"]),  # different signs can prevent swamping -> True
    (63, ["[0, 1000]", "192 → -0.616 (claimed -0.416)", "835 → 0.670 (claimed 0.372)"]),
    (64, ["559 → 0.118 (claimed 0.138)", "629 → 0.258 (claimed 0.648)"]),
    (72, ["strided_conv_macs", "×2.247", "not ×1.5"]),
    (195, ["filters 64 → 128", "0.8733 → 0.8811"]),  # savings decrease as N increases -> True
    (208, ["False at", "self_attention_scores_shape(n=5) = 5×5"]),  # QKᵀ is n×n: the False side
    (211, ["True at sources/cs242-systems-flashcards.txt:232", "ffn_neuron_fan_in"]),  # FFN neuron
    (258, ["max |·| is 1.71, not 1", "std 1"]),  # GRPO "normalize by the largest advantage"
]
# Right claims the code confirms: (path, line).
RIGHT = [(CS242, n) for n in (7, 11, 23, 62, 65, 71, 196, 203, 222, 246, 273, 274)] + [
    ("sources/cs336-lecture-notes.md", 85),  # forward FLOPs 2 (# tokens)(# parameters)
    ("sources/cs336-lecture-notes.md", 91),  # backward FLOPs (2+2) ...
    ("sources/transformers-flashcards-export.txt", 98),  # d_k = 512/8 = 64
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
    # Besides the claims: answer formulas written without a part the registry declares
    # essential (the verify pass): SimCLR's k != i (173), CLIP's second direction (182).
    essential = {(CS242, 173), (CS242, 182)}
    assert flagged == {(CS242, n) for n, _ in WRONG} | essential
    causes = {f.cause for c in graph.cards for f in c.flags
              if f.name == "claim-mismatch" and (c.sources[0].path, c.sources[0].line) in essential}
    assert causes == {"formula-missing-part"}


def test_a_conflict_is_settled_side_by_side(graph):
    """QKᵀ is n×n: the notes answer False at 208-210 and 231, True at 238."""
    card = at(graph.cards, CS242, 238)
    assert card.has_flag("conflict")
    assert any("False at sources/cs242-systems-flashcards.txt:208-210" in f.reason
               for f in card.flags if f.name == "claim-mismatch")
    assert any("the notes say True (one side)" in v for v in card.verified)
    assert not any("sources/" in v for c in graph.cards for v in c.verified)  # card text: no file:line


def test_claims_are_tied_to_registry_formulas_and_their_code():
    """Every declared claim names a registry formula whose module has the named functions."""
    registry = load_registry(ROOT / "snippets")
    snippets = Snippets(registry)
    assert len(registry.claims) >= 15
    for claim in registry.claims:
        assert registry.formula(claim.formula) is not None, claim
        assert callable(snippets.fn(claim.formula, claim.function)), claim
        if hasattr(claim, "candidates"):
            assert callable(snippets.fn(claim.formula, claim.candidates)), claim


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
