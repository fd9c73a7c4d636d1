"""normalize: unicode math to LaTeX, stray HTML, export junk, clipped letters, the ninth dot.

Inputs are lines of the bundled notes (quoted verbatim) plus the real files end to end.
"""

from __future__ import annotations

import pytest

from deckforge.config import load_config
from deckforge.model import KnowledgeGraph, RawItem, SourceSpan
from deckforge.passes import Context
from deckforge.passes.normalize import clean_text, drop_ninth_dot, is_junk_line, normalize
from deckforge.registry import Registry
from deckforge.text.html_fragments import strip_html
from deckforge.text.unicode_math import unicode_math_to_latex
from tests.conftest import SOURCES, card_at

EXPORT = "sources/transformers-flashcards-export.txt"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wₜ₊₁ = wₜ − η ∇L(wₜ).", r"$w_{t+1} = w_t - \eta \nabla L(w_t)$."),
        ("σ′(x) = σ(x) (1 − σ(x)).", r"$\sigma'(x) = \sigma(x) (1 - \sigma(x))$."),
        ("(f∘g)′(x) = f′(g(x)) · g′(x).", r"$(f \circ g)'(x) = f'(g(x)) \cdot g'(x)$."),
        ("Define output gradients (∇Z₄).", r"Define output gradients ($\nabla Z_4$)."),
        ("Weight and activation matrices (Wᵀ and Aᵀ).", "Weight and activation matrices ($W^T$ and $A^T$)."),
        ("When ∇L ≈ 0 and updates become small.", r"When $\nabla L \approx 0$ and updates become small."),
        ("Map x ∈ [MIN, MAX] → [−1, 1] by x′ = 2·(x−MIN)/(MAX−MIN) − 1.",
         r"Map $x \in [MIN, MAX] \rightarrow [-1, 1]$ by $x' = 2 \cdot(x-MIN)/(MAX-MIN) - 1$."),
        ("y_out = y_in + w·x_in.", r"$y_{out} = y_{in} + w \cdot x_{in}$."),
        ("False. (Lower BW ⇒ smaller \\alpha_\\text{ridge} ⇒ ridge moves left.)",
         "False. (Lower BW ⇒ smaller $\\alpha_\\text{ridge}$ ⇒ ridge moves left.)"),
        ("Attention matrix is n \\times n, not fixed", "Attention matrix is $n \\times n$, not fixed"),
        # a capital Σ with an index is the sum, and it takes the operand after it into the math
        ("p_i = exp(z_i/T) / Σ_j exp(z_j/T)", r"$p_i = exp(z_i/T) / \sum_j exp(z_j/T)$"),
        ("Σ = covariance matrix", r"$\Sigma$ = covariance matrix"),
    ],
)
def test_unicode_and_bare_tex_become_latex(text, expected):
    assert unicode_math_to_latex(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Train dense → prune small-magnitude weights → retrain survivors; iterate with tuned thresholds.",
        "Typically 1.5-2.5× faster depending on model and draft/target ratio.",
        "Unicode codespace is huge $\\Rightarrow$ very large vocab",  # already LaTeX
        "Attention(Q,K,V)=softmax(dkQKT)V",  # PDF-mangled: the repair pass owns it
        "N≈2⋅d⋅nlayer(2dattn+dff)≈12⋅nlayer⋅d2",
        "Parameters: num_parameters = (D * D * num_layers) + D",
        "`x_t` in code stays code",
    ],
)
def test_prose_latex_and_mangled_math_are_left_alone(text):
    assert unicode_math_to_latex(text) == text


def test_conversion_is_idempotent():
    for line in (SOURCES / "cs242-systems-flashcards.txt").read_text("utf-8").splitlines():
        once = clean_text(line)
        assert clean_text(once) == once, line


def test_stray_html_from_the_export_becomes_text():
    line = (SOURCES / "transformers-flashcards-export.txt").read_text("utf-8").splitlines()[167]
    out = strip_html(line)
    assert "<" not in out.replace("\\", "")
    assert out.splitlines()[1:] == [
        "3. t_i^3 = t_i^2 + x_i (FirstResidualConnection)",
        r"4. t_i^4 = \text{LayerNorm}(t_i^3)",
        r"5. t_i^5 = \text{FFN}(t_i^4)$$",
    ]
    assert strip_html("a<b and c>d &nbsp;&lt;script&gt;") == "a<b and c>d  <script>"  # data, decoded


@pytest.mark.parametrize("line", ["1/47", "Looks like no tags are added yet.", "|---|", "No analytics yet",
                                  "Name | Mastery | Learn | Test | Matching | Spaced | Call with Kai |",
                                  "Send a link to your students to track their progress",
                                  "FLIP TO QUESTION; THIS IS ANSWER", "0 / 1 pts"])
def test_export_junk_lines(line):
    assert is_junk_line(line)


def test_ninth_dot_is_dropped():
    assert drop_ninth_dot("Define memory wall.") == "Define memory wall"
    assert drop_ninth_dot("What are the centroids c_1,.... ,c_K?") == "What are the centroids c_1,.... ,c_K?"
    assert drop_ninth_dot("Wait...") == "Wait..."


def _item(question: str, answer: str, reader: str, line: int = 1) -> RawItem:
    return RawItem(question, answer, SourceSpan("n.txt", line, line + answer.count("\n") + 1), reader)


def test_clipped_first_letters_restored_only_for_the_export_reader():
    ctx = Context(config=load_config(), registry=Registry())
    items = (
        _item("Q?", "he output embedding is passed through U.\nThe rest.", "alternating", 10),
        _item("Q2?", "The model. Every token counts.", "alternating", 20),
        _item("Q3?", "he output stays", "obsidian", 30),
    )
    graph = normalize(KnowledgeGraph(raw_items=items), ctx)
    assert graph.raw_items[0].answer.startswith("The output embedding")
    assert graph.raw_items[2].answer == "he output stays"
    diag = next(d for d in graph.diagnostics if d.code == "clipped-letter-restored")
    assert (diag.path, diag.line) == ("n.txt", 11)


def test_the_four_clipped_lines_of_the_real_export(bundled_graph):
    """Each case checked by hand against the file: the lost letters are A, E, T, I."""
    expected = {138: "Altering Heads:", 141: "Every token is processed", 143: "The output embedding",
                147: "Instead of viewing blocks"}
    for line, start in expected.items():
        card = card_at(bundled_graph, f"{EXPORT}:{line}")
        assert any(ln.startswith(start) for ln in card.answer.splitlines()), (line, card.answer[:80])
    restored = sorted(d.line for d in bundled_graph.diagnostics if d.code == "clipped-letter-restored")
    assert restored == sorted(expected)
