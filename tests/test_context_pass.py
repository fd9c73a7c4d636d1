"""The context pass (issue 11 pt 1 leftovers): cards whose question leans on setup the card
does not give are flagged needs-review with a cause, or get the item above as context; their
look-alikes that are fine stay untouched. One group of tests per rule, then the labelled notes
(tests/data/notes/context-systems-flashcards.*) and the bundled notes against the card audit."""

from __future__ import annotations

import json

import pytest

from deckforge.model import Card, KnowledgeGraph, SourceSpan
from deckforge.passes import Context
from deckforge.passes import context as cx
from deckforge.registry import load_registry
from tests.conftest import ROOT, card_at
from tests.quiz_labels import pass_rate

CS242 = "sources/cs242-systems-flashcards.txt"


@pytest.fixture(scope="module")
def registry():
    return load_registry(ROOT / "snippets")


@pytest.fixture(scope="module")
def env(registry):
    return cx.make_env(registry)


def _card(question, answer="True.", *, context="", formulas=(), line=1, kind="basic", deck=("d",)):
    return Card(id=f"c{line}", kind=kind, question=question, answer=answer,
                sources=(SourceSpan("n.txt", line, line),), deck=deck, formulas=tuple(formulas),
                context=context)


def _rules(card, env) -> set[str]:
    return {name for name, _f in cx.findings(card, env)}


# ---------------------------------------------------------------- deictic pointers
@pytest.mark.parametrize("question", [
    "What does z represent in this context?",
    "Which of the options shown above is memory bound?",
    "How does this example avoid the extra pass?",
    "Is the answer to the previous question still true for GQA?",
])
def test_a_pointer_to_neighbouring_text_without_context_is_flagged(env, question):
    assert "deictic" in _rules(_card(question), env)


def test_a_pointer_is_fine_once_the_card_carries_context(env):
    card = _card("What does z represent in this context?", context="Asymmetric quantization.")
    assert "deictic" not in _rules(card, env)


def test_words_that_only_look_like_pointers_are_fine(env):
    for question in ("What does the context window of a model limit?",
                     "Why is the KV cache above 1 GB for long prompts?"):
        assert "deictic" not in _rules(_card(question, "x"), env)


# ---------------------------------------------------------------- slides / lecture pointers
def test_a_slide_pointer_in_a_question_that_names_no_topic_is_flagged(env):
    for question in ("What are the two partitions mentioned in the slides?",
                     "in lecture example: what are the key points?",
                     "What are the key points of the lecture example?"):
        assert "source-reference" in _rules(_card(question, "x"), env), question


def test_a_slide_pointer_in_a_question_that_names_its_topic_is_fine(env):
    for question in ("Explain value scaling on slide 47.",
                     "What does the roofline example in lecture 5 show?",
                     "Why does LoRA add no latency, as shown in the slides?"):
        assert "source-reference" not in _rules(_card(question, "x"), env), question


def test_a_heading_path_does_not_say_which_example(env):
    card = _card("in lecture example: what are the key points?", "x",
                 context="Lecture 2 › Compute accounting › FLOPs in backward pass")
    assert "source-reference" in _rules(card, env)


# ---------------------------------------------------------------- scenario entities
def test_the_company_of_a_lost_stem_is_flagged(env):
    card = _card("We can use the original training data of the company to recover accuracy")
    assert "scenario" in _rules(card, env)
    assert "scenario" in _rules(_card("We can distill the startup's model into a student"), env)


def test_a_company_introduced_in_the_card_or_its_context_is_fine(env):
    assert "scenario" not in _rules(_card(
        "A company trains a model on private data. The company can prune it."), env)
    assert "scenario" not in _rules(_card(
        "The company can prune the model.", context="A company trains a 7B model."), env)


def test_a_numeric_claim_about_the_model_needs_a_setup(env):
    assert "instance" in _rules(_card("The model needs 2 GiB of KV cache for the full context."), env)
    # generic phrases, a number only in a label, or a stem as context: fine
    for card in (_card("In DDP, GPUs use copies of the same model on different batches"),
                 _card("Quiz B Q2b — The saving decreases as the kernel size increases."),
                 _card("The model needs 2 GiB of KV cache.", context="A 7B model with 32 layers."),
                 _card("A 7B model in fp16: how much memory do the weights of the model take?")):
        assert "instance" not in _rules(card, env), card.question


# ---------------------------------------------------------------- letters
@pytest.mark.parametrize("question, answer, letter", [
    ("Preceding layer has d filters?", "True — it must match the input depth.", "d"),
    ("Doubling p halves the number of active parameters", "False.", "p"),  # a verb, no noun
    ("We can use D as a teacher to distill a smaller student network.", "True — use outputs.", "D"),
    ("We can use G as a teacher for a smaller student network.", "True.", "G"),
])
def test_a_letter_nobody_defines_is_flagged(env, question, answer, letter):
    undefined, _asked = cx.undefined_letters(_card(question, answer), env)
    assert undefined == [letter]


