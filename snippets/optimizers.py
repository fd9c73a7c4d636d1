"""Adaptive optimizers: SGD with momentum, RMSProp and Adam, in PyTorch's exact conventions."""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

MODULE = "snippets/optimizers.py"
TESTS = "tests/snippets/test_optimizers.py"

CONCEPTS = [
    Concept(
        id="adaptive-optimizers",
        name="Momentum, RMSProp and Adam",
        aliases=("adam", "adam optimizer", "rmsprop", "momentum", "training optimizer"),
        definition=(
            "Plain gradient descent steps along $-\\eta\\nabla L$. Momentum keeps a running "
            "sum of past gradients, $v_t=\\mu v_{t-1}+g_t$, which smooths noisy directions and "
            "accelerates consistent ones. RMSProp divides each coordinate's step by a running "
            "root-mean-square of its gradients, so steep and flat directions get comparable "
            "steps. Adam combines both: exponential moving averages of the gradient ($m_t$, "
            "$\\beta_1=0.9$) and of its square ($v_t$, $\\beta_2=0.999$), bias-corrected for their "
            "zero initialisation, and the update $\\eta\\,\\hat m_t/(\\sqrt{\\hat v_t}+\\epsilon)$. "
            "Adam stores two extra values per parameter, which is why its optimizer state doubles "
            "the parameter memory."
        ),
        formulas=("adam-update", "rmsprop-update", "momentum-update"),
        related=("gradient-descent", "learning-rate-schedule", "resource-accounting"),
    )
]

FORMULAS = [
    Formula(
        id="adam-update",
        name="Adam update",
        latex=(
            r"m_t=\beta_1m_{t-1}+(1-\beta_1)g_t,\quad v_t=\beta_2v_{t-1}+(1-\beta_2)g_t^2,\quad "
            r"\hat m_t=\frac{m_t}{1-\beta_1^t},\ \hat v_t=\frac{v_t}{1-\beta_2^t},\quad "
            r"\theta_t=\theta_{t-1}-\eta\frac{\hat m_t}{\sqrt{\hat v_t}+\epsilon}"
        ),
        concept="adaptive-optimizers",
        aliases=("adam update", "adam optimizer", "adam"),
        module=MODULE,
        section="adam",
        tests=(f"{TESTS}::test_adam_matches_torch",),
        symbols=(
            ("m_t", "first-moment (mean) estimate of the gradient"),
            ("v_t", "second-moment (uncentred variance) estimate"),
            ("g_t", "gradient at step t"),
            (r"\beta_1", "decay rate of the first moment"),
            (r"\beta_2", "decay rate of the second moment"),
            (r"\theta_t", "parameters at step t"),
            (r"\eta", "learning rate (step size)"),
            (r"\epsilon", "small constant for numerical stability"),
        ),
    ),
    Formula(
        id="rmsprop-update",
        name="RMSProp update",
        latex=r"v_t=\alpha v_{t-1}+(1-\alpha)g_t^2,\qquad \theta_t=\theta_{t-1}-\eta\frac{g_t}{\sqrt{v_t}+\epsilon}",
        concept="adaptive-optimizers",
        aliases=("rmsprop",),
        module=MODULE,
        section="rmsprop",
        tests=(f"{TESTS}::test_rmsprop_matches_torch",),
        symbols=(
            ("v_t", "running mean of squared gradients"),
            (r"\alpha", "decay rate"),
            ("g_t", "gradient at step t"),
            (r"\theta_t", "parameters at step t"),
            (r"\eta", "learning rate (step size)"),
            (r"\epsilon", "small constant for numerical stability"),
        ),
    ),
    Formula(
        id="momentum-update",
        name="SGD with momentum",
        latex=r"v_t=\mu v_{t-1}+g_t,\qquad \theta_t=\theta_{t-1}-\eta v_t",
        concept="adaptive-optimizers",
        aliases=("sgd with momentum", "momentum update"),
        module=MODULE,
        section="momentum",
        tests=(f"{TESTS}::test_momentum_matches_torch",),
        symbols=(
            ("v_t", "velocity (accumulated gradient)"),
            (r"\mu", "momentum coefficient"),
            ("g_t", "gradient at step t"),
            (r"\theta_t", "parameters at step t"),
            (r"\eta", "learning rate (step size)"),
        ),
    ),
]


# --8<-- [start:adam]
def adam_step(theta, g, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """One Adam step; `state` holds m, v and the step count t (all start at zero)."""
    b1, b2 = betas
    state["t"] = state.get("t", 0) + 1
    state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * g
    state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * g * g
    m_hat = state["m"] / (1 - b1 ** state["t"])  # undo the bias towards the zero start
    v_hat = state["v"] / (1 - b2 ** state["t"])
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps)
# --8<-- [end:adam]


# --8<-- [start:rmsprop]
def rmsprop_step(theta, g, state, lr=1e-2, alpha=0.99, eps=1e-8):
    state["v"] = alpha * state.get("v", 0.0) + (1 - alpha) * g * g
    return theta - lr * g / (np.sqrt(state["v"]) + eps)
# --8<-- [end:rmsprop]


# --8<-- [start:momentum]
def momentum_step(theta, g, state, lr=1e-2, mu=0.9):
    """PyTorch's form: the first step uses v_1 = g_1."""
    state["v"] = g if "v" not in state else mu * state["v"] + g
    return theta - lr * state["v"]
# --8<-- [end:momentum]
