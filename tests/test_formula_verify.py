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
    ("N ≈ 12·n_layer·d²", "transformer-param-count", "verified"),  # `\quad(…)` aside split off
    (r"y_{out} = y_{in} + w \cdot x_{in}", "systolic-pe", "verified"),
    (r"\alpha = CT / MB", "arithmetic-intensity", "unchecked"),  # CT, MB not its symbols
    # conventions: BatchNorm's epsilon (a declared stabiliser) may be left out; `Clip` is `clip`
    (r"Y_c = \alpha_c \frac{X_c - \mu_c}{\sigma_c} + \beta_c", "batch-norm", "verified"),
    (r"x_c = \text{Clip}(x, -L, L)", "symmetric-quantization", "verified"),
    (r"p_i = \frac{\exp(z_i \cdot T)}{\sum_j \exp(z_j \cdot T)}", "softmax-temperature", "mismatch"),
    ("Â_i = r_i − mean(r_{1:G})", "grpo-advantage", "mismatch"),
]


@pytest.mark.parametrize(("written", "formula", "status"), CASES, )
def test_answer_equation_against_registry(written, formula, status):
    assert verify_equation(written, REGISTRY.formula(formula)).status == status
