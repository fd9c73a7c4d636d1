"""snippets/transformer_block.py against torch.nn.TransformerEncoderLayer and autograd."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import transformer_block as T

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional


def _np(t):
    return t.detach().numpy()


def _params(layer):
    attn = layer.self_attn
    w_q, w_k, w_v = (w.T for w in _np(attn.in_proj_weight).reshape(3, -1, attn.embed_dim))
    b_q, b_k, b_v = _np(attn.in_proj_bias).reshape(3, -1)
    assert not (b_q.any() or b_k.any() or b_v.any())  # torch initialises them to zero
    return {
        "w_q": w_q, "w_k": w_k, "w_v": w_v, "w_o": _np(attn.out_proj.weight).T, "b_o": _np(attn.out_proj.bias),
        "w1": _np(layer.linear1.weight).T, "b1": _np(layer.linear1.bias),
        "w2": _np(layer.linear2.weight).T, "b2": _np(layer.linear2.bias),
        "g1": _np(layer.norm1.weight), "be1": _np(layer.norm1.bias),
        "g2": _np(layer.norm2.weight), "be2": _np(layer.norm2.bias),
    }


def _layer(norm_first):
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(
        16, 4, dim_feedforward=32, dropout=0.0, batch_first=True, norm_first=norm_first, dtype=torch.float64
    )
    with torch.no_grad():  # non-trivial norms, so gamma/beta are really exercised
        for norm in (layer.norm1, layer.norm2):
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
    return layer.eval()


def test_post_norm_layer_matches_torch():
    layer = _layer(norm_first=False)
    x = np.random.default_rng(0).normal(size=(7, 16))
    ref = _np(layer(torch.from_numpy(x)[None]))[0]
    np.testing.assert_allclose(T.post_norm_layer(x, _params(layer), 4), ref, rtol=1e-8, atol=1e-10)


def test_pre_norm_layer_matches_torch():
    layer = _layer(norm_first=True)
    x = np.random.default_rng(1).normal(size=(7, 16))
    ref = _np(layer(torch.from_numpy(x)[None]))[0]
    np.testing.assert_allclose(T.pre_norm_layer(x, _params(layer), 4), ref, rtol=1e-8, atol=1e-10)


def test_residual_keeps_an_identity_gradient_path():
    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    dead = nn.Linear(5, 5, dtype=torch.float64)
    nn.init.zeros_(dead.weight)  # a sub-layer whose Jacobian is zero
    T.residual(x, dead).sum().backward()
    torch.testing.assert_close(x.grad, torch.ones(5, dtype=torch.float64))  # I + 0
    assert np.allclose(T.residual(np.ones(3), lambda v: 2 * v), 3.0)


def test_ffn_matches_torch_and_is_per_token():
    rng = np.random.default_rng(2)
    lin1, lin2 = nn.Linear(8, 32, dtype=torch.float64), nn.Linear(32, 8, dtype=torch.float64)
    x = rng.normal(size=(5, 8))
    ref = _np(lin2(F.relu(lin1(torch.from_numpy(x)))))
    args = (_np(lin1.weight).T, _np(lin1.bias), _np(lin2.weight).T, _np(lin2.bias))
    np.testing.assert_allclose(T.ffn(x, *args), ref, rtol=1e-10)
    # Position-wise: a token's output does not depend on the other tokens; each neuron of
    # the first layer takes d_model inputs, whatever the sequence length.
    np.testing.assert_allclose(T.ffn(x[2:3], *args), T.ffn(x, *args)[2:3])
    assert args[0].shape[0] == 8


def test_glu_matches_torch_and_8_3_keeps_params():
    rng = np.random.default_rng(3)
    x, w1, w2, w3 = rng.normal(size=(4, 6)), rng.normal(size=(6, 9)), rng.normal(size=(6, 9)), rng.normal(size=(9, 6))
    xt = torch.from_numpy(x)
    ref = F.glu(torch.cat([xt @ torch.from_numpy(w2), xt @ torch.from_numpy(w1)], -1), -1)  # a * sigmoid(b)
    np.testing.assert_allclose(T.glu(x, w1, w2), _np(ref), rtol=1e-10)
    swiglu = F.silu(xt @ torch.from_numpy(w1)) * (xt @ torch.from_numpy(w2)) @ torch.from_numpy(w3)
    silu = lambda v: v * T.sigmoid(v)  # noqa: E731
    np.testing.assert_allclose(T.glu_ffn(x, w1, w2, w3, gate=silu), _np(swiglu), rtol=1e-10)
    d = 768
    vanilla = 2 * d * 4 * d
    assert 3 * d * T.glu_hidden_width(d) == pytest.approx(vanilla)


def test_lm_head_gives_a_distribution_over_the_vocabulary():
    rng = np.random.default_rng(4)
    h, u = rng.normal(size=(3, 8)), rng.normal(size=(8, 50))
    p = T.lm_head(h, u)
    assert p.shape == (3, 50)  # depends on the vocabulary size
    np.testing.assert_allclose(p, _np(torch.softmax(torch.from_numpy(h @ u), -1)), rtol=1e-12)
