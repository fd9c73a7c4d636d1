"""Each claim template of the check pass on made-up statements (not lines of sources/), the
conflict sides dedupe hands to check as data, and the prose-math repair."""

from __future__ import annotations

from pathlib import Path

import pytest

from deckforge.model import Card, Formula, KnowledgeGraph, SourceSpan
from deckforge.passes.check import RuleContext, Snippets, check_card, cues
from deckforge.passes.prose_math import evidence, repair_card, repair_text
from deckforge.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = load_registry(ROOT / "snippets")


def _card(question: str, answer: str, kind: str = "true-false", line: int = 3, **extra) -> Card:
    return Card(id=f"c{line}", kind=kind, question=question, answer=answer,
                sources=(SourceSpan("quiz.txt", line, line),), **extra)


def _judge(question: str, answer: str = "True", kind: str = "true-false", cards=()) -> tuple[bool, str]:
    """(mismatch?, all reasons and verified notes) for one card."""
    card = _card(question, answer, kind)
    graph = KnowledgeGraph(cards=(card, *cards), formulas=REGISTRY.formulas)
    checked, diags = check_card(card, RuleContext(Snippets(REGISTRY), graph))
    assert not diags
    assert checked.verified or checked.has_flag("claim-mismatch"), f"no claim read in {question!r}"
    text = " | ".join([f.reason for f in checked.flags] + list(checked.verified))
    return checked.has_flag("claim-mismatch"), text


@pytest.mark.parametrize(("statement", "wrong"), [
    ("Adding 3 bits to the bit-width divides the max quantization error by about 8 (×0.125)", False),
    ("Going from 6 to 8 bits halves the maximum quantization error", True),  # ×0.25
    ("Increase the bit width by 1 bit ⇒ the UQ error halves", False),
    ("Doubling the peak compute doubles the ridge point", False),
    ("Halving the memory bandwidth halves the ridge point", True),  # ×2
])
def test_ratio_template(statement, wrong):
    assert _judge(statement)[0] is wrong


@pytest.mark.parametrize(("statement", "wrong"), [
    ("Stride 4→1 incurs 16× more ops?", False),
    ("Stride 2→1 incurs 2× more ops?", True),
    ("Stride 1→3 needs about 9× fewer MACs", False),
    ("Stride 1→3 needs about 3× fewer MACs", True),
])
def test_k_times_more_or_less_template(statement, wrong):
    mismatch, text = _judge(statement)
    assert mismatch is wrong
    assert "strided_conv_macs(stride=" in text  # the computed values are named


@pytest.mark.parametrize(("statement", "wrong"), [
    ("The ridge point moves right as the memory bandwidth decreases", False),
    ("The ridge point increases when peak FLOP/s decreases", True),
    ("The depthwise-separable saving grows as the kernel size increases", False),
    ("The DSC saving shrinks as the number of filters grows", True),
    ("Shallower layer activations are kept longer", False),
    ("Later layer activations are kept longer", True),
    ("Fewer mantissa bits reduce swamping", True),
    ("The KV cache grows as the batch size increases", False),
    ("The KV cache shrinks as the number of layers increases", True),
])
def test_trend_template(statement, wrong):
    assert _judge(statement)[0] is wrong


@pytest.mark.parametrize(("statement", "wrong"), [
    ("Tying embeddings depends on the vocab size", False),
    ("Tying embeddings is independent of the number of layers", False),
    ("The KV cache depends on the head dimension", False),
    ("Opposite signs can prevent swamping", True),
])
def test_dependence_and_prevents_templates(statement, wrong):
    assert _judge(statement)[0] is wrong


@pytest.mark.parametrize(("question", "answer", "wrong"), [
    ("Tied embeddings", "Tying embeddings saves V·d parameters.", False),
    ("Tied embeddings", "Tying embeddings saves V·d·L parameters.", True),
    ("Heads", "d_k = d_model/h = 1024/8 = 128", False),
    ("Heads", "d_k = d_model/h = 1024/8 = 64", True),
    ("Forward cost", "FLOPs for the forward pass: 2 (# tokens)(# parameters)", False),
    ("Training cost", "Training FLOPs: 4 (# tokens)(# parameters)", True),
    ("Ridge", "At the ridge point, alpha = peak FLOP/s / peak BW", False),
    ("Ridge", "At the ridge point, alpha = peak BW / peak FLOP/s", True),
])
def test_identity_template(question, answer, wrong):
    assert _judge(question, answer, kind="basic")[0] is wrong


