"""Mixture of experts: top-k routing with expert capacity, noisy gating, active parameters.

Each token's router picks its k highest-scoring experts. An expert accepts at most
capacity = ceil(k * tokens * capacity_factor / experts) tokens; assignments beyond that are
dropped (the token passes through the residual connection for that slot).
"""

from __future__ import annotations

import math

import numpy as np

from deckforge.model import Concept, Formula

MODULE = "snippets/moe.py"
TESTS = "tests/snippets/test_moe.py"

CONCEPTS = [
    Concept(
        id="mixture-of-experts",
        name="Mixture of experts (MoE)",
        aliases=("mixture of experts", "mixture-of-experts", "moe", "sparse ffn", "expert parallelism"),
        definition=(
            "A mixture-of-experts layer replaces one feed-forward network by $E$ experts and a "
            "router that sends each token to its top-$k$ experts, weighting their outputs by the "
            "router's gate values. Parameters grow with $E$ while the FLOPs per token grow only "
            "with $k$, which is why MoE models reach a given loss faster than dense models of "
            "the same compute. Experts have a fixed capacity "
            "$\\lceil k\\cdot T\\cdot \\text{cf}/E\\rceil$ tokens per batch; a larger capacity "
            "factor drops fewer tokens but costs compute and communication. Because routing is "
            "discrete, training adds load-balancing losses or router noise (noisy top-$k$) to "
            "keep experts evenly used."
        ),
        formulas=("moe-top-k-routing", "noisy-top-k-gating", "moe-active-params"),
        related=("resource-accounting",),
    )
]

FORMULAS = [
    Formula(
        id="moe-top-k-routing",
        name="Top-k routing with expert capacity",
        latex=(
            r"y=\sum_{e\in\operatorname{TopK}(g(x),k)}g_e(x)\,E_e(x),\quad g(x)=\operatorname{softmax}(xW_r),\quad "
            r"\text{capacity}=\left\lceil\frac{k\cdot T\cdot \text{cf}}{E}\right\rceil"
        ),
        concept="mixture-of-experts",
        aliases=(
            "router and capacity factor",
            "capacity factor",
            "top-k experts",
            "routing function",
            "mixture-of-experts (moe) — core idea",
            "mixture of experts",
        ),
        module=MODULE,
        section="moe_top_k_routing",
        tests=(
            f"{TESTS}::test_routing_matches_brute_force",
            f"{TESTS}::test_capacity_factor_trades_drops_for_compute",
            f"{TESTS}::test_moe_output_matches_per_token_loop",
        ),
        symbols=(
            ("y", "layer output"),
            ("x", "token representation"),
            ("g", "router (gating) network"),
            ("E_e", "expert e"),
            ("k", "experts per token"),
            ("W_r", "router weights"),
            ("T", "tokens in the batch"),
            ("E", "number of experts"),
            (r"\text{cf}", "capacity factor"),
        ),
    ),
    Formula(
        id="noisy-top-k-gating",
        name="Noisy top-k gating",
        latex=(
            r"H(x)_i=(xW_g)_i+\varepsilon_i\cdot\operatorname{softplus}\bigl((xW_{\text{noise}})_i\bigr),\ "
            r"\varepsilon_i\sim\mathcal{N}(0,1),\quad G(x)=\operatorname{softmax}(\operatorname{KeepTopK}(H(x),k))"
        ),
        concept="mixture-of-experts",
        aliases=("noisy top-k routing", "noisy top-k", "noisy gating"),
        module=MODULE,
        section="noisy_top_k_gating",
        tests=(f"{TESTS}::test_noisy_gating_noise_scale_is_softplus",),
        symbols=(
            ("x", "token representation"),
            ("W_g", "gating weights"),
            (r"W_{\text{noise}}", "noise weights"),
            (r"\varepsilon_i", "standard normal noise"),
            ("k", "experts kept per token"),
            ("G", "gate values"),
        ),
    ),
    Formula(
        id="moe-active-params",
        counts=("parameters",),
        name="MoE total vs active parameters",
        latex=r"N_{\text{total}}=N_{\text{shared}}+E\cdot N_{\text{expert}},\qquad N_{\text{active}}=N_{\text{shared}}+k\cdot N_{\text{expert}}",
        concept="mixture-of-experts",
        aliases=("why moe scales well", "subset of experts is active", "same flop, more param"),
        module=MODULE,
        section="moe_active_params",
        tests=(f"{TESTS}::test_active_params_match_a_torch_moe_layer",),
        symbols=(
            (r"N_{\text{total}}", "total number of parameters"),
            (r"N_{\text{active}}", "parameters active per token"),
            (r"N_{\text{shared}}", "shared (non-expert) parameters"),
            (r"N_{\text{expert}}", "parameters of one expert"),
            ("E", "number of experts"),
            ("k", "experts routed per token (top-k)"),
        ),
    ),
]


# --8<-- [start:moe_top_k_routing]
def expert_capacity(n_tokens: int, n_experts: int, k: int, capacity_factor: float) -> int:
    return math.ceil(k * n_tokens * capacity_factor / n_experts)


def top_k_route(router_logits: np.ndarray, k: int, capacity_factor: float):
    """Returns (assign, dropped): assign[t] lists (expert, gate) pairs kept for token t.

    Slots are filled by choice rank first (every token's 1st choice before any 2nd choice),
    then by token order, as in GShard/Switch; a slot whose expert is full is dropped.
    """
    n_tokens, n_experts = router_logits.shape
    gates = np.exp(router_logits - router_logits.max(axis=1, keepdims=True))
    gates /= gates.sum(axis=1, keepdims=True)
    choice = np.argsort(-gates, axis=1, kind="stable")[:, :k]  # (T, k), best first
    cap = expert_capacity(n_tokens, n_experts, k, capacity_factor)
    load = np.zeros(n_experts, dtype=int)
    assign = [[] for _ in range(n_tokens)]
    dropped = []
    for rank in range(k):
        for t in range(n_tokens):
            e = int(choice[t, rank])
            if load[e] < cap:
                load[e] += 1
                assign[t].append((e, float(gates[t, e])))
            else:
                dropped.append((t, e))
    return assign, dropped


def moe_forward(x, router_w, experts, k, capacity_factor):
    """y_t = sum over kept (e, g) of g * expert_e(x_t); a fully dropped token gives 0."""
    assign, _ = top_k_route(x @ router_w, k, capacity_factor)
    y = np.zeros_like(x)
    for t, pairs in enumerate(assign):
        for e, g in pairs:
            y[t] += g * experts[e](x[t])
    return y
# --8<-- [end:moe_top_k_routing]


# --8<-- [start:noisy_top_k_gating]
def softplus(x):
    return np.logaddexp(0.0, x)


def noisy_gate_logits(x, w_g, w_noise, rng):
    """H(x) = x W_g + N(0, 1) * softplus(x W_noise): learned, per-expert noise scale."""
    clean = x @ w_g
    return clean + rng.standard_normal(clean.shape) * softplus(x @ w_noise)
# --8<-- [end:noisy_top_k_gating]


# --8<-- [start:moe_active_params]
def moe_params(n_experts: int, k: int, expert_params: int, shared_params: int = 0) -> tuple[int, int]:
    """(total, active per token): only the k chosen experts run for a token."""
    return shared_params + n_experts * expert_params, shared_params + k * expert_params
# --8<-- [end:moe_active_params]
