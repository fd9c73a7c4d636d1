"""snippets/kv_cache.py: cache sizes from real tensors, cached decode vs recomputation, GQA vs MHA."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import kv_cache as KV

torch = pytest.importorskip("torch")
F = torch.nn.functional


def test_cache_size_matches_allocated_tensors():
    n_layers, n_kv, d_head, seq, batch = 3, 2, 8, 11, 4
    cache = [
        (torch.zeros(batch, n_kv, seq, d_head, dtype=torch.bfloat16),) * 2 for _ in range(n_layers)
    ]
    allocated = sum(t.nbytes for layer in cache for t in layer)
    assert allocated == KV.kv_cache_bytes(n_layers, n_kv, d_head, seq, batch, bytes_per_element=2)
    # Llama-2-7B (32 layers, 32 KV heads of 128) at 4096 tokens in fp16: 2 GiB per sequence.
    assert KV.kv_cache_bytes(32, 32, 128, 4096, 1, 2) == 2 * 1024**3


def _weights(d, rng):
    return [rng.normal(size=(d, d)) / np.sqrt(d) for _ in range(4)]


def test_cached_decode_equals_recomputation():
    rng = np.random.default_rng(0)
    d, t = 8, 9
    w = _weights(d, rng)
    x = rng.normal(size=(t, d))
    cache = {"k": np.empty((0, d)), "v": np.empty((0, d))}
    for step in range(t):
        cached = KV.decode_with_cache(x[step : step + 1], cache, *w)
        recomputed = KV.decode_without_cache(x[: step + 1], *w)
        np.testing.assert_allclose(cached, recomputed, rtol=1e-10, atol=1e-12)
    assert cache["k"].shape == (t, d)
    # And recomputation itself is torch's causal attention, last row.
    q, k, v = (torch.from_numpy(x @ wi) for wi in w[:3])
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy() @ w[3]
    np.testing.assert_allclose(KV.decode_without_cache(x, *w), ref[-1:], rtol=1e-10)


def _flops(fn):
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def test_decode_flops_match_flop_counter():
    d, t = 16, 12
    w_q, w_k, w_v, w_o = (torch.randn(d, d) for _ in range(4))
    x = torch.randn(t, d)
    k_cache, v_cache = x[:-1] @ w_k, x[:-1] @ w_v

    def cached():
        xn = x[-1:]
        k, v = torch.cat([k_cache, xn @ w_k]), torch.cat([v_cache, xn @ w_v])
        return torch.softmax((xn @ w_q) @ k.T, -1) @ v @ w_o

    def recompute():
        q, k, v = x @ w_q, x @ w_k, x @ w_v
        return (torch.softmax(q @ k.T, -1) @ v @ w_o)[-1:]

    assert _flops(cached) == KV.decode_flops(t, d, cached=True)
    assert _flops(recompute) == KV.decode_flops(t, d, cached=False)
    # Attention work per token: O(t) with the cache, O(t^2) without (cs242 "O(n^2) to O(n)").
    att = [KV.decode_flops(t, d) - 8 * d * d for t in (100, 200)]
    assert att[1] == 2 * att[0]


def test_gqa_equals_mha_with_repeated_kv_heads():
    rng = np.random.default_rng(1)
    h, h_kv, n, d_head = 8, 2, 5, 4
    q, k, v = rng.normal(size=(h, n, d_head)), rng.normal(size=(h_kv, n, d_head)), rng.normal(size=(h_kv, n, d_head))
    ours = KV.gqa_attention(q, k, v)
    tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
    mha = F.scaled_dot_product_attention(
        tq, tk.repeat_interleave(h // h_kv, 0), tv.repeat_interleave(h // h_kv, 0)
    )
    np.testing.assert_allclose(ours, mha.numpy(), rtol=1e-10, atol=1e-12)
    native = F.scaled_dot_product_attention(tq[None], tk[None], tv[None], enable_gqa=True)[0]
    np.testing.assert_allclose(ours, native.numpy(), rtol=1e-10, atol=1e-12)


def test_gqa_cache_reduction():
    mha = KV.kv_cache_bytes(32, 32, 128, 4096, 8)
    gqa = KV.kv_cache_bytes(32, 8, 128, 4096, 8)
    mqa = KV.kv_cache_bytes(32, 1, 128, 4096, 8)
    assert mha / gqa == KV.gqa_cache_reduction(32, 8) == 4
    assert mha / mqa == KV.gqa_cache_reduction(32, 1) == 32


def test_arithmetic_intensity_of_decoding():
    b, n, d, h = 8, 2048, 1024, 16
    mha, mqa = KV.decode_arithmetic_intensity(b, n, d, h), KV.decode_arithmetic_intensity(b, n, d, h, 1)
    assert mha == pytest.approx(1 / (n / d + 1 / b))
    assert mqa == pytest.approx(1 / (n / (d * h) + 1 / b))
    # Favours short sequences and wide models; MQA gains up to a factor h when n/d dominates.
    assert KV.decode_arithmetic_intensity(b, n // 2, d, h) > mha
    assert 1 < mqa / mha <= h