@pytest.mark.parametrize("question, answer", [
    ("DSC parameter count vs standard (for N filters, M channels)", "x"),  # introducer word
    ("A conv layer with N filters of size K×K×C has N·K²·C weights.", "True."),  # shape
    ("For a 3×3×d filter, the input must have depth d.", "True."),
    ("What happens when r=d?", "LoRA becomes full fine-tuning."),  # relation
    ("Why is a temperature T > 1 used in knowledge distillation?", "softens"),  # apposition
    ("State the shapes for a single attention head c given model dimension d.", "x"),
    ("Outliers appear at positions x_1, y_1, and y_5.", "x"),  # a list after a noun
    ("Why divide the attention scores by sqrt(d_k)?", "so the softmax of d_k-sized dots…"),
    ("Quiz B Q1a — Stride 2→1 incurs 4× more ops?", "True."),  # a quiz named B
    ("Standard conv parameter count (N filters, M channels, K x K)", "N·M·K²"),  # a legend
    ("Why not compute Y as $[X1 X2] * [A1 A2]^T$?", "GeLU is non-linear"),  # Y: its formula
    ("What is n in the O(n^2 d) cost of self-attention?", "The sequence length."),
    ("Is 512 B of KV cache per token enough?", "x"),  # a unit, not a letter
    ("Why does the padding p keep the output size?", "x"),  # a noun after a determiner
])
def test_letters_the_card_defines_are_fine(env, question, answer):
    assert cx.undefined_letters(_card(question, answer), env) == ([], [])


def test_letters_declared_by_a_linked_formula_the_card_names_are_fine(env):
    card = _card("What are Q, K, and V matrices in attention?", "x",
                 formulas=("scaled-dot-product-attention",))
    assert cx.undefined_letters(card, env) == ([], [])


def test_the_standard_letters_of_a_linked_formula_are_fine(env):
    card = _card("Why is V multiplied after the softmax?", "to mix the values",
                 formulas=("scaled-dot-product-attention",))
    assert cx.undefined_letters(card, env) == ([], [])


def test_an_asked_letter_needs_a_topic(env):
    assert cx.undefined_letters(_card("What are the centroids c_1, …, c_K?", "Cluster centres "
                                      "c_i of the rows of A."), env)[1] == ["c"]
    assert cx.undefined_letters(_card("What is K in Approximate MMM?", "clusters"), env) == ([], [])
    # "in the slides" is no topic
    assert cx.undefined_letters(_card("What are Ai and Bi partitions mentioned in the slides?",
                                      "A is split column-wise"), env)[1] == ["A", "B"]


# ---------------------------------------------------------------- value mappings
def test_a_value_mapping_without_its_range_is_flagged(env):
    card = _card("Is w = [707, 359, 9] → [0.414, −0.282, −0.982] correct?", kind="true-false")
    assert "value-mapping" in _rules(card, env)


def test_a_value_mapping_with_its_range_is_fine(env):
    for card in (_card("With MIN = 0 and MAX = 10, x = [5, 10] → [0, 1]?"),
                 _card("x = [5, 10] → [0, 1]?", context="Values in the range [0, 10] are scaled.")):
        assert "value-mapping" not in _rules(card, env)


# ---------------------------------------------------------------- options as the question
def test_options_without_a_question_and_a_statement_answer_are_flagged(env):
    card = _card("A) Results leave from the right side.\nB)\nResults leave from the top side.",
                 "From the TOP of array")
    found = dict(cx.findings(card, env))
    assert found["options"].cause == cx.OPTIONS_AS_QUESTION


def test_options_under_a_question_or_answered_by_a_letter_are_fine(env):
    for card in (_card("Which way do partial sums move?\nA) up\nB) right", "B) right"),
                 _card("A) up\nB) right", "B"),
                 _card("A) up\nB) right", "True")):
        assert "options" not in _rules(card, env)


# ---------------------------------------------------------------- asked aspects
def test_an_asked_aspect_missing_from_the_answer_is_flagged(env):
    card = _card("Stochastic rounding (sr) — rule & expectation",
                 "Round to adjacent integers with probabilities ∝ distance")
    found = dict(cx.findings(card, env))
    assert found["parts"].cause == cx.PARTIAL_ANSWER and "expectation" in found["parts"].reason


def test_aspects_the_answer_covers_or_that_have_no_evidence_are_fine(env):
    for card in (_card("Nearest vs stochastic rounding — bias & expectation",
                       "Nearest is biased; stochastic is unbiased: E[sr(x)] = x."),
                 _card("KD limitations & TA distillation", "Over-large teacher hurts; use TAs."),
                 _card("Fast sr implementation — rule & trick", "Add noise, then round.")):
        assert "parts" not in _rules(card, env)
    assert "parts" in _rules(_card("Speculative decoding — speed-up & complexity",
                                   "About 2–3× fewer target passes."), env)  # hyphenated parts


