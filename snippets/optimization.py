"""Training math: gradient descent, activation derivatives, the chain rule and backprop through a
linear layer (which matrices get transposed), and how long backprop keeps activations."""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

_MODULE = "snippets/optimization.py"
_TESTS = "tests/snippets/test_optimization.py"

CONCEPTS = [
    Concept(
        id="gradient-descent",
        name="Gradient descent",
        aliases=("gradient descent", "sgd", "mini-batch sgd", "gd variants",
                 "convergence"),
        definition=(
            "Gradient descent minimizes a loss L by repeatedly stepping the parameters against "
            "the gradient, w_{t+1} = w_t − η ∇L(w_t), with learning rate η; the minus sign moves "
            "downhill. Stochastic and mini-batch variants estimate ∇L on a sample of the data, "
            "and momentum or Adam adapt the step. Training has converged when ∇L ≈ 0 and the "
            "updates become small."
        ),
        formulas=("gradient-descent",),
        related=("backpropagation",),
    ),
    Concept(
        id="backpropagation",
        name="Backpropagation",
        aliases=("backpropagation", "backprop", "backward pass", "chain rule",
                 "weight gradients", "input gradients", "output gradients",
                 "activation derivative", "derivative of relu", "derivative of sigmoid"),
        definition=(
            "Backpropagation computes the gradient of the loss with respect to every weight by "
            "applying the chain rule layer by layer from the output back to the input. For a "
            "linear layer Z = W A it turns the output gradient ∇Z into the weight gradient "
            "∇W = ∇Z Aᵀ (used for the update) and the input gradient ∇A = Wᵀ ∇Z (passed to the "
            "previous layer), so training is again matrix multiplication. Each layer's "
            "activations must be kept from the forward pass until its backward step; the first "
            "layers' activations are produced first and consumed last, so they live longest."
        ),
        formulas=("chain-rule", "backprop-linear", "sigmoid-derivative", "relu-derivative"),
        related=("gradient-descent", "straight-through-estimator", "systolic-array"),
    ),
]

FORMULAS = [
    Formula(
        id="gradient-descent",
        name="Gradient descent update",
        latex=r"w_{t+1} = w_t - \eta \nabla L(w_t)",
        concept="gradient-descent",
        aliases=(
            "gradient descent update rule",
            "gradient descent",
            "gd update",
            "why a minus sign in gd",
            "minus sign in gd",
            "when does learning converge",
            "improve convergence speed",
            "typical gd variants",
        ),
        module=_MODULE,
        section="gradient_descent",
        tests=(
            f"{_TESTS}::test_gd_step_matches_torch_sgd",
            f"{_TESTS}::test_gd_converges_on_quadratic",
        ),
        symbols=(
            ("w_t", "weights at step t"),
            (r"\eta", "learning rate (step size)"),
            ("L", "loss"),
        ),
    ),
    Formula(
        id="sigmoid-derivative",
        name="Derivative of the sigmoid",
        latex=r"\sigma'(x) = \sigma(x)\,\bigl(1 - \sigma(x)\bigr)",
        concept="backpropagation",
        aliases=("derivative of sigmoid", "sigmoid derivative", "σ′(x) = σ(x)"),
        module=_MODULE,
        section="activation_derivatives",
        tests=(f"{_TESTS}::test_sigmoid_derivative_matches_autograd",),
        symbols=(
            (r"\sigma", "sigmoid function"),
            ("x", "input"),
        ),
    ),
    Formula(
        id="relu-derivative",
        name="Derivative of ReLU",
        latex=r"\mathrm{ReLU}'(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}",
        concept="backpropagation",
        aliases=("derivative of relu", "relu derivative", "relu′(x) = 1 if x > 0"),
        module=_MODULE,
        section="activation_derivatives",
        tests=(f"{_TESTS}::test_relu_derivative_matches_autograd",),
        symbols=(
            ("x", "input"),
        ),
    ),
    Formula(
        id="chain-rule",
        name="Chain rule",
        latex=r"(f \circ g)'(x) = f'\bigl(g(x)\bigr) \cdot g'(x)",
        concept="backpropagation",
        aliases=(
            "chain rule",
            "chain rule used in backprop",
            "forward pass vs backward pass",
            "backward pass",
            "∂l/∂w",
        ),
        module=_MODULE,
        section="chain_rule",
        tests=(f"{_TESTS}::test_chain_rule_matches_autograd",),
        symbols=(
            ("f", "outer function"),
            ("g", "inner function"),
            ("x", "input"),
        ),
    ),
    Formula(
        id="backprop-linear",
        name="Backprop through a linear layer",
        latex=(
            r"Z = W A,\quad \nabla_W L = \nabla_Z L \, A^{\top},\quad "
            r"\nabla_A L = W^{\top} \nabla_Z L"
        ),
        concept="backpropagation",
        aliases=(
            "which matrices are transposed",
            "in backward pass, which matrices are transposed",
            "define output gradients",
            "define weight gradients",
            "define input gradients",
            "output gradients",
            "weight gradients",
            "input gradients",
            "grad for an earlier weight",
            "grad for a deeper weight",
            "weight-grad",
            "backprop storage rule",
            "deeper layer activations are kept longer",
            "what do we store in forward pass",
            "what can we discard in backward pass",
            "backprop and hpc connection",
        ),
        module=_MODULE,
        section="backprop_linear",
        tests=(
            f"{_TESTS}::test_linear_backward_matches_autograd",
            f"{_TESTS}::test_early_activations_are_kept_longest",
        ),
        symbols=(
            ("W", "weight matrix"),
            ("A", "input activations"),
            ("Z", "pre-activation output"),
            ("L", "loss"),
        ),
    ),
]


