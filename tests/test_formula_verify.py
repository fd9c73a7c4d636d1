"""The numeric formula comparison engine (deckforge.formula_verify): an answer's equation is
compared with its registry formula through the declared symbols. Not yet wired into a pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from deckforge.formula_verify import verify_equation
from deckforge.registry import load_registry

REGISTRY = load_registry(Path(__file__).resolve().parents[1] / "snippets")

CASES = [
    ("Attention(Q,K,V) = softmax(QK^T/d_k)V", "scaled-dot-product-attention", "mismatch"),
    (r"Attention(Q,K,V) = softmax(QK^T/\sqrt{d_k})V", "scaled-dot-product-attention", "verified"),
    (r"w_{t+1} = w_t + \eta\nabla L(w_t)", "gradient-descent", "mismatch"),
    ("C ≈ 2ND", "training-flops", "mismatch"),
    ("C ≈ 6ND", "training-flops", "verified"),
    (r"\sigma'(x) = \sigma(x)(1 + \sigma(x))", "sigmoid-derivative", "mismatch"),
    ("E = (H + P − K)/S + 1", "conv-output-size", "mismatch"),
    (r"v_t = \mu v_{t-1} + g_t, \theta_t = \theta_{t-1} + \eta v_t", "momentum-update", "mismatch"),
    (r"CT = min(CT_{peak}, \alpha \cdot MB)", "roofline", "verified"),
    (r"W' = W_0 + (\alpha/r)\cdot B \cdot A", "lora-merge", "verified"),
    ("s = (x_max − x_min)/(2^b − 1)", "uniform-quantization", "verified"),
    (r"L(N) \approx (N_c/N)^{\alpha_N}", "kaplan-power-laws", "verified"),
    pytest.param("N ≈ 12·n_layer·d²", "transformer-param-count", "verified",
                 marks=pytest.mark.xfail(reason="regressed by the prose-in-\\text cut; unfinished")),
    (r"y_{out} = y_{in} + w \cdot x_{in}", "systolic-pe", "verified"),
    (r"\alpha = CT / MB", "arithmetic-intensity", "unchecked"),  # CT, MB not its symbols
]


@pytest.mark.parametrize(("written", "formula", "status"), CASES, )
def test_answer_equation_against_registry(written, formula, status):
    assert verify_equation(written, REGISTRY.formula(formula)).status == status
