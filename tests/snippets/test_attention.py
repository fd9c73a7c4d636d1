"""snippets/attention.py against torch's own attention kernels and FLOP counter."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import attention as A

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _t(x):
    return torch.from_numpy(np.ascontiguousarray(x))


def test_sdpa_matches_torch():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(2, 3, 5, 8)), rng.normal(size=(2, 3, 7, 8)), rng.normal(size=(2, 3, 7, 4))
    ours = A.scaled_dot_product_attention(q, k, v)
    ref = F.scaled_dot_product_attention(_t(q), _t(k), _t(v)).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


def test_scale_keeps_score_variance_near_one():
    # The stated purpose of 1/sqrt(d_k): q.k of unit-variance vectors has variance d_k.
    rng = np.random.default_rng(1)
    for d_k in (16, 256):
        q, k = rng.normal(size=(4000, d_k)), rng.normal(size=(4000, d_k))
        raw = np.sum(q * k, axis=1)
        assert raw.var() == pytest.approx(d_k, rel=0.1)
        assert (raw / np.sqrt(d_k)).var() == pytest.approx(1.0, rel=0.1)


def _torch_mha(d, h, bias=False):
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(d, h, bias=bias, batch_first=True, dtype=torch.float64)
    w_q, w_k, w_v = (w.detach().numpy().T for w in mha.in_proj_weight.chunk(3))
    w_o = mha.out_proj.weight.detach().numpy().T
    return mha, w_q, w_k, w_v, w_o


def test_mha_matches_torch():
    d, h, n = 16, 4, 6
    mha, w_q, w_k, w_v, w_o = _torch_mha(d, h)
    x = np.random.default_rng(2).normal(size=(n, d))
    ref, _ = mha(_t(x)[None], _t(x)[None], _t(x)[None], need_weights=False)
    ours = A.multi_head_attention(x, x, w_q, w_k, w_v, w_o, h)
    np.testing.assert_allclose(ours, ref[0].detach().numpy(), rtol=1e-10, atol=1e-12)


def test_head_dim_of_the_base_transformer():
    assert A.head_dim(512, 8) == 64
    with pytest.raises(ValueError):
        A.head_dim(512, 7)


def test_general_attention_is_a_convex_mixture():
    rng = np.random.default_rng(3)
    q, keys, values = rng.normal(size=4), rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    alpha = A.attention_weights([A.score_dot(q, k) for k in keys])
    assert alpha.sum() == pytest.approx(1.0) and (alpha > 0).all()
    # Brute force: exp(score_i) / sum_j exp(score_j), written out.
    scores = np.array([sum(q[c] * k[c] for c in range(4)) for k in keys])
    expected = np.exp(scores) / np.exp(scores).sum()
    np.testing.assert_allclose(alpha, expected)
    np.testing.assert_allclose(A.general_attention(q, keys, values, A.score_dot), expected @ values)
    # With the scaled score and a single query this is exactly torch's SDPA.
    ref = F.scaled_dot_product_attention(_t(q[None]), _t(keys), _t(values)).numpy()[0]
    np.testing.assert_allclose(A.general_attention(q, keys, values, A.score_scaled_dot), ref)


def test_alignment_scores():
    rng = np.random.default_rng(4)
    s, h = rng.normal(size=6), rng.normal(size=6)
    w, v = rng.normal(size=(5, 12)), rng.normal(size=5)
    assert A.score_scaled_dot(s, h) == pytest.approx(A.score_dot(s, h) / np.sqrt(6))
    assert A.score_general(s, h, np.eye(6)) == pytest.approx(A.score_dot(s, h))
    assert A.score_content(s, h) == pytest.approx(F.cosine_similarity(_t(s), _t(h), dim=0).item())
    lin = torch.nn.Linear(12, 5, bias=False, dtype=torch.float64)
    lin.weight.data = _t(w)
    expected = (_t(v) @ torch.tanh(lin(torch.cat([_t(s), _t(h)])))).item()
    assert A.score_additive(s, h, w, v) == pytest.approx(expected)
    w_loc = rng.normal(size=(4, 6))  # 4 source positions
    weights = A.weights_location(s, w_loc)
    np.testing.assert_allclose(weights, torch.softmax(_t(w_loc) @ _t(s), dim=0).numpy())


def test_qkv_projection_shapes_independent_of_n():
    rng = np.random.default_rng(5)
    w_q, w_k, w_v = rng.normal(size=(8, 4)), rng.normal(size=(8, 4)), rng.normal(size=(8, 3))
    for n in (1, 7, 33):
        x = rng.normal(size=(n, 8))
        q, k, v = A.qkv_projections(x, w_q, w_k, w_v)
        assert (q.shape, k.shape, v.shape) == ((n, 4), (n, 4), (n, 3))
        # Row i of the packed product is token i projected on its own.
        np.testing.assert_allclose(q[n - 1], x[n - 1] @ w_q)


def test_score_matrix_is_n_by_n():
    rng = np.random.default_rng(6)
    for n in (3, 10):
        q, k = rng.normal(size=(n, 4)), rng.normal(size=(n, 4))
        s = A.attention_scores(q, k)
        assert s.shape == A.attention_scores_shape(n, n) == (n, n)
        np.testing.assert_allclose(s, (_t(q) @ _t(k).T).numpy())


def test_causal_matches_torch():
    rng = np.random.default_rng(7)
    q, k, v = (rng.normal(size=(2, 6, 4)) for _ in range(3))
    ref = F.scaled_dot_product_attention(_t(q), _t(k), _t(v), is_causal=True).numpy()
    np.testing.assert_allclose(A.causal_attention(q, k, v), ref, rtol=1e-10, atol=1e-12)


def test_causal_output_ignores_future_tokens():
    rng = np.random.default_rng(8)
    q, k, v = (rng.normal(size=(6, 4)) for _ in range(3))
    out = A.causal_attention(q, k, v)
    k2, v2 = k.copy(), v.copy()
    k2[4:], v2[4:] = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    np.testing.assert_allclose(A.causal_attention(q, k2, v2)[:4], out[:4])


def test_cross_attention_matches_torch():
    d, h = 12, 3
    mha, w_q, w_k, w_v, w_o = _torch_mha(d, h)
    rng = np.random.default_rng(9)
    x_dec, x_enc = rng.normal(size=(4, d)), rng.normal(size=(9, d))
    ref, _ = mha(_t(x_dec)[None], _t(x_enc)[None], _t(x_enc)[None], need_weights=False)
    ours = A.cross_attention(x_dec, x_enc, w_q, w_k, w_v, w_o, h)
    assert ours.shape == (4, d)
    np.testing.assert_allclose(ours, ref[0].detach().numpy(), rtol=1e-10, atol=1e-12)


def _count_flops(fn, *args):
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn(*args)
    return counter.get_total_flops()


def test_attention_flops_match_flop_counter():
    n, d = 64, 32
    q, k, v = (torch.randn(n, d) for _ in range(3))
    flops = _count_flops(lambda: torch.softmax(q @ k.T / d**0.5, -1) @ v)
    assert flops == A.self_attention_flops(n, d)


def test_rnn_flops_match_flop_counter():
    n, d = 10, 16
    w_h, w_x, x = torch.randn(d, d), torch.randn(d, d), torch.randn(n, d)

    def rnn():
        h = torch.zeros(1, d)  # row vectors: the FLOP counter counts mm, not mv
        for t in range(n):
            h = torch.tanh(h @ w_h + x[t : t + 1] @ w_x)

    assert _count_flops(rnn) == A.recurrent_flops(n, d)
    conv = torch.nn.Conv1d(d, d, 3, padding=1, bias=False)
    assert _count_flops(conv, torch.randn(1, d, n)) == A.convolution_flops(n, d, 3)
    assert A.max_path_length("self-attention", n) == 1 < A.max_path_length("convolutional", n) < n
