"""The repair pass on the real notes: every lost or mangled formula answer is filled from the
registry, and no real text answer is touched. Cards are found by their source line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deckforge.config import load_config
from deckforge.formula_match import FormulaMatcher, compact, phrase_key
from deckforge.model import Card, SourceSpan
from deckforge.passes import Context, passes
from deckforge.passes.repair import answer_is_missing, garbled_lines, generic_garble, repair_card
from deckforge.pipeline import build_graph, read_sources
from deckforge.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]
CS242 = "sources/cs242-systems-flashcards.txt"
EXPORT = "sources/transformers-flashcards-export.txt"

# Empty, `.`-only or "see image" answers of questions that name a registry formula: (line,
# formula, what the question asks: its answer is that kind; see tests/test_question_repair.py).
MISSING = [
    (CS242, 6, "arithmetic-intensity", "definition"),  # "Define arithmetic intensity (roofline)."
    (CS242, 39, "kd-loss", "formula"),  # KD dual-loss formula (concept)
    (CS242, 45, "dsc-params", "count"),  # DSC parameter count vs standard (N filters, M channels)
    (CS242, 51, "lora-update", "definition"),  # LoRA — what is it?
    (CS242, 121, "value-scaling", "formula"),  # Scaling formula
    (CS242, 138, "lora-update", "definition"),  # Low-Rank Adaptation (LoRA)
    (CS242, 139, "lora-update", "variables"),  # Define the key variables in LoRA.
    (CS242, 140, "lora-update", "formula"),  # What is the full LoRA update rule?
    (CS242, 141, "lora-params", "formula"),  # Why is LoRA parameter-efficient?
    (CS242, 150, "scaled-dot-product-attention", "formula"),  # Define self-attention mathematically.
    (CS242, 173, "simclr-nt-xent", "formula"),  # SimCLR objective formula.
    (CS242, 182, "clip-loss", "formula"),  # CLIP loss function.
]
# Questions that bring their own letters: the formula is written in them, so its registry
# spelling is not in the answer.
OWN_LETTERS = {(CS242, 45)}

# Math mangled by PDF extraction: (first line of the item, formula, a mangled spelling that must
# be gone, prose that must survive).
GARBLED = [
    (EXPORT, 26, "attention-weights", "i=1∑mαi", "alignment score function"),
    (EXPORT, 30, "alignment-scores", "va⊤tanh", "Content-based (Graves 2014)"),
    (EXPORT, 37, "bilm-loss", "logp(xt", "forward and backward language model"),
    (EXPORT, 49, "scaled-dot-product-attention", "softmax(dkQKT)V", "The scale factor dk"),
    (EXPORT, 61, "kaplan-power-laws", "(NNc)αN", "power laws"),
    (EXPORT, 64, "transformer-param-count", "12⋅nlayer⋅d2", "This identity helps"),
    (EXPORT, 84, "scaled-dot-product-attention", "softmax(dkQKT)V", "Scale Factor Function"),
    (EXPORT, 90, "multi-head-attention", "headi=Attention(QWiQ", None),
    (EXPORT, 114, "sinusoidal-positional-encoding", "sin(100002i/dmodelpos)", "Rationale"),
    (EXPORT, 130, "transformer-lr-schedule", "min(step_num−0.5", "The schedule increases"),
    (EXPORT, 160, "layer-norm", "μ=d1∑i=1dxi", None),
    # sub/superscripts flattened (no LaTeX markup left on the line)
    (EXPORT, 107, "position-wise-ffn", "FFN(x)=max(0,xW1+b1)W2+b2", "It consists of two linear"),
    (EXPORT, 142, "lm-head", "p(yt+1∣y1:t)=softmax(htU)", "This produces a valid"),
    (EXPORT, 166, "pre-norm-block", "hi=ti5+ti3", None),
    (EXPORT, 172, "qkv-projections", "Q=XWQ[Shape:N×dk]", "Embeddings for N input tokens"),
    (EXPORT, 177, "attention-scores", "Scores=QKT", "This operation evaluates"),
]


@pytest.fixture(scope="module")
def registry():
    return load_registry(ROOT / "snippets")


@pytest.fixture(scope="module")
def stages(registry):
    """The real notes after `cards` and after `repair` (before dedupe merges anything)."""
    config = load_config(root=ROOT)
    ctx = Context(config=config, registry=registry)
    graph = read_sources(config).replace(formulas=registry.formulas, concepts=registry.concepts)
    out = {}
    for name, fn in passes():
        graph = fn(graph, ctx)
        out[name] = graph
        if name == "repair":
            return out
    raise AssertionError("no repair pass")


@pytest.fixture(scope="module")
def final(registry):
    return build_graph(load_config(root=ROOT), registry)


def at(cards, path: str, line: int) -> Card:
    found = [c for c in cards if any(s.path == path and s.line == line for s in c.sources)]
    assert found, f"no card from {path}:{line}"
    return found[0]


def _display(registry, formula_id: str) -> str:
    return f"$${registry.formula(formula_id).latex}$$"


@pytest.mark.parametrize(("path", "line", "formula", "kind"), MISSING,
                         ids=[f"L{n}-{f}" for _, n, f, _ in MISSING])
def test_missing_formula_answer_is_filled_from_the_registry(stages, registry, path, line, formula,
                                                            kind):
    before = at(stages["cards"].cards, path, line)
    assert answer_is_missing(before.answer), before.answer
    card = at(stages["repair"].cards, path, line)
    if (path, line) not in OWN_LETTERS:
        assert _display(registry, formula) in card.answer
    if kind in ("formula", "count") and (path, line) not in OWN_LETTERS:
        assert card.answer == _display(registry, formula)
    assert card.formulas[0] == formula
    flags = [f for f in card.flags if f.name == "repaired"]
    assert len(flags) == 1 and f"`{formula}`" in flags[0].reason
    assert (flags[0].cause, flags[0].formula) == (f"filled-{kind}", formula)
    # the cards pass's "no answer" review flag is answered by the repair
    assert not any(f.name == "needs-review" and "no answer" in f.reason for f in card.flags)


@pytest.mark.parametrize(("path", "line", "formula", "mangled", "prose"), GARBLED,
                         ids=[f"L{g[1]}-{g[2]}" for g in GARBLED])
def test_garbled_formula_is_replaced_and_prose_survives(stages, registry, path, line, formula,
                                                        mangled, prose):
    before = at(stages["cards"].cards, path, line)
    assert mangled in before.answer  # the pinned line really is mangled in the notes
    card = at(stages["repair"].cards, path, line)
    assert _display(registry, formula) in card.answer
    assert mangled not in card.answer
    if prose:
        assert prose in card.answer
    assert card.has_flag("repaired") and formula in card.formulas
    assert any(f"`{formula}`" in f.reason for f in card.flags if f.name == "repaired")


def test_exactly_the_lost_and_mangled_answers_change(stages):
    """Precision: every answer the repair changed is one of the pinned cards above."""
    before = {c.sources[0]: c for c in stages["compute"].cards}  # the pass just before repair
    changed = {span for span, card in ((c.sources[0], c) for c in stages["repair"].cards)
               if card.answer != before[span].answer}
    expected = {(p, n) for p, n, *_ in MISSING} | {(p, n) for p, n, *_ in GARBLED}
    assert {(s.path, s.line) for s in changed} == expected


def test_merged_twins_keep_a_real_answer_or_the_repair(final):
    """After dedupe, no card of a pinned line is left with a missing or mangled answer."""
    for path, line, formula, _kind in MISSING:
        card = at(final.cards, path, line)
        assert not answer_is_missing(card.answer) and formula in card.formulas
    for path, line, formula, mangled, _ in GARBLED:
        card = at(final.cards, path, line)
        assert mangled not in card.answer and formula in card.formulas


# Units ---------------------------------------------------------------------------------------


def _card(question: str, answer: str, kind: str = "basic") -> Card:
    return Card(id="c0", kind=kind, question=question, answer=answer,
                sources=(SourceSpan("notes.txt", 7, 7),))


def test_no_registry_match_means_needs_review_never_a_guess(registry):
    matcher = FormulaMatcher.from_registry(registry)
    card = repair_card(_card("Frobnication loss formula", "."), matcher, registry)
    assert card.answer == "." and not card.has_flag("repaired")
    assert any(f.name == "needs-review" and "no registry formula" in f.reason for f in card.flags)
    garbled = "Z(θ)=−t=1∑T[logq(zt∣z1:t−1)]"
    card = repair_card(_card("Describe the frobnication objective", garbled), matcher, registry)
    assert card.answer == garbled and card.has_flag("needs-review") and not card.has_flag("repaired")


def test_generic_garble_signs_never_fire_on_prose():
    assert generic_garble("Attn(q,(k1:m,v1:m))=i=1∑mαi(q,k1:m)vi∈Rv")
    for prose in ("The sum ∑ of all terms", "x ∈ [MIN, MAX]", "logarithmic (log) scale", "(NNc) αN"):
        assert not generic_garble(prose)


def test_text_answers_without_math_are_never_replaced(stages, registry):
    matcher = FormulaMatcher.from_registry(registry)
    for card in stages["cards"].cards:
        if card.answer.strip() and not answer_is_missing(card.answer):
            if not garbled_lines(card.answer, matcher):
                assert repair_card(card, matcher, registry).answer == card.answer


@pytest.mark.parametrize("answer", ["", ".", "........", " . ", "see image", "See image.", "(see figure)"])
def test_missing_answers(answer):
    assert answer_is_missing(answer)


@pytest.mark.parametrize("answer", ["True", "0", "See the roofline: α·MB", "imagery"])
def test_present_answers(answer):
    assert not answer_is_missing(answer)


def test_every_fingerprint_matches_its_example_and_names_a_registry_formula(registry):
    ids = {f.id for f in registry.formulas}
    for fp in registry.fingerprints:
        assert fp.formula in ids, fp
        assert re.search(fp.pattern, compact(fp.example)), fp


def test_acronym_aliases_need_capitals(registry):
    matcher = FormulaMatcher.from_registry(registry)
    assert "clip-loss" in matcher.formulas_for("CLIP loss function")
    assert not matcher.formulas_for("Clip the input x to the range")


def test_alias_regex_finds_every_alias(registry):
    matcher = FormulaMatcher.from_registry(registry)
    for phrase, (formula, _via) in matcher.phrase_to.items():
        if re.fullmatch(r"[a-z]{2,5}", phrase):
            continue  # acronyms need their capitals (tested above)
        assert formula in [h.formula for h in matcher.alias_hits(f"about {phrase} here")], phrase
    assert phrase_key("LoRA adapters") == "lora adapter"


def test_a_concept_without_formulas_shields_the_shorter_alias_inside_it(final):
    """'Outlier Study: CLIP Activations' is about activation outliers, not the CLIP loss; and a
    question naming such a concept is not linked through its answer's words ("attention")."""
    outliers = at(final.cards, "sources/efficient-dl-midterm-recap.txt", 395)
    massive = at(final.cards, "sources/efficient-dl-midterm-recap.txt", 403)
    for card in (outliers, massive):
        assert card.formulas == ()
        assert "activation-outliers" in card.concepts
