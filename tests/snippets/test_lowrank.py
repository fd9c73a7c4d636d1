"""Low-rank formulas against torch.linalg, torch.nn.Linear and conv2d."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import lowrank as lr

torch = pytest.importorskip("torch")
F = torch.nn.functional


@pytest.mark.parametrize("m,n,r", [(64, 32, 4), (100, 100, 10), (30, 50, 30)])
def test_svd_factor_parameter_counts(m, n, r):
    w = np.random.default_rng(0).normal(size=(m, n))
    w1, w2 = lr.truncated_svd(w, r)
    assert w1.size + w2.size == lr.lowrank_params(m, n, r)
    full = min(m, n)
    w1f, w2f = lr.truncated_svd(w, full)
    assert np.allclose(w1f @ w2f, w)  # no truncation reproduces W …
    assert lr.lowrank_params(m, n, full) >= lr.dense_params(m, n)  # … with more parameters
    assert (lr.lowrank_params(m, n, r) < lr.dense_params(m, n)) == (r < lr.break_even_rank(m, n))


def test_truncated_svd_error_matches_tail_singular_values():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(40, 30))
    sigma = torch.linalg.svdvals(torch.tensor(w)).numpy()
    for r in (1, 5, 15, 29):
        w1, w2 = lr.truncated_svd(w, r)
        err = np.linalg.norm(w - w1 @ w2)
        assert err == pytest.approx(np.sqrt((sigma[r:] ** 2).sum()))
        # Eckart–Young spot check: random rank-r factorizations are never better
        for _ in range(5):
            basis = rng.normal(size=(40, r))  # best approximation within a random subspace
            other = basis @ np.linalg.lstsq(basis, w, rcond=None)[0]
            assert np.linalg.norm(w - other) >= err - 1e-9


def test_separable_kernel_conv_equals_two_1d_convs():
    rng = np.random.default_rng(2)
    u, v = rng.normal(size=3), rng.normal(size=3)
    kernel = lr.separable_kernel(u, v)
    assert np.linalg.matrix_rank(kernel) == 1
    assert lr.separable_kernel_params(3) == (6, 9)
    x = torch.tensor(rng.normal(size=(1, 1, 12, 12)))
    full = F.conv2d(x, torch.tensor(kernel).view(1, 1, 3, 3))
    two_pass = F.conv2d(F.conv2d(x, torch.tensor(u).view(1, 1, 3, 1)),
                        torch.tensor(v).view(1, 1, 1, 3))
    assert torch.allclose(full, two_pass)


def torch_lora_linear(w0, a, b, alpha):
    """An independent LoRA layer: frozen nn.Linear plus two bias-free nn.Linear adapters."""
    d, k = w0.shape
    r = a.shape[0]
    base = torch.nn.Linear(k, d, bias=False).double()
    down = torch.nn.Linear(k, r, bias=False).double()
    up = torch.nn.Linear(r, d, bias=False).double()
    with torch.no_grad():
        base.weight.copy_(torch.tensor(w0))
        down.weight.copy_(torch.tensor(a))
        up.weight.copy_(torch.tensor(b))
    base.weight.requires_grad_(False)
    return base, down, up, lambda x: base(x) + (alpha / r) * up(down(x))


def test_lora_forward_matches_torch_linear():
    rng = np.random.default_rng(3)
    d, k, r, alpha = 24, 16, 4, 8.0
    w0, a, b = rng.normal(size=(d, k)), rng.normal(size=(r, k)), rng.normal(size=(d, r))
    x = rng.normal(size=(5, k))
    *_, layer = torch_lora_linear(w0, a, b, alpha)
    ref = layer(torch.tensor(x)).detach().numpy()
    assert np.allclose(lr.lora_forward(x, w0, a, b, alpha), ref)
    assert np.linalg.matrix_rank(lr.lora_delta(a, b, alpha)) == r


def test_full_rank_lora_spans_any_update():
    """r = d: any ΔW is some B A (LoRA ≡ full fine-tuning); r < d cannot hit a full-rank ΔW."""
    rng = np.random.default_rng(4)
    d = 8
    target = rng.normal(size=(d, d))
    w1, w2 = lr.truncated_svd(target, d)
    assert np.allclose(lr.lora_delta(w2, w1, alpha=d), target)  # α = r ⇒ scale 1
    w1, w2 = lr.truncated_svd(target, d // 2)
    assert not np.allclose(lr.lora_delta(w2, w1, alpha=d // 2), target)


def test_lora_param_count_matches_module():
    rng = np.random.default_rng(5)
    d, k, r = 64, 48, 8
    base, down, up, _ = torch_lora_linear(rng.normal(size=(d, k)), rng.normal(size=(r, k)),
                                          rng.normal(size=(d, r)), 16.0)
    trainable = sum(p.numel() for mod in (base, down, up) for p in mod.parameters()
                    if p.requires_grad)
    assert trainable == lr.lora_params(d, k, r)
    assert lr.lora_param_fraction(d, k, r) == pytest.approx(trainable / base.weight.numel())


def test_merged_equals_unmerged():
    rng = np.random.default_rng(6)
    d, k, r, alpha = 32, 20, 4, 4.0
    w0, a, b = rng.normal(size=(d, k)), rng.normal(size=(r, k)), rng.normal(size=(d, r))
    x = torch.tensor(rng.normal(size=(7, k)))
    *_, layer = torch_lora_linear(w0, a, b, alpha)
    merged = F.linear(x, torch.tensor(lr.lora_merge(w0, a, b, alpha)))
    assert torch.allclose(merged, layer(x).detach())
    assert lr.lora_merge(w0, a, b, alpha).shape == w0.shape  # same single matmul at inference
