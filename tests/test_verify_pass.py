"""The verify pass (passes/verify.py): formulas written in answers against the linked registry
formulas, on real registry formulas and the real engine (latex2sympy2-extended + SymPy)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from deckforge.formula_verify import MAX_SIDE_CHARS, Verifier, verify_written
from deckforge.model import Card, SourceSpan
from deckforge.passes.verify import verify_card, written_formulas
from deckforge.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = load_registry(ROOT / "snippets")


def _card(answer: str, *formulas: str, flags=()) -> Card:
    return Card(id="c1", kind="basic", question="q", answer=answer,
                sources=(SourceSpan("notes.txt", 3, 3),), formulas=formulas, flags=flags)


def _run(card: Card) -> tuple[Card, Counter]:
    counts = Counter()
    return verify_card(card, Verifier(), REGISTRY, counts), counts


def test_written_formulas_are_math_runs_not_prose():
    found = written_formulas("Compute Attention(Q,K,V) = $softmax(QK^T / \\sqrt{d_k})V$, where Q,K,V "
                             "are learned projections.")
    assert [w.text.split("=")[0].strip() for w in found] == ["Attention(Q,K,V)"]
    assert "where" not in found[0].text
    assert written_formulas("True — Ridge = compute roof intersects bandwidth roof.") == []
    assert written_formulas("Parallel attention heads: h=8") == []  # a value, not a formula
    assert [w.math_only for w in written_formulas("so $C \\approx 6ND$ holds")] == [True]


def test_wrong_formula_is_a_claim_mismatch_with_the_registry_formula_on_the_back():
    card, counts = _run(_card("$w_{t+1} = w_t + \\eta \\nabla L(w_t)$", "gradient-descent"))
    flag = next(f for f in card.flags if f.name == "claim-mismatch")
    assert (flag.cause, flag.formula) == ("formula-mismatch", "gradient-descent")
    assert REGISTRY.formula("gradient-descent").latex in card.extra
    assert "w_t + \\eta" in card.extra  # what the notes wrote, beside it
    assert not card.has_flag("verified")
    assert counts["mismatched"] == 1 and counts["found"] == 1


def test_right_formula_is_verified_and_the_answer_kept():
    answer = "$\\sigma'(x) = \\sigma(x) (1 - \\sigma(x))$."
    card, counts = _run(_card(answer, "sigmoid-derivative"))
    flag = next(f for f in card.flags if f.name == "verified")
    assert (flag.cause, flag.formula) == ("formula-verified", "sigmoid-derivative")
    assert card.answer == answer and card.extra == ""
    assert counts["verified"] == 1


def test_repaired_answers_are_not_verified_against_themselves():
    from deckforge.model import Flag

    latex = REGISTRY.formula("gradient-descent").latex
    card, counts = _run(_card(f"$${latex}$$", "gradient-descent",
                              flags=(Flag("repaired", "from the registry"),)))
    assert not card.has_flag("verified") and counts["found"] == 0


def test_unparseable_and_other_quantities_are_counted_never_flagged():
    card, counts = _run(_card("$L = \\frac{a}{\\,}$ and $Z = x + y$", "gradient-descent"))
    assert not card.flags
    assert counts["found"] == 2 and counts["verified"] == counts["mismatched"] == 0


def test_no_hang_sum_with_symbolic_bound_and_parser_bounds():
    # `amm-lookup` sums to a symbolic S: SymPy's evalf ran Euler-Maclaurin forever before.
    formula = REGISTRY.formula("amm-lookup")
    start = time.perf_counter()
    assert verify_written(formula.latex, formula)[0].status == "verified"
    nested = "y = " + "(" * 60 + "x" + ")" * 60  # the ANTLR parser backtracks on deep nesting
    tower = "a^{T} b_j = 10^{10^{10}}"  # an exact integer power tower
    long = "y = " + "+".join(f"x_{{{i}}}" for i in range(MAX_SIDE_CHARS))
    whys = [verify_written(w, formula)[0].why for w in (nested, tower, long)]
    assert whys[0] == "too-large" and whys[2] == "too-large" and whys[1] != ""
    assert time.perf_counter() - start < 30  # minutes without the bounds


def test_deterministic():
    answers = ["$w_{t+1} = w_t + \\eta \\nabla L(w_t)$", "$W' = W_0 + (\\alpha/r)\\cdot B \\cdot A$"]
    cards = [_card(a, "gradient-descent", "lora-merge") for a in answers]
    assert [_run(c)[0] for c in cards] == [_run(c)[0] for c in cards]


def test_sympy_is_imported_only_when_a_card_needs_it():
    code = ("import sys, deckforge.cli, deckforge.passes.verify, deckforge.formula_verify; "
            "print('sympy' in sys.modules, 'latex2sympy2_extended' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT / "src")}).stdout
    assert out.split() == ["False", "False"]


def test_deadline_net_fires_in_the_main_thread_and_stands_aside_elsewhere():
    import threading

    import pytest

    from deckforge.formula_verify import _deadline, _Timeout

    with pytest.raises(_Timeout), _deadline(0.05):
        while True:
            pass
    seen = []

    def worker():
        with _deadline(0.05):  # no signal outside the main thread: the bounds alone hold
            seen.append(time.perf_counter())

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert len(seen) == 1


def test_a_formula_written_without_an_essential_part_is_a_claim_mismatch():
    # Random points cannot see an index set: the registry declares it on the formula instead.
    wrong = ("$\\ell_{i,j} = -\\log \\frac{\\exp(s_{ij}/\\tau)}{\\sum_{k=1}^{2N} \\exp(s_{ik}/\\tau)}$")
    card, counts = _run(_card(wrong, "simclr-nt-xent"))
    flag = next(f for f in card.flags if f.name == "claim-mismatch")
    assert (flag.cause, flag.formula) == ("formula-missing-part", "simclr-nt-xent")
    assert "k ≠ i" in flag.reason and "k ≠ i" in card.extra
    assert REGISTRY.formula("simclr-nt-xent").latex in card.extra
    assert counts["missing part"] == 1


def test_the_part_shown_in_math_or_in_words_is_enough():
    for answer in ("$\\ell = -\\log \\frac{e^{s_{ij}/\\tau}}{\\sum_{k \\neq i} e^{s_{ik}/\\tau}}$",
                   "$\\ell = -\\log \\frac{e^{s_{ij}/\\tau}}{\\sum_k e^{s_{ik}/\\tau}}$, excluding k = i"):
        card, _ = _run(_card(answer, "simclr-nt-xent"))
        assert not card.has_flag("claim-mismatch"), answer
    symmetric = ("Symmetric: $L = -\\frac{1}{N}\\sum_i \\log \\frac{e^{s_{ii}/\\tau}}{\\sum_j e^{s_{ij}/\\tau}}$ "
                 "in each direction, averaged")
    card, _ = _run(_card(symmetric, "clip-loss"))
    assert not card.has_flag("claim-mismatch")
    one_way = "$L = -\\frac{1}{N}\\sum_i \\log \\frac{e^{s_{ii}/\\tau}}{\\sum_j e^{s_{ij}/\\tau}}$"
    card, _ = _run(_card(one_way, "clip-loss"))
    assert next(f for f in card.flags if f.name == "claim-mismatch").cause == "formula-missing-part"


def test_an_essential_part_is_not_asked_of_what_is_not_the_formula_written_out():
    card, counts = _run(_card("$\\tau = 0.5$ in the paper; lower sharpens.", "simclr-nt-xent"))
    assert not card.has_flag("claim-mismatch") and counts["missing part"] == 0
