"""snippets/optimizers.py: ten steps on a quadratic, step for step against torch.optim."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import optimizers as O

torch = pytest.importorskip("torch")


def _compare(torch_opt, ours, **kw):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 6))
    hess = a @ a.T + np.eye(6)
    theta0 = rng.normal(size=6)
    p = torch.nn.Parameter(torch.from_numpy(theta0.copy()))
    opt = torch_opt([p], **kw)
    theta, state = theta0.copy(), {}
    for _ in range(10):
        opt.zero_grad()
        (0.5 * p @ torch.from_numpy(hess) @ p).backward()
        opt.step()
        theta = ours(theta, hess @ theta, state, **kw)
        np.testing.assert_allclose(theta, p.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_adam_matches_torch():
    _compare(torch.optim.Adam, O.adam_step, lr=0.05, betas=(0.9, 0.999), eps=1e-8)


def test_rmsprop_matches_torch():
    _compare(torch.optim.RMSprop, O.rmsprop_step, lr=0.01, alpha=0.99, eps=1e-8)


def test_momentum_matches_torch():
    torch_kw = {"lr": 0.01, "momentum": 0.9}

    def ours(theta, g, state, lr, momentum):
        return O.momentum_step(theta, g, state, lr=lr, mu=momentum)

    _compare(torch.optim.SGD, ours, **torch_kw)