def test_identity_template_reads_shapes():
    assert _judge("QKᵀ is always an n×n matrix")[0] is False
    assert _judge("QKᵀ is always an n×d matrix", "True")[0] is True


def test_value_mapping_fits_the_range_across_items():
    others = [_card(f"w = [{a}, {b}] → [{x}, {y}]?", "True", line=10 + i)
              for i, (a, b, x, y) in enumerate([(0, 50, -1.0, 0.0), (25, 75, -0.5, 0.5), (10, 90, -0.8, 0.8)])]
    ok, text = _judge("w = [20, 100] → [-0.6, 1.0]?", cards=others)
    assert not ok and "[MIN, MAX] = [0, 100]" in text
    wrong, text = _judge("w = [20, 60] → [-0.6, 0.3]?", cards=others)
    assert wrong and "60 → 0.200 (claimed 0.300)" in text


@pytest.mark.parametrize(("question", "answer", "wrong"), [
    ("GRPO advantage", "Subtract the group mean and normalize by the standard deviation.", False),
    ("GRPO advantage", "Subtract the group mean and normalize by the largest advantage.", True),
    ("Softmax", "Exponentiate, then normalize by the sum of the exponentials.", False),
    ("Softmax", "Exponentiate, then normalize by the maximum.", True),
    ("RMSNorm", "Divide each vector by its root mean square.", False),
])
def test_normalizes_by_template(question, answer, wrong):
    assert _judge(question, answer, kind="basic")[0] is wrong


def test_a_statement_without_a_template_is_left_alone():
    card = _card("Stable Diffusion operates in pixel space", "False")
    checked, _ = check_card(card, RuleContext(Snippets(REGISTRY), KnowledgeGraph(cards=(card,))))
    assert not checked.verified and not checked.flags


def test_negated_and_bare_factor_cues():
    found = cues("the error halves (≈×0.5), not quarters")
    assert [c.factor for c in found] == [0.5, 0.5]


def test_conflict_sides_are_data(bundled_graph):
    """dedupe names each side of a conflict as a source span; check reads verdicts from there."""
    from tests.conftest import card_at

    card = card_at(bundled_graph, "sources/cs242-systems-flashcards.txt:238")
    flag = next(f for f in card.flags if f.name == "conflict")
    assert flag.cause == "conflict"
    assert {s.line for s in flag.sides} >= {208, 231, 238}
    mismatch = next(f for f in card.flags if f.name == "claim-mismatch")
    assert mismatch.cause == "claim-mismatch" and mismatch.formula == "attention-scores"


def test_check_does_not_read_the_conflict_reason_text():
    """Rewording dedupe's reason changes nothing: the sides decide."""
    from deckforge.model import Flag, RawItem

    spans = (SourceSpan("q.txt", 1, 1), SourceSpan("q.txt", 2, 2))
    raw = (RawItem("Stride 2→1 incurs 4× more ops?", "False", spans[0], "dotted"),
           RawItem("Stride 2→1 incurs 4× more ops?", "True", spans[1], "dotted"))
    card = _card("Stride 2→1 incurs 4× more ops?", "The notes disagree:\n- False\n- True",
                 flags=(Flag("conflict", "reworded freely", cause="conflict", sides=spans),))
    graph = KnowledgeGraph(raw_items=raw, cards=(card,))
    checked, _ = check_card(card, RuleContext(Snippets(REGISTRY), graph))
    assert any("False at q.txt:1" in f.reason for f in checked.flags if f.name == "claim-mismatch")
    assert any("True (one side)" in v for v in checked.verified)


# -- prose math ---------------------------------------------------------------------------------

def _formula(latex: str, fid: str = "f") -> Formula:
    return Formula(id=fid, name=f"formula {fid}", latex=latex, concept="c")


