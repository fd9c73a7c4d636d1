"""snippets/moe.py: routing vs brute force, capacity, active parameters on a torch MoE layer."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from deckforge_snippets import moe as M


def _brute_force_route(logits, k, cf):
    """Independent: enumerate (rank, token) slots in priority order, count per expert."""
    n_tokens, n_experts = logits.shape
    cap = math.ceil(k * n_tokens * cf / n_experts)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    ranked = [sorted(range(n_experts), key=lambda e, t=t: (-probs[t, e], e)) for t in range(n_tokens)]
    kept, dropped, load = {}, [], {}
    for rank, t in itertools.product(range(k), range(n_tokens)):
        e = ranked[t][rank]
        if load.get(e, 0) < cap:
            load[e] = load.get(e, 0) + 1
            kept.setdefault(t, []).append(e)
        else:
            dropped.append((t, e))
    return kept, dropped


@pytest.mark.parametrize(("k", "cf"), [(1, 1.0), (2, 1.0), (2, 1.25), (2, 0.5), (3, 2.0)])
def test_routing_matches_brute_force(k, cf):
    logits = np.random.default_rng(k * 10 + int(cf * 4)).normal(size=(24, 6)) * 2
    assign, dropped = M.top_k_route(logits, k, cf)
    kept, expected_dropped = _brute_force_route(logits, k, cf)
    assert [[e for e, _ in a] for a in assign] == [kept.get(t, []) for t in range(24)]
    assert dropped == expected_dropped
    cap = M.expert_capacity(24, 6, k, cf)
    loads = np.bincount([e for a in assign for e, _ in a], minlength=6)
    assert loads.max() <= cap
    assert len(dropped) + loads.sum() == 24 * k


def test_capacity_factor_trades_drops_for_compute():
    logits = np.random.default_rng(0).normal(size=(64, 8)) * 3
    drops = [len(M.top_k_route(logits, 2, cf)[1]) for cf in (0.5, 1.0, 1.5, 8.0)]
    assert drops == sorted(drops, reverse=True) and drops[-1] == 0
    assert M.expert_capacity(64, 8, 2, 1.25) == 20  # ceil(2 * 64 * 1.25 / 8)


def test_moe_output_matches_per_token_loop():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    d, n_exp, k = 6, 4, 2
    x, router = rng.normal(size=(10, d)), rng.normal(size=(d, n_exp))
    weights = [rng.normal(size=(d, d)) for _ in range(n_exp)]
    experts = [lambda v, w=w: np.tanh(v @ w) for w in weights]
    y = M.moe_forward(x, router, experts, k, capacity_factor=10.0)  # no drops
    # Torch, token by token: topk of softmax, weighted sum of the chosen experts.
    gates = torch.softmax(torch.from_numpy(x @ router), -1)
    vals, idx = gates.topk(k, dim=-1)
    ref = torch.zeros(10, d, dtype=torch.float64)
    for t in range(10):
        for g, e in zip(vals[t], idx[t], strict=True):
            ref[t] += g * torch.tanh(torch.from_numpy(x[t] @ weights[int(e)]))
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-12)


def test_noisy_gating_noise_scale_is_softplus():
    rng = np.random.default_rng(2)
    x = np.ones((1, 3))
    w_g, w_n = np.zeros((3, 4)), np.array([[0.0, 0.5, 1.0, -2.0]] * 3)
    samples = np.vstack([M.noisy_gate_logits(x, w_g, w_n, rng) for _ in range(20000)])
    expected = np.log1p(np.exp(x @ w_n))[0]
    np.testing.assert_allclose(samples.std(axis=0), expected, rtol=0.03)
    np.testing.assert_allclose(samples.mean(axis=0), 0.0, atol=0.05)


def test_active_params_match_a_torch_moe_layer():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    d, d_ff, n_exp, k = 16, 64, 8, 2
    router = nn.Linear(d, n_exp, bias=False)
    experts = nn.ModuleList(
        nn.Sequential(nn.Linear(d, d_ff, bias=False), nn.Linear(d_ff, d, bias=False)) for _ in range(n_exp)
    )
    per_expert = sum(p.numel() for p in experts[0].parameters())
    total, active = M.moe_params(n_exp, k, per_expert, router.weight.numel())
    assert total == router.weight.numel() + sum(p.numel() for p in experts.parameters())
    used = {0, 5}  # the k experts a token visits: only their weights get gradients
    x = torch.randn(1, d)
    sum(experts[e](x).sum() for e in used).backward()
    touched = sum(p.numel() for p in experts.parameters() if p.grad is not None)
    assert touched + router.weight.numel() == active