# --8<-- [start:gradient_descent]
def gd_step(w: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """w_{t+1} = w_t − η ∇L(w_t): step against the gradient to lower the loss."""
    return np.asarray(w, dtype=np.float64) - lr * np.asarray(grad, dtype=np.float64)
# --8<-- [end:gradient_descent]


# --8<-- [start:activation_derivatives]
def sigmoid(x) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def sigmoid_derivative(x) -> np.ndarray:
    """σ'(x) = σ(x)(1 − σ(x)): at most 1/4, at x = 0."""
    s = sigmoid(x)
    return s * (1.0 - s)


def relu_derivative(x) -> np.ndarray:
    """1 where x > 0, else 0 (0 at x = 0, the convention autograd uses)."""
    return (np.asarray(x) > 0).astype(np.float64)
# --8<-- [end:activation_derivatives]


# --8<-- [start:chain_rule]
def chain_rule(f_prime, g, g_prime, x):
    """(f ∘ g)'(x) = f'(g(x)) · g'(x)."""
    return f_prime(g(x)) * g_prime(x)
# --8<-- [end:chain_rule]


# --8<-- [start:backprop_linear]
def linear_backward(grad_z: np.ndarray, w: np.ndarray, a: np.ndarray):
    """For Z = W A: weight gradient ∇W = ∇Z Aᵀ, input gradient ∇A = Wᵀ ∇Z (both transposed)."""
    return grad_z @ a.T, w.T @ grad_z


def activation_lifetimes(n_layers: int) -> list[int]:
    """Steps each layer's input activation stays stored in one forward + backward pass.

    Forward step i (1-based) stores layer i's input; backward visits layers n … 1, and step
    n + (n − i + 1) uses it to form layer i's weight gradient, after which it is freed. The
    lifetime 2(n − i) + 1 shrinks with depth: EARLY activations are kept longest.
    """
    return [(n_layers + (n_layers - i + 1)) - i for i in range(1, n_layers + 1)]
# --8<-- [end:backprop_linear]


def activation_lifetime(layer: int, n_layers: int = 8) -> int:
    """Steps layer `layer`'s (1-based) input activation is kept: activation_lifetimes()[layer-1]."""
    return activation_lifetimes(n_layers)[int(layer) - 1]


# -- claims the check pass evaluates with this module's code (deckforge.claims) -----------------
from deckforge.claims import Quantity, Var  # noqa: E402  (declarations stay at the module's end)

CLAIMS = [
    Quantity(
        formula="backprop-linear", function="activation_lifetime", name="time an activation is kept",
        phrases=(r"activations? (?:are |is )?(?:kept|stored|held|saved)", r"activation lifetimes?"),
        variables=(Var("layer", phrases=(r"layers?",), low=2, high=6),),
    ),
]