# ---------------------------------------------------------------- the pass
def test_the_item_above_that_names_the_topic_is_carried_as_context(registry):
    above = _card("What are A and B in Approximate MMM?", "A holds the input rows; B the "
                  "weights.", formulas=("amm-lookup",), line=10)
    card = _card("What does a dot b represent in this context?", "A row times a column.",
                 formulas=("amm-lookup",), line=11)
    far = _card("What does a dot b mean in this context?", "x", formulas=("amm-lookup",), line=40)
    other = _card("What does the score represent in this context?", "x", line=12)
    graph = KnowledgeGraph(cards=(above, card, other, far))
    out = {c.sources[0].line: c for c in cx.context_pass(graph, Context(None, registry)).cards}
    assert out[11].context.startswith("What are A and B in Approximate MMM? — A holds")
    assert not out[11].flags and out[11].id == card.id
    assert out[12].has_cause(cx.MISSING_CONTEXT) and out[12].unfinished  # no shared topic
    assert out[40].has_cause(cx.MISSING_CONTEXT) and not out[40].context  # too far above
    assert not out[10].flags


@pytest.mark.parametrize("labels", ["context-systems-flashcards.labels.json",
                                    "context-holdout-flashcards.labels.json"])
def test_labelled_context_notes_pass_rate(labels):
    """context-systems: written before the pass, 46/58 checks (79.3%) before it; the 13 cards
    missing their context went unflagged. context-holdout: written after the pass and labelled
    before its first run, which scored 36/38 (94.7%, no good card flagged; a verb read as the
    noun naming a letter, a hyphenated aspect), both fixed as mechanisms."""
    rate, results = pass_rate(labels)
    assert rate == 1.0, [d for d, ok in results if not ok]


def _audit() -> dict:
    data = json.loads((ROOT / "tests" / "data" / "card_audit.json").read_text("utf-8"))
    return {(e["path"], e["line"]): e for e in data["cards"]}


def test_on_the_bundled_notes_no_good_card_is_flagged(bundled_graph):
    audit = _audit()
    flagged = [c for c in bundled_graph.cards if any(f.cause in cx.CAUSES for f in c.flags)]
    good = [str(c.sources[0]) for c in flagged
            if audit[(c.sources[0].path, c.sources[0].line)]["class"] == "good"]
    assert good == []
    assert len(flagged) == 11  # and cs242:130-131 get the item above as context


@pytest.mark.parametrize("ref, cause", [
    (f"{CS242}:20", cx.PARTIAL_ANSWER), (f"{CS242}:62", cx.MISSING_CONTEXT),
    (f"{CS242}:65", cx.MISSING_CONTEXT), (f"{CS242}:74", cx.MISSING_CONTEXT),
    (f"{CS242}:82", cx.OPTIONS_AS_QUESTION), (f"{CS242}:137", cx.MISSING_CONTEXT),
    (f"{CS242}:191", cx.MISSING_CONTEXT), (f"{CS242}:192", cx.MISSING_CONTEXT),
    ("sources/cs336-lecture-notes.md:95", cx.MISSING_CONTEXT),
])
def test_bundled_cards_without_their_setup_go_to_review(bundled_graph, ref, cause):
    card = card_at(bundled_graph, ref)
    assert card.has_cause(cause) and card.unfinished
    assert "flag::needs-review" in card.tags  # flagged before link, so tagged


def test_bundled_approximate_mmm_questions_get_the_item_above(bundled_graph):
    for ref in (f"{CS242}:130", f"{CS242}:131"):
        card = card_at(bundled_graph, ref)
        assert card.context.startswith("What are A and B in Approximate MMM?")
        assert not card.unfinished


@pytest.mark.parametrize("question", [
    "a - " + "b c " * 2000 + "&",  # a dash, then a long list-like tail
    "$$ a = " + "b " * 5000 + "$$",  # thousands of letters
    "What is " + "a, " * 3000,
])
def test_the_rules_stay_fast_on_pathological_questions(env, question):
    import time

    start = time.perf_counter()
    cx.findings(_card(question, question[:2000]), env)
    assert time.perf_counter() - start < 2.0


# ---------------------------------------------------------------- a count answered without one
@pytest.mark.parametrize(("question", "answer", "fires"), [
    ("How many FLOPs does a LoRA adapter add?", "Layer normalization", True),
    ("Number of parameters of a depthwise separable convolution", "Fewer than a standard one", True),
    ("How many FLOPs does a LoRA adapter add?", "About 2·r·(d + k) per token", False),
    ("How many levels does a 4-bit signed quantizer use?", "fifteen, with a symmetric scale", False),
    ("How much memory does the KV cache take?", "$2 L H D S B$ bytes", False),
    ("What is a FLOP?", "A basic operation like an addition", False),  # asks no count
])
def test_a_count_question_answered_without_a_number_is_flagged(env, question, answer, fires):
    assert ("count" in _rules(_card(question, answer), env)) is fires
    assert "count" not in _rules(_card(question, "False", kind="true-false"), env)
