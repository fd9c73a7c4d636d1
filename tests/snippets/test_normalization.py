"""Normalization layers against torch.nn.functional and torch's own BatchNorm."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import normalization as nm

torch = pytest.importorskip("torch")
F = torch.nn.functional


def test_batch_norm_matches_torch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3, 5, 5))
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    mean, var = rng.normal(size=3), rng.uniform(0.5, 2, size=3)
    ref = F.batch_norm(torch.tensor(x), torch.tensor(mean), torch.tensor(var),
                       torch.tensor(gamma), torch.tensor(beta), training=False).numpy()
    ours = nm.batch_norm(x, gamma, beta, mean, var)
    assert ours.shape == x.shape and np.allclose(ours, ref)


def test_folded_conv_equals_conv_then_batchnorm():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 6, 3, padding=1, bias=True).double()
    bn = torch.nn.BatchNorm2d(6).double()
    with torch.no_grad():  # give BN non-trivial learned parameters and running statistics
        bn.weight.uniform_(0.5, 2.0)
        bn.bias.normal_()
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
    conv.eval(), bn.eval()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        ref = bn(conv(x)).numpy()
    w, b = nm.fold_batchnorm(conv.weight.detach().numpy(), conv.bias.detach().numpy(),
                             bn.weight.detach().numpy(), bn.bias.detach().numpy(),
                             bn.running_mean.numpy(), bn.running_var.numpy(), bn.eps)
    folded = F.conv2d(x, torch.tensor(w), torch.tensor(b), padding=1).numpy()
    assert np.allclose(folded, ref)


def test_layer_norm_matches_torch():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 7, 16)) * 3 + 1
    gamma, beta = rng.normal(size=16), rng.normal(size=16)
    ref = F.layer_norm(torch.tensor(x), (16,), torch.tensor(gamma), torch.tensor(beta)).numpy()
    assert np.allclose(nm.layer_norm(x, gamma, beta), ref)


def test_rms_norm_matches_torch():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 5, 32))
    gamma = rng.normal(size=32)
    ref = F.rms_norm(torch.tensor(x), (32,), torch.tensor(gamma), eps=1e-6).numpy()
    assert np.allclose(nm.rms_norm(x, gamma), ref)
    # RMSNorm equals LayerNorm without centring on zero-mean inputs
    centred = x - x.mean(-1, keepdims=True)
    assert np.allclose(nm.rms_norm(centred, np.ones(32), eps=1e-5),
                       nm.layer_norm(centred, np.ones(32), np.zeros(32), eps=1e-5))