def test_evidence_reads_roots_and_powers_from_latex():
    ev = evidence(REGISTRY.formula("scaled-dot-product-attention"))
    assert ev.rooted == {"dk": "d_k"} and "dk" not in ev.bare
    ev = evidence(REGISTRY.formula("attention-complexity"))
    assert ("n", "2") in ev.powers and ("d", "2") in ev.powers


@pytest.mark.parametrize(("text", "fid", "expected"), [
    ("Dividing by dk keeps the softmax sharp.", "scaled-dot-product-attention",
     "Dividing by $\\sqrt{d_k}$ keeps the softmax sharp."),
    ("the scores are scaled by d_k first", "scaled-dot-product-attention",
     "the scores are scaled by $\\sqrt{d_k}$ first"),
    ("the embeddings are multiplied by dmodel", "tied-embeddings",
     "the embeddings are multiplied by $\\sqrt{d_{\\text{model}}}$"),
    ("Self-attention: O(N2·d)", "attention-complexity", "Self-attention: $O(N^2 \\cdot d)$"),
    ("Recurrent: $O(n \\cdot d2)$", "attention-complexity", "Recurrent: $O(n \\cdot d^2)$"),
])
def test_lost_roots_and_exponents_are_restored_from_the_linked_formula(text, fid, expected):
    found = repair_text(text, [REGISTRY.formula(fid)])
    assert found.repaired == expected
    assert [(name, formula) for name, _r, formula in found.flags] == [("repaired", fid)]
    assert REGISTRY.formula(fid).name in found.flags[0][1]  # the reason names the formula


@pytest.mark.parametrize("text", [
    "For large values of dk, dot products grow large.",  # dk itself, not an operation by it
    "Dividing by dk keeps the softmax sharp.",  # no linked formula says what was lost
    "It costs O(n^2 d) per layer.",  # nothing lost
])
def test_correct_or_undecidable_prose_is_left_alone(text):
    formulas = [REGISTRY.formula("scaled-dot-product-attention")] if "large" in text else []
    found = repair_text(text, formulas)
    assert found.repaired == text and not found.flags


def test_ambiguous_or_unsupported_readings_are_flagged_needs_review():
    both = _formula(r"y = \frac{x}{\sqrt{d_k}} + d_k")  # d_k under a root and bare
    found = repair_text("then divide by dk", [both])
    assert found.repaired == "then divide by dk" and found.flags[0][0] == "needs-review"
    found = repair_text("Comparing all pairs costs O(N2).", [])
    assert found.repaired == "Comparing all pairs costs O(N2)." and found.flags[0][0] == "needs-review"
    found = repair_text("O(N3)", [REGISTRY.formula("attention-complexity")])  # no N^3 there
    assert found.flags[0][0] == "needs-review"


def test_repair_card_sets_cause_and_formula():
    card = _card("Why scale?", "Dividing by dk keeps gradients alive.", kind="basic",
                 formulas=("scaled-dot-product-attention",))
    fixed = repair_card(card, REGISTRY)
    flag = next(f for f in fixed.flags if f.cause == "prose-math")
    assert flag.name == "repaired" and flag.formula == "scaled-dot-product-attention"
    assert "$\\sqrt{d_k}$" in fixed.answer and fixed.id == card.id


def test_bundled_export_prose_math(bundled_graph):
    """export 51/87 (dividing by dk), 113 (multiplied by dmodel), 121-122 (O(N2·d), O(N·d2))."""
    from tests.conftest import card_at

    path = "sources/transformers-flashcards-export.txt"
    for line, fid, text in [(51, "scaled-dot-product-attention", "Dividing by $\\sqrt{d_k}$"),
                            (87, "scaled-dot-product-attention", "Dividing by $\\sqrt{d_k}$"),
                            (113, "tied-embeddings", "multiplied by $\\sqrt{d_{\\text{model}}}$"),
                            (121, "attention-complexity", "O(N^2 \\cdot d)"),
                            (122, "attention-complexity", "O(N \\cdot d^2)")]:
        card = card_at(bundled_graph, f"{path}:{line}")
        assert text in card.answer, (line, card.answer)
        assert any(f.cause == "prose-math" and f.formula == fid and f.name == "repaired" for f in card.flags)
