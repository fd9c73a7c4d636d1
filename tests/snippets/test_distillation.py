"""Distillation loss against torch's KL divergence and cross-entropy, gradients by autograd."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import distillation as kd

torch = pytest.importorskip("torch")
F = torch.nn.functional


def test_softmax_temperature_matches_torch_and_softens():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 10)) * 3
    for t in (1.0, 2.0, 8.0):
        assert np.allclose(kd.softmax_t(z, t), F.softmax(torch.tensor(z) / t, dim=-1).numpy())
    entropy = [-(p * np.log(p)).sum(-1).mean() for p in (kd.softmax_t(z, t) for t in (1, 4, 16))]
    assert entropy[0] < entropy[1] < entropy[2] < np.log(10)  # larger T ⇒ softer


@pytest.mark.parametrize("t,alpha", [(1.0, 0.5), (4.0, 0.9), (20.0, 0.1)])
def test_kd_loss_matches_torch_kl_and_ce(t, alpha):
    rng = np.random.default_rng(1)
    zs, zt = rng.normal(size=(8, 5)), rng.normal(size=(8, 5)) * 2
    y = rng.integers(0, 5, size=8)
    s, tt = torch.tensor(zs), torch.tensor(zt)
    soft = F.kl_div(F.log_softmax(s / t, -1), F.log_softmax(tt / t, -1), reduction="batchmean",
                    log_target=True)
    ref = (1 - alpha) * F.cross_entropy(s, torch.tensor(y)) + alpha * t * t * soft
    assert kd.kd_loss(zs, zt, y, t, alpha) == pytest.approx(ref.item())


def test_t_squared_keeps_soft_gradients_comparable():
    """Autograd: the soft term's gradient shrinks like 1/T²; the T² factor undoes it."""
    rng = np.random.default_rng(2)
    zs, zt = torch.tensor(rng.normal(size=(16, 10))), torch.tensor(rng.normal(size=(16, 10)))

    def soft_grad_norm(t: float, scale: bool) -> float:
        s = zs.clone().requires_grad_(True)
        loss = F.kl_div(F.log_softmax(s / t, -1), F.softmax(zt / t, -1), reduction="batchmean")
        (loss * (t * t if scale else 1.0)).backward()
        return s.grad.norm().item()

    raw = [soft_grad_norm(t, False) for t in (5.0, 10.0, 20.0)]
    scaled = [soft_grad_norm(t, True) for t in (5.0, 10.0, 20.0)]
    assert raw[0] / raw[1] == pytest.approx(4.0, rel=0.1)  # doubling T quarters the gradient
    assert raw[1] / raw[2] == pytest.approx(4.0, rel=0.05)
    assert scaled[1] / scaled[2] == pytest.approx(1.0, rel=0.05)
