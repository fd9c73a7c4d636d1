"""snippets/flash_attention.py: tiled online-softmax attention equals torch's full attention."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import flash_attention as FA

torch = pytest.importorskip("torch")


def _t(x):
    return torch.from_numpy(np.ascontiguousarray(x))


def _softmax(x):
    return torch.softmax(_t(x), dim=-1).numpy()


@pytest.mark.parametrize(("n", "d", "bq", "bk"), [(64, 16, 16, 16), (50, 8, 7, 13), (33, 4, 64, 1)])
def test_tiled_attention_matches_torch_sdpa(n, d, bq, bk):
    rng = np.random.default_rng(n)
    q, k, v = rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=(n, d))
    ref = torch.nn.functional.scaled_dot_product_attention(_t(q), _t(k), _t(v)).numpy()
    np.testing.assert_allclose(FA.tiled_attention(q, k, v, bq, bk), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("block", [1, 3, 8, 100])
def test_online_softmax_matches_softmax_for_any_block_size(block):
    x = np.random.default_rng(block).normal(size=37) * 5
    np.testing.assert_allclose(FA.online_softmax(x, block), _softmax(x), rtol=1e-12)


def test_online_softmax_survives_large_scores():
    # exp(1000) overflows: the running max is what keeps every exponent <= 0.
    x = np.array([1000.0, 999.0, -5.0, 1001.0])
    np.testing.assert_allclose(FA.online_softmax(x, 2), _softmax(x), rtol=1e-12)
    assert np.isfinite(FA.online_softmax(x, 1)).all()


def test_block_decomposition_alpha_beta():
    rng = np.random.default_rng(0)
    a1, a2 = rng.normal(size=5) * 3, rng.normal(size=8) * 3 + 2
    alpha, beta = FA.alpha_beta(a1, a2)
    # The lecture's identity, checked against the softmax of the concatenation.
    np.testing.assert_allclose(
        np.concatenate([alpha * _softmax(a1), beta * _softmax(a2)]),
        _softmax(np.concatenate([a1, a2])),
        rtol=1e-12,
    )
    assert alpha + beta == pytest.approx(1.0)
    # alpha depends on a2 as well: the factors need both blocks' (m, l), not local data alone.
    assert FA.alpha_beta(a1, a2 + 1.0)[0] != pytest.approx(alpha)


def test_block_decomposition_of_attention_output():
    rng = np.random.default_rng(1)
    a1, a2 = rng.normal(size=4), rng.normal(size=6)
    v1, v2 = rng.normal(size=(4, 3)), rng.normal(size=(6, 3))
    alpha, beta = FA.alpha_beta(a1, a2)
    lhs = _softmax(np.concatenate([a1, a2])) @ np.vstack([v1, v2])
    np.testing.assert_allclose(alpha * _softmax(a1) @ v1 + beta * _softmax(a2) @ v2, lhs)


def test_io_counts_of_the_simulation_match_the_formulas():
    n, d, bq = 256, 16, 32
    rng = np.random.default_rng(2)
    q, k, v = (rng.normal(size=(n, d)) for _ in range(3))
    io = {}
    FA.tiled_attention(q, k, v, block_q=bq, block_k=32, io=io)
    assert io["read"] + io["write"] == FA.flash_attention_hbm_accesses(n, d, bq)
    # Standard attention moves the n x n matrix four times; the tiled loop never stores it.
    assert FA.standard_attention_hbm_accesses(n, d) == 4 * n * d + 4 * n * n
    # With an SRAM of M elements, block_q = M / (4d): traffic ~ 8 n^2 d^2 / M.
    m_sram = 4 * d * bq
    assert FA.flash_attention_hbm_accesses(n, d, bq) == pytest.approx(
        8 * n * n * d * d / m_sram, rel=0.15
    )
    big_n, big_d = 16384, 64
    assert FA.flash_attention_hbm_accesses(big_n, big_d, 128) < FA.standard_attention_hbm_accesses(
        big_n, big_d
    )
